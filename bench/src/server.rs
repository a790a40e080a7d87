//! The `order-http` binary: started with production settings (simulated
//! payments, the sample policy file, a catalog file, an HS256 secret, logs
//! at `warn`), its tokens minted by its own `token` command, its log lines
//! tallied, and the HTTP workers that drive it.

use std::io::{BufRead as _, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Result;
use crate::http::{self, Connection};
use crate::load::{Op, OrderRequest};
use crate::procfs;

/// The HS256 secret the server checks and the tokens are signed with.
pub(crate) const SECRET: &str = "order-bench-secret-not-for-production";

/// How the binary is started.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) binary: PathBuf,
    pub(crate) database_url: String,
    pub(crate) policy_file: PathBuf,
    pub(crate) catalog_file: PathBuf,
    /// Background work off (an hour between sweeps, relay and webhook
    /// passes), so a counted window holds only the requests' own work.
    pub(crate) quiet: bool,
    /// Run under valgrind's callgrind, its outputs in this directory
    /// (`--symbol-order`).
    pub(crate) callgrind: Option<PathBuf>,
}

/// What the server logged.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogTally {
    pub(crate) lines: u64,
    pub(crate) warnings: u64,
    pub(crate) errors: u64,
    /// Warnings and errors by message, in the order first seen: the first
    /// line saying it (shortened) and how many lines said it. By message,
    /// so that one said at shutdown still shows after many of another.
    pub(crate) samples: Vec<LogSample>,
}

/// One message among the warnings and errors.
#[derive(Debug, Clone)]
pub(crate) struct LogSample {
    message: String,
    pub(crate) first: String,
    pub(crate) count: u64,
}

/// Distinct messages kept as samples.
const SAMPLED_MESSAGES: usize = 8;

impl LogTally {
    fn add(&mut self, line: &str) {
        self.lines += 1;
        let level = if line.contains(r#""level":"ERROR""#) || line.contains(" ERROR ") {
            Some(&mut self.errors)
        } else if line.contains(r#""level":"WARN""#) || line.contains(" WARN ") {
            Some(&mut self.warnings)
        } else {
            None
        };
        let Some(count) = level else {
            return;
        };
        *count += 1;
        let message = message_of(line);
        if let Some(sample) = self.samples.iter_mut().find(|s| s.message == message) {
            sample.count += 1;
        } else if self.samples.len() < SAMPLED_MESSAGES {
            self.samples.push(LogSample {
                message: message.to_owned(),
                first: line.chars().take(240).collect(),
                count: 1,
            });
        }
    }
}

/// The `message` field of a JSON log line, or the whole line.
fn message_of(line: &str) -> &str {
    const FIELD: &str = r#""message":""#;
    line.find(FIELD)
        .map(|at| &line[at + FIELD.len()..])
        .and_then(|rest| rest.find('"').map(|end| &rest[..end]))
        .unwrap_or(line)
}

/// A running server.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pub(crate) pid: u32,
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<LogTally>>,
}

/// How a server ended.
#[derive(Debug, Clone)]
pub(crate) struct Stopped {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) took: Duration,
    pub(crate) log: LogTally,
}

fn tally_lines(
    from: impl Read + Send + 'static,
    log: Arc<Mutex<LogTally>>,
    listening: Option<mpsc::Sender<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(from)
            .lines()
            .map_while(std::result::Result::ok)
        {
            if let (Some(tx), Some(addr)) = (&listening, line.strip_prefix("listening on http://"))
            {
                let _ = tx.send(addr.trim().to_owned());
            }
            log.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .add(&line);
        }
    });
}

impl Server {
    /// Starts the binary on a free port and waits until it listens.
    pub(crate) fn start(launch: &Launch) -> Result<Self> {
        if !launch.binary.is_file() {
            return Err(format!(
                "{} not found: build it with `cargo build --release -p order-http` \
                 (or name it with --server-bin)",
                launch.binary.display()
            )
            .into());
        }
        let mut command = match &launch.callgrind {
            Some(dir) => {
                let mut valgrind = Command::new("valgrind");
                valgrind.args(crate::symbol_order::callgrind_args(dir, &launch.binary));
                valgrind
            }
            None => Command::new(&launch.binary),
        };
        command
            .env("DATABASE_URL", &launch.database_url)
            .env("ORDER_LISTEN", "127.0.0.1:0")
            .env("ORDER_PAYMENTS", "simulated")
            .env("ORDER_CONFIG", &launch.policy_file)
            .env("ORDER_SEED_CATALOG", &launch.catalog_file)
            .env("ORDER_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if launch.quiet {
            command
                .env("ORDER_SWEEP_INTERVAL_SECS", "3600")
                .env("ORDER_RELAY_POLL_MS", "3600000")
                .env("ORDER_WEBHOOK_POLL_MS", "3600000");
        }
        let mut child = command.spawn()?;
        let pid = child.id();
        let log = Arc::new(Mutex::new(LogTally::default()));
        let (tx, rx) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            tally_lines(out, log.clone(), Some(tx));
        }
        if let Some(err) = child.stderr.take() {
            tally_lines(err, log.clone(), None);
        }
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(200)) {
                return Ok(Self {
                    child,
                    pid,
                    addr: addr.parse()?,
                    log,
                });
            }
            if let Some(status) = child.try_wait()? {
                let log = log.lock().unwrap_or_else(PoisonError::into_inner).clone();
                return Err(format!(
                    "order-http exited at start ({status}): {}",
                    log.samples
                        .iter()
                        .map(|sample| sample.first.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                )
                .into());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err("order-http did not listen within 180 s".into());
            }
        }
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        procfs::status_kib(self.pid, "VmHWM")
    }

    /// Starts the peak over again from the resident memory now.
    pub(crate) fn reset_peak_rss(&self) -> Result<()> {
        Ok(procfs::reset_peak_rss(self.pid)?)
    }

    /// Resident memory now (`VmRSS`), in KiB.
    pub(crate) fn rss_kib(&self) -> Option<u64> {
        procfs::status_kib(self.pid, "VmRSS")
    }

    /// SIGTERM (through `kill`), then up to 30 s to exit; then SIGKILL.
    pub(crate) fn stop(mut self) -> Result<Stopped> {
        let started = Instant::now();
        Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()?;
        let mut status = None;
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(s) = self.child.try_wait()? {
                status = Some(s);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if status.is_none() {
            self.child.kill()?;
            self.child.wait()?;
        }
        let took = started.elapsed();
        // Let the readers see the last lines.
        std::thread::sleep(Duration::from_millis(100));
        let log = self
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(Stopped { status, took, log })
    }
}

