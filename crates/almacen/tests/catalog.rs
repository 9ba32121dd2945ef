//! Catalogue behaviour over HTTP (and the import CLI), run on SQLite and PostgreSQL alike:
//! suppliers, locations, products, search, bad input, CSV import and the audit trail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Engine, Resp, TestServer};
use serde_json::{Value, json};

engine_tests!(
    suppliers_check_cuit_and_are_listed,
    locations_are_upper_cased_and_unique,
    generated_and_explicit_skus,
    product_fields_are_validated,
    update_keeps_sku_and_deactivation_keeps_history,
    search_by_name_sku_barcode_and_category_with_pages,
    bad_requests_are_problems_and_write_nothing,
    csv_import_reports_each_bad_row_and_reimport_updates,
    csv_reimport_keeps_supplier_and_stock_limits,
    cli_import_exit_code_follows_row_errors,
    audit_log_records_product_changes,
);

// ---------------------------------------------------------------- helpers

/// A complete product body; `extra` adds or replaces keys.
fn product_json(name: &str, category: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": name,
        "category": category,
        "cost": "100.00",
        "price": "150.00",
        "vat_rate": "21"
    });
    if let Some(extra) = extra.as_object() {
        for (k, v) in extra {
            body[k] = v.clone();
        }
    }
    body
}

async fn into_resp(res: reqwest::Response) -> Resp {
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Resp {
        status,
        body,
        headers,
    }
}

