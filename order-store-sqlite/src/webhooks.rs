//! The `WebhookStore` port on SQLite: subscriptions, the fan-out position,
//! deliveries (each message as it is sent: headers and body as text) and
//! their attempts. Enqueueing is one `BEGIN IMMEDIATE` transaction that
//! moves the position only from the one the caller read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::ports::WebhookStore;
use order_core::webhook::{Attempt, Delivery, DeliveryState, Subscription};
use order_core::{
    DeliveryId, EventTypeName, StoreError, SubscriptionId, WebhookSecret, WebhookUrl,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::document::{time_from_text, time_text};
use crate::error::{corrupt, translate};

/// Webhook subscriptions and deliveries in the order database.
#[derive(Debug, Clone)]
pub struct SqliteWebhookStore {
    pool: SqlitePool,
}

impl SqliteWebhookStore {
    /// On `pool` (migrated by [`connect`](crate::connect)).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn u64_of(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(corrupt)
}

fn subscription_from(row: &SqliteRow) -> Result<Subscription, StoreError> {
    let id: String = row.try_get("id").map_err(translate)?;
    let types: String = row.try_get("event_types").map_err(translate)?;
    let types: Vec<String> = serde_json::from_str(&types).map_err(corrupt)?;
    Ok(Subscription {
        id: id.parse().map_err(corrupt)?,
        url: WebhookUrl::parse(&row.try_get::<String, _>("url").map_err(translate)?)
            .map_err(corrupt)?,
        event_types: types
            .iter()
            .map(|t| EventTypeName::parse(t).map_err(corrupt))
            .collect::<Result<_, _>>()?,
        secret: WebhookSecret::parse(&row.try_get::<String, _>("secret").map_err(translate)?)
            .map_err(corrupt)?,
        created_at: time(row, "created_at")?,
    })
}

fn time(row: &SqliteRow, column: &str) -> Result<DateTime<Utc>, StoreError> {
    time_from_text(&row.try_get::<String, _>(column).map_err(translate)?)
}

fn delivery_from(row: &SqliteRow) -> Result<Delivery, StoreError> {
    let text = |column: &str| row.try_get::<String, _>(column).map_err(translate);
    let headers: Vec<(String, String)> =
        serde_json::from_str(&text("headers")?).map_err(corrupt)?;
    let state = text("state")?;
    Ok(Delivery {
        id: text("id")?.parse().map_err(corrupt)?,
        subscription_id: text("subscription_id")?.parse().map_err(corrupt)?,
        message_id: text("message_id")?,
        event_type: text("event_type")?,
        position: u64_of(row.try_get("position").map_err(translate)?)?,
        headers,
        body: text("body")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| corrupt(format!("delivery state {state:?}")))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts").map_err(translate)?)
            .map_err(corrupt)?,
        next_attempt_at: time(row, "next_attempt_at")?,
        give_up_at: time(row, "give_up_at")?,
        last_status: row
            .try_get::<Option<i64>, _>("last_status")
            .map_err(translate)?
            .map(|s| u16::try_from(s).map_err(corrupt))
            .transpose()?,
        last_error: row.try_get("last_error").map_err(translate)?,
        created_at: time(row, "created_at")?,
    })
}

fn attempt_from(row: &SqliteRow) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        delivery_id: row
            .try_get::<String, _>("delivery_id")
            .map_err(translate)?
            .parse()
            .map_err(corrupt)?,
        number: u32::try_from(row.try_get::<i64, _>("number").map_err(translate)?)
            .map_err(corrupt)?,
        at: time(row, "at")?,
        status: row
            .try_get::<Option<i64>, _>("status")
            .map_err(translate)?
            .map(|s| u16::try_from(s).map_err(corrupt))
            .transpose()?,
        error: row.try_get("error").map_err(translate)?,
        took_ms: u64_of(row.try_get("took_ms").map_err(translate)?)?,
    })
}

/// A delivery's columns, in the order of the inserts' values.
macro_rules! delivery_columns {
    () => {
        "id, subscription_id, message_id, event_type, position, headers, body, state, attempts, \
         next_attempt_at, give_up_at, last_status, last_error, created_at"
    };
}

/// Writes a delivery's changing columns.
const UPDATE_DELIVERY: &str = "update webhook_deliveries
    set state = ?, attempts = ?, next_attempt_at = ?, give_up_at = ?, last_status = ?,
        last_error = ?
  where id = ?";

