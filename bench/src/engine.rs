//! The store-level mode: `OrderService` in this process, composed as the
//! binary composes it (`order_http::compose::build`: `PgOrderStore` and the
//! PostgreSQL catalog and stock, the policy file, the payment simulator),
//! called without HTTP. It also pre-fills the service's database.

use std::path::Path;
use std::sync::Arc;

use clap::Parser as _;
use order_core::{Actor, CustomerId, OrderService, PlaceOrder};
use order_http::config::Config;
use order_http::dto::CreateOrderRequestBody;

use crate::Result;
use crate::db::DbUrl;
use crate::load::{Op, OrderRequest, Shop};

/// The engine and the requests it is driven with.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub(crate) struct Engine {
    service: OrderService,
    requests: Arc<Vec<(PlaceOrder, Actor)>>,
}

impl Engine {
    /// Composes the service on the database at `url` with the policy file,
    /// the payment simulator and a pool of at most `connections`, and turns
    /// `orders` into domain requests (as the HTTP handler would).
    pub(crate) async fn build(
        url: &DbUrl,
        policy_file: &Path,
        connections: u32,
        shop: &Shop,
        orders: &[OrderRequest],
    ) -> Result<Self> {
        let config = Config::try_parse_from([
            "order-bench".to_owned(),
            "--database-url".to_owned(),
            url.render(),
            "--config".to_owned(),
            policy_file.display().to_string(),
            "--payments".to_owned(),
            "simulated".to_owned(),
            "--jwt-secret".to_owned(),
            crate::server::SECRET.to_owned(),
            "--db-max-connections".to_owned(),
            connections.to_string(),
        ])?;
        let app = order_http::compose::build(&config).await?;
        let requests = orders
            .iter()
            .map(|order| domain_request(shop, order))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            service: app.state.orders.clone(),
            requests: Arc::new(requests),
        })
    }

    /// The same service, driven with other requests.
    pub(crate) fn with_requests(&self, shop: &Shop, orders: &[OrderRequest]) -> Result<Self> {
        let requests = orders
            .iter()
            .map(|order| domain_request(shop, order))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            service: self.service.clone(),
            requests: Arc::new(requests),
        })
    }

    /// `workers` workers; each pays what it places when `pay` says so.
    pub(crate) fn workers(&self, workers: usize, pay: Pay) -> Vec<EngineOp> {
        (0..workers)
            .map(|i| EngineOp {
                engine: self.clone(),
                next: i * self.requests.len() / workers.max(1),
                pay,
                done: 0,
            })
            .collect()
    }
}

fn domain_request(shop: &Shop, order: &OrderRequest) -> Result<(PlaceOrder, Actor)> {
    let customer = shop.customers[order.customer];
    let body: CreateOrderRequestBody = serde_json::from_str(&order.body)?;
    let request = body
        .try_into_domain(CustomerId::new(customer)?)
        .map_err(|e| format!("the request is refused: {e}"))?;
    Ok((request, Actor::parse(&format!("customer:{customer}"))?))
}

/// Which placements are paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pay {
    Never,
    Always,
    /// Every other one (the pre-fill: half pending, half paid).
    EveryOther,
}

/// A worker of the engine.
#[allow(missing_debug_implementations)]
pub(crate) struct EngineOp {
    engine: Engine,
    next: usize,
    pay: Pay,
    done: usize,
}

impl Op for EngineOp {
    async fn once(&mut self) -> Result<(), String> {
        let requests = &self.engine.requests;
        let (request, actor) = &requests[self.next % requests.len()];
        self.next += 1;
        self.done += 1;
        let service = &self.engine.service;
        let order = service
            .place(request.clone(), None, actor)
            .await
            .map_err(|e| format!("place: {e}"))?;
        let pay = match self.pay {
            Pay::Never => false,
            Pay::Always => true,
            Pay::EveryOther => self.done.is_multiple_of(2),
        };
        if pay {
            service
                .pay(order.id(), actor)
                .await
                .map_err(|e| format!("pay: {e}"))?;
        }
        Ok(())
    }
}
