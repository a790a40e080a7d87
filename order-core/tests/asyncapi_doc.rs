//! Keeps `docs/asyncapi.yaml` honest. An order is run through every step
//! (and others are cancelled, declined and voided) so that every
//! [`OrderEvent`] variant is produced; then the document must have exactly
//! one message per event type the code publishes, and every field serde
//! writes into an event's `data` must be declared in that message's schema.
//! The same events check that a store reading a payload with its tag
//! ([`OrderEvent::deserialize_tagged`]) gets what serde's decoder gets.
//!
//! The YAML is read as text, relying on the layout the document promises in
//! its opening comment: two-space indentation, messages keyed by event type
//! under `components.messages`, the `data` schema referenced under a `data:`
//! key of the message's `payload`, and each schema's `required:` on one line.

use std::collections::{BTreeMap, BTreeSet};

use order_core::{
    Actor, CaptureMode, DetailsChange, EventRecord, LineEdit, LineQuantity, Notes, OrderEvent,
    OrderId, OrderService, Quantity, Reason, ServiceConfig,
};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer, sample_address};
use order_testkit::fault::Fault;

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/asyncapi.yaml");

/// The prefix of the Kafka channel's messages among `components.messages`.
const KAFKA_MESSAGE: &str = "kafka.";

/// The schema documenting each variant's `data`, named after the variant.
/// When a variant is added, name its schema here, add it to
/// [`ALL_DATA_SCHEMAS`], and make [`every_kind_of_event`] produce it.
fn data_schema(event: &OrderEvent) -> &'static str {
    match event {
        OrderEvent::Placed(_) => "Placed",
        OrderEvent::LinesChanged { .. } => "LinesChanged",
        OrderEvent::DetailsChanged { .. } => "DetailsChanged",
        OrderEvent::PaymentStarted { .. } => "PaymentStarted",
        OrderEvent::PaymentAuthorized(_) => "PaymentAuthorized",
        OrderEvent::PaymentCaptured(_) => "PaymentCaptured",
        OrderEvent::PaymentFailed { .. } => "PaymentFailed",
        OrderEvent::PaymentVoided(_) => "PaymentVoided",
        OrderEvent::Refunded(_) => "Refunded",
        OrderEvent::Confirmed => "Confirmed",
        OrderEvent::ProcessingStarted => "ProcessingStarted",
        OrderEvent::Shipped(_) => "Shipped",
        OrderEvent::ShipmentDelivered { .. } => "ShipmentDelivered",
        OrderEvent::DeliveredDigitally { .. } => "DeliveredDigitally",
        OrderEvent::Completed => "Completed",
        OrderEvent::Cancelled { .. } => "Cancelled",
        OrderEvent::ReturnRequested(_) => "ReturnRequested",
        OrderEvent::ReturnReceived { .. } => "ReturnReceived",
    }
}

/// Every value [`data_schema`] returns.
const ALL_DATA_SCHEMAS: [&str; 18] = [
    "Placed",
    "LinesChanged",
    "DetailsChanged",
    "PaymentStarted",
    "PaymentAuthorized",
    "PaymentCaptured",
    "PaymentFailed",
    "PaymentVoided",
    "Refunded",
    "Confirmed",
    "ProcessingStarted",
    "Shipped",
    "ShipmentDelivered",
    "DeliveredDigitally",
    "Completed",
    "Cancelled",
    "ReturnRequested",
    "ReturnReceived",
];

