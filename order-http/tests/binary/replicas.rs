//! Replicas proven on one database: three `order-http` processes on one fresh
//! PostgreSQL database take mixed traffic at once — more buyers than units
//! for scarce products, each idempotency key sent to two replicas,
//! conflicting `If-Match` writes on one order, payments with their payment
//! events delivered to two replicas, cancellations racing payments — and
//! afterwards the database itself is asked whether the invariants held: no
//! unit oversold and every held unit an open order's, one order per key,
//! each order's versions recorded once with their events and history, every
//! acknowledged order there, every acknowledged capture in the ledger once.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use order_http::auth::{AuthConfig, Role};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::process::{Scratch, Server, repository, stock_product};

const SECRET: &str = "replicas-secret";
const WEBHOOK_SECRET: &str = "replicas-webhook-secret";
const CONNECTIONS: u32 = 4;
/// Processes on the one database.
const REPLICAS: usize = 3;
/// Buyers without a key: the first `SCARCE_BUYERS` want 1 of `SCARCE`'s
/// units each, the rest 2 of `PAIRED`'s.
const BUYERS: usize = 30;
const SCARCE_BUYERS: usize = 22;
/// Idempotency keys, each sent to two replicas.
const KEYS: usize = 12;

/// Scarce and ample products: (id, sku, price, units on hand).
const SCARCE: (&str, &str, &str, u32) =
    ("0193e6d2-0000-7000-8000-00000000a001", "SCARCE", "12.00", 5);
const PAIRED: (&str, &str, &str, u32) =
    ("0193e6d2-0000-7000-8000-00000000a002", "PAIRED", "30.00", 3);
const AMPLE: (&str, &str, &str, u32) = (
    "0193e6d2-0000-7000-8000-00000000a003",
    "AMPLE",
    "8.50",
    1000,
);

/// An answer: status and body as JSON (`Null` when the body is not JSON).
type Reply = (u16, Value);

