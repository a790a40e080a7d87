//! The admin console's pages without a browser: each answers with a
//! session and sends to the login page without one; forms need the
//! session's CSRF token and this site's origin; an order offers only what
//! it allows now; a confirmed action redirects, a stale one shows the
//! conflict. (The browser walk is `tests/console/`.)

use axum::body::Body;
use axum::http::{Method, Request, header};

use crate::common::{Reply, TestApp, id_of};

fn page(path: &str, session: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(Method::GET).uri(path);
    if let Some(token) = session {
        builder = builder.header(header::COOKIE, format!("order_console={token}"));
    }
    builder.body(Body::empty()).expect("a request")
}

fn form(path: &str, session: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "console.test")
        .header(header::COOKIE, format!("order_console={session}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        builder = builder.header(header::ORIGIN, origin);
    }
    let body = serde_urlencoded::to_string(fields).expect("a form");
    builder.body(Body::from(body)).expect("a request")
}

/// The value of the first hidden input named `name` on a page.
fn hidden(reply: &Reply, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = reply
        .text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {}", reply.text))
        + marker.len();
    let end = reply.text[start..].find('"').expect("a closing quote") + start;
    reply.text[start..end].to_owned()
}

fn offers(reply: &Reply, action: &str) -> bool {
    reply
        .text
        .contains(&format!("name=\"action\" value=\"{action}\""))
}

#[tokio::test]
async fn every_page_answers_with_a_session_and_sends_to_the_login_page_without() {
    let app = TestApp::new();
    let order = app.paid().await;
    let id = id_of(&order);
    let admin = app.admin();
    let service = app.service();
    let shown = app
        .send(page(&format!("/admin/orders/{id}"), Some(&admin)))
        .await;
    let version = hidden(&shown, "version");
    for path in [
        "/admin/orders".to_owned(),
        "/admin/orders?status=confirmed&payment=paid".to_owned(),
        format!("/admin/orders/{id}"),
        format!("/admin/orders/{id}/preview?action=start_processing&version={version}"),
        "/admin/products".to_owned(),
        "/admin/reports".to_owned(),
        "/admin/compensations".to_owned(),
    ] {
        let without = app.send(page(&path, None)).await;
        assert_eq!(without.status, 303, "{path}");
        let location = without.header("location").unwrap_or_default();
        assert!(
            location.starts_with("/admin/login?next="),
            "{path}: {location}"
        );
        assert!(
            !without.text.contains(id),
            "{path} shows data without a session"
        );
        for token in [&admin, &service] {
            let with = app.send(page(&path, Some(token))).await;
            assert_eq!(with.status, 200, "{path}: {}", with.text);
            assert!(
                with.header("content-type")
                    .is_some_and(|t| t.starts_with("text/html")),
                "{path}"
            );
            assert!(
                with.header("content-security-policy")
                    .is_some_and(|p| p.contains("style-src 'self'")),
                "{path}"
            );
        }
    }
    let login = app.send(page("/admin/login", None)).await;
    assert_eq!(login.status, 200);
    let css = app.send(page("/admin/console.css", None)).await;
    assert_eq!(css.status, 200);
}

#[tokio::test]
async fn the_orders_list_filters_by_payment_status_in_the_store() {
    let app = TestApp::new();
    let paid = app.paid().await;
    let unpaid = app.place().await;
    let admin = app.admin();
    let shows = |reply: &Reply, order: &serde_json::Value| {
        reply
            .text
            .contains(&format!("/admin/orders/{}", id_of(order)))
    };
    let page_of = |payment: &str| page(&format!("/admin/orders?payment={payment}"), Some(&admin));
    let only_paid = app.send(page_of("paid")).await;
    assert_eq!(only_paid.status, 200);
    assert!(shows(&only_paid, &paid) && !shows(&only_paid, &unpaid));
    assert!(only_paid.text.contains("1 orders on this page"));
    let only_unpaid = app.send(page_of("unpaid")).await;
    assert!(shows(&only_unpaid, &unpaid) && !shows(&only_unpaid, &paid));
}

#[tokio::test]
async fn a_bad_or_customer_token_opens_no_session() {
    let app = TestApp::new();
    let customer = app.alice();
    let reply = app
        .send(form("/admin/login", "", &[("token", &customer)], None))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(reply.header("set-cookie").is_none());
    let reply = app
        .send(form("/admin/login", "", &[("token", "not-a-token")], None))
        .await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert!(reply.text.contains("invalid token"), "{}", reply.text);
    let admin = app.admin();
    let reply = app
        .send(form(
            "/admin/login",
            "",
            &[("token", &admin), ("next", "https://evil.example")],
            None,
        ))
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/admin/orders"));
    let cookie = reply.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // An expired or forged session cookie is sent to sign in again.
    let reply = app.send(page("/admin/orders", Some("forged"))).await;
    assert_eq!(reply.status, 303);
    assert!(
        reply
            .header("location")
            .unwrap_or_default()
            .contains("expired=1")
    );
}

