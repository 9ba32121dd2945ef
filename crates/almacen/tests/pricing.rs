//! Pricing under inflation on both engines: markup rules and their precedence, margin floor,
//! price history at a date, inflation index and re-indexing, bulk updates with stale-preview
//! refusal, supplier price lists and shelf labels decoded back from the rendered PDF.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use common::{Engine, Resp, TestServer};
use serde_json::{Value, json};

engine_tests!(
    most_specific_rule_wins_with_rounding_and_floor_warnings,
    price_history_answers_the_price_at_a_date,
    stale_preview_is_refused_and_apply_is_atomic,
    bad_pricing_input_names_the_field,
    inflation_index_projects_and_reindexes_costs,
    supplier_list_reports_each_outcome_and_reimport_changes_nothing,
    shelf_labels_render_scannable_ean13,
    receipt_cost_rise_proposes_repricing,
    supplier_list_reads_xlsx,
    concurrent_applies_of_one_preview_apply_once,
);

/// A valid EAN-13 from its first 12 digits.
fn ean(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

async fn put(s: &TestServer, path: &str, body: Value) -> Resp {
    s.send(Some(&s.token), reqwest::Method::PUT, path, Some(body), None)
        .await
}

async fn supplier(s: &TestServer, cuit: &str) -> i64 {
    s.post(
        "/api/v1/suppliers",
        json!({"name": format!("Proveedor {cuit}"), "cuit": cuit, "vat_condition": "responsable_inscripto"}),
    )
    .await
    .ok(201)["id"]
        .as_i64()
        .unwrap()
}

async fn product(s: &TestServer, body: Value) -> i64 {
    s.post("/api/v1/products", body).await.ok(201)["id"]
        .as_i64()
        .unwrap()
}

async fn category_id(s: &TestServer, name: &str) -> i64 {
    let all = s.get("/api/v1/categories").await.ok(200).clone();
    all.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn price_of(s: &TestServer, id: i64) -> (String, String) {
    let p = s
        .get(&format!("/api/v1/products/{id}"))
        .await
        .ok(200)
        .clone();
    (
        p["cost"].as_str().unwrap().to_owned(),
        p["price"].as_str().unwrap().to_owned(),
    )
}

async fn most_specific_rule_wins_with_rounding_and_floor_warnings(engine: Engine) {
    let s = TestServer::start(engine).await;
    let sup = supplier(&s, "30500010912").await;
    // Cost 1000 net, 21 % IVA everywhere.
    let plain = product(&s, json!({"sku": "A1", "name": "Arroz", "category": "Almacén", "cost": "1000", "price": "1", "vat_rate": "21"})).await;
    let of_supplier = product(&s, json!({"sku": "A2", "name": "Aceite", "category": "Almacén", "cost": "1000", "price": "1", "vat_rate": "21", "supplier_id": sup})).await;
    let special = product(&s, json!({"sku": "A3", "name": "Azúcar", "category": "Almacén", "cost": "1000", "price": "1", "vat_rate": "21", "supplier_id": sup})).await;
    let thin = product(&s, json!({"sku": "A4", "name": "Harina", "category": "Almacén", "cost": "1000", "price": "1", "vat_rate": "21"})).await;
    let cat = category_id(&s, "Almacén").await;

    let rule = put(&s, "/api/v1/price-rules", json!({"scope": "category", "target_id": cat, "markup": "30", "min_margin": "20", "rounding": "ten_pesos"})).await;
    assert_eq!(rule.ok(200)["markup"], "30");
    put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "supplier", "target_id": sup, "markup": "40"}),
    )
    .await
    .ok(200);
    put(&s, "/api/v1/price-rules", json!({"scope": "product", "target_id": special, "markup": "50", "rounding": "ninety_nine"})).await.ok(200);
    // 15 % markup leaves 13.04 % on the net: allowed with its own 10 % floor, below the category's 20 %.
    put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "product", "target_id": thin, "markup": "15", "min_margin": "10"}),
    )
    .await
    .ok(200);
    put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "product", "target_id": thin, "markup": "22", "min_margin": null}),
    )
    .await
    .ok(200);
    assert_eq!(
        s.get("/api/v1/price-rules")
            .await
            .ok(200)
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let preview = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "reprice", "category_id": cat, "reason": "Reglas nuevas"}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(preview["changes"], 4);
    let lines: Vec<(i64, String, String, String, String, bool)> = preview["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product_id"].as_i64().unwrap(),
                l["unrounded_price"].as_str().unwrap().to_owned(),
                l["new_price"].as_str().unwrap().to_owned(),
                l["rounding"].as_str().unwrap().to_owned(),
                l["margin"].as_str().unwrap().to_owned(),
                l["below_floor"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // category: 1000 × 1.30 × 1.21 = 1573 → 1580; net 1305.79 → margin 23.42 %
            (
                plain,
                "1573.00".into(),
                "1580.00".into(),
                "ten_pesos".into(),
                "23.42".into(),
                false
            ),
            // supplier beats category for the markup, rounding still from the category
            (
                of_supplier,
                "1694.00".into(),
                "1700.00".into(),
                "ten_pesos".into(),
                "28.82".into(),
                false
            ),
            // product beats supplier: 1815 → 1815.99
            (
                special,
                "1815.00".into(),
                "1815.99".into(),
                "ninety_nine".into(),
                "33.37".into(),
                false
            ),
            // product markup 22 % with the category's 20 % floor: 1476.20 → 1480, margin 18.24 %
            (
                thin,
                "1476.20".into(),
                "1480.00".into(),
                "ten_pesos".into(),
                "18.24".into(),
                true
            ),
        ]
    );
    assert_eq!(preview["below_floor"], 1);
    assert_eq!(preview["below_floor_lines"][0]["product_id"], thin);

    let applied = s
        .post(
            &format!("/api/v1/price-updates/{}/apply", preview["id"]),
            json!({"token": preview["token"]}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(applied["changed"], 4);
    assert_eq!(price_of(&s, special).await.1, "1815.99");
    assert_eq!(price_of(&s, thin).await.1, "1480.00");
    // A second reprice finds nothing to do.
    let again = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "reprice", "reason": "Otra vez"}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(again["changes"], 0);
    // The history records who and why; price.changed events went out.
    let hist = s
        .get(&format!("/api/v1/products/{special}/price-history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(hist["items"][0]["price"], "1815.99");
    assert_eq!(hist["items"][0]["reason"], "Reglas nuevas");
    assert_eq!(hist["items"][0]["actor"], "admin");
    assert_eq!(hist["items"][0]["source"], "price_update");
    assert_eq!(hist["items"][1]["reason"], "alta del producto");
    let audit = s.get("/api/v1/audit?limit=5").await.ok(200).clone();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "price_update.apply"),
        "{audit}"
    );
    // Deleting the product rule returns the product to the supplier's markup.
    let rules = s.get("/api/v1/price-rules").await.ok(200).clone();
    let special_rule = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["target_id"] == special && r["scope"] == "product")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let del = s
        .send(
            Some(&s.token),
            reqwest::Method::DELETE,
            &format!("/api/v1/price-rules/{special_rule}"),
            None,
            None,
        )
        .await;
    assert_eq!(del.status.as_u16(), 204);
    let p = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "reprice", "product_ids": [special], "reason": "Sin regla propia"}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(p["lines"][0]["new_price"], "1700.00");
}

