//! Translation of database errors into the store's and the ports' kinds, in
//! one place, by SQLite result code and by which statement failed — never
//! by message text. (SQLite does not report constraint names, so a write
//! that can break a uniqueness rule is its own statement, and its unique
//! violation means that rule: see `store.rs`.)

use order_core::{PortError, StoreError};
use sqlx::error::ErrorKind;

/// Primary result codes (the low byte of an extended code) that mean "try
/// again later": `SQLITE_BUSY`, `SQLITE_LOCKED` (another connection holds
/// the lock past the busy timeout), `SQLITE_NOMEM`, `SQLITE_IOERR`,
/// `SQLITE_FULL`, `SQLITE_CANTOPEN`, `SQLITE_PROTOCOL`.
const TRANSIENT: [i64; 7] = [5, 6, 7, 10, 13, 14, 15];

fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| TRANSIENT.contains(&(code & 0xff))),
        _ => false,
    }
}

/// Translates any failure to a store error: `Unavailable` when a retry may
/// succeed, `Backend` otherwise.
pub(crate) fn translate(err: sqlx::Error) -> StoreError {
    if is_transient(&err) {
        StoreError::Unavailable(Box::new(err))
    } else {
        StoreError::Backend(Box::new(err))
    }
}

/// True when a statement broke a UNIQUE or PRIMARY KEY constraint.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

/// A value that does not map between the domain and its row: a stored
/// value this crate cannot read back (written by something else, or by a
/// newer version), or one it cannot write.
pub(crate) fn corrupt(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Backend(err.into())
}

/// Translates a failure of a port other than the store (catalog, stock,
/// numbers), whose errors have no backend kind: the port is unavailable,
/// and the text says why.
pub(crate) fn port(err: sqlx::Error) -> PortError {
    port_of_store(&translate(err))
}

/// As [`port`], for a store error met by another port.
pub(crate) fn port_of_store(err: &StoreError) -> PortError {
    use std::error::Error as _;
    match err.source() {
        Some(source) => PortError::Unavailable(format!("{err}: {source}")),
        None => PortError::Unavailable(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_and_io_failures_are_unavailable() {
        assert!(matches!(
            translate(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            translate(sqlx::Error::Io(std::io::Error::other("disk gone"))),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            translate(sqlx::Error::RowNotFound),
            StoreError::Backend(_)
        ));
    }
}
