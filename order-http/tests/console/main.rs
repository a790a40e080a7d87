//! The admin console in a real browser: the `order-http` binary (`--dev`,
//! on a SQLite file of its own) and a headless Chromium driven through
//! chromedriver. An operator signs in with the admin token the binary
//! prints, filters the orders, opens one, starts processing, ships part of
//! it, refunds some, ships the rest, marks both parcels delivered, receives
//! a return with its refund, cancels another order, sees the timeline grow,
//! sees a refusal's detail and a version conflict (the order changed
//! through the API behind the page's back), edits a price and stock, reads
//! the reports, checks a phone-width screen and signs out. Each
//! page is saved as a screenshot under `<target dir>/console-screenshots/`;
//! `UPDATE_SCREENSHOTS=1` also copies the two the README shows to
//! `docs/images/`.
//!
//! Without Chromium and chromedriver the test says so in one line and
//! passes, unless `ORDER_REQUIRE_BROWSER=1`.

mod browser;
// Shared with the binary tests; this suite uses part of it.
#[allow(dead_code)]
#[path = "../binary/process.rs"]
mod process;

use fantoccini::Locator;
use serde_json::Value;

use browser::{Browser, Installed};
use process::{Scratch, Server, http, place_order, repository, stock_product};

const HOODIE: (&str, &str, &str) = ("0193e6d2-0000-7000-8000-00000000c0de", "HOODIE", "49.90");

