//! The payment gateways the binary can run, chosen with `--payments`:
//! - [`SimulatedGateway`] (`simulated`, the default only with `--dev`): a
//!   stand-in for a card processor that approves every payment, with
//!   bounded memory and references unique across processes;
//! - [`ExternalPayments`] (`external`): a payment service outside the engine
//!   charges customers and reports through payment events; the engine
//!   itself never moves money.
//!
//! The `http` mode, the payment service's REST adapter, is not built yet.

mod external;
mod simulated;

pub use external::ExternalPayments;
pub use simulated::SimulatedGateway;
