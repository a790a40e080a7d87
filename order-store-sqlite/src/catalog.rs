//! [`SqliteCatalog`]: the local catalog — products with price, currency, tax
//! class, kind and availability — as the `Catalog` port, and the admin
//! operations that fill it (`CatalogAdmin`).

use async_trait::async_trait;
use order_core::ports::{Catalog, CatalogAdmin, Product, ProductKey};
use order_core::{
    Currency, Money, PortError, ProductId, ProductKind, ProductName, Sku, StoreError, TaxClass,
};
use sqlx::SqlitePool;

use crate::error::{corrupt, port, port_of_store};

/// Products in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteCatalog {
    pool: SqlitePool,
}

/// A `products` row, in column order.
type ProductRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
);

macro_rules! product_columns {
    () => {
        "product_id, variant_id, sku, name, unit_price, currency, tax_class, kind, active"
    };
}

fn kind_text(kind: ProductKind) -> &'static str {
    match kind {
        ProductKind::Physical => "physical",
        ProductKind::Digital => "digital",
    }
}

fn product_from_row(row: ProductRow) -> Result<Product, StoreError> {
    let (product_id, variant_id, sku, name, unit_price, currency, tax_class, kind, active) = row;
    let currency = Currency::parse(&currency).map_err(corrupt)?;
    Ok(Product {
        product_id: product_id.parse::<ProductId>().map_err(corrupt)?,
        variant_id: variant_id.map(|v| v.parse()).transpose().map_err(corrupt)?,
        sku: Sku::parse(&sku).map_err(corrupt)?,
        name: ProductName::parse(&name).map_err(corrupt)?,
        unit_price: Money::parse(&unit_price, currency).map_err(corrupt)?,
        tax_class: TaxClass::parse(&tax_class).map_err(corrupt)?,
        kind: match kind.as_str() {
            "physical" => ProductKind::Physical,
            "digital" => ProductKind::Digital,
            other => return Err(corrupt(format!("unknown product kind {other:?}"))),
        },
        active,
    })
}

fn products_from_rows(rows: Vec<ProductRow>) -> Result<Vec<Product>, PortError> {
    rows.into_iter()
        .map(product_from_row)
        .collect::<Result<_, _>>()
        .map_err(|e| port_of_store(&e))
}

