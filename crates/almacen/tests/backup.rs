//! Backups and verified restores on both engines: a damaged, foreign or mismatched archive is
//! refused before anything is touched; a good one restores rows and content exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{Engine, TestServer};
use serde_json::json;

engine_tests!(
    backup_then_verified_restore,
    encrypted_backup_needs_its_passphrase
);

fn almacen(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_almacen"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn archive_path(out: &Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "backup failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("copia escrita: "))
        .unwrap();
    PathBuf::from(
        line.trim_start_matches("copia escrita: ")
            .split(" (")
            .next()
            .unwrap(),
    )
}

async fn shop_with_data(engine: Engine) -> TestServer {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    s.post("/api/v1/products", json!({"sku": "B1", "name": "Bizcochos", "category": "Panadería", "cost": "100", "price": "180", "vat_rate": "10.5"}))
        .await
        .ok(201);
    s.movement(json!({"kind": "receipt", "sku": "B1", "location": "S01", "quantity": "20", "lot": "L1", "expiry": "2027-01-10"})).await.ok(201);
    let shift = s
        .post(
            "/api/v1/shifts",
            json!({"location": "S01", "till": "1", "opening_float": "0"}),
        )
        .await
        .ok(201)["id"]
        .clone();
    s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "B1", "quantity": "3"}], "payments": [{"method": "cash", "amount": "540"}]}))
        .await
        .ok(201);
    s
}

async fn target_is_untouched(engine: Engine, url: &str) {
    match engine {
        Engine::Sqlite => assert!(
            !std::path::Path::new(url.trim_start_matches("sqlite://")).exists(),
            "the target must not be created"
        ),
        Engine::Postgres => {
            let probe = store::SqlStore::open(url, store::StoreOptions::default())
                .await
                .unwrap();
            assert!(
                probe.is_empty().await.unwrap(),
                "the target must stay empty"
            );
        }
    }
}

async fn backup_then_verified_restore(engine: Engine) {
    let s = shop_with_data(engine).await;
    let dir = std::env::temp_dir().join(format!("almacen-bk-{}", uuid::Uuid::new_v4().simple()));
    let out = almacen(
        &[
            "backup",
            "--output",
            dir.to_str().unwrap(),
            "--database-url",
            &s.database_url,
        ],
        &[],
    );
    let archive = archive_path(&out);
    assert!(archive.exists());

    // One flipped byte: refused, target untouched.
    let corrupt = dir.join("corrupt.tar.gz");
    let mut bytes = std::fs::read(&archive).unwrap();
    // Some deflate bits change nothing once decoded (seen: a flipped byte that gzip -t accepts
    // and that decodes to the same tar); such a copy is not damaged, so flip the first byte
    // from the middle on that really changes or breaks what the archive holds.
    let gunzip = |b: &[u8]| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(b), &mut out).map(|_| out)
    };
    let original = gunzip(&bytes).unwrap();
    let mid = bytes.len() / 2;
    let mut at = mid;
    loop {
        bytes[at] ^= 0x55;
        if gunzip(&bytes).ok().as_ref() != Some(&original) {
            break;
        }
        bytes[at] ^= 0x55;
        at += 1;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    let target = common::fresh_database(engine).await;
    let r = almacen(
        &[
            "restore",
            corrupt.to_str().unwrap(),
            "--database-url",
            &target,
        ],
        &[],
    );
    assert!(!r.status.success());
    let why = String::from_utf8_lossy(&r.stderr);
    assert!(
        why.contains("dañad") || why.contains("no coincide") || why.contains("válido"),
        "{why}"
    );
    target_is_untouched(engine, &target).await;

    // Truncated: refused too.
    let truncated = dir.join("truncated.tar.gz");
    std::fs::write(&truncated, &std::fs::read(&archive).unwrap()[..mid]).unwrap();
    let r = almacen(
        &[
            "restore",
            truncated.to_str().unwrap(),
            "--database-url",
            &target,
        ],
        &[],
    );
    assert!(!r.status.success());
    target_is_untouched(engine, &target).await;

    // Something that is not an almacen backup at all: refused.
    let foreign = dir.join("foreign.tar.gz");
    std::fs::write(&foreign, b"esto no es una copia de almacen").unwrap();
    let r = almacen(
        &[
            "restore",
            foreign.to_str().unwrap(),
            "--database-url",
            &target,
        ],
        &[],
    );
    assert!(!r.status.success());
    target_is_untouched(engine, &target).await;

    // The wrong engine: refused.
    let other = common::fresh_database(if engine == Engine::Sqlite {
        Engine::Postgres
    } else {
        Engine::Sqlite
    })
    .await;
    let r = almacen(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--database-url",
            &other,
        ],
        &[],
    );
    assert!(!r.status.success());
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("destino"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );

    // The good archive restores exactly.
    let r = almacen(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--database-url",
            &target,
        ],
        &[],
    );
    assert!(
        r.status.success(),
        "{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
    let restored = store::SqlStore::open(&target, store::StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(
        restored.row_counts().await.unwrap(),
        s.store.row_counts().await.unwrap()
    );
    assert_eq!(
        restored.content_checksums().await.unwrap(),
        s.store.content_checksums().await.unwrap()
    );
    assert_eq!(restored.row_counts().await.unwrap()["stock_movements"], 2);
    // A restore never overwrites a database in use.
    let r = almacen(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--database-url",
            &target,
        ],
        &[],
    );
    assert!(!r.status.success());
}

async fn encrypted_backup_needs_its_passphrase(engine: Engine) {
    let s = shop_with_data(engine).await;
    let dir = std::env::temp_dir().join(format!("almacen-bk-{}", uuid::Uuid::new_v4().simple()));
    let pass = [("BACKUP_PASS", "una frase larga y secreta")];
    let out = almacen(
        &[
            "backup",
            "--output",
            dir.to_str().unwrap(),
            "--passphrase-env",
            "BACKUP_PASS",
            "--database-url",
            &s.database_url,
        ],
        &pass,
    );
    let archive = archive_path(&out);
    assert!(archive.to_string_lossy().ends_with(".enc"));
    let raw = std::fs::read(&archive).unwrap();
    assert!(
        !raw.windows(4).any(|w| w == b"B1\0\0") && raw.starts_with(b"ALMACEN-ENC1"),
        "the archive is encrypted"
    );
    let target = common::fresh_database(engine).await;
    let r = almacen(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--database-url",
            &target,
        ],
        &[],
    );
    assert!(!r.status.success());
    let r = almacen(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--passphrase-env",
            "BACKUP_PASS",
            "--database-url",
            &target,
        ],
        &[("BACKUP_PASS", "otra frase")],
    );
    assert!(!r.status.success());
    assert!(String::from_utf8_lossy(&r.stderr).contains("frase"));
    target_is_untouched(engine, &target).await;
    let r = almacen(
        &[
            "restore",
            archive.to_str().unwrap(),
            "--passphrase-env",
            "BACKUP_PASS",
            "--database-url",
            &target,
        ],
        &pass,
    );
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}
