//! The operational promise: every metric the shipped alert rules and dashboards use is really
//! emitted by a running node, and the exposition passes `promtool check metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every `almacen_*` metric name mentioned in the deploy assets.
fn names_in_assets() -> BTreeSet<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy");
    let mut files = Vec::new();
    for dir in ["prometheus", "grafana"] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yml" || e == "json") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 6, "deploy assets missing: {files:?}");
    let mut names = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(pos) = text[i..].find("almacen_") {
            let start = i + pos;
            let preceded = start > 0
                && (bytes[start - 1].is_ascii_alphanumeric()
                    || bytes[start - 1] == b'_'
                    || bytes[start - 1] == b':');
            let end = start
                + text[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(text.len() - start);
            if !preceded {
                names.insert(text[start..end].to_owned());
            }
            i = end;
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_in_rules_and_dashboards_is_emitted() {
    let url = common::fresh_database(common::Engine::Sqlite).await;
    let bin = env!("CARGO_BIN_EXE_almacen");
    let add = Command::new(bin)
        .args([
            "user",
            "add",
            "ops",
            "--role",
            "admin",
            "--database-url",
            &url,
        ])
        .env("ALMACEN_PASSWORD", "clave-de-metricas-1")
        .output()
        .unwrap();
    assert!(add.status.success());
    let (port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            &format!("127.0.0.1:{metrics_port}"),
            "--database-url",
            &url,
        ])
        .env("ALMACEN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "node did not start");
    // A little of everything: a ticket, movements, an error.
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "ops", "password": "clave-de-metricas-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    post(
        "/api/v1/locations",
        json!({"code": "S01", "name": "Sucursal", "kind": "store"}),
    )
    .await
    .unwrap();
    post("/api/v1/products", json!({"sku": "M", "name": "Mate", "category": "Almacén", "cost": "1", "price": "2", "vat_rate": "21"})).await.unwrap();
    post(
        "/api/v1/stock/movements",
        json!({"kind": "receipt", "sku": "M", "location": "S01", "quantity": "5"}),
    )
    .await
    .unwrap();
    let shift: serde_json::Value = post(
        "/api/v1/shifts",
        json!({"location": "S01", "till": "1", "opening_float": "0"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let sale = post("/api/v1/sales", json!({"shift": shift["id"], "lines": [{"sku": "M"}], "payments": [{"method": "cash", "amount": "2"}]})).await.unwrap();
    assert_eq!(sale.status().as_u16(), 201);
    client
        .get(format!("{base}/api/v1/products"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let body = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let emitted: BTreeSet<String> = body
        .lines()
        .filter_map(|l| {
            let l = l.strip_prefix("# TYPE ").unwrap_or(l);
            if l.starts_with('#') {
                return None;
            }
            l.split(['{', ' ']).next().map(str::to_owned)
        })
        .collect();
    let wanted = names_in_assets();
    let missing: Vec<&String> = wanted.iter().filter(|n| !emitted.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "named in deploy/ but not emitted: {missing:?}\n\nemitted: {emitted:?}"
    );
    assert!(wanted.len() >= 15, "{wanted:?}");
    assert!(
        body.contains("almacen_http_request_duration_seconds_bucket{"),
        "latency must be a histogram"
    );
    assert!(
        body.contains(r#"route="/api/v1/sales""#),
        "route label is the matched template"
    );

    if let Ok(mut promtool) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        promtool
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = promtool.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool check metrics: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
