//! Authentication and the roles' reach.

use axum::http::Method;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use order_http::auth::{AuthConfig, Role};
use serde_json::{Value, json};

use crate::common::{
    ALICE, BOB, SECRET, Setup, TestApp, all_units, build, claims, hs256, now_secs, order_path,
    path, pay_path, unsigned,
};

const RSA_PRIVATE: &[u8] = include_bytes!("../fixtures/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../fixtures/rsa_public.pem");
const ED_PRIVATE: &[u8] = include_bytes!("../fixtures/ed25519_private.pem");
const ED_PUBLIC: &[u8] = include_bytes!("../fixtures/ed25519_public.pem");

const SOME_ID: &str = "0190aaaa-0000-7000-8000-000000000001";

/// Every route that needs a token, with a body where one is read.
fn protected_routes() -> Vec<(Method, String, Option<Value>)> {
    let order = format!("/api/v1/orders/{SOME_ID}");
    let body = Some(json!({}));
    vec![
        (Method::POST, "/api/v1/orders".into(), body.clone()),
        (Method::GET, "/api/v1/orders".into(), None),
        (Method::GET, order.clone(), None),
        (
            Method::GET,
            "/api/v1/orders/by-number/ORD-2026-000001".into(),
            None,
        ),
        (Method::PATCH, order.clone(), body.clone()),
        (Method::GET, format!("{order}/items"), None),
        (Method::POST, format!("{order}/items"), body.clone()),
        (
            Method::PATCH,
            format!("{order}/items/{SOME_ID}"),
            body.clone(),
        ),
        (Method::DELETE, format!("{order}/items/{SOME_ID}"), None),
        (Method::POST, format!("{order}/pay"), None),
        (Method::POST, format!("{order}/cancel"), body.clone()),
        (Method::POST, format!("{order}/processing"), None),
        (Method::POST, format!("{order}/shipments"), body.clone()),
        (
            Method::POST,
            format!("{order}/shipments/{SOME_ID}/deliver"),
            None,
        ),
        (Method::POST, format!("{order}/complete"), None),
        (Method::POST, format!("{order}/returns"), body.clone()),
        (
            Method::POST,
            format!("{order}/returns/{SOME_ID}/receive"),
            body.clone(),
        ),
        (Method::POST, format!("{order}/refunds"), body.clone()),
        (Method::GET, format!("{order}/history"), None),
        (Method::GET, format!("{order}/invoice"), None),
        (Method::GET, format!("{order}/tracking"), None),
        (Method::POST, format!("{order}/dry-run"), body.clone()),
        (Method::GET, "/api/v1/events".into(), None),
        (Method::POST, "/api/v1/payments/events".into(), body.clone()),
        (Method::POST, "/api/v1/products".into(), body.clone()),
        (Method::GET, "/api/v1/products".into(), None),
        (Method::GET, "/api/v1/stock/TSHIRT".into(), None),
        (Method::PUT, "/api/v1/stock/TSHIRT".into(), body),
        (
            Method::GET,
            "/api/v1/reports?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z".into(),
            None,
        ),
    ]
}