/// POSTs raw bytes with the given content type, as an authenticated admin.
async fn post_raw(s: &TestServer, path: &str, content_type: &str, body: Vec<u8>) -> Resp {
    let res = s
        .client
        .post(format!("{}{path}", s.base))
        .bearer_auth(&s.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    into_resp(res).await
}

async fn put(s: &TestServer, path: &str, body: Value) -> Resp {
    s.send(Some(&s.token), reqwest::Method::PUT, path, Some(body), None)
        .await
}

async fn import_csv(s: &TestServer, csv: &str) -> Resp {
    post_raw(
        s,
        "/api/v1/products/import",
        "text/csv",
        csv.as_bytes().to_vec(),
    )
    .await
}

/// Every product, through the API.
async fn all_products(s: &TestServer) -> Vec<Value> {
    s.get("/api/v1/products?limit=500").await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn product_count(s: &TestServer) -> usize {
    all_products(s).await.len()
}

fn skus(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap().to_owned())
        .collect()
}

/// Searches products and returns the SKUs found on the first page.
async fn search(s: &TestServer, query: &str) -> Vec<String> {
    let r = s.get(&format!("/api/v1/products?{query}")).await;
    skus(&r.ok(200)["items"])
}

fn field_rule(p: &Value) -> (Option<&str>, Option<&str>) {
    (p["field"].as_str(), p["rule"].as_str())
}

fn row_errors(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(
                !e["reason"].as_str().unwrap().is_empty(),
                "every row error explains itself: {e}"
            );
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------- suppliers

async fn suppliers_check_cuit_and_are_listed(engine: Engine) {
    let s = TestServer::start(engine).await;
    let sup = |cuit: &str| json!({"name": "Distribuidora Norte", "cuit": cuit, "vat_condition": "responsable_inscripto"});

    let r = s.post("/api/v1/suppliers", sup("30-50001091-3")).await;
    let p = r.problem(422);
    assert_eq!(field_rule(p), (Some("cuit"), Some("check_digit")));
    assert_eq!(p["type"], "urn:almacen:problem:validation");
    assert!(!p["detail"].as_str().unwrap().is_empty());

    let r = s.post("/api/v1/suppliers", sup("30-5000109A-2")).await;
    assert_eq!(field_rule(r.problem(422)), (Some("cuit"), Some("format")));

    let r = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "  Distribuidora Norte  ", "cuit": "30500010912", "vat_condition": "responsable_inscripto",
                   "lead_time_days": 5, "contact": "ventas@norte.com.ar"}),
        )
        .await;
    let first = r.ok(201).clone();
    assert_eq!(first["cuit"], "30-50001091-2");
    assert_eq!(first["name"], "Distribuidora Norte");
    assert_eq!(first["vat_condition"], "responsable_inscripto");
    assert_eq!(first["lead_time_days"], 5);
    assert_eq!(first["contact"], "ventas@norte.com.ar");
    assert_eq!(first["active"], true);
    let id = first["id"].as_i64().unwrap();

    // The same CUIT written differently is still the same CUIT.
    let r = s.post("/api/v1/suppliers", sup("30-50001091-2")).await;
    let p = r.problem(409);
    assert_eq!(p["field"], "cuit");
    assert!(
        p["detail"].as_str().unwrap().contains("30-50001091-2"),
        "{p}"
    );

    let r = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Otra", "cuit": "33-69345023-9", "vat_condition": "inscripto"}),
        )
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("vat_condition"), Some("unknown_value"))
    );

    let r = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Lácteos del Sur", "cuit": "20 17254359 7", "vat_condition": "monotributo"}),
        )
        .await;
    let second = r.ok(201).clone();
    assert_eq!(second["cuit"], "20-17254359-7");
    assert_eq!(second["lead_time_days"], 2, "default lead time");
    assert_eq!(second["contact"], "");

    let got = s.get(&format!("/api/v1/suppliers/{id}")).await;
    assert_eq!(got.ok(200), &first);

    let list = s.get("/api/v1/suppliers").await;
    let list = list.ok(200);
    assert_eq!(
        list["items"],
        json!([first, second]),
        "failed attempts left nothing"
    );
    assert!(list["next_cursor"].is_null());

    let page = s.get("/api/v1/suppliers?limit=1").await;
    let page = page.ok(200).clone();
    assert_eq!(page["items"], json!([first]));
    let cursor = page["next_cursor"].as_str().unwrap();
    let page2 = s
        .get(&format!("/api/v1/suppliers?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(page2.ok(200)["items"], json!([second]));

    let missing = s.get("/api/v1/suppliers/999999").await;
    let p = missing.problem(404);
    assert_eq!(p["type"], "urn:almacen:problem:not-found");
    assert!(p["detail"].as_str().unwrap().contains("999999"), "{p}");
}

// ---------------------------------------------------------------- locations

async fn locations_are_upper_cased_and_unique(engine: Engine) {
    let s = TestServer::start(engine).await;
    let r = s
        .post(
            "/api/v1/locations",
            json!({"code": "s05", "name": "Sucursal Centro", "kind": "store"}),
        )
        .await;
    let loc = r.ok(201).clone();
    assert_eq!(loc["code"], "S05");
    assert_eq!(loc["name"], "Sucursal Centro");
    assert_eq!(loc["kind"], "store");
    assert_eq!(loc["active"], true);
    let id = loc["id"].as_i64().unwrap();

    for code in ["S05", " s05 "] {
        let r = s
            .post(
                "/api/v1/locations",
                json!({"code": code, "name": "Otra", "kind": "warehouse"}),
            )
            .await;
        let p = r.problem(409);
        assert_eq!(p["field"], "code", "{code:?}");
    }

    let r = s
        .post(
            "/api/v1/locations",
            json!({"code": "DEP", "name": "Depósito", "kind": "shop"}),
        )
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("kind"), Some("unknown_value"))
    );

    let r = s
        .post(
            "/api/v1/locations",
            json!({"code": "DEP 1", "name": "Depósito", "kind": "warehouse"}),
        )
        .await;
    assert_eq!(field_rule(r.problem(422)), (Some("code"), Some("format")));

    let got = s.get(&format!("/api/v1/locations/{id}")).await;
    assert_eq!(got.ok(200), &loc);
    let list = s.get("/api/v1/locations").await;
    assert_eq!(list.ok(200)["items"], json!([loc]));
    s.get("/api/v1/locations/999999").await.problem(404);
}

// ---------------------------------------------------------------- products

