//! [`RemoteInventory`]: the inventory service as the engine's [`Inventory`]
//! and [`StockLevels`], after the Go plan's reserve / commit /
//! cancel-reservation flow, with the order id as the reservation's
//! reference (so the engine keeps no reservation id):
//!
//! | port call | request | answers |
//! |---|---|---|
//! | `reserve` | `PUT /reservations/{orderId}` `{referenceId, referenceType: "ORDER", items: [{sku, quantity}], expiresAt}` | 2xx held; 409 `{unavailable: [{sku, requested, available}]}` nothing changed |
//! | `commit` | `POST /reservations/{orderId}/commit` | 2xx sold (again: a no-op); 409 `{unavailable}` the hold lapsed and the stock is gone |
//! | `release` | `DELETE /reservations/{orderId}` | 2xx or 404 (nothing held) |
//! | `restock` | `POST /reservations/{orderId}/restock` `{key, items}` | 2xx (once per key; never more than the order's sale took) |
//! | `level` (availability) | `GET /inventory/{sku}` | `{sku, onHand, reserved}`; 404 untracked |
//! | `set_on_hand` | `PUT /inventory/{sku}` `{onHand}` | `{sku, onHand, reserved}`; 409 refused |
//!
//! Every write carries an `Idempotency-Key`: a reservation's is derived
//! from its body, a restock's from the engine's key, the others are new per
//! port call (and kept across that call's retries), since an order may be
//! released, held again and released again.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use order_core::error::Shortage;
use order_core::ports::{Inventory, StockItem, StockLevel, StockLevels};
use order_core::{InventoryError, OrderId, PortError, Sku};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::body;
use crate::client::{Answer, Call, ServiceClient};
use crate::error::RemoteError;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemRequestBody<'a> {
    sku: &'a str,
    quantity: u32,
}

fn items(items: &[StockItem]) -> Vec<ItemRequestBody<'_>> {
    items
        .iter()
        .map(|i| ItemRequestBody {
            sku: i.sku.as_str(),
            quantity: i.quantity.get(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReserveRequestBody<'a> {
    reference_id: String,
    reference_type: &'static str,
    items: Vec<ItemRequestBody<'a>>,
    expires_at: String,
}

#[derive(Debug, Serialize)]
struct RestockRequestBody<'a> {
    key: &'a str,
    items: Vec<ItemRequestBody<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StockRequestBody {
    on_hand: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StockResponseBody {
    on_hand: u32,
    reserved: u32,
}

#[derive(Debug, Deserialize)]
struct ShortageBody {
    sku: String,
    requested: u32,
    available: u32,
}

#[derive(Debug, Deserialize)]
struct UnavailableResponseBody {
    #[serde(default)]
    unavailable: Vec<ShortageBody>,
}

/// A SKU as one path segment: `/`, which SKUs may hold, is escaped.
fn path_segment(sku: &Sku) -> String {
    sku.as_str().replace('/', "%2F")
}

/// The inventory service (see the module docs).
#[derive(Debug, Clone)]
pub struct RemoteInventory {
    client: Arc<ServiceClient>,
}

impl RemoteInventory {
    /// The inventory behind `client`.
    pub fn new(client: ServiceClient) -> Self {
        Self {
            client: Arc::new(client),
        }
    }

    fn service(&self) -> &'static str {
        self.client.service()
    }

    fn fresh_key(order: OrderId, step: &str) -> String {
        format!("{order}:{step}:{}", uuid::Uuid::new_v4().simple())
    }

    /// The shortages a 409 names.
    fn shortages(&self, answer: &Answer) -> Result<InventoryError, RemoteError> {
        let service = self.service();
        let body: UnavailableResponseBody = body::decode(service, answer)?;
        body.unavailable
            .into_iter()
            .map(|s| {
                Ok(Shortage {
                    sku: Sku::parse(&s.sku).map_err(|e| RemoteError::Malformed {
                        service,
                        detail: e.to_string(),
                    })?,
                    requested: s.requested,
                    available: s.available,
                })
            })
            .collect::<Result<Vec<_>, RemoteError>>()
            .map(InventoryError::OutOfStock)
    }

    /// Success, a shortage (409), or a refusal.
    async fn write(&self, call: Call, absent_is_done: bool) -> Result<(), InventoryError> {
        let answer = self.client.send(&call).await?;
        match answer.status {
            _ if answer.is_success() => Ok(()),
            404 if absent_is_done => Ok(()),
            409 => Err(self.shortages(&answer)?),
            _ => Err(body::refused(self.service(), &answer).into()),
        }
    }

    fn level_of(&self, answer: &Answer) -> Result<StockLevel, RemoteError> {
        let body: StockResponseBody = body::decode(self.service(), answer)?;
        Ok(StockLevel {
            on_hand: body.on_hand,
            reserved: body.reserved,
        })
    }
}

#[async_trait]
impl Inventory for RemoteInventory {
    async fn reserve(
        &self,
        order: OrderId,
        stock: &[StockItem],
        expires_at: DateTime<Utc>,
    ) -> Result<(), InventoryError> {
        let body = body::encode(&ReserveRequestBody {
            reference_id: order.to_string(),
            reference_type: "ORDER",
            items: items(stock),
            expires_at: expires_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        });
        let key = format!("{order}:reserve:{}", body::digest(&body));
        let call = Call::write(
            Method::PUT,
            format!("/reservations/{order}"),
            Some(body),
            key,
        );
        self.write(call, false).await
    }

    async fn commit(&self, order: OrderId) -> Result<(), InventoryError> {
        let call = Call::write(
            Method::POST,
            format!("/reservations/{order}/commit"),
            None,
            Self::fresh_key(order, "commit"),
        );
        self.write(call, false).await
    }

    async fn release(&self, order: OrderId) -> Result<(), InventoryError> {
        let call = Call::write(
            Method::DELETE,
            format!("/reservations/{order}"),
            None,
            Self::fresh_key(order, "release"),
        );
        self.write(call, true).await
    }

    async fn restock(
        &self,
        order: OrderId,
        key: &str,
        stock: &[StockItem],
    ) -> Result<(), InventoryError> {
        let body = body::encode(&RestockRequestBody {
            key,
            items: items(stock),
        });
        let call = Call::write(
            Method::POST,
            format!("/reservations/{order}/restock"),
            Some(body),
            format!("{order}:restock:{key}"),
        );
        self.write(call, false).await
    }
}

#[async_trait]
impl StockLevels for RemoteInventory {
    async fn set_on_hand(&self, sku: &Sku, units: u32) -> Result<StockLevel, PortError> {
        let call = Call::write(
            Method::PUT,
            format!("/inventory/{}", path_segment(sku)),
            Some(body::encode(&StockRequestBody { on_hand: units })),
            format!("stock:{}:{}", sku.as_str(), uuid::Uuid::new_v4().simple()),
        );
        let answer = self.client.send(&call).await?;
        if answer.is_success() {
            Ok(self.level_of(&answer)?)
        } else {
            Err(body::refused(self.service(), &answer).into())
        }
    }

    async fn level(&self, sku: &Sku) -> Result<Option<StockLevel>, PortError> {
        let answer = self
            .client
            .send(&Call::get(format!("/inventory/{}", path_segment(sku))))
            .await?;
        match answer.status {
            404 => Ok(None),
            _ if answer.is_success() => Ok(Some(self.level_of(&answer)?)),
            _ => Err(body::refused(self.service(), &answer).into()),
        }
    }
}