fn actor() -> Actor {
    Actor::parse("user:7f9c2a4e").unwrap()
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

async fn events(service: &OrderService, id: OrderId) -> Vec<EventRecord> {
    service.events(id).await.unwrap()
}

/// One order through every step, one cancelled, one whose payment is
/// declined and one whose capture fails (voiding the authorization).
async fn every_kind_of_event() -> Vec<EventRecord> {
    let h = Harness::default();
    let service = h.service_with(ServiceConfig {
        capture: CaptureMode::OnProcessing,
        ..ServiceConfig::default()
    });
    let shirt = h.product("TSHIRT");
    let book = h.product("BOOK");
    h.inventory.set_on_hand(&shirt.sku, 20);
    h.inventory.set_on_hand(&book.sku, 20);
    let mut all = Vec::new();

    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1))
                .line(&shirt, 1)
                .line(&book, 1)
                .coupon("SAVE10")
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let id = order.id();
    let shirt_line = order.lines()[0].id;
    let book_line = order.lines()[1].id;
    service
        .edit_lines(
            id,
            None,
            &[LineEdit::SetQuantity {
                line_id: shirt_line,
                quantity: qty(2),
            }],
            &actor(),
        )
        .await
        .unwrap();
    service
        .update_details(
            id,
            None,
            DetailsChange {
                notes: Some(Some(Notes::parse("Leave at the back door").unwrap())),
                shipping_address: None,
                billing_address: Some(Some(sample_address())),
                shipping_method: None,
            },
            &actor(),
        )
        .await
        .unwrap();
    service.pay(id, &actor()).await.unwrap();
    service.start_processing(id, None, &actor()).await.unwrap();
    let shipped = service
        .ship(
            id,
            None,
            vec![
                LineQuantity {
                    line_id: shirt_line,
                    quantity: qty(2),
                },
                LineQuantity {
                    line_id: book_line,
                    quantity: qty(1),
                },
            ],
            Some(order_core::Carrier::parse("UPS").unwrap()),
            Some(order_core::TrackingNumber::parse("1Z999AA10123456784").unwrap()),
            &actor(),
        )
        .await
        .unwrap();
    let shipment = shipped.shipments()[0].id;
    service.deliver(id, None, shipment, &actor()).await.unwrap();
    let asked = service
        .request_return(
            id,
            None,
            vec![LineQuantity {
                line_id: book_line,
                quantity: qty(1),
            }],
            reason("damaged in transit"),
            &actor(),
        )
        .await
        .unwrap();
    let return_id = asked.returns()[0].id;
    service
        .receive_return(id, None, return_id, true, &actor())
        .await
        .unwrap();
    service
        .refund(
            id,
            order_core::Money::from_minor(100, order_core::Currency::USD).unwrap(),
            reason("goodwill"),
            &actor(),
        )
        .await
        .unwrap();
    h.clock.advance(chrono::Duration::days(31));
    service.complete(id, None, &actor()).await.unwrap();
    all.extend(events(&service, id).await);

    let mug = h.product("MUG");
    let cancelled = service
        .place(
            PlaceOrderBuilder::new(customer(2)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    service
        .cancel(cancelled.id(), None, reason("changed my mind"), &actor())
        .await
        .unwrap();
    all.extend(events(&service, cancelled.id()).await);

    let declined = service
        .place(
            PlaceOrderBuilder::new(customer(3)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    h.gateway.faults().next("authorize", Fault::Decline, 1);
    service.pay(declined.id(), &actor()).await.unwrap_err();
    all.extend(events(&service, declined.id()).await);

    // Immediate capture: a capture that fails voids the authorization.
    let immediate = h.service();
    let voided = immediate
        .place(
            PlaceOrderBuilder::new(customer(4)).line(&mug, 1).build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    h.gateway.faults().always("capture", Some(Fault::Timeout));
    immediate.pay(voided.id(), &actor()).await.unwrap_err();
    h.gateway.faults().always("capture", None);
    all.extend(events(&immediate, voided.id()).await);

    // A digital-only order is handed over when it is paid.
    let ebook = immediate
        .place(
            PlaceOrderBuilder::new(customer(5))
                .line(&h.product("EBOOK"), 1)
                .ship_to(None)
                .method(None)
                .build(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    immediate.pay(ebook.id(), &actor()).await.unwrap();
    all.extend(events(&immediate, ebook.id()).await);

    all
}

// ---- Reading the YAML as text -------------------------------------------

/// A meaningful line of the document: not blank, not a comment.
#[derive(Debug, Clone, Copy)]
struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

fn doc() -> String {
    std::fs::read_to_string(DOC_PATH).unwrap_or_else(|err| panic!("cannot read {DOC_PATH}: {err}"))
}

fn lines(doc: &str) -> Vec<Line<'_>> {
    doc.lines()
        .enumerate()
        .filter(|(_, raw)| !raw.trim().is_empty() && !raw.trim_start().starts_with('#'))
        .map(|(i, raw)| Line {
            number: i + 1,
            indent: raw.len() - raw.trim_start().len(),
            text: raw.trim(),
        })
        .collect()
}

fn unquote(text: &str) -> &str {
    text.trim().trim_matches(|c| c == '\'' || c == '"')
}

/// A `key: value` or `key:` line split at its colon, both sides unquoted;
/// none for list items and other lines.
fn split_key<'a>(line: &Line<'a>) -> Option<(&'a str, &'a str)> {
    if line.text.starts_with("- ") {
        return None;
    }
    let (colon, _) = line
        .text
        .char_indices()
        .find(|&(i, c)| c == ':' && line.text[i + 1..].chars().next().is_none_or(|n| n == ' '))?;
    Some((
        unquote(&line.text[..colon]),
        unquote(&line.text[colon + 1..]),
    ))
}

/// The key of a `key: value` or `key:` line.
fn key_of<'a>(line: &Line<'a>) -> Option<&'a str> {
    split_key(line).map(|(key, _)| key)
}

/// The value of a `key: value` line, unquoted.
fn value_of<'a>(line: &Line<'a>) -> &'a str {
    split_key(line).map_or("", |(_, value)| value)
}

