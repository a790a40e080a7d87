//! The ceiling: pgbench running the repository's own placement script
//! (`sql/place.sql`) on its own tables (`sql/schema.sql`, pre-filled by
//! `sql/prefill.sql`), compiled into the tool.

use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::PgConnection;

use crate::Result;
use crate::db::{self, DbUrl};

const SCHEMA: &str = include_str!("../sql/schema.sql");
const PREFILL: &str = include_str!("../sql/prefill.sql");
const PLACE: &str = include_str!("../sql/place.sql");

/// Creates the tables and fills them with `orders` orders.
pub(crate) async fn prepare(
    conn: &mut PgConnection,
    orders: usize,
    customers: usize,
    products: usize,
) -> Result<()> {
    db::execute(conn, SCHEMA).await?;
    db::execute(
        conn,
        &format!(
            "set bench.orders = '{orders}'; set bench.customers = '{customers}'; \
             set bench.products = '{products}';"
        ),
    )
    .await?;
    db::execute(conn, PREFILL).await
}

/// How pgbench is run.
#[derive(Debug, Clone)]
pub(crate) struct Pgbench {
    script: PathBuf,
    logs: PathBuf,
    customers: usize,
    products: usize,
}

/// How long a pgbench run lasts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Length {
    Seconds(u64),
    Transactions(usize),
}

/// What pgbench reported.
#[derive(Debug, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) tps: f64,
    pub(crate) transactions: usize,
    pub(crate) failed: usize,
    /// Per transaction, in microseconds (from `-l`).
    pub(crate) latencies: Vec<u32>,
}

impl Pgbench {
    /// Writes the script into `dir`.
    pub(crate) fn new(dir: &Path, customers: usize, products: usize) -> Result<Self> {
        let script = dir.join("place.sql");
        std::fs::write(&script, PLACE)?;
        Ok(Self {
            script,
            logs: dir.join("pgbench-log"),
            customers,
            products,
        })
    }

    /// Runs pgbench against `url` with `clients` clients on up to
    /// `threads` threads.
    pub(crate) fn run(
        &self,
        url: &DbUrl,
        clients: usize,
        threads: usize,
        length: Length,
    ) -> Result<Outcome> {
        let _ = std::fs::remove_dir_all(&self.logs);
        std::fs::create_dir_all(&self.logs)?;
        let mut command = Command::new("pgbench");
        command
            .args(["-n", "-M", "prepared", "-f"])
            .arg(&self.script)
            .args(["-D", &format!("customers={}", self.customers)])
            .args(["-D", &format!("products={}", self.products)])
            .args(["-c", &clients.to_string()])
            .args(["-j", &clients.min(threads).max(1).to_string()])
            .arg("-l")
            .arg(format!("--log-prefix={}", self.logs.join("log").display()))
            .args([
                "-h",
                &url.host,
                "-p",
                &url.port.to_string(),
                "-U",
                &url.user,
            ])
            .arg(&url.database);
        match length {
            Length::Seconds(secs) => command.args(["-T", &secs.to_string()]),
            Length::Transactions(count) => command.args(["-t", &count.to_string()]),
        };
        if let Some(password) = url.password() {
            command.env("PGPASSWORD", password);
        }
        if let Some(mode) = url.sslmode() {
            command.env("PGSSLMODE", mode);
        }
        let output = command
            .output()
            .map_err(|e| format!("cannot run pgbench (is it on PATH?): {e}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "pgbench failed: {} {}",
                text.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            )
            .into());
        }
        let mut outcome = parse_summary(&text)?;
        for entry in std::fs::read_dir(&self.logs)? {
            let log = std::fs::read_to_string(entry?.path())?;
            outcome
                .latencies
                .extend(log.lines().filter_map(log_latency));
        }
        let _ = std::fs::remove_dir_all(&self.logs);
        Ok(outcome)
    }
}

/// The figures of pgbench's summary.
fn parse_summary(text: &str) -> Result<Outcome> {
    // "processed: 51234" with -T, "processed: 200/200" with -t.
    let after = |prefix: &str| -> Option<f64> {
        text.lines().find_map(|line| {
            line.trim()
                .strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
    };
    Ok(Outcome {
        tps: after("tps =").ok_or("pgbench printed no tps")?,
        transactions: after("number of transactions actually processed:").unwrap_or(0.0) as usize,
        failed: after("number of failed transactions:").unwrap_or(0.0) as usize,
        latencies: Vec::new(),
    })
}

/// The latency of one `-l` line: `client transaction latency_us script
/// epoch_s epoch_us`.
fn log_latency(line: &str) -> Option<u32> {
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_gives_tps_and_counts() {
        let text = "pgbench (15.20 (Debian 15.20-0+deb12u1))\n\
            transaction type: place.sql\n\
            number of clients: 8\n\
            number of transactions actually processed: 51234\n\
            number of failed transactions: 2 (0.004%)\n\
            latency average = 3.120 ms\n\
            initial connection time = 18.111 ms\n\
            tps = 2561.712345 (without initial connection time)\n";
        let outcome = parse_summary(text).unwrap();
        assert!((outcome.tps - 2_561.712_345).abs() < 1e-9);
        assert_eq!((outcome.transactions, outcome.failed), (51_234, 2));
        assert!(parse_summary("nothing").is_err());
        let counted = "number of transactions actually processed: 200/200\ntps = 310.5 (without initial connection time)\n";
        assert_eq!(parse_summary(counted).unwrap().transactions, 200);
    }

    #[test]
    fn log_lines_give_latency_in_microseconds() {
        assert_eq!(log_latency("3 1207 2890 0 1732000000 123456"), Some(2_890));
        assert_eq!(log_latency("garbage"), None);
    }

    #[test]
    fn the_script_writes_one_order_with_three_lines() {
        assert_eq!(PLACE.matches("insert into").count(), 4);
        assert_eq!(
            PLACE
                .matches("(gen_random_uuid(), :order_id::uuid, md5")
                .count(),
            3
        );
        assert!(SCHEMA.contains("create table outbox"));
        assert!(PREFILL.contains("current_setting('bench.orders')"));
    }
}
