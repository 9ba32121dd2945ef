//! Authentication and authorisation: every non-public route refuses anonymous callers, roles
//! and locations limit what a caller may do, sessions expire and can be revoked, failed logins
//! slow down and lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN_PASSWORD, Engine, TestServer};
use serde_json::json;

engine_tests!(
    every_non_public_route_refuses_anonymous_callers,
    roles_limit_what_a_caller_may_do,
    users_are_limited_to_their_locations,
    bad_and_revoked_tokens_are_refused,
    sessions_expire,
    failed_logins_slow_down_then_lock,
    api_keys_carry_a_role_and_can_be_revoked,
    readiness_follows_the_database_and_its_migrations,
);

async fn readiness_follows_the_database_and_its_migrations(engine: Engine) {
    let s = TestServer::start(engine).await;
    let r = s
        .send(None, reqwest::Method::GET, "/health/ready", None, None)
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["status"].as_str()),
        (200, Some("ok"))
    );
    // A migration the binary knows but the database lacks: not ready, and it says why.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(s.store.pool())
    .await
    .unwrap();
    let r = s
        .send(None, reqwest::Method::GET, "/health/ready", None, None)
        .await;
    assert_eq!(r.status.as_u16(), 503);
    assert!(
        r.body["reason"]
            .as_str()
            .unwrap()
            .contains("migraciones pendientes"),
        "{}",
        r.body
    );
    let live = s
        .send(None, reqwest::Method::GET, "/health/live", None, None)
        .await;
    assert_eq!(
        live.status.as_u16(),
        200,
        "liveness does not depend on the database"
    );
}

const PUBLIC: &[&str] = &["/health/live", "/health/ready", "/api/v1/auth/login"];

async fn every_non_public_route_refuses_anonymous_callers(engine: Engine) {
    let s = TestServer::start(engine).await;
    let spec = api::openapi();
    let mut checked = 0;
    for (path, item) in &spec.paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in methods {
            if !present {
                continue;
            }
            let url = path.replace("{id}", "1");
            let r = s
                .send(None, method.parse().unwrap(), &url, Some(json!({})), None)
                .await;
            if PUBLIC.contains(&path.as_str()) {
                assert_ne!(r.status.as_u16(), 401, "{method} {path} must be public");
            } else {
                assert_eq!(
                    r.status.as_u16(),
                    401,
                    "{method} {path} must need a token, got {}",
                    r.body
                );
                assert_eq!(r.body["type"], "urn:almacen:problem:unauthenticated");
                assert_eq!(r.headers.get("www-authenticate").unwrap(), "Bearer");
                checked += 1;
            }
        }
    }
    assert!(checked >= 25, "only {checked} routes checked");
    // The spec itself and its UI are served.
    let r = s
        .send(None, reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(r.body["openapi"], "3.1.0");
    let r = s
        .client
        .get(format!("{}/api/docs/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        !r.text().await.unwrap().contains("https://"),
        "the docs UI must not load anything from the internet"
    );
}

async fn roles_limit_what_a_caller_may_do(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    s.product("P1").await;
    let cashier = s.user("cajero1", "cashier", &[]).await;
    let r = s
        .post_as(&cashier, "/api/v1/products", json!({"name": "X", "category": "Almacén", "cost": "1", "price": "2", "vat_rate": "21"}))
        .await;
    assert_eq!(r.problem(403)["type"], "urn:almacen:problem:forbidden");
    assert_eq!(
        s.get_as(&cashier, "/api/v1/products").await.ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = s
        .post_as(
            &cashier,
            "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": "P1", "location": "S01", "quantity": "1"}),
        )
        .await;
    r.problem(403);
    s.get_as(&cashier, "/api/v1/users").await.problem(403);
    s.get_as(&cashier, "/api/v1/audit").await.problem(403);
    s.get_as(&cashier, "/api/v1/admin/ledger-check")
        .await
        .problem(403);

    let warehouse = s.user("deposito1", "warehouse", &[]).await;
    s.post_as(
        &warehouse,
        "/api/v1/stock/movements",
        json!({"kind": "receipt", "sku": "P1", "location": "S01", "quantity": "3"}),
    )
    .await
    .ok(201);
    s.post_as(
        &warehouse,
        "/api/v1/suppliers",
        json!({"name": "N", "cuit": "30500010912", "vat_condition": "exento"}),
    )
    .await
    .problem(403);
    let viewer = s.user("mirada", "viewer", &[]).await;
    s.post_as(
        &viewer,
        "/api/v1/stock/movements",
        json!({"kind": "count", "sku": "P1", "location": "S01", "quantity": "3"}),
    )
    .await
    .problem(403);
    let manager = s.user("gerente", "manager", &[]).await;
    s.post_as(
        &manager,
        "/api/v1/products",
        json!({"name": "Y", "category": "Almacén", "cost": "1", "price": "2", "vat_rate": "21"}),
    )
    .await
    .ok(201);
    s.get_as(&manager, "/api/v1/audit").await.ok(200);
    s.post_as(
        &manager,
        "/api/v1/users",
        json!({"username": "x1", "password": "una-clave-larga", "role": "admin"}),
    )
    .await
    .problem(403);
    // The token says who it is.
    let me = s.get_as(&cashier, "/api/v1/auth/me").await;
    assert_eq!(
        (me.ok(200)["name"].as_str(), me.body["role"].as_str()),
        (Some("cajero1"), Some("cashier"))
    );
}

