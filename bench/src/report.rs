//! The results of one run and their Markdown report: the targets of issue
//! 9 met or missed, throughput and latency side by side, CPU per
//! operation, the database's work per operation, memory and listing.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::Result;
use crate::db::{Counters, Wal};
use crate::delivery::Histogram;
use crate::load::{Run, Usage};
use crate::proxy::Tally;
use crate::server::Stopped;
use crate::stats::{Percentiles, ms, per, percent, thousands};

/// The markers between which `--write-doc` puts the report.
pub(crate) const BEGIN: &str = "<!-- order-bench:begin -->";
pub(crate) const END: &str = "<!-- order-bench:end -->";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum System {
    Pgbench,
    Engine,
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    Place,
    PlaceAndPay,
}

/// One measured phase: a system, a workload, a number of connections.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    pub(crate) system: System,
    pub(crate) workload: Workload,
    pub(crate) conns: usize,
    pub(crate) ops: usize,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
    pub(crate) per_sec: f64,
    pub(crate) latency: Percentiles,
    pub(crate) usage: Usage,
    /// The server's RSS after the phase, in KiB.
    pub(crate) rss_kib: Option<u64>,
    /// The relay's delivery latency of the events the phase committed (HTTP
    /// phases), from the server's histogram.
    pub(crate) delivery: Option<Histogram>,
}

impl Phase {
    pub(crate) fn of_run(
        system: System,
        workload: Workload,
        conns: usize,
        run: &Run,
        usage: Usage,
    ) -> Self {
        Self {
            system,
            workload,
            conns,
            ops: run.ok(),
            errors: run.errors,
            first_error: run.first_error.clone(),
            per_sec: run.ok() as f64 / run.elapsed.as_secs_f64().max(1e-9),
            latency: run.percentiles(),
            usage,
            rss_kib: None,
            delivery: None,
        }
    }

    fn label(&self) -> &'static str {
        match (self.system, self.workload) {
            (System::Pgbench, _) => "pgbench `place.sql`",
            (System::Engine, Workload::Place) => "engine: place",
            (System::Engine, Workload::PlaceAndPay) => "engine: place + pay",
            (System::Http, Workload::Place) => "HTTP: place",
            (System::Http, Workload::PlaceAndPay) => "HTTP: place + pay",
        }
    }

    fn requests_per_op(&self) -> usize {
        match (self.system, self.workload) {
            (System::Http, Workload::PlaceAndPay) => 2,
            _ => 1,
        }
    }

    /// The client's CPU per request, in ms: pgbench's process, or the
    /// tool's HTTP client threads.
    fn client_ms(&self) -> Option<f64> {
        let secs = match self.system {
            System::Pgbench => self.usage.children,
            System::Http => self.usage.workers,
            System::Engine => return None,
        };
        Some(per(secs * 1e3, self.ops * self.requests_per_op()))
    }

    /// The service's CPU per operation, in ms: the binary, or the engine
    /// in this process.
    fn server_ms(&self) -> Option<f64> {
        match self.system {
            System::Pgbench => None,
            System::Http => Some(per(self.usage.server * 1e3, self.ops)),
            System::Engine => Some(per(self.usage.workers * 1e3, self.ops)),
        }
    }

    fn postgres_ms(&self) -> f64 {
        per(self.usage.postgres * 1e3, self.ops)
    }
}

/// One counted window: `ops` operations on one connection.
#[derive(Debug, Clone)]
pub(crate) struct Cost {
    pub(crate) label: String,
    pub(crate) ops: usize,
    pub(crate) errors: usize,
    pub(crate) wire: Tally,
    pub(crate) db: Counters,
    /// `None` when the records could not be read back.
    pub(crate) wal: Option<Wal>,
}

/// What the load left in the outbox, worked off by the counted server's
/// relay before the counted windows, so that they hold only the
/// requests' work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backlog {
    /// Unpublished events when the counted server started.
    pub(crate) at_start: i64,
    /// Still unpublished when the tool stopped waiting.
    pub(crate) left: i64,
    pub(crate) waited: Duration,
}

