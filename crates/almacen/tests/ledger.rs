//! Stock ledger rules, run on SQLite and PostgreSQL alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Engine, TestServer};
use serde_json::{Value, json};

engine_tests!(
    receipt_issue_transfer_count_arithmetic,
    sign_follows_the_kind,
    fefo_takes_earliest_expiry_first,
    insufficient_stock_lists_every_short_line_and_writes_nothing,
    idempotent_retry_returns_the_first_result,
    hundred_concurrent_issues_against_ten_units,
    weighed_products_keep_exact_fractions,
    pack_barcode_multiplies_quantity,
    critical_stock_follows_the_season,
    limits_carry_the_on_hand_through_every_movement_and_edit,
    concurrent_sales_and_a_new_limit_agree,
    check_detects_a_tampered_projection,
    movement_log_filters_and_pages,
);

async fn receipt_issue_transfer_count_arithmetic(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    s.location("S01", "store").await;
    let p = s.product("ARROZ-1").await;

    let m = s.movement(json!({"kind": "receipt", "sku": "ARROZ-1", "location": "DEP", "quantity": "10", "unit_cost": "95.50"})).await;
    let m = &m.ok(201)[0];
    assert_eq!(
        (
            m["before"].as_str(),
            m["after"].as_str(),
            m["quantity"].as_str()
        ),
        (Some("0"), Some("10"), Some("10"))
    );
    assert_eq!(m["unit_cost"], "95.50");
    assert_eq!(m["user"], "admin");

    let m = s.movement(json!({"kind": "issue", "product_id": p, "location": "DEP", "quantity": "3", "reason": "rotura"})).await;
    let m = &m.ok(201)[0];
    assert_eq!(
        (m["quantity"].as_str(), m["after"].as_str()),
        (Some("-3"), Some("7"))
    );
    assert_eq!(m["reason"], "rotura");

    let t = s
        .post(
            "/api/v1/stock/transfers",
            json!({"sku": "ARROZ-1", "from": "DEP", "to": "S01", "quantity": "4"}),
        )
        .await;
    let t = t.ok(201).as_array().unwrap().clone();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (
            t[0]["kind"].as_str(),
            t[0]["location"].as_str(),
            t[0]["quantity"].as_str()
        ),
        (Some("transfer_out"), Some("DEP"), Some("-4"))
    );
    assert_eq!(
        (
            t[1]["kind"].as_str(),
            t[1]["location"].as_str(),
            t[1]["quantity"].as_str()
        ),
        (Some("transfer_in"), Some("S01"), Some("4"))
    );
    assert_eq!(t[0]["document"], t[1]["document"]);
    assert_eq!(s.on_hand(p, "DEP").await, "3");
    assert_eq!(s.on_hand(p, "S01").await, "4");

    let c = s
        .movement(json!({"kind": "count", "sku": "ARROZ-1", "location": "S01", "quantity": "6"}))
        .await;
    let c = &c.ok(201)[0];
    assert_eq!(
        (
            c["kind"].as_str(),
            c["quantity"].as_str(),
            c["before"].as_str(),
            c["after"].as_str()
        ),
        (Some("count"), Some("2"), Some("4"), Some("6"))
    );
    let c = s
        .movement(json!({"kind": "count", "sku": "ARROZ-1", "location": "DEP", "quantity": "1"}))
        .await;
    assert_eq!(c.ok(201)[0]["quantity"], "-2");
    let c = s
        .movement(json!({"kind": "count", "sku": "ARROZ-1", "location": "DEP", "quantity": "1"}))
        .await;
    assert_eq!(
        c.ok(201)[0]["quantity"],
        "0",
        "a matching count still leaves a record"
    );
    let a = s.movement(json!({"kind": "adjustment", "sku": "ARROZ-1", "location": "S01", "quantity": "-1.000"})).await;
    assert_eq!(a.ok(201)[0]["after"], "5");

    assert_eq!(s.on_hand(p, "DEP").await, "1");
    assert_eq!(s.on_hand(p, "S01").await, "5");
    assert_eq!(s.movement_count().await, 8);
    assert!(s.ledger_ok().await);
}