/// `method url` with `headers` and an optional JSON body, through curl.
fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&Value>) -> Reply {
    let mut command = Command::new("curl");
    command.args(["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, url]);
    for (name, value) in headers {
        command.args(["-H", &format!("{name}: {value}")]);
    }
    if let Some(body) = body {
        command.args([
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ]);
    }
    let output = command.output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("a status line");
    (
        status.trim().parse().expect("a status code"),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// Work for one client thread.
type Job<T> = Box<dyn FnOnce() -> T + Send>;

/// Runs every job at once (one thread each, released together); their
/// answers in job order.
fn at_once<T: Send + 'static>(jobs: Vec<Job<T>>) -> Vec<T> {
    let gate = Arc::new(Barrier::new(jobs.len()));
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.wait();
                job()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("a request thread"))
        .collect()
}

/// No answer may be a server error, whatever raced.
fn no_server_error(what: &str, replies: &[Reply]) {
    for (status, body) in replies {
        assert!(*status < 500, "{what}: {status} {body}");
    }
}

fn order_body(product: &str, quantity: u32) -> Value {
    json!({"currency": "USD",
        "lines": [{"product_id": product, "quantity": quantity}],
        "shipping_address": {"name": "Jo", "line1": "1 Elm St", "city": "Portland",
                             "postal_code": "97201", "country": "US", "region": "OR"},
        "shipping_method": "standard"})
}

fn id_of(reply: &Reply) -> String {
    reply.1["id"].as_str().expect("an order id").to_owned()
}

/// The traffic's outcome, as the clients saw it.
#[derive(Default)]
struct Seen {
    /// Every order a 2xx answer named, with the highest version answered.
    acknowledged: BTreeMap<String, u64>,
    /// Idempotency key → the orders its answers named.
    keys: BTreeMap<String, BTreeSet<String>>,
    /// Order → the amount an acknowledged `payment.processed` captured.
    captured: BTreeMap<String, String>,
}

impl Seen {
    fn acknowledge(&mut self, reply: &Reply) {
        if (200..300).contains(&reply.0) && reply.1["id"].is_string() {
            let version = reply.1["version"].as_u64().expect("a version");
            let seen = self.acknowledged.entry(id_of(reply)).or_default();
            *seen = (*seen).max(version);
        }
    }
}

#[test]
#[allow(clippy::too_many_lines)] // One story: traffic, then the invariants.
fn three_replicas_on_one_database_keep_every_invariant_under_mixed_concurrent_traffic() {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(url) = runtime.block_on(order_store_postgres::testing::fresh_database_url()) else {
        return;
    };
    let config = repository().join("config/sample.toml");
    let config = config.to_string_lossy().into_owned();
    let connections = CONNECTIONS.to_string();
    let scratch: Vec<Scratch> = (0..REPLICAS)
        .map(|n| Scratch::new(&format!("replica-{n}")))
        .collect();
    let replicas: Vec<Server> = scratch
        .iter()
        .map(|data| {
            Server::start(&[
                ("DATABASE_URL", &url),
                ("ORDER_JWT_SECRET", SECRET),
                ("ORDER_WEBHOOK_SECRET", WEBHOOK_SECRET),
                ("ORDER_PAYMENTS", "external"),
                ("ORDER_CONFIG", &config),
                ("ORDER_DATA_DIR", &data.path().to_string_lossy()),
                ("ORDER_DB_MAX_CONNECTIONS", &connections),
                ("ORDER_LOG_FORMAT", "json"),
                ("RUST_LOG", "warn"),
            ])
        })
        .collect();
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    let base = |n: usize| bases[n % bases.len()].clone();
    let auth = AuthConfig::hs256(SECRET.as_bytes());
    let admin = auth.mint("admin", Role::Admin, 600).expect("a token");
    let service = auth.mint("payments", Role::Service, 600).expect("a token");
    let customers: Vec<String> = (0..6)
        .map(|n| {
            let id = format!("0193e6d2-6c1e-7b4e-9a3a-0000000000{n:02}");
            auth.mint(&id, Role::Customer, 600).expect("a token")
        })
        .collect();
    for (product, sku, price, units) in [SCARCE, PAIRED, AMPLE] {
        stock_product(&base(0), &admin, (product, sku, price), units);
    }
    let mut seen = Seen::default();

    // 1. Placements at once: 22 buyers of 1 unit for 5 units; 8 buyers of 2
    //    for 3 units; 12 keys each sent to two replicas.
    let mut jobs: Vec<Job<(&'static str, Option<String>, Reply)>> = Vec::new();
    for n in 0..BUYERS {
        let (product, quantity, label) = if n < SCARCE_BUYERS {
            (SCARCE.0, 1, "scarce")
        } else {
            (PAIRED.0, 2, "paired")
        };
        let (url, token) = (
            format!("{}/api/v1/orders", base(n)),
            customers[n % customers.len()].clone(),
        );
        jobs.push(Box::new(move || {
            let auth = format!("Bearer {token}");
            let reply = send(
                "POST",
                &url,
                &[("Authorization", &auth)],
                Some(&order_body(product, quantity)),
            );
            (label, None, reply)
        }));
    }
    for key in 0..KEYS {
        for replica in 0..2 {
            let (url, token) = (
                format!("{}/api/v1/orders", base(key + replica)),
                customers[key % customers.len()].clone(),
            );
            let key = format!("replicas-key-{key:02}");
            jobs.push(Box::new(move || {
                let auth = format!("Bearer {token}");
                // A duplicate still in flight on the other replica is 409
                // `idempotency_in_flight`: retry, as a client does, until
                // the first answer is there to repeat.
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    let reply = send(
                        "POST",
                        &url,
                        &[("Authorization", &auth), ("Idempotency-Key", &key)],
                        Some(&order_body(AMPLE.0, 2)),
                    );
                    let in_flight = reply.0 == 409
                        && reply.1["type"]
                            .as_str()
                            .is_some_and(|t| t.ends_with("idempotency_in_flight"));
                    if !in_flight || Instant::now() > deadline {
                        return ("keyed", Some(key), reply);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }));
        }
    }
    let placed = at_once(jobs);
    let mut sold = BTreeMap::<&str, u32>::new();
    let mut keyed_orders = Vec::new();
    let mut scarce_orders = Vec::new();
    for (label, key, reply) in &placed {
        assert!(
            reply.0 == 201 || (label != &"keyed" && reply.0 == 409),
            "{label}: {} {}",
            reply.0,
            reply.1
        );
        if reply.0 == 409 {
            assert_eq!(
                reply.1["type"]
                    .as_str()
                    .map(|t| t.ends_with("out_of_stock")),
                Some(true),
                "a refused buyer is told the stock is short: {}",
                reply.1
            );
            continue;
        }
        seen.acknowledge(reply);
        *sold.entry(*label).or_default() += 1;
        let id = id_of(reply);
        match key {
            Some(key) => {
                seen.keys.entry(key.clone()).or_default().insert(id.clone());
                if !keyed_orders.contains(&id) {
                    keyed_orders.push(id);
                }
            }
            None if *label == "scarce" => scarce_orders.push(id),
            None => {}
        }
    }
    assert_eq!(
        sold.get("scarce"),
        Some(&5),
        "5 units, 1 each: 5 buyers served"
    );
    assert_eq!(
        sold.get("paired"),
        Some(&1),
        "3 units, 2 each: 1 buyer served"
    );
    assert_eq!(
        sold.get("keyed").copied(),
        u32::try_from(2 * KEYS).ok(),
        "every keyed request answered 201"
    );
    assert_eq!(keyed_orders.len(), KEYS, "one order per key");
    for (key, orders) in &seen.keys {
        assert_eq!(orders.len(), 1, "{key} named {orders:?}");
    }

    // 2. Conflicting writes: the same change pinned to version 1, sent to
    //    two replicas at once: one wins, the other is told 412.
    let mut jobs: Vec<Job<Reply>> = Vec::new();
    for (n, id) in keyed_orders.iter().take(4).enumerate() {
        for replica in 0..2 {
            let url = format!("{}/api/v1/orders/{id}", base(n + replica));
            let auth = format!("Bearer {admin}");
            jobs.push(Box::new(move || {
                send(
                    "PATCH",
                    &url,
                    &[("Authorization", &auth), ("If-Match", "\"1\"")],
                    Some(&json!({"notes": format!("replica {replica} was here")})),
                )
            }));
        }
    }
    let patched = at_once(jobs);
    no_server_error("patch", &patched);
    for pair in patched.chunks(2) {
        let mut statuses: Vec<u16> = pair.iter().map(|r| r.0).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 412], "one write wins: {pair:?}");
    }
    for reply in &patched {
        seen.acknowledge(reply);
    }

    // 3. Checkout on one replica while, for every other scarce order, its
    //    customer cancels on the other.
    let owner = |id: &str| {
        placed
            .iter()
            .position(|(_, _, r)| r.0 == 201 && id_of(r) == id)
            .expect("placed here")
    };
    let mut jobs: Vec<Job<(String, &'static str, Reply)>> = Vec::new();
    let to_pay: Vec<String> = keyed_orders.iter().chain(&scarce_orders).cloned().collect();
    for (n, id) in to_pay.iter().enumerate() {
        let n_owner = owner(id);
        let token = if n_owner < BUYERS {
            customers[n_owner % customers.len()].clone()
        } else {
            customers[((n_owner - BUYERS) / 2) % customers.len()].clone()
        };
        let (pay, id_pay) = (format!("{}/api/v1/orders/{id}/pay", base(n)), id.clone());
        let auth = format!("Bearer {token}");
        let auth_pay = auth.clone();
        jobs.push(Box::new(move || {
            let reply = send("POST", &pay, &[("Authorization", &auth_pay)], None);
            (id_pay, "pay", reply)
        }));
        if scarce_orders.contains(id) && n % 2 == 0 {
            let (cancel, id) = (
                format!("{}/api/v1/orders/{id}/cancel", base(n + 1)),
                id.clone(),
            );
            jobs.push(Box::new(move || {
                let reply = send(
                    "POST",
                    &cancel,
                    &[("Authorization", &auth)],
                    Some(&json!({"reason": "changed my mind"})),
                );
                (id, "cancel", reply)
            }));
        }
    }
    let checkouts = at_once(jobs);
    no_server_error(
        "checkout",
        &checkouts
            .iter()
            .map(|(_, _, r)| r.clone())
            .collect::<Vec<_>>(),
    );
    let cancelled: BTreeSet<&String> = checkouts
        .iter()
        .filter(|(_, action, reply)| *action == "cancel" && reply.0 == 200)
        .map(|(id, _, _)| id)
        .collect();
    let mut pending_payment = BTreeSet::new();
    for (id, action, reply) in &checkouts {
        seen.acknowledge(reply);
        if *action == "pay" && reply.0 == 202 && !cancelled.contains(id) {
            pending_payment.insert(id.clone());
        }
    }
    assert!(
        keyed_orders.iter().all(|id| pending_payment.contains(id)),
        "every keyed order's checkout was accepted: {checkouts:?}"
    );

    // 4. The payment service reports: each event delivered to two
    //    replicas at once; two payments fail.
    let mut jobs: Vec<Job<(String, &'static str, Reply)>> = Vec::new();
    for (n, id) in pending_payment.iter().enumerate() {
        let kind = if n < 2 {
            "payment.failed"
        } else {
            "payment.processed"
        };
        for replica in 0..2 {
            let (url, token, id) = (
                format!("{}/api/v1/payments/events", base(n + replica)),
                service.clone(),
                id.clone(),
            );
            let base_for_total = base(n + replica);
            jobs.push(Box::new(move || {
                let auth = format!("Bearer {token}");
                let (_, order) = send(
                    "GET",
                    &format!("{base_for_total}/api/v1/orders/{id}"),
                    &[("Authorization", &auth)],
                    None,
                );
                let event = json!({"id": format!("evt-{id}"), "type": kind, "order_id": id,
                    "amount": order["totals"]["total"], "reference": format!("pay-{id}"),
                    "reason": "card declined"});
                let reply = send("POST", &url, &[("Authorization", &auth)], Some(&event));
                (id, kind, reply)
            }));
        }
    }
    let reported = at_once(jobs);
    no_server_error(
        "payment events",
        &reported
            .iter()
            .map(|(_, _, r)| r.clone())
            .collect::<Vec<_>>(),
    );
    for (id, kind, reply) in &reported {
        seen.acknowledge(reply);
        if *kind == "payment.processed" && reply.0 == 200 {
            assert_eq!(reply.1["payment_status"], "paid", "{reply:?}");
            let total = reply.1["totals"]["total"].to_string();
            seen.captured
                .insert(id.clone(), total.trim_matches('"').to_owned());
        }
    }
    for id in pending_payment.iter().skip(2) {
        assert!(
            seen.captured.contains_key(id),
            "a processed payment of {id} was acknowledged: {reported:?}"
        );
    }

    // 5. The database's own account.
    runtime.block_on(check_invariants(&url, &seen));
    for mut replica in replicas {
        replica.stop_within(Duration::from_secs(20));
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run took {:?}",
        started.elapsed()
    );
}

async fn scalar(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn check_invariants(url: &str, seen: &Seen) {
    let mut conn = PgConnection::connect(url).await.expect("a connection");

    // Each replica holds its pool and the relay lease's own connection.
    let held = scalar(
        &mut conn,
        "select count(*) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()",
    )
    .await;
    assert!(
        held <= i64::try_from(REPLICAS).expect("a count") * (i64::from(CONNECTIONS) + 1),
        "{held} connections from {REPLICAS} replicas of {CONNECTIONS}"
    );

    // No unit oversold: what is sold (committed at confirmation) and what
    // is held is what was stocked, and every held unit is an open order's
    // (pending, and not released by a cancellation or a failed payment).
    for (_, sku, _, units) in [SCARCE, PAIRED, AMPLE] {
        let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
            "select s.on_hand::bigint, s.reserved::bigint,
                    (select coalesce(sum(quantity), 0) from stock_reservations r where r.sku = s.sku)::bigint,
                    (select coalesce(sum(l.quantity - l.qty_cancelled), 0) from order_lines l
                       join orders o on o.id = l.order_id
                      where l.sku = s.sku and o.status = 'pending'
                        and o.reservation->>'state' = 'held')::bigint,
                    (select coalesce(sum(l.quantity - l.qty_cancelled), 0) from order_lines l
                       join orders o on o.id = l.order_id
                      where l.sku = s.sku and o.reservation->>'state' = 'committed')::bigint
               from stock_levels s where s.sku = $1",
        )
        .bind(sku)
        .fetch_one(&mut conn)
        .await
        .expect("the stock level");
        let (on_hand, reserved, held, open, sold) = row;
        assert!(on_hand >= 0 && reserved >= 0, "{sku}: {row:?}");
        assert_eq!(reserved, held, "{sku}: reserved is what the holds hold");
        assert_eq!(reserved, open, "{sku}: held units are open orders' units");
        assert_eq!(
            on_hand,
            i64::from(units) - sold,
            "{sku}: sold units left the shelf"
        );
        assert!(sold + reserved <= i64::from(units), "{sku}: oversold");
    }

    // Every acknowledged order is there, at least at the version answered;
    // and nothing else is (a duplicate key made no second order).
    for (id, version) in &seen.acknowledged {
        let stored: Option<i64> =
            sqlx::query_scalar("select version from orders where id = $1::uuid")
                .bind(id)
                .fetch_optional(&mut conn)
                .await
                .expect("an order read");
        let stored = stored.unwrap_or_else(|| panic!("acknowledged order {id} is missing"));
        assert!(
            stored >= i64::try_from(*version).expect("a version"),
            "{id}"
        );
    }
    let orders = scalar(&mut conn, "select count(*) from orders").await;
    assert_eq!(
        orders,
        i64::try_from(seen.acknowledged.len()).expect("a count")
    );

    // One order per idempotency key.
    for (key, ids) in &seen.keys {
        let rows: Vec<(String, Option<String>)> = sqlx::query_as(
            "select state, order_id::text from idempotency_keys where right(key, length($1)) = $1",
        )
        .bind(key)
        .fetch_all(&mut conn)
        .await
        .expect("the key");
        let id = ids.iter().next().expect("an order").clone();
        assert_eq!(rows, [("completed".to_owned(), Some(id))], "{key}");
    }

    // Every version change recorded once with its event: an order at
    // version v has events 1..=v, each once; each status change in the
    // history belongs to one of them and the history chains to the status.
    let broken = scalar(
        &mut conn,
        "select count(*) from orders o
          where o.version <> (select count(*) from outbox_events e where e.order_id = o.id)
             or o.version <> (select max(sequence) from outbox_events e where e.order_id = o.id)",
    )
    .await;
    assert_eq!(broken, 0, "orders whose events do not run 1..=version");
    let orphans = scalar(
        &mut conn,
        "select count(*) from order_status_history h
          where not exists (select 1 from outbox_events e
                             where e.order_id = h.order_id and e.sequence = h.sequence)",
    )
    .await;
    assert_eq!(orphans, 0, "history entries without their event");
    let unchained = scalar(
        &mut conn,
        "select count(*) from order_status_history h
          where h.from_status is distinct from
                (select p.to_status from order_status_history p
                  where p.order_id = h.order_id and p.sequence < h.sequence
                  order by p.sequence desc limit 1)",
    )
    .await;
    assert_eq!(
        unchained, 0,
        "history entries that do not follow the one before"
    );
    let last_differs = scalar(
        &mut conn,
        "select count(*) from orders o
          where o.status <> (select h.to_status from order_status_history h
                              where h.order_id = o.id order by h.sequence desc limit 1)",
    )
    .await;
    assert_eq!(
        last_differs, 0,
        "orders whose status is not their history's last"
    );
    // The relay (one leader for all replicas) gives every event one feed
    // position.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let unpositioned = scalar(
            &mut conn,
            "select count(*) from outbox_events where position is null",
        )
        .await;
        if unpositioned == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{unpositioned} events never got a feed position"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let positions = scalar(
        &mut conn,
        "select count(*) - count(distinct position) from outbox_events",
    )
    .await;
    assert_eq!(positions, 0, "feed positions are unique");

    // Every acknowledged capture is in the ledger, once.
    for (id, amount) in &seen.captured {
        let (captures, total): (i64, String) = sqlx::query_as(
            "select count(*), coalesce(sum(amount), 0)::text from payment_entries
              where order_id = $1::uuid and kind = 'capture'",
        )
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .expect("the ledger");
        assert_eq!(captures, 1, "{id}: one capture");
        let same: bool = sqlx::query_scalar("select $1::numeric = $2::numeric")
            .bind(&total)
            .bind(amount)
            .fetch_one(&mut conn)
            .await
            .expect("a comparison");
        assert!(same, "{id}: captured {total}, acknowledged {amount}");
    }
    let events = scalar(&mut conn, "select count(*) from processed_inbound_events").await;
    assert_eq!(
        events,
        i64::try_from(seen.captured.len() + 2).expect("a count"),
        "each payment event applied once"
    );
}
