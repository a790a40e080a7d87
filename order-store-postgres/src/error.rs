//! Translation of database errors into the store's semantic kinds, once, by
//! constraint name and SQLSTATE — never by message text.

use order_core::StoreError;
use order_core::ports::Change;

/// SQLSTATEs that mean "try again": serialization failure, deadlock, and the
/// connection classes.
fn is_transient(code: &str) -> bool {
    matches!(code, "40001" | "40P01") || code.starts_with("08") || code.starts_with("57P")
}

/// Translates a read or a write outside a `Change`.
pub(crate) fn translate(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(Box::new(err)),
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_transient(&c)) => {
            StoreError::Unavailable(Box::new(err))
        }
        _ => StoreError::Backend(Box::new(err)),
    }
}

/// Translates the failure of a change's write statement.
pub(crate) fn translate_write(err: sqlx::Error, change: &Change<'_>) -> StoreError {
    let id = change.order.id();
    if let sqlx::Error::Database(db) = &err {
        match db.constraint() {
            Some("orders_pkey" | "orders_number_key") => return StoreError::AlreadyExists { id },
            Some("processed_inbound_events_pkey") => {
                return StoreError::DuplicateInboundEvent {
                    event_id: change.inbound_event.unwrap_or_default().to_owned(),
                };
            }
            Some("outbox_events_order_sequence_key" | "order_status_history_pkey") => {
                // Another writer committed the same sequence first.
                return StoreError::VersionConflict {
                    id,
                    expected: change.expected_version,
                    actual: change.expected_version + 1,
                };
            }
            _ => {}
        }
    }
    translate(err)
}

/// True when a write failed because it would reserve more than is on hand.
pub(crate) fn is_oversell(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.constraint() == Some("stock_levels_no_oversell"))
}
