//! Keeps the Kafka half of `docs/asyncapi.yaml` honest: every type the wire
//! publishes has a `kafka.<type>` message on the `order-events` channel with
//! the CloudEvents headers, every field a body carries in a whole order life
//! is declared in its message's schema, and every header the wire sets is
//! declared; the consumed payment events are documented with the seed's
//! fields that `inbound::decode` reads.

use std::collections::BTreeSet;
use std::sync::Arc;

use order_core::{Actor, LineQuantity, Money, Quantity, Reason};
use order_events::{Wire, inbound, types};
use order_testkit::Harness;
use order_testkit::builder::{PlaceOrderBuilder, customer};
use serde_json::Value;

const DOC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/asyncapi.yaml");

fn doc() -> Value {
    let text = std::fs::read_to_string(DOC_PATH).expect("docs/asyncapi.yaml");
    serde_yaml_ng::from_str(&text).expect("valid YAML")
}

/// The schema a `$ref` names.
fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let name = reference
        .strip_prefix("#/components/schemas/")
        .unwrap_or_else(|| panic!("not a schema ref: {reference}"));
    &doc["components"]["schemas"][name]
}

/// Every property a schema declares, through `$ref` and `allOf`.
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(reference) = schema["$ref"].as_str() {
        return properties(doc, resolve(doc, reference));
    }
    let mut names: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(properties(doc, part));
    }
    names
}

async fn whole_life_messages() -> Vec<order_events::WireMessage> {
    let h = Harness::default();
    let service = h.service();
    let actor = Actor::parse("admin:ops").unwrap();
    let shirt = h.product("TSHIRT");
    h.inventory.set_on_hand(&shirt.sku, 20);
    let order = service
        .place(
            PlaceOrderBuilder::new(customer(1)).line(&shirt, 2).build(),
            None,
            &actor,
        )
        .await
        .unwrap();
    let id = order.id();
    service.pay(id, &actor).await.unwrap();
    service.start_processing(id, None, &actor).await.unwrap();
    let shipped = service
        .ship(
            id,
            None,
            vec![LineQuantity {
                line_id: order.lines()[0].id,
                quantity: Quantity::new(2).unwrap(),
            }],
            Some(order_core::Carrier::parse("DHL").unwrap()),
            None,
            &actor,
        )
        .await
        .unwrap();
    service
        .deliver(id, None, shipped.shipments()[0].id, &actor)
        .await
        .unwrap();
    let one = Money::parse("1.00", order.currency()).unwrap();
    service
        .refund(id, one, Reason::parse("goodwill").unwrap(), &actor)
        .await
        .unwrap();
    let other = service
        .place(
            PlaceOrderBuilder::new(customer(2)).line(&shirt, 1).build(),
            None,
            &actor,
        )
        .await
        .unwrap();
    service
        .cancel(
            other.id(),
            None,
            Reason::parse("no longer needed").unwrap(),
            &actor,
        )
        .await
        .unwrap();
    let events = h.store.feed(0, 1_000).await.unwrap();
    Wire::new(Arc::clone(&h.store), "/order-service")
        .messages(&events)
        .await
        .unwrap()
}

#[test]
fn every_published_type_has_a_kafka_message_on_the_order_events_channel() {
    let doc = doc();
    let channel: BTreeSet<String> = doc["channels"]["order-events"]["messages"]
        .as_object()
        .expect("channels.order-events.messages")
        .keys()
        .cloned()
        .collect();
    let published: BTreeSet<String> = types::ALL.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(
        channel, published,
        "the order-events channel lists every type"
    );
    for event_type in types::ALL {
        let message = &doc["components"]["messages"][format!("kafka.{event_type}")];
        assert_eq!(
            message["name"], *event_type,
            "kafka.{event_type} is named after its type"
        );
        assert_eq!(
            message["headers"]["$ref"], "#/components/schemas/CloudEventHeaders",
            "kafka.{event_type} carries the CloudEvents headers"
        );
        assert!(
            message["payload"]["$ref"].is_string(),
            "kafka.{event_type} has a payload schema"
        );
    }
}

#[tokio::test]
async fn every_field_and_header_a_message_carries_is_declared() {
    let doc = doc();
    let headers = properties(&doc, &doc["components"]["schemas"]["CloudEventHeaders"]);
    for message in whole_life_messages().await {
        let documented = &doc["components"]["messages"][format!("kafka.{}", message.event_type)];
        let declared = properties(&doc, &documented["payload"]);
        let body: Value = serde_json::from_slice(&message.body).unwrap();
        let undeclared: Vec<&String> = body
            .as_object()
            .unwrap()
            .keys()
            .filter(|field| !declared.contains(*field))
            .collect();
        assert!(
            undeclared.is_empty(),
            "{} carries {undeclared:?}, undeclared in its schema",
            message.event_type
        );
        for (name, _) in &message.headers {
            assert!(headers.contains(*name), "header {name} is undeclared");
        }
    }
}

#[test]
fn the_consumed_payment_events_declare_the_seeds_fields() {
    let doc = doc();
    for (event_type, seed_fields) in [
        (
            "payment.processed",
            &[
                "paymentId",
                "orderId",
                "userId",
                "amount",
                "currency",
                "paymentMethod",
                "transactionId",
                "processedAt",
            ][..],
        ),
        (
            "payment.failed",
            &[
                "paymentId",
                "orderId",
                "userId",
                "amount",
                "currency",
                "failureReason",
                "failureCode",
                "failedAt",
            ][..],
        ),
        (
            "payment.refunded",
            &[
                "paymentId",
                "orderId",
                "amount",
                "currency",
                "transactionId",
            ][..],
        ),
    ] {
        assert!(inbound::TYPES.contains(&event_type));
        let message = &doc["components"]["messages"][format!("kafka.{event_type}")];
        assert_eq!(message["name"], event_type);
        let declared = properties(&doc, &message["payload"]);
        for field in seed_fields {
            assert!(
                declared.contains(*field),
                "{event_type} does not declare {field}"
            );
        }
        assert!(
            doc["channels"]["payment-events"]["messages"][event_type].is_object(),
            "the payment-events channel lists {event_type}"
        );
    }
}
