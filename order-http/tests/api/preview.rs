//! The dry run of every operation and the invoice, as the core computes
//! them: previews show the money an operation would move, and the invoice
//! what was paid, refunded and is due.

use serde_json::{Value, json};

use crate::common::{TestApp, path};

fn events(reply: &Value) -> Vec<&str> {
    reply["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn previewing_the_cancellation_of_a_paid_order_shows_its_refund() {
    let app = TestApp::new();
    let order = app.paid().await;
    let reply = app
        .post(
            &path(&order, "dry-run"),
            &app.alice(),
            &json!({"action": "cancel", "reason": "just looking"}),
        )
        .await;
    let preview = reply.expect(200);
    assert_eq!(events(preview), ["order.refunded", "order.cancelled"]);
    assert_eq!(preview["order"]["payment_status"], "refunded");
    assert_eq!(
        preview["order"]["payments"]["refunded"],
        order["totals"]["total"]
    );
    assert_eq!(app.fetch(&order).await, order, "nothing changed");
}

#[tokio::test]
async fn every_route_of_an_order_can_be_previewed() {
    let app = TestApp::new();
    let order = app.place().await;
    let line = order["lines"][0]["id"].clone();
    let alice = app.alice();
    for (body, expected) in [
        (
            json!({"action": "update_item", "line_id": line, "quantity": 3}),
            "order.updated",
        ),
        (
            json!({"action": "remove_item", "line_id": line}),
            "order.updated",
        ),
        (
            json!({"action": "add_item", "product_id": app.product_id("BOOK"), "quantity": 1}),
            "order.updated",
        ),
        (
            json!({"action": "update_details", "change": {"notes": "leave at the door"}}),
            "order.updated",
        ),
        (json!({"action": "pay"}), "order.confirmed"),
    ] {
        let reply = app.post(&path(&order, "dry-run"), &alice, &body).await;
        let preview = reply.expect(200);
        assert!(events(preview).contains(&expected), "{body}: {preview}");
    }
    assert_eq!(app.fetch(&order).await, order, "nothing changed");
}

#[tokio::test]
async fn a_preview_needs_the_role_its_route_needs() {
    let app = TestApp::new();
    let order = app.paid().await;
    let refund = json!({"action": "refund", "amount": "1.00", "reason": "goodwill"});
    app.post(&path(&order, "dry-run"), &app.alice(), &refund)
        .await
        .problem(403, "forbidden");
    let reply = app
        .post(&path(&order, "dry-run"), &app.admin(), &refund)
        .await;
    assert_eq!(events(reply.expect(200)), ["order.refunded"]);
}

#[tokio::test]
async fn an_invoice_after_a_refund_shows_paid_refunded_and_nothing_due() {
    let app = TestApp::new();
    let placed = app.place().await;
    app.harness.clock.advance(chrono::Duration::hours(1));
    let order = app
        .post(&path(&placed, "pay"), &app.alice(), &Value::Null)
        .await
        .expect(200)
        .clone();
    app.post(
        &path(&order, "refunds"),
        &app.admin(),
        &json!({"amount": "5.00", "reason": "goodwill"}),
    )
    .await
    .expect(201);
    let invoice = app.get(&path(&order, "invoice"), &app.alice()).await;
    let invoice = invoice.expect(200);
    assert_eq!(invoice["paid"], order["totals"]["total"]);
    assert_eq!(invoice["refunded"], "5.00");
    assert_eq!(invoice["due"], "0.00");
    assert_eq!(
        invoice["issued_at"], order["confirmed_at"],
        "issued when confirmed"
    );
    assert_ne!(invoice["issued_at"], order["created_at"]);
}