impl SqliteCatalog {
    /// A catalog over `pool`, opened by [`crate::connect`].
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl CatalogAdmin for SqliteCatalog {
    async fn upsert(&self, product: &Product) -> Result<(), PortError> {
        product
            .check()
            .map_err(|err| PortError::Refused(err.to_string()))?;
        let product_id = product.product_id.to_string();
        let variant_id = product.variant_id.map(|v| v.to_string());
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(port)?;
        let owner: Option<(String, Option<String>)> =
            sqlx::query_as("select product_id, variant_id from products where sku = ?")
                .bind(product.sku.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(port)?;
        if owner.is_some_and(|owner| owner != (product_id.clone(), variant_id.clone())) {
            return Err(PortError::Refused(format!(
                "sku {} belongs to another product",
                product.sku
            )));
        }
        // `variant_id is ?` matches a missing variant too (null is null).
        let replaced = sqlx::query(
            "update products set sku = ?, name = ?, unit_price = ?, currency = ?, tax_class = ?,
               kind = ?, active = ?
             where product_id = ? and variant_id is ?",
        )
        .bind(product.sku.as_str())
        .bind(product.name.as_str())
        .bind(product.unit_price.amount().to_string())
        .bind(product.unit_price.currency().code())
        .bind(product.tax_class.as_str())
        .bind(kind_text(product.kind))
        .bind(product.active)
        .bind(&product_id)
        .bind(&variant_id)
        .execute(&mut *tx)
        .await
        .map_err(port)?;
        if replaced.rows_affected() == 0 {
            sqlx::query(concat!(
                "insert into products (",
                product_columns!(),
                ") values (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ))
            .bind(&product_id)
            .bind(&variant_id)
            .bind(product.sku.as_str())
            .bind(product.name.as_str())
            .bind(product.unit_price.amount().to_string())
            .bind(product.unit_price.currency().code())
            .bind(product.tax_class.as_str())
            .bind(kind_text(product.kind))
            .bind(product.active)
            .execute(&mut *tx)
            .await
            .map_err(port)?;
        }
        tx.commit().await.map_err(port)
    }

    async fn list(&self, after_sku: Option<&Sku>, limit: usize) -> Result<Vec<Product>, PortError> {
        // Every SKU is non-empty, so `sku > ''` is "from the first".
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "select ",
            product_columns!(),
            " from products where sku > ? order by sku limit ?"
        ))
        .bind(after_sku.map_or("", Sku::as_str))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(port)?;
        products_from_rows(rows)
    }
}

#[async_trait]
impl Catalog for SqliteCatalog {
    async fn products(&self, keys: &[ProductKey]) -> Result<Vec<Product>, PortError> {
        // One read transaction, so every key sees the same catalog.
        let mut tx = self.pool.begin().await.map_err(port)?;
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            let row: Option<ProductRow> = sqlx::query_as(concat!(
                "select ",
                product_columns!(),
                " from products where product_id = ? and variant_id is ?"
            ))
            .bind(key.product_id.to_string())
            .bind(key.variant_id.map(|v| v.to_string()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(port)?;
            rows.extend(row);
        }
        tx.commit().await.map_err(port)?;
        products_from_rows(rows)
    }
}

#[cfg(test)]
mod tests {
    use order_core::ProductId;

    use super::*;

    async fn pool() -> SqlitePool {
        crate::connect("sqlite::memory:", 1)
            .await
            .expect("an in-memory database")
    }

    /// A v7 id text, distinct per `n`.
    fn id(n: usize) -> String {
        format!("0193e6d2-0000-7000-8000-{n:012}")
    }

    fn product(n: usize, sku: &str, price: &str) -> Product {
        Product {
            product_id: id(n).parse::<ProductId>().expect("a v7 id"),
            variant_id: None,
            sku: Sku::parse(sku).expect("a sku"),
            name: ProductName::parse("Bounded").expect("a name"),
            unit_price: Money::parse(price, Currency::parse("CLF").expect("CLF")).expect("a price"),
            tax_class: TaxClass::parse("standard").expect("a class"),
            kind: ProductKind::Physical,
            active: true,
        }
    }

    #[tokio::test]
    async fn the_admin_port_refuses_a_price_outside_the_bounds_and_keeps_the_largest() {
        let catalog = SqliteCatalog::new(pool().await);
        for (i, price) in ["-1", "0", "1000000000000.0001"].into_iter().enumerate() {
            let refused = catalog
                .upsert(&product(i, &format!("BAD-{i}"), price))
                .await;
            assert!(matches!(refused, Err(PortError::Refused(_))), "{price}");
        }
        let largest = product(10, "LARGEST", "1000000000000");
        catalog.upsert(&largest).await.expect("the largest price");
        let smallest = product(11, "SMALLEST", "0.0001");
        catalog.upsert(&smallest).await.expect("the smallest price");
        assert_eq!(
            catalog.list(None, 10).await.expect("list"),
            vec![largest, smallest]
        );
    }

    #[tokio::test]
    async fn the_database_refuses_a_price_outside_the_bounds() {
        let pool = pool().await;
        let insert = |n: usize, price: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query(
                    "insert into products (product_id, variant_id, sku, name, unit_price, currency,
                       tax_class, kind, active)
                     values (?, null, ?, 'P', ?, 'CLF', 'standard', 'physical', 1)",
                )
                .bind(id(n))
                .bind(format!("SKU-{n}"))
                .bind(price)
                .execute(&pool)
                .await
            }
        };
        for (i, price) in [
            "-1",
            "0",
            "0.0000",
            "1000000000000.0001",
            "99999999999999999999.99",
        ]
        .into_iter()
        .enumerate()
        {
            assert!(insert(i, price).await.is_err(), "{price}");
        }
        for (i, price) in ["0.0001", "19.99", "1000000000000", "1000000000000.0000"]
            .into_iter()
            .enumerate()
        {
            insert(100 + i, price)
                .await
                .unwrap_or_else(|e| panic!("{price}: {e}"));
        }
        let raised = sqlx::query("update products set unit_price = '1000000000000.0001'")
            .execute(&pool)
            .await;
        assert!(raised.is_err(), "an update is checked too");
    }
}
