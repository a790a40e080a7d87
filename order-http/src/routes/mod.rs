//! The routes, one module per resource group.

pub(crate) mod admin;
pub(crate) mod compensations;
pub(crate) mod docs;
pub(crate) mod events;
pub(crate) mod ops;
pub(crate) mod orders;
pub(crate) mod webhooks;