async fn sign_follows_the_kind(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    s.product("A1").await;
    let r = s
        .movement(json!({"kind": "receipt", "sku": "A1", "location": "DEP", "quantity": "-5"}))
        .await;
    let p = r.problem(422);
    assert_eq!(
        (p["field"].as_str(), p["rule"].as_str()),
        (Some("quantity"), Some("sign"))
    );
    let r = s
        .movement(json!({"kind": "issue", "sku": "A1", "location": "DEP", "quantity": "0"}))
        .await;
    assert_eq!(r.problem(422)["field"], "quantity");
    let r = s
        .movement(json!({"kind": "adjustment", "sku": "A1", "location": "DEP", "quantity": "0"}))
        .await;
    assert_eq!(r.problem(422)["field"], "quantity");
    let r = s
        .movement(json!({"kind": "count", "sku": "A1", "location": "DEP", "quantity": "-1"}))
        .await;
    assert_eq!(r.problem(422)["rule"], "negative");
    let r = s
        .movement(json!({"kind": "teleport", "sku": "A1", "location": "DEP", "quantity": "1"}))
        .await;
    assert_eq!(r.problem(422)["field"], "kind");
    let r = s
        .movement(json!({"kind": "receipt", "sku": "A1", "location": "DEP", "quantity": "diez"}))
        .await;
    assert_eq!(r.problem(422)["field"], "quantity");
    let r = s
        .movement(json!({"kind": "receipt", "sku": "NOPE", "location": "DEP", "quantity": "1"}))
        .await;
    let p = r.problem(422);
    assert_eq!(
        (p["field"].as_str(), p["rule"].as_str()),
        (Some("sku"), Some("exists"))
    );
    let r = s
        .movement(json!({"kind": "receipt", "sku": "A1", "location": "NOWHERE", "quantity": "1"}))
        .await;
    assert_eq!(r.problem(422)["field"], "location");
    assert_eq!(s.movement_count().await, 0);
}

