//! Opening a database: which URLs mean what, the settings every connection
//! gets, and the migrations.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::MIGRATOR;

/// How long a connection waits for another one's write lock before the
/// statement fails with `SQLITE_BUSY` (reported as
/// `StoreError::Unavailable`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL is not a SQLite URL, or names no database.
    #[error(
        "{url:?} is not a SQLite database URL: expected sqlite://path/to/file.db, sqlite:file.db or sqlite::memory:"
    )]
    NotSqlite {
        /// The URL given.
        url: String,
    },
    /// The URL has parameters SQLite does not know.
    #[error("{url:?} is not a valid SQLite URL: {source}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        source: sqlx::Error,
    },
    /// The database file could not be opened or created (a missing
    /// directory, no permission, not a database).
    #[error("cannot open SQLite database {}: {source}", path.display())]
    Open {
        /// The file (`:memory:` for an in-memory database).
        path: PathBuf,
        /// Why.
        source: sqlx::Error,
    },
    /// The migrations failed (a database written by a newer version, or a
    /// changed migration).
    #[error("cannot migrate SQLite database {}: {source}", path.display())]
    Migrate {
        /// The file (`:memory:` for an in-memory database).
        path: PathBuf,
        /// Why.
        source: sqlx::migrate::MigrateError,
    },
}

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    /// `sqlite::memory:` and its spellings.
    Memory,
    /// A file, relative to the working directory unless absolute.
    File(PathBuf),
}

impl Location {
    fn of(url: &str) -> Result<Self, OpenError> {
        let not_sqlite = || OpenError::NotSqlite {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("sqlite:").ok_or_else(not_sqlite)?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
        if database == ":memory:" || params.split('&').any(|p| p == "mode=memory") {
            return Ok(Self::Memory);
        }
        if database.is_empty() {
            // SQLite would open a private temporary database per
            // connection: never what a caller of a store means.
            return Err(not_sqlite());
        }
        Ok(Self::File(PathBuf::from(database)))
    }

    fn path(&self) -> PathBuf {
        match self {
            Self::Memory => PathBuf::from(":memory:"),
            Self::File(path) => path.clone(),
        }
    }
}

/// Opens the database at `url` with at most `max_connections` connections
/// (at least one) and applies [`MIGRATOR`].
///
/// - `sqlite://path/to/file.db` (relative to the working directory),
///   `sqlite:///absolute/path.db` and `sqlite:file.db` open a file,
///   creating it if missing; its directory must exist.
/// - `sqlite::memory:` is a throwaway database that lives as long as the
///   pool. It is one database for the whole pool: the pool has exactly one
///   connection, which is never closed while the pool lives, because an
///   in-memory database ends with the last connection to it.
///
/// Every connection has foreign keys on and waits up to 5 s for the write
/// lock. Files use the WAL journal, so readers and the writer never block
/// each other, with `synchronous = NORMAL`: a commit is in the WAL before
/// it returns, so an acknowledged order survives the process being killed;
/// only an operating-system crash or a power cut can lose the last commits
/// (never corrupt the file), which `FULL` would prevent at the price of an
/// fsync per commit.
///
/// # Errors
/// [`OpenError::NotSqlite`] or [`OpenError::BadUrl`] for a URL that is not
/// one of the above; [`OpenError::Open`], naming the file, when it cannot
/// be opened or created; [`OpenError::Migrate`] when the migrations fail.
pub async fn connect(url: &str, max_connections: u32) -> Result<SqlitePool, OpenError> {
    let location = Location::of(url)?;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|source| OpenError::BadUrl {
            url: url.to_owned(),
            source,
        })?
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    let (options, pool) = match &location {
        Location::Memory => (
            options,
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
        ),
        Location::File(_) => (
            options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal),
            SqlitePoolOptions::new().max_connections(max_connections.max(1)),
        ),
    };
    let pool = pool
        .connect_with(options)
        .await
        .map_err(|source| OpenError::Open {
            path: location.path(),
            source,
        })?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|source| OpenError::Migrate {
            path: location.path(),
            source,
        })?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_name_their_path() {
        for (url, path) in [
            ("sqlite://data/orders.db", "data/orders.db"),
            ("sqlite:///var/lib/orders.db", "/var/lib/orders.db"),
            ("sqlite:orders.db", "orders.db"),
            ("sqlite://orders.db?mode=rwc", "orders.db"),
        ] {
            assert_eq!(
                Location::of(url).unwrap(),
                Location::File(PathBuf::from(path)),
                "{url}"
            );
        }
    }

    #[test]
    fn every_spelling_of_memory_is_memory() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
        ] {
            assert_eq!(Location::of(url).unwrap(), Location::Memory, "{url}");
        }
    }

    #[test]
    fn other_schemes_and_empty_paths_are_refused() {
        for url in [
            "postgres://localhost/orders",
            "orders.db",
            "sqlite://",
            "sqlite:",
        ] {
            assert!(
                matches!(Location::of(url), Err(OpenError::NotSqlite { .. })),
                "{url}"
            );
        }
    }
}
