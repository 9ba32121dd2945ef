//! Negocio core on both engines: tickets, IVA, scale labels, returns, till shifts, purchasing,
//! average cost and valuation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{Engine, TestServer};
use serde_json::{Value, json};

engine_tests!(
    ticket_mixes_vat_rates_and_discounts_to_the_cent,
    scale_labels_carry_weight_or_price,
    sales_take_lots_first_expiry_first_and_returns_restock_them,
    ticket_retry_with_the_same_key_sells_once,
    a_ticket_with_a_repeated_product_is_audited_once,
    short_ticket_lists_every_short_line_and_writes_nothing,
    partial_returns_refund_and_never_exceed_what_was_sold,
    till_shift_expected_counted_and_difference,
    purchase_orders_receive_in_parts,
    weighted_average_cost_after_two_receipts,
    stock_value_at_a_past_date_ignores_later_movements,
    fifty_tills_sell_exactly_the_hundred_units_on_hand,
    sales_summary_with_margin,
);

async fn product(s: &TestServer, body: Value) -> i64 {
    s.post("/api/v1/products", body).await.ok(201)["id"]
        .as_i64()
        .unwrap()
}

async fn receive(s: &TestServer, sku: &str, location: &str, qty: &str) {
    s.movement(json!({"kind": "receipt", "sku": sku, "location": location, "quantity": qty}))
        .await
        .ok(201);
}

async fn open_shift(s: &TestServer, location: &str, till: &str) -> i64 {
    s.post(
        "/api/v1/shifts",
        json!({"location": location, "till": till, "opening_float": "1000.00"}),
    )
    .await
    .ok(201)["id"]
        .as_i64()
        .unwrap()
}

async fn store_with_shift(engine: Engine) -> (TestServer, i64) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let shift = open_shift(&s, "S01", "1").await;
    (s, shift)
}

async fn ticket_mixes_vat_rates_and_discounts_to_the_cent(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    let gaseosa = product(&s, json!({"sku": "GAS", "name": "Gaseosa", "category": "Bebidas", "cost": "900.00", "price": "1299.90", "vat_rate": "21"})).await;
    let queso = product(&s, json!({"sku": "QUE", "name": "Queso", "category": "Fiambrería", "unit": "kg", "cost": "6000.00", "price": "8990.00", "vat_rate": "10.5"})).await;
    receive(&s, "GAS", "S01", "10").await;
    receive(&s, "QUE", "S01", "5").await;
    let r = s
        .post(
            "/api/v1/sales",
            json!({"shift": shift, "lines": [{"sku": "GAS", "quantity": "3"}, {"sku": "QUE", "quantity": "0.750"}],
                   "payments": [{"method": "cash", "amount": "10000.00"}], "discount": "10%"}),
        )
        .await;
    let sale = r.ok(201).clone();
    // 3 × 1299,90 = 3899,70 and 0,750 × 8990 = 6742,50; 10 % off each: 3509,73 and 6068,25.
    assert_eq!(sale["subtotal"], "10642.20");
    assert_eq!(sale["discount"], "1064.22");
    assert_eq!(sale["total"], "9577.98");
    assert_eq!(sale["lines"][0]["total"], "3509.73");
    assert_eq!(sale["lines"][1]["total"], "6068.25");
    assert_eq!(
        sale["vat"],
        json!([
            {"rate": "10.5", "net": "5491.63", "vat": "576.62"},
            {"rate": "21", "net": "2900.60", "vat": "609.13"}
        ])
    );
    assert_eq!(
        (sale["paid"].as_str(), sale["change"].as_str()),
        (Some("10000.00"), Some("422.02"))
    );
    assert_eq!(s.on_hand(gaseosa, "S01").await, "7");
    assert_eq!(s.on_hand(queso, "S01").await, "4.25");
    // The stored ticket reads back the same.
    let again = s.get(&format!("/api/v1/sales/{}", sale["id"])).await;
    assert_eq!(again.ok(200)["vat"], sale["vat"]);
    assert_eq!(again.body["total"], "9577.98");
    // A cashier may give at most 10 %.
    let cashier = s.user("cajera", "cashier", &["S01"]).await;
    let r = s
        .post_as(&cashier, "/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "GAS"}], "payments": [{"method": "cash", "amount": "2000"}], "discount": "20%"}))
        .await;
    r.problem(403);
    let r = s
        .post_as(&cashier, "/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "GAS", "discount": "100.00"}], "payments": [{"method": "debit", "amount": "1199.90"}]}))
        .await;
    assert_eq!(r.ok(201)["total"], "1199.90");
    // Payments must cover the total, and only cash gives change.
    let r = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "GAS"}], "payments": [{"method": "cash", "amount": "1000"}]})).await;
    assert_eq!(r.problem(422)["rule"], "payments_short");
    let r = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "GAS"}], "payments": [{"method": "credit", "amount": "2000"}]})).await;
    assert_eq!(r.problem(422)["rule"], "overpaid_non_cash");
    let r = s
        .post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "GAS"}], "payments": [{"method": "cash", "amount": "300"}, {"method": "debit", "amount": "999.90"}]}))
        .await;
    assert_eq!(r.ok(201)["change"], "0.00");
    let r = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"barcode": "7790895000998"}], "payments": [{"method": "cash", "amount": "1"}]})).await;
    assert_eq!(r.problem(422)["field"], "lines[0].barcode");
    let r = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "GAS", "quantity": "0"}], "payments": [{"method": "cash", "amount": "1"}]})).await;
    assert_eq!(r.problem(422)["field"], "lines[0].quantity");
}

