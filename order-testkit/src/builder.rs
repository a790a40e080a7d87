//! Builders for test data: [`PlaceOrderBuilder`] for placement requests and
//! [`OrderBuilder`] for orders made directly from events (no service), plus
//! [`follow`] to extend an order with more events.

use chrono::{DateTime, TimeZone, Utc};
use order_core::event::Placed;
use order_core::ledger::LineQuantities;
use order_core::ports::{Change, IdGenerator, Product};
use order_core::pricing::{PriceLine, PricingPolicy, price_lines};
use order_core::system::UuidV7Ids;
use order_core::{
    Actor, Address, AddressInput, CustomerId, EventId, EventRecord, LineId, NewLine, Order,
    OrderEvent, OrderId, OrderLine, OrderNumber, PaymentMethod, PlaceOrder, Quantity,
    ShippingMethod,
};
use uuid::Uuid;

use crate::harness::product;

fn must<T, E: std::fmt::Display>(value: Result<T, E>, what: &str) -> T {
    match value {
        Ok(v) => v,
        Err(err) => panic!("test builder: invalid {what}: {err}"),
    }
}

/// A valid US address.
pub fn sample_address() -> Address {
    must(
        Address::parse(AddressInput {
            name: "Jane Doe".into(),
            line1: "742 Evergreen Terrace".into(),
            line2: None,
            city: "Springfield".into(),
            region: Some("OR".into()),
            postal_code: "97475".into(),
            country: "US".into(),
            phone: Some("+1-555-0100".into()),
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            email: Some("jane@example.com".into()),
        }),
        "address",
    )
}

/// A customer id derived from `n`.
pub fn customer(n: u64) -> CustomerId {
    must(
        CustomerId::new(Uuid::from_u128(
            0xC000_0000_0000_4000_8000_0000_0000_0000 | u128::from(n),
        )),
        "customer",
    )
}

/// Builds a [`PlaceOrder`].
#[derive(Debug, Clone)]
pub struct PlaceOrderBuilder {
    request: PlaceOrder,
}

impl PlaceOrderBuilder {
    /// An order for `customer` in USD, shipped `standard` to
    /// [`sample_address`], with no lines yet.
    pub fn new(customer: CustomerId) -> Self {
        Self {
            request: PlaceOrder {
                customer_id: customer,
                currency: order_core::Currency::USD,
                lines: Vec::new(),
                shipping_address: Some(sample_address()),
                billing_address: None,
                shipping_method: Some(must(ShippingMethod::parse("standard"), "method")),
                payment_method: None,
                coupon: None,
                notes: None,
            },
        }
    }

    /// Adds `quantity` of `product`.
    #[must_use]
    pub fn line(mut self, product: &Product, quantity: u32) -> Self {
        self.request.lines.push(NewLine {
            product_id: product.product_id,
            variant_id: product.variant_id,
            quantity: must(Quantity::new(quantity), "quantity"),
            expected_unit_price: None,
        });
        self
    }

    /// Adds a line that expects `product` to cost its current catalog price.
    #[must_use]
    pub fn line_at_seen_price(mut self, product: &Product, quantity: u32) -> Self {
        self = self.line(product, quantity);
        if let Some(last) = self.request.lines.last_mut() {
            last.expected_unit_price = Some(product.unit_price);
        }
        self
    }

    /// Uses `code`.
    #[must_use]
    pub fn coupon(mut self, code: &str) -> Self {
        self.request.coupon = Some(must(order_core::CouponCode::parse(code), "coupon"));
        self
    }

    /// Ships with `method`, or with none.
    #[must_use]
    pub fn method(mut self, method: Option<&str>) -> Self {
        self.request.shipping_method = method.map(|m| must(ShippingMethod::parse(m), "method"));
        self
    }

    /// Ships to `address`, or nowhere.
    #[must_use]
    pub fn ship_to(mut self, address: Option<Address>) -> Self {
        self.request.shipping_address = address;
        self
    }

    /// The request.
    pub fn build(self) -> PlaceOrder {
        self.request
    }
}

/// Builds an [`Order`] straight from a `Placed` event, priced by the real
/// pricing rules, without a service.
#[derive(Debug, Clone)]
pub struct OrderBuilder {
    customer: CustomerId,
    created_at: DateTime<Utc>,
    lines: Vec<(Product, u32)>,
    number: Option<OrderNumber>,
}

impl Default for OrderBuilder {
    fn default() -> Self {
        Self {
            customer: customer(1),
            created_at: Utc
                .with_ymd_and_hms(2026, 1, 15, 9, 0, 0)
                .single()
                .unwrap_or_default(),
            lines: Vec::new(),
            number: None,
        }
    }
}

impl OrderBuilder {
    /// For `customer`.
    #[must_use]
    pub fn customer(mut self, customer: CustomerId) -> Self {
        self.customer = customer;
        self
    }

