//! # order-core
//!
//! The order-management domain, with no I/O: exact [`Money`], validated
//! values, the [`Order`] aggregate with its quantity and payment ledgers, the
//! state machine, pricing, the ports through which the engine reaches stores
//! and services, and [`OrderService`], which runs every use case over those
//! ports with compensation when a step fails.
//!
//! Another service can depend on this crate alone, bring its own adapters
//! (or the store crates' SQLite and PostgreSQL ones; `order-testkit` has
//! fakes for tests) and get the whole lifecycle.
//!
//! # Layout
//! - values: `money` (Money, Currency, RoundingMode), `id`, `quantity`,
//!   `text` (Sku, Notes, …), `address`, `order_number`
//! - the aggregate: `order` (Order, lines, shipments, returns, history),
//!   `ledger` (line quantities, payment ledger), `event` (domain events,
//!   outbox records)
//! - decisions: `status` (the transition tables), `command`, `decide`
//!   (pure `Order::decide`), `available` (what staff may ask of an order
//!   now)
//! - money rules: `pricing`, `allocation` (largest remainder)
//! - the edges: `ports` (traits), `policy` (table-driven policies),
//!   `system` (system clock, UUID v7s), `retry` (timeouts and retries)
//! - use cases: `service` (OrderService), `relay` (outbox relay), `report`
//!   (figures over a period), `invoice` (what an order bills and where its
//!   money stands)
//! - `error`: one enum per layer

pub mod address;
pub mod allocation;
pub mod available;
pub mod command;
mod decide;
pub mod error;
pub mod event;
pub mod id;
pub mod invoice;
pub mod ledger;
pub mod money;
pub mod order;
pub mod order_number;
pub mod policy;
pub mod ports;
pub mod pricing;
pub mod quantity;
pub mod relay;
pub mod report;
pub mod retry;
pub mod scope;
pub mod service;
pub mod status;
pub mod system;
pub mod text;
pub mod webhook;

pub use address::{Address, AddressInput, CountryCode};
pub use command::{Command, DetailsChange};
pub use error::{
    InventoryError, MoneyError, OrderError, PaymentError, PolicyError, PortError, RuleViolation,
    StoreError, TransitionError, ValidationError,
};
pub use event::{EventRecord, OrderEvent, StoredEvent};
pub use id::{
    CompensationId, CustomerId, DeliveryId, EventId, LineId, OrderId, PaymentEntryId, ProductId,
    ReturnId, ShipmentId, SubscriptionId, VariantId,
};
pub use invoice::Invoice;
pub use ledger::{LineQuantities, PaymentEntry, PaymentKind, PaymentLedger};
pub use money::{Currency, Money, RoundingMode};
pub use order::{
    LineQuantity, Order, OrderLine, ProductKind, Reservation, Return, Shipment, StatusChange,
};
pub use order_number::OrderNumber;
pub use quantity::Quantity;
pub use scope::Scope;
pub use service::StatusGoal;
pub use service::{
    CaptureMode, LineEdit, NewLine, Operation, OrderService, PaymentEvent, PaymentEventKind,
    PaymentFlow, PaymentInstrument, PlaceOrder, Ports, ServiceConfig, StockKeeping,
};
pub use status::{Action, OrderStatus, PaymentAction, PaymentStatus};
pub use text::{
    Actor, Carrier, CouponCode, EventTypeName, GatewayReference, Notes, PaymentMethod,
    PaymentToken, ProductName, Reason, ShippingMethod, Sku, TaxClass, TrackingNumber,
    WebhookSecret, WebhookUrl,
};