async fn scale_labels_carry_weight_or_price(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    let id = product(&s, json!({"sku": "JAMON", "name": "Jamón cocido (por kg)", "category": "Fiambrería", "unit": "kg", "plu": 1234,
        "cost": "6000.00", "price": "8990.00", "vat_rate": "21"}))
    .await;
    receive(&s, "JAMON", "S01", "5").await;
    let weight = domain::Gtin::from_body("200123401250").unwrap().to_string();
    let price = domain::Gtin::from_body("210123404495").unwrap().to_string();
    let r = s
        .post("/api/v1/sales", json!({"shift": shift, "lines": [{"barcode": weight}, {"barcode": price}], "payments": [{"method": "cash", "amount": "20000"}]}))
        .await;
    let sale = r.ok(201).clone();
    assert_eq!(
        (
            sale["lines"][0]["quantity"].as_str(),
            sale["lines"][0]["total"].as_str()
        ),
        (Some("1.25"), Some("11237.50"))
    );
    assert_eq!(
        (
            sale["lines"][1]["quantity"].as_str(),
            sale["lines"][1]["total"].as_str()
        ),
        (Some("0.5"), Some("4495.00"))
    );
    assert_eq!(sale["total"], "15732.50");
    assert_eq!(s.on_hand(id, "S01").await, "3.25");
    let unknown = domain::Gtin::from_body("200999901250").unwrap().to_string();
    let r = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"barcode": unknown}], "payments": [{"method": "cash", "amount": "20000"}]})).await;
    assert_eq!(r.problem(422)["field"], "lines[0].barcode");
}