async fn users_are_limited_to_their_locations(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    s.location("S02", "store").await;
    s.product("P1").await;
    let a = s.user("repo-a", "warehouse", &["S01"]).await;
    s.post_as(
        &a,
        "/api/v1/stock/movements",
        json!({"kind": "receipt", "sku": "P1", "location": "S01", "quantity": "2"}),
    )
    .await
    .ok(201);
    let r = s
        .post_as(
            &a,
            "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": "P1", "location": "S02", "quantity": "2"}),
        )
        .await;
    assert!(r.problem(403)["detail"].as_str().unwrap().contains("S02"));
    s.post(
        "/api/v1/stock/movements",
        json!({"kind": "receipt", "sku": "P1", "location": "S02", "quantity": "5"}),
    )
    .await
    .ok(201);
    let r = s
        .post_as(
            &a,
            "/api/v1/stock/transfers",
            json!({"sku": "P1", "from": "S02", "to": "S01", "quantity": "1"}),
        )
        .await;
    r.problem(403);
    assert_eq!(s.movement_count().await, 2);
    let unknown = s
        .post("/api/v1/users", json!({"username": "zz1", "password": "una-clave-larga", "role": "cashier", "locations": ["NOPE"]}))
        .await;
    assert_eq!(unknown.problem(422)["field"], "locations[0]");
}

async fn bad_and_revoked_tokens_are_refused(engine: Engine) {
    let s = TestServer::start(engine).await;
    for token in ["", "garbage", "alms_notarealtoken", "almk_notarealkey"] {
        let r = s.get_as(token, "/api/v1/products").await;
        r.problem(401);
    }
    let r = s
        .send(
            None,
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(json!({"username": "admin", "password": "wrong-password"})),
            None,
        )
        .await;
    assert_eq!(
        r.problem(401)["type"],
        "urn:almacen:problem:bad-credentials"
    );
    let r = s
        .send(
            None,
            reqwest::Method::POST,
            "/api/v1/auth/login",
            Some(json!({"username": "nobody", "password": "whatever-it-is"})),
            None,
        )
        .await;
    assert_eq!(
        r.problem(401)["type"],
        "urn:almacen:problem:bad-credentials"
    );
    let token = s.login("admin", ADMIN_PASSWORD).await;
    s.get_as(&token, "/api/v1/products").await.ok(200);
    s.send(
        Some(&token),
        reqwest::Method::POST,
        "/api/v1/auth/logout",
        None,
        None,
    )
    .await
    .ok(204);
    s.get_as(&token, "/api/v1/products").await.problem(401);
    // Other sessions of the same user are untouched.
    s.get("/api/v1/products").await.ok(200);
}

async fn sessions_expire(engine: Engine) {
    let clock = app::Clock::fixed(chrono::Utc::now());
    let s = TestServer::start_with(engine, clock.clone(), common::test_settings()).await;
    s.get("/api/v1/products").await.ok(200);
    clock.advance(chrono::Duration::hours(11));
    s.get("/api/v1/products").await.ok(200);
    clock.advance(chrono::Duration::hours(2));
    s.get("/api/v1/products").await.problem(401);
}

async fn failed_logins_slow_down_then_lock(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.user("cajera", "cashier", &[]).await;
    let attempt = |password: &'static str| {
        let s = &s;
        async move {
            s.send(
                None,
                reqwest::Method::POST,
                "/api/v1/auth/login",
                Some(json!({"username": "cajera", "password": password})),
                None,
            )
            .await
        }
    };
    for _ in 0..5 {
        attempt("not-the-password").await.problem(401);
    }
    let locked = attempt("not-the-password").await;
    assert_eq!(
        locked.problem(429)["type"],
        "urn:almacen:problem:account-locked"
    );
    assert!(locked.headers.get("retry-after").is_some());
    // Even the right password is refused while locked.
    let r = attempt("otra-clave-segura-1").await;
    r.problem(429);
    let audit = s.get("/api/v1/audit?limit=20").await;
    let actions: Vec<String> = audit.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.contains(&"auth.lockout".to_owned())
            && actions.contains(&"auth.login_failed".to_owned()),
        "{actions:?}"
    );
}

async fn api_keys_carry_a_role_and_can_be_revoked(engine: Engine) {
    let s = TestServer::start(engine).await;
    let r = s
        .post(
            "/api/v1/api-keys",
            json!({"name": "balanza", "role": "viewer"}),
        )
        .await;
    let created = r.ok(201).clone();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("almk_"));
    let listed = s.get("/api/v1/api-keys").await;
    let listed = listed.ok(200).as_array().unwrap().clone();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].get("secret").is_none(),
        "the secret is shown once only"
    );
    s.get_as(&secret, "/api/v1/products").await.ok(200);
    s.post_as(
        &secret,
        "/api/v1/products",
        json!({"name": "X", "category": "Almacén", "cost": "1", "price": "2", "vat_rate": "21"}),
    )
    .await
    .problem(403);
    let id = created["id"].as_i64().unwrap();
    s.send(
        Some(&s.token),
        reqwest::Method::DELETE,
        &format!("/api/v1/api-keys/{id}"),
        None,
        None,
    )
    .await
    .ok(204);
    s.get_as(&secret, "/api/v1/products").await.problem(401);
}