/// The token the `--dev` banner prints for `role` ("Admin", "Customer").
fn token(server: &Server, role: &str) -> String {
    let prefix = format!("{role} token: ");
    server
        .banner
        .iter()
        .find_map(|line| line.trim().strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {role} token in {:?}", server.banner))
        .to_owned()
}

fn pay(server: &Server, customer: &str, order: &Value) {
    let (status, body) = http(
        "POST",
        &format!(
            "{}/api/v1/orders/{}/pay",
            server.base,
            order["id"].as_str().unwrap()
        ),
        customer,
        None,
    );
    assert_eq!(status, 200, "{body}");
}

/// The form of the action named `action` on an order page.
fn action_form(action: &str) -> String {
    format!("form:has(input[name=action][value={action}])")
}

/// Fills an action's form, asks for its preview and waits for the
/// preview page (with its confirm button, or the refusal).
async fn preview(browser: &Browser, action: &str, fields: &[(&str, &str)]) {
    let form = browser
        .client
        .form(Locator::Css(&action_form(action)))
        .await
        .unwrap_or_else(|err| panic!("no {action} form on the page: {err}"));
    for (name, value) in fields {
        form.set_by_name(name, value).await.expect("a field");
    }
    let old = browser.page().await;
    form.submit().await.expect("the preview is asked for");
    browser.replaced(old).await;
}

/// Confirms the previewed action and waits for the order page's notice.
async fn confirm(browser: &Browser) -> String {
    let old = browser.page().await;
    browser
        .wait("#confirm")
        .await
        .click()
        .await
        .expect("confirm");
    browser.replaced(old).await;
    browser.text(".banner").await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_takes_orders_through_their_life_in_the_browser() {
    let Some(installed) = Installed::find() else {
        return;
    };
    let scratch = Scratch::new("console");
    let data_dir = scratch.path().to_string_lossy().into_owned();
    let server = Server::start(&[("ORDER_DEV", "true"), ("ORDER_DATA_DIR", &data_dir)]);
    let base = server.base.clone();
    let admin = token(&server, "Admin");
    let customer = token(&server, "Customer");
    stock_product(&base, &admin, HOODIE, 50);
    let a = place_order(&base, &customer, HOODIE.0, 3);
    let b = place_order(&base, &customer, HOODIE.0, 1);
    let c = place_order(&base, &customer, HOODIE.0, 2);
    let _unpaid = place_order(&base, &customer, HOODIE.0, 1);
    for order in [&a, &b, &c] {
        pay(&server, &customer, order);
    }
    let number = |o: &Value| o["number"].as_str().unwrap().to_owned();
    let id = |o: &Value| o["id"].as_str().unwrap().to_owned();

    let browser = Browser::start(&installed).await;

    // No session, no data: the login page.
    browser.visit(&format!("{base}/admin/orders")).await;
    assert_eq!(browser.heading().await, "Sign in");
    browser.screenshot("01-login").await;
    let login = browser
        .client
        .form(Locator::Css("form.login"))
        .await
        .unwrap();
    login.set_by_name("token", &admin).await.unwrap();
    let old = browser.page().await;
    login.submit().await.unwrap();
    browser.replaced(old).await;
    assert_eq!(browser.heading().await, "Orders");
    assert_eq!(browser.count("table.orders tbody tr").await, 4);
    browser.screenshot("02-orders").await;

    // Filters: by payment status, then by status.
    let filters = browser
        .client
        .form(Locator::Css("form.filters"))
        .await
        .unwrap();
    filters.set_by_name("payment", "unpaid").await.unwrap();
    let old = browser.page().await;
    filters.submit().await.unwrap();
    browser.replaced(old).await;
    assert_eq!(browser.count("table.orders tbody tr").await, 1);
    let filters = browser
        .client
        .form(Locator::Css("form.filters"))
        .await
        .unwrap();
    filters.set_by_name("payment", "").await.unwrap();
    filters.set_by_name("status", "confirmed").await.unwrap();
    let old = browser.page().await;
    filters.submit().await.unwrap();
    browser.replaced(old).await;
    assert_eq!(browser.count("table.orders tbody tr").await, 3);
    browser.screenshot("03-orders-filtered").await;

    // Open order A; only what a confirmed, paid order allows is offered.
    browser
        .client
        .find(Locator::LinkText(&number(&a)))
        .await
        .expect("order A is listed")
        .click()
        .await
        .unwrap();
    browser.wait("#timeline").await;
    assert!(browser.heading().await.contains(&number(&a)));
    assert_eq!(browser.count(&action_form("ship")).await, 0);
    assert_eq!(browser.count(&action_form("start_processing")).await, 1);
    let events_before = browser.count("#timeline li").await;
    browser.screenshot("04-order").await;

    preview(&browser, "start_processing", &[]).await;
    assert!(confirm(&browser).await.contains("start processing"));
    assert_eq!(browser.text("#status").await, "processing");

    // Ship one hoodie of three.
    let line = a["lines"][0]["id"].as_str().unwrap();
    preview(
        &browser,
        "ship",
        &[
            (&format!("qty.{line}"), "1"),
            ("carrier", "UPS"),
            ("tracking", "1Z999AA10123456784"),
        ],
    )
    .await;
    assert!(
        browser
            .text("table.preview")
            .await
            .contains("partially_shipped")
    );
    browser.screenshot("05-preview-ship").await;
    assert!(confirm(&browser).await.contains("ship"));
    assert_eq!(browser.text("#status").await, "partially shipped");
    assert!(
        browser
            .text("#shipments")
            .await
            .contains("1Z999AA10123456784")
    );
    let timeline = browser.text("#timeline").await;
    assert!(timeline.contains("order.shipped"), "{timeline}");
    assert!(browser.count("#timeline li").await > events_before);

    // A refusal shows the problem's detail; a refund within bounds goes.
    preview(
        &browser,
        "refund",
        &[("amount", "100000"), ("reason", "too much")],
    )
    .await;
    let refusal = browser.text(".banner.problem").await;
    assert!(refusal.contains("refund"), "{refusal}");
    assert_eq!(browser.count("#confirm").await, 0);
    browser
        .visit(&format!("{base}/admin/orders/{}", id(&a)))
        .await;
    preview(
        &browser,
        "refund",
        &[("amount", "5.00"), ("reason", "goodwill")],
    )
    .await;
    assert!(browser.text("table.preview").await.contains("5.00 USD"));
    confirm(&browser).await;
    assert_eq!(browser.text("#refunded").await, "5.00 USD");
    assert!(browser.text("#timeline").await.contains("order.refunded"));
    // Tall enough to show the ledgers and the timeline (for the README).
    browser.client.set_window_size(1280, 1800).await.unwrap();
    browser.screenshot("06-order-after").await;
    browser.client.set_window_size(1280, 900).await.unwrap();

    // The rest ships; both parcels arrive; the customer sends one back
    // (through the API) and staff receive it, refunding its share.
    preview(
        &browser,
        "ship",
        &[
            (&format!("qty.{line}"), "2"),
            ("carrier", "DHL"),
            ("tracking", "JD0002"),
        ],
    )
    .await;
    confirm(&browser).await;
    assert_eq!(browser.text("#status").await, "shipped");
    for _ in 0..2 {
        preview(&browser, "deliver", &[]).await;
        confirm(&browser).await;
    }
    assert_eq!(browser.text("#status").await, "delivered");
    assert_eq!(browser.count(&action_form("deliver")).await, 0);
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/orders/{}/returns", id(&a)),
        &customer,
        Some(&format!(
            r#"{{"lines":[{{"line_id":"{line}","quantity":1}}],"reason":"too small"}}"#
        )),
    );
    assert_eq!(status, 201, "{body}");
    browser
        .visit(&format!("{base}/admin/orders/{}", id(&a)))
        .await;
    preview(&browser, "receive_return", &[]).await;
    assert!(
        browser
            .text("table.preview")
            .await
            .contains("Units returned")
    );
    confirm(&browser).await;
    assert_eq!(browser.text("#refunded").await, "54.90 USD");
    assert!(browser.text("#timeline").await.contains("order.returned"));
    browser.screenshot("06b-order-returned").await;

    // Cancel order B: the preview shows its refund.
    browser
        .visit(&format!("{base}/admin/orders/{}", id(&b)))
        .await;
    preview(&browser, "cancel", &[("reason", "customer asked")]).await;
    let would = browser.text("table.preview").await;
    assert!(
        would.contains("cancelled") && would.contains("refunded"),
        "{would}"
    );
    browser.screenshot("07-preview-cancel").await;
    confirm(&browser).await;
    assert_eq!(browser.text("#status").await, "cancelled");

    // Order C changes through the API between preview and confirmation:
    // the console shows the conflict and does nothing.
    browser
        .visit(&format!("{base}/admin/orders/{}", id(&c)))
        .await;
    preview(&browser, "start_processing", &[]).await;
    let (status, body) = http(
        "POST",
        &format!("{base}/api/v1/orders/{}/processing", id(&c)),
        &admin,
        None,
    );
    assert_eq!(status, 200, "{body}");
    let old = browser.page().await;
    browser.wait("#confirm").await.click().await.unwrap();
    browser.replaced(old).await;
    let conflict = browser.text(".banner.conflict").await;
    assert!(
        conflict.contains("Someone else changed this order"),
        "{conflict}"
    );
    assert_eq!(browser.text("#status").await, "processing");
    browser.screenshot("08-conflict").await;

    // Products: a price and the stock edited; reserved against on hand.
    browser.visit(&format!("{base}/admin/products")).await;
    let price = browser
        .client
        .form(Locator::Css("form[action='/admin/products/HOODIE/price']"))
        .await
        .unwrap();
    price.set_by_name("price", "52.00").await.unwrap();
    let old = browser.page().await;
    price.submit().await.unwrap();
    browser.replaced(old).await;
    assert!(
        browser
            .text(".banner.done")
            .await
            .contains("price of HOODIE")
    );
    let (status, body) = http("GET", &format!("{base}/api/v1/products"), &admin, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"52.00\""), "{body}");
    let stock = browser
        .client
        .form(Locator::Css("form[action='/admin/stock/HOODIE']"))
        .await
        .unwrap();
    stock.set_by_name("on_hand", "60").await.unwrap();
    let old = browser.page().await;
    stock.submit().await.unwrap();
    browser.replaced(old).await;
    assert!(browser.text(".banner.done").await.contains("HOODIE"));
    browser.screenshot("09-products").await;

    // Reports over the default period.
    browser.visit(&format!("{base}/admin/reports")).await;
    assert_eq!(browser.text("#orders-placed").await, "4");
    assert!(browser.count("svg.chart").await >= 3);
    browser.screenshot("10-reports").await;

    browser.visit(&format!("{base}/admin/compensations")).await;
    browser.screenshot("11-compensations").await;

    // A phone-width screen: the order page still fits its width.
    browser.client.set_window_size(390, 844).await.unwrap();
    browser
        .visit(&format!("{base}/admin/orders/{}", id(&a)))
        .await;
    let fits = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fits,
        Value::Bool(true),
        "the order page overflows a phone's width"
    );
    browser.screenshot("12-order-phone").await;
    browser.client.set_window_size(1280, 900).await.unwrap();

    // Signing out ends the session.
    let old = browser.page().await;
    browser
        .wait("form.signout button")
        .await
        .click()
        .await
        .unwrap();
    browser.replaced(old).await;
    assert_eq!(browser.heading().await, "Sign in");
    browser
        .visit(&format!("{base}/admin/orders/{}", id(&a)))
        .await;
    assert_eq!(browser.heading().await, "Sign in");

    browser.close().await;
    server.stop();

    if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let images = repository().join("docs/images");
        std::fs::create_dir_all(&images).unwrap();
        for (shot, name) in [
            ("02-orders", "console-orders"),
            ("06-order-after", "console-order"),
        ] {
            std::fs::copy(
                browser::screenshot_dir().join(format!("{shot}.png")),
                images.join(format!("{name}.png")),
            )
            .unwrap();
        }
    }
}
