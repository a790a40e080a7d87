//! README's settings table is generated from the binary's own arguments
//! (what `--help` prints): one row per setting with its flag, environment
//! variable, default and help. After changing a setting, regenerate it with
//! `UPDATE_README=1 cargo test -p order-http --test binary settings`.

use clap::CommandFactory as _;
use order_http::config::Config;

const START: &str = "<!-- settings:start -->";
const END: &str = "<!-- settings:end -->";

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Every environment variable the binary reads, as its arguments declare
/// them.
pub(crate) fn environment_variables() -> std::collections::BTreeSet<String> {
    Config::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|env| env.to_string_lossy().into_owned())
        .collect()
}

fn table() -> String {
    let command = Config::command();
    let mut out = String::from("| setting | default | what it does |\n|---|---|---|\n");
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" || long == "version" {
            continue;
        }
        let mut setting = format!("`--{long}`");
        if let Some(env) = arg.get_env() {
            setting.push_str(&format!(" / `{}`", env.to_string_lossy()));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| format!("`{}`", v.to_string_lossy()))
            .collect();
        let mut help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|v| format!("`{}`", v.get_name()))
            .collect();
        if !help.is_empty() && !help.ends_with('.') {
            help.push('.');
        }
        if !values.is_empty() && arg.get_action().takes_values() {
            help.push_str(&format!(" One of {}.", values.join(", ")));
        }
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            cell(&setting),
            cell(&defaults.join(", ")),
            cell(&help)
        ));
    }
    out
}

#[test]
fn the_readme_settings_table_is_the_one_help_generates() {
    let path = crate::process::repository().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme.find(START).expect("settings start marker") + START.len();
    let end = readme.find(END).expect("settings end marker");
    let generated = format!("\n{}", table());
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{generated}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).expect("README.md written");
        return;
    }
    assert!(
        readme[start..end] == generated,
        "README's settings table is stale: run UPDATE_README=1 cargo test -p order-http --test binary settings"
    );
}