#[tokio::test]
async fn every_api_route_refuses_a_request_without_a_token() {
    let app = TestApp::new();
    for (method, uri, body) in protected_routes() {
        let reply = app
            .send(build(method.clone(), &uri, None, body.as_ref(), &[]))
            .await;
        assert_eq!(reply.status, 401, "{method} {uri}: {}", reply.text);
        reply.problem(401, "unauthorized");
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::new();
    let token = app.admin();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let value = format!("{scheme} {token}");
        let reply = app
            .send(build(
                Method::GET,
                "/api/v1/orders",
                None,
                None,
                &[("authorization", &value)],
            ))
            .await;
        assert_eq!(reply.status, 200, "{value:?}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_malformed_authorization_header_is_401() {
    let app = TestApp::new();
    let valid = app.admin();
    for value in [
        "Basic YWRtaW46YWRtaW4=".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer not-a-jwt".to_owned(),
        "Bearer a.b.c".to_owned(),
        valid.clone(),
        format!("Token {valid}"),
    ] {
        let reply = app
            .send(build(
                Method::GET,
                "/api/v1/orders",
                None,
                None,
                &[("authorization", &value)],
            ))
            .await;
        assert_eq!(reply.status, 401, "{value:?}: {}", reply.text);
        reply.problem(401, "unauthorized");
    }
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let app = TestApp::new();
    let expired = hs256(
        SECRET,
        &json!({"sub": "ops", "role": "admin", "exp": now_secs() - 10}),
    );
    let reply = app.get("/api/v1/orders", &expired).await;
    let problem = reply.problem(401, "unauthorized");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("xpired")),
        "{problem}"
    );
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_401() {
    let app = TestApp::new();
    let forged = hs256(
        b"not the service's secret at all!!",
        &claims("ops", "admin"),
    );
    app.get("/api/v1/orders", &forged)
        .await
        .problem(401, "unauthorized");
    // The right header and claims with the signature of another token.
    let genuine = app.admin();
    let (head, _) = genuine.rsplit_once('.').expect("a JWT");
    let other = hs256(SECRET, &claims("someone-else", "admin"));
    let (_, signature) = other.rsplit_once('.').expect("a JWT");
    app.get("/api/v1/orders", &format!("{head}.{signature}"))
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_401() {
    let app = TestApp::new();
    app.get("/api/v1/orders", &unsigned(&claims("ops", "admin")))
        .await
        .problem(401, "unauthorized");
    // alg none with a signature attached is refused too.
    let (_, signature) = app
        .admin()
        .rsplit_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .expect("a JWT");
    let token = format!("{}{signature}", unsigned(&claims("ops", "admin")));
    app.get("/api/v1/orders", &token)
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn a_token_without_the_required_claims_is_401() {
    let app = TestApp::new();
    for claims in [
        json!({"sub": "ops", "exp": now_secs() + 600}),
        json!({"sub": "ops", "role": "root", "exp": now_secs() + 600}),
        json!({"sub": "ops", "role": "admin"}),
        json!({"role": "admin", "exp": now_secs() + 600}),
        json!({"sub": "not-a-customer-id", "role": "customer", "exp": now_secs() + 600}),
    ] {
        let reply = app.get("/api/v1/orders", &hs256(SECRET, &claims)).await;
        assert_eq!(reply.status, 401, "{claims}: {}", reply.text);
        reply.problem(401, "unauthorized");
    }
}

fn signed(algorithm: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), claims, key).expect("a token")
}

async fn accepts_own_and_refuses_hs256(
    app: &TestApp,
    algorithm: Algorithm,
    key: &EncodingKey,
    public: &[u8],
) {
    let admin = signed(algorithm, key, &claims("ops", "admin"));
    app.get("/api/v1/orders", &admin).await.expect(200);
    let customer = signed(algorithm, key, &claims(ALICE, "customer"));
    app.place_with(&customer, &app.order_body(&[("MUG", 1)]))
        .await;

    let expired = signed(
        algorithm,
        key,
        &json!({"sub": "ops", "role": "admin", "exp": now_secs() - 10}),
    );
    app.get("/api/v1/orders", &expired)
        .await
        .problem(401, "unauthorized");
    app.get("/api/v1/orders", &hs256(SECRET, &claims("ops", "admin")))
        .await
        .problem(401, "unauthorized");
    // Algorithm confusion: HS256 keyed with the public key.
    app.get("/api/v1/orders", &hs256(public, &claims("ops", "admin")))
        .await
        .problem(401, "unauthorized");
    app.get("/api/v1/orders", &unsigned(&claims("ops", "admin")))
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn an_rs256_set_up_accepts_its_own_tokens_and_refuses_hs256_ones() {
    let app = TestApp::with(Setup {
        auth: AuthConfig::rs256(RSA_PUBLIC).expect("an RSA public key"),
        ..Setup::default()
    });
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("an RSA private key");
    accepts_own_and_refuses_hs256(&app, Algorithm::RS256, &key, RSA_PUBLIC).await;
}

#[tokio::test]
async fn an_eddsa_set_up_accepts_its_own_tokens_and_refuses_hs256_ones() {
    let app = TestApp::with(Setup {
        auth: AuthConfig::eddsa(ED_PUBLIC).expect("an Ed25519 public key"),
        ..Setup::default()
    });
    let key = EncodingKey::from_ed_pem(ED_PRIVATE).expect("an Ed25519 private key");
    accepts_own_and_refuses_hs256(&app, Algorithm::EdDSA, &key, ED_PUBLIC).await;
    // An RS256 token is not an EdDSA one.
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).expect("an RSA private key");
    app.get(
        "/api/v1/orders",
        &signed(Algorithm::RS256, &rsa, &claims("ops", "admin")),
    )
    .await
    .problem(401, "unauthorized");
}

fn with_issuer_and_audience() -> TestApp {
    TestApp::with(Setup {
        auth: AuthConfig::hs256(SECRET)
            .with_issuer("https://id.example".into())
            .with_audience("orders".into()),
        ..Setup::default()
    })
}

#[tokio::test]
async fn a_configured_issuer_and_audience_must_match() {
    let app = with_issuer_and_audience();
    let exp = now_secs() + 600;
    let good = json!({"sub": "ops", "role": "admin", "exp": exp, "iss": "https://id.example", "aud": "orders"});
    app.get("/api/v1/orders", &hs256(SECRET, &good))
        .await
        .expect(200);
    for bad in [
        json!({"sub": "ops", "role": "admin", "exp": exp, "iss": "https://evil.example", "aud": "orders"}),
        json!({"sub": "ops", "role": "admin", "exp": exp, "iss": "https://id.example", "aud": "billing"}),
    ] {
        let reply = app.get("/api/v1/orders", &hs256(SECRET, &bad)).await;
        assert_eq!(reply.status, 401, "{bad}: {}", reply.text);
        reply.problem(401, "unauthorized");
    }
}

#[tokio::test]
async fn a_token_lacking_the_configured_issuer_or_audience_is_401() {
    let app = with_issuer_and_audience();
    let exp = now_secs() + 600;
    let mut accepted = Vec::new();
    for (missing, claims) in [
        (
            "iss",
            json!({"sub": "ops", "role": "admin", "exp": exp, "aud": "orders"}),
        ),
        (
            "aud",
            json!({"sub": "ops", "role": "admin", "exp": exp, "iss": "https://id.example"}),
        ),
    ] {
        let reply = app.get("/api/v1/orders", &hs256(SECRET, &claims)).await;
        if reply.status == 401 {
            reply.problem(401, "unauthorized");
        } else {
            accepted.push(format!("without {missing}: {}", reply.status));
        }
    }
    assert!(accepted.is_empty(), "accepted {accepted:?}");
}

#[tokio::test]
async fn another_customers_order_is_a_404_everywhere() {
    let app = TestApp::new();
    let order = app.paid().await;
    let bob = app.bob();
    let number = order["number"].as_str().expect("number");
    let line = order["lines"][0]["id"].as_str().expect("line");
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, order_path(&order), None),
        (
            Method::GET,
            format!("/api/v1/orders/by-number/{number}"),
            None,
        ),
        (
            Method::PATCH,
            order_path(&order),
            Some(json!({"notes": "mine now"})),
        ),
        (Method::GET, path(&order, "items"), None),
        (
            Method::POST,
            path(&order, "items"),
            Some(json!({"product_id": app.product_id("MUG"), "quantity": 1})),
        ),
        (
            Method::PATCH,
            path(&order, &format!("items/{line}")),
            Some(json!({"quantity": 1})),
        ),
        (Method::DELETE, path(&order, &format!("items/{line}")), None),
        (Method::POST, pay_path(&order), None),
        (
            Method::POST,
            path(&order, "cancel"),
            Some(json!({"reason": "not mine"})),
        ),
        (
            Method::POST,
            path(&order, "returns"),
            Some(json!({"lines": all_units(&order), "reason": "not mine"})),
        ),
        (Method::GET, path(&order, "history"), None),
        (Method::GET, path(&order, "invoice"), None),
        (Method::GET, path(&order, "tracking"), None),
        (
            Method::POST,
            path(&order, "dry-run"),
            Some(json!({"action": "cancel", "reason": "peek"})),
        ),
    ];
    for (method, uri, body) in attempts {
        let reply = app
            .send(build(method.clone(), &uri, Some(&bob), body.as_ref(), &[]))
            .await;
        assert_eq!(reply.status, 404, "{method} {uri}: {}", reply.text);
        reply.problem(404, "order_not_found");
        assert!(
            !reply.text.contains(ALICE),
            "{method} {uri} leaks the owner: {}",
            reply.text
        );
    }
    let after = app.fetch(&order).await;
    assert_eq!(after["version"], order["version"], "nothing changed");
    assert_eq!(after["status"], "confirmed");
}