async fn fefo_takes_earliest_expiry_first(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let p = s.product("YOG").await;
    let batch = json!({"movements": [
        {"kind": "receipt", "sku": "YOG", "location": "DEP", "quantity": "5", "lot": "L2", "expiry": "2027-02-01"},
        {"kind": "receipt", "sku": "YOG", "location": "DEP", "quantity": "3", "lot": "L1", "expiry": "2027-01-01"},
        {"kind": "receipt", "sku": "YOG", "location": "DEP", "quantity": "2"}
    ]});
    assert_eq!(
        s.post("/api/v1/stock/movements/batch", batch)
            .await
            .ok(201)
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let r = s
        .movement(json!({"kind": "issue", "sku": "YOG", "location": "DEP", "quantity": "6"}))
        .await;
    let taken: Vec<(String, String)> = r
        .ok(201)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["lot"].as_str().unwrap().to_owned(),
                m["quantity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        taken,
        vec![
            ("L1".to_owned(), "-3".to_owned()),
            ("L2".to_owned(), "-3".to_owned())
        ]
    );
    let levels = s.get(&format!("/api/v1/stock?product_id={p}")).await;
    let levels: Vec<(String, String)> = levels.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lot"].as_str().unwrap_or("").to_owned(),
                l["on_hand"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        levels,
        vec![
            ("".into(), "2".into()),
            ("L1".into(), "0".into()),
            ("L2".into(), "2".into())
        ]
    );

    // A named lot is taken from that lot only.
    let r = s
        .movement(
            json!({"kind": "issue", "sku": "YOG", "location": "DEP", "quantity": "3", "lot": "L2"}),
        )
        .await;
    let p409 = r.problem(409);
    assert_eq!(p409["available"], "2");
    // Transfers keep lot and expiry.
    s.location("S01", "store").await;
    let t = s
        .post(
            "/api/v1/stock/transfers",
            json!({"sku": "YOG", "from": "DEP", "to": "S01", "quantity": "3"}),
        )
        .await;
    let t = t.ok(201).as_array().unwrap().clone();
    assert_eq!(t.len(), 4, "two lots leave, two arrive: {t:?}");
    assert_eq!(t[1]["lot"], "L2");
    assert_eq!(t[1]["expiry"], "2027-02-01");
    assert_eq!(t[3]["lot"], serde_json::Value::Null);
    // A lot keeps its first expiry.
    let r = s.movement(json!({"kind": "receipt", "sku": "YOG", "location": "DEP", "quantity": "1", "lot": "L2", "expiry": "2027-03-01"})).await;
    assert_eq!(r.problem(422)["rule"], "lot_expiry_mismatch");
    assert!(s.ledger_ok().await);
}

async fn insufficient_stock_lists_every_short_line_and_writes_nothing(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let x = s.product("X").await;
    let y = s.product("Y").await;
    s.product("Z").await;
    s.movement(json!({"kind": "receipt", "sku": "Y", "location": "DEP", "quantity": "2"}))
        .await
        .ok(201);
    let before = s.movement_count().await;
    let batch = json!({"movements": [
        {"kind": "receipt", "sku": "X", "location": "DEP", "quantity": "5"},
        {"kind": "issue", "sku": "Y", "location": "DEP", "quantity": "10"},
        {"kind": "issue", "sku": "Z", "location": "DEP", "quantity": "1"}
    ]});
    let r = s.post("/api/v1/stock/movements/batch", batch).await;
    let p = r.problem(409);
    assert_eq!(p["type"], "urn:almacen:problem:insufficient-stock");
    let shortages = p["shortages"].as_array().unwrap();
    assert_eq!(shortages.len(), 2);
    assert_eq!(
        (
            shortages[0]["line"].as_u64(),
            shortages[0]["sku"].as_str(),
            shortages[0]["available"].as_str()
        ),
        (Some(1), Some("Y"), Some("2"))
    );
    assert_eq!(
        (
            shortages[1]["line"].as_u64(),
            shortages[1]["sku"].as_str(),
            shortages[1]["available"].as_str()
        ),
        (Some(2), Some("Z"), Some("0"))
    );
    assert_eq!(s.movement_count().await, before, "nothing written");
    assert_eq!(s.on_hand(x, "DEP").await, "0");
    assert_eq!(s.on_hand(y, "DEP").await, "2");
    assert!(s.ledger_ok().await);
}

async fn idempotent_retry_returns_the_first_result(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let p = s.product("K").await;
    let body = json!({"kind": "receipt", "sku": "K", "location": "DEP", "quantity": "7"});
    let first = s
        .post_key("/api/v1/stock/movements", body.clone(), "pos-1-ticket-42")
        .await;
    let first_id = first.ok(201)[0]["id"].clone();
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = s
        .post_key("/api/v1/stock/movements", body.clone(), "pos-1-ticket-42")
        .await;
    assert_eq!(again.ok(201)[0]["id"], first_id);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.body, first.body);
    assert_eq!(s.on_hand(p, "DEP").await, "7");
    assert_eq!(s.movement_count().await, 1);
    let other = s
        .post_key(
            "/api/v1/stock/movements",
            json!({"kind": "receipt", "sku": "K", "location": "DEP", "quantity": "8"}),
            "pos-1-ticket-42",
        )
        .await;
    let prob = other.problem(422);
    assert_eq!(prob["field"], "Idempotency-Key");
    assert_eq!(s.movement_count().await, 1);
    // Idempotency covers every create, not just movements.
    let sup = json!({"name": "Distribuidora Norte", "cuit": "30-50001091-2", "vat_condition": "responsable_inscripto"});
    let a = s.post_key("/api/v1/suppliers", sup.clone(), "sup-1").await;
    let b = s.post_key("/api/v1/suppliers", sup, "sup-1").await;
    assert_eq!(a.ok(201)["id"], b.ok(201)["id"]);
    // A failed request does not burn its key: the retry after the cause is fixed succeeds.
    let issue = json!({"kind": "issue", "sku": "K", "location": "DEP", "quantity": "9"});
    s.post_key("/api/v1/stock/movements", issue.clone(), "retry-me")
        .await
        .problem(409);
    s.movement(json!({"kind": "receipt", "sku": "K", "location": "DEP", "quantity": "2"}))
        .await
        .ok(201);
    s.post_key("/api/v1/stock/movements", issue, "retry-me")
        .await
        .ok(201);
    assert_eq!(s.on_hand(p, "DEP").await, "0");
}

async fn hundred_concurrent_issues_against_ten_units(engine: Engine) {
    let s = std::sync::Arc::new(TestServer::start(engine).await);
    s.location("S01", "store").await;
    let p = s.product("HOT").await;
    s.movement(json!({"kind": "receipt", "sku": "HOT", "location": "S01", "quantity": "10"}))
        .await
        .ok(201);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100 {
        let s = s.clone();
        tasks.spawn(async move {
            s.post_key(
                "/api/v1/stock/movements",
                json!({"kind": "issue", "sku": "HOT", "location": "S01", "quantity": "1"}),
                &format!("last-unit-{i}"),
            )
            .await
            .status
            .as_u16()
        });
    }
    let mut ok = 0;
    let mut conflict = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            201 => ok += 1,
            409 => conflict += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((ok, conflict), (10, 90));
    assert_eq!(s.on_hand(p, "S01").await, "0");
    assert!(s.ledger_ok().await);
}