/// The lines nested under `lines[at]`.
fn body_of<'a, 'b>(lines: &'b [Line<'a>], at: usize) -> &'b [Line<'a>] {
    let indent = lines[at].indent;
    let len = lines[at + 1..]
        .iter()
        .take_while(|line| line.indent > indent)
        .count();
    &lines[at + 1..at + 1 + len]
}

/// The direct children of a block: its lines at its first line's indentation.
fn children<'a, 'b>(block: &'b [Line<'a>]) -> impl Iterator<Item = (usize, &'b Line<'a>)> {
    let indent = block.first().map_or(0, |line| line.indent);
    block
        .iter()
        .enumerate()
        .filter(move |(_, line)| line.indent == indent)
}

/// The block under the direct child `key` of `block`.
fn section<'a, 'b>(block: &'b [Line<'a>], key: &str) -> Option<&'b [Line<'a>]> {
    children(block)
        .find(|(_, line)| key_of(line) == Some(key))
        .map(|(at, _)| body_of(block, at))
}

/// The block at `path`, from the top of the document.
fn at_path<'a, 'b>(top: &'b [Line<'a>], path: &[&str]) -> &'b [Line<'a>] {
    path.iter().enumerate().fold(top, |block, (depth, key)| {
        section(block, key).unwrap_or_else(|| {
            panic!(
                "{DOC_PATH} has no `{}` (wanted `{}`)",
                path[..=depth].join("."),
                path.join(".")
            )
        })
    })
}

/// The keys of a mapping block's direct children.
fn keys<'a>(block: &[Line<'a>]) -> BTreeSet<&'a str> {
    children(block)
        .filter_map(|(_, line)| key_of(line))
        .collect()
}

/// The value of the direct child `key: value` of `block`.
fn child_value<'a>(block: &[Line<'a>], key: &str) -> Option<&'a str> {
    children(block)
        .find(|(_, line)| key_of(line) == Some(key))
        .map(|(_, line)| value_of(line))
}

/// The items of a one-line flow list (`[a, b, c]`).
fn flow_list(text: &str) -> BTreeSet<&str> {
    text.trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or_else(|| panic!("`{text}` is not a one-line flow list `[a, b]`"))
        .split(',')
        .map(unquote)
        .filter(|item| !item.is_empty())
        .collect()
}