#[tokio::test]
async fn a_customers_list_holds_only_their_own_orders_whatever_they_ask_for() {
    let app = TestApp::new();
    let alices = app.place().await;
    let bobs = app
        .place_with(&app.bob(), &app.order_body(&[("MUG", 1)]))
        .await;
    for uri in [
        "/api/v1/orders".to_owned(),
        format!("/api/v1/orders?customer_id={ALICE}"),
    ] {
        let reply = app.get(&uri, &app.bob()).await;
        let orders = reply.expect(200)["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), 1, "{uri}: {}", reply.text);
        assert_eq!(orders[0]["id"], bobs["id"]);
    }
    let mine = app.get("/api/v1/orders", &app.alice()).await;
    assert_eq!(mine.expect(200)["orders"][0]["id"], alices["id"]);
    let everyone = app.get("/api/v1/orders", &app.admin()).await;
    assert_eq!(
        everyone.expect(200)["orders"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn a_customer_may_not_call_admin_or_service_operations() {
    let app = TestApp::new();
    let order = app.paid().await;
    let alice = app.alice();
    let product = json!({
        "product_id": "0190aaaa-0000-7000-8000-0000000000aa", "sku": "HAT", "name": "Hat",
        "unit_price": "9.00", "currency": "USD", "tax_class": "standard", "kind": "physical"
    });
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::POST, path(&order, "processing"), None),
        (
            Method::POST,
            path(&order, "shipments"),
            Some(json!({"lines": all_units(&order), "carrier": "UPS"})),
        ),
        (
            Method::POST,
            path(&order, &format!("shipments/{SOME_ID}/deliver")),
            None,
        ),
        (Method::POST, path(&order, "complete"), None),
        (
            Method::POST,
            path(&order, &format!("returns/{SOME_ID}/receive")),
            Some(json!({"refund": true})),
        ),
        (
            Method::POST,
            path(&order, "refunds"),
            Some(json!({"amount": "1.00", "reason": "please"})),
        ),
        (
            Method::GET,
            "/api/v1/reports?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z".into(),
            None,
        ),
        (Method::POST, "/api/v1/products".into(), Some(product)),
        (Method::GET, "/api/v1/stock/TSHIRT".into(), None),
        (
            Method::PUT,
            "/api/v1/stock/TSHIRT".into(),
            Some(json!({"on_hand": 1000})),
        ),
        (Method::GET, "/api/v1/events".into(), None),
        (
            Method::POST,
            "/api/v1/payments/events".into(),
            Some(
                json!({"id": "evt_1", "type": "payment.refunded", "order_id": order["id"], "amount": "1.00", "reference": "re_1"}),
            ),
        ),
    ];
    for (method, uri, body) in attempts {
        let reply = app
            .send(build(
                method.clone(),
                &uri,
                Some(&alice),
                body.as_ref(),
                &[],
            ))
            .await;
        assert_eq!(reply.status, 403, "{method} {uri}: {}", reply.text);
        reply.problem(403, "forbidden");
    }
    let after = app.fetch(&order).await;
    assert_eq!(after["version"], order["version"], "nothing changed");
    // What customers may do with their own order and the catalog.
    app.get("/api/v1/products", &alice).await.expect(200);
}

#[tokio::test]
async fn a_service_may_ship_deliver_and_post_payment_events_but_not_refund() {
    let app = TestApp::new();
    let order = app.paid().await;
    let service = app.service();
    app.post(&path(&order, "processing"), &service, &Value::Null)
        .await
        .expect(200);
    let shipped = app
        .post(
            &path(&order, "shipments"),
            &service,
            &json!({"lines": all_units(&order), "carrier": "UPS"}),
        )
        .await;
    let shipment = shipped.expect(201)["shipments"][0]["id"]
        .as_str()
        .expect("shipment")
        .to_owned();
    app.post(
        &path(&order, &format!("shipments/{shipment}/deliver")),
        &service,
        &Value::Null,
    )
    .await
    .expect(200);
    app.get("/api/v1/events", &service).await.expect(200);

    let refund = app
        .post(
            &path(&order, "refunds"),
            &service,
            &json!({"amount": "1.00", "reason": "service says so"}),
        )
        .await;
    refund.problem(403, "forbidden");
    app.post(&path(&order, "complete"), &service, &Value::Null)
        .await
        .problem(403, "forbidden");
    app.get(
        "/api/v1/reports?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
        &service,
    )
    .await
    .problem(403, "forbidden");

    let pending = app.place().await;
    let event = json!({
        "id": "evt_service_1", "type": "payment.processed", "order_id": pending["id"],
        "amount": pending["totals"]["total"], "reference": "ch_service_1"
    });
    let processed = app.post("/api/v1/payments/events", &service, &event).await;
    assert_eq!(processed.expect(200)["status"], "confirmed");
    // An admin is not the payment provider.
    let admin_event = app
        .post("/api/v1/payments/events", &app.admin(), &event)
        .await;
    admin_event.problem(403, "forbidden");
}

#[tokio::test]
async fn a_customer_may_not_place_an_order_for_another_customer() {
    let app = TestApp::new();
    let mut body = app.order_body(&[("MUG", 1)]);
    body["customer_id"] = json!(BOB);
    let reply = app.post("/api/v1/orders", &app.alice(), &body).await;
    reply.problem(403, "forbidden");
    let orders = app.get("/api/v1/orders", &app.admin()).await;
    assert_eq!(
        orders.expect(200)["orders"].as_array().map(Vec::len),
        Some(0)
    );

    body["customer_id"] = json!(ALICE);
    let own = app.place_with(&app.alice(), &body).await;
    assert_eq!(own["customer_id"], ALICE);
}

#[tokio::test]
async fn staff_place_orders_for_a_named_customer_only() {
    let app = TestApp::new();
    let mut body = app.order_body(&[("MUG", 1)]);
    let unnamed = app.post("/api/v1/orders", &app.admin(), &body).await;
    let problem = unnamed.problem(422, "validation_failed");
    assert_eq!(problem["field"], "customer_id");
    body["customer_id"] = json!(BOB);
    let placed = app.place_with(&app.admin(), &body).await;
    assert_eq!(placed["customer_id"], BOB);
    let seen = app.get(&order_path(&placed), &app.bob()).await;
    seen.expect(200);
    let history = app.get(&path(&placed, "history"), &app.bob()).await;
    assert_eq!(history.expect(200)["events"][0]["actor"], "admin:ops-alice");
}

#[tokio::test]
async fn a_minted_token_carries_its_role() {
    let app = TestApp::new();
    let minted = AuthConfig::hs256(SECRET)
        .mint("fulfilment", Role::Service, 60)
        .expect("a token");
    app.get("/api/v1/events", &minted).await.expect(200);
    let customer = AuthConfig::hs256(SECRET)
        .mint(ALICE, Role::Customer, 60)
        .expect("a token");
    app.get("/api/v1/events", &customer)
        .await
        .problem(403, "forbidden");
    // A token for an RS256 set-up cannot be minted.
    assert!(
        AuthConfig::rs256(RSA_PUBLIC)
            .expect("key")
            .mint("x", Role::Admin, 60)
            .is_none()
    );
}
