//! Nodes that share Redis: login limits are counted across nodes, a logout or an API-key
//! revocation on one node applies on the other at once (not after the 30 s credential cache),
//! and with Redis unreachable or cut every request still succeeds and limits fall back to each
//! node's own counters. Two `almacen serve` processes on one PostgreSQL database; Redis on
//! 127.0.0.1:6379 (`ALMACEN_TEST_REDIS`), reached through a cuttable proxy where it is cut.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::node::{Node, add_user, login};
use common::proxy::Proxy;
use serde_json::{Value, json};

const PASSWORD: &str = "clave-compartida-123";

fn redis_addr() -> String {
    std::env::var("ALMACEN_TEST_REDIS").unwrap_or_else(|_| "127.0.0.1:6379".into())
}

/// Limits small enough to reach in a test; a long window so none ends mid-test.
const LIMITS: [(&str, &str); 4] = [
    ("ALMACEN_LOGIN__ATTEMPTS_PER_WINDOW", "4"),
    ("ALMACEN_LOGIN__ATTEMPTS_WINDOW_SECS", "3600"),
    ("ALMACEN_LOGIN__LOCK_AFTER", "1000"),
    ("ALMACEN_LOGIN__SLOWDOWN_AFTER", "1000"),
];

/// Two nodes on a fresh PostgreSQL database with the given Redis URL, and a user whose name
/// is new to Redis (counters there outlive test databases).
async fn two_nodes(redis_url: &str) -> ([Node; 2], String) {
    let url = common::fresh_database(common::Engine::Postgres).await;
    let user = format!("u{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    add_user(&url, &user, "admin", PASSWORD);
    let mut env = LIMITS.to_vec();
    env.push(("ALMACEN_REDIS_URL", redis_url));
    let nodes = [Node::start(&url, &env).await, Node::start(&url, &env).await];
    (nodes, user)
}

async fn attempt(node: &Node, user: &str, password: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", node.base))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn assert_limited((status, body): &(u16, Value)) {
    assert_eq!(*status, 429, "{body}");
    assert!(
        body["type"].as_str().unwrap().ends_with("rate-limited"),
        "{body}"
    );
}

async fn get(node: &Node, token: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}{path}", node.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Asks `node` until it refuses `token`; true if it did within 5 s, far less than the 30 s a
/// node trusts a cached credential, so only the invalidation can explain it.
async fn refused_soon(node: &Node, token: &str, path: &str) -> bool {
    for _ in 0..50 {
        if get(node, token, path).await == 401 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_limits_are_shared_by_the_nodes() {
    let (nodes, user) = two_nodes(&format!("redis://{}", redis_addr())).await;
    let [a, b] = &nodes;
    // Four attempts in all, two per node: each node alone saw fewer than the limit.
    assert_eq!(attempt(a, &user, "equivocada-1").await.0, 401);
    assert_eq!(attempt(b, &user, "equivocada-2").await.0, 401);
    assert_eq!(attempt(a, &user, "equivocada-3").await.0, 401);
    assert_eq!(attempt(b, &user, PASSWORD).await.0, 200);
    // The fifth, on either node, is over the shared limit, even with the right password.
    assert_limited(&attempt(a, &user, PASSWORD).await);
    let limited = attempt(b, &user, PASSWORD).await;
    assert_limited(&limited);
    assert!(
        limited.1["detail"].as_str().unwrap().contains("segundos"),
        "{}",
        limited.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_applies_on_the_other_at_once() {
    let (nodes, user) = two_nodes(&format!("redis://{}", redis_addr())).await;
    let [a, b] = &nodes;
    let client = reqwest::Client::new();
    // A session: used on B (which caches it), closed on A.
    let token = login(&client, &a.base, &user, PASSWORD).await;
    assert_eq!(get(b, &token, "/api/v1/auth/me").await, 200);
    assert_eq!(get(b, &token, "/api/v1/auth/me").await, 200);
    let out = client
        .post(format!("{}/api/v1/auth/logout", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert!(
        refused_soon(b, &token, "/api/v1/auth/me").await,
        "node B kept honouring a session closed on node A"
    );

    // An API key: used on B, revoked on A.
    let admin = login(&client, &a.base, &user, PASSWORD).await;
    let key: Value = client
        .post(format!("{}/api/v1/api-keys", a.base))
        .bearer_auth(&admin)
        .json(&json!({"name": "balanza", "role": "viewer"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(get(b, &secret, "/api/v1/products").await, 200);
    let revoked = client
        .delete(format!("{}/api/v1/api-keys/{}", a.base, key["id"]))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    assert!(
        refused_soon(b, &secret, "/api/v1/products").await,
        "node B kept honouring an API key revoked on node A"
    );
    // The admin's own session on B is untouched by those revocations.
    assert_eq!(get(b, &admin, "/api/v1/auth/me").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bogus_redis_url_changes_nothing_for_clients() {
    // Nothing listens on port 1: every Redis call fails at once.
    let (nodes, user) = two_nodes("redis://127.0.0.1:1").await;
    let [a, b] = &nodes;
    let client = reqwest::Client::new();
    let token = login(&client, &a.base, &user, PASSWORD).await;
    assert_eq!(get(b, &token, "/api/v1/auth/me").await, 200);
    let created = client
        .post(format!("{}/api/v1/locations", b.base))
        .bearer_auth(&token)
        .json(&json!({"code": "S01", "name": "Sucursal", "kind": "store"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let out = client
        .post(format!("{}/api/v1/auth/logout", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(get(a, &token, "/api/v1/auth/me").await, 401);
    // Limits are each node's own: A counts 1 (login) + 3, then refuses; B has counted none.
    for _ in 0..3 {
        assert_eq!(attempt(a, &user, "equivocada").await.0, 401);
    }
    assert_limited(&attempt(a, &user, PASSWORD).await);
    assert_eq!(attempt(b, &user, PASSWORD).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_cut_mid_run_requests_still_succeed() {
    let proxy = Proxy::start(redis_addr()).await;
    let (nodes, user) = two_nodes(&format!("redis://127.0.0.1:{}", proxy.port)).await;
    let [a, b] = &nodes;
    let client = reqwest::Client::new();
    // Shared while Redis answers: two attempts, one per node.
    let token = login(&client, &a.base, &user, PASSWORD).await;
    assert_eq!(attempt(b, &user, "equivocada").await.0, 401);
    assert_eq!(get(b, &token, "/api/v1/auth/me").await, 200);

    proxy.cut();
    // Logins, reads, writes and logouts go on; nothing waits for Redis.
    let token_b = login(&client, &b.base, &user, PASSWORD).await;
    for (node, code) in [(a, "S01"), (b, "S02")] {
        let r = client
            .post(format!("{}/api/v1/locations", node.base))
            .bearer_auth(&token_b)
            .json(&json!({"code": code, "name": "Sucursal", "kind": "store"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let out = client
        .post(format!("{}/api/v1/auth/logout", b.base))
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 204);
    assert_eq!(get(b, &token_b, "/api/v1/auth/me").await, 401);
    // Local limits, four per node: B counts its login above and these three since the cut;
    // A has counted none.
    assert_eq!(attempt(b, &user, "equivocada").await.0, 401);
    assert_eq!(attempt(b, &user, "equivocada").await.0, 401);
    assert_eq!(attempt(b, &user, "equivocada").await.0, 401);
    assert_limited(&attempt(b, &user, PASSWORD).await);
    assert_eq!(attempt(a, &user, PASSWORD).await.0, 200);

    // Redis back: revocations cross nodes again once both nodes have reconnected (API keys,
    // so that no further login counts against the limit).
    proxy.restore();
    let mut shared_again = false;
    for i in 0..10 {
        let key: Value = client
            .post(format!("{}/api/v1/api-keys", a.base))
            .bearer_auth(&token)
            .json(&json!({"name": format!("caja-{i}"), "role": "viewer"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret = key["secret"].as_str().unwrap().to_owned();
        assert_eq!(get(b, &secret, "/api/v1/products").await, 200);
        let revoked = client
            .delete(format!("{}/api/v1/api-keys/{}", a.base, key["id"]))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status().as_u16(), 204);
        if refused_soon(b, &secret, "/api/v1/products").await {
            shared_again = true;
            break;
        }
    }
    assert!(
        shared_again,
        "revocations never crossed nodes after Redis came back"
    );
}