async fn generated_and_explicit_skus(engine: Engine) {
    let s = TestServer::start(engine).await;
    let r = s
        .post(
            "/api/v1/products",
            product_json("Arroz largo fino 1 kg", "Almacén", json!({})),
        )
        .await;
    let arroz = r.ok(201).clone();
    assert_eq!(arroz["sku"], "ALM000001");
    assert_eq!(arroz["name"], "Arroz largo fino 1 kg");
    assert_eq!(arroz["category"], "Almacén");
    assert_eq!(arroz["unit"], "unit");
    assert_eq!(arroz["brand"], "");
    assert_eq!(arroz["cost"], "100.00");
    assert_eq!(arroz["price"], "150.00");
    assert_eq!(arroz["vat_rate"], "21");
    assert_eq!(arroz["active"], true);
    assert_eq!(arroz["barcodes"], json!([]));
    assert!(arroz["supplier_id"].is_null());

    let r = s
        .post(
            "/api/v1/products",
            product_json("Fideos tirabuzón 500 g", "Almacén", json!({})),
        )
        .await;
    assert_eq!(r.ok(201)["sku"], "ALM000002");
    let r = s
        .post(
            "/api/v1/products",
            product_json("Leche entera 1 l", "Lácteos", json!({})),
        )
        .await;
    assert_eq!(r.ok(201)["sku"], "LAC000001");
    // The category is found ignoring case and accents, so its sequence goes on.
    let r = s
        .post(
            "/api/v1/products",
            product_json("Polenta 500 g", "almacen", json!({})),
        )
        .await;
    let polenta = r.ok(201).clone();
    assert_eq!(polenta["sku"], "ALM000003");
    assert_eq!(polenta["category"], "Almacén");

    let r = s
        .post(
            "/api/v1/products",
            product_json("Yerba mate 1 kg", "Almacén", json!({"sku": " yer-001 "})),
        )
        .await;
    assert_eq!(r.ok(201)["sku"], "YER-001");
    for dup in ["YER-001", "Yer-001"] {
        let r = s
            .post(
                "/api/v1/products",
                product_json("Otra yerba", "Almacén", json!({"sku": dup})),
            )
            .await;
        let p = r.problem(409);
        assert_eq!(field_rule(p), (Some("sku"), Some("duplicate_sku")));
    }
    // An explicit SKU does not consume the category's sequence.
    let r = s
        .post(
            "/api/v1/products",
            product_json("Harina 000 1 kg", "Almacén", json!({})),
        )
        .await;
    assert_eq!(r.ok(201)["sku"], "ALM000004");
    let r = s
        .post(
            "/api/v1/products",
            product_json("Mal SKU", "Almacén", json!({"sku": "ÑOQUI-1"})),
        )
        .await;
    assert_eq!(field_rule(r.problem(422)), (Some("sku"), Some("charset")));

    let cats = s.get("/api/v1/categories").await;
    let cats: Vec<(String, String)> = cats
        .ok(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["sku_prefix"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        cats,
        vec![
            ("Almacén".to_owned(), "ALM".to_owned()),
            ("Lácteos".to_owned(), "LAC".to_owned())
        ]
    );
    assert_eq!(
        skus(&json!(all_products(&s).await)),
        [
            "ALM000001",
            "ALM000002",
            "LAC000001",
            "ALM000003",
            "YER-001",
            "ALM000004"
        ]
    );
}

async fn product_fields_are_validated(engine: Engine) {
    let s = TestServer::start(engine).await;
    let bad = |extra: Value| product_json("Galletitas de agua", "Almacén", extra);

    let r = s
        .post(
            "/api/v1/products",
            bad(json!({"barcodes": ["7790895000998"]})),
        )
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("barcodes[0]"), Some("check_digit"))
    );

    let r = s
        .post(
            "/api/v1/products",
            bad(json!({"sku": "GAL-1", "barcodes": ["7790895000997"]})),
        )
        .await;
    let first = r.ok(201).clone();
    assert_eq!(
        first["barcodes"],
        json!([{"code": "7790895000997", "pack": 1}])
    );

    let r = s
        .post(
            "/api/v1/products",
            bad(json!({"sku": "GAL-2", "barcodes": ["7790895000997"]})),
        )
        .await;
    let p = r.problem(409);
    assert_eq!(
        field_rule(p),
        (Some("barcodes[0]"), Some("duplicate_barcode"))
    );
    let r = s
        .post(
            "/api/v1/products",
            bad(json!({"sku": "GAL-2", "barcodes": ["73513537", "7790895000997"]})),
        )
        .await;
    assert_eq!(r.problem(409)["field"], "barcodes[1]");

    let r = s
        .post("/api/v1/products", bad(json!({"cost": "100.005"})))
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("cost"), Some("too_many_decimals"))
    );
    let r = s
        .post("/api/v1/products", bad(json!({"price": "-1.00"})))
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("price"), Some("negative"))
    );
    let r = s
        .post("/api/v1/products", bad(json!({"vat_rate": "22"})))
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("vat_rate"), Some("unknown_value"))
    );
    let r = s
        .post("/api/v1/products", bad(json!({"unit": "docena"})))
        .await;
    assert_eq!(r.problem(422)["field"], "unit");
    let r = s
        .post("/api/v1/products", bad(json!({"supplier_id": 424242})))
        .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("supplier_id"), Some("exists"))
    );
    assert_eq!(
        product_count(&s).await,
        1,
        "no failed create wrote anything"
    );

    // EAN-8 and UPC-A are barcodes too; IVA accepts a decimal comma.
    let r = s
        .post(
            "/api/v1/products",
            product_json(
                "Chicles menta",
                "Kiosco",
                json!({"sku": "CHI-1", "barcodes": ["73513537", {"code": "036000291452", "pack": 12}], "vat_rate": "10,5"}),
            ),
        )
        .await;
    let chicles = r.ok(201).clone();
    assert_eq!(
        chicles["barcodes"],
        json!([{"code": "036000291452", "pack": 12}, {"code": "73513537", "pack": 1}])
    );
    assert_eq!(chicles["vat_rate"], "10.5");
    let got = s.get(&format!("/api/v1/products/{}", chicles["id"])).await;
    assert_eq!(got.ok(200), &chicles);
    assert_eq!(product_count(&s).await, 2);
}