/// The names `X` of every `$ref: '<prefix>X'` in `block`, list item or not.
fn refs<'a>(block: &[Line<'a>], prefix: &str) -> BTreeSet<&'a str> {
    block
        .iter()
        .filter_map(|line| line.text.trim_start_matches("- ").strip_prefix("$ref:"))
        .filter_map(|target| unquote(target).strip_prefix(prefix))
        .collect()
}

/// A message's `data` schemas: the refs under the `data:` key of its payload.
fn documented_data_schemas<'a>(top: &[Line<'a>], event_type: &str) -> BTreeSet<&'a str> {
    let payload = at_path(top, &["components", "messages", event_type, "payload"]);
    let (at, _) = payload
        .iter()
        .enumerate()
        .find(|(_, line)| key_of(line) == Some("data"))
        .unwrap_or_else(|| panic!("the payload of message `{event_type}` has no `data:` key"));
    refs(body_of(payload, at), "#/components/schemas/")
}

/// A schema's declared properties and its `required:` list.
fn schema_fields<'a>(top: &[Line<'a>], name: &str) -> (BTreeSet<&'a str>, BTreeSet<&'a str>) {
    let schema = at_path(top, &["components", "schemas", name]);
    let properties = keys(at_path(top, &["components", "schemas", name, "properties"]));
    let required = child_value(schema, "required")
        .map(flow_list)
        .unwrap_or_default();
    (properties, required)
}

/// The top-level keys serde writes for `value`.
fn json_keys(value: &serde_json::Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {value}"))
        .keys()
        .cloned()
        .collect()
}

// ---- The checks ------------------------------------------------------------

