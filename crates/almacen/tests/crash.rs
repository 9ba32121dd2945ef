//! Crash safety: tills post tickets with idempotency keys to a real `almacen serve` process,
//! which is killed with SIGKILL mid-run and restarted on the same database. Every ticket a till
//! saw acknowledged exists exactly once (a retry with its key returns the same ticket), the
//! tickets whose answer was lost are retried with their keys and also land exactly once, and
//! the stock ledger is consistent.
//!
//! The CI variant kills the node once after a few dozen tickets; `ALMACEN_CRASH_LONG=1` runs
//! five kill/restart rounds with 16 tills.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Engine;
use common::node::{Node, add_user, login};
use serde_json::{Value, json};

engine_tests!(sigkill_mid_run_loses_no_acknowledged_ticket);

const PASSWORD: &str = "clave-de-caja-segura-1";
const PRODUCTS: usize = 8;
const STOCK: i64 = 1_000_000;

struct Plan {
    rounds: usize,
    tills: usize,
    kill_after: usize,
}

fn plan() -> Plan {
    if std::env::var_os("ALMACEN_CRASH_LONG").is_some() {
        Plan {
            rounds: 5,
            tills: 16,
            kill_after: 400,
        }
    } else {
        Plan {
            rounds: 1,
            tills: 4,
            kill_after: 30,
        }
    }
}

/// The ticket a till sends as its n-th: one or two lines over the products.
fn ticket(shift: i64, till: usize, n: usize) -> Value {
    let a = (till + n) % PRODUCTS;
    let b = (till * 3 + n * 5) % PRODUCTS;
    let lines = if n.is_multiple_of(2) {
        json!([{"sku": format!("CR{a}")}])
    } else {
        json!([{"sku": format!("CR{a}")}, {"sku": format!("CR{b}"), "quantity": "2"}])
    };
    json!({"shift": shift, "lines": lines, "payments": [{"method": "cash", "amount": "100000"}]})
}

/// Units of each product a ticket takes.
fn units(body: &Value) -> Vec<(String, i64)> {
    body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let q = l["quantity"].as_str().unwrap_or("1").parse().unwrap();
            (l["sku"].as_str().unwrap().to_owned(), q)
        })
        .collect()
}

#[derive(Default)]
struct Book {
    /// Idempotency key → (request, ticket id, total) for every acknowledged ticket.
    acked: BTreeMap<String, (Value, i64, String)>,
    /// Tickets sent whose answer never came (the node died): key → request.
    uncertain: BTreeMap<String, Value>,
}