async fn weighed_products_keep_exact_fractions(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let r = s
        .post(
            "/api/v1/products",
            json!({"name": "Queso cremoso (por kg)", "category": "Fiambrería", "unit": "kg", "cost": "6100.00", "price": "8990.00", "vat_rate": "21"}),
        )
        .await;
    let p = r.ok(201);
    assert_eq!(p["sku"], "FIA000001");
    let id = p["id"].as_i64().unwrap();
    s.movement(
        json!({"kind": "receipt", "product_id": id, "location": "S01", "quantity": "1.250"}),
    )
    .await
    .ok(201);
    s.movement(json!({"kind": "issue", "product_id": id, "location": "S01", "quantity": "0.335"}))
        .await
        .ok(201);
    assert_eq!(s.on_hand(id, "S01").await, "0.915");
    let r = s
        .movement(
            json!({"kind": "issue", "product_id": id, "location": "S01", "quantity": "0.0001"}),
        )
        .await;
    assert_eq!(r.problem(422)["rule"], "too_many_decimals");
    s.product("UNIT-1").await;
    let r = s
        .movement(json!({"kind": "receipt", "sku": "UNIT-1", "location": "S01", "quantity": "1.5"}))
        .await;
    assert_eq!(r.problem(422)["rule"], "whole_units_only");
}

async fn pack_barcode_multiplies_quantity(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let r = s
        .post(
            "/api/v1/products",
            json!({"sku": "GASEOSA", "name": "Gaseosa cola 2,25 l", "category": "Bebidas", "cost": "2900.00", "price": "4200.00",
                   "vat_rate": "21", "barcodes": ["7790895000997", {"code": "4006381333931", "pack": 6}]}),
        )
        .await;
    let id = r.ok(201)["id"].as_i64().unwrap();
    s.movement(
        json!({"kind": "receipt", "barcode": "4006381333931", "location": "DEP", "quantity": "2"}),
    )
    .await
    .ok(201);
    s.movement(
        json!({"kind": "issue", "barcode": "7790895000997", "location": "DEP", "quantity": "1"}),
    )
    .await
    .ok(201);
    assert_eq!(s.on_hand(id, "DEP").await, "11");
    let r = s.movement(json!({"kind": "issue", "barcode": "7790895000998", "location": "DEP", "quantity": "1"})).await;
    let p = r.problem(422);
    assert_eq!(
        (p["field"].as_str(), p["rule"].as_str()),
        (Some("barcode"), Some("check_digit"))
    );
}

async fn critical_stock_follows_the_season(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let r = s
        .post(
            "/api/v1/products",
            json!({"sku": "AGUA", "name": "Agua mineral 2 l", "category": "Bebidas", "cost": "700.00", "price": "1100.00", "vat_rate": "21",
                   "stock_limits": [{"location": "S01", "min": "10", "max": "40"}]}),
        )
        .await;
    let id = r.ok(201)["id"].as_i64().unwrap();
    s.movement(json!({"kind": "receipt", "sku": "AGUA", "location": "S01", "quantity": "10"}))
        .await
        .ok(201);
    // Winter (0.8): threshold 8, 10 on hand is fine.
    let winter = s
        .get("/api/v1/stock/critical?location=S01&date=2026-07-01")
        .await;
    assert_eq!(winter.ok(200).as_array().unwrap().len(), 0);
    // Summer (1.3): threshold 13, deficit 3.
    let summer = s
        .get("/api/v1/stock/critical?location=S01&date=2027-01-15")
        .await;
    let rows = summer.ok(200).as_array().unwrap().clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["product_id"], id);
    assert_eq!(
        (
            rows[0]["threshold"].as_str(),
            rows[0]["deficit"].as_str(),
            rows[0]["seasonal_factor"].as_str()
        ),
        (Some("13"), Some("3"), Some("1.3"))
    );
    // Autumn (1.0): at exactly min stock the product is critical with no deficit.
    let autumn = s
        .get("/api/v1/stock/critical?location=S01&date=2026-04-10")
        .await;
    assert_eq!(autumn.ok(200)[0]["deficit"], "0");
}

