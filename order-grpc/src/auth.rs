//! Who calls: the [`Authenticate`] port through which the embedding binary
//! verifies the bearer token in a request's `authorization` metadata (the
//! HTTP API's verifier, so both APIs accept the same tokens), the [`Caller`]
//! it yields, and which [`Role`]s may make which calls — access rules, not
//! order rules.

use order_core::{Actor, CustomerId, Order, Scope};
use tonic::metadata::MetadataMap;

use crate::error::GrpcError;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A shopper: their own orders only.
    Customer,
    /// Staff: everything.
    Admin,
    /// Another service: fulfilment and the rest of a customer's calls.
    Service,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }
}

/// Every role.
pub(crate) const ANYONE: &[Role] = &[Role::Customer, Role::Admin, Role::Service];
/// Staff and services: processing, shipping, delivering.
pub(crate) const FULFILMENT: &[Role] = &[Role::Admin, Role::Service];
/// Staff only: completing and refunding.
pub(crate) const STAFF: &[Role] = &[Role::Admin];

/// Who is calling, from verified credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    role: Role,
    scope: Scope,
    actor: Actor,
}

impl Caller {
    /// A caller in `role`, reaching the orders of `scope`, recorded in
    /// history and events as `actor`.
    pub fn new(role: Role, scope: Scope, actor: Actor) -> Self {
        Self { role, scope, actor }
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The orders the caller may see and act on.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// How the caller appears in history and events.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The customer, for a customer's credentials.
    pub fn customer_id(&self) -> Option<CustomerId> {
        match self.scope {
            Scope::Customer(customer) => Some(customer),
            Scope::All => None,
        }
    }

    /// True when the caller may see `order`.
    pub fn may_see(&self, order: &Order) -> bool {
        self.scope.admits(order)
    }

    /// Refuses (PERMISSION_DENIED) unless the caller has one of `roles`.
    pub(crate) fn require(&self, roles: &[Role]) -> Result<(), GrpcError> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let names: Vec<_> = roles.iter().map(|r| r.name()).collect();
        Err(GrpcError::PermissionDenied(format!(
            "this call is for {}",
            names.join(" or ")
        )))
    }
}

/// Verifies a request's credentials.
pub trait Authenticate: Send + Sync + 'static {
    /// The caller the bearer token in `metadata`'s `authorization` names.
    ///
    /// # Errors
    /// Why the credentials are refused (missing, malformed, expired, badly
    /// signed); the call is answered UNAUTHENTICATED with that text.
    fn authenticate(&self, metadata: &MetadataMap) -> Result<Caller, String>;
}