async fn post_sale(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let r = client
        .post(format!("{base}/api/v1/sales"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

/// After a restart: sends each uncertain ticket again with its key until it is acknowledged.
async fn settle_uncertain(base: &str, token: &str, book: &Mutex<Book>) {
    let client = reqwest::Client::new();
    let pending: Vec<(String, Value)> = std::mem::take(&mut book.lock().unwrap().uncertain)
        .into_iter()
        .collect();
    for (key, body) in pending {
        let (status, sale) = post_sale(&client, base, token, &key, &body).await.unwrap();
        assert_eq!(status, 201, "retry of {key}: {sale}");
        let id = sale["id"].as_i64().unwrap();
        let total = sale["total"].as_str().unwrap().to_owned();
        book.lock().unwrap().acked.insert(key, (body, id, total));
    }
}

async fn api(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let r = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{path}: {body}");
    body
}

async fn sigkill_mid_run_loses_no_acknowledged_ticket(engine: Engine) {
    let plan = plan();
    let url = common::fresh_database(engine).await;
    add_user(&url, "encargado", "admin", PASSWORD);
    let mut node = Node::start(&url, &[]).await;
    let client = reqwest::Client::new();
    let token = login(&client, &node.base, "encargado", PASSWORD).await;
    api(
        &client,
        &node.base,
        &token,
        "/api/v1/locations",
        json!({"code": "S01", "name": "Sucursal", "kind": "store"}),
    )
    .await;
    for p in 0..PRODUCTS {
        api(&client, &node.base, &token, "/api/v1/products",
            json!({"sku": format!("CR{p}"), "name": format!("Producto {p}"), "category": "Almacén", "cost": "500", "price": "1000", "vat_rate": "21"})).await;
        api(&client, &node.base, &token, "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": format!("CR{p}"), "location": "S01", "quantity": STOCK.to_string()})).await;
    }
    let mut shifts = Vec::new();
    for till in 0..plan.tills {
        let s = api(
            &client,
            &node.base,
            &token,
            "/api/v1/shifts",
            json!({"location": "S01", "till": format!("{till}"), "opening_float": "0"}),
        )
        .await;
        shifts.push(s["id"].as_i64().unwrap());
    }

    let book = Arc::new(Mutex::new(Book::default()));
    for round in 0..plan.rounds {
        let acks = Arc::new(AtomicUsize::new(0));
        let mut tills = Vec::new();
        for (till, &shift) in shifts.iter().enumerate() {
            let (base, token, book, acks) =
                (node.base.clone(), token.clone(), book.clone(), acks.clone());
            tills.push(tokio::spawn(async move {
                // A till keeps selling until the node stops answering.
                let client = reqwest::Client::new();
                for n in 0.. {
                    let key = format!("r{round}-t{till}-{n}");
                    let body = ticket(shift, till, n);
                    match post_sale(&client, &base, &token, &key, &body).await {
                        Ok((201, sale)) => {
                            let id = sale["id"].as_i64().unwrap();
                            let total = sale["total"].as_str().unwrap().to_owned();
                            book.lock().unwrap().acked.insert(key, (body, id, total));
                            acks.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok((status, problem)) if status >= 500 => {
                            // Dying mid-answer: the outcome is unknown, as for a lost connection.
                            book.lock().unwrap().uncertain.insert(key, body);
                            let _ = problem;
                            return;
                        }
                        Ok((status, problem)) => panic!("ticket {key}: {status} {problem}"),
                        Err(_) => {
                            book.lock().unwrap().uncertain.insert(key, body);
                            return;
                        }
                    }
                }
            }));
        }
        // Kill once enough tickets went through in this round, with the tills still selling.
        let mut waited = 0;
        while acks.load(Ordering::SeqCst) < plan.kill_after {
            assert!(
                waited < 12_000,
                "the tills never reached {} tickets",
                plan.kill_after
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
            waited += 1;
        }
        node.kill();
        for t in tills {
            t.await.unwrap();
        }
        assert!(
            !book.lock().unwrap().uncertain.is_empty(),
            "the kill must interrupt tills mid-ticket"
        );
        node.restart().await;
        settle_uncertain(&node.base, &token, &book).await;
    }

    // Every acknowledged ticket exists exactly once: its key replays the same ticket.
    let book = std::mem::take(&mut *book.lock().unwrap());
    let client = reqwest::Client::new();
    let mut ids = std::collections::BTreeSet::new();
    let mut sold: BTreeMap<String, i64> = BTreeMap::new();
    for (key, (body, id, total)) in &book.acked {
        let (status, sale) = post_sale(&client, &node.base, &token, key, body)
            .await
            .unwrap();
        assert_eq!(status, 201, "replay of {key}: {sale}");
        assert_eq!(sale["id"].as_i64(), Some(*id), "replay of {key}");
        assert_eq!(sale["total"].as_str(), Some(total.as_str()), "{key}");
        assert!(ids.insert(*id), "ticket {id} acknowledged for two keys");
        for (sku, q) in units(body) {
            *sold.entry(sku).or_default() += q;
        }
    }
    assert!(book.acked.len() >= plan.kill_after * plan.rounds);

    let wired = almacen::server::wire(
        &almacen::config::Config {
            database_url: url.clone(),
            ..Default::default()
        },
        app::Clock::system(),
    )
    .await
    .unwrap();
    let pool = wired.store.pool();
    let tickets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sales")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(tickets as usize, book.acked.len());
    for p in 0..PRODUCTS {
        let sku = format!("CR{p}");
        let on_hand: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(l.on_hand) AS BIGINT) FROM stock_levels l JOIN products p ON p.id = l.product_id WHERE p.sku = $1",
        )
        .bind(&sku)
        .fetch_one(pool)
        .await
        .unwrap();
        let expected = (STOCK - sold.get(&sku).copied().unwrap_or(0)) * 1000;
        assert_eq!(on_hand, expected, "{sku} on hand (milli-units)");
    }
    drop(wired);
    node.kill();
    let check = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args(["check", "--database-url", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(stdout.contains("OK:"), "{stdout}");
}
