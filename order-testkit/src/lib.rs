//! # order-testkit
//!
//! Everything needed to test order-core and its adapters without a database
//! or a network: an in-memory store with database semantics, a fake of every
//! port with deterministic fault injection, mockall mocks, proptest
//! strategies, builders, and the store conformance suite every `OrderStore`
//! must pass.
//!
//! # Layout
//! - `memory`: [`InMemoryOrderStore`]; `memory_webhooks`: [`InMemoryWebhookStore`]
//! - `fakes`, `fault`: fakes of the other ports and their [`FaultPlan`]
//! - `stock`: [`stock::StockBook`], the stock model the fakes and the store share
//! - `harness`: [`Harness`], every fake wired into an `OrderService`
//! - `builder`: requests and orders for tests
//! - `strategy`: `arb_*` proptest strategies
//! - `sim`: random command sequences run against an `OrderService`
//! - `mock`: mockall mocks of the ports
//! - `store_contract`: the conformance suite and [`store_contract!`]
//! - `webhook_contract`: the webhook store conformance suite and
//!   [`webhook_store_contract!`]
//! - `store_races`: races and whole stories every stock-keeping store must
//!   survive, run through `OrderService`, and [`store_races!`]

pub mod builder;
pub mod fakes;
pub mod fault;
pub mod harness;
mod hash;
pub mod memory;
pub mod memory_webhooks;
pub mod mock;
pub mod sim;
pub mod stock;
pub mod store_contract;
pub mod store_races;
pub mod strategy;
pub mod webhook_contract;

pub use fault::{Fault, FaultPlan};
pub use harness::Harness;
pub use memory::InMemoryOrderStore;
pub use memory_webhooks::InMemoryWebhookStore;
