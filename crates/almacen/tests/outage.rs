//! Database outage on PostgreSQL: a node reaches the shared test cluster through a small TCP
//! proxy that the test cuts mid-load and restores (the cluster itself keeps serving the other
//! tests). While cut, requests fail fast with 503 problem+json, readiness is false; once
//! restored the same process recovers without a restart, and retried tickets land exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::node::{Node, add_user, login};
use common::proxy::Proxy;
use serde_json::{Value, json};

const PASSWORD: &str = "clave-de-corte-segura-1";

/// host:port of a postgres:// URL, and the URL with another port on 127.0.0.1.
fn split(url: &str) -> (String, String) {
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (hostport, db) = rest.split_once('/').unwrap();
    (hostport.to_owned(), format!("{scheme_user}@{{}}/{db}"))
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, String, Value) {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    // The client waits far longer than the node's timeouts: an error here is a hang.
    let r = req.send().await.expect("the node must answer, not hang");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn assert_unavailable(what: &str, (status, ct, body): &(u16, String, Value)) {
    assert_eq!(*status, 503, "{what}: {body}");
    assert_eq!(ct, "application/problem+json", "{what}: {body}");
    assert_eq!(body["status"], 503, "{what}: {body}");
    assert!(
        body["type"].as_str().unwrap().ends_with("unavailable"),
        "{what}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_fails_fast_and_recovers_without_restart() {
    let direct = common::fresh_database(common::Engine::Postgres).await;
    add_user(&direct, "encargado", "admin", PASSWORD);
    let (upstream, template) = split(&direct);
    let proxy = Proxy::start(upstream).await;
    let proxied = template.replace("{}", &format!("127.0.0.1:{}", proxy.port));
    let node = Node::start(&proxied, &[("ALMACEN_DB_ACQUIRE_TIMEOUT_SECS", "2")]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = node.base.clone();
    let token = login(&client, &base, "encargado", PASSWORD).await;
    let post = |path: &str, body: Value| {
        send(
            &client,
            reqwest::Method::POST,
            format!("{base}{path}"),
            Some(&token),
            Some(body),
            None,
        )
    };
    assert_eq!(
        post(
            "/api/v1/locations",
            json!({"code": "S01", "name": "Sucursal", "kind": "store"})
        )
        .await
        .0,
        201
    );
    assert_eq!(
        post("/api/v1/products", json!({"sku": "CORTE", "name": "Yerba 1 kg", "category": "Almacén", "cost": "500", "price": "1000", "vat_rate": "21"})).await.0,
        201
    );
    assert_eq!(
        post(
            "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": "CORTE", "location": "S01", "quantity": "100000"})
        )
        .await
        .0,
        201
    );
    let mut shifts = Vec::new();
    for till in 0..3 {
        let (status, _, s) = post(
            "/api/v1/shifts",
            json!({"location": "S01", "till": format!("{till}"), "opening_float": "0"}),
        )
        .await;
        assert_eq!(status, 201, "{s}");
        shifts.push(s["id"].as_i64().unwrap());
    }

    // Three tills sell; the proxy is cut mid-load. Each till stops after three 503s.
    let acked = Arc::new(AtomicUsize::new(0));
    let statuses: Arc<Mutex<BTreeMap<u16, usize>>> = Arc::default();
    let refused: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let mut tills = Vec::new();
    for (till, &shift) in shifts.iter().enumerate() {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let (acked, statuses, refused) = (acked.clone(), statuses.clone(), refused.clone());
        tills.push(tokio::spawn(async move {
            let mut unavailable = 0;
            for n in 0.. {
                let key = format!("t{till}-{n}");
                let body = json!({"shift": shift, "lines": [{"sku": "CORTE"}], "payments": [{"method": "cash", "amount": "1000"}]});
                let r = send(
                    &client,
                    reqwest::Method::POST,
                    format!("{base}/api/v1/sales"),
                    Some(&token),
                    Some(body.clone()),
                    Some(&key),
                )
                .await;
                *statuses.lock().unwrap().entry(r.0).or_default() += 1;
                match r.0 {
                    201 => {
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    503 => {
                        assert_unavailable("ticket during the outage", &r);
                        refused.lock().unwrap().push((key, body));
                        unavailable += 1;
                        if unavailable == 3 {
                            return;
                        }
                    }
                    _ => panic!("ticket {key}: {} {}", r.0, r.2),
                }
            }
        }));
    }
    let mut waited = 0;
    while acked.load(Ordering::SeqCst) < 20 {
        assert!(waited < 6000, "the tills never sold 20 tickets");
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += 1;
    }
    proxy.cut();
    for t in tills {
        t.await.unwrap();
    }
    let by_status = statuses.lock().unwrap().clone();
    assert_eq!(
        by_status.keys().copied().collect::<Vec<_>>(),
        vec![201, 503],
        "{by_status:?}"
    );
    assert_eq!(by_status[&503], 9, "{by_status:?}");

    // While cut: reads, writes and logins answer 503 problem+json; readiness is false.
    let get = |path: &str| {
        send(
            &client,
            reqwest::Method::GET,
            format!("{base}{path}"),
            Some(&token),
            None,
            None,
        )
    };
    assert_unavailable("product search", &get("/api/v1/products").await);
    assert_unavailable(
        "receipt",
        &post(
            "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": "CORTE", "location": "S01", "quantity": "1"}),
        )
        .await,
    );
    let fresh_login = send(
        &client,
        reqwest::Method::POST,
        format!("{base}/api/v1/auth/login"),
        None,
        Some(json!({"username": "encargado", "password": PASSWORD})),
        None,
    )
    .await;
    assert_unavailable("login", &fresh_login);
    let (status, _, ready) = send(
        &client,
        reqwest::Method::GET,
        format!("{base}/health/ready"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["status"], "unavailable");
    let (status, _, live) = send(
        &client,
        reqwest::Method::GET,
        format!("{base}/health/live"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!((status, live["status"].clone()), (200, json!("ok")));

    // Restored: the same process becomes ready again and sells.
    proxy.restore();
    let mut ready = false;
    for _ in 0..300 {
        let (status, _, _) = send(
            &client,
            reqwest::Method::GET,
            format!("{base}/health/ready"),
            None,
            None,
            None,
        )
        .await;
        if status == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ready,
        "the node did not recover after the database came back"
    );
    // Tickets refused during the outage go through once when retried with their keys.
    let refused = std::mem::take(&mut *refused.lock().unwrap());
    let mut ids = std::collections::BTreeSet::new();
    for (key, body) in &refused {
        let r = send(
            &client,
            reqwest::Method::POST,
            format!("{base}/api/v1/sales"),
            Some(&token),
            Some(body.clone()),
            Some(key),
        )
        .await;
        assert_eq!(r.0, 201, "retry of {key}: {}", r.2);
        assert!(ids.insert(r.2["id"].as_i64().unwrap()));
    }
    let sold = acked.load(Ordering::SeqCst) + refused.len();
    let (status, _, stock) = get("/api/v1/stock?location=S01").await;
    assert_eq!(status, 200, "{stock}");
    let on_hand = stock["items"][0]["on_hand"].as_str().unwrap().to_owned();
    assert_eq!(
        domain::Qty::parse(&on_hand).unwrap(),
        domain::Qty::parse(&(100_000 - sold).to_string()).unwrap()
    );
    let check = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args(["check", "--database-url", &direct])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
