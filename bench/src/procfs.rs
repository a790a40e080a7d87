//! CPU time and memory from `/proc`: of a process, of this process's named
//! threads and reaped children, of the whole machine, and of the PostgreSQL
//! backends serving one database.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// The fields of `/proc/<pid>/stat` the tool uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) comm: String,
    pub(crate) ppid: u32,
    /// utime + stime, in ticks.
    pub(crate) cpu: u64,
    /// cutime + cstime (children waited for), in ticks.
    pub(crate) children_cpu: u64,
    /// Start time after boot, in ticks: with the pid, it names a process.
    pub(crate) start: u64,
}

impl Stat {
    /// Parses a `stat` line. The command name sits in parentheses and may
    /// hold spaces and parentheses itself, so fields are counted from the
    /// last `)`.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let open = line.find('(')?;
        let close = line.rfind(')')?;
        let comm = line.get(open + 1..close)?.to_owned();
        let fields: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
        let number = |i: usize| -> Option<u64> { fields.get(i)?.parse().ok() };
        Some(Self {
            comm,
            ppid: u32::try_from(number(1)?).ok()?,
            cpu: number(11)? + number(12)?,
            children_cpu: number(13)? + number(14)?,
            start: number(19)?,
        })
    }

    fn read(path: &Path) -> Option<Self> {
        Self::parse(&std::fs::read_to_string(path).ok()?)
    }
}

fn seconds(ticks: u64) -> f64 {
    ticks as f64 / TICKS
}

/// CPU seconds (user + system) process `pid` has used.
pub(crate) fn process_cpu(pid: u32) -> Option<f64> {
    Stat::read(Path::new(&format!("/proc/{pid}/stat"))).map(|s| seconds(s.cpu))
}

/// CPU seconds of this process's children that were waited for (pgbench).
pub(crate) fn reaped_children_cpu() -> f64 {
    Stat::read(Path::new("/proc/self/stat")).map_or(0.0, |s| seconds(s.children_cpu))
}

/// CPU seconds of this process's threads named `name`.
pub(crate) fn threads_cpu(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    let ticks: u64 = tasks
        .filter_map(|task| Stat::read(&task.ok()?.path().join("stat")))
        .filter(|stat| stat.comm == name)
        .map(|stat| stat.cpu)
        .sum();
    seconds(ticks)
}

/// A `kB` field of `/proc/<pid>/status` (`VmHWM`, `VmRSS`).
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    parse_status_kib(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        field,
    )
}

/// Resets `VmHWM` of `pid` to its resident memory now (`clear_refs`), so
/// that a later reading is the peak of what ran since.
pub(crate) fn reset_peak_rss(pid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Busy and total CPU seconds of the whole machine, all CPUs (`/proc/stat`).
pub(crate) fn machine_cpu() -> (f64, f64) {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|text| parse_machine(&text))
        .unwrap_or((0.0, 0.0))
}

fn parse_machine(text: &str) -> Option<(f64, f64)> {
    let ticks: Vec<u64> = text
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is
    // already inside user).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((seconds(total - idle), seconds(total)))
}

/// The database a PostgreSQL backend serves, from its process title
/// (`postgres: [cluster: ]user database host(port) activity`); `None` for
/// the server's own processes (checkpointer, WAL writer, …).
pub(crate) fn backend_database(title: &str) -> Option<&str> {
    let rest = title.trim().strip_prefix("postgres: ")?;
    let mut words = rest.split_whitespace().peekable();
    // Debian names the cluster first: `15/main:`.
    if words.peek()?.ends_with(':') {
        words.next();
    }
    let _user = words.next()?;
    let database = words.next()?;
    let host = words.next()?;
    (host.contains('(') || host == "[local]").then_some(database)
}

/// What the sampler knows of one backend.
#[derive(Debug, Clone)]
struct Backend {
    database: String,
    ticks: u64,
}

#[derive(Debug, Default)]
struct Seen {
    /// Live backends by (pid, start time).
    backends: HashMap<(u32, u64), Backend>,
    /// CPU ticks observed per database, over the tool's life.
    ticks: HashMap<String, u64>,
}

/// Adds up the CPU of the PostgreSQL backends per database: a thread looks
/// at the postmaster's children every 100 ms (and [`PgCpu::sample`] on
/// demand), crediting each backend's growth to its database. A backend that
/// ends loses at most its last 100 ms.
#[derive(Debug, Clone)]
pub(crate) struct PgCpu {
    postmaster: u32,
    seen: Arc<Mutex<Seen>>,
}