async fn price_history_answers_the_price_at_a_date(engine: Engine) {
    // Noon in Buenos Aires on 1 March 2026.
    let clock = app::Clock::fixed(Utc.with_ymd_and_hms(2026, 3, 1, 15, 0, 0).unwrap());
    let mut s = TestServer::start_with(engine, clock.clone(), common::test_settings()).await;
    let id = product(&s, json!({"sku": "H1", "name": "Yerba", "category": "Almacén", "cost": "1000", "price": "1500", "vat_rate": "21"})).await;
    clock.advance(chrono::Duration::days(10));
    s.token = s.login("admin", common::ADMIN_PASSWORD).await;
    let preview = s
        .post("/api/v1/price-updates/preview", json!({"kind": "raise", "percent": "10", "product_ids": [id], "reason": "Aumento de marzo"}))
        .await
        .ok(200)
        .clone();
    // No markup rule: the price follows the cost, 1500 → 1650.
    assert_eq!(preview["lines"][0]["new_cost"], "1100.00");
    assert_eq!(preview["lines"][0]["new_price"], "1650.00");
    s.post(
        &format!("/api/v1/price-updates/{}/apply", preview["id"]),
        json!({"token": preview["token"]}),
    )
    .await
    .ok(200);
    clock.advance(chrono::Duration::days(10));
    s.token = s.login("admin", common::ADMIN_PASSWORD).await;
    let p = s
        .post("/api/v1/price-updates/preview", json!({"kind": "raise", "target": "price", "percent": "-10", "product_ids": [id], "reason": "Oferta"}))
        .await
        .ok(200)
        .clone();
    assert_eq!(p["lines"][0]["new_cost"], "1100.00");
    assert_eq!(p["lines"][0]["new_price"], "1485.00");
    s.post(
        &format!("/api/v1/price-updates/{}/apply", p["id"]),
        json!({"token": p["token"]}),
    )
    .await
    .ok(200);

    let at = |d: &str| format!("/api/v1/products/{id}/price?date={d}");
    assert_eq!(s.get(&at("2026-03-01")).await.ok(200)["price"], "1500.00");
    assert_eq!(s.get(&at("2026-03-10")).await.ok(200)["price"], "1500.00");
    let mid = s.get(&at("2026-03-11")).await.ok(200).clone();
    assert_eq!(mid["price"], "1650.00");
    assert_eq!(mid["reason"], "Aumento de marzo");
    assert_eq!(s.get(&at("2026-03-25")).await.ok(200)["price"], "1485.00");
    assert_eq!(
        s.get(&format!("/api/v1/products/{id}/price")).await.ok(200)["price"],
        "1485.00"
    );
    s.get(&at("2026-02-28")).await.problem(404);
    // Sales record the price they used.
    s.location("S01", "store").await;
    s.movement(json!({"kind": "receipt", "sku": "H1", "location": "S01", "quantity": "5"}))
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
    let sale = s
        .post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "H1", "quantity": "1"}], "payments": [{"method": "cash", "amount": "1485.00"}]}))
        .await
        .ok(201)
        .clone();
    assert_eq!(sale["lines"][0]["unit_price"], "1485.00");
}

