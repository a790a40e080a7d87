//! A real Kafka-protocol broker for tests (feature `testing`; this crate's
//! tests and the binary's use it): Tansu 0.6.0 embedded in the test's
//! runtime, on memory storage and an ephemeral loopback port, which
//! can be stopped and started again with its data (as a broker restarted
//! on its disk); topics made through rdkafka's admin API; a raw producer and
//! a reader on the test's side. Clients get the test profile (one record per
//! batch, earliest offsets), which Tansu 0.6.0's offset bugs need.

#![allow(clippy::missing_panics_doc, missing_debug_implementations)]

use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::KafkaSettings;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tansu_broker::broker::Broker as Tansu;
use tansu_broker::coordinator::group::administrator::Controller;
use tansu_storage::StorageContainer;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use url::Url;

/// How long a test waits for anything to arrive.
pub const PATIENCE: Duration = Duration::from_secs(30);

type Serve = Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// An embedded broker that can be stopped and started again with its data.
pub struct Broker {
    address: SocketAddr,
    serve: Serve,
    running: Option<JoinHandle<()>>,
}

impl Broker {
    /// A broker on a free loopback port, serving.
    pub async fn start() -> Self {
        let address = free_loopback_address();
        let url = Url::parse(&format!("tcp://{address}")).expect("a broker url");
        let tansu = Tansu::<Controller<StorageContainer>, StorageContainer>::builder()
            .node_id(111)
            .cluster_id("order-engine-tests")
            .incarnation_id(uuid::Uuid::from_u128(1))
            .advertised_listener(url.clone())
            .storage(Url::parse("memory://tansu/").expect("a storage url"))
            .listener(url)
            .silent(true)
            .build()
            .await
            .expect("tansu builds on memory storage");
        // Every run serves a clone: clones share the storage, so a
        // restarted broker keeps its topics, records and offsets.
        let serve: Serve = Box::new(move || {
            let mut tansu = tansu.clone();
            Box::pin(async move {
                if let Err(error) = tansu.serve(Instant::now()).await {
                    panic!("tansu stopped: {error:?}");
                }
            })
        });
        let mut broker = Self {
            address,
            serve,
            running: None,
        };
        broker.resume().await;
        broker
    }

    /// `host:port`, the bootstrap list.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// The adapters' settings for this broker, with the test profile.
    pub fn settings(&self) -> KafkaSettings {
        KafkaSettings::new(self.address())
            .test_profile()
            .delivery_timeout(Duration::from_secs(5))
            .retry_backoff(Duration::from_millis(20), Duration::from_millis(200))
    }

    /// Stops serving: the listener and every connection close.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
            // Cancelled, as asked.
            let _ = running.await;
        }
    }

    /// Serves again on the same port, with the same data.
    pub async fn resume(&mut self) {
        assert!(self.running.is_none(), "the broker is already serving");
        self.running = Some(tokio::spawn((self.serve)()));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(self.address).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Creates `topics` with `partitions` partitions each.
    pub async fn create_topics(&self, topics: &[&str], partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.client().create().expect("an admin");
        let topics: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
            .collect();
        let results = admin
            .create_topics(&topics, &AdminOptions::new())
            .await
            .expect("topics are created");
        for result in results {
            result.expect("each topic is created");
        }
    }

    /// Sends one record, as another service would, and waits for it.
    pub async fn produce(&self, topic: &str, key: &str, headers: &[(&str, &str)], body: &str) {
        let producer: FutureProducer = self
            .client()
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .create()
            .expect("a producer");
        let mut owned = OwnedHeaders::new();
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(*value),
            });
        }
        producer
            .send(
                FutureRecord::to(topic)
                    .key(key)
                    .payload(body)
                    .headers(owned),
                PATIENCE,
            )
            .await
            .expect("the record is acknowledged");
    }

    /// Reads `topic` from the start, in a group of its own, until
    /// `enough` holds of what was read (or the patience runs out).
    pub async fn read(
        &self,
        topic: &str,
        enough: impl Fn(&[OwnedMessage]) -> bool,
    ) -> Vec<OwnedMessage> {
        let reader: StreamConsumer = self
            .client()
            .set("group.id", unique("reader"))
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .create()
            .expect("a reader");
        reader.subscribe(&[topic]).expect("a subscription");
        let mut read = Vec::new();
        let deadline = Instant::now() + PATIENCE;
        while !enough(&read) {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, reader.recv()).await {
                Ok(Ok(message)) => read.push(message.detach()),
                Ok(Err(_)) => {}
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || drop(reader))
            .await
            .expect("the reader closes");
        read
    }

    fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", self.address());
        config
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.abort();
        }
    }
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The value of `message`'s header `name`, as text.
pub fn header(message: &OwnedMessage, name: &str) -> Option<String> {
    message
        .headers()?
        .iter()
        .find(|header| header.key == name)
        .and_then(|header| header.value)
        .map(|value| String::from_utf8_lossy(value).into_owned())
}

/// A loopback address whose port was free a moment ago.
fn free_loopback_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}