async fn sales_take_lots_first_expiry_first_and_returns_restock_them(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    let id = product(&s, json!({"sku": "YOG", "name": "Yogur", "category": "Lácteos", "cost": "500", "price": "900", "vat_rate": "21"})).await;
    s.post("/api/v1/stock/movements/batch", json!({"movements": [
        {"kind": "receipt", "sku": "YOG", "location": "S01", "quantity": "3", "lot": "L2", "expiry": "2027-02-01"},
        {"kind": "receipt", "sku": "YOG", "location": "S01", "quantity": "2", "lot": "L1", "expiry": "2027-01-01"}
    ]}))
    .await
    .ok(201);
    let sale = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "YOG", "quantity": "3"}], "payments": [{"method": "cash", "amount": "2700"}]})).await;
    let sale_id = sale.ok(201)["id"].as_i64().unwrap();
    assert_eq!(
        lot_levels(&s, id).await,
        vec![("L1".into(), "0".into()), ("L2".into(), "2".into())]
    );
    let r = s.post(&format!("/api/v1/sales/{sale_id}/returns"), json!({"lines": [{"line": 1, "quantity": "2"}], "reason": "vencido", "refund_method": "cash"})).await;
    assert_eq!(r.ok(201)["refund"], "1800.00");
    assert_eq!(
        lot_levels(&s, id).await,
        vec![("L1".into(), "2".into()), ("L2".into(), "2".into())],
        "back to the lot it came from"
    );
    let movements = s
        .get(&format!(
            "/api/v1/stock/movements?product_id={id}&kind=return"
        ))
        .await;
    assert_eq!(
        movements.ok(200)["items"][0]["document"],
        format!("sale:{sale_id}")
    );
    assert!(s.ledger_ok().await);
}

async fn lot_levels(s: &TestServer, id: i64) -> Vec<(String, String)> {
    let r = s
        .get(&format!("/api/v1/stock?product_id={id}&location=S01"))
        .await;
    r.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["lot"].as_str().unwrap().to_owned(),
                l["on_hand"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn ticket_retry_with_the_same_key_sells_once(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    let id = product(&s, json!({"sku": "PAN", "name": "Pan", "category": "Panadería", "cost": "100", "price": "200", "vat_rate": "10.5"})).await;
    receive(&s, "PAN", "S01", "5").await;
    let body = json!({"shift": shift, "lines": [{"sku": "PAN", "quantity": "2"}], "payments": [{"method": "cash", "amount": "400"}]});
    let a = s
        .post_key("/api/v1/sales", body.clone(), "caja1-000123")
        .await;
    let b = s
        .post_key("/api/v1/sales", body.clone(), "caja1-000123")
        .await;
    assert_eq!(a.ok(201)["id"], b.ok(201)["id"]);
    assert_eq!(b.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(s.on_hand(id, "S01").await, "3");
    let shift_now = s.get(&format!("/api/v1/shifts/{shift}")).await;
    assert_eq!(shift_now.ok(200)["tickets"], 1);
}

async fn a_ticket_with_a_repeated_product_is_audited_once(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    let id = product(&s, json!({"sku": "PAN", "name": "Pan", "category": "Panadería", "cost": "100", "price": "200", "vat_rate": "10.5"})).await;
    receive(&s, "PAN", "S01", "5").await;
    let sale = s
        .post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "PAN", "quantity": "2"}, {"sku": "PAN", "quantity": "1"}], "payments": [{"method": "cash", "amount": "600"}]}))
        .await;
    let sale_id = sale.ok(201)["id"].as_i64().unwrap();
    assert_eq!(s.on_hand(id, "S01").await, "2");
    let sold = s
        .get(&format!(
            "/api/v1/stock/movements?product_id={id}&kind=sale"
        ))
        .await;
    let sold: Vec<Value> = sold.ok(200)["items"].as_array().unwrap().clone();
    let total: i64 = sold
        .iter()
        .map(|m| m["quantity"].as_str().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(total, -3, "{sold:?}");
    let audit = s.get("/api/v1/audit?limit=50").await;
    let entries: Vec<Value> = audit.ok(200)["items"].as_array().unwrap().clone();
    let tickets: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "sale.created")
        .collect();
    assert_eq!(tickets.len(), 1, "{entries:?}");
    assert_eq!(tickets[0]["entity_id"], sale_id.to_string());
    assert!(!entries.iter().any(|e| e["action"] == "stock.sale"));
    assert!(s.ledger_ok().await);
}