async fn stale_preview_is_refused_and_apply_is_atomic(engine: Engine) {
    let s = TestServer::start(engine).await;
    let sup = supplier(&s, "30500010912").await;
    let a = product(&s, json!({"sku": "S1", "name": "Fideos", "category": "Almacén", "cost": "500", "price": "800", "vat_rate": "21", "supplier_id": sup})).await;
    let b = product(&s, json!({"sku": "S2", "name": "Polenta", "category": "Almacén", "cost": "400", "price": "700", "vat_rate": "21", "supplier_id": sup})).await;
    let other = product(&s, json!({"sku": "S3", "name": "Sal", "category": "Almacén", "cost": "100", "price": "200", "vat_rate": "21"})).await;
    let preview = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "8.5", "supplier_id": sup, "reason": "Lista nueva"}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(preview["changes"], 2);
    // Someone edits a price in between.
    put(&s, &format!("/api/v1/products/{b}"), json!({"sku": "S2", "name": "Polenta", "category": "Almacén", "cost": "400", "price": "750", "vat_rate": "21", "supplier_id": sup}))
        .await
        .ok(200);
    let stale = s
        .post(
            &format!("/api/v1/price-updates/{}/apply", preview["id"]),
            json!({"token": preview["token"]}),
        )
        .await;
    let p = stale.problem(409);
    assert_eq!(p["field"], "token");
    assert_eq!(p["rule"], "stale_preview");
    // Nothing was written.
    assert_eq!(price_of(&s, a).await, ("500.00".into(), "800.00".into()));
    // A wrong token is refused too.
    let fresh = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "8.5", "supplier_id": sup, "reason": "Lista nueva"}),
        )
        .await
        .ok(200)
        .clone();
    s.post(
        &format!("/api/v1/price-updates/{}/apply", fresh["id"]),
        json!({"token": "0000"}),
    )
    .await
    .problem(409);
    s.post(
        &format!("/api/v1/price-updates/{}/apply", fresh["id"]),
        json!({"token": fresh["token"]}),
    )
    .await
    .ok(200);
    // 500 × 1.085 = 542.50, 800 × 542.5 / 500 = 868; 400 → 434, 750 → 813.75.
    assert_eq!(price_of(&s, a).await, ("542.50".into(), "868.00".into()));
    assert_eq!(price_of(&s, b).await, ("434.00".into(), "813.75".into()));
    assert_eq!(
        price_of(&s, other).await,
        ("100.00".into(), "200.00".into())
    );
    let twice = s
        .post(
            &format!("/api/v1/price-updates/{}/apply", fresh["id"]),
            json!({"token": fresh["token"]}),
        )
        .await;
    assert_eq!(
        twice.problem(409)["type"],
        "urn:almacen:problem:already_applied"
    );
    s.post("/api/v1/price-updates/999999/apply", json!({"token": "x"}))
        .await
        .problem(404);
}