/// Listing a customer's orders at a table size.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub(crate) orders_in_table: usize,
    /// The table was grown by SQL copies of orders (`--listing-orders`).
    pub(crate) copied: bool,
    pub(crate) requests: usize,
    pub(crate) errors: usize,
    pub(crate) latency: Percentiles,
}

/// The server's memory over a long run of flows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Soak {
    /// (flows so far, VmRSS in KiB).
    pub(crate) samples: Vec<(usize, u64)>,
    pub(crate) errors: usize,
    /// The soak's own peak (`VmHWM` reset as it starts), in KiB.
    pub(crate) peak_kib: u64,
    /// The time the flows took, all steps together.
    pub(crate) elapsed: Duration,
}

/// A criterion median, if `cargo bench -p order-core --bench core` left one.
#[derive(Debug, Clone)]
pub(crate) struct Micro {
    pub(crate) name: &'static str,
    pub(crate) median_ns: Option<f64>,
}

/// Everything one run found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Report {
    pub(crate) command: String,
    pub(crate) machine: Vec<String>,
    pub(crate) setup: Vec<String>,
    pub(crate) phases: Vec<Phase>,
    pub(crate) costs: Vec<Cost>,
    pub(crate) backlog: Option<Backlog>,
    pub(crate) listings: Vec<Listing>,
    pub(crate) peak_rss_kib: Option<u64>,
    pub(crate) rss_at_start_kib: Option<u64>,
    pub(crate) flows_served: usize,
    pub(crate) stopped: Option<Stopped>,
    pub(crate) soak: Option<Soak>,
    pub(crate) micro: Vec<Micro>,
}

fn f2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

const UNMEASURED: &str = "not measured";

impl Report {
    fn phase(&self, system: System, workload: Workload, conns: usize) -> Option<&Phase> {
        self.phases
            .iter()
            .find(|p| p.system == system && p.workload == workload && p.conns == conns)
    }

    fn pgbench(&self, conns: usize) -> Option<&Phase> {
        self.phase(System::Pgbench, Workload::Place, conns)
    }

    fn cost(&self, label: &str) -> Option<&Cost> {
        self.costs.iter().find(|c| c.label == label)
    }

