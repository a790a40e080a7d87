//! [`CachedCatalog`]: the catalog answered from memory, kept true by the
//! database.
//!
//! Every placement needs its products' prices, and reading them is a
//! statement and a transaction of its own. The cache answers from memory
//! instead, and stays correct while prices change — in this process or in
//! any other writing the same database: every change to `products`
//! notifies the channel `order_catalog` (migration 0006), and a listener
//! empties the cache on each notification.
//!
//! - It answers from memory only while its listener is subscribed. When the
//!   listener's connection drops, the cache is emptied (notifications may
//!   have been missed) and every read goes to the database until the
//!   listener is subscribed again.
//! - A read that raced a change is never kept: a fill carries the
//!   generation it started in, and a notification in between discards it.
//! - A price changed through the cache itself (its [`CatalogAdmin`] side) is
//!   served as soon as the change returns. One changed by another process is
//!   served once its notification arrives, milliseconds after the change
//!   commits: what a placement that read the catalog just before the change
//!   would have used anyway.
//! - Unknown products are remembered too (a placement naming one is
//!   refused without a read); the cache holds at most [`MAX_ENTRIES`]
//!   entries and starts over when full.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use order_core::PortError;
use order_core::Sku;
use order_core::ports::{Catalog, CatalogAdmin, Product, ProductKey};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

/// The channel every change to `products` notifies.
pub const CATALOG_CHANNEL: &str = "order_catalog";

/// Entries (products, and keys known to name none) held at most.
pub const MAX_ENTRIES: usize = 100_000;

/// The wait before subscribing again after the listener failed to.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

/// What the cache holds, and whether it may answer.
#[derive(Debug, Default)]
struct Memory {
    /// True while the listener is subscribed: only then is an entry
    /// known to be current.
    live: bool,
    /// Bumped by every invalidation, so that a fill that started before
    /// one is discarded.
    generation: u64,
    entries: HashMap<ProductKey, Option<Product>>,
}

impl Memory {
    /// The products for `keys` when every key is held, in key order, unknown
    /// keys left out; `None` when the database must be asked.
    fn lookup(&self, keys: &[ProductKey]) -> Option<Vec<Product>> {
        if !self.live {
            return None;
        }
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(product) = self.entries.get(key)? {
                found.push(product.clone());
            }
        }
        Some(found)
    }

    /// Keeps what the database answered for `keys`, unless the cache was
    /// invalidated since the read started in `generation`.
    fn fill(&mut self, generation: u64, keys: &[ProductKey], products: &[Product]) {
        if !self.live || generation != self.generation {
            return;
        }
        if self.entries.len() + keys.len() > MAX_ENTRIES {
            self.entries.clear();
        }
        for key in keys {
            let product = products
                .iter()
                .find(|p| p.product_id == key.product_id && p.variant_id == key.variant_id);
            self.entries.insert(*key, product.cloned());
        }
    }

    /// Forgets everything held; `live` says whether it may answer again.
    fn invalidate(&mut self, live: bool) {
        self.generation += 1;
        self.entries.clear();
        self.live = live;
    }
}

/// A [`Catalog`] answered from memory while the database's notifications
/// keep it current (see the module docs).
#[allow(missing_debug_implementations)]
pub struct CachedCatalog {
    inner: Arc<dyn Catalog>,
    admin: Arc<dyn CatalogAdmin>,
    memory: Arc<Mutex<Memory>>,
    listener: JoinHandle<()>,
}

impl CachedCatalog {
    /// Caches `inner`, listening for changes through a connection of
    /// `pool`. It reads through to `inner` until the listener has
    /// subscribed, and changes the catalog through `inner` too.
    pub fn new<C>(inner: Arc<C>, pool: PgPool) -> Self
    where
        C: Catalog + CatalogAdmin + 'static,
    {
        let memory = Arc::new(Mutex::new(Memory::default()));
        let listener = tokio::spawn(listen(pool, memory.clone()));
        Self {
            inner: inner.clone(),
            admin: inner,
            memory,
            listener,
        }
    }

    /// True while the cache may answer (its listener is subscribed).
    pub fn is_live(&self) -> bool {
        lock(&self.memory).live
    }
}

