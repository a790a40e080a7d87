//! The `WebhookStore` port on PostgreSQL: subscriptions, the fan-out
//! position, deliveries (each message as it is sent) and their attempts.
//! Enqueueing is one transaction that moves the position only from the one
//! the caller read, with every delivery in one `unnest` insert.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::ports::WebhookStore;
use order_core::webhook::{Attempt, Delivery, DeliveryState, Subscription};
use order_core::{
    DeliveryId, EventTypeName, StoreError, SubscriptionId, WebhookSecret, WebhookUrl,
};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::translate;
use crate::sql::webhooks as sql;

/// Webhook subscriptions and deliveries in the order database.
#[derive(Debug, Clone)]
pub struct PgWebhookStore {
    pool: PgPool,
}

impl PgWebhookStore {
    /// On `pool` (migrated by [`connect`](crate::connect)).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn corrupt(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Backend(err.into())
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(translate)
}

fn subscription_from(row: &PgRow) -> Result<Subscription, StoreError> {
    let types: Vec<String> = get(row, "event_types")?;
    Ok(Subscription {
        id: SubscriptionId::new(get(row, "id")?).map_err(corrupt)?,
        url: WebhookUrl::parse(&get::<String>(row, "url")?).map_err(corrupt)?,
        event_types: types
            .iter()
            .map(|t| EventTypeName::parse(t).map_err(corrupt))
            .collect::<Result<_, _>>()?,
        secret: WebhookSecret::parse(&get::<String>(row, "secret")?).map_err(corrupt)?,
        created_at: get(row, "created_at")?,
    })
}

fn status_of(value: Option<i32>) -> Result<Option<u16>, StoreError> {
    value.map(|s| u16::try_from(s).map_err(corrupt)).transpose()
}

fn delivery_from(row: &PgRow) -> Result<Delivery, StoreError> {
    let headers: Vec<(String, String)> =
        serde_json::from_str(&get::<String>(row, "headers")?).map_err(corrupt)?;
    let state: String = get(row, "state")?;
    Ok(Delivery {
        id: DeliveryId::new(get(row, "id")?).map_err(corrupt)?,
        subscription_id: SubscriptionId::new(get(row, "subscription_id")?).map_err(corrupt)?,
        message_id: get(row, "message_id")?,
        event_type: get(row, "event_type")?,
        position: u64::try_from(get::<i64>(row, "position")?).map_err(corrupt)?,
        headers,
        body: get(row, "body")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| corrupt(format!("delivery state {state:?}")))?,
        attempts: u32::try_from(get::<i32>(row, "attempts")?).map_err(corrupt)?,
        next_attempt_at: get(row, "next_attempt_at")?,
        give_up_at: get(row, "give_up_at")?,
        last_status: status_of(get(row, "last_status")?)?,
        last_error: get(row, "last_error")?,
        created_at: get(row, "created_at")?,
    })
}

