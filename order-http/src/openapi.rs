//! The OpenAPI 3.1 document, generated from the handlers' and bodies'
//! annotations, plus what no single handler knows: the problem responses the
//! layers and extractors answer on every operation ([`ProblemResponses`]),
//! and the value types (ids, amounts, codes, texts) the bodies and
//! parameters are documented with, each written once with the rule the
//! engine applies. `docs/openapi.json` is kept identical by a test.

use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema, ToResponse, ToSchema};

use crate::dto::*;
use crate::error::Problem;
use crate::routes::compensations::{
    self, CompensationBody, CompensationStatus, ResolutionBody, ResolveCompensationRequestBody,
};
use crate::routes::ops::HealthBody;
use crate::routes::webhooks::{
    AttemptBody, DeliveryBody, DeliveryDetailBody, DeliveryListBody, SubscriptionBody,
    SubscriptionListBody, SubscriptionRequestBody,
};
use crate::routes::{admin, events, ops, orders, webhooks};

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "order-engine", description = "Order management: placement, payment, fulfilment, returns, refunds and events. Errors are RFC 9457 problem documents (`application/problem+json`); money is a decimal string; ids are UUIDs, v7 for the ids this engine mints.", license(name = "MIT OR Apache-2.0")),
    paths(
        orders::create_order, orders::get_order, orders::get_order_by_number, orders::list_orders, orders::patch_order,
        orders::list_items, orders::add_item, orders::update_item, orders::remove_item,
        orders::pay, orders::cancel, orders::start_processing, orders::create_shipment, orders::deliver, orders::complete,
        orders::request_return, orders::receive_return, orders::refund,
        orders::history, orders::invoice, orders::tracking, orders::dry_run,
        events::feed, events::payment_event,
        admin::upsert_product, admin::list_products, admin::get_stock, admin::set_stock, admin::report,
        ops::health, ops::live, ops::ready, ops::metrics,
        webhooks::subscribe, webhooks::subscriptions, webhooks::unsubscribe, webhooks::deliveries,
        webhooks::delivery, webhooks::redeliver,
        compensations::list_compensations, compensations::resolve_compensation,
    ),
    components(
        schemas(
            Problem, HealthBody, AddressBody, NewLineBody, CreateOrderRequestBody, PatchOrderRequestBody, AddItemRequestBody,
            UpdateItemRequestBody, ReasonBody, PayRequestBody, LineQuantityBody, CreateShipmentRequestBody, CreateReturnRequestBody,
            ReceiveReturnRequestBody, RefundRequestBody, DryRunRequestBody, PaymentEventRequestBody, TotalsBody,
            QuantitiesBody, LineBody, PaymentEntryBody, PaymentsBody, ShipmentBody, ReturnBody, CancellationBody,
            OrderResponseBody, OrderPageBody, HistoryEntryBody, EventBody, HistoryBody, EventPageBody, DryRunResponseBody,
            InvoiceBody, TrackingBody, ProductBody, StockRequestBody, StockBody, CurrencyFiguresBody, ReportBody,
            Uuid7, ExternalId, Decimal, CurrencyCode, CountryCode, OrderNumber, Sku, Code64, Code100, Text20, Text100,
            Text200, Text500, Text2000, OptionalText100, OptionalText200, Phone, Email, PaymentMethod, ProviderEventId, IdempotencyKey,
            EntityTag, FeedPosition, OrderStatus, PaymentStatus, ProductKind, PaymentEventType, ListOrder,
            WebhookUrl, WebhookSecret, WebhookEventType, SubscriptionRequestBody, SubscriptionBody, SubscriptionListBody, DeliveryBody, DeliveryListBody,
            AttemptBody, DeliveryDetailBody,
            CompensationBody, ResolutionBody, CompensationStatus, ResolveCompensationRequestBody,
        ),
        responses(Problem),
    ),
    modifiers(&Bearer, &ProblemResponses, &ClosedVariants),
    tags(
        (name = "orders", description = "Placing and reading orders"),
        (name = "items", description = "Editing a pending order's lines"),
        (name = "lifecycle", description = "Payment, processing, shipping, delivery, cancellation"),
        (name = "returns", description = "Returns and refunds"),
        (name = "events", description = "The event feed and the payment webhook"),
        (name = "admin", description = "Catalog, stock, reports and the compensation log"),
        (name = "webhooks", description = "Signed outbound webhooks: subscriptions and deliveries"),
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
    /// `docs/openapi.json`; built once.
    pub fn json() -> String {
        static JSON: OnceLock<String> = OnceLock::new();
        JSON.get_or_init(|| {
            Self::openapi()
                .to_pretty_json()
                .unwrap_or_else(|_| "{}".to_owned())
        })
        .clone()
    }
}

