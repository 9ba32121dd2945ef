//! Background work: a scheduled slot runs once across nodes, the outbox retries with backoff and
//! then dead-letters, and alerts reach a webhook signed with HMAC.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use app::operations::{Agent, NewAlert, OutboxPolicy, Scheduler};
use axum::body::Bytes;
use axum::http::HeaderMap;
use common::{Engine, TestServer};
use serde_json::json;

engine_tests!(
    a_slot_runs_once_across_two_nodes,
    outbox_retries_then_dead_letters_then_recovers,
    stock_alerts_reach_a_signed_webhook_and_are_read_per_user,
);

/// A local webhook receiver answering with a settable status.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receiver() -> Receiver {
    let status = Arc::new(AtomicU16::new(200));
    let hits: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let (s, h) = (status.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (s, h) = (s.clone(), h.clone());
            async move {
                h.lock().unwrap().push((headers, body));
                axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, status, hits }
}

async fn a_slot_runs_once_across_two_nodes(engine: Engine) {
    let s = TestServer::start(engine).await;
    let cfg = almacen::config::Config {
        database_url: s.database_url.clone(),
        ..Default::default()
    };
    let other = almacen::server::wire(&cfg, app::Clock::system())
        .await
        .unwrap();
    let runs = Arc::new(AtomicU64::new(0));
    let agent = |runs: Arc<AtomicU64>| Agent {
        name: "demo",
        schedule: "* * * * *".into(),
        job: Arc::new(move || {
            let runs = runs.clone();
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Ok("hecho".into())
            })
        }),
    };
    let a = Scheduler::new(s.app.clone(), "nodo-a".into(), vec![agent(runs.clone())]).unwrap();
    let b = Scheduler::new(
        other.app.clone(),
        "nodo-b".into(),
        vec![agent(runs.clone())],
    )
    .unwrap();
    let now = chrono::Utc::now();
    let since = now - chrono::Duration::minutes(3);
    let (ra, rb) = tokio::join!(a.run_due(since, now), b.run_due(since, now));
    assert_eq!(
        ra.unwrap().len() + rb.unwrap().len(),
        1,
        "exactly one node runs the slot"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The same slot again: nobody runs it.
    assert!(a.run_due(since, now).await.unwrap().is_empty());
    let status = s
        .app
        .agent_statuses(&app::Principal::system(), &[agent(runs.clone())])
        .await
        .unwrap();
    assert_eq!(
        (
            status[0].last_status.as_deref(),
            status[0].last_detail.as_deref()
        ),
        (Some("succeeded"), Some("hecho"))
    );
    assert!(status[0].next_run_at.unwrap() > now);
    assert!(
        Scheduler::new(
            s.app.clone(),
            "x".into(),
            vec![Agent {
                schedule: "cada tanto".into(),
                ..agent(runs.clone())
            }]
        )
        .is_err()
    );
}

fn alert(subject: &str) -> NewAlert {
    NewAlert {
        kind: "prueba".into(),
        severity: "warning".into(),
        subject: subject.into(),
        title: "Alerta de prueba".into(),
        body: "Cuerpo de la alerta, con ñ".into(),
        payload: json!({"x": 1}),
    }
}