#[tokio::test]
async fn the_scenarios_produce_every_kind_of_event() {
    let produced: BTreeSet<&str> = every_kind_of_event()
        .await
        .iter()
        .map(|record| data_schema(&record.event))
        .collect();
    let all: BTreeSet<&str> = ALL_DATA_SCHEMAS.into_iter().collect();
    assert_eq!(
        produced,
        all,
        "every_kind_of_event must produce every OrderEvent variant; missing: {:?}",
        all.difference(&produced).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_event_type_has_one_message_and_every_message_is_an_event_type() {
    let known: BTreeSet<&str> = every_kind_of_event()
        .await
        .iter()
        .map(EventRecord::event_type)
        .collect();
    let text = doc();
    let top = lines(&text);

    let messages = at_path(&top, &["components", "messages"]);
    // The Kafka messages (`kafka.<type>`) are checked by order-events'
    // tests/asyncapi.rs.
    let documented: BTreeSet<&str> = keys(messages)
        .into_iter()
        .filter(|key| !key.starts_with(KAFKA_MESSAGE))
        .collect();
    assert_eq!(
        documented,
        known,
        "components.messages in {DOC_PATH} must be exactly the event types; \
         undocumented: {:?}, unknown to the code: {:?}",
        known.difference(&documented).collect::<Vec<_>>(),
        documented.difference(&known).collect::<Vec<_>>()
    );
    for (at, line) in children(messages) {
        if key_of(line).is_some_and(|key| key.starts_with(KAFKA_MESSAGE)) {
            continue;
        }
        let name = child_value(body_of(messages, at), "name");
        assert_eq!(
            name,
            key_of(line),
            "message `{}` (line {}) must have `name:` equal to its key",
            line.text,
            line.number
        );
    }

    let channel = keys(at_path(&top, &["channels", "orders.events", "messages"]));
    assert_eq!(
        channel, known,
        "channels.orders.events.messages must list every event type"
    );
    let operation = refs(
        at_path(&top, &["operations", "publishOrderEvents", "messages"]),
        "#/channels/orders.events/messages/",
    );
    assert_eq!(
        operation, known,
        "operations.publishOrderEvents.messages must list every event type"
    );
}

#[tokio::test]
async fn every_field_of_an_events_data_is_declared_in_its_messages_schema() {
    let text = doc();
    let top = lines(&text);
    // Per schema, every key serde wrote in any of its events.
    let mut written: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for record in every_kind_of_event().await {
        let event_type = record.event_type();
        let schema = data_schema(&record.event);
        let data = serde_json::to_value(&record.event).unwrap();
        let keys = json_keys(&data);

        let referenced = documented_data_schemas(&top, event_type);
        assert!(
            referenced.contains(schema),
            "the payload of message `{event_type}` must reference \
             '#/components/schemas/{schema}' under `data:`; it references {referenced:?}"
        );
        let (properties, required) = schema_fields(&top, schema);
        let undeclared: Vec<&String> = keys
            .iter()
            .filter(|key| !properties.contains(key.as_str()))
            .collect();
        assert!(
            undeclared.is_empty(),
            "`{event_type}` data has fields {undeclared:?} that schema `{schema}` does not declare; \
             serde wrote {data}"
        );
        let never_written: Vec<&&str> = required
            .iter()
            .filter(|key| !keys.contains(**key))
            .collect();
        assert!(
            never_written.is_empty(),
            "schema `{schema}` requires {never_written:?}, which serde did not write in {data}"
        );
        let tag = data["type"].as_str().unwrap_or_default();
        let constant = child_value(
            at_path(
                &top,
                &["components", "schemas", schema, "properties", "type"],
            ),
            "const",
        );
        assert_eq!(
            constant,
            Some(tag),
            "schema `{schema}` must fix `type` to serde's tag `{tag}` (`const: {tag}`)"
        );
        written.entry(schema).or_default().extend(keys);
    }
    for (schema, keys) in written {
        let (properties, _) = schema_fields(&top, schema);
        let stale: Vec<&&str> = properties
            .iter()
            .filter(|property| !keys.contains(**property))
            .collect();
        assert!(
            stale.is_empty(),
            "schema `{schema}` declares {stale:?}, which serde never writes"
        );
    }
}

#[tokio::test]
async fn the_envelope_schema_declares_exactly_the_published_record_fields() {
    let record = every_kind_of_event().await.remove(0);
    // The feed and the relay publish the record's fields, with the event
    // split into its `type` and its `data`, plus the feed `position`.
    let mut fields = json_keys(&serde_json::to_value(&record).unwrap());
    assert!(
        fields.remove("event"),
        "EventRecord serializes its event as `event`"
    );
    fields.extend(["type", "data", "position"].map(String::from));

    let text = doc();
    let top = lines(&text);
    let (properties, required) = schema_fields(&top, "EventEnvelope");
    let as_strings =
        |set: BTreeSet<&str>| set.into_iter().map(String::from).collect::<BTreeSet<_>>();
    assert_eq!(as_strings(properties), fields, "EventEnvelope.properties");
    assert_eq!(as_strings(required), fields, "EventEnvelope.required");
}

#[tokio::test]
async fn every_kind_of_event_reads_back_through_its_tag_whatever_the_order_of_its_keys() {
    let mut tag_among_the_others = false;
    for record in every_kind_of_event().await {
        let value = serde_json::to_value(&record.event).unwrap();
        let tag = value["type"].as_str().unwrap().to_owned();
        // As written (the tag first), and with the keys sorted, as PostgreSQL's
        // jsonb gives them back (the tag among the others).
        let sorted = value.to_string();
        tag_among_the_others |= !sorted.starts_with(r#"{"type""#);
        for text in [serde_json::to_string(&record.event).unwrap(), sorted] {
            let mut json = serde_json::Deserializer::from_str(&text);
            let read = OrderEvent::deserialize_tagged(&tag, &mut json).unwrap();
            json.end().unwrap();
            assert_eq!(read, record.event, "{tag}: {text}");
        }
    }
    assert!(
        tag_among_the_others,
        "some sorted payload has its tag among the other keys"
    );
}

#[test]
fn a_payload_that_is_not_the_event_its_tag_names_is_refused() {
    let mut json = serde_json::Deserializer::from_str(r#"{"type":"confirmed"}"#);
    assert!(OrderEvent::deserialize_tagged("placed", &mut json).is_err());
}