    /// The whole section, between the markers.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "### Run")?;
        writeln!(out)?;
        for line in self.machine.iter().chain(&self.setup) {
            writeln!(out, "- {line}")?;
        }
        writeln!(out, "- Command: `{}`", self.command)?;
        writeln!(out)?;
        self.write_targets(out)?;
        self.write_phases(out)?;
        self.write_costs(out)?;
        self.write_memory(out)?;
        self.write_delivery(out)?;
        self.write_listing(out)?;
        self.write_micro(out)
    }

    fn write_targets(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "### Targets (issue 9)")?;
        writeln!(out)?;
        writeln!(out, "| target | measured | result |")?;
        writeln!(out, "|---|---|---|")?;
        for &c in &[1, 8, 32] {
            let row = match (
                self.pgbench(c),
                self.phase(System::Http, Workload::Place, c),
            ) {
                (Some(pg), Some(http)) => {
                    let ratio = http.postgres_ms() / pg.postgres_ms();
                    format!(
                        "{} ms vs pgbench {} ms: {}× | {}",
                        f2(http.postgres_ms()),
                        f2(pg.postgres_ms()),
                        f2(ratio),
                        verdict(ratio <= 1.5)
                    )
                }
                _ => format!("| {UNMEASURED}"),
            };
            writeln!(
                out,
                "| PostgreSQL CPU per HTTP placement ≤ 1.5× pgbench's per transaction, {c} conn. | {row} |"
            )?;
        }
        for (system, share, name) in [
            (System::Http, 60.0, "HTTP placements/s"),
            (System::Engine, 70.0, "store-level (engine) placements/s"),
        ] {
            for &c in &[1, 8, 32] {
                let row = match (self.pgbench(c), self.phase(system, Workload::Place, c)) {
                    (Some(pg), Some(p)) => format!(
                        "{} vs {}: {} | {}",
                        thousands(p.per_sec.round() as u64),
                        thousands(pg.tps().round() as u64),
                        percent(p.per_sec, pg.tps()),
                        verdict(p.per_sec * 100.0 >= share * pg.tps())
                    ),
                    _ => format!("| {UNMEASURED}"),
                };
                writeln!(
                    out,
                    "| {name} ≥ {share:.0} % of pgbench's transactions/s, {c} conn. | {row} |"
                )?;
            }
        }
        let row = match self.phase(System::Http, Workload::Place, 8) {
            Some(p) => format!(
                "p95 {} ms | {}",
                ms(p.latency.p95),
                verdict(p.latency.p95 < 10_000)
            ),
            None => format!("| {UNMEASURED}"),
        };
        writeln!(
            out,
            "| p95 of an HTTP placement < 10 ms at 8 conn. | {row} |"
        )?;
        let row = match (
            self.pgbench(8),
            self.phase(System::Http, Workload::PlaceAndPay, 8),
        ) {
            (Some(pg), Some(p)) => format!(
                "{} flows/s vs {}: {} | {}",
                thousands(p.per_sec.round() as u64),
                thousands(pg.tps().round() as u64),
                percent(p.per_sec, pg.tps()),
                verdict(p.per_sec * 100.0 >= 40.0 * pg.tps())
            ),
            _ => format!("| {UNMEASURED}"),
        };
        writeln!(
            out,
            "| HTTP place + pay ≥ 40 % of pgbench's transactions/s at 8 conn. | {row} |"
        )?;
        writeln!(out, "| {} |", self.rss_target())?;
        for micro in &self.micro {
            let (name, limit_ns, target) = match micro.name {
                "pricing/10_lines_discount_tax" => (micro.name, 1_000.0, "≤ 1 µs"),
                "transition/decide_apply" => (micro.name, 100.0, "≤ 100 ns"),
                _ => (micro.name, 1e9 / 150_000.0, "≥ 150,000/s on one core"),
            };
            let row = match micro.median_ns {
                Some(ns) if micro.name == "service/place_and_pay" => format!(
                    "{} µs ≈ {}/s | {}",
                    f2(ns / 1e3),
                    thousands((1e9 / ns).round() as u64),
                    verdict(ns <= limit_ns)
                ),
                Some(ns) => format!("{} ns | {}", f2(ns), verdict(ns <= limit_ns)),
                None => format!(
                    "no criterion estimate (run `cargo bench -p order-core --bench core`) | {UNMEASURED}"
                ),
            };
            writeln!(out, "| core micro-benchmark `{name}` {target} | {row} |")?;
        }
        writeln!(out, "| {} |", self.listing_target())?;
        writeln!(out)?;
        writeln!(out, "Other figures issue 9 sets:")?;
        writeln!(out)?;
        writeln!(out, "| target | measured | result |")?;
        writeln!(out, "|---|---|---|")?;
        for &c in &[1, 8, 32] {
            let row = match self.phase(System::Http, Workload::Place, c) {
                Some(p) => {
                    let server = p.server_ms().unwrap_or(f64::NAN);
                    format!("{} µs | {}", (server * 1e3).round(), verdict(server <= 0.2))
                }
                None => format!("| {UNMEASURED}"),
            };
            writeln!(
                out,
                "| server CPU per HTTP placement ≤ 200 µs, {c} conn. (item 3) | {row} |"
            )?;
        }
        let row = match self.cost("HTTP: place + pay") {
            Some(cost) => {
                let statements = per(cost.wire.statements as f64, cost.ops);
                let commits = per(cost.db.commits as f64, cost.ops);
                format!(
                    "{} statements, {} commits | {}",
                    f2(statements),
                    f2(commits),
                    verdict(statements <= 4.0 && commits <= 2.0)
                )
            }
            None => format!("| {UNMEASURED}"),
        };
        writeln!(
            out,
            "| place + pay ≤ 4 statements and ≤ 2 commits (item 2) | {row} |"
        )?;
        let row = match self.cost("HTTP: place + pay") {
            Some(cost) => format!(
                "{} sequential scans, {} rows read by them per place + pay | {}",
                f2(per(cost.db.seq_scans as f64, cost.ops)),
                f2(per(cost.db.seq_rows as f64, cost.ops)),
                verdict(cost.db.seq_scans == 0)
            ),
            None => format!("| {UNMEASURED}"),
        };
        writeln!(
            out,
            "| no sequential scan on a hot path (item 1; the plan test is the check) | {row} |"
        )?;
        let client = |system| {
            self.phases
                .iter()
                .filter(|p| p.system == system)
                .filter_map(Phase::client_ms)
                .fold((f64::INFINITY, 0.0_f64), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                })
        };
        let (http_lo, http_hi) = client(System::Http);
        let (pg_lo, pg_hi) = client(System::Pgbench);
        if http_hi > 0.0 && pg_hi > 0.0 {
            writeln!(
                out,
                "| the load client costs about what pgbench's does (item 4) | {}–{} ms per request vs pgbench {}–{} ms per transaction | {} |",
                f2(http_lo),
                f2(http_hi),
                f2(pg_lo),
                f2(pg_hi),
                verdict(http_hi <= pg_hi.max(0.3))
            )?;
        }
        writeln!(out)
    }

    fn rss_target(&self) -> String {
        let name = "server RSS flat and < 32 MiB over 10⁶ place + pay flows";
        if let Some(soak) = &self.soak {
            let flows = soak.samples.last().map_or(0, |s| s.0);
            let half = soak.samples.get(soak.samples.len() / 2).map_or(0, |s| s.1);
            let last = soak.samples.last().map_or(0, |s| s.1);
            let growth = last.saturating_sub(half);
            let figure = format!(
                "peak {} over {} flows; {} → {} over the second half",
                mib(soak.peak_kib),
                thousands(flows as u64),
                mib(half),
                mib(last)
            );
            if flows >= 1_000_000 {
                return format!(
                    "{name} | {figure} | {}",
                    verdict(soak.peak_kib < 32 * 1024 && growth < 1024)
                );
            }
            return format!("{name} | {figure} (fewer than 10⁶) | {UNMEASURED}");
        }
        match self.peak_rss_kib {
            Some(peak) => format!(
                "{name} | peak {} over this run's {} flows (10⁶ needs `--soak-flows 1000000`) | {}",
                mib(peak),
                thousands(self.flows_served as u64),
                if peak >= 32 * 1024 {
                    "**missed**"
                } else {
                    UNMEASURED
                }
            ),
            None => format!("{name} | | {UNMEASURED}"),
        }
    }

    fn listing_target(&self) -> String {
        let name = "listing a customer's orders: same latency at 10³ and 10⁶ orders in the table";
        match (self.listings.first(), self.listings.last()) {
            (Some(small), Some(large)) if self.listings.len() > 1 => {
                let figure = format!(
                    "p50 {} ms at {} orders, {} ms at {}",
                    ms(small.latency.p50),
                    thousands(small.orders_in_table as u64),
                    ms(large.latency.p50),
                    thousands(large.orders_in_table as u64)
                );
                // "The same": within a quarter, or 0.2 ms, of each other.
                let same = f64::from(large.latency.p50)
                    <= (f64::from(small.latency.p50) * 1.25)
                        .max(f64::from(small.latency.p50) + 200.0);
                if large.orders_in_table >= 1_000_000 {
                    format!("{name} | {figure} | {}", verdict(same))
                } else {
                    format!(
                        "{name} | {figure} (10⁶ needs `--listing-orders 1000000`) | {UNMEASURED}"
                    )
                }
            }
            _ => format!("{name} | | {UNMEASURED}"),
        }
    }

    fn write_phases(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "### Throughput, latency and CPU")?;
        writeln!(out)?;
        writeln!(
            out,
            "Operations per second over each phase; latency per operation (a place + pay is both requests); \
             CPU per operation from `/proc`: the client (pgbench's process, or the tool's HTTP client threads; \
             per request), the service (the `order-http` process, or the engine's threads in this process), \
             and the PostgreSQL backends of the database measured. \"Busy\" is the whole machine."
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| conn. | what | ops/s | % of pgbench | p50 / p95 / p99 ms | errors | client CPU ms/req | service CPU ms/op | PostgreSQL CPU ms/op | busy |"
        )?;
        writeln!(out, "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|")?;
        for p in &self.phases {
            let share = match (p.system, self.pgbench(p.conns)) {
                (System::Pgbench, _) | (_, None) => String::new(),
                (_, Some(pg)) => percent(p.per_sec, pg.tps()),
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} of {} | {} | {} | {} | {:.0} % |",
                p.conns,
                p.label(),
                thousands(p.per_sec.round() as u64),
                share,
                p.latency.show(),
                p.errors,
                thousands((p.ops + p.errors) as u64),
                p.client_ms().map_or_else(|| "–".into(), f2),
                p.server_ms().map_or_else(|| "–".into(), f2),
                f2(p.postgres_ms()),
                p.usage.busy_percent(),
            )?;
        }
        writeln!(out)?;
        for p in self.phases.iter().filter(|p| p.errors > 0) {
            writeln!(
                out,
                "- {} at {} conn.: first error: `{}`",
                p.label(),
                p.conns,
                p.first_error.as_deref().unwrap_or("?").replace('`', "'")
            )?;
        }
        writeln!(out)
    }

    fn write_costs(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "### Database work per operation")?;
        writeln!(out)?;
        let ops = self
            .costs
            .iter()
            .map(|c| c.ops + c.errors)
            .max()
            .unwrap_or(0);
        writeln!(
            out,
            "{ops} operations one after another on one connection, after the load phases, through a \
             counting proxy: statements are `Execute` and simple `Query` messages, round trips the times \
             the client speaks after the server answered, parses `Parse` messages. Commits and table \
             reads are the database's own (`pg_stat_database`, `pg_stat_user_tables`, read once the \
             statistics settled). WAL is read back with `pg_walinspect`: the records that change the \
             database's relations and the commits of their transactions, so other work on the server \
             is left out. A checkpoint and a warm-up of every subject come first, so full-page images \
             are mostly left to the warm-ups. The server's background work (sweep, outbox relay, \
             webhooks) is off in these windows, so they hold the requests' own work; the relay's \
             cost is in the load phases' CPU figures."
        )?;
        if let Some(backlog) = &self.backlog {
            writeln!(out)?;
            writeln!(
                out,
                "Before the windows, the counted server's relay worked off the {} unpublished \
                 events the load left in {:.1} s ({} left), and the service's database was \
                 vacuumed, as autovacuum would have done (it is off on this server).",
                thousands(backlog.at_start.max(0) as u64),
                backlog.waited.as_secs_f64(),
                thousands(backlog.left.max(0) as u64),
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "| what | statements | round trips | parses | commits | WAL records | WAL bytes without full-page images | full-page image bytes | seq. scans | rows by seq. scan | index fetches | errors |"
        )?;
        writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for c in &self.costs {
            let each = |n: i64| f2(per(n as f64, c.ops));
            let wire = |n: u64| f2(per(n as f64, c.ops));
            let bytes = |n: i64| thousands(per(n as f64, c.ops).round().max(0.0) as u64);
            let (records, wal_bytes, fpi) = c.wal.map_or_else(
                || ("?".to_owned(), "?".to_owned(), "?".to_owned()),
                |w| {
                    (
                        each(w.records),
                        bytes(w.bytes - w.fpi_bytes),
                        bytes(w.fpi_bytes),
                    )
                },
            );
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {records} | {wal_bytes} | {fpi} | {} | {} | {} | {} |",
                c.label,
                wire(c.wire.statements),
                wire(c.wire.round_trips),
                wire(c.wire.parses),
                each(c.db.commits),
                each(c.db.seq_scans),
                each(c.db.seq_rows),
                each(c.db.index_rows),
                c.errors,
            )?;
        }
        writeln!(out)
    }

    fn write_memory(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "### Server memory and log")?;
        writeln!(out)?;
        let after: Vec<String> = self
            .phases
            .iter()
            .filter_map(|p| {
                Some(format!(
                    "{} ({} conn.) {}",
                    p.label().trim_start_matches("HTTP: "),
                    p.conns,
                    mib(p.rss_kib?)
                ))
            })
            .collect();
        writeln!(
            out,
            "- Peak RSS (`VmHWM`) {} over {} flows and placements; {} after start and pre-fill; after each phase: {}.",
            self.peak_rss_kib.map_or_else(|| "?".into(), mib),
            thousands(self.flows_served as u64),
            self.rss_at_start_kib.map_or_else(|| "?".into(), mib),
            after.join(", ")
        )?;
        if let Some(soak) = &self.soak {
            let samples: Vec<String> = soak
                .samples
                .iter()
                .map(|(flows, kib)| format!("{} → {}", thousands(*flows as u64), mib(*kib)))
                .collect();
            writeln!(
                out,
                "- Soak at 8 connections, RSS by flows: {}; its own peak (`VmHWM`, reset as it starts) {} ({} errors; {} flows/s over {} s).",
                samples.join(", "),
                mib(soak.peak_kib),
                soak.errors,
                thousands(
                    (soak.samples.last().map_or(0, |sample| sample.0) as f64
                        / soak.elapsed.as_secs_f64().max(1e-9)) as u64
                ),
                thousands(soak.elapsed.as_secs())
            )?;
        }
        if let Some(stopped) = &self.stopped {
            writeln!(
                out,
                "- SIGTERM: exited in {} ms with {}; the server logged {} lines, {} warnings, {} errors.",
                stopped.took.as_millis(),
                stopped
                    .status
                    .map_or_else(|| "no status (killed)".into(), |s| s.to_string()),
                stopped.log.lines,
                stopped.log.warnings,
                stopped.log.errors
            )?;
            for sample in &stopped.log.samples {
                writeln!(
                    out,
                    "  - {}×: `{}`",
                    thousands(sample.count),
                    sample.first.replace('`', "'")
                )?;
            }
        }
        writeln!(out)
    }

    fn write_delivery(&self, out: &mut String) -> std::fmt::Result {
        let phases: Vec<&Phase> = self
            .phases
            .iter()
            .filter(|p| p.delivery.as_ref().is_some_and(|d| d.count() > 0))
            .collect();
        if phases.is_empty() {
            return Ok(());
        }
        writeln!(out, "### Event delivery under load (issue 10)")?;
        writeln!(out)?;
        writeln!(
            out,
            "The outbox relay's latency, from each event's change to the publisher's acknowledgement \
             (the server's `order_events_delivery_seconds` histogram, read before and 1 s after each \
             HTTP phase, once the relay has published what the engine's phases wrote before it \
             (waiting up to 60 s); the log publisher, so this is the relay's own delay, without a broker's). \
             Quantiles are the upper bounds of the histogram buckets holding them. Target: p99 < 1 s \
             (the seeds' SLA: 5 s)."
        )?;
        writeln!(out)?;
        writeln!(out, "| conn. | what | events | p50 ≤ | p99 ≤ | p99 < 1 s |")?;
        writeln!(out, "|---:|---|---:|---:|---:|---|")?;
        for phase in phases {
            let Some(delivery) = &phase.delivery else {
                continue;
            };
            let seconds = |q: f64| match delivery.at_most(q) {
                Some(le) if le.is_finite() => format!("{:.0} ms", le * 1e3),
                Some(_) => "> 10 s".to_owned(),
                None => "–".to_owned(),
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                phase.conns,
                phase.label(),
                thousands(delivery.count()),
                seconds(0.5),
                seconds(0.99),
                verdict(delivery.at_most(0.99).is_some_and(|le| le <= 1.0)),
            )?;
        }
        writeln!(out)
    }

    fn write_listing(&self, out: &mut String) -> std::fmt::Result {
        if self.listings.is_empty() {
            return Ok(());
        }
        writeln!(out, "### Listing a customer's orders")?;
        writeln!(out)?;
        writeln!(
            out,
            "`GET /api/v1/orders` (the default page) by a customer with 20 orders, one connection, as the table grows."
        )?;
        writeln!(out)?;
        writeln!(
            out,
            "| orders in the table | requests | p50 / p95 / p99 ms | errors |"
        )?;
        writeln!(out, "|---:|---:|---|---:|")?;
        for l in &self.listings {
            writeln!(
                out,
                "| {}{} | {} | {} | {} |",
                thousands(l.orders_in_table as u64),
                if l.copied {
                    " (grown by SQL copies)"
                } else {
                    ""
                },
                l.requests,
                l.latency.show(),
                l.errors
            )?;
        }
        writeln!(out)
    }

    fn write_micro(&self, out: &mut String) -> std::fmt::Result {
        if self.micro.iter().all(|m| m.median_ns.is_none()) {
            return Ok(());
        }
        writeln!(
            out,
            "Core micro-benchmark medians are criterion's (`median.point_estimate` of the last \
             `cargo bench -p order-core --bench core` in this target directory), not this run's."
        )?;
        writeln!(out)
    }
}

