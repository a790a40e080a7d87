//! [`RemoteCustomers`]: the user service as the engine's [`Customers`].
//! `GET /users/{userId}`: 200 is a customer (unless the body says
//! `"active": false` or a `status` of `inactive`, `suspended`, `blocked`
//! or `deleted`), 404 is an unknown one.

use std::sync::Arc;

use async_trait::async_trait;
use order_core::ports::Customers;
use order_core::{CustomerId, PortError};
use serde::Deserialize;

use crate::body;
use crate::client::{Call, ServiceClient};

/// What the adapter reads of the user service's user.
#[derive(Debug, Deserialize)]
struct UserResponseBody {
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    status: Option<String>,
}

impl UserResponseBody {
    fn may_order(&self) -> bool {
        let barred = self.status.as_deref().is_some_and(|s| {
            ["inactive", "suspended", "blocked", "deleted"]
                .iter()
                .any(|b| s.eq_ignore_ascii_case(b))
        });
        self.active.unwrap_or(true) && !barred
    }
}

/// The user service (see the module docs).
#[derive(Debug, Clone)]
pub struct RemoteCustomers {
    client: Arc<ServiceClient>,
}

impl RemoteCustomers {
    /// The customer directory behind `client`.
    pub fn new(client: ServiceClient) -> Self {
        Self {
            client: Arc::new(client),
        }
    }
}

#[async_trait]
impl Customers for RemoteCustomers {
    async fn exists(&self, id: CustomerId) -> Result<bool, PortError> {
        let service = self.client.service();
        let answer = self.client.send(&Call::get(format!("/users/{id}"))).await?;
        match answer.status {
            404 => Ok(false),
            _ if answer.is_success() => {
                Ok(body::decode::<UserResponseBody>(service, &answer)?.may_order())
            }
            _ => Err(body::refused(service, &answer).into()),
        }
    }
}
