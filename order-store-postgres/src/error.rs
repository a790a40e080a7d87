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

#[cfg(test)]
mod tests {
    use order_core::ports::OrderStore;
    use order_core::{Currency, Money, StoreError};
    use order_testkit::builder::{OrderBuilder, new_order_change};

    use crate::PgOrderStore;

    /// order-core refuses such an order before any store is called; should
    /// one reach the database anyway, its CHECKs (migration 0004) refuse it
    /// and nothing is written.
    #[tokio::test]
    async fn an_order_beyond_the_amount_bounds_is_refused_by_the_database() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let store = PgOrderStore::new(pool);
        let max_price = Money::new(Money::MAX_UNIT_PRICE, Currency::USD).expect("max price");
        let (order, record) = OrderBuilder::default()
            .line("TOO-MUCH", max_price, 101)
            .build();
        let refused = store.commit(new_order_change(&order, &record)).await;
        let constraint = match &refused {
            Err(StoreError::Backend(source)) => source
                .downcast_ref::<sqlx::Error>()
                .and_then(|e| e.as_database_error())
                .and_then(|db| db.constraint())
                .map(str::to_owned),
            _ => None,
        };
        assert!(
            matches!(
                constraint.as_deref(),
                Some("orders_amount_bounds" | "order_lines_amount_bounds")
            ),
            "{refused:?}"
        );
        assert_eq!(store.get(order.id()).await.expect("get"), None);
    }
}