impl PgCpu {
    /// Follows the children of the postmaster that is the parent of
    /// `backend` (a pid from `pg_backend_pid()`).
    pub(crate) fn start(backend: u32) -> Result<Self, String> {
        let stat = Stat::read(Path::new(&format!("/proc/{backend}/stat"))).ok_or_else(|| {
            format!(
                "cannot read /proc/{backend}/stat: PostgreSQL must run on this machine, \
                 visible in /proc"
            )
        })?;
        let sampler = Self {
            postmaster: stat.ppid,
            seen: Arc::default(),
        };
        sampler.sample();
        let background = sampler.clone();
        std::thread::Builder::new()
            .name("pg-cpu".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    background.sample();
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(sampler)
    }

    fn children(&self) -> Vec<u32> {
        let list = format!("/proc/{0}/task/{0}/children", self.postmaster);
        if let Ok(text) = std::fs::read_to_string(list) {
            return text
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
        }
        // Without CONFIG_PROC_CHILDREN: every process, by parent.
        std::fs::read_dir("/proc")
            .map(|dir| {
                dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                    .filter(|pid: &u32| {
                        Stat::read(Path::new(&format!("/proc/{pid}/stat")))
                            .is_some_and(|s| s.ppid == self.postmaster)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Looks at every backend now.
    pub(crate) fn sample(&self) {
        let mut now = HashMap::new();
        for pid in self.children() {
            let Some(stat) = Stat::read(Path::new(&format!("/proc/{pid}/stat"))) else {
                continue;
            };
            let key = (pid, stat.start);
            let known = self
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .backends
                .get(&key)
                .map(|b| b.database.clone());
            let database = match known {
                Some(database) => database,
                None => {
                    let Ok(title) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                        continue;
                    };
                    let title = String::from_utf8_lossy(&title).replace('\0', " ");
                    match backend_database(&title) {
                        Some(database) => database.to_owned(),
                        None => continue,
                    }
                }
            };
            now.insert(
                key,
                Backend {
                    database,
                    ticks: stat.cpu,
                },
            );
        }
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, backend) in &now {
            let before = seen.backends.get(key).map_or(0, |b| b.ticks);
            *seen.ticks.entry(backend.database.clone()).or_default() +=
                backend.ticks.saturating_sub(before);
        }
        seen.backends = now;
    }

    /// CPU seconds the backends of `database` have used since the sampler
    /// started (a counter: take differences).
    pub(crate) fn seconds(&self, database: &str) -> f64 {
        self.sample();
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seconds(seen.ticks.get(database).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_from_the_last_parenthesis() {
        let line = "4242 (tokio (worker) 1) S 17 4242 13192 0 -1 4194304 99 0 0 0 \
                    250 31 7 3 20 0 1 0 966194 3133440 362 18446744073709551615";
        let stat = Stat::parse(line).expect("parses");
        assert_eq!(stat.comm, "tokio (worker) 1");
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.cpu, 281);
        assert_eq!(stat.children_cpu, 10);
        assert_eq!(stat.start, 966_194);
    }

    #[test]
    fn a_truncated_stat_line_is_none() {
        assert_eq!(Stat::parse("1 (x) S 0 1 2"), None);
        assert_eq!(Stat::parse("garbage"), None);
    }

    #[test]
    fn status_fields_are_read_in_kib() {
        let status = "Name:\torder-http\nVmHWM:\t   33792 kB\nVmRSS:\t   30100 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(33_792));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(30_100));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn machine_time_counts_everything_but_idle_and_iowait() {
        let text = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n";
        let (busy, total) = parse_machine(text).expect("parses");
        assert!((busy - 1.5).abs() < 1e-9);
        assert!((total - 10.0).abs() < 1e-9);
    }

    #[test]
    fn backend_titles_name_their_database() {
        assert_eq!(
            backend_database("postgres: 15/main: postgres order_bench 127.0.0.1(38290) idle"),
            Some("order_bench")
        );
        assert_eq!(
            backend_database("postgres: app shop [local] INSERT waiting   "),
            Some("shop")
        );
        assert_eq!(backend_database("postgres: 15/main: checkpointer"), None);
        assert_eq!(backend_database("postgres: walwriter"), None);
        assert_eq!(
            backend_database("postgres: 15/main: logical replication launcher"),
            None
        );
        assert_eq!(
            backend_database("/usr/lib/postgresql/15/bin/postgres -D x"),
            None
        );
    }
}