async fn update_keeps_sku_and_deactivation_keeps_history(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let r = s
        .post(
            "/api/v1/products",
            product_json(
                "Café molido 250 g",
                "Almacén",
                json!({"sku": "CAFE-1", "cost": "1800.00", "price": "2599.00", "barcodes": ["7790895000997"]}),
            ),
        )
        .await;
    let created = r.ok(201).clone();
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/products/{id}");

    let r = put(
        &s,
        &path,
        product_json(
            "Café molido intenso 250 g",
            "Almacén",
            json!({"cost": "1850.00", "price": "2799.50", "barcodes": ["7790895000997"]}),
        ),
    )
    .await;
    let updated = r.ok(200).clone();
    assert_eq!(updated["id"], id);
    assert_eq!(
        updated["sku"], "CAFE-1",
        "the SKU survives an update without it"
    );
    assert_eq!(updated["name"], "Café molido intenso 250 g");
    assert_eq!(updated["price"], "2799.50");
    assert_eq!(updated["cost"], "1850.00");
    assert_eq!(updated["created_at"], created["created_at"]);
    assert_eq!(s.get(&path).await.ok(200), &updated);

    // The same SKU, however written, is fine.
    let r = put(
        &s,
        &path,
        product_json(
            "Café molido intenso 250 g",
            "Almacén",
            json!({"sku": "cafe-1", "cost": "1850.00", "price": "2799.50", "barcodes": ["7790895000997"]}),
        ),
    )
    .await;
    assert_eq!(r.ok(200)["sku"], "CAFE-1");

    let r = put(
        &s,
        &path,
        product_json(
            "Café cambiado",
            "Almacén",
            json!({"sku": "CAFE-2", "price": "1.00"}),
        ),
    )
    .await;
    assert_eq!(field_rule(r.problem(422)), (Some("sku"), Some("immutable")));
    let after = s.get(&path).await;
    let after = after.ok(200);
    assert_eq!(
        (
            after["sku"].as_str(),
            after["name"].as_str(),
            after["price"].as_str()
        ),
        (
            Some("CAFE-1"),
            Some("Café molido intenso 250 g"),
            Some("2799.50")
        ),
        "a refused update changes nothing"
    );

    let r = put(
        &s,
        "/api/v1/products/999999",
        product_json("Nada", "Almacén", json!({})),
    )
    .await;
    r.problem(404);
    s.get("/api/v1/products/999999").await.problem(404);

    s.movement(json!({"kind": "receipt", "sku": "CAFE-1", "location": "DEP", "quantity": "5", "unit_cost": "1850.00"}))
        .await
        .ok(201);

    let r = s
        .post(&format!("/api/v1/products/{id}/deactivate"), json!({}))
        .await;
    let off = r.ok(200).clone();
    assert_eq!(off["active"], false);
    assert_eq!(off["sku"], "CAFE-1");
    let got = s.get(&path).await;
    assert_eq!(got.ok(200)["active"], false, "still readable by id");

    let moves = s
        .get(&format!("/api/v1/stock/movements?product_id={id}"))
        .await;
    let moves = moves.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(moves.len(), 1);
    assert_eq!(
        (
            moves[0]["sku"].as_str(),
            moves[0]["kind"].as_str(),
            moves[0]["quantity"].as_str()
        ),
        (Some("CAFE-1"), Some("receipt"), Some("5"))
    );
    assert_eq!(search(&s, "active=false").await, ["CAFE-1"]);
    assert!(search(&s, "active=true").await.is_empty());
    assert_eq!(search(&s, "q=cafe").await, ["CAFE-1"]);

    let r = s
        .post(&format!("/api/v1/products/{id}/activate"), json!({}))
        .await;
    assert_eq!(r.ok(200)["active"], true);
    s.post("/api/v1/products/999999/deactivate", json!({}))
        .await
        .problem(404);
    assert!(s.ledger_ok().await);
}

