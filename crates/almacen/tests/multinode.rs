//! Two `almacen serve` processes on one PostgreSQL database: the stock guard holds across nodes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_node(database_url: &str) -> Node {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("ALMACEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("{base}/health/ready")).await
            && r.status().is_success()
        {
            return Node { child, base };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut child = child;
    let _ = child.kill();
    let _ = child.wait();
    panic!("node on {base} did not become ready");
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let r: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "operador", "password": "clave-multinodo-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["token"].as_str().unwrap().to_owned()
}

/// Two `almacen serve` processes on one fresh PostgreSQL database, logged in as an admin.
struct Cluster {
    url: String,
    nodes: [Node; 2],
    tokens: [String; 2],
    client: reqwest::Client,
}

impl Cluster {
    async fn start() -> Cluster {
        let url = common::fresh_database(common::Engine::Postgres).await;
        let add = Command::new(env!("CARGO_BIN_EXE_almacen"))
            .args([
                "user",
                "add",
                "operador",
                "--role",
                "admin",
                "--database-url",
                &url,
            ])
            .env("ALMACEN_PASSWORD", "clave-multinodo-1")
            .output()
            .unwrap();
        assert!(
            add.status.success(),
            "{}",
            String::from_utf8_lossy(&add.stderr)
        );
        let nodes = [start_node(&url).await, start_node(&url).await];
        let client = reqwest::Client::new();
        let tokens = [
            login(&client, &nodes[0].base).await,
            login(&client, &nodes[1].base).await,
        ];
        Cluster {
            url,
            nodes,
            tokens,
            client,
        }
    }

    fn post(
        &self,
        i: usize,
        path: &str,
        body: serde_json::Value,
        key: Option<String>,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> + use<> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.nodes[i].base))
            .bearer_auth(&self.tokens[i])
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_issue_exactly_the_units_on_hand() {
    let cluster = Cluster::start().await;
    let post = |i: usize, path: &str, body: serde_json::Value, key: Option<String>| {
        cluster.post(i, path, body, key)
    };
    let url = cluster.url.clone();
    assert_eq!(
        post(
            0,
            "/api/v1/locations",
            json!({"code": "S01", "name": "Sucursal", "kind": "store"}),
            None
        )
        .await
        .unwrap()
        .status(),
        201
    );
    assert_eq!(
        post(1, "/api/v1/products", json!({"sku": "ULTIMO", "name": "Último", "category": "Almacén", "cost": "1", "price": "2", "vat_rate": "21"}), None)
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        post(
            0,
            "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": "ULTIMO", "location": "S01", "quantity": "10"}),
            None
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let mut tasks = Vec::new();
    for i in 0..100 {
        let req = post(
            i % 2,
            "/api/v1/stock/movements",
            json!({"kind": "issue", "sku": "ULTIMO", "location": "S01", "quantity": "1"}),
            Some(format!("mn-{i}")),
        );
        tasks.push(tokio::spawn(
            async move { req.await.unwrap().status().as_u16() },
        ));
    }
    let mut by_status = std::collections::BTreeMap::new();
    for t in tasks {
        *by_status.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(by_status.get(&201), Some(&10), "{by_status:?}");
    assert_eq!(by_status.get(&409), Some(&90), "{by_status:?}");
    let check = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args(["check", "--database-url", &url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(stdout.contains("11 movimientos"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_sell_exactly_the_hundred_units_on_hand() {
    let cluster = Cluster::start().await;
    let post = |i: usize, path: &str, body: serde_json::Value, key: Option<String>| {
        cluster.post(i, path, body, key)
    };
    let url = cluster.url.clone();
    assert_eq!(
        post(
            0,
            "/api/v1/locations",
            json!({"code": "S01", "name": "Sucursal", "kind": "store"}),
            None
        )
        .await
        .unwrap()
        .status(),
        201
    );
    let product = json!({"sku": "HIELO", "name": "Hielo 2 kg", "category": "Bebidas", "cost": "500", "price": "1000", "vat_rate": "21"});
    assert_eq!(
        post(1, "/api/v1/products", product, None)
            .await
            .unwrap()
            .status(),
        201
    );
    let receipt = json!({"kind": "receipt", "sku": "HIELO", "location": "S01", "quantity": "100"});
    assert_eq!(
        post(0, "/api/v1/stock/movements", receipt, None)
            .await
            .unwrap()
            .status(),
        201
    );
    let mut shifts = Vec::new();
    for till in 0..50 {
        let r: serde_json::Value = post(
            till % 2,
            "/api/v1/shifts",
            json!({"location": "S01", "till": format!("{till}"), "opening_float": "0"}),
            None,
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        shifts.push(r["id"].as_i64().unwrap());
    }
    let mut tasks = Vec::new();
    for n in 0..200 {
        let body = json!({"shift": shifts[n % 50], "lines": [{"sku": "HIELO"}], "payments": [{"method": "cash", "amount": "1000"}]});
        let req = post(n % 2, "/api/v1/sales", body, Some(format!("pos-{n}")));
        tasks.push(tokio::spawn(
            async move { req.await.unwrap().status().as_u16() },
        ));
    }
    let mut by_status = std::collections::BTreeMap::new();
    for t in tasks {
        *by_status.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(by_status.get(&201), Some(&100), "{by_status:?}");
    assert_eq!(by_status.get(&409), Some(&100), "{by_status:?}");
    let check = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args(["check", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}
