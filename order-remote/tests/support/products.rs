//! The product service: `GET /products/{productId}[?variantId=]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{Faults, Server};

#[derive(Default)]
pub struct Products {
    /// By product id (and `:variant` for a variant): the product's body.
    pub products: Mutex<HashMap<String, Value>>,
    pub faults: Arc<Faults>,
}

impl Products {
    pub fn add(&self, id: &impl ToString, sku: &str, price: &str, kind: &str) {
        self.products.lock().unwrap().insert(
            id.to_string(),
            json!({
                "id": id.to_string(),
                "sku": sku,
                "name": format!("Product {sku}"),
                "price": price,
                "currency": "USD",
                "type": kind,
                "active": true,
            }),
        );
    }
}

async fn product(
    State(products): State<Arc<Products>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(answer) = products.faults.apply("GET /products").await {
        return answer;
    }
    let key = match query.get("variantId") {
        Some(variant) => format!("{id}:{variant}"),
        None => id,
    };
    match products.products.lock().unwrap().get(&key) {
        Some(body) => super::json(200, body.clone()),
        None => super::json(404, json!({ "message": "product not found" })),
    }
}

/// The routes served, as `METHOD path`.
pub const ROUTES: &[&str] = &["GET /products/{id}"];

pub async fn start(products: Arc<Products>) -> Server {
    let faults = products.faults.clone();
    let router = Router::new()
        .route("/products/{id}", get(product))
        .with_state(products);
    Server::start(router, faults).await
}
