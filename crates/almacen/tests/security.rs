//! The security suite: the route × role matrix walked from the router's own table, per-location
//! limits, headers, CORS, body limits, path traversal and SQL metacharacters in every filter
//! parameter — on SQLite and PostgreSQL alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use api::permissions::{Access, ROUTES};
use common::{Engine, TestServer};
use domain::auth::Role;
use serde_json::json;

engine_tests!(
    every_route_answers_each_role_as_the_table_says,
    a_cashier_of_one_store_cannot_sell_or_look_into_another,
    filters_take_sql_metacharacters_as_plain_text,
    oversized_bodies_traversal_and_bad_uploads_are_refused_cleanly,
);

fn spec_routes() -> BTreeSet<(String, String)> {
    let spec = api::openapi();
    let mut out = BTreeSet::new();
    for (path, item) in &spec.paths.paths {
        for (method, present) in [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ] {
            if present {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn the_permission_table_covers_exactly_the_routes_of_the_router() {
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let spec = spec_routes();
    let missing: Vec<_> = spec.difference(&table).collect();
    let stale: Vec<_> = table.difference(&spec).collect();
    assert!(
        missing.is_empty(),
        "routes without a permission entry: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "permission entries without a route: {stale:?}"
    );
    assert_eq!(table.len(), ROUTES.len(), "a route is listed twice");
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "1")
        .replace("{month}", "2026-01")
        .replace("{supplier}", "1")
}

async fn every_route_answers_each_role_as_the_table_says(engine: Engine) {
    let s = TestServer::start(engine).await;
    let roles = [
        Role::Manager,
        Role::Cashier,
        Role::Warehouse,
        Role::Viewer,
        Role::Admin,
    ];
    let mut checked = 0;
    for role in roles {
        let token = s
            .user(&format!("u-{}", role.as_str()), role.as_str(), &[])
            .await;
        let principal = app::Principal {
            user_id: None,
            label: String::new(),
            role,
            locations: None,
        };
        for (method, path, access) in ROUTES {
            // Logging out would end the session the rest of the walk needs.
            if *access == Access::Public || *path == "/api/v1/auth/logout" {
                continue;
            }
            let r = s
                .send(
                    Some(&token),
                    method.parse().unwrap(),
                    &concrete(path),
                    Some(json!({})),
                    None,
                )
                .await;
            let status = r.status.as_u16();
            if api::permissions::allows(*access, &principal) {
                assert!(
                    status != 401 && status != 403,
                    "{} must be allowed {method} {path}, got {status}: {}",
                    role.as_str(),
                    r.body
                );
            } else {
                assert_eq!(
                    status,
                    403,
                    "{} must be refused {method} {path}: {}",
                    role.as_str(),
                    r.body
                );
                assert_eq!(r.body["type"], "urn:almacen:problem:forbidden");
            }
            assert!(
                status < 500,
                "{method} {path} as {}: {}",
                role.as_str(),
                r.body
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 5 * 70,
        "walked only {checked} route × role pairs"
    );
}

async fn a_cashier_of_one_store_cannot_sell_or_look_into_another(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    s.location("S02", "store").await;
    let p = s.product("P1").await;
    for loc in ["S01", "S02"] {
        s.movement(json!({"kind": "receipt", "sku": "P1", "location": loc, "quantity": "10"}))
            .await
            .ok(201);
    }
    let cashier = s.user("caja-a", "cashier", &["S01"]).await;
    // Store B's till: the admin opens it and sells there.
    let shift_b = s
        .post(
            "/api/v1/shifts",
            json!({"location": "S02", "till": "1", "opening_float": "0"}),
        )
        .await;
    let shift_b = shift_b.ok(201)["id"].as_i64().unwrap();
    let sale_b = s
        .post(
            "/api/v1/sales",
            json!({"shift": shift_b, "lines": [{"product_id": p, "quantity": "1"}], "payments": [{"method": "cash", "amount": "150.00"}]}),
        )
        .await;
    let sale_b = sale_b.ok(201)["id"].as_i64().unwrap();

    // The cashier of A can neither open a till in B, sell on B's shift, nor read B's tickets.
    let r = s
        .post_as(
            &cashier,
            "/api/v1/shifts",
            json!({"location": "S02", "till": "2", "opening_float": "0"}),
        )
        .await;
    assert!(
        r.problem(403)["detail"].as_str().unwrap().contains("S02"),
        "{}",
        r.body
    );
    let r = s
        .post_as(
            &cashier,
            "/api/v1/sales",
            json!({"shift": shift_b, "lines": [{"product_id": p, "quantity": "1"}], "payments": [{"method": "cash", "amount": "150.00"}]}),
        )
        .await;
    r.problem(403);
    s.get_as(&cashier, &format!("/api/v1/sales/{sale_b}"))
        .await
        .problem(403);
    s.get_as(&cashier, &format!("/api/v1/shifts/{shift_b}"))
        .await
        .problem(403);
    s.get_as(&cashier, "/api/v1/stock/movements?location=S02")
        .await
        .problem(403);
    // Without a location the log shows only A's movements.
    let log = s.get_as(&cashier, "/api/v1/stock/movements").await;
    let items = log.ok(200)["items"].as_array().unwrap().clone();
    assert!(!items.is_empty());
    assert!(items.iter().all(|m| m["location"] == "S01"), "{items:?}");
    // Reports are not a cashier's business at all.
    s.get_as(
        &cashier,
        "/api/v1/reports/sales?from=2026-01-01&to=2026-12-31&group_by=day",
    )
    .await
    .problem(403);
    // Nothing was sold by the refused attempts: B still has 9.
    assert_eq!(s.on_hand(p, "S02").await, "9");

    // In A everything works.
    let shift_a = s
        .post_as(
            &cashier,
            "/api/v1/shifts",
            json!({"location": "S01", "till": "1", "opening_float": "0"}),
        )
        .await;
    let shift_a = shift_a.ok(201)["id"].as_i64().unwrap();
    s.post_as(
        &cashier,
        "/api/v1/sales",
        json!({"shift": shift_a, "lines": [{"product_id": p, "quantity": "2"}], "payments": [{"method": "cash", "amount": "300.00"}]}),
    )
    .await
    .ok(201);
    assert_eq!(s.on_hand(p, "S01").await, "8");
}

const NASTY: &[&str] = &[
    "' OR '1'='1",
    "1; DROP TABLE products; --",
    "%",
    "_",
    "\\",
    "\" OR \"\"=\"",
    "') UNION SELECT password_hash FROM users --",
    "ñandú%'--",
];

async fn filters_take_sql_metacharacters_as_plain_text(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let p = s.product("P1").await;
    s.movement(json!({"kind": "receipt", "sku": "P1", "location": "S01", "quantity": "3"}))
        .await
        .ok(201);
    let spec = serde_json::to_value(api::openapi()).unwrap();
    let mut tried = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(params) = item["get"]["parameters"].as_array() else {
            continue;
        };
        let names: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for name in names {
            for nasty in NASTY {
                let url = format!("{}?{}", concrete(path), query_pair(name, nasty));
                let r = s.get(&url).await;
                assert!(
                    r.status.as_u16() < 500,
                    "GET {url} → {}: {}",
                    r.status,
                    r.body
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 100, "only {tried} filter values tried");
    // Search treats the metacharacters literally: no product is called "%".
    let r = s.get("/api/v1/products?q=%25").await;
    assert_eq!(
        r.ok(200)["items"].as_array().unwrap().len(),
        0,
        "{}",
        r.body
    );
    // And nothing was harmed.
    assert_eq!(s.on_hand(p, "S01").await, "3");
    assert!(s.ledger_ok().await);
    s.get(&format!("/api/v1/products/{p}")).await.ok(200);
}

fn query_pair(name: &str, value: &str) -> String {
    let enc = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!("{}={}", enc(name), enc(value))
}

async fn oversized_bodies_traversal_and_bad_uploads_are_refused_cleanly(engine: Engine) {
    let s = TestServer::start(engine).await;
    // A body over the limit: 413 problem+json, nothing written.
    let big = "x".repeat(3 * 1024 * 1024);
    let body = json!({"name": big, "category": "A", "cost": "1", "price": "2", "vat_rate": "21"});
    // The server answers 413 from the Content-Length and closes without reading the rest, so
    // the client may lose the race and see its upload cut; the answer is what is checked.
    // A client of its own: the connection the server closes must not go back to the pool the
    // rest of the test uses.
    let once = reqwest::Client::new();
    let mut answered = None;
    for _ in 0..10 {
        if let Ok(res) = once
            .post(format!("{}/api/v1/products", s.base))
            .bearer_auth(&s.token)
            .json(&body)
            .send()
            .await
        {
            let status = res.status().as_u16();
            let problem: serde_json::Value = res.json().await.unwrap();
            answered = Some((status, problem));
            break;
        }
    }
    let (status, problem) = answered.expect("the server never answered the oversized body");
    assert_eq!(status, 413);
    assert_eq!(problem["type"], "urn:almacen:problem:payload-too-large");
    let list = s.get("/api/v1/products").await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 0);

    // Path traversal: never a file outside what we serve.
    for path in [
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/static/../../etc/passwd",
        "/static/%2e%2e%2fCargo.toml",
        "/api/v1/products/..%2f..%2fusers",
        "/api/docs/..%2f..%2f..%2fetc%2fpasswd",
    ] {
        let res = s
            .client
            .get(format!("{}{path}", s.base))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert!((400..500).contains(&status), "{path} → {status}");
        assert!(!body.contains("root:"), "{path} leaked a file");
    }

    // An upload that is not an invoice image or PDF is refused by its content, not its name.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"#!/bin/sh\nrm -rf /\n".to_vec())
            .file_name("factura.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let res = s
        .client
        .post(format!("{}/api/v1/supplier-invoices/scan", s.base))
        .bearer_auth(&s.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(status == 415 || status == 422, "{status}: {body}");
    assert!(body["detail"].as_str().unwrap().len() > 10, "{body}");
}

/// Headers every response carries, and CORS only for the configured origins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_are_strict_and_cors_answers_only_configured_origins() {
    let db = common::fresh_database(Engine::Sqlite).await;
    let cfg = almacen::config::Config {
        database_url: db,
        ..Default::default()
    };
    let wired = almacen::server::wire(&cfg, app::Clock::system())
        .await
        .unwrap();
    let opts = almacen::server::HttpOptions {
        secure_cookies: true,
        cors_origins: vec!["https://panel.example.com".into()],
    };
    let router = almacen::server::router(wired.app.clone(), Vec::new(), &opts);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    for path in ["/api/v1/products", "/health/live", "/login"] {
        let res = client.get(format!("{base}{path}")).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        // Pages keep the referrer on this site so form posts carry their Origin (the CSRF
        // check needs it); the API sends none at all.
        let referrer = if path == "/login" {
            "same-origin"
        } else {
            "no-referrer"
        };
        assert_eq!(h["referrer-policy"], referrer, "{path}");
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age="),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("unsafe-inline") || path.starts_with("/api/docs"),
            "{path}: {csp}"
        );
    }
    // Secure cookies behind TLS.
    let res = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");

    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{base}/api/v1/products"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let ok = preflight("https://panel.example.com").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://panel.example.com"
    );
    let evil = preflight("https://evil.example").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());
    let simple = client
        .get(format!("{base}/health/live"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        simple
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