async fn bad_pricing_input_names_the_field(engine: Engine) {
    let s = TestServer::start(engine).await;
    product(&s, json!({"sku": "B1", "name": "Té", "category": "Almacén", "cost": "100", "price": "150", "vat_rate": "21"})).await;
    let field_rule = |r: &Resp, status: u16| {
        let p = r.problem(status);
        (
            p["field"].as_str().unwrap().to_owned(),
            p["rule"].as_str().unwrap().to_owned(),
        )
    };
    let r = put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "supplier", "target_id": 4242, "markup": "30"}),
    )
    .await;
    assert_eq!(field_rule(&r, 422), ("target_id".into(), "exists".into()));
    let r = put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "category", "target_id": 4242, "markup": "30"}),
    )
    .await;
    assert_eq!(field_rule(&r, 422), ("target_id".into(), "exists".into()));
    let r = put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "category", "target_id": 1, "markup": "-5", "min_margin": "10"}),
    )
    .await;
    assert_eq!(
        field_rule(&r, 422),
        ("markup".into(), "below_margin_floor".into())
    );
    let r = put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "category", "target_id": 1, "markup": "-100"}),
    )
    .await;
    assert_eq!(field_rule(&r, 422), ("markup".into(), "range".into()));
    let r = put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "aisle", "target_id": 1, "markup": "30"}),
    )
    .await;
    assert_eq!(
        field_rule(&r, 422),
        ("scope".into(), "unknown_value".into())
    );
    let r = put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "category", "target_id": 1, "rounding": "five"}),
    )
    .await;
    assert_eq!(
        field_rule(&r, 422),
        ("rounding".into(), "unknown_value".into())
    );
    let r = put(
        &s,
        "/api/v1/inflation-rates/2026-01",
        json!({"rate": "100.5"}),
    )
    .await;
    assert_eq!(field_rule(&r, 422), ("rate".into(), "range".into()));
    let r = put(
        &s,
        "/api/v1/inflation-rates/2026-01",
        json!({"rate": "-50.01"}),
    )
    .await;
    assert_eq!(field_rule(&r, 422), ("rate".into(), "range".into()));
    let r = put(&s, "/api/v1/inflation-rates/enero", json!({"rate": "3"})).await;
    assert_eq!(field_rule(&r, 422), ("month".into(), "format".into()));
    let r = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "5", "supplier_id": 4242, "reason": "x y z"}),
        )
        .await;
    assert_eq!(field_rule(&r, 422), ("supplier_id".into(), "exists".into()));
    let r = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "5", "category_id": 4242, "reason": "x y z"}),
        )
        .await;
    assert_eq!(field_rule(&r, 422), ("category_id".into(), "exists".into()));
    let r = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "5", "product_ids": [4242], "reason": "x y z"}),
        )
        .await;
    assert_eq!(
        field_rule(&r, 422),
        ("product_ids[0]".into(), "exists".into())
    );
    let r = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "reason": "x y z"}),
        )
        .await;
    assert_eq!(field_rule(&r, 422), ("percent".into(), "required".into()));
    let r = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "600", "reason": "x y z"}),
        )
        .await;
    assert_eq!(field_rule(&r, 422), ("percent".into(), "range".into()));
    // Only managers and admins set prices; anyone who reads the catalogue sees the rules.
    let cashier = s.user("cajero", "cashier", &[]).await;
    let r = s
        .send(
            Some(&cashier),
            reqwest::Method::PUT,
            "/api/v1/price-rules",
            Some(json!({"scope": "category", "target_id": 1, "markup": "30"})),
            None,
        )
        .await;
    r.problem(403);
    s.post_as(
        &cashier,
        "/api/v1/price-updates/preview",
        json!({"kind": "reprice", "reason": "x y z"}),
    )
    .await
    .problem(403);
    s.get_as(&cashier, "/api/v1/price-rules").await.ok(200);
    let manager = s.user("encargado", "manager", &[]).await;
    s.send(
        Some(&manager),
        reqwest::Method::PUT,
        "/api/v1/price-rules",
        Some(json!({"scope": "category", "target_id": 1, "markup": "30"})),
        None,
    )
    .await
    .ok(200);
}

