//! [`InMemoryWebhookStore`]: the `WebhookStore` port in a mutex, for tests
//! that need webhooks without a database. It passes the same conformance
//! suite as the SQLite and PostgreSQL adapters.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_core::ports::WebhookStore;
use order_core::webhook::{Attempt, Delivery, DeliveryState, Subscription};
use order_core::{DeliveryId, StoreError, SubscriptionId};

use crate::fakes::lock;

#[derive(Debug, Default)]
struct State {
    subscriptions: Vec<Subscription>,
    position: u64,
    deliveries: Vec<Delivery>,
    attempts: Vec<Attempt>,
}

/// Webhook subscriptions and deliveries in memory.
#[derive(Debug, Default)]
pub struct InMemoryWebhookStore {
    state: Mutex<State>,
}

#[async_trait]
impl WebhookStore for InMemoryWebhookStore {
    async fn add_subscription(&self, subscription: &Subscription) -> Result<(), StoreError> {
        lock(&self.state).subscriptions.push(subscription.clone());
        Ok(())
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let mut all = lock(&self.state).subscriptions.clone();
        all.sort_by_key(|s| (s.created_at, s.id));
        Ok(all)
    }

    async fn remove_subscription(&self, id: SubscriptionId) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        let before = state.subscriptions.len();
        state.subscriptions.retain(|s| s.id != id);
        let gone: Vec<DeliveryId> = state
            .deliveries
            .iter()
            .filter(|d| d.subscription_id == id)
            .map(|d| d.id)
            .collect();
        state.deliveries.retain(|d| d.subscription_id != id);
        state.attempts.retain(|a| !gone.contains(&a.delivery_id));
        Ok(state.subscriptions.len() < before)
    }

    async fn fan_out_position(&self) -> Result<u64, StoreError> {
        Ok(lock(&self.state).position)
    }

    async fn enqueue(
        &self,
        deliveries: &[Delivery],
        from: u64,
        to: u64,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        if state.position != from {
            return Ok(false);
        }
        state.position = to;
        for delivery in deliveries {
            let known = state.deliveries.iter().any(|d| {
                d.subscription_id == delivery.subscription_id && d.message_id == delivery.message_id
            });
            if !known {
                state.deliveries.push(delivery.clone());
            }
        }
        Ok(true)
    }

    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let mut due: Vec<Delivery> = lock(&self.state)
            .deliveries
            .iter()
            .filter(|d| d.state == DeliveryState::Pending && d.next_attempt_at <= now)
            .cloned()
            .collect();
        due.sort_by_key(|d| (d.position, d.id));
        due.truncate(limit);
        Ok(due)
    }

    async fn record_attempt(
        &self,
        delivery: &Delivery,
        attempt: &Attempt,
    ) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        state.attempts.push(attempt.clone());
        if let Some(stored) = state.deliveries.iter_mut().find(|d| d.id == delivery.id) {
            *stored = delivery.clone();
        }
        Ok(())
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<(), StoreError> {
        if let Some(stored) = lock(&self.state)
            .deliveries
            .iter_mut()
            .find(|d| d.id == delivery.id)
        {
            *stored = delivery.clone();
        }
        Ok(())
    }

    async fn deliveries(
        &self,
        subscription: SubscriptionId,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut list: Vec<Delivery> = lock(&self.state)
            .deliveries
            .iter()
            .filter(|d| d.subscription_id == subscription && state.is_none_or(|s| d.state == s))
            .cloned()
            .collect();
        list.sort_by_key(|d| std::cmp::Reverse((d.position, d.id)));
        list.truncate(limit);
        Ok(list)
    }

    async fn delivery(
        &self,
        id: DeliveryId,
    ) -> Result<Option<(Delivery, Vec<Attempt>)>, StoreError> {
        let state = lock(&self.state);
        let Some(delivery) = state.deliveries.iter().find(|d| d.id == id) else {
            return Ok(None);
        };
        let mut attempts: Vec<Attempt> = state
            .attempts
            .iter()
            .filter(|a| a.delivery_id == id)
            .cloned()
            .collect();
        attempts.sort_by_key(|a| a.number);
        Ok(Some((delivery.clone(), attempts)))
    }
}