fn attempt_from(row: &PgRow) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        delivery_id: DeliveryId::new(get(row, "delivery_id")?).map_err(corrupt)?,
        number: u32::try_from(get::<i32>(row, "number")?).map_err(corrupt)?,
        at: get(row, "at")?,
        status: status_of(get(row, "status")?)?,
        error: get(row, "error")?,
        took_ms: u64::try_from(get::<i64>(row, "took_ms")?).map_err(corrupt)?,
    })
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl WebhookStore for PgWebhookStore {
    async fn add_subscription(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let types: Vec<&str> = subscription
            .event_types
            .iter()
            .map(|t| t.as_str())
            .collect();
        sqlx::query(sql::ADD_SUBSCRIPTION)
            .bind(subscription.id.as_uuid())
            .bind(subscription.url.as_str())
            .bind(&types)
            .bind(subscription.secret.as_str())
            .bind(subscription.created_at)
            .execute(&self.pool)
            .await
            .map_err(translate)?;
        Ok(())
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        sqlx::query(sql::SUBSCRIPTIONS)
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?
            .iter()
            .map(subscription_from)
            .collect()
    }

    async fn remove_subscription(&self, id: SubscriptionId) -> Result<bool, StoreError> {
        let removed = sqlx::query(sql::REMOVE_SUBSCRIPTION)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(translate)?;
        Ok(removed.rows_affected() > 0)
    }

    async fn fan_out_position(&self) -> Result<u64, StoreError> {
        let position: i64 = sqlx::query_scalar(sql::FAN_OUT_POSITION)
            .fetch_one(&self.pool)
            .await
            .map_err(translate)?;
        u64::try_from(position).map_err(corrupt)
    }

    async fn enqueue(
        &self,
        deliveries: &[Delivery],
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(translate)?;
        let moved = sqlx::query(sql::MOVE_FAN_OUT)
            .bind(i64_of(from))
            .bind(i64_of(to))
            .execute(&mut *tx)
            .await
            .map_err(translate)?;
        if moved.rows_affected() == 0 {
            return Ok(false);
        }
        if !deliveries.is_empty() {
            let column = |f: fn(&Delivery) -> String| deliveries.iter().map(f).collect::<Vec<_>>();
            let headers = deliveries
                .iter()
                .map(|d| serde_json::to_string(&d.headers).map_err(corrupt))
                .collect::<Result<Vec<_>, _>>()?;
            sqlx::query(sql::ENQUEUE)
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.id.as_uuid())
                        .collect::<Vec<Uuid>>(),
                )
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.subscription_id.as_uuid())
                        .collect::<Vec<Uuid>>(),
                )
                .bind(column(|d| d.message_id.clone()))
                .bind(column(|d| d.event_type.clone()))
                .bind(
                    deliveries
                        .iter()
                        .map(|d| i64_of(d.position))
                        .collect::<Vec<_>>(),
                )
                .bind(headers)
                .bind(column(|d| d.body.clone()))
                .bind(column(|d| d.state.as_str().to_owned()))
                .bind(
                    deliveries
                        .iter()
                        .map(|d| i32::try_from(d.attempts).unwrap_or(i32::MAX))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.next_attempt_at)
                        .collect::<Vec<_>>(),
                )
                .bind(deliveries.iter().map(|d| d.give_up_at).collect::<Vec<_>>())
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.last_status.map(i32::from))
                        .collect::<Vec<_>>(),
                )
                .bind(
                    deliveries
                        .iter()
                        .map(|d| d.last_error.clone())
                        .collect::<Vec<_>>(),
                )
                .bind(deliveries.iter().map(|d| d.created_at).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await
                .map_err(translate)?;
        }
        tx.commit().await.map_err(translate)?;
        Ok(true)
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        sqlx::query(sql::DUE)
            .bind(now)
            .bind(limit_of(limit))
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
        let mut tx = self.pool.begin().await.map_err(translate)?;
        sqlx::query(sql::RECORD_ATTEMPT)
            .bind(attempt.delivery_id.as_uuid())
            .bind(i32::try_from(attempt.number).unwrap_or(i32::MAX))
            .bind(attempt.at)
            .bind(attempt.status.map(i32::from))
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
        sqlx::query(sql::OF_SUBSCRIPTION)
            .bind(subscription.as_uuid())
            .bind(state.map(DeliveryState::as_str))
            .bind(limit_of(limit))
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
        let Some(row) = sqlx::query(sql::BY_ID)
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(translate)?
        else {
            return Ok(None);
        };
        let attempts = sqlx::query(sql::ATTEMPTS)
            .bind(id.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?
            .iter()
            .map(attempt_from)
            .collect::<Result<_, _>>()?;
        Ok(Some((delivery_from(&row)?, attempts)))
    }
}

async fn update(
    executor: impl sqlx::PgExecutor<'_>,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    sqlx::query(sql::UPDATE_DELIVERY)
        .bind(delivery.id.as_uuid())
        .bind(delivery.state.as_str())
        .bind(i32::try_from(delivery.attempts).unwrap_or(i32::MAX))
        .bind(delivery.next_attempt_at)
        .bind(delivery.give_up_at)
        .bind(delivery.last_status.map(i32::from))
        .bind(delivery.last_error.as_deref())
        .execute(executor)
        .await
        .map_err(translate)?;
    Ok(())
}