/// The request bodies that are internally tagged enums
/// (`#[serde(tag = …, deny_unknown_fields)]`). utoipa does not carry
/// `deny_unknown_fields` to their variants; serde refuses unknown fields in
/// the variants that have fields and ignores them in unit variants, and
/// [`ClosedVariants`] documents just that.
const TAGGED_REQUEST_BODIES: &[&str] = &["DryRunRequestBody"];

struct ClosedVariants;

impl Modify for ClosedVariants {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for name in TAGGED_REQUEST_BODIES {
            let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut(*name) else {
                continue;
            };
            for variant in &mut one_of.items {
                if let RefOr::T(Schema::Object(object)) = variant
                    && object.properties.len() > 1
                {
                    object.additional_properties =
                        Some(Box::new(AdditionalProperties::FreeForm(false)));
                }
            }
        }
    }
}

/// Every error answers with the problem document, as
/// `application/problem+json`; routes name it with
/// `(status = …, response = Problem)`.
impl<'r> ToResponse<'r> for Problem {
    fn response() -> (&'r str, RefOr<Response>) {
        (
            "Problem",
            ResponseBuilder::new()
                .description("A problem document (RFC 9457)")
                .content(
                    PROBLEM_JSON,
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build()
                .into(),
        )
    }
}

/// The content type of every error response.
const PROBLEM_JSON: &str = "application/problem+json";

/// What each error status means, in every operation that answers it.
const STATUS_MEANINGS: &[(&str, &str)] = &[
    (
        "400",
        "Malformed: unreadable or ill-typed JSON, or a path id, query parameter or header that does not parse",
    ),
    (
        "401",
        "No bearer token, or one that is malformed, expired or wrongly signed",
    ),
    ("402", "The payment was declined"),
    ("403", "The caller's role may not do this"),
    (
        "404",
        "No such order (another customer's order is not found either), or no such line, shipment, return or SKU",
    ),
    (
        "408",
        "The request body did not arrive within the body read time limit",
    ),
    (
        "409",
        "Refused by the order's state: a transition not allowed now, a concurrent change, too little stock, a changed price, or a request with this idempotency key in progress",
    ),
    ("412", "`If-Match` names another version of the order"),
    ("413", "The request body is larger than the body limit"),
    ("415", "The request body is not `application/json`"),
    (
        "422",
        "Well-formed but refused: a field breaks a rule, or the engine's rules refuse the request (unknown product, amounts, quantities, policies)",
    ),
    ("500", "The server failed; the cause is logged, never sent"),
    (
        "503",
        "A dependency (the store, the payment service, the catalog) is unavailable, or the request took longer than the time limit; try again later",
    ),
];

/// Operations that read their body as raw bytes (to check a signature over
/// it) and so never answer 415.
const RAW_BODY_OPERATIONS: &[&str] = &["payment_event"];

/// Adds to every operation the problem responses that come from the layers
/// and extractors rather than from the handler — 400 (unparsable path,
/// query, header or body), 401 (bearer token), 408 and 413 (the body's time
/// and size limits), 415 (a JSON body of another content type), 500 and 503
/// (failures and the request time limit) — and gives every problem
/// response the meaning of its status. Statuses a handler decides (402,
/// 403, 404, 409, 412, 422) are declared on the route.
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let api = path.starts_with("/api/");
            for operation in operations(item) {
                if api {
                    add_layer_problems(operation);
                }
                describe_problems(operation);
                describe_the_rest(operation);
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

fn add_layer_problems(operation: &mut Operation) {
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let raw_body = operation
        .operation_id
        .as_deref()
        .is_some_and(|id| RAW_BODY_OPERATIONS.contains(&id));
    let statuses = [
        ("400", has_parameters || has_body),
        ("401", secured),
        ("408", has_body),
        ("413", has_body),
        ("415", has_body && !raw_body),
        ("500", true),
        ("503", true),
    ];
    for (status, applies) in statuses {
        if applies {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Problem")));
        }
    }
}

fn describe_problems(operation: &mut Operation) {
    let problem = Ref::from_response_name("Problem").ref_location;
    for (status, response) in &mut operation.responses.responses {
        if let RefOr::Ref(reference) = response
            && reference.ref_location == problem
            && let Some((_, meaning)) = STATUS_MEANINGS.iter().find(|(s, _)| s == status)
        {
            (*meaning).clone_into(&mut reference.description);
        }
    }
}

/// OpenAPI 3.1 requires a description of every response; utoipa leaves the
/// undescribed ones (`(status = 200, body = …)`) without: they get their
/// status's reason phrase.
fn describe_the_rest(operation: &mut Operation) {
    for (status, response) in &mut operation.responses.responses {
        if let RefOr::T(response) = response
            && response.description.is_empty()
            && let Some(reason) = status
                .parse::<u16>()
                .ok()
                .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
                .and_then(|code| code.canonical_reason())
        {
            reason.clone_into(&mut response.description);
        }
    }
}

// The value types. Each is a schema component written once, with the rule
// the engine applies to it (order-core's parsers), so that a request the
// document calls valid is one the engine accepts, and the other way round.

/// Unicode `White_Space`: what the engine trims from text before checking it.
const WHITE_SPACE: &str =
    r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// A character allowed inside text: anything but a control character, or a
/// newline.
const TEXT_CHAR: &str = r"[^\x00-\x09\x0B-\x1F\x7F-\x9F]";

/// Text as the engine takes it: trimmed of white space, then 1 to `max`
/// characters with no control character but newlines; `blank_is_none`
/// accepts blank text too (an absent optional field).
fn text(max: usize, blank_is_none: bool) -> String {
    let edge = format!(r"[^{WHITE_SPACE}\x00-\x1F\x7F-\x9F]");
    let inner = max.saturating_sub(2);
    let core = format!("{edge}(?:{TEXT_CHAR}{{0,{inner}}}{edge})?");
    let core = if blank_is_none {
        format!("(?:{core})?")
    } else {
        core
    };
    format!("^[{WHITE_SPACE}]*{core}[{WHITE_SPACE}]*$")
}

/// A code: trimmed, then 1 to `max` ASCII letters, digits and `- _ . /`.
fn code(max: usize) -> String {
    format!("^[{WHITE_SPACE}]*[A-Za-z0-9._/-]{{1,{max}}}[{WHITE_SPACE}]*$")
}

/// The currency codes the engine knows: every three-letter code its parser
/// takes (order-core keeps the table private, so the document asks it).
fn known_currencies() -> Vec<String> {
    let letters = || b'A'..=b'Z';
    letters()
        .flat_map(|a| letters().flat_map(move |b| letters().map(move |c| [a, b, c])))
        .filter_map(|code| String::from_utf8(code.to_vec()).ok())
        .filter(|code| order_core::Currency::parse(code).is_ok())
        .collect()
}

fn string_schema(description: &str, pattern: Option<String>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .pattern(pattern)
}

fn enum_schema<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
}

macro_rules! value_types {
    ($($name:ident: $description:literal => |$d:ident| $schema:expr;)*) => {$(
        #[doc = $description]
        #[derive(Debug)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let $d = $description;
                $schema.into()
            }
        }

        impl ToSchema for $name {}
    )*};
}