async fn short_ticket_lists_every_short_line_and_writes_nothing(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    for sku in ["A", "B", "C"] {
        product(&s, json!({"sku": sku, "name": sku, "category": "Almacén", "cost": "1", "price": "10", "vat_rate": "21"})).await;
    }
    receive(&s, "A", "S01", "5").await;
    receive(&s, "B", "S01", "1").await;
    let before = s.movement_count().await;
    let r = s
        .post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "A", "quantity": "2"}, {"sku": "B", "quantity": "3"}, {"sku": "C"}],
            "payments": [{"method": "cash", "amount": "100"}]}))
        .await;
    let p = r.problem(409);
    let shortages = p["shortages"].as_array().unwrap();
    assert_eq!(shortages.len(), 2);
    assert_eq!(
        (
            shortages[0]["line"].as_u64(),
            shortages[0]["sku"].as_str(),
            shortages[0]["available"].as_str()
        ),
        (Some(1), Some("B"), Some("1"))
    );
    assert_eq!(
        (
            shortages[1]["line"].as_u64(),
            shortages[1]["sku"].as_str(),
            shortages[1]["available"].as_str()
        ),
        (Some(2), Some("C"), Some("0"))
    );
    assert_eq!(s.movement_count().await, before);
    assert_eq!(
        s.get(&format!("/api/v1/shifts/{shift}")).await.ok(200)["tickets"],
        0
    );
}

async fn partial_returns_refund_and_never_exceed_what_was_sold(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    let id = product(&s, json!({"sku": "R", "name": "R", "category": "Almacén", "cost": "50", "price": "100", "vat_rate": "21"})).await;
    receive(&s, "R", "S01", "10").await;
    let sale = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "R", "quantity": "3"}], "payments": [{"method": "cash", "amount": "300"}]})).await;
    let sale_id = sale.ok(201)["id"].as_i64().unwrap();
    let url = format!("/api/v1/sales/{sale_id}/returns");
    let r = s.post(&url, json!({"lines": [{"line": 1, "quantity": "1"}], "reason": "no le gustó", "refund_method": "cash", "shift": shift})).await;
    assert_eq!(r.ok(201)["refund"], "100.00");
    assert_eq!(s.on_hand(id, "S01").await, "8");
    let r = s.post(&url, json!({"lines": [{"line": 1, "quantity": "3"}], "reason": "x", "refund_method": "cash"})).await;
    assert_eq!(r.problem(422)["rule"], "return_exceeds");
    let r = s.post(&url, json!({"lines": [{"line": 2, "quantity": "1"}], "reason": "x", "refund_method": "cash"})).await;
    assert_eq!(r.problem(422)["field"], "lines[0].line");
    let cashier = s.user("cajero", "cashier", &[]).await;
    let r = s
        .post_as(
            &cashier,
            &format!("/api/v1/sales/{sale_id}/void"),
            json!({"reason": "error", "refund_method": "cash"}),
        )
        .await;
    r.problem(403);
    let manager = s.user("encargada", "manager", &[]).await;
    let r = s
        .post_as(
            &manager,
            &format!("/api/v1/sales/{sale_id}/void"),
            json!({"reason": "cobro duplicado", "refund_method": "debit"}),
        )
        .await;
    let void = r.ok(201).clone();
    assert_eq!(
        (void["refund"].as_str(), void["void"].as_bool()),
        (Some("200.00"), Some(true))
    );
    assert_eq!(s.on_hand(id, "S01").await, "10");
    assert_eq!(
        s.get(&format!("/api/v1/sales/{sale_id}")).await.ok(200)["status"],
        "voided"
    );
    let r = s
        .post(&url, json!({"reason": "x", "refund_method": "cash"}))
        .await;
    assert_eq!(r.problem(409)["type"], "urn:almacen:problem:sale_voided");
    assert!(s.ledger_ok().await);
}

