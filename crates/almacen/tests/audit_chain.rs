//! The tamper-evident audit log on both engines: once sealed, `almacen audit verify` finds an
//! edited or a deleted entry (exit 1, naming it), and passes an untouched chain; concurrent
//! writers and sealers build one unbroken chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{Engine, TestServer};
use serde_json::{Value, json};

engine_tests!(
    an_untouched_chain_verifies,
    an_edited_entry_is_found,
    a_deleted_entry_is_found,
    a_deleted_last_entry_is_found,
    concurrent_writers_and_sealers_build_one_chain,
);

/// `almacen audit verify --json` on the server's database: (exit success, report).
fn verify(s: &TestServer) -> (bool, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args([
            "audit",
            "verify",
            "--json",
            "--database-url",
            &s.database_url,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), report)
}

/// A server with a location and five products, all audited and sealed.
async fn sealed_server(engine: Engine) -> (TestServer, i64) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    for i in 0..5 {
        s.product(&format!("AUD{i}")).await;
    }
    let sealed = s.app.seal_audit().await.unwrap();
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert!(sealed >= 6, "sealed {sealed}");
    assert_eq!(sealed as i64, total);
    (s, total)
}

async fn id_at(s: &TestServer, seq: i64) -> i64 {
    sqlx::query_scalar("SELECT id FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_one(s.store.pool())
        .await
        .unwrap()
}

async fn exec(s: &TestServer, sql: &'static str, seq: i64) {
    let n = sqlx::query(sql)
        .bind(seq)
        .execute(s.store.pool())
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1, "{sql}");
}

async fn an_untouched_chain_verifies(engine: Engine) {
    let (s, total) = sealed_server(engine).await;
    let (ok, report) = verify(&s);
    assert!(ok, "{report}");
    assert_eq!(
        report,
        json!({"ok": true, "verified": total, "sealed": total, "pending": 0, "first_break": null})
    );
    // Later entries extend the chain; until sealed they are pending, not failures.
    s.product("AUD-NUEVO").await;
    let (ok, report) = verify(&s);
    assert!(ok, "{report}");
    assert_eq!(report["pending"], 1);
    assert_eq!(s.app.seal_audit().await.unwrap(), 1);
    let (ok, report) = verify(&s);
    assert!(ok, "{report}");
    assert_eq!(report["verified"], total + 1);
    assert_eq!(report["pending"], 0);
}

async fn an_edited_entry_is_found(engine: Engine) {
    let (s, total) = sealed_server(engine).await;
    let id = id_at(&s, 3).await;
    exec(
        &s,
        "UPDATE audit_log SET actor = 'otro-usuario' WHERE seq = $1",
        3,
    )
    .await;
    let (ok, report) = verify(&s);
    assert!(!ok, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["verified"], 2);
    assert_eq!(report["sealed"], total);
    assert_eq!(
        report["first_break"],
        json!({"kind": "edited", "seq": 3, "id": id})
    );
    // The human report names the entry too.
    let out = Command::new(env!("CARGO_BIN_EXE_almacen"))
        .args(["audit", "verify", "--database-url", &s.database_url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "FALLA: la entrada {id} (posición 3) fue modificada"
        )),
        "{text}"
    );
}

async fn a_deleted_entry_is_found(engine: Engine) {
    let (s, _) = sealed_server(engine).await;
    exec(&s, "DELETE FROM audit_log WHERE seq = $1", 4).await;
    let (ok, report) = verify(&s);
    assert!(!ok, "{report}");
    assert_eq!(report["verified"], 3);
    assert_eq!(report["first_break"], json!({"kind": "deleted", "seq": 4}));
}

async fn a_deleted_last_entry_is_found(engine: Engine) {
    let (s, total) = sealed_server(engine).await;
    exec(&s, "DELETE FROM audit_log WHERE seq = $1", total).await;
    let (ok, report) = verify(&s);
    assert!(!ok, "{report}");
    assert_eq!(report["verified"], total - 1);
    assert_eq!(
        report["first_break"],
        json!({"kind": "deleted", "seq": total})
    );
}

/// Writers commit out of id order on PostgreSQL; sealers on several nodes take turns. Every
/// entry ends up sealed exactly once, in one chain that verifies.
async fn concurrent_writers_and_sealers_build_one_chain(engine: Engine) {
    let (s, _) = sealed_server(engine).await;
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for w in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..15 {
                s.product(&format!("CONC{w}-{i}")).await;
            }
        }));
    }
    for _ in 0..3 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                s.app.seal_audit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    s.app.seal_audit().await.unwrap();
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT seq) FROM audit_log")
        .fetch_one(s.store.pool())
        .await
        .unwrap();
    assert_eq!(distinct, total);
    let (ok, report) = verify(&s);
    assert!(ok, "{report}");
    assert_eq!(
        report,
        json!({"ok": true, "verified": total, "sealed": total, "pending": 0, "first_break": null})
    );
}