#[tokio::test]
async fn an_order_offers_only_what_it_allows_now_and_what_the_role_may_do() {
    let app = TestApp::new();
    let admin = app.admin();
    let pending = app.place().await;
    let reply = app
        .send(page(
            &format!("/admin/orders/{}", id_of(&pending)),
            Some(&admin),
        ))
        .await;
    assert!(offers(&reply, "cancel"));
    for refused in [
        "start_processing",
        "ship",
        "deliver",
        "refund",
        "receive_return",
    ] {
        assert!(!offers(&reply, refused), "a pending order offers {refused}");
    }

    let paid = app.paid().await;
    let path = format!("/admin/orders/{}", id_of(&paid));
    let reply = app.send(page(&path, Some(&admin))).await;
    for offered in ["start_processing", "refund", "cancel"] {
        assert!(
            offers(&reply, offered),
            "a paid order does not offer {offered}"
        );
    }
    assert!(!offers(&reply, "ship"));
    // Refunds are for admins: a service's session is not offered one.
    let reply = app.send(page(&path, Some(&app.service()))).await;
    assert!(offers(&reply, "start_processing"));
    assert!(!offers(&reply, "refund"));
}

#[tokio::test]
async fn a_form_needs_this_sessions_csrf_token_and_this_sites_origin() {
    let app = TestApp::new();
    let admin = app.admin();
    let order = app.paid().await;
    let path = format!("/admin/orders/{}", id_of(&order));
    let shown = app.send(page(&path, Some(&admin))).await;
    let csrf = hidden(&shown, "csrf");
    let version = hidden(&shown, "version");
    let actions = format!("{path}/actions");
    let cancel = [
        ("action", "cancel"),
        ("version", version.as_str()),
        ("reason", "test"),
    ];
    let reply = app
        .send(form(
            &actions,
            &admin,
            &[&cancel[..], &[("csrf", "forged")]].concat(),
            None,
        ))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    let reply = app
        .send(form(
            &actions,
            &admin,
            &[&cancel[..], &[("csrf", csrf.as_str())]].concat(),
            Some("https://evil.example"),
        ))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    // Another session's token is not this one's.
    let reply = app
        .send(form(
            &actions,
            &app.service(),
            &[&cancel[..], &[("csrf", csrf.as_str())]].concat(),
            None,
        ))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    let after = app.fetch(&order).await;
    assert_eq!(after["status"], "confirmed");
}

#[tokio::test]
async fn a_confirmed_action_redirects_to_the_order_and_a_stale_one_shows_the_conflict() {
    let app = TestApp::new();
    let admin = app.admin();
    let order = app.paid().await;
    let path = format!("/admin/orders/{}", id_of(&order));
    let shown = app.send(page(&path, Some(&admin))).await;
    let csrf = hidden(&shown, "csrf");
    let version = hidden(&shown, "version");
    let fields = [
        ("action", "start_processing"),
        ("version", version.as_str()),
        ("csrf", csrf.as_str()),
    ];
    // The preview says what would happen and offers the confirmation.
    let preview = app
        .send(page(
            &format!("{path}/preview?action=start_processing&version={version}"),
            Some(&admin),
        ))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert!(preview.text.contains("processing") && preview.text.contains("id=\"confirm\""));

    let done = app
        .send(form(
            &format!("{path}/actions"),
            &admin,
            &fields,
            Some("http://console.test"),
        ))
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(
        done.header("location"),
        Some(format!("{path}?done=start_processing").as_str())
    );
    assert_eq!(app.fetch(&order).await["status"], "processing");

    // The same form again: the order moved on, so it is a conflict, shown.
    let stale = app
        .send(form(&format!("{path}/actions"), &admin, &fields, None))
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert!(
        stale.text.contains("Someone else changed this order"),
        "{}",
        stale.text
    );
    // And a preview at the old version offers no confirmation.
    let preview = app
        .send(page(
            &format!("{path}/preview?action=cancel&reason=x&version={version}"),
            Some(&admin),
        ))
        .await;
    assert_eq!(preview.status, 409);
    assert!(!preview.text.contains("id=\"confirm\""));
    // A refusal is the problem's detail.
    let current = hidden(&app.send(page(&path, Some(&admin))).await, "version");
    let refused = app
        .send(page(
            &format!("{path}/preview?action=refund&amount=100000&reason=x&version={current}"),
            Some(&admin),
        ))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("refund"), "{}", refused.text);
}

#[tokio::test]
async fn an_admin_resolves_a_compensation_from_its_page_and_a_service_session_only_sees_it() {
    let app = TestApp::new();
    let order = app.paid().await;
    let compensation = order_core::order::Compensation {
        id: order_core::CompensationId::new(uuid::Uuid::now_v7()).expect("an id"),
        order_id: id_of(&order).parse().expect("an order id"),
        step: "void authorization".into(),
        amount: None,
        detail: "the gateway did not answer".into(),
        at: chrono::Utc::now(),
        resolution: None,
    };
    app.harness
        .store
        .record_compensation(&compensation)
        .await
        .expect("recorded");
    let admin = app.admin();
    let listed = app.send(page("/admin/compensations", Some(&admin))).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(listed.text.contains("Mark resolved"), "{}", listed.text);
    let as_service = app
        .send(page("/admin/compensations", Some(&app.service())))
        .await;
    assert!(as_service.text.contains("the gateway did not answer"));
    assert!(!as_service.text.contains("Mark resolved"));

    let csrf = hidden(&listed, "csrf");
    let resolve = format!("/admin/compensations/{}/resolve", compensation.id);
    let done = app
        .send(form(
            &resolve,
            &admin,
            &[("csrf", csrf.as_str()), ("note", "voided by hand")],
            Some("http://console.test"),
        ))
        .await;
    assert_eq!(done.status, 303, "{}", done.text);
    let after = app.send(page("/admin/compensations", Some(&admin))).await;
    assert!(!after.text.contains("Mark resolved"), "{}", after.text);
    assert!(after.text.contains("voided by hand"), "{}", after.text);
    let log = app.harness.store.compensations().await.expect("the log");
    assert!(log[0].resolution.is_some());
}
