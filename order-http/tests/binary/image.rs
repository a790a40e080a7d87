//! The container image's Dockerfile, read as text (there is no Docker
//! engine here to build it): multi-stage from the locked dependencies, a
//! slim runtime with only the binary (migrations are embedded) and the
//! policy file, a non-root user, a health check on the live probe, and a
//! configuration that is environment variables the binary really reads.

use std::process::Command;

use crate::process::repository;

fn dockerfile() -> String {
    std::fs::read_to_string(repository().join("Dockerfile")).expect("a Dockerfile")
}

/// The instructions, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part.trim());
                current.push(' ');
            }
            None => {
                current.push_str(line);
                if !current.trim().is_empty() {
                    out.push(current.trim().to_owned());
                }
                current.clear();
            }
        }
    }
    out
}

/// The instructions of the last stage.
fn runtime(all: &[String]) -> Vec<String> {
    let last = all
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("a FROM");
    all[last..].to_vec()
}

#[test]
fn the_image_builds_in_stages_from_the_locked_dependencies() {
    let all = instructions(&dockerfile());
    let stages: Vec<&String> = all.iter().filter(|i| i.starts_with("FROM ")).collect();
    assert!(
        stages.len() >= 2,
        "a build stage and a runtime stage: {stages:?}"
    );
    assert!(
        stages
            .iter()
            .all(|s| !s.contains(":latest") && s.contains(':')),
        "pinned base images: {stages:?}"
    );
    assert!(
        all.iter()
            .any(|i| i.starts_with("RUN ") && i.contains("cargo build --release --locked")),
        "built with the lock file"
    );
    assert!(
        !all.iter().any(|i| i.starts_with("ADD ")),
        "nothing fetched by ADD"
    );
}

#[test]
fn the_runtime_holds_only_the_binary_and_runs_as_a_non_root_user_with_a_health_check() {
    let all = instructions(&dockerfile());
    let runtime = runtime(&all);
    let copies: Vec<&String> = runtime.iter().filter(|i| i.starts_with("COPY")).collect();
    assert!(
        copies.iter().all(|c| c.starts_with("COPY --from=build ")),
        "only what the build stage made: {copies:?}"
    );
    assert!(
        copies
            .iter()
            .any(|c| c.contains("/usr/local/bin/order-http"))
    );
    let user = runtime
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("a USER");
    let uid = user.split(':').next().unwrap_or_default();
    assert!(
        uid != "0" && uid != "root" && !uid.is_empty(),
        "a non-root user: {user}"
    );
    let health = runtime
        .iter()
        .find(|i| i.starts_with("HEALTHCHECK "))
        .expect("a HEALTHCHECK");
    assert!(health.contains("/health/live"), "{health}");
    assert!(runtime.iter().any(|i| i == "EXPOSE 8080"));
    assert!(
        runtime
            .iter()
            .any(|i| i.starts_with("ENTRYPOINT") && i.contains("/usr/local/bin/order-http"))
    );
}

#[test]
fn every_setting_the_image_gives_is_one_the_binary_reads() {
    let all = instructions(&dockerfile());
    let help = Command::new(env!("CARGO_BIN_EXE_order-http"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&help.stdout);
    let settings: Vec<String> = runtime(&all)
        .iter()
        .filter_map(|i| i.strip_prefix("ENV "))
        .flat_map(|e| e.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name.to_owned()))
        .collect();
    assert!(!settings.is_empty());
    for name in settings.iter().filter(|n| n.starts_with("ORDER_")) {
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} is not a setting of the binary"
        );
    }
    let policy = all
        .iter()
        .find_map(|i| i.strip_prefix("COPY --from=build /src/"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the policy file is copied");
    assert!(
        repository().join(policy).is_file(),
        "{policy} is in the repository"
    );
}

#[test]
fn the_build_context_leaves_out_build_output_data_and_history() {
    let ignore =
        std::fs::read_to_string(repository().join(".dockerignore")).expect("a .dockerignore");
    let entries: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in ["target", "data", ".git"] {
        assert!(entries.contains(&needed), "{needed} in .dockerignore");
    }
}