async fn till_shift_expected_counted_and_difference(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    product(&s, json!({"sku": "T", "name": "T", "category": "Almacén", "cost": "50", "price": "150", "vat_rate": "21"})).await;
    receive(&s, "T", "S01", "10").await;
    let r = s
        .post(
            "/api/v1/shifts",
            json!({"location": "S01", "till": "1", "opening_float": "0"}),
        )
        .await;
    assert_eq!(
        r.problem(409)["type"],
        "urn:almacen:problem:shift_already_open"
    );
    // Cash 150 paid with 200 (change 50); debit 300; a cash refund of 150 from this till.
    let a = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "T"}], "payments": [{"method": "cash", "amount": "200"}]})).await;
    let a = a.ok(201)["id"].as_i64().unwrap();
    s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "T", "quantity": "2"}], "payments": [{"method": "debit", "amount": "300"}]}))
        .await
        .ok(201);
    s.post(
        &format!("/api/v1/sales/{a}/returns"),
        json!({"reason": "cambio", "refund_method": "cash", "shift": shift}),
    )
    .await
    .ok(201);
    let open = s.get(&format!("/api/v1/shifts/{shift}")).await;
    let expected = open.ok(200)["expected"].as_array().unwrap().clone();
    let amount = |list: &[Value], m: &str| {
        list.iter().find(|e| e["method"] == m).unwrap()["amount"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        amount(&expected, "cash"),
        "1000.00",
        "float 1000 + 150 − 150 refunded"
    );
    assert_eq!(amount(&expected, "debit"), "300.00");
    let closed = s
        .post(
            &format!("/api/v1/shifts/{shift}/close"),
            json!({"cash": "950.00"}),
        )
        .await;
    let closed = closed.ok(200).clone();
    assert_eq!(closed["status"], "closed");
    let diff = closed["difference"].as_array().unwrap().clone();
    assert_eq!(amount(&diff, "cash"), "-50.00");
    assert_eq!(amount(&diff, "debit"), "0.00");
    let again = s
        .post(
            &format!("/api/v1/shifts/{shift}/close"),
            json!({"cash": "950.00"}),
        )
        .await;
    assert_eq!(
        again.problem(409)["type"],
        "urn:almacen:problem:shift_not_open"
    );
    let r = s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "T"}], "payments": [{"method": "cash", "amount": "150"}]})).await;
    r.problem(409);
    open_shift(&s, "S01", "1").await;
}

