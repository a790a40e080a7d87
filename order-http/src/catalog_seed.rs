//! A catalog file (`--seed-catalog`): products and their stock, added to an
//! empty catalog at start — a demo catalog for development, or a first
//! import. The file has `[[products]]` tables (the fields of the product
//! API's body) and a `[stock]` table of units on hand by SKU; see
//! `config/demo-catalog.toml`. Nothing of it is compiled into the binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use order_core::ports::{CatalogAdmin, StockLevels};
use order_core::{PortError, Sku};
use serde::Deserialize;

use crate::dto::ProductBody;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    products: Vec<ProductBody>,
    #[serde(default)]
    stock: BTreeMap<String, u32>,
}

/// Why a catalog file was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The file could not be read.
    #[error("cannot read the catalog file {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("the catalog file {} is invalid: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An entry breaks a rule.
    #[error("the catalog file {} is invalid: `{key}`: {rule}", path.display())]
    Rule {
        /// The file.
        path: PathBuf,
        /// The entry (`products[2]`, `stock.MUG`).
        key: String,
        /// The rule.
        rule: String,
    },
    /// The catalog or the stock refused or failed.
    #[error("loading the catalog file {} failed at `{key}`: {source}", path.display())]
    Port {
        /// The file.
        path: PathBuf,
        /// The entry.
        key: String,
        /// Why.
        source: PortError,
    },
}

/// What a catalog file added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seeded {
    /// Products added (0 when the catalog already had products).
    pub products: usize,
    /// SKUs whose stock was set.
    pub stocked: usize,
}

/// Adds the products and stock of the file at `path`, unless the catalog
/// already has products. The whole file is checked before anything is
/// written.
///
/// # Errors
/// [`SeedError`] naming the file and the entry.
pub async fn seed(
    path: &Path,
    catalog: &dyn CatalogAdmin,
    stock: &dyn StockLevels,
) -> Result<Seeded, SeedError> {
    let rule = |key: String, rule: String| SeedError::Rule {
        path: path.to_owned(),
        key,
        rule,
    };
    let port = |key: String, source: PortError| SeedError::Port {
        path: path.to_owned(),
        key,
        source,
    };
    let text = std::fs::read_to_string(path).map_err(|source| SeedError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    let file: CatalogFile = toml::from_str(&text).map_err(|e| SeedError::Syntax {
        path: path.to_owned(),
        message: e.to_string().trim().to_owned(),
    })?;
    let products = file
        .products
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            body.try_into_domain()
                .map_err(|e| rule(format!("products[{i}]"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let levels = file
        .stock
        .iter()
        .map(|(sku, units)| {
            Sku::parse(sku)
                .map(|sku| (sku, *units))
                .map_err(|e| rule(format!("stock.{sku}"), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let existing = catalog
        .list(None, 1)
        .await
        .map_err(|e| port("products".into(), e))?;
    if !existing.is_empty() {
        return Ok(Seeded::default());
    }
    for (i, product) in products.iter().enumerate() {
        catalog
            .upsert(product)
            .await
            .map_err(|e| port(format!("products[{i}]"), e))?;
    }
    for (sku, units) in &levels {
        stock
            .set_on_hand(sku, *units)
            .await
            .map_err(|e| port(format!("stock.{sku}"), e))?;
    }
    Ok(Seeded {
        products: products.len(),
        stocked: levels.len(),
    })
}
