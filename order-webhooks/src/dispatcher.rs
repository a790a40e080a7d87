//! The webhook loop. While this process holds the lease (the outbox
//! relay's: the leader does both), each pass fans the new feed events out
//! into deliveries, sends the deliveries that are due — a few subscriptions
//! at a time, each subscription's in feed order — and records every attempt with the delivery as the core's retry rules
//! leave it. Store failures back off; a receiver's failure is only that
//! delivery's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use order_core::ports::{OrderStore, RelayLease, WebhookStore};
use order_core::webhook::{Delivery, RetryPolicy, Subscription};
use order_core::{StoreError, SubscriptionId};
use order_events::Wire;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::fan_out::fan_out;
use crate::sender::Sender;

/// How the dispatcher paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatcherSettings {
    /// The wait between passes when nothing was due.
    pub poll: Duration,
    /// Feed events per fan-out, and deliveries per pass.
    pub batch: usize,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// One attempt's time limit.
    pub timeout: Duration,
    /// When to retry and when to give up.
    pub retry: RetryPolicy,
}

impl Default for DispatcherSettings {
    /// A pass every 250 ms, 200 events or deliveries a pass, 8 at once, 10 s
    /// an attempt, the core's default retries (5 s doubling to an hour, for
    /// a day).
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(250),
            batch: 200,
            concurrency: 8,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

/// Delivers webhooks.
pub struct Dispatcher {
    orders: Arc<dyn OrderStore>,
    webhooks: Arc<dyn WebhookStore>,
    lease: Arc<dyn RelayLease>,
    wire: Wire,
    sender: Sender,
    settings: DispatcherSettings,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher from `orders`' feed through `webhooks`, sending messages
    /// whose CloudEvents source is `source`, while `lease` is held.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        orders: Arc<dyn OrderStore>,
        webhooks: Arc<dyn WebhookStore>,
        lease: Arc<dyn RelayLease>,
        source: impl Into<String>,
        settings: DispatcherSettings,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            wire: Wire::new(Arc::clone(&orders), source),
            orders,
            webhooks,
            lease,
            sender: Sender::new(settings.timeout)?,
            settings,
        })
    }

    /// Dispatches until `stop` turns true (or its sender goes).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.pass().await {
                Ok(work) if work > 0 => {
                    failures = 0;
                    continue;
                }
                Ok(_) => {
                    failures = 0;
                    self.settings.poll
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let wait = self
                        .settings
                        .poll
                        .saturating_mul(1 << failures.min(7))
                        .min(Duration::from_secs(30));
                    tracing::warn!(%error, failures, "webhooks: pass failed; retrying");
                    wait
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One pass, if this process leads: fans out new events and sends what
    /// is due. Returns how much it did (events read plus attempts made).
    ///
    /// # Errors
    /// [`StoreError`] when a store or the lease fails.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        let leading = self
            .lease
            .hold()
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e)))?;
        if !leading {
            return Ok(0);
        }
        let now = Utc::now();
        let fanned = fan_out(
            self.orders.as_ref(),
            self.webhooks.as_ref(),
            &self.wire,
            &self.settings.retry,
            now,
            self.settings.batch,
        )
        .await?;
        let due = self.webhooks.due(now, self.settings.batch).await?;
        if due.is_empty() {
            return Ok(fanned);
        }
        let subscriptions: HashMap<SubscriptionId, _> = self
            .webhooks
            .subscriptions()
            .await?
            .into_iter()
            .map(|s| (s.id, Arc::new(s)))
            .collect();
        // One task per subscription, sending its deliveries in feed order,
        // so a healthy receiver gets an order's messages in sequence.
        let mut queues: Vec<(Arc<Subscription>, Vec<Delivery>)> = Vec::new();
        for delivery in due {
            let Some(subscription) = subscriptions.get(&delivery.subscription_id) else {
                continue;
            };
            match queues.iter_mut().find(|(s, _)| s.id == subscription.id) {
                Some((_, queue)) => queue.push(delivery),
                None => queues.push((Arc::clone(subscription), vec![delivery])),
            }
        }
        let mut attempted = 0;
        for group in queues.chunks(self.settings.concurrency.max(1)) {
            let mut sends = JoinSet::new();
            for (subscription, queue) in group {
                let (sender, subscription, queue) =
                    (self.sender.clone(), Arc::clone(subscription), queue.clone());
                let webhooks = Arc::clone(&self.webhooks);
                let retry = self.settings.retry;
                sends.spawn(async move {
                    let mut made = 0;
                    for delivery in queue {
                        let (outcome, took) = sender.send(&subscription, &delivery).await;
                        let (after, attempt) =
                            delivery.attempted(outcome, Utc::now(), took, &retry);
                        webhooks.record_attempt(&after, &attempt).await?;
                        made += 1;
                    }
                    Ok::<usize, StoreError>(made)
                });
            }
            while let Some(sent) = sends.join_next().await {
                if let Ok(made) = sent {
                    attempted += made?;
                }
            }
        }
        Ok(fanned + attempted)
    }
}