async fn search_by_name_sku_barcode_and_category_with_pages(engine: Engine) {
    let s = TestServer::start(engine).await;
    let r = s
        .post(
            "/api/v1/products",
            product_json(
                "Azúcar Ledesma 1 kg",
                "Almacén",
                json!({"barcodes": ["7790895000997"]}),
            ),
        )
        .await;
    assert_eq!(r.ok(201)["sku"], "ALM000001");
    s.post(
        "/api/v1/products",
        product_json(
            "Yerba mate Playadito 1 kg",
            "Almacén",
            json!({"sku": "YERBA-PLAY"}),
        ),
    )
    .await
    .ok(201);
    let r = s
        .post(
            "/api/v1/products",
            product_json(
                "Leche entera La Serenísima 1 l",
                "Lácteos",
                json!({"barcodes": ["4006381333931", "73513537"]}),
            ),
        )
        .await;
    assert_eq!(r.ok(201)["sku"], "LAC000001");

    let found = s.get("/api/v1/products?q=azucar").await;
    let found = found.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["name"], "Azúcar Ledesma 1 kg");
    assert_eq!(search(&s, "q=AZ%C3%9ACAR").await, ["ALM000001"]);
    assert_eq!(search(&s, "q=ledesma").await, ["ALM000001"]);
    assert_eq!(search(&s, "q=serenisima").await, ["LAC000001"]);
    assert_eq!(search(&s, "q=7790895000997").await, ["ALM000001"]);
    assert_eq!(search(&s, "q=73513537").await, ["LAC000001"]);
    assert_eq!(search(&s, "q=yerba-play").await, ["YERBA-PLAY"]);
    assert_eq!(search(&s, "q=LAC000001").await, ["LAC000001"]);
    assert!(search(&s, "q=inexistente").await.is_empty());
    assert!(
        search(&s, "q=%25").await.is_empty(),
        "LIKE wildcards are literal"
    );
    assert!(search(&s, "q=_").await.is_empty());
    assert_eq!(
        search(&s, "category=Almac%C3%A9n").await,
        ["ALM000001", "YERBA-PLAY"]
    );
    assert_eq!(search(&s, "category=L%C3%A1cteos").await, ["LAC000001"]);
    assert_eq!(
        search(&s, "category=Almac%C3%A9n&q=yerba").await,
        ["YERBA-PLAY"]
    );

    // Pages of one, following next_cursor to the end.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            None => "/api/v1/products?limit=1".to_owned(),
            Some(c) => format!("/api/v1/products?limit=1&cursor={c}"),
        };
        let page = s.get(&path).await;
        let page = page.ok(200).clone();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        seen.extend(skus(&page["items"]));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["ALM000001", "YERBA-PLAY", "LAC000001"]);

    // The cursor keeps the filter.
    let page = s.get("/api/v1/products?q=kg&limit=1").await;
    let page = page.ok(200).clone();
    assert_eq!(skus(&page["items"]), ["ALM000001"]);
    let c = page["next_cursor"].as_str().unwrap();
    let page2 = s
        .get(&format!("/api/v1/products?q=kg&limit=1&cursor={c}"))
        .await;
    let page2 = page2.ok(200);
    assert_eq!(skus(&page2["items"]), ["YERBA-PLAY"]);
    assert!(page2["next_cursor"].is_null());

    assert_eq!(
        s.get("/api/v1/products?limit=0").await.problem(422)["field"],
        "limit"
    );
    assert_eq!(
        s.get("/api/v1/products?cursor=abc").await.problem(422)["field"],
        "cursor"
    );
}