value_types! {
    Uuid7: "An id this engine minted (order, line, shipment, return, payment entry, event): a UUID v7."
        => |d| string_schema(d, Some(
            "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$".to_owned(),
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
    ExternalId: "An id from another system (customer, product, variant): a UUID, not the nil one."
        => |d| string_schema(d, Some(
            "^(?!0{8}-0{4}-0{4}-0{4}-0{12}$)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$".to_owned(),
        ))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
    Decimal: "An amount or rate as a decimal string (`19.99`), never a JSON number. An amount has at most its currency's minor units (ISO 4217) of decimals."
        => |d| string_schema(d, Some(format!(r"^[{WHITE_SPACE}]*-?[0-9]+(?:\.[0-9]+)?[{WHITE_SPACE}]*$")));
    CurrencyCode: "An ISO 4217 currency code in upper case (`USD`), one the engine knows."
        => |d| enum_schema(d, known_currencies().iter().map(String::as_str));
    CountryCode: "An ISO 3166-1 alpha-2 country code in upper case (`US`)."
        => |d| string_schema(d, Some(format!("^[{WHITE_SPACE}]*[A-Z]{{2}}[{WHITE_SPACE}]*$")));
    OrderNumber: "An order number (`ORD-2026-000001`): 3 to 32 of `A-Z`, `0-9` and `-`."
        => |d| string_schema(d, Some(format!("^[{WHITE_SPACE}]*[A-Z0-9-]{{3,32}}[{WHITE_SPACE}]*$")));
    Sku: "A stock-keeping unit: 1 to 64 ASCII letters, digits and `- _ . /`."
        => |d| string_schema(d, Some(code(64)));
    Code64: "A code (coupon, shipping method, tax class): 1 to 64 ASCII letters, digits and `- _ . /`."
        => |d| string_schema(d, Some(code(64)));
    Code100: "A code (tracking number): 1 to 100 ASCII letters, digits and `- _ . /`."
        => |d| string_schema(d, Some(code(100)));
    Text20: "Text: trimmed, 1 to 20 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(20, false)));
    Text100: "Text: trimmed, 1 to 100 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(100, false)));
    Text200: "Text: trimmed, 1 to 200 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(200, false)));
    Text500: "Text: trimmed, 1 to 500 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(500, false)));
    Text2000: "Text: trimmed, 1 to 2,000 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(2_000, false)));
    OptionalText100: "Optional text: blank means none; else trimmed, 1 to 100 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(100, true)));
    OptionalText200: "Optional text: blank means none; else trimmed, 1 to 200 characters, no control characters but newlines."
        => |d| string_schema(d, Some(text(200, true)));
    Phone: "A phone number: blank means none; else trimmed, 1 to 32 of digits, spaces and `+ - ( ) .`."
        => |d| string_schema(d, Some(format!(
            "^[{WHITE_SPACE}]*(?:[0-9+().-](?:[0-9+(). -]{{0,30}}[0-9+().-])?)?[{WHITE_SPACE}]*$"
        )));
    Email: "An e-mail address: blank means none; else trimmed, 1 to 64 characters, `@`, then 2 to 4 dot-separated labels of 1 to 63, no spaces."
        => |d| {
            let local = format!(r"[^{WHITE_SPACE}@\x00-\x1F\x7F-\x9F]");
            let label = format!(r"[^{WHITE_SPACE}@.\x00-\x1F\x7F-\x9F]{{1,63}}");
            string_schema(d, Some(format!(
                r"^[{WHITE_SPACE}]*(?:{local}{{1,64}}@{label}(?:\.{label}){{1,3}})?[{WHITE_SPACE}]*$"
            )))
        };
    PaymentMethod: "How the customer pays (`credit_card`, `paypal`): 1 to 64 ASCII letters, digits and `- _ . /`."
        => |d| string_schema(d, Some(code(64)));
    ProviderEventId: "The payment service's event id: not blank, at most 200 bytes."
        => |d| string_schema(d, Some(format!("[^{WHITE_SPACE}]"))).max_length(Some(200));
    IdempotencyKey: "An idempotency key: 1 to 255 printable ASCII characters, no spaces."
        => |d| string_schema(d, Some("^[\\x21-\\x7E]{1,255}$".to_owned()));
    EntityTag: "An order version as the `ETag` gives it (`\"3\"`; `W/\"3\"` and `3` are taken too)."
        => |d| string_schema(d, Some(r#"^[ \t]*(?:W/)*"*\+?0*[0-9]{1,19}"*[ \t]*$"#.to_owned()));
    FeedPosition: "A position in the event feed: 0 (the start) to 2^64 - 1."
        => |d| ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some(d))
            .minimum(Some(0_usize))
            .maximum(Some(usize::try_from(u64::MAX).unwrap_or(usize::MAX)));
    OrderStatus: "Where an order is in its lifecycle."
        => |d| enum_schema(d, order_core::OrderStatus::ALL.iter().map(|s| s.as_str()));
    PaymentStatus: "Where an order's payment is."
        => |d| enum_schema(d, order_core::PaymentStatus::ALL.iter().map(|s| s.as_str()));
    ProductKind: "`physical` goods ship; `digital` ones need no address, carrier or stock."
        => |d| enum_schema(d, ["physical", "digital"]);
    PaymentEventType: "What the payment service reports."
        => |d| enum_schema(d, ["payment.processed", "payment.failed", "payment.refunded"]);
    ListOrder: "`newest` first (the default) or `oldest` first."
        => |d| enum_schema(d, ["newest", "oldest"]);
    WebhookUrl: "Where webhook deliveries go: an `http://` or `https://` URL with a host, at most 2,000 characters."
        => |d| string_schema(d, Some(
            "^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]*)?$".to_owned(),
        ))
        .max_length(Some(2_000));
    WebhookSecret: "A Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 bytes."
        => |d| string_schema(d, Some("^whsec_[A-Za-z0-9+/]{32,86}={0,2}$".to_owned()));
    WebhookEventType: "An event type the engine publishes (docs/events.md), or `*` for all."
        => |d| enum_schema(d, order_events::types::ALL.iter().copied().chain(["*"]));
}