async fn outbox_retries_then_dead_letters_then_recovers(engine: Engine) {
    let s = TestServer::start(engine).await;
    let hook = receiver().await;
    hook.status.store(500, Ordering::SeqCst);
    let notifier = almacen::agents::ChannelNotifier::new(&[almacen::agents::Subscription {
        topics: vec!["alert.raised".into()],
        channel: notify::ChannelConfig::Webhook {
            url: hook.url.clone(),
            secret: "s3creto".into(),
        },
    }])
    .unwrap();
    let policy = OutboxPolicy {
        base_delay_ms: 1,
        max_delay_ms: 5,
        max_attempts: 3,
    };
    // Unwanted topics (the location's own events) are delivered without a channel.
    s.location("S01", "store").await;
    assert!(
        s.app
            .store
            .raise_alert(alert("a1"), s.app.clock.now_micros())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.app
            .store
            .raise_alert(alert("a1"), s.app.clock.now_micros())
            .await
            .unwrap()
            .is_none(),
        "one open alert per subject"
    );
    for _ in 0..20 {
        s.app.dispatch_outbox(&notifier, &policy).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        hook.hits.lock().unwrap().len(),
        3,
        "three attempts, then no more"
    );
    let dead = s.get("/api/v1/outbox/dead-letters").await;
    let dead = dead.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0]["topic"].as_str(), dead[0]["attempts"].as_i64()),
        (Some("alert.raised"), Some(3))
    );
    assert!(dead[0]["last_error"].as_str().unwrap().contains("500"));
    assert_eq!(s.app.store.outbox_counts().await.unwrap(), (0, 1));
    // Manual retry once the receiver is back.
    hook.status.store(204, Ordering::SeqCst);
    let id = dead[0]["id"].as_i64().unwrap();
    s.send(
        Some(&s.token),
        reqwest::Method::POST,
        &format!("/api/v1/outbox/{id}/retry"),
        None,
        None,
    )
    .await
    .ok(204);
    s.app.dispatch_outbox(&notifier, &policy).await.unwrap();
    assert_eq!(hook.hits.lock().unwrap().len(), 4);
    assert_eq!(s.app.store.outbox_counts().await.unwrap(), (0, 0));
    let cashier = s.user("cajero", "cashier", &[]).await;
    s.get_as(&cashier, "/api/v1/outbox/dead-letters")
        .await
        .problem(403);
}

async fn stock_alerts_reach_a_signed_webhook_and_are_read_per_user(engine: Engine) {
    let s = TestServer::start(engine).await;
    let hook = receiver().await;
    let notifier = almacen::agents::ChannelNotifier::new(&[almacen::agents::Subscription {
        topics: vec!["alert.raised".into()],
        channel: notify::ChannelConfig::Webhook {
            url: hook.url.clone(),
            secret: "s3creto".into(),
        },
    }])
    .unwrap();
    s.location("S01", "store").await;
    s.post(
        "/api/v1/products",
        json!({"sku": "YERBA", "name": "Yerba 1 kg", "category": "Almacén", "cost": "3000", "price": "4500", "vat_rate": "21",
               "stock_limits": [{"location": "S01", "min": "10", "max": "40"}]}),
    )
    .await
    .ok(201);
    s.movement(json!({"kind": "receipt", "sku": "YERBA", "location": "S01", "quantity": "2"}))
        .await
        .ok(201);
    let detail = s.app.raise_stock_alerts().await.unwrap();
    assert!(detail.contains("1 alertas nuevas"), "{detail}");
    // Raising again does not duplicate the open alert.
    assert!(
        s.app
            .raise_stock_alerts()
            .await
            .unwrap()
            .contains("0 alertas nuevas")
    );
    s.app
        .dispatch_outbox(&notifier, &OutboxPolicy::default())
        .await
        .unwrap();
    let hits = hook.hits.lock().unwrap().clone();
    assert_eq!(hits.len(), 1);
    let (headers, body) = &hits[0];
    let signature = headers
        .get(notify::SIGNATURE_HEADER)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(notify::verify("s3creto", body, signature));
    let sent: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(sent["topic"], "alert.raised");
    assert!(
        sent["title"].as_str().unwrap().contains("Yerba 1 kg"),
        "{sent}"
    );
    // Read state is per user.
    let other = s.user("encargado", "manager", &[]).await;
    let unread = s.get("/api/v1/alerts?unread=true").await;
    let id = unread.ok(200)["items"][0]["id"].as_i64().unwrap();
    s.send(
        Some(&s.token),
        reqwest::Method::POST,
        &format!("/api/v1/alerts/{id}/read"),
        None,
        None,
    )
    .await
    .ok(204);
    assert_eq!(
        s.get("/api/v1/alerts?unread=true").await.ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        s.get_as(&other, "/api/v1/alerts?unread=true").await.ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Restocking resolves the alert.
    s.movement(json!({"kind": "receipt", "sku": "YERBA", "location": "S01", "quantity": "30"}))
        .await
        .ok(201);
    assert!(
        s.app
            .raise_stock_alerts()
            .await
            .unwrap()
            .contains("1 resueltas")
    );
    let all = s.get("/api/v1/alerts").await;
    assert!(!all.ok(200)["items"][0]["resolved_at"].is_null());
}