async fn bad_requests_are_problems_and_write_nothing(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.product("BASE-1").await;
    assert_eq!(product_count(&s).await, 1);
    let good = product_json("Galletitas", "Almacén", json!({"sku": "GAL-1"}));

    let r = post_raw(
        &s,
        "/api/v1/products",
        "application/json",
        br#"{"name": "Galletitas", "category": "#.to_vec(),
    )
    .await;
    let p = r.problem(400);
    assert_eq!(p["type"], "urn:almacen:problem:malformed-json");

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("name");
    let r = s.post("/api/v1/products", missing).await;
    assert_eq!(field_rule(r.problem(422)), (Some("name"), Some("required")));

    let mut unknown = good.clone();
    unknown["color"] = json!("rojo");
    let r = s.post("/api/v1/products", unknown).await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("color"), Some("unknown_field"))
    );
    let mut nested = good.clone();
    nested["stock_limits"] = json!([{"location": "S01", "min": "1", "max": "2", "color": "rojo"}]);
    let r = s.post("/api/v1/products", nested).await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("stock_limits[0].color"), Some("unknown_field"))
    );

    let mut wrong = good.clone();
    wrong["price"] = json!(12.5);
    let r = s.post("/api/v1/products", wrong).await;
    assert_eq!(field_rule(r.problem(422)), (Some("price"), Some("type")));

    let r = post_raw(
        &s,
        "/api/v1/products",
        "text/plain",
        serde_json::to_vec(&good).unwrap(),
    )
    .await;
    let p = r.problem(415);
    assert_eq!(p["type"], "urn:almacen:problem:unsupported-media-type");

    let mut huge = good.clone();
    huge["brand"] = json!("x".repeat(2 * 1024 * 1024 + 16));
    let r = post_raw(
        &s,
        "/api/v1/products",
        "application/json",
        serde_json::to_vec(&huge).unwrap(),
    )
    .await;
    let p = r.problem(413);
    assert_eq!(p["type"], "urn:almacen:problem:payload-too-large");

    let r = post_raw(
        &s,
        "/api/v1/products/import",
        "text/csv",
        vec![b'a'; 2 * 1024 * 1024 + 16],
    )
    .await;
    r.problem(413);

    let r = s
        .send(
            None,
            reqwest::Method::POST,
            "/api/v1/products",
            Some(good.clone()),
            None,
        )
        .await;
    r.problem(401);
    let viewer = s.user("consulta", "viewer", &[]).await;
    let r = s.post_as(&viewer, "/api/v1/products", good.clone()).await;
    r.problem(403);

    assert_eq!(
        skus(&json!(all_products(&s).await)),
        ["BASE-1"],
        "nothing was written"
    );
    // The same body, well formed and authorised, goes through.
    s.post("/api/v1/products", good).await.ok(201);
    assert_eq!(product_count(&s).await, 2);
}

// ---------------------------------------------------------------- CSV import

const CSV_SPANISH: &str = "\u{FEFF}nombre;categoria;precio;costo;iva;sku;codigos\n\
Azúcar Ledesma 1 kg;Almacén;1299.90;950.00;21;AZU-1;7790895000997\n\
Leche entera 1 l;Lácteos;1150.00;800.00;10,5;LEC-1;4006381333931|73513537\n\
Galletitas de agua;Almacén;890.00;600.00;21;;036000291452\n\
Fideos moñito 500 g;Almacén;700.00;500.00;21;FID-1;7790895000998\n\
Arroz doble carolina;Almacén;;500.00;21;ARR-1;\n\
Vino tinto 750 ml;Bebidas;3500.00;2000.00;22;VIN-1;\n";

