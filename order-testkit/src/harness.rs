//! [`Harness`]: every fake wired into an `OrderService`, with a small demo
//! catalog, tax table, shipping table and coupons, and handles to inspect
//! or sabotage each port.

use std::sync::Arc;

use order_core::policy::{Coupon, CouponTable, ShippingRate, ShippingTable, TaxTable};
use order_core::ports::{OrderStore, Product};
use order_core::pricing::Percent;
use order_core::{
    CountryCode, CouponCode, Currency, Money, OrderService, Ports, ProductId, ProductKind,
    ProductName, ServiceConfig, ShippingMethod, Sku, TaxClass,
};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::fakes::{
    FakeCatalog, FakeCustomers, FakeInventory, FakeOrderNumbers, FakePaymentGateway, Faulty,
    InstantTimer, ManualClock, SequentialIds,
};
use crate::memory::InMemoryOrderStore;

/// The fakes behind one `OrderService`.
#[allow(missing_debug_implementations)]
pub struct Harness {
    /// The store the service uses (in-memory unless replaced).
    pub store: Arc<dyn OrderStore>,
    /// Products and prices.
    pub catalog: Arc<FakeCatalog>,
    /// Stock.
    pub inventory: Arc<FakeInventory>,
    /// Money.
    pub gateway: Arc<FakePaymentGateway>,
    /// Customers.
    pub customers: Arc<FakeCustomers>,
    /// Tax.
    pub tax: Arc<Faulty<TaxTable>>,
    /// Shipping.
    pub shipping: Arc<Faulty<ShippingTable>>,
    /// Coupons.
    pub discounts: Arc<Faulty<CouponTable>>,
    /// Order numbers.
    pub numbers: Arc<FakeOrderNumbers>,
    /// Time.
    pub clock: Arc<ManualClock>,
    /// Ids.
    pub ids: Arc<SequentialIds>,
}

fn text<T>(parse: impl Fn(&str) -> Result<T, order_core::ValidationError>, raw: &str) -> T {
    match parse(raw) {
        Ok(value) => value,
        Err(err) => panic!("testkit fixture {raw:?} is invalid: {err}"),
    }
}

fn percent(n: i64) -> Percent {
    text(|_| Percent::new(Decimal::from(n)), "percent")
}

fn usd(minor: i128) -> Money {
    Money::from_minor(minor, Currency::USD).unwrap_or_else(|_| Money::zero(Currency::USD))
}

/// The demo tax table: 10 % standard, 5 % reduced, 0 % zero; Germany 19 %
/// and 7 %.
pub fn demo_tax() -> TaxTable {
    let de = text(CountryCode::parse, "DE");
    TaxTable::default()
        .with_default(text(TaxClass::parse, "standard"), percent(10))
        .with_default(text(TaxClass::parse, "reduced"), percent(5))
        .with_default(text(TaxClass::parse, "zero"), percent(0))
        .with_rate(de, text(TaxClass::parse, "standard"), percent(19))
        .with_rate(de, text(TaxClass::parse, "reduced"), percent(7))
}

/// The demo shipping table: `standard` 5.99 USD, free from 100.00 USD;
/// `express` 14.99 USD.
pub fn demo_shipping() -> ShippingTable {
    let rate = |price, free_over: Option<i128>| {
        let rate = ShippingRate::default().with_price(usd(price));
        let rate = match free_over {
            Some(threshold) => rate.and_then(|r| r.with_free_over(usd(threshold))),
            None => rate,
        };
        rate.unwrap_or_else(|err| panic!("testkit shipping fixture is invalid: {err}"))
    };
    ShippingTable::default()
        .with_method(
            text(ShippingMethod::parse, "standard"),
            rate(599, Some(10_000)),
        )
        .with_method(text(ShippingMethod::parse, "express"), rate(1499, None))
}