    /// Placed at `at`.
    #[must_use]
    pub fn created_at(mut self, at: DateTime<Utc>) -> Self {
        self.created_at = at;
        self
    }

    /// With this number (default: derived from the id).
    #[must_use]
    pub fn number(mut self, number: OrderNumber) -> Self {
        self.number = Some(number);
        self
    }

    /// Adds `quantity` of a physical product with `sku` at `price`.
    #[must_use]
    pub fn line(mut self, sku: &str, price: order_core::Money, quantity: u32) -> Self {
        self.lines.push((
            product(sku, price, order_core::ProductKind::Physical, "standard"),
            quantity,
        ));
        self
    }

    /// Adds `quantity` of `product`.
    #[must_use]
    pub fn product_line(mut self, product: Product, quantity: u32) -> Self {
        self.lines.push((product, quantity));
        self
    }

    /// The order and the `Placed` record that made it.
    pub fn build(self) -> (Order, EventRecord) {
        let ids = UuidV7Ids;
        let lines = if self.lines.is_empty() {
            vec![(
                product(
                    "SKU-1",
                    must(
                        order_core::Money::from_minor(1000, order_core::Currency::USD),
                        "price",
                    ),
                    order_core::ProductKind::Physical,
                    "standard",
                ),
                1,
            )]
        } else {
            self.lines
        };
        let currency = lines[0].0.unit_price.currency();
        let input: Vec<PriceLine> = lines
            .iter()
            .map(|(p, q)| PriceLine {
                unit_price: p.unit_price,
                quantity: must(Quantity::new(*q), "quantity"),
                tax_rate: order_core::pricing::Percent::ZERO,
                discountable: false,
            })
            .collect();
        let priced = must(
            price_lines(currency, &input, None, &PricingPolicy::default()),
            "pricing",
        );
        let totals = must(
            priced.with_shipping(order_core::Money::zero(currency)),
            "totals",
        );
        let order_lines: Vec<OrderLine> = lines
            .iter()
            .zip(priced.lines)
            .map(|((p, q), amounts)| OrderLine {
                id: must(LineId::new(ids.new_v7()), "line id"),
                product_id: p.product_id,
                variant_id: None,
                sku: p.sku.clone(),
                name: p.name.clone(),
                kind: p.kind,
                tax_class: p.tax_class.clone(),
                tax_rate: order_core::pricing::Percent::ZERO,
                quantity: must(Quantity::new(*q), "quantity"),
                unit_price: p.unit_price,
                amounts,
                quantities: LineQuantities {
                    ordered: *q,
                    ..LineQuantities::default()
                },
            })
            .collect();
        let id = must(OrderId::new(ids.new_v7()), "order id");
        let number = self.number.unwrap_or_else(|| {
            must(
                OrderNumber::parse(&format!("T-{}", id.as_uuid().simple()).to_uppercase()[..32]),
                "number",
            )
        });
        let record = EventRecord {
            id: must(EventId::new(ids.new_v7()), "event id"),
            order_id: id,
            sequence: 1,
            occurred_at: self.created_at,
            actor: Actor::system(),
            event: OrderEvent::Placed(Box::new(Placed {
                id,
                number,
                customer_id: self.customer,
                currency,
                lines: order_lines,
                shipping_address: Some(sample_address()),
                billing_address: None,
                shipping_method: Some(must(ShippingMethod::parse("standard"), "method")),
                payment_method: Some(must(PaymentMethod::parse("credit_card"), "payment method")),
                coupon: None,
                discount: None,
                notes: None,
                pricing: PricingPolicy::default(),
                totals,
                reservation_expires_at: self.created_at + chrono::Duration::minutes(30),
            })),
        };
        let order = match Order::placed(&record) {
            Some(order) => order,
            None => panic!("a Placed record always makes an order"),
        };
        (order, record)
    }
}

/// The change that stores `order`, new, with its placement event `record`
/// (from [`OrderBuilder::build`]), and nothing else: no idempotency key, no
/// inbound event, no stock effect.
pub fn new_order_change<'a>(order: &'a Order, record: &'a EventRecord) -> Change<'a> {
    Change {
        order,
        expected_version: 0,
        events: std::slice::from_ref(record),
        idempotency_key: None,
        inbound_event: None,
        lines_changed: true,
        stock: &[],
    }
}

/// Extends `order` with `events` at `at`: the new order and the records, as
/// a store would receive them in a `Change`.
pub fn follow(
    order: &Order,
    events: Vec<OrderEvent>,
    at: DateTime<Utc>,
) -> (Order, Vec<EventRecord>) {
    let ids = UuidV7Ids;
    let mut next = order.clone();
    let mut records = Vec::with_capacity(events.len());
    for event in events {
        let record = EventRecord {
            id: must(EventId::new(ids.new_v7()), "event id"),
            order_id: order.id(),
            sequence: next.version() + 1,
            occurred_at: at,
            actor: Actor::system(),
            event,
        };
        next.apply(&record);
        records.push(record);
    }
    (next, records)
}
