//! The OpenAPI 3.1 document, generated from the handlers' and bodies'
//! annotations. `docs/openapi.json` is kept identical by a test.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::*;
use crate::error::Problem;
use crate::routes::ops::HealthBody;
use crate::routes::{admin, events, ops, orders};

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "order-engine", description = "Order management: placement, payment, fulfilment, returns, refunds and events. Errors are RFC 9457 problem documents; money is a decimal string.", license(name = "MIT OR Apache-2.0")),
    paths(
        orders::create_order, orders::get_order, orders::get_order_by_number, orders::list_orders, orders::patch_order,
        orders::list_items, orders::add_item, orders::update_item, orders::remove_item,
        orders::pay, orders::cancel, orders::start_processing, orders::create_shipment, orders::deliver, orders::complete,
        orders::request_return, orders::receive_return, orders::refund,
        orders::history, orders::invoice, orders::tracking, orders::dry_run,
        events::feed, events::payment_event,
        admin::upsert_product, admin::list_products, admin::get_stock, admin::set_stock, admin::report,
        ops::health, ops::live, ops::ready, ops::metrics,
    ),
    components(schemas(
        Problem, HealthBody, AddressBody, NewLineBody, CreateOrderRequestBody, PatchOrderRequestBody, AddItemRequestBody,
        UpdateItemRequestBody, ReasonBody, LineQuantityBody, CreateShipmentRequestBody, CreateReturnRequestBody,
        ReceiveReturnRequestBody, RefundRequestBody, DryRunRequestBody, PaymentEventRequestBody, TotalsBody,
        QuantitiesBody, LineBody, PaymentEntryBody, PaymentsBody, ShipmentBody, ReturnBody, CancellationBody,
        OrderResponseBody, OrderPageBody, HistoryEntryBody, EventBody, HistoryBody, EventPageBody, DryRunResponseBody,
        InvoiceBody, TrackingBody, ProductBody, StockRequestBody, StockBody, CurrencyFiguresBody, ReportBody,
    )),
    modifiers(&Bearer),
    tags(
        (name = "orders", description = "Placing and reading orders"),
        (name = "items", description = "Editing a pending order's lines"),
        (name = "lifecycle", description = "Payment, processing, shipping, delivery, cancellation"),
        (name = "returns", description = "Returns and refunds"),
        (name = "events", description = "The event feed and the payment webhook"),
        (name = "admin", description = "Catalog, stock and reports"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

impl ApiDoc {
    /// The document as pretty JSON, as served and as kept in
    /// `docs/openapi.json`.
    pub fn json() -> String {
        Self::openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_owned())
    }
}
