//! The README's curl walkthrough, run as written against the real
//! `order-http` binary on port 0: on the in-memory default and on
//! PostgreSQL. The binary is then stopped with SIGTERM and must exit cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use order_http::auth::{AuthConfig, Role};

const SECRET: &str = "walkthrough-secret";
const CUSTOMER_ID: &str = "0193e6d2-6c1e-7b4e-9a3a-5c1d2e3f4a5b";

fn readme_walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
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

/// Starts the binary on port 0 and returns it with its base URL.
fn start(database_url: Option<&str>) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_order-http"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ORDER_LISTEN", "127.0.0.1:0")
        .env("ORDER_JWT_SECRET", SECRET)
        .env("ORDER_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    let base = loop {
        assert!(
            Instant::now() < deadline,
            "the binary did not say where it listens"
        );
        let line = lines.next().expect("a line").expect("readable");
        if let Some(address) = line.strip_prefix("listening on ") {
            break address.trim().to_owned();
        }
    };
    // Keep draining stdout so the binary never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
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

fn stop(mut child: Child) {
    let pid = child.id().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(
                status.success(),
                "the binary exited with {status} after SIGTERM"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the binary did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
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
fn the_readme_walkthrough_runs_against_the_binary_in_memory() {
    let (child, base) = start(None);
    let output = run_walkthrough(&base);
    stop(child);
    assert_the_story(&output);
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
    let (child, base) = start(Some(&url));
    let output = run_walkthrough(&base);
    stop(child);
    assert_the_story(&output);
}