async fn inflation_index_projects_and_reindexes_costs(engine: Engine) {
    let clock = app::Clock::fixed(Utc.with_ymd_and_hms(2026, 1, 1, 15, 0, 0).unwrap());
    let mut s = TestServer::start_with(engine, clock.clone(), common::test_settings()).await;
    let id = product(&s, json!({"sku": "I1", "name": "Leche", "category": "Lácteos", "cost": "1000", "price": "1500", "vat_rate": "21"})).await;
    let cat = category_id(&s, "Lácteos").await;
    put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "category", "target_id": cat, "rounding": "peso"}),
    )
    .await
    .ok(200);
    // The issue's vectors through the API.
    let proj = s
        .get("/api/v1/inflation-rates/projection?amount=1000.00&from=2026-01-01&to=2026-01-31&rate=4.5")
        .await
        .ok(200)
        .clone();
    assert_eq!(proj["projected"], "1044.34");
    let proj = s
        .get("/api/v1/inflation-rates/projection?amount=100.00&from=2026-01-01&to=2027-01-01&rate=4.5")
        .await
        .ok(200)
        .clone();
    assert_eq!(proj["projected"], "169.52");
    s.get(
        "/api/v1/inflation-rates/projection?amount=100.00&from=2026-01-01&to=2026-02-01&rate=150",
    )
    .await
    .problem(422);

    put(
        &s,
        "/api/v1/inflation-rates/2026-01",
        json!({"rate": "4.5"}),
    )
    .await
    .ok(200);
    let csv = "mes;tasa\n2026-02;2,5\n13/2026;3\n2026-03;abc\n";
    let r = s
        .client
        .post(format!("{}/api/v1/inflation-rates/import", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["saved"].as_array().unwrap().len(), 1);
    assert_eq!(report["saved"][0]["rate"], "2.5");
    let errors: Vec<(u64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(errors, [(3, "mes".into()), (4, "tasa".into())]);
    let rates = s.get("/api/v1/inflation-rates").await.ok(200).clone();
    assert_eq!(rates.as_array().unwrap().len(), 2);
    // Stored index: 31 days of January at 4.5 %, 28 of February at 2.5 %.
    let proj = s
        .get("/api/v1/inflation-rates/projection?amount=1000.00&from=2026-01-01&to=2026-03-01")
        .await
        .ok(200)
        .clone();
    // 1000 × 1.045^(31/30.44) × 1.025^(28/30.44) = 1069.873… → 1069.87
    assert_eq!(proj["projected"], "1069.87");

    // Two months later, re-index by the CPI since the product's last price change.
    clock.advance(chrono::Duration::days(59));
    s.token = s.login("admin", common::ADMIN_PASSWORD).await;
    let preview = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "reindex", "reason": "IPC enero-febrero"}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(preview["changes"], 1);
    let line = &preview["lines"][0];
    assert_eq!(line["new_cost"], "1069.87");
    // No markup: price follows the cost (1500 × 1069.87 / 1000 = 1604.805 → 1604.81), rounded up to the peso.
    assert_eq!(line["unrounded_price"], "1604.81");
    assert_eq!(line["new_price"], "1605.00");
    s.post(
        &format!("/api/v1/price-updates/{}/apply", preview["id"]),
        json!({"token": preview["token"]}),
    )
    .await
    .ok(200);
    assert_eq!(price_of(&s, id).await, ("1069.87".into(), "1605.00".into()));
    // Re-indexing again the same day finds nothing: the last update is today.
    let again = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "reindex", "reason": "IPC otra vez"}),
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(again["changes"], 0);
    // The scheduled monthly run does the same through the app.
    let msg = s.app.monthly_reindex().await.unwrap();
    assert_eq!(msg, "sin cambios de precios");
}