impl Drop for CachedCatalog {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn lock(memory: &Mutex<Memory>) -> MutexGuard<'_, Memory> {
    // A panic while holding the lock leaves nothing half-written that
    // matters: at worst a partial fill of current entries.
    memory.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Subscribes to [`CATALOG_CHANNEL`] and empties `memory` on every
/// notification, every lost connection and every failure to subscribe.
async fn listen(pool: PgPool, memory: Arc<Mutex<Memory>>) {
    loop {
        let mut listener = match subscribe(&pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "catalog cache: cannot listen for changes; reading through");
                lock(&memory).invalidate(false);
                tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                continue;
            }
        };
        lock(&memory).invalidate(true);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => lock(&memory).invalidate(true),
                // The connection dropped and was re-established (and
                // re-subscribed) before this returned: what was missed
                // in between is unknown.
                Ok(None) => lock(&memory).invalidate(true),
                Err(err) => {
                    tracing::warn!(error = %err, "catalog cache: lost its listener; reading through");
                    lock(&memory).invalidate(false);
                    break;
                }
            }
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CATALOG_CHANNEL).await?;
    Ok(listener)
}

#[async_trait]
impl Catalog for CachedCatalog {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        let generation = {
            let memory = lock(&self.memory);
            if let Some(found) = memory.lookup(keys) {
                return Ok(found);
            }
            memory.generation
        };
        let products = self.inner.products(keys).await?;
        lock(&self.memory).fill(generation, keys, &products);
        Ok(products)
    }
}

#[async_trait]
impl CatalogAdmin for CachedCatalog {
    async fn upsert(&self, product: &Product) -> Result<(), PortError> {
        let outcome = self.admin.upsert(product).await;
        // Whatever the outcome (a failure may still have committed), what
        // is held may be stale now; the notification would say so a little
        // later, this says it before the caller goes on.
        let mut memory = lock(&self.memory);
        let live = memory.live;
        memory.invalidate(live);
        outcome
    }

    async fn list(&self, after_sku: Option<&Sku>, limit: usize) -> Result<Vec<Product>, PortError> {
        self.admin.list(after_sku, limit).await
    }
}

#[cfg(test)]
mod tests {
    use order_core::{Currency, Money, ProductId, ProductKind, ProductName, Sku, TaxClass};
    use uuid::Uuid;

    use super::*;

    fn key(n: u128) -> ProductKey {
        ProductKey {
            product_id: ProductId::new(Uuid::from_u128(
                0x0193_e6d2_0000_7000_8000_0000_0000_0000 | n,
            ))
            .expect("a v7 id"),
            variant_id: None,
        }
    }

    fn product(n: u128, price: &str) -> Product {
        Product {
            product_id: key(n).product_id,
            variant_id: None,
            sku: Sku::parse(&format!("SKU-{n}")).expect("a sku"),
            name: ProductName::parse("Mug").expect("a name"),
            unit_price: Money::parse(price, Currency::USD).expect("a price"),
            tax_class: TaxClass::parse("standard").expect("a class"),
            kind: ProductKind::Physical,
            active: true,
        }
    }

    fn live() -> Memory {
        let mut memory = Memory::default();
        memory.invalidate(true);
        memory
    }

    #[test]
    fn a_held_product_and_a_held_unknown_key_are_answered_from_memory() {
        let mut memory = live();
        let generation = memory.generation;
        memory.fill(generation, &[key(1), key(2)], &[product(1, "4.00")]);
        assert_eq!(memory.lookup(&[key(1)]), Some(vec![product(1, "4.00")]));
        assert_eq!(
            memory.lookup(&[key(2), key(1)]),
            Some(vec![product(1, "4.00")])
        );
        assert_eq!(
            memory.lookup(&[key(1), key(3)]),
            None,
            "key 3 was never read"
        );
    }

    #[test]
    fn a_fill_that_started_before_an_invalidation_is_not_kept() {
        let mut memory = live();
        let generation = memory.generation;
        memory.invalidate(true);
        memory.fill(generation, &[key(1)], &[product(1, "4.00")]);
        assert_eq!(memory.lookup(&[key(1)]), None);
    }

    #[test]
    fn nothing_is_answered_or_kept_while_the_listener_is_not_subscribed() {
        let mut memory = Memory::default();
        memory.fill(memory.generation, &[key(1)], &[product(1, "4.00")]);
        assert_eq!(memory.lookup(&[key(1)]), None);
        let mut memory = live();
        memory.fill(memory.generation, &[key(1)], &[product(1, "4.00")]);
        memory.invalidate(false);
        assert_eq!(memory.lookup(&[key(1)]), None);
        memory.fill(memory.generation, &[key(1)], &[product(1, "4.00")]);
        assert_eq!(memory.lookup(&[key(1)]), None);
    }

    #[test]
    fn a_full_cache_starts_over_rather_than_grow() {
        let mut memory = live();
        let keys: Vec<ProductKey> = (0..MAX_ENTRIES as u128).map(key).collect();
        memory.fill(memory.generation, &keys, &[]);
        assert_eq!(memory.entries.len(), MAX_ENTRIES);
        memory.fill(memory.generation, &[key(u128::from(u32::MAX))], &[]);
        assert_eq!(memory.entries.len(), 1);
    }
}