async fn csv_import_reports_each_bad_row_and_reimport_updates(engine: Engine) {
    let s = TestServer::start(engine).await;
    let expected_errors: Vec<(u64, String)> = vec![
        (5, "barcodes[0]".to_owned()),
        (6, "price".to_owned()),
        (7, "vat_rate".to_owned()),
    ];

    let r = import_csv(&s, CSV_SPANISH).await;
    let first = r.ok(200).clone();
    assert_eq!(
        (first["created"].as_u64(), first["updated"].as_u64()),
        (Some(3), Some(0)),
        "{first}"
    );
    assert_eq!(row_errors(&first), expected_errors, "{first}");

    let products = all_products(&s).await;
    assert_eq!(products.len(), 3);
    let by_name = |name: &str| {
        products
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {products:?}"))
            .clone()
    };
    let azucar = by_name("Azúcar Ledesma 1 kg");
    assert_eq!(azucar["sku"], "AZU-1");
    assert_eq!(azucar["category"], "Almacén");
    assert_eq!(azucar["price"], "1299.90");
    assert_eq!(azucar["cost"], "950.00");
    assert_eq!(azucar["vat_rate"], "21");
    assert_eq!(
        azucar["barcodes"],
        json!([{"code": "7790895000997", "pack": 1}])
    );
    let leche = by_name("Leche entera 1 l");
    assert_eq!(leche["vat_rate"], "10.5");
    assert_eq!(leche["category"], "Lácteos");
    assert_eq!(
        leche["barcodes"],
        json!([{"code": "4006381333931", "pack": 1}, {"code": "73513537", "pack": 1}])
    );
    let galletitas = by_name("Galletitas de agua");
    assert_eq!(galletitas["sku"], "ALM000001", "no SKU: one is generated");

    // The same file again: matched by SKU or barcode, nothing new.
    let r = import_csv(&s, CSV_SPANISH).await;
    let second = r.ok(200).clone();
    assert_eq!(
        (second["created"].as_u64(), second["updated"].as_u64()),
        (Some(0), Some(3)),
        "{second}"
    );
    assert_eq!(second["errors"], first["errors"]);
    let again = all_products(&s).await;
    assert_eq!(again.len(), 3, "a re-import does not duplicate");
    let ids = |ps: &[Value]| ps.iter().map(|p| p["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&products));

    // A changed price arrives through the re-import.
    let changed = CSV_SPANISH.replace("1299.90", "1399.90");
    let r = import_csv(&s, &changed).await;
    assert_eq!(r.ok(200)["updated"], 3);
    let azucar = s.get(&format!("/api/v1/products/{}", azucar["id"])).await;
    assert_eq!(azucar.ok(200)["price"], "1399.90");

    // A file-level problem is one 422 and writes nothing.
    let r = import_csv(
        &s,
        "nombre,categoria,precio,costo,iva,color\nX,Almacén,1.00,1.00,21,rojo\n",
    )
    .await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("file"), Some("unknown_column"))
    );
    let r = import_csv(&s, "nombre,categoria,precio,costo\nX,Almacén,1.00,1.00\n").await;
    assert_eq!(
        field_rule(r.problem(422)),
        (Some("file"), Some("missing_column"))
    );
    assert_eq!(product_count(&s).await, 3);
}