fn list_csv(rows: &[&str]) -> String {
    let mut s = String::from("Código;EAN;Descripción;Costo\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

async fn supplier_list_reports_each_outcome_and_reimport_changes_nothing(engine: Engine) {
    let s = TestServer::start(engine).await;
    let sup = supplier(&s, "30500010912").await;
    let (e1, e2, e3, e4) = (
        ean("779000100001"),
        ean("779000100002"),
        ean("779000100003"),
        ean("779000100099"),
    );
    let p1 = product(&s, json!({"sku": "L1", "name": "Galletitas", "category": "Almacén", "cost": "500", "price": "900", "vat_rate": "21", "barcodes": [e1], "supplier_id": sup})).await;
    let p2 = product(&s, json!({"sku": "L2", "name": "Mermelada", "category": "Almacén", "cost": "800", "price": "1400", "vat_rate": "21", "barcodes": [e2], "supplier_id": sup})).await;
    let p3 = product(&s, json!({"sku": "L3", "name": "Dulce de leche", "category": "Almacén", "cost": "1200", "price": "2000", "vat_rate": "21", "barcodes": [e3], "supplier_id": sup})).await;
    let cat = category_id(&s, "Almacén").await;
    put(
        &s,
        "/api/v1/price-rules",
        json!({"scope": "category", "target_id": cat, "markup": "50", "rounding": "ten_pesos"}),
    )
    .await
    .ok(200);

    // First list: ties the supplier's codes to the products (all new for this supplier).
    let first = list_csv(&[
        &format!("G-1;{e1};Galletitas surtidas;500,00"),
        &format!("M-2;{e2};Mermelada frutilla;800,00"),
        &format!("D-3;{e3};Dulce de leche 400 g;1.200,00"),
    ]);
    let body = |csv: &str, apply: bool| {
        json!({
            "supplier_id": sup,
            "format": "csv",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(csv),
            "mapping": {"supplier_code": "Código", "barcode": "EAN", "description": "Descripción", "cost": "Costo"},
            "apply": apply,
        })
    };
    let r = s
        .post("/api/v1/supplier-price-lists", body(&first, true))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (
            r["new"].as_u64(),
            r["changed"].as_u64(),
            r["unchanged"].as_u64()
        ),
        (Some(3), Some(0), Some(0))
    );
    // Costs unchanged, so prices were not touched.
    assert_eq!(price_of(&s, p1).await, ("500.00".into(), "900.00".into()));

    // Second list: a changed cost (matched by the remembered code, barcode left out), an
    // unchanged one, an unknown item, and two malformed rows.
    let second = list_csv(&[
        "G-1;;Galletitas surtidas;550,00",
        &format!("M-2;{e2};Mermelada frutilla;800,00"),
        &format!("Z-9;{e4};Producto desconocido;100,00"),
        "X-1;7790001000010;Código malo;100,00",
        &format!("D-3;{e3};Dulce de leche 400 g;mil"),
    ]);
    let preview = s
        .post("/api/v1/supplier-price-lists", body(&second, false))
        .await
        .ok(200)
        .clone();
    assert_eq!(preview["applied"], false);
    let outcomes: Vec<(u64, String, Option<String>)> = preview["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["outcome"].as_str().unwrap().to_owned(),
                l["matched_by"].as_str().map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (2, "changed".into(), Some("supplier_code".into())),
            (3, "unchanged".into(), Some("barcode".into())),
            (4, "unmatched".into(), None),
        ]
    );
    let changed = &preview["lines"][0];
    assert_eq!(changed["old_cost"], "500.00");
    assert_eq!(changed["new_cost"], "550.00");
    assert_eq!(changed["change"], "10");
    // 550 × 1.5 × 1.21 = 998.25 → 1000 (ten pesos).
    assert_eq!(changed["new_price"], "1000.00");
    let malformed: Vec<(u64, String)> = preview["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(malformed, [(5, "EAN".into()), (6, "Costo".into())]);
    // A preview writes nothing.
    assert_eq!(price_of(&s, p1).await, ("500.00".into(), "900.00".into()));

    let applied = s
        .post("/api/v1/supplier-price-lists", body(&second, true))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (
            applied["changed"].as_u64(),
            applied["unchanged"].as_u64(),
            applied["unmatched"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(price_of(&s, p1).await, ("550.00".into(), "1000.00".into()));
    assert_eq!(price_of(&s, p2).await, ("800.00".into(), "1400.00".into()));
    // The malformed row was never applied.
    assert_eq!(price_of(&s, p3).await, ("1200.00".into(), "2000.00".into()));
    let hist = s
        .get(&format!("/api/v1/products/{p1}/price-history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(hist["items"][0]["source"], "supplier_list");

    // Re-importing the same file changes nothing.
    let audit_before = s.get("/api/v1/audit?limit=500").await.ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    let again = s
        .post("/api/v1/supplier-price-lists", body(&second, true))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (
            again["new"].as_u64(),
            again["changed"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(2))
    );
    assert_eq!(again["price_update_id"], Value::Null);
    assert_eq!(price_of(&s, p1).await, ("550.00".into(), "1000.00".into()));
    let hist_again = s
        .get(&format!("/api/v1/products/{p1}/price-history"))
        .await
        .ok(200)
        .clone();
    assert_eq!(
        hist_again["items"].as_array().unwrap().len(),
        hist["items"].as_array().unwrap().len()
    );
    let audit_after = s.get("/api/v1/audit?limit=500").await.ok(200)["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(audit_before, audit_after);

    // Bad input: an unknown supplier, a missing column.
    let mut bad = body(&second, false);
    bad["supplier_id"] = json!(4242);
    let r = s.post("/api/v1/supplier-price-lists", bad).await;
    assert_eq!(r.problem(422)["field"], "supplier_id");
    let mut bad = body(&second, false);
    bad["mapping"]["cost"] = json!("Precio");
    let r = s.post("/api/v1/supplier-price-lists", bad).await;
    assert_eq!(r.problem(422)["field"], "mapping.cost");
}

/// Renders page 1 of a PDF to a grey image with poppler's pdftoppm.
fn rasterize(pdf: &[u8], dpi: u32) -> (u32, u32, Vec<u8>) {
    let dir =
        std::env::temp_dir().join(format!("almacen-labels-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("labels.pdf");
    std::fs::write(&input, pdf).unwrap();
    let out = dir.join("page");
    let status = std::process::Command::new("pdftoppm")
        .args([
            "-gray",
            "-r",
            &dpi.to_string(),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
        ])
        .arg(&input)
        .arg(&out)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed");
    assert!(status.success());
    let pgm = std::fs::read(dir.join("page.pgm")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    // Binary PGM: "P5\n<w> <h>\n<max>\n" then one byte per pixel.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8(pgm[start..pos].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = pgm[pos + 1..].to_vec();
    assert_eq!(pixels.len(), (w * h) as usize);
    (w, h, pixels)
}

/// Cuts the pixels of label `i` out of the page image.
fn crop_label(img: &(u32, u32, Vec<u8>), dpi: u32, i: usize) -> (u32, u32, Vec<u8>) {
    let (w, _, px) = img;
    let scale = dpi as f32 / 72.0;
    let (x, top) = app::labels::label_origin(i);
    let x0 = (x * scale) as u32;
    let y0 = ((app::labels::PAGE_H - top) * scale) as u32;
    let cw = (app::labels::LABEL_W * scale) as u32;
    let ch = (app::labels::LABEL_H * scale) as u32;
    let mut out = Vec::with_capacity((cw * ch) as usize);
    for y in y0..y0 + ch {
        let row = (y * w) as usize;
        out.extend_from_slice(&px[row + x0 as usize..row + (x0 + cw) as usize]);
    }
    (cw, ch, out)
}

async fn shelf_labels_render_scannable_ean13(engine: Engine) {
    let s = TestServer::start(engine).await;
    let (e1, e2) = (ean("779123400001"), ean("779876500004"));
    let a = product(&s, json!({"sku": "E1", "name": "Café molido 500 g", "category": "Almacén", "cost": "3000", "price": "4599.90", "vat_rate": "21", "barcodes": [e1]})).await;
    let b = product(&s, json!({"sku": "E2", "name": "Queso cremoso", "category": "Fiambrería", "unit": "kg", "cost": "6000", "price": "8990", "vat_rate": "10.5", "barcodes": [e2]})).await;
    let c = product(&s, json!({"sku": "E3", "name": "Pan", "category": "Panadería", "cost": "100", "price": "150", "vat_rate": "21"})).await;

    let fetch = |body: Value| {
        let s = &s;
        async move {
            s.client
                .post(format!("{}/api/v1/shelf-labels", s.base))
                .bearer_auth(&s.token)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = fetch(json!({"product_ids": [a, b]})).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["x-label-count"], "2");
    let pdf = res.bytes().await.unwrap().to_vec();
    let text = String::from_utf8_lossy(&pdf);
    // es-AR prices, the per-kg line, the date.
    assert!(text.contains("$ 4.599,90"), "price in es-AR format");
    assert!(text.contains("Precio por kg: $ 8.990,00"));
    let today = s.app.clock.today().format("%d/%m/%Y").to_string();
    assert!(text.contains(&today));

    let dpi = 200;
    let page = rasterize(&pdf, dpi);
    for (i, want) in [(0, &e1), (1, &e2)] {
        let (w, h, luma) = crop_label(&page, dpi, i);
        let found = rxing::helpers::detect_in_luma(luma, w, h, Some(rxing::BarcodeFormat::EAN_13))
            .unwrap_or_else(|e| panic!("label {i}: no barcode decoded: {e:?}"));
        assert_eq!(found.getText(), want.as_str(), "label {i}");
    }

    // Every price changed since the last print: only the one repriced after it.
    let p = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "10", "product_ids": [c], "reason": "Aumento"}),
        )
        .await
        .ok(200)
        .clone();
    s.post(
        &format!("/api/v1/price-updates/{}/apply", p["id"]),
        json!({"token": p["token"]}),
    )
    .await
    .ok(200);
    let res = fetch(json!({"changed_since_last_print": true})).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["x-label-count"], "1");
    let pdf = res.bytes().await.unwrap();
    assert!(String::from_utf8_lossy(&pdf).contains("$ 165,00"));
    // And nothing after printing it.
    let res = fetch(json!({"changed_since_last_print": true})).await;
    assert_eq!(res.headers()["x-label-count"], "0");

    let res = fetch(json!({})).await;
    assert_eq!(res.status().as_u16(), 422);
    let res = fetch(json!({"product_ids": [4242]})).await;
    assert_eq!(res.status().as_u16(), 422);
}

async fn receipt_cost_rise_proposes_repricing(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("D01", "warehouse").await;
    let sup = supplier(&s, "30500010912").await;
    let id = product(&s, json!({"sku": "R1", "name": "Aceite", "category": "Almacén", "cost": "1000", "price": "1500", "vat_rate": "21", "supplier_id": sup})).await;
    let other = product(&s, json!({"sku": "R2", "name": "Vinagre", "category": "Almacén", "cost": "1000", "price": "1500", "vat_rate": "21", "supplier_id": sup})).await;
    // +2 % stays under the 5 % threshold: no proposal.
    let small = s
        .post("/api/v1/receipts", json!({"supplier_id": sup, "location": "D01", "lines": [{"sku": "R2", "quantity": "10", "unit_cost": "1020.00"}]}))
        .await
        .ok(201)
        .clone();
    assert_eq!(small["repricing"], Value::Null);
    assert_eq!(small["lines"][0]["previous_cost"], "1000.00");
    // +20 % with nothing on hand: the cost becomes 1200 and a repricing is proposed, not applied.
    let big = s
        .post("/api/v1/receipts", json!({"supplier_id": sup, "location": "D01", "lines": [{"sku": "R1", "quantity": "10", "unit_cost": "1200.00"}]}))
        .await
        .ok(201)
        .clone();
    let proposal = &big["repricing"];
    assert_eq!(proposal["changes"], 1);
    assert_eq!(proposal["lines"][0]["product_id"], id);
    assert_eq!(proposal["lines"][0]["old_cost"], "1200.00");
    assert_eq!(proposal["lines"][0]["new_price"], "1800.00");
    assert_eq!(price_of(&s, id).await, ("1200.00".into(), "1500.00".into()));
    s.post(
        &format!("/api/v1/price-updates/{}/apply", proposal["id"]),
        json!({"token": proposal["token"]}),
    )
    .await
    .ok(200);
    assert_eq!(price_of(&s, id).await, ("1200.00".into(), "1800.00".into()));
    assert_eq!(price_of(&s, other).await.1, "1500.00");
}

/// A minimal XLSX workbook (one sheet, inline strings, numeric cells where the text parses).
fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    use std::io::Write;
    let mut sheet = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    );
    for (r, cells) in rows.iter().enumerate() {
        sheet.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, v) in cells.iter().enumerate() {
            let at = format!("{}{}", (b'A' + c as u8) as char, r + 1);
            if r > 0 && c == cells.len() - 1 && v.parse::<f64>().is_ok() {
                sheet.push_str(&format!(r#"<c r="{at}"><v>{v}</v></c>"#));
            } else {
                sheet.push_str(&format!(
                    r#"<c r="{at}" t="inlineStr"><is><t>{v}</t></is></c>"#
                ));
            }
        }
        sheet.push_str("</row>");
    }
    sheet.push_str("</sheetData></worksheet>");
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_owned()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Lista" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_owned()),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, body) in files {
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn supplier_list_reads_xlsx(engine: Engine) {
    let s = TestServer::start(engine).await;
    let sup = supplier(&s, "30500010912").await;
    let e1 = ean("779555000001");
    let id = product(&s, json!({"sku": "X1", "name": "Café", "category": "Almacén", "cost": "1000", "price": "1500", "vat_rate": "21", "barcodes": [e1]})).await;
    let book = xlsx(&[
        &["Código", "EAN", "Costo"],
        &["C-1", &e1, "1234.5"],
        &["C-2", "123", "10"],
        &["C-3", "", "abc"],
    ]);
    let body = json!({
        "supplier_id": sup,
        "format": "xlsx",
        "content_base64": base64::engine::general_purpose::STANDARD.encode(&book),
        "mapping": {"supplier_code": "Código", "barcode": "EAN", "cost": "Costo"},
        "apply": true,
    });
    let r = s
        .post("/api/v1/supplier-price-lists", body.clone())
        .await
        .ok(200)
        .clone();
    assert_eq!(r["new"], 1);
    assert_eq!(r["lines"][0]["new_cost"], "1234.50");
    assert_eq!(r["lines"][0]["change"], "23.45");
    let malformed: Vec<(u64, String)> = r["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(malformed, [(3, "EAN".into()), (4, "Costo".into())]);
    // 1500 × 1234.50 / 1000 = 1851.75 (no rule: the price follows the cost).
    assert_eq!(price_of(&s, id).await, ("1234.50".into(), "1851.75".into()));
    let again = s
        .post("/api/v1/supplier-price-lists", body)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (
            again["unchanged"].as_u64(),
            again["price_update_id"].clone()
        ),
        (Some(1), Value::Null)
    );
    // Not a workbook.
    let bad = json!({"supplier_id": sup, "format": "xlsx", "content_base64": "aG9sYQ==",
                     "mapping": {"barcode": "EAN", "cost": "Costo"}});
    assert_eq!(
        s.post("/api/v1/supplier-price-lists", bad)
            .await
            .problem(422)["field"],
        "file"
    );
}

async fn concurrent_applies_of_one_preview_apply_once(engine: Engine) {
    let s = std::sync::Arc::new(TestServer::start(engine).await);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(product(&s, json!({"sku": format!("C{i}"), "name": format!("Producto {i}"), "category": "Almacén", "cost": "100", "price": "150", "vat_rate": "21"})).await);
    }
    let p = s
        .post(
            "/api/v1/price-updates/preview",
            json!({"kind": "raise", "percent": "10", "reason": "Doble clic"}),
        )
        .await
        .ok(200)
        .clone();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (s, p) = (s.clone(), p.clone());
        tasks.push(tokio::spawn(async move {
            s.post(
                &format!("/api/v1/price-updates/{}/apply", p["id"]),
                json!({"token": p["token"]}),
            )
            .await
            .status
            .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409]);
    for id in ids {
        assert_eq!(price_of(&s, id).await, ("110.00".into(), "165.00".into()));
        let hist = s
            .get(&format!("/api/v1/products/{id}/price-history"))
            .await
            .ok(200)
            .clone();
        assert_eq!(
            hist["items"].as_array().unwrap().len(),
            2,
            "one change recorded once"
        );
    }
}
