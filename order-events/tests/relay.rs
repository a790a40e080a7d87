//! The continuous relay: it publishes what commits while it runs, keeps a
//! batch the publisher failed on and publishes it once the publisher is
//! back, and only the lease holder publishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use order_core::ports::RelayLease;
use order_core::{Actor, PortError};
use order_events::relay::{Relay, RelaySettings, SoleRelay};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use order_testkit::fakes::RecordingPublisher;
use order_testkit::fault::Fault;
use tokio::sync::watch;

fn settings() -> RelaySettings {
    RelaySettings {
        batch: 3,
        idle_poll: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
    }
}

async fn place(h: &Harness, count: usize) {
    let service = h.service();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 1_000);
    for n in 0..count {
        service
            .place(
                PlaceOrderBuilder::new(customer(n as u64 + 1))
                    .line(&shirt, 1)
                    .build(),
                None,
                &Actor::system(),
            )
            .await
            .unwrap();
    }
}

/// Waits until `publisher` holds `count` events, or fails after 5 s.
async fn published(publisher: &RecordingPublisher, count: usize) -> Vec<u64> {
    for _ in 0..500 {
        let positions: Vec<u64> = publisher.published().iter().map(|e| e.position).collect();
        if positions.len() >= count {
            return positions;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} of {count} events published",
        publisher.published().len()
    );
}

#[tokio::test]
async fn what_commits_while_the_relay_runs_is_published_in_order() {
    let h = Harness::default();
    let publisher = Arc::new(RecordingPublisher::default());
    let relay = Relay::new(
        Arc::clone(&h.store),
        publisher.clone(),
        Arc::new(SoleRelay),
        settings(),
    );
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(relay.run(stopped));
    place(&h, 7).await;
    let positions = published(&publisher, 7).await;
    assert_eq!(positions, (1..=7).collect::<Vec<_>>());
    stop.send(true).unwrap();
    running.await.unwrap();
    assert!(h.store.unpublished(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_batch_the_publisher_failed_on_is_published_once_it_is_back() {
    let h = Harness::default();
    place(&h, 5).await;
    let publisher = Arc::new(RecordingPublisher::default());
    publisher.faults().next("publish", Fault::Fail, 3);
    let relay = Relay::new(
        Arc::clone(&h.store),
        publisher.clone(),
        Arc::new(SoleRelay),
        settings(),
    );
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(relay.run(stopped));
    let positions = published(&publisher, 5).await;
    assert_eq!(
        positions,
        vec![1, 2, 3, 4, 5],
        "nothing lost, nothing out of order"
    );
    stop.send(true).unwrap();
    running.await.unwrap();
}

/// A lease another process holds until `free` is set.
#[derive(Default)]
struct Elsewhere {
    free: AtomicBool,
}

#[async_trait]
impl RelayLease for Elsewhere {
    async fn hold(&self) -> Result<bool, PortError> {
        Ok(self.free.load(Ordering::SeqCst))
    }
}

#[tokio::test(start_paused = true)]
async fn a_relay_without_the_lease_publishes_nothing_until_it_gets_it() {
    let h = Harness::default();
    place(&h, 2).await;
    let publisher = Arc::new(RecordingPublisher::default());
    let lease = Arc::new(Elsewhere::default());
    let relay = Relay::new(
        Arc::clone(&h.store),
        publisher.clone(),
        lease.clone(),
        settings(),
    );
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(relay.run(stopped));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(publisher.published().is_empty());
    lease.free.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(publisher.published().len(), 2);
    stop.send(true).unwrap();
    running.await.unwrap();
}
