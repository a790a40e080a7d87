//! [`RemoteCatalog`]: the product service as the engine's [`Catalog`].
//! `GET /products/{productId}` (with `?variantId=` for a variant) answers a
//! product: SKU, name, price as a decimal string, currency, `physical` or
//! `digital`, active; 404 means it does not exist.

use std::sync::Arc;

use async_trait::async_trait;
use order_core::ports::{Catalog, Product, ProductKey};
use order_core::{
    Currency, Money, PortError, ProductId, ProductKind, ProductName, Sku, TaxClass, VariantId,
};
use serde::Deserialize;

use crate::body;
use crate::client::{Call, ServiceClient};
use crate::error::RemoteError;

/// The product service's product, as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductResponseBody {
    sku: String,
    name: String,
    price: String,
    currency: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default = "active_by_default")]
    active: bool,
    #[serde(default)]
    tax_class: Option<String>,
}

fn active_by_default() -> bool {
    true
}

impl ProductResponseBody {
    fn try_into_domain(self, key: ProductKey) -> Result<Product, String> {
        let currency = Currency::parse(&self.currency).map_err(|e| e.to_string())?;
        Ok(Product {
            product_id: key.product_id,
            variant_id: key.variant_id,
            sku: Sku::parse(&self.sku).map_err(|e| e.to_string())?,
            name: ProductName::parse(&self.name).map_err(|e| e.to_string())?,
            unit_price: Money::parse(&self.price, currency).map_err(|e| format!("price: {e}"))?,
            tax_class: TaxClass::parse(self.tax_class.as_deref().unwrap_or("standard"))
                .map_err(|e| e.to_string())?,
            kind: match self.kind.as_str() {
                "physical" => ProductKind::Physical,
                "digital" => ProductKind::Digital,
                other => return Err(format!("type: {other:?} is not physical or digital")),
            },
            active: self.active,
        })
    }
}

/// The product service (see the module docs).
#[derive(Debug, Clone)]
pub struct RemoteCatalog {
    client: Arc<ServiceClient>,
}

impl RemoteCatalog {
    /// The catalog behind `client`.
    pub fn new(client: ServiceClient) -> Self {
        Self {
            client: Arc::new(client),
        }
    }

    fn path(product: ProductId, variant: Option<VariantId>) -> String {
        match variant {
            Some(variant) => format!("/products/{product}?variantId={variant}"),
            None => format!("/products/{product}"),
        }
    }

    async fn product(&self, key: ProductKey) -> Result<Option<Product>, RemoteError> {
        let service = self.client.service();
        let answer = self
            .client
            .send(&Call::get(Self::path(key.product_id, key.variant_id)))
            .await?;
        match answer.status {
            404 => Ok(None),
            _ if answer.is_success() => body::decode::<ProductResponseBody>(service, &answer)?
                .try_into_domain(key)
                .map(Some)
                .map_err(|detail| RemoteError::Malformed { service, detail }),
            _ => Err(body::refused(service, &answer)),
        }
    }
}

#[async_trait]
impl Catalog for RemoteCatalog {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        let mut products = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(product) = self.product(*key).await? {
                products.push(product);
            }
        }
        Ok(products)
    }
}
