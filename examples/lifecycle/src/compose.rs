//! The composition root: the one place the example chooses adapters, as an
//! embedding service's startup would.
//!
//! - the store, the catalog, the stock and the order numbers are
//!   `order-store-sqlite` on a throwaway in-memory database, and the store
//!   keeps the stock (`StockKeeping::Store`), so an order's change and its
//!   stock effects are one transaction;
//! - tax, shipping and coupons are order-core's policy tables, built in
//!   code;
//! - customers are trusted as authenticated, ids are UUID v7s;
//! - the clock, the payment gateway and the timer are this example's own
//!   ([`MovableClock`], [`ApproveAllGateway`], [`TokioTimer`]).
//!
//! It then opens the shop: three products in the catalog, each with units
//! on hand.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use order_core::policy::{Coupon, CouponTable, ShippingRate, ShippingTable, TaxTable};
use order_core::ports::{CatalogAdmin, IdGenerator, Product, StockLevels};
use order_core::pricing::Percent;
use order_core::system::{AuthenticatedCustomers, UuidV7Ids};
use order_core::{
    CountryCode, CouponCode, Currency, Money, OrderService, Ports, ProductId, ProductKind,
    ProductName, ServiceConfig, ShippingMethod, Sku, StockKeeping, TaxClass,
};
use order_store_sqlite::{
    SqliteCatalog, SqliteInventory, SqliteOrderNumbers, SqliteOrderStore, connect,
};
use rust_decimal::Decimal;

use crate::Result;
use crate::clock::MovableClock;
use crate::gateway::ApproveAllGateway;
use crate::timer::TokioTimer;

/// What the shop sells when it opens: SKU, name, price in USD, tax class,
/// units on hand.
const OPENING: [(&str, &str, &str, &str, u32); 3] = [
    ("TSHIRT", "Logo T-shirt", "19.99", "standard", 50),
    ("MUG", "Enamel mug", "12.50", "standard", 25),
    ("BOOK", "Field guide (paperback)", "24.00", "reduced", 10),
];

/// A product on sale and the units it opened with.
#[derive(Debug)]
pub(crate) struct Offer {
    /// The product as the catalog has it.
    pub(crate) product: Product,
    /// Units on hand when the shop opened.
    pub(crate) opening_stock: u32,
}

/// The engine and the handles the walk-through uses besides it.
#[allow(missing_debug_implementations)] // OrderService is not Debug
pub(crate) struct Shop {
    /// The use cases, over the adapters chosen here.
    pub(crate) service: OrderService,
    /// The clock the walk-through moves.
    pub(crate) clock: Arc<MovableClock>,
    /// The stock levels (the store keeps them).
    pub(crate) stock: Arc<dyn StockLevels>,
    /// What is on sale.
    pub(crate) offers: Vec<Offer>,
}

impl Shop {
    /// The product with `sku`.
    pub(crate) fn product(&self, sku: &str) -> Result<&Product> {
        self.offers
            .iter()
            .map(|o| &o.product)
            .find(|p| p.sku.as_str() == sku)
            .ok_or_else(|| format!("the shop sells no {sku}").into())
    }
}

/// Opens the database, wires every port into an [`OrderService`] whose
/// clock shows `start`, and stocks the shop.
pub(crate) async fn open_shop(start: DateTime<Utc>) -> Result<Shop> {
    let pool = connect("sqlite::memory:", 4).await?;
    let store = Arc::new(SqliteOrderStore::new(pool.clone()));
    let catalog = Arc::new(SqliteCatalog::new(pool.clone()));
    let clock = Arc::new(MovableClock::starting_at(start));
    let ids = Arc::new(UuidV7Ids);

    let ports = Ports {
        store: store.clone(),
        catalog: catalog.clone(),
        // `Ports` requires an inventory; with the store keeping the stock
        // the engine never calls it.
        inventory: Arc::new(SqliteInventory::new(pool.clone())),
        payments: Arc::new(ApproveAllGateway::default()),
        customers: Arc::new(AuthenticatedCustomers),
        tax: Arc::new(tax_table()?),
        shipping: Arc::new(shipping_table()?),
        discounts: Arc::new(coupon_table()?),
        numbers: Arc::new(SqliteOrderNumbers::new(pool, 20)),
        timer: Arc::new(TokioTimer),
        clock: clock.clone(),
        ids: ids.clone(),
    };
    let config = ServiceConfig {
        stock: StockKeeping::Store,
        ..ServiceConfig::default()
    };
    let service = OrderService::new(ports, config);

    let mut offers = Vec::with_capacity(OPENING.len());
    for (sku, name, price, tax_class, units) in OPENING {
        let product = Product {
            product_id: ProductId::new(ids.new_v7())?,
            variant_id: None,
            sku: Sku::parse(sku)?,
            name: ProductName::parse(name)?,
            unit_price: Money::parse(price, Currency::USD)?,
            tax_class: TaxClass::parse(tax_class)?,
            kind: ProductKind::Physical,
            active: true,
        };
        catalog.upsert(&product).await?;
        store.set_on_hand(&product.sku, units).await?;
        offers.push(Offer {
            product,
            opening_stock: units,
        });
    }

    Ok(Shop {
        service,
        clock,
        stock: store,
        offers,
    })
}

fn percent(n: u32) -> Result<Percent> {
    Ok(Percent::new(Decimal::from(n))?)
}

/// 10 % on standard goods and 5 % on reduced ones wherever the shop ships,
/// except Germany (19 % and 7 %).
fn tax_table() -> Result<TaxTable> {
    let (standard, reduced) = (TaxClass::parse("standard")?, TaxClass::parse("reduced")?);
    let germany = CountryCode::parse("DE")?;
    Ok(TaxTable::default()
        .with_default(standard.clone(), percent(10)?)
        .with_default(reduced.clone(), percent(5)?)
        .with_rate(germany, standard, percent(19)?)
        .with_rate(germany, reduced, percent(7)?))
}

/// `standard` at 5.99 USD, free from 100.00 USD; `express` at 14.99 USD.
fn shipping_table() -> Result<ShippingTable> {
    let usd = |amount| Money::parse(amount, Currency::USD);
    let standard = ShippingRate::default()
        .with_price(usd("5.99")?)?
        .with_free_over(usd("100.00")?)?;
    let express = ShippingRate::default().with_price(usd("14.99")?)?;
    Ok(ShippingTable::default()
        .with_method(ShippingMethod::parse("standard")?, standard)
        .with_method(ShippingMethod::parse("express")?, express))
}

/// `SAVE10`: 10 % off the whole order.
fn coupon_table() -> Result<CouponTable> {
    Ok(CouponTable::default().with_coupon(
        &CouponCode::parse("SAVE10")?,
        Coupon::percentage(percent(10)?),
    ))
}