/// The CSV has no columns for the supplier or the per-location stock limits, so updating a
/// product from a file must leave them as they are (a weekly price list must not wipe them).
async fn csv_reimport_keeps_supplier_and_stock_limits(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let sup = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Ledesma SAAI", "cuit": "30-50001091-2", "vat_condition": "responsable_inscripto"}),
        )
        .await;
    let supplier_id = sup.ok(201)["id"].as_i64().unwrap();
    let r = s
        .post(
            "/api/v1/products",
            product_json(
                "Azúcar Ledesma 1 kg",
                "Almacén",
                json!({"sku": "AZU-1", "cost": "950.00", "price": "1299.90", "barcodes": ["7790895000997"],
                       "supplier_id": supplier_id, "stock_limits": [{"location": "S01", "min": "10", "max": "40"}]}),
            ),
        )
        .await;
    let created = r.ok(201).clone();
    assert_eq!(created["supplier_id"], supplier_id);
    let limits = json!([{"location": "S01", "min": "10", "max": "40"}]);
    assert_eq!(created["stock_limits"], limits);

    let r = import_csv(
        &s,
        "sku;nombre;categoria;precio;costo;iva;codigos\n\
         AZU-1;Azúcar Ledesma 1 kg;Almacén;1399.90;950.00;21;7790895000997\n",
    )
    .await;
    let report = r.ok(200).clone();
    assert_eq!(
        (report["created"].as_u64(), report["updated"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    let got = s.get(&format!("/api/v1/products/{}", created["id"])).await;
    let got = got.ok(200);
    assert_eq!(got["price"], "1399.90", "what the file carries is applied");
    assert_eq!(
        (got["supplier_id"].clone(), got["stock_limits"].clone()),
        (json!(supplier_id), limits),
        "the file has no supplier or stock-limit columns: the import must not clear them"
    );
}

async fn cli_import_exit_code_follows_row_errors(engine: Engine) {
    let s = TestServer::start(engine).await;
    let dir = std::env::temp_dir().join(format!(
        "almacen-cli-import-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("con-errores.csv");
    std::fs::write(
        &bad,
        "sku,name,category,cost,price,vat_rate,barcodes\n\
         CLI-1,Mate cocido x 25,Almacén,300.00,450.00,21,\n\
         CLI-2,Té verde x 20,Almacén,300.00,abc,21,\n",
    )
    .unwrap();
    let good = dir.join("bien.csv");
    std::fs::write(
        &good,
        "sku,name,category,cost,price,vat_rate,barcodes\n\
         CLI-3,Té negro x 25,Almacén,280.00,420.00,21,7790895000997\n",
    )
    .unwrap();
    let run = |file: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_almacen"))
            .current_dir(&dir)
            .arg("import")
            .arg("products")
            .arg(file)
            .args(["--database-url", &s.database_url])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (code, stdout, stderr) = run(&bad);
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("línea 3"), "{stdout}");
    assert!(stdout.contains("price"), "{stdout}");
    assert!(!stdout.contains("línea 2"), "{stdout}");

    let (code, stdout, stderr) = run(&good);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(!stdout.contains("línea"), "{stdout}");

    // Re-running the bad file updates the good row and still fails on the bad one.
    let (code, stdout, _) = run(&bad);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.contains("línea 3"), "{stdout}");

    assert_eq!(
        skus(&json!(all_products(&s).await)),
        ["CLI-1", "CLI-3"],
        "the CLI wrote to the server's database"
    );
    assert_eq!(search(&s, "q=7790895000997").await, ["CLI-3"]);
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------- audit

async fn audit_log_records_product_changes(engine: Engine) {
    let s = TestServer::start(engine).await;
    let r = s
        .post(
            "/api/v1/products",
            product_json(
                "Aceite de girasol 1,5 l",
                "Almacén",
                json!({"sku": "aud-1", "price": "2999.00"}),
            ),
        )
        .await;
    let id = r.ok(201)["id"].as_i64().unwrap();
    let entity_id = json!(id.to_string());

    let log = s.get("/api/v1/audit?limit=5").await;
    let items = log.ok(200)["items"].as_array().unwrap().clone();
    assert!(!items.is_empty() && items.len() <= 5);
    let create = items
        .iter()
        .find(|e| e["action"] == "product.create" && e["entity_id"] == entity_id)
        .unwrap_or_else(|| panic!("no product.create entry: {items:?}"));
    assert_eq!(create["entity"], "product");
    assert_eq!(create["actor"], "admin");
    assert_eq!(create["after"]["sku"], "AUD-1");
    assert_eq!(create["after"]["price"], "2999.00");
    assert!(create["before"].is_null());
    assert_eq!(items[0]["action"], "product.create", "newest first");

    put(
        &s,
        &format!("/api/v1/products/{id}"),
        product_json(
            "Aceite de girasol Natura 1,5 l",
            "Almacén",
            json!({"price": "3199.00"}),
        ),
    )
    .await
    .ok(200);
    let log = s.get("/api/v1/audit?limit=5").await;
    let items = log.ok(200)["items"].as_array().unwrap().clone();
    let update = &items[0];
    assert_eq!(update["action"], "product.update", "{items:?}");
    assert_eq!(update["entity"], "product");
    assert_eq!(update["entity_id"], entity_id);
    assert_eq!(update["before"]["price"], "2999.00");
    assert_eq!(update["after"]["price"], "3199.00");
    assert_eq!(update["before"]["name"], "Aceite de girasol 1,5 l");
    assert_eq!(update["after"]["name"], "Aceite de girasol Natura 1,5 l");
    assert_eq!(update["before"]["sku"], "AUD-1");
    assert_eq!(update["after"]["sku"], "AUD-1");

    s.post(&format!("/api/v1/products/{id}/deactivate"), json!({}))
        .await
        .ok(200);
    let log = s.get("/api/v1/audit?limit=5").await;
    let newest = log.ok(200)["items"][0].clone();
    assert_eq!(newest["action"], "product.deactivate");
    assert_eq!(
        (
            newest["before"]["active"].as_bool(),
            newest["after"]["active"].as_bool()
        ),
        (Some(true), Some(false))
    );

    // A refused change leaves no trace.
    put(
        &s,
        &format!("/api/v1/products/{id}"),
        product_json("Otro", "Almacén", json!({"sku": "AUD-2"})),
    )
    .await
    .problem(422);
    let log = s.get("/api/v1/audit?limit=5").await;
    assert_eq!(log.ok(200)["items"][0]["id"], newest["id"]);

    let viewer = s.user("consulta", "viewer", &[]).await;
    s.get_as(&viewer, "/api/v1/audit?limit=5")
        .await
        .problem(403);
}
