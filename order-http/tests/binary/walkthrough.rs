//! The README's curl walkthrough, run as written against the real binary
//! started as the README starts it (`--dev`, from the repository's root):
//! on the default SQLite file and on PostgreSQL. The binary is then stopped
//! with SIGTERM and must exit cleanly.

use std::process::Command;

use order_http::auth::{AuthConfig, Role};

use crate::process::{Scratch, Server};

const SECRET: &str = "walkthrough-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-5c1d2e3f4a5b";

fn readme_walkthrough() -> String {
    let readme =
        std::fs::read_to_string(crate::process::repository().join("README.md")).expect("README.md");
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("walkthrough start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("walkthrough end marker");
    let block = &readme[start..end];
    let open = block.find("```bash").expect("bash block") + "```bash".len();
    let close = block.rfind("```").expect("end of block");
    block[open..close].to_owned()
}

/// Starts the binary as the README does: `--dev` with a known secret.
fn start(data: &Scratch, database_url: Option<&str>) -> Server {
    let data_dir = data.path().to_string_lossy().into_owned();
    let mut env = vec![
        ("ORDER_DEV", "true"),
        ("ORDER_JWT_SECRET", SECRET),
        ("ORDER_DATA_DIR", data_dir.as_str()),
    ];
    if let Some(url) = database_url {
        env.push(("DATABASE_URL", url));
    }
    Server::start(&env)
}

fn run_walkthrough(base: &str) -> String {
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("admin token");
    let customer = auth
        .mint(CUSTOMER_ID, Role::Customer, 600)
        .expect("customer token");
    let output = Command::new("bash")
        .arg("-euo")
        .arg("pipefail")
        .arg("-c")
        .arg(readme_walkthrough())
        .env("BASE", base)
        .env("ADMIN", admin)
        .env("CUSTOMER", customer)
        .env("CUSTOMER_ID", CUSTOMER_ID)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "the walkthrough failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn assert_the_story(output: &str) {
    for expected in [
        "\"status\": \"confirmed\"",
        "\"delivered\"",
        "\"payment_status\": \"partially_refunded\"",
        "10 order.returned",
        "12 order.refunded",
    ] {
        assert!(
            output.contains(expected),
            "missing {expected:?} in:\n{output}"
        );
    }
}

#[test]
fn the_readme_walkthrough_runs_against_the_binary_on_its_default_sqlite_file() {
    let data = Scratch::new("walkthrough");
    let server = start(&data, None);
    assert!(
        server
            .banner
            .iter()
            .any(|line| line.starts_with("data directory: ")),
        "the data directory is printed: {:?}",
        server.banner
    );
    let output = run_walkthrough(&server.base);
    server.stop();
    assert_the_story(&output);
    assert!(data.path().join("orders.db").exists());
}

#[test]
fn the_readme_walkthrough_runs_against_the_binary_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(url) = runtime.block_on(order_store_postgres::testing::fresh_database_url()) else {
        return;
    };
    let data = Scratch::new("walkthrough-pg");
    let server = start(&data, Some(&url));
    let output = run_walkthrough(&server.base);
    server.stop();
    assert_the_story(&output);
}
