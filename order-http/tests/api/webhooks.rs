//! The webhook subscription API: admins only, checked URLs and types, the
//! secret shown once, deliveries and redelivery of unknown ids answered 404.
//! (Deliveries themselves are tested end to end in tests/binary/webhooks.rs.)

use axum::http::Method;
use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn an_admin_subscribes_lists_and_removes_a_url_and_the_secret_shows_once() {
    let app = TestApp::new();
    let admin = app.admin();
    let reply = app
        .post(
            "/api/v1/webhooks",
            &admin,
            &json!({"url": "https://example.com/hooks", "event_types": ["order.created", "order.status_changed"]}),
        )
        .await;
    let created = reply.expect(201).clone();
    assert!(
        created["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    let id = created["id"].as_str().expect("an id").to_owned();

    let reply = app.get("/api/v1/webhooks", &admin).await;
    let listed = reply.expect(200);
    assert_eq!(listed["subscriptions"][0]["id"], created["id"]);
    assert!(
        listed["subscriptions"][0].get("secret").is_none(),
        "the secret is not listed"
    );

    let reply = app
        .get(
            &format!("/api/v1/webhooks/{id}/deliveries?state=failed"),
            &admin,
        )
        .await;
    assert_eq!(reply.expect(200)["deliveries"], json!([]));

    let reply = app
        .request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    let reply = app
        .request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&admin),
            None,
        )
        .await;
    reply.problem(404, "not_found");
}

#[tokio::test]
async fn only_admins_manage_webhooks() {
    let app = TestApp::new();
    let body = json!({"url": "https://example.com/hooks", "event_types": ["*"]});
    app.post("/api/v1/webhooks", &app.service(), &body)
        .await
        .problem(403, "forbidden");
    app.get("/api/v1/webhooks", &app.alice())
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn a_bad_url_type_or_secret_is_refused_naming_the_field() {
    let app = TestApp::new();
    let admin = app.admin();
    for (body, field) in [
        (
            json!({"url": "ftp://example.com", "event_types": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://example.com", "event_types": ["order.teleported"]}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://example.com", "event_types": ["*"], "secret": "hunter2"}),
            "secret",
        ),
    ] {
        let reply = app.post("/api/v1/webhooks", &admin, &body).await;
        assert_eq!(
            reply.problem(422, "validation_failed")["field"],
            field,
            "{body}"
        );
    }
    assert_eq!(
        app.get("/api/v1/webhooks", &admin).await.expect(200)["subscriptions"],
        json!([])
    );
}

#[tokio::test]
async fn unknown_subscriptions_and_deliveries_are_not_found() {
    let app = TestApp::new();
    let admin = app.admin();
    let unknown = "0190aaaa-0000-7000-8000-000000000001";
    app.get(&format!("/api/v1/webhooks/{unknown}/deliveries"), &admin)
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/webhook-deliveries/{unknown}"), &admin)
        .await
        .problem(404, "not_found");
    app.post(
        &format!("/api/v1/webhook-deliveries/{unknown}/redeliver"),
        &admin,
        &json!({}),
    )
    .await
    .problem(404, "not_found");
}