/// A bearer token for `subject`, from the binary's `token` command.
pub(crate) fn mint(binary: &Path, role: &str, subject: &str) -> Result<String> {
    let output = Command::new(binary)
        .args([
            "--jwt-secret",
            SECRET,
            "token",
            "--role",
            role,
            "--subject",
            subject,
        ])
        .args(["--ttl-secs", "86400"])
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "order-http token failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// The requests the HTTP workers send, rendered once.
#[derive(Debug)]
pub(crate) struct Requests {
    addr: SocketAddr,
    /// `POST /api/v1/orders`, and the customer's token for its payment.
    places: Vec<(Vec<u8>, usize)>,
    tokens: Vec<String>,
}

impl Requests {
    pub(crate) fn new(addr: SocketAddr, orders: &[OrderRequest], tokens: Vec<String>) -> Self {
        let places = orders
            .iter()
            .map(|order| {
                let token = &tokens[order.customer];
                let request =
                    http::request("POST", "/api/v1/orders", addr, token, Some(&order.body));
                (request, order.customer)
            })
            .collect();
        Self {
            addr,
            places,
            tokens,
        }
    }

    pub(crate) fn token(&self, customer: usize) -> &str {
        &self.tokens[customer]
    }
}

/// What an HTTP worker does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Call {
    Place,
    PlaceAndPay,
    /// One rendered request, answered 200 (a listing).
    Get(Vec<u8>),
}

/// A worker with its own keep-alive connection.
#[derive(Debug)]
pub(crate) struct HttpOp {
    connection: Connection,
    requests: Arc<Requests>,
    call: Call,
    next: usize,
    pay: Vec<u8>,
}

impl HttpOp {
    pub(crate) async fn open(
        requests: &Arc<Requests>,
        call: &Call,
        count: usize,
    ) -> Result<Vec<Self>> {
        let mut workers = Vec::with_capacity(count);
        for i in 0..count {
            workers.push(Self {
                connection: Connection::open(requests.addr).await?,
                requests: requests.clone(),
                call: call.clone(),
                next: i * requests.places.len() / count.max(1),
                pay: Vec::with_capacity(512),
            });
        }
        Ok(workers)
    }
}

impl Op for HttpOp {
    async fn once(&mut self) -> Result<(), String> {
        if let Call::Get(request) = &self.call {
            let answer = self.connection.call(request).await?;
            return match answer.status {
                200 => Ok(()),
                _ => Err(http::refused("list", &answer)),
            };
        }
        let (request, customer) = &self.requests.places[self.next % self.requests.places.len()];
        self.next += 1;
        let answer = self.connection.call(request).await?;
        if answer.status != 201 {
            return Err(http::refused("place", &answer));
        }
        if self.call == Call::Place {
            return Ok(());
        }
        let location = answer.location.ok_or("place: 201 without a Location")?;
        let location = std::str::from_utf8(location).map_err(|e| e.to_string())?;
        self.pay.clear();
        self.pay.extend_from_slice(&http::request(
            "POST",
            &format!("{location}/pay"),
            self.requests.addr,
            self.requests.token(*customer),
            None,
        ));
        let answer = self.connection.call(&self.pay).await?;
        match answer.status {
            200 => Ok(()),
            _ => Err(http::refused("pay", &answer)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_tallied_by_level() {
        let mut log = LogTally::default();
        log.add(r#"{"timestamp":"…","level":"WARN","fields":{"message":"payments: simulated"}}"#);
        log.add(r#"{"timestamp":"…","level":"ERROR","fields":{"message":"boom"}}"#);
        log.add("listening on http://127.0.0.1:4000");
        assert_eq!((log.lines, log.warnings, log.errors), (3, 1, 1));
        assert_eq!(log.samples.len(), 2);
    }

    #[test]
    fn warnings_are_sampled_once_per_message_with_a_count() {
        let mut log = LogTally::default();
        for _ in 0..60 {
            log.add(r#"{"level":"WARN","fields":{"message":"slow statement","summary":"…"}}"#);
        }
        log.add(r#"{"level":"WARN","fields":{"message":"the grace period is over"}}"#);
        let counted: Vec<(&str, u64)> = log
            .samples
            .iter()
            .map(|s| (s.message.as_str(), s.count))
            .collect();
        assert_eq!(
            counted,
            [("slow statement", 60), ("the grace period is over", 1)]
        );
    }
}