impl Phase {
    /// pgbench's own transactions/s (its figure excludes connection time).
    fn tps(&self) -> f64 {
        self.per_sec
    }
}

/// Puts `section` between the markers of the file at `path`.
pub(crate) fn write_between_markers(path: &Path, section: &str) -> Result<()> {
    let text = std::fs::read_to_string(path)?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!("{} has no {BEGIN} … {END} markers", path.display()).into());
    };
    if end < begin {
        return Err(format!("{}: the markers are out of order", path.display()).into());
    }
    let updated = format!(
        "{}{BEGIN}\n\n{}\n{}",
        &text[..begin],
        section.trim_end(),
        &text[end..]
    );
    std::fs::write(path, updated)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_replaces_what_was_between_the_markers() {
        let path = std::env::temp_dir().join(format!("order-bench-doc-{}.md", std::process::id()));
        std::fs::write(
            &path,
            format!("# Doc\n\nbefore\n{BEGIN}\nold\n{END}\nafter\n"),
        )
        .unwrap();
        write_between_markers(&path, "new\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("# Doc\n\nbefore\n{BEGIN}\n\nnew\n{END}\nafter\n")
        );
        std::fs::write(&path, "no markers").unwrap();
        assert!(write_between_markers(&path, "x").is_err());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn targets_say_met_missed_or_not_measured() {
        let usage = Usage {
            postgres: 2.0,
            children: 0.5,
            server: 0.4,
            workers: 0.3,
            machine_busy: 1.0,
            machine_total: 2.0,
        };
        let phase = |system, per_sec, p95| Phase {
            system,
            workload: Workload::Place,
            conns: 8,
            ops: 1_000,
            errors: 0,
            first_error: None,
            per_sec,
            latency: Percentiles {
                p50: 1_000,
                p95,
                p99: p95,
            },
            usage,
            rss_kib: None,
            delivery: None,
        };
        let report = Report {
            phases: vec![
                phase(System::Pgbench, 3_000.0, 3_000),
                phase(System::Http, 1_500.0, 12_000),
                phase(System::Engine, 2_400.0, 4_000),
            ],
            ..Report::default()
        };
        let text = report.markdown();
        assert!(text.contains(
            "| HTTP placements/s ≥ 60 % of pgbench's transactions/s, 8 conn. | 1,500 vs 3,000: 50 % | **missed** |"
        ));
        assert!(text.contains(
            "| store-level (engine) placements/s ≥ 70 % of pgbench's transactions/s, 8 conn. | 2,400 vs 3,000: 80 % | met |"
        ));
        assert!(text.contains(
            "| p95 of an HTTP placement < 10 ms at 8 conn. | p95 12.00 ms | **missed** |"
        ));
        assert!(text.contains(
            "| HTTP placements/s ≥ 60 % of pgbench's transactions/s, 1 conn. | | not measured |"
        ));
        assert!(text.contains("1.00× | met"));
    }
}
