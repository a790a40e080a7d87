//! [`PgCatalog`]: the local catalog — products with price, currency, tax
//! class, kind and availability — as the `Catalog` port, plus the admin
//! operations that fill it.

use async_trait::async_trait;
use order_core::ports::{Catalog, CatalogAdmin, Product, ProductKey};
use order_core::{Money, PortError, ProductId, ProductName, Sku, StoreError, TaxClass, VariantId};
use sqlx::postgres::{PgBindIterExt, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::error::translate;
use crate::read::{corrupt, currency, parse_kind};
use crate::sql;
use crate::write::kind_name;

/// Products in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgCatalog {
    pool: PgPool,
}

fn product_from_row(row: &PgRow) -> Result<Product, StoreError> {
    let text =
        |column: &str| -> Result<&str, StoreError> { row.try_get(column).map_err(translate) };
    let currency = currency(row, "currency")?;
    let variant: Option<Uuid> = row.try_get("variant_id").map_err(translate)?;
    Ok(Product {
        product_id: ProductId::new(row.try_get("product_id").map_err(translate)?)
            .map_err(corrupt)?,
        variant_id: variant.map(VariantId::new).transpose().map_err(corrupt)?,
        sku: Sku::parse(text("sku")?).map_err(corrupt)?,
        name: ProductName::parse(text("name")?).map_err(corrupt)?,
        unit_price: Money::new(row.try_get("unit_price").map_err(translate)?, currency)
            .map_err(corrupt)?,
        tax_class: TaxClass::parse(text("tax_class")?).map_err(corrupt)?,
        kind: parse_kind(text("kind")?)?,
        active: row.try_get("active").map_err(translate)?,
    })
}

impl PgCatalog {
    /// A catalog over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Adds a product or replaces the one with the same product and variant
    /// id.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`]-like refusal when another product has
    /// the SKU, or a price outside the bounds of `Product::check` (reported
    /// as `Backend` with the constraint), or a backend failure.
    pub async fn upsert(&self, product: &Product) -> Result<(), StoreError> {
        sqlx::query(sql::UPSERT_PRODUCT)
            .bind(product.product_id.as_uuid())
            .bind(product.variant_id.map(|v| v.as_uuid()))
            .bind(product.sku.as_str())
            .bind(product.name.as_str())
            .bind(product.unit_price.amount())
            .bind(product.unit_price.currency().code())
            .bind(product.tax_class.as_str())
            .bind(kind_name(product.kind))
            .bind(product.active)
            .execute(&self.pool)
            .await
            .map_err(translate)?;
        Ok(())
    }

    /// Products by SKU, after `after_sku`, at most `limit`.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn list(
        &self,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Product>, StoreError> {
        let rows = sqlx::query(sql::LIST_PRODUCTS)
            .bind(after_sku)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(translate)?;
        rows.iter().map(product_from_row).collect()
    }
}

#[async_trait]
impl CatalogAdmin for PgCatalog {
    async fn upsert(&self, product: &Product) -> Result<(), PortError> {
        product
            .check()
            .map_err(|err| PortError::Refused(err.to_string()))?;
        Self::upsert(self, product).await.map_err(|err| {
            let constraint = match &err {
                StoreError::Backend(source) => source
                    .downcast_ref::<sqlx::Error>()
                    .and_then(|e| e.as_database_error())
                    .and_then(|db| db.constraint()),
                _ => None,
            };
            match constraint {
                Some("products_sku_key") => {
                    PortError::Refused(format!("sku {} belongs to another product", product.sku))
                }
                // Checked above; the database's CHECK says the same.
                Some("products_unit_price_bounds") => PortError::Refused(format!(
                    "unit_price: {} is outside the bounds of a price",
                    product.unit_price
                )),
                _ => PortError::Unavailable(err.to_string()),
            }
        })
    }

    async fn list(&self, after_sku: Option<&Sku>, limit: usize) -> Result<Vec<Product>, PortError> {
        Self::list(
            self,
            after_sku.map(Sku::as_str),
            u32::try_from(limit).unwrap_or(u32::MAX),
        )
        .await
        .map_err(|e| PortError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl Catalog for PgCatalog {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        let rows = sqlx::query(sql::PRODUCTS)
            .bind(keys.iter().map(|k| k.product_id.as_uuid()).bind_iter())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| PortError::Unavailable(e.to_string()))?;
        let found = rows
            .iter()
            .map(product_from_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::Unavailable(e.to_string()))?;
        Ok(found
            .into_iter()
            .filter(|p| {
                keys.iter()
                    .any(|k| k.product_id == p.product_id && k.variant_id == p.variant_id)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use order_core::{Currency, ProductKind, Sku};

    use super::*;

    fn product(n: u128, price: &str) -> Product {
        Product {
            product_id: ProductId::new(Uuid::from_u128(
                0x0193_e6d2_0000_7000_8000_0000_0000_0000 | n,
            ))
            .expect("a v7 id"),
            variant_id: None,
            sku: Sku::parse(&format!("SKU-{n}")).expect("a sku"),
            name: ProductName::parse("Bounded").expect("a name"),
            unit_price: Money::parse(price, Currency::parse("CLF").expect("CLF")).expect("a price"),
            tax_class: TaxClass::parse("standard").expect("a class"),
            kind: ProductKind::Physical,
            active: true,
        }
    }

    #[tokio::test]
    async fn prices_outside_the_bounds_are_refused_by_the_port_and_by_the_database() {
        let Some(pool) = crate::testing::fresh_pool().await else {
            return;
        };
        let catalog = PgCatalog::new(pool);
        for (n, price) in [(1, "-1"), (2, "0"), (3, "1000000000000.0001")] {
            let bad = product(n, price);
            let refused = CatalogAdmin::upsert(&catalog, &bad).await;
            assert!(matches!(refused, Err(PortError::Refused(_))), "{price}");
            // Past the port, the database's CHECK refuses it too.
            let raw = PgCatalog::upsert(&catalog, &bad).await;
            assert!(
                matches!(
                    &raw,
                    Err(StoreError::Backend(source))
                        if source
                            .downcast_ref::<sqlx::Error>()
                            .and_then(|e| e.as_database_error())
                            .and_then(|db| db.constraint())
                            == Some("products_unit_price_bounds")
                ),
                "{price}: {raw:?}"
            );
        }
        let largest = product(10, "1000000000000");
        let smallest = product(11, "0.0001");
        CatalogAdmin::upsert(&catalog, &largest)
            .await
            .expect("the largest price");
        CatalogAdmin::upsert(&catalog, &smallest)
            .await
            .expect("the smallest price");
        assert_eq!(
            CatalogAdmin::list(&catalog, None, 10).await.expect("list"),
            vec![largest, smallest]
        );
    }
}