async fn update(
    executor: impl sqlx::SqliteExecutor<'_>,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    sqlx::query(UPDATE_DELIVERY)
        .bind(delivery.state.as_str())
        .bind(i64::from(delivery.attempts))
        .bind(time_text(delivery.next_attempt_at))
        .bind(time_text(delivery.give_up_at))
        .bind(delivery.last_status.map(i64::from))
        .bind(delivery.last_error.as_deref())
        .bind(delivery.id.to_string())
        .execute(executor)
        .await
        .map_err(translate)?;
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteWebhookStore {
    async fn add_subscription(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let types: Vec<&str> = subscription
            .event_types
            .iter()
            .map(|t| t.as_str())
            .collect();
        sqlx::query(
            "insert into webhook_subscriptions (id, url, event_types, secret, created_at)
             values (?, ?, ?, ?, ?)",
        )
        .bind(subscription.id.to_string())
        .bind(subscription.url.as_str())
        .bind(serde_json::to_string(&types).map_err(corrupt)?)
        .bind(subscription.secret.as_str())
        .bind(time_text(subscription.created_at))
        .execute(&self.pool)
        .await
        .map_err(translate)?;
        Ok(())
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        sqlx::query(
            "select id, url, event_types, secret, created_at from webhook_subscriptions
              order by created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?
        .iter()
        .map(subscription_from)
        .collect()
    }

    async fn remove_subscription(&self, id: SubscriptionId) -> Result<bool, StoreError> {
        // Its deliveries and their attempts go by `on delete cascade`.
        let removed = sqlx::query("delete from webhook_subscriptions where id = ?")
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(translate)?;
        Ok(removed.rows_affected() > 0)
    }

    async fn fan_out_position(&self) -> Result<u64, StoreError> {
        let position: i64 = sqlx::query_scalar("select position from webhook_fan_out where id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(translate)?;
        u64_of(position)
    }

    async fn enqueue(
        &self,
        deliveries: &[Delivery],
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(translate)?;
        let moved =
            sqlx::query("update webhook_fan_out set position = ? where id = 1 and position = ?")
                .bind(i64_of(to))
                .bind(i64_of(from))
                .execute(&mut *tx)
                .await
                .map_err(translate)?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        for delivery in deliveries {
            sqlx::query(concat!(
                "insert into webhook_deliveries (",
                delivery_columns!(),
                ") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 on conflict (subscription_id, message_id) do nothing"
            ))
            .bind(delivery.id.to_string())
            .bind(delivery.subscription_id.to_string())
            .bind(&delivery.message_id)
            .bind(&delivery.event_type)
            .bind(i64_of(delivery.position))
            .bind(serde_json::to_string(&delivery.headers).map_err(corrupt)?)
            .bind(&delivery.body)
            .bind(delivery.state.as_str())
            .bind(i64::from(delivery.attempts))
            .bind(time_text(delivery.next_attempt_at))
            .bind(time_text(delivery.give_up_at))
            .bind(delivery.last_status.map(i64::from))
            .bind(delivery.last_error.as_deref())
            .bind(time_text(delivery.created_at))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        }
        tx.commit().await.map_err(translate)?;
        Ok(true)
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        sqlx::query(concat!(
            "select ",
            delivery_columns!(),
            " from webhook_deliveries
              where state = 'pending' and next_attempt_at <= ?
              order by position, id limit ?"
        ))
        .bind(time_text(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?
        .iter()
        .map(delivery_from)
        .collect()
    }

    async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(translate)?;
        sqlx::query(
            "insert into webhook_attempts (delivery_id, number, at, status, error, took_ms)
             values (?, ?, ?, ?, ?, ?)",
        )
        .bind(attempt.delivery_id.to_string())
        .bind(i64::from(attempt.number))
        .bind(time_text(attempt.at))
        .bind(attempt.status.map(i64::from))
        .bind(attempt.error.as_deref())
        .bind(i64_of(attempt.took_ms))
        .execute(&mut *tx)
        .await
        .map_err(translate)?;
        update(&mut *tx, delivery).await?;
        tx.commit().await.map_err(translate)
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        update(&self.pool, delivery).await
    }

    async fn deliveries(
        &self,
        subscription: SubscriptionId,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        sqlx::query(concat!(
            "select ",
            delivery_columns!(),
            " from webhook_deliveries
              where subscription_id = ? and (? is null or state = ?)
              order by position desc, id desc limit ?"
        ))
        .bind(subscription.to_string())
        .bind(state.map(DeliveryState::as_str))
        .bind(state.map(DeliveryState::as_str))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?
        .iter()
        .map(delivery_from)
        .collect()
    }

    async fn delivery(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(Delivery, Vec<Attempt>)>, StoreError> {
        let Some(row) = sqlx::query(concat!(
            "select ",
            delivery_columns!(),
            " from webhook_deliveries where id = ?"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(translate)?
        else {
            return Ok(None);
        };
        let attempts = sqlx::query(
            "select delivery_id, number, at, status, error, took_ms from webhook_attempts
              where delivery_id = ? order by number",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(translate)?
        .iter()
        .map(attempt_from)
        .collect::<Result<_, _>>()?;
        Ok(Some((delivery_from(&row)?, attempts)))
    }
}