/// The on-hand each limit carries for the critical report (kept by triggers) after receipts
/// in lots, a transfer, an issue, a sale, a count, and product edits that keep, drop and add
/// the limit back.
async fn limits_carry_the_on_hand_through_every_movement_and_edit(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    s.location("S01", "store").await;
    let id = s.product("LECHE").await;
    for (lot, qty, expiry) in [("A", "30", "2027-03-01"), ("B", "5", "2027-06-01")] {
        s.movement(json!({"kind": "receipt", "sku": "LECHE", "location": "S01", "quantity": qty, "lot": lot, "expiry": expiry}))
            .await
            .ok(201);
    }
    s.movement(json!({"kind": "receipt", "sku": "LECHE", "location": "DEP", "quantity": "50"}))
        .await
        .ok(201);
    let edit = |limits: Value| {
        json!({"name": "Leche entera 1 l", "category": "Lácteos", "cost": "900.00", "price": "1300.00",
               "vat_rate": "21", "stock_limits": limits})
    };
    let with_limit = json!([{"location": "S01", "min": "40", "max": "100"}]);
    let path = format!("/api/v1/products/{id}");
    s.send(
        Some(&s.token),
        reqwest::Method::PUT,
        &path,
        Some(edit(with_limit.clone())),
        None,
    )
    .await
    .ok(200);
    // Autumn: factor 1.0, threshold 40.
    let critical = || s.get("/api/v1/stock/critical?location=S01&date=2026-04-10");
    let row = critical().await.ok(200)[0].clone();
    assert_eq!(
        (row["on_hand"].as_str(), row["deficit"].as_str()),
        (Some("35"), Some("5"))
    );
    s.post(
        "/api/v1/stock/transfers",
        json!({"sku": "LECHE", "from": "DEP", "to": "S01", "quantity": "10"}),
    )
    .await
    .ok(201);
    assert_eq!(critical().await.ok(200).as_array().unwrap().len(), 0);
    s.movement(
        json!({"kind": "issue", "sku": "LECHE", "location": "S01", "quantity": "2", "lot": "B"}),
    )
    .await
    .ok(201);
    let shift = s
        .post(
            "/api/v1/shifts",
            json!({"location": "S01", "till": "1", "opening_float": "0"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.post(
        "/api/v1/sales",
        json!({"shift": shift, "lines": [{"sku": "LECHE", "quantity": "4"}],
               "payments": [{"method": "cash", "amount": "10000.00"}]}),
    )
    .await
    .ok(201);
    // 35 + 10 − 2 − 4 = 39.
    let row = critical().await.ok(200)[0].clone();
    assert_eq!(
        (row["on_hand"].as_str(), row["deficit"].as_str()),
        (Some("39"), Some("1"))
    );
    // A count of lot B (3 left) finds 1.
    s.movement(
        json!({"kind": "count", "sku": "LECHE", "location": "S01", "quantity": "1", "lot": "B"}),
    )
    .await
    .ok(201);
    assert_eq!(critical().await.ok(200)[0]["on_hand"], "37");
    // A price change keeps the limit and what it carries; dropping it and adding it back
    // sums the stock again.
    s.send(
        Some(&s.token),
        reqwest::Method::PUT,
        &path,
        Some(edit(with_limit.clone())),
        None,
    )
    .await
    .ok(200);
    assert_eq!(critical().await.ok(200)[0]["on_hand"], "37");
    s.send(
        Some(&s.token),
        reqwest::Method::PUT,
        &path,
        Some(edit(json!([]))),
        None,
    )
    .await
    .ok(200);
    assert_eq!(critical().await.ok(200).as_array().unwrap().len(), 0);
    s.send(
        Some(&s.token),
        reqwest::Method::PUT,
        &path,
        Some(edit(with_limit)),
        None,
    )
    .await
    .ok(200);
    assert_eq!(critical().await.ok(200)[0]["on_hand"], "37");
    assert!(s.ledger_ok().await);
}

/// Tills sell while the product gets its first limit at their store: whichever commits
/// first, the limit ends up carrying exactly what the stock rows hold.
async fn concurrent_sales_and_a_new_limit_agree(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let id = s.product("PAN").await;
    s.movement(json!({"kind": "receipt", "sku": "PAN", "location": "S01", "quantity": "500"}))
        .await
        .ok(201);
    let mut shifts = Vec::new();
    for till in 0..4 {
        let r = s
            .post(
                "/api/v1/shifts",
                json!({"location": "S01", "till": format!("{till}"), "opening_float": "0"}),
            )
            .await;
        shifts.push(r.ok(201)["id"].as_i64().unwrap());
    }
    let s = std::sync::Arc::new(s);
    let mut sellers = Vec::new();
    for shift in shifts {
        let s = s.clone();
        sellers.push(tokio::spawn(async move {
            for _ in 0..15 {
                s.post(
                    "/api/v1/sales",
                    json!({"shift": shift, "lines": [{"sku": "PAN", "quantity": "1"}],
                           "payments": [{"method": "cash", "amount": "5000.00"}]}),
                )
                .await
                .ok(201);
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let body = json!({"name": "Pan francés", "category": "Panadería", "cost": "900.00", "price": "1300.00",
                      "vat_rate": "21", "stock_limits": [{"location": "S01", "min": "1000", "max": "2000"}]});
    s.send(
        Some(&s.token),
        reqwest::Method::PUT,
        &format!("/api/v1/products/{id}"),
        Some(body),
        None,
    )
    .await
    .ok(200);
    for t in sellers {
        t.await.unwrap();
    }
    // 500 − 4 × 15 = 440, threshold 1000.
    let rows = s
        .get("/api/v1/stock/critical?location=S01&date=2026-04-10")
        .await
        .ok(200)
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(rows[0]["on_hand"], "440");
    assert!(s.ledger_ok().await);
}

async fn check_detects_a_tampered_projection(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let p = s.product("TAMPER").await;
    s.movement(json!({"kind": "receipt", "sku": "TAMPER", "location": "DEP", "quantity": "5", "lot": "L9"})).await.ok(201);
    let bin = env!("CARGO_BIN_EXE_almacen");
    let out = std::process::Command::new(bin)
        .args(["check", "--database-url", &s.database_url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE stock_levels SET on_hand = on_hand + 1000 WHERE product_id = {p}"
    )))
    .execute(s.store.pool())
    .await
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["check", "--database-url", &s.database_url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("TAMPER") && stdout.contains("DEP") && stdout.contains("L9"),
        "{stdout}"
    );
    let api = s.get("/api/v1/admin/ledger-check").await;
    let report = api.ok(200);
    assert_eq!(report["ok"], false);
    assert_eq!(report["discrepancies"][0]["sku"], "TAMPER");
    assert_eq!(
        (
            report["discrepancies"][0]["projected"].as_str(),
            report["discrepancies"][0]["ledger"].as_str()
        ),
        (Some("6"), Some("5"))
    );
    // The ledger itself cannot be edited.
    let edit = sqlx::query("UPDATE stock_movements SET quantity = 1")
        .execute(s.store.pool())
        .await;
    assert!(edit.is_err(), "stock_movements must be append-only");
}

async fn movement_log_filters_and_pages(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let a = s.product("LOG-A").await;
    s.product("LOG-B").await;
    for _ in 0..3 {
        s.movement(json!({"kind": "receipt", "sku": "LOG-A", "location": "DEP", "quantity": "1"}))
            .await
            .ok(201);
        s.movement(json!({"kind": "receipt", "sku": "LOG-B", "location": "DEP", "quantity": "1"}))
            .await
            .ok(201);
    }
    s.movement(json!({"kind": "issue", "sku": "LOG-A", "location": "DEP", "quantity": "1"}))
        .await
        .ok(201);
    let page1 = s
        .get(&format!("/api/v1/stock/movements?product_id={a}&limit=2"))
        .await;
    let page1 = page1.ok(200).clone();
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    assert_eq!(page1["items"][0]["kind"], "issue", "newest first");
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = s
        .get(&format!(
            "/api/v1/stock/movements?product_id={a}&limit=2&cursor={cursor}"
        ))
        .await;
    let page2 = page2.ok(200).clone();
    assert_eq!(page2["items"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());
    let issues = s.get("/api/v1/stock/movements?kind=issue").await;
    assert_eq!(issues.ok(200)["items"].as_array().unwrap().len(), 1);
    let bad = s.get("/api/v1/stock/movements?limit=0").await;
    assert_eq!(bad.problem(422)["field"], "limit");
    let bad = s.get("/api/v1/stock/movements?product_id=abc").await;
    bad.problem(422);
    let injection = s
        .get("/api/v1/stock/movements?location=DEP'%20OR%201=1--")
        .await;
    assert_eq!(injection.problem(422)["field"], "code");
}
