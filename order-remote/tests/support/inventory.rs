//! The inventory service: reservations per order and stock levels per SKU.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::json;

use super::{Fault, Faults, Server};

#[derive(Default)]
pub struct Stock {
    pub on_hand: HashMap<String, u32>,
    /// Held per order: (sku, units).
    pub held: HashMap<String, Vec<(String, u32)>>,
    /// Sold per order.
    pub sold: HashMap<String, Vec<(String, u32)>>,
    pub restocked: HashSet<(String, String)>,
}

impl Stock {
    fn reserved(&self, sku: &str, except: Option<&str>) -> u32 {
        self.held
            .iter()
            .filter(|(order, _)| Some(order.as_str()) != except)
            .flat_map(|(_, items)| items.iter())
            .filter(|(s, _)| s == sku)
            .map(|(_, units)| units)
            .sum()
    }
}

#[derive(Default)]
pub struct Inventory {
    pub stock: Mutex<Stock>,
    pub faults: Arc<Faults>,
}

impl Inventory {
    pub fn set(&self, sku: &str, units: u32) {
        self.stock
            .lock()
            .unwrap()
            .on_hand
            .insert(sku.to_owned(), units);
    }

    /// (on hand, reserved) of `sku`.
    pub fn level(&self, sku: &str) -> (u32, u32) {
        let stock = self.stock.lock().unwrap();
        (
            stock.on_hand.get(sku).copied().unwrap_or(0),
            stock.reserved(sku, None),
        )
    }

    pub fn holds(&self, order: &str) -> bool {
        self.stock.lock().unwrap().held.contains_key(order)
    }

    pub fn sold(&self, order: &str) -> bool {
        self.stock.lock().unwrap().sold.contains_key(order)
    }
}

#[derive(Deserialize)]
struct Item {
    sku: String,
    quantity: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReserveBody {
    reference_id: String,
    reference_type: String,
    items: Vec<Item>,
    expires_at: String,
}

async fn reserve(
    State(inv): State<Arc<Inventory>>,
    Path(order): Path<String>,
    axum::Json(body): axum::Json<ReserveBody>,
) -> Response {
    if let Err(answer) = inv.faults.apply("PUT /reservations").await {
        return answer;
    }
    assert_eq!(body.reference_id, order);
    assert_eq!(body.reference_type, "ORDER");
    assert!(chrono::DateTime::parse_from_rfc3339(&body.expires_at).is_ok());
    let mut stock = inv.stock.lock().unwrap();
    let short: Vec<_> = body
        .items
        .iter()
        .filter_map(|item| {
            let available = stock
                .on_hand
                .get(&item.sku)
                .copied()
                .unwrap_or(0)
                .saturating_sub(stock.reserved(&item.sku, Some(&order)));
            (available < item.quantity).then(
                || json!({ "sku": item.sku, "requested": item.quantity, "available": available }),
            )
        })
        .collect();
    if !short.is_empty() {
        return super::json(409, json!({ "unavailable": short }));
    }
    let items = body
        .items
        .into_iter()
        .map(|i| (i.sku, i.quantity))
        .collect();
    stock.held.insert(order.clone(), items);
    super::json(200, json!({ "reservationId": order, "status": "held" }))
}

async fn commit(State(inv): State<Arc<Inventory>>, Path(order): Path<String>) -> Response {
    let fault = match inv.faults.apply("POST /reservations/commit").await {
        Err(answer) => return answer,
        Ok(fault) => fault,
    };
    let mut stock = inv.stock.lock().unwrap();
    if stock.sold.contains_key(&order) {
        return super::json(200, json!({ "status": "committed" }));
    }
    let Some(items) = stock.held.remove(&order) else {
        return super::json(404, json!({ "message": "no reservation for this order" }));
    };
    if matches!(fault, Some(Fault::Lapsed)) {
        let short: Vec<_> = items
            .iter()
            .map(|(sku, units)| json!({ "sku": sku, "requested": units, "available": 0 }))
            .collect();
        return super::json(409, json!({ "unavailable": short }));
    }
    for (sku, units) in &items {
        let on_hand = stock.on_hand.entry(sku.clone()).or_default();
        *on_hand = on_hand.saturating_sub(*units);
    }
    stock.sold.insert(order, items);
    super::json(200, json!({ "status": "committed" }))
}

async fn release(State(inv): State<Arc<Inventory>>, Path(order): Path<String>) -> Response {
    if let Err(answer) = inv.faults.apply("DELETE /reservations").await {
        return answer;
    }
    match inv.stock.lock().unwrap().held.remove(&order) {
        Some(_) => super::json(200, json!({ "status": "released" })),
        None => super::json(404, json!({ "message": "no reservation for this order" })),
    }
}

#[derive(Deserialize)]
struct RestockBody {
    key: String,
    items: Vec<Item>,
}

async fn restock(
    State(inv): State<Arc<Inventory>>,
    Path(order): Path<String>,
    axum::Json(body): axum::Json<RestockBody>,
) -> Response {
    if let Err(answer) = inv.faults.apply("POST /reservations/restock").await {
        return answer;
    }
    let mut stock = inv.stock.lock().unwrap();
    if !stock.restocked.insert((order.clone(), body.key)) {
        return super::json(200, json!({ "status": "restocked" }));
    }
    let sold = stock.sold.get(&order).cloned().unwrap_or_default();
    for item in body.items {
        let took = sold
            .iter()
            .filter(|(sku, _)| *sku == item.sku)
            .map(|(_, units)| *units)
            .sum::<u32>();
        *stock.on_hand.entry(item.sku).or_default() += item.quantity.min(took);
    }
    super::json(200, json!({ "status": "restocked" }))
}

async fn level(State(inv): State<Arc<Inventory>>, Path(sku): Path<String>) -> Response {
    if let Err(answer) = inv.faults.apply("GET /inventory").await {
        return answer;
    }
    let stock = inv.stock.lock().unwrap();
    match stock.on_hand.get(&sku) {
        Some(on_hand) => super::json(
            200,
            json!({ "sku": sku, "onHand": on_hand, "reserved": stock.reserved(&sku, None) }),
        ),
        None => super::json(404, json!({ "message": "untracked SKU" })),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LevelBody {
    on_hand: u32,
}

async fn set_level(
    State(inv): State<Arc<Inventory>>,
    Path(sku): Path<String>,
    axum::Json(body): axum::Json<LevelBody>,
) -> Response {
    let mut stock = inv.stock.lock().unwrap();
    let reserved = stock.reserved(&sku, None);
    if body.on_hand < reserved {
        return super::json(
            409,
            json!({ "message": format!("{reserved} units are held") }),
        );
    }
    stock.on_hand.insert(sku.clone(), body.on_hand);
    super::json(
        200,
        json!({ "sku": sku, "onHand": body.on_hand, "reserved": reserved }),
    )
}

/// The routes served, as `METHOD path`.
pub const ROUTES: &[&str] = &[
    "PUT /reservations/{order}",
    "DELETE /reservations/{order}",
    "POST /reservations/{order}/commit",
    "POST /reservations/{order}/restock",
    "GET /inventory/{sku}",
    "PUT /inventory/{sku}",
];

pub async fn start(inventory: Arc<Inventory>) -> Server {
    let faults = inventory.faults.clone();
    let router = Router::new()
        .route("/reservations/{order}", put(reserve).delete(release))
        .route("/reservations/{order}/commit", post(commit))
        .route("/reservations/{order}/restock", post(restock))
        .route("/inventory/{sku}", get(level).put(set_level))
        .with_state(inventory);
    Server::start(router, faults).await
}