/// The demo coupons: `SAVE10` (10 % off the order), `FIVEOFF` (5.00 USD off
/// orders from 20.00 USD).
pub fn demo_coupons() -> CouponTable {
    let five_off = Coupon::fixed([usd(500)])
        .and_then(|c| c.with_min_subtotal(usd(2000)))
        .unwrap_or_else(|err| panic!("testkit coupon fixture is invalid: {err}"));
    CouponTable::default()
        .with_coupon(
            &text(CouponCode::parse, "SAVE10"),
            Coupon::percentage(percent(10)),
        )
        .with_coupon(&text(CouponCode::parse, "FIVEOFF"), five_off)
}

/// A product with a deterministic id derived from its SKU.
pub fn product(sku: &str, price: Money, kind: ProductKind, tax_class: &str) -> Product {
    let mut bytes = [0u8; 16];
    for (i, b) in sku.bytes().enumerate() {
        bytes[i % 16] = bytes[i % 16].wrapping_mul(31).wrapping_add(b);
    }
    bytes[0] |= 1;
    Product {
        product_id: text(|_| ProductId::new(Uuid::from_bytes(bytes)), sku),
        variant_id: None,
        sku: text(Sku::parse, sku),
        name: text(ProductName::parse, &format!("Product {sku}")),
        unit_price: price,
        tax_class: text(TaxClass::parse, tax_class),
        kind,
        active: true,
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::with_store(Arc::new(InMemoryOrderStore::default()))
    }
}

impl Harness {
    /// The fakes around `store`, with the demo catalog (`TSHIRT` 19.99,
    /// `MUG` 12.50, `BOOK` 24.00 reduced tax, `EBOOK` 9.99 digital; all USD).
    pub fn with_store(store: Arc<dyn OrderStore>) -> Self {
        let harness = Self {
            store,
            catalog: Arc::default(),
            inventory: Arc::default(),
            gateway: Arc::default(),
            customers: Arc::default(),
            tax: Arc::new(Faulty::new(demo_tax())),
            shipping: Arc::new(Faulty::new(demo_shipping())),
            discounts: Arc::new(Faulty::new(demo_coupons())),
            numbers: Arc::default(),
            clock: Arc::default(),
            ids: Arc::default(),
        };
        for (sku, minor, kind, class) in [
            ("TSHIRT", 1999, ProductKind::Physical, "standard"),
            ("MUG", 1250, ProductKind::Physical, "standard"),
            ("BOOK", 2400, ProductKind::Physical, "reduced"),
            ("EBOOK", 999, ProductKind::Digital, "standard"),
        ] {
            harness
                .catalog
                .upsert(product(sku, usd(minor), kind, class));
        }
        harness
    }

    /// The demo product with `sku`.
    ///
    /// # Panics
    /// When the catalog has no such product: a mistake in the test itself.
    pub fn product(&self, sku: &str) -> Product {
        match self
            .catalog
            .all()
            .into_iter()
            .find(|p| p.sku.as_str() == sku)
        {
            Some(p) => p,
            None => panic!("no product {sku} in the test catalog"),
        }
    }

    /// The ports, for `OrderService::new`.
    pub fn ports(&self) -> Ports {
        Ports {
            store: self.store.clone(),
            catalog: self.catalog.clone(),
            inventory: self.inventory.clone(),
            payments: self.gateway.clone(),
            customers: self.customers.clone(),
            tax: self.tax.clone(),
            shipping: self.shipping.clone(),
            discounts: self.discounts.clone(),
            numbers: self.numbers.clone(),
            timer: Arc::new(InstantTimer),
            clock: self.clock.clone(),
            ids: self.ids.clone(),
        }
    }

    /// A service with the default configuration.
    pub fn service(&self) -> OrderService {
        self.service_with(ServiceConfig::default())
    }

    /// A service with `config`.
    pub fn service_with(&self, config: ServiceConfig) -> OrderService {
        OrderService::new(self.ports(), config)
    }
}
