//! Starting and stopping the binary: a clean environment, port 0, the
//! address read from its first lines, SIGTERM to stop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The repository's root, where `config/` lives.
pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_owned()
}

/// A directory of its own under the temp dir, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "order-http-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a scratch directory");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with an empty environment but `PATH`, run from the
/// repository's root, listening on a free port.
fn command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_order-http"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ORDER_LISTEN", "127.0.0.1:0")
        .env("ORDER_LOG_FORMAT", "json")
        .current_dir(repository());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A running binary.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// What it printed before it listened.
    pub(crate) banner: Vec<String>,
    /// What it has logged since it listened (its stdout), line by line.
    log: Arc<Mutex<Vec<String>>>,
    /// Reads the log until the process closes its stdout.
    log_reader: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts the binary with `env` and waits until it listens.
    pub(crate) fn start(env: &[(&str, &str)]) -> Self {
        let mut child = command(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut banner = Vec::new();
        let base = loop {
            assert!(
                Instant::now() < deadline,
                "the binary did not say where it listens; it said {banner:?}"
            );
            let line = match lines.next() {
                Some(line) => line.expect("readable"),
                None => panic!("the binary exited before listening; it said {banner:?}"),
            };
            if let Some(address) = line.strip_prefix("listening on ") {
                break address.trim().to_owned();
            }
            banner.push(line);
        };
        // Keep draining stdout, where the log goes, so the binary never
        // blocks on a full pipe.
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_reader = std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                for line in lines.map_while(Result::ok) {
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(line);
                }
            }
        });
        Self {
            child,
            base,
            banner,
            log,
            log_reader: Some(log_reader),
        }
    }

    /// The lines logged so far; once the process has exited (`stop_within`
    /// waits for that), all of them.
    pub(crate) fn logged(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
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
}

impl Server {
    /// Sends SIGTERM and waits at most `limit` for a clean exit; how long it
    /// took. Past `limit` the process is killed and the test fails. Once it
    /// returns, [`Server::logged`] holds every line the process logged.
    pub(crate) fn stop_within(&mut self, limit: Duration) -> Duration {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let sent = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(
                    status.success(),
                    "the binary exited with {status} after SIGTERM"
                );
                let took = sent.elapsed();
                if let Some(reader) = self.log_reader.take() {
                    let _ = reader.join();
                }
                return took;
            }
            if sent.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the binary was still running {limit:?} after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    /// A test that failed before stopping its server must not leave the
    /// process running (and holding its database connections).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the binary with `env` until it exits by itself (a refused start).
pub(crate) fn run_to_exit(env: &[(&str, &str)]) -> Output {
    let mut child = command(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the binary kept running instead of refusing to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("its output")
}

/// `method url` with a bearer token and a JSON body, answering (status,
/// body), through the `curl` the README's walkthrough needs anyway.
pub(crate) fn http(method: &str, url: &str, token: &str, body: Option<&str>) -> (u16, String) {
    let mut command = Command::new("curl");
    command.args([
        "-s",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        url,
        "-H",
        &format!("Authorization: Bearer {token}"),
    ]);
    if let Some(body) = body {
        command.args(["-H", "Content-Type: application/json", "-d", body]);
    }
    let output = command.output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (
        status.trim().parse().expect("a status code"),
        body.to_owned(),
    )
}

/// Adds a physical USD product `sku` with id `product_id` at `price`, and
/// `on_hand` units of it, as `admin`.
pub(crate) fn stock_product(
    base: &str,
    admin: &str,
    (product_id, sku, price): (&str, &str, &str),
    on_hand: u32,
) {
    let product = serde_json::json!({"product_id": product_id, "sku": sku, "name": sku,
        "unit_price": price, "currency": "USD", "tax_class": "standard", "kind": "physical"});
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/products"),
        admin,
        Some(&product.to_string()),
    );
    assert!(status < 300, "{status} {body}");
    let (status, body) = http(
        "PUT",
        &format!("{base}/api/v1/stock/{sku}"),
        admin,
        Some(&format!(r#"{{"on_hand":{on_hand}}}"#)),
    );
    assert_eq!(status, 200, "{body}");
}

/// Places `quantity` units of `product_id` in USD, shipped to Portland by
/// standard shipping, as `customer`: the order answered with 201.
pub(crate) fn place_order(
    base: &str,
    customer: &str,
    product_id: &str,
    quantity: u32,
) -> serde_json::Value {
    let order = serde_json::json!({"currency": "USD",
        "lines": [{"product_id": product_id, "quantity": quantity}],
        "shipping_address": {"name": "Jo", "line1": "1 Elm St", "city": "Portland",
                             "postal_code": "97201", "country": "US", "region": "OR"},
        "shipping_method": "standard"});
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/orders"),
        customer,
        Some(&order.to_string()),
    );
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).expect("a JSON order")
}