async fn purchase_orders_receive_in_parts(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let sup = s.post("/api/v1/suppliers", json!({"name": "Proveedor", "cuit": "30500010912", "vat_condition": "responsable_inscripto"})).await;
    let sup = sup.ok(201)["id"].as_i64().unwrap();
    let id = product(&s, json!({"sku": "PO1", "name": "Aceite", "category": "Almacén", "cost": "90", "price": "150", "vat_rate": "21"})).await;
    let po = s
        .post("/api/v1/purchase-orders", json!({"supplier_id": sup, "location": "DEP", "lines": [{"sku": "PO1", "quantity": "10", "unit_cost": "100.00"}]}))
        .await;
    let po = po.ok(201).clone();
    assert_eq!(
        (po["status"].as_str(), po["total"].as_str()),
        (Some("draft"), Some("1000.00"))
    );
    let po_id = po["id"].as_i64().unwrap();
    let receipt = |qty: &str, over: bool| {
        json!({"purchase_order_id": po_id, "location": "DEP", "remito": "0001-00000042", "allow_over_receipt": over,
        "lines": [{"sku": "PO1", "quantity": qty}]})
    };
    s.post("/api/v1/receipts", receipt("4", false))
        .await
        .problem(409);
    s.post(&format!("/api/v1/purchase-orders/{po_id}/send"), json!({}))
        .await
        .ok(200);
    let r = s.post("/api/v1/receipts", receipt("4", false)).await;
    assert_eq!(
        (
            r.ok(201)["purchase_order_status"].as_str(),
            r.body["lines"][0]["unit_cost"].as_str()
        ),
        (Some("partially_received"), Some("100.00"))
    );
    let r = s.post("/api/v1/receipts", receipt("7", false)).await;
    assert_eq!(r.problem(409)["type"], "urn:almacen:problem:over_receipt");
    let r = s.post("/api/v1/receipts", receipt("6", false)).await;
    assert_eq!(r.ok(201)["purchase_order_status"], "received");
    let got = s.get(&format!("/api/v1/purchase-orders/{po_id}")).await;
    assert_eq!(
        (
            got.ok(200)["status"].as_str(),
            got.body["lines"][0]["received"].as_str()
        ),
        (Some("received"), Some("10"))
    );
    assert_eq!(s.on_hand(id, "DEP").await, "10");
    let r = s
        .post(
            &format!("/api/v1/purchase-orders/{po_id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(
        r.problem(409)["type"],
        "urn:almacen:problem:invalid_transition"
    );
    // Receiving more than ordered needs the flag.
    s.post("/api/v1/receipts", receipt("1", true)).await.ok(201);
    assert_eq!(s.on_hand(id, "DEP").await, "11");
    // A cancelled order receives nothing.
    let po2 = s
        .post("/api/v1/purchase-orders", json!({"supplier_id": sup, "location": "DEP", "lines": [{"sku": "PO1", "quantity": "5", "unit_cost": "100.00"}]}))
        .await;
    let po2 = po2.ok(201)["id"].as_i64().unwrap();
    s.post(&format!("/api/v1/purchase-orders/{po2}/send"), json!({}))
        .await
        .ok(200);
    s.post(&format!("/api/v1/purchase-orders/{po2}/cancel"), json!({}))
        .await
        .ok(200);
    let r = s
        .post("/api/v1/receipts", json!({"purchase_order_id": po2, "location": "DEP", "lines": [{"sku": "PO1", "quantity": "1"}]}))
        .await;
    assert_eq!(r.problem(409)["type"], "urn:almacen:problem:po_cancelled");
    assert_eq!(s.on_hand(id, "DEP").await, "11");
    assert!(s.ledger_ok().await);
}

async fn weighted_average_cost_after_two_receipts(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let id = product(&s, json!({"sku": "AV", "name": "Fideos", "category": "Almacén", "cost": "80.00", "price": "150", "vat_rate": "21"})).await;
    let r = s.post("/api/v1/receipts", json!({"location": "DEP", "lines": [{"sku": "AV", "quantity": "10", "unit_cost": "100.00", "lot": "A", "expiry": "2027-05-01"}]})).await;
    assert_eq!(
        r.ok(201)["lines"][0]["average_cost"],
        "100.00",
        "nothing on hand: the receipt's cost"
    );
    let r = s.post("/api/v1/receipts", json!({"location": "DEP", "lines": [{"sku": "AV", "quantity": "10", "unit_cost": "120.00"}]})).await;
    assert_eq!(r.ok(201)["lines"][0]["average_cost"], "110.00");
    let r = s.post("/api/v1/receipts", json!({"location": "DEP", "lines": [{"sku": "AV", "quantity": "5", "unit_cost": "130.00"}]})).await;
    assert_eq!(
        r.ok(201)["lines"][0]["average_cost"],
        "114.00",
        "(20 × 110 + 5 × 130) / 25"
    );
    assert_eq!(
        s.get(&format!("/api/v1/products/{id}")).await.ok(200)["cost"],
        "114.00"
    );
    let lots = s.get(&format!("/api/v1/stock?product_id={id}")).await;
    assert_eq!(lots.ok(200)["items"][1]["expiry"], "2027-05-01");
}

async fn stock_value_at_a_past_date_ignores_later_movements(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    s.location("S01", "store").await;
    product(&s, json!({"sku": "V", "name": "V", "category": "Almacén", "cost": "100.00", "price": "150", "vat_rate": "21"})).await;
    s.post("/api/v1/receipts", json!({"location": "DEP", "lines": [{"sku": "V", "quantity": "10", "unit_cost": "100.00"}]})).await.ok(201);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let at = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let then = s
        .get(&format!(
            "/api/v1/reports/stock-value?at={}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .replace('+', "%2B")
        ))
        .await;
    let then = then.ok(200).clone();
    assert_eq!(then["total"], "1000.00");
    s.post("/api/v1/receipts", json!({"location": "DEP", "lines": [{"sku": "V", "quantity": "10", "unit_cost": "120.00"}]})).await.ok(201);
    s.post(
        "/api/v1/stock/transfers",
        json!({"sku": "V", "from": "DEP", "to": "S01", "quantity": "5"}),
    )
    .await
    .ok(201);
    let now = s.get("/api/v1/reports/stock-value").await;
    let now = now.ok(200).clone();
    assert_eq!(
        now["total"], "2200.00",
        "20 units at the new average of 110"
    );
    assert_eq!(
        now["locations"],
        json!([{"location": "DEP", "value": "1650.00"}, {"location": "S01", "value": "550.00"}])
    );
    let again = s
        .get(&format!(
            "/api/v1/reports/stock-value?at={}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .replace('+', "%2B")
        ))
        .await;
    assert_eq!(
        again.ok(200)["total"],
        then["total"],
        "later movements do not rewrite the past"
    );
    assert_eq!(again.body["locations"], then["locations"]);
}

async fn fifty_tills_sell_exactly_the_hundred_units_on_hand(engine: Engine) {
    let s = Arc::new(TestServer::start(engine).await);
    s.location("S01", "store").await;
    let id = product(&s, json!({"sku": "HOT", "name": "Hielo", "category": "Bebidas", "cost": "500", "price": "1000", "vat_rate": "21"})).await;
    receive(&s, "HOT", "S01", "100").await;
    let mut shifts = Vec::new();
    for till in 0..50 {
        shifts.push(open_shift(&s, "S01", &format!("{till}")).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..200 {
        let s = s.clone();
        let shift = shifts[n % 50];
        tasks.spawn(async move {
            s.post_key(
                "/api/v1/sales",
                json!({"shift": shift, "lines": [{"sku": "HOT"}], "payments": [{"method": "cash", "amount": "1000"}]}),
                &format!("t{n}"),
            )
            .await
            .status
            .as_u16()
        });
    }
    let (mut ok, mut short) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            201 => ok += 1,
            409 => short += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, short), (100, 100));
    assert_eq!(s.on_hand(id, "S01").await, "0");
    assert!(s.ledger_ok().await);
}

async fn sales_summary_with_margin(engine: Engine) {
    let (s, shift) = store_with_shift(engine).await;
    product(&s, json!({"sku": "M1", "name": "Mate", "category": "Almacén", "cost": "60.00", "price": "121.00", "vat_rate": "21"})).await;
    product(&s, json!({"sku": "M2", "name": "Agua", "category": "Bebidas", "cost": "40.00", "price": "121.00", "vat_rate": "21"})).await;
    receive(&s, "M1", "S01", "10").await;
    receive(&s, "M2", "S01", "10").await;
    s.post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "M1", "quantity": "2"}, {"sku": "M2"}], "payments": [{"method": "cash", "amount": "363"}]}))
        .await
        .ok(201);
    let today = (chrono::Utc::now() - chrono::Duration::hours(3)).date_naive();
    let r = s
        .get(&format!(
            "/api/v1/reports/sales?from={today}&to={today}&group_by=category"
        ))
        .await;
    let rows = r.ok(200)["rows"].as_array().unwrap().clone();
    // Almacén: 2 × 121 = 242 with IVA, 200 net, cost 120, margin 80; Bebidas: 121, 100 net, cost 40, margin 60.
    assert_eq!(rows[0]["key"], "Almacén");
    assert_eq!(
        (
            rows[0]["total"].as_str(),
            rows[0]["net"].as_str(),
            rows[0]["cost"].as_str(),
            rows[0]["gross_margin"].as_str()
        ),
        (
            Some("242.00"),
            Some("200.00"),
            Some("120.00"),
            Some("80.00")
        )
    );
    assert_eq!(rows[1]["gross_margin"], "60.00");
    assert_eq!(r.body["gross_margin"], "140.00");
    let r = s
        .get(&format!(
            "/api/v1/reports/sales?from={today}&to={today}&group_by=payment_method"
        ))
        .await;
    assert_eq!(r.ok(200)["rows"][0]["total"], "363.00");
    let r = s
        .get(&format!(
            "/api/v1/reports/sales?from={today}&to={today}&group_by=weekday"
        ))
        .await;
    r.problem(422);
}
