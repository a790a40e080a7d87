//! The cached catalog on a real server: it answers repeated reads from
//! memory, and serves a price changed by another connection (another
//! process) once the change's notification arrives — also after its
//! listener's connection was killed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use order_core::ports::{Catalog, CatalogAdmin, Product, ProductKey};
use order_core::{Currency, Money, PortError, ProductId, ProductKind, ProductName, Sku, TaxClass};
use order_store_postgres::testing::fresh_pool;
use order_store_postgres::{CachedCatalog, PgCatalog};
use sqlx::PgPool;
use uuid::Uuid;

/// Counts the reads that reach the database.
struct Counting {
    inner: PgCatalog,
    reads: AtomicUsize,
}

#[async_trait]
impl Catalog for Counting {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.products(keys).await
    }
}

#[async_trait]
impl CatalogAdmin for Counting {
    async fn upsert(&self, product: &Product) -> Result<(), PortError> {
        CatalogAdmin::upsert(&self.inner, product).await
    }

    async fn list(&self, after_sku: Option<&Sku>, limit: usize) -> Result<Vec<Product>, PortError> {
        CatalogAdmin::list(&self.inner, after_sku, limit).await
    }
}

fn mug(price: &str) -> Product {
    Product {
        product_id: ProductId::new(Uuid::from_u128(0x0193_e6d2_0000_7000_8000_0000_0000_0042))
            .unwrap(),
        variant_id: None,
        sku: Sku::parse("MUG").unwrap(),
        name: ProductName::parse("Mug").unwrap(),
        unit_price: Money::parse(price, Currency::USD).unwrap(),
        tax_class: TaxClass::parse("standard").unwrap(),
        kind: ProductKind::Physical,
        active: true,
    }
}

fn key() -> ProductKey {
    ProductKey {
        product_id: mug("1.00").product_id,
        variant_id: None,
    }
}

async fn cached(pool: &PgPool) -> (CachedCatalog, Arc<Counting>) {
    let counting = Arc::new(Counting {
        inner: PgCatalog::new(pool.clone()),
        reads: AtomicUsize::new(0),
    });
    let cache = CachedCatalog::new(counting.clone(), pool.clone());
    wait_for("the listener to subscribe", || async { cache.is_live() }).await;
    (cache, counting)
}

async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn price_of(cache: &CachedCatalog) -> String {
    let products = cache.products(&[key()]).await.unwrap();
    products[0].unit_price.amount().to_string()
}

/// Another process changing the price: a connection of its own.
async fn reprice(pool: &PgPool, price: &str) {
    let other = PgCatalog::new(pool.clone());
    other.upsert(&mug(price)).await.unwrap();
}

#[tokio::test]
async fn repeated_reads_are_answered_from_memory() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    reprice(&pool, "4.00").await;
    let (cache, counting) = cached(&pool).await;
    for _ in 0..5 {
        assert_eq!(price_of(&cache).await, "4.00");
    }
    assert_eq!(counting.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_price_changed_elsewhere_is_served_once_its_notification_arrives() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    reprice(&pool, "4.00").await;
    let (cache, counting) = cached(&pool).await;
    assert_eq!(price_of(&cache).await, "4.00");
    reprice(&pool, "5.50").await;
    wait_for("the new price", || async {
        price_of(&cache).await == "5.50"
    })
    .await;
    let reads = counting.reads.load(Ordering::SeqCst);
    assert_eq!(price_of(&cache).await, "5.50");
    assert_eq!(
        counting.reads.load(Ordering::SeqCst),
        reads,
        "held again once read"
    );
}

#[tokio::test]
async fn a_price_changed_through_the_cache_is_served_at_once() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    reprice(&pool, "4.00").await;
    let (cache, _) = cached(&pool).await;
    assert_eq!(price_of(&cache).await, "4.00");
    CatalogAdmin::upsert(&cache, &mug("4.50")).await.unwrap();
    assert_eq!(price_of(&cache).await, "4.50");
}

#[tokio::test]
async fn a_killed_listener_connection_forgets_what_it_held_and_listens_again() {
    let Some(pool) = fresh_pool().await else {
        return;
    };
    reprice(&pool, "4.00").await;
    let (cache, _) = cached(&pool).await;
    assert_eq!(price_of(&cache).await, "4.00");
    let killed: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(killed, vec![true], "one listener");
    // Changed while the listener was away: it must not be served stale.
    reprice(&pool, "6.25").await;
    wait_for("the new price", || async {
        price_of(&cache).await == "6.25"
    })
    .await;
    wait_for("the listener to subscribe again", || async {
        cache.is_live()
    })
    .await;
    reprice(&pool, "7.00").await;
    wait_for("the next price", || async {
        price_of(&cache).await == "7.00"
    })
    .await;
}
