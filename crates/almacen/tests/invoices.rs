//! Supplier invoices on both engines: a generated invoice scanned through the API (QR and
//! OCR), reviewed, confirmed (stock, cost, PO, IVA book), duplicates refused, manual entry,
//! remembered product mappings and the Libro IVA export of a known period byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Engine, TestServer};
use domain::Cuit;
use domain::invoice::Letter;
use ocr::synth::{self, Degradation, Fonts, Spec};
use serde_json::{Value, json};

engine_tests!(
    scanned_invoice_is_reviewed_posted_and_never_posted_twice,
    manual_invoice_links_the_order_remembers_codes_and_fills_the_books,
    bad_uploads_are_refused_or_fail_their_job_only,
);

const OURS: &str = "33-69345023-9";

async fn server(engine: Engine) -> TestServer {
    let mut settings = common::test_settings();
    settings.invoices.shop_cuit = Some(OURS.into());
    settings.invoices.pos_point_of_sale = 4;
    TestServer::start_with(engine, app::Clock::system(), settings).await
}

async fn upload(s: &TestServer, bytes: Vec<u8>, name: &str) -> common::Resp {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    let res = s
        .client
        .post(format!("{}/api/v1/supplier-invoices/scan", s.base))
        .bearer_auth(&s.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    common::Resp {
        status,
        body,
        headers,
    }
}

async fn wait_job(s: &TestServer, id: i64) -> Value {
    for _ in 0..600 {
        let j = s.get(&format!("/api/v1/supplier-invoices/jobs/{id}")).await;
        let j = j.ok(200).clone();
        if j["status"] == "done" || j["status"] == "failed" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not finish");
}

async fn patch(s: &TestServer, path: &str, body: Value) -> common::Resp {
    s.send(
        Some(&s.token),
        reqwest::Method::PATCH,
        path,
        Some(body),
        None,
    )
    .await
}

fn money(v: &Value) -> domain::Money {
    domain::Money::parse(v.as_str().unwrap()).unwrap()
}

async fn scanned_invoice_is_reviewed_posted_and_never_posted_twice(engine: Engine) {
    let s = server(engine).await;
    s.location("DEP", "warehouse").await;
    let fonts = Fonts::load(Path::new(synth::FONT_DIR)).expect("fonts-dejavu-core");
    let spec = Spec {
        seed: 11,
        layout: 0,
        font: 0,
        letter: Letter::A,
        lines: 3,
        qr: true,
        degradation: Degradation::Clean,
    };
    let sample = synth::sample(&spec, &fonts, &Cuit::parse(OURS).unwrap());
    let truth = sample.truth.clone();
    let issuer = truth.issuer_cuit.clone().unwrap();
    let supplier = s
        .post(
            "/api/v1/suppliers",
            json!({"name": truth.issuer_name, "cuit": issuer.as_str(), "vat_condition": "responsable_inscripto"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    // Products named like the invoice's descriptions (matched by description or code).
    let mut ids = Vec::new();
    for (i, l) in truth.lines.iter().enumerate() {
        let id = s
            .post(
                "/api/v1/products",
                json!({"sku": format!("INV{i}"), "name": l.description, "category": "Almacén",
                       "cost": "1.00", "price": "2.00", "vat_rate": "21"}),
            )
            .await;
        let id = if id.status == 201 {
            id.body["id"].as_i64().unwrap()
        } else {
            ids[0]
        };
        ids.push(id);
    }

    let r = upload(&s, sample.bytes.clone(), "factura.png").await;
    let job = r.ok(202).clone();
    assert_eq!(job["status"], "queued");
    assert_eq!(job["file_kind"], "png");
    let job = wait_job(&s, job["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "done", "{job}");
    let id = job["invoice_id"].as_i64().unwrap();
    let inv = s
        .get(&format!("/api/v1/supplier-invoices/{id}"))
        .await
        .ok(200)
        .clone();
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["origin"], "scan");
    let d = &inv["data"];
    // Every header and footer field as printed.
    assert_eq!(
        d["voucher_type"],
        json!({"code": 1, "letter": "A", "kind": "factura"})
    );
    assert_eq!(d["number"], truth.number.unwrap().to_string());
    assert_eq!(d["issue_date"], truth.issue_date.unwrap().to_string());
    assert_eq!(d["issuer_cuit"], issuer.to_string());
    assert_eq!(d["issuer_name"], truth.issuer_name.clone().unwrap());
    assert_eq!(d["receiver_cuit"], OURS);
    assert_eq!(d["cae"], truth.cae.clone().unwrap().to_string());
    assert_eq!(d["cae_due"], truth.cae_due.unwrap().to_string());
    assert_eq!(money(&d["total"]), truth.total.unwrap());
    assert_eq!(d["vat"], serde_json::to_value(&truth.vat).unwrap());
    assert_eq!(money(&d["perception_iibb"]), truth.perception_iibb);
    assert_eq!(d["lines"].as_array().unwrap().len(), truth.lines.len());
    for (got, want) in d["lines"].as_array().unwrap().iter().zip(&truth.lines) {
        assert_eq!(money(&got["subtotal"]), want.subtotal);
        assert_eq!(got["quantity"], want.quantity.to_string());
    }
    // Sources and confidences: the QR covers the total; the issuer's name came from OCR.
    let fields = &inv["extraction"]["fields"];
    assert_eq!(fields["total"]["source"], "qr");
    assert_eq!(fields["total"]["confidence"], 100);
    assert_eq!(fields["issuer_name"]["source"], "ocr");
    assert!(fields["issuer_name"]["confidence"].as_u64().unwrap() > 50);
    assert!(inv["raw_text"].as_str().unwrap().contains("CAE"));
    let checks = inv["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:?}");
    assert_eq!(checks.len(), 5);

    // Review: tie any line the matcher could not place (flagged, never guessed).
    let mut fixes = Vec::new();
    for (i, m) in inv["matches"].as_array().unwrap().iter().enumerate() {
        if m["product_id"].is_null() {
            fixes.push(json!({"line": i, "product_id": ids[i]}));
        } else {
            assert!(["supplier_code", "fuzzy", "barcode"].contains(&m["how"].as_str().unwrap()));
        }
    }
    let reviewed = patch(
        &s,
        &format!("/api/v1/supplier-invoices/{id}"),
        json!({"line_products": fixes, "issuer_name": truth.issuer_name}),
    )
    .await;
    assert_eq!(reviewed.ok(200)["corrections"].as_array().unwrap().len(), 1);

    let posted = s
        .post(
            &format!("/api/v1/supplier-invoices/{id}/confirm"),
            json!({"location": "DEP"}),
        )
        .await;
    let posted = posted.ok(200).clone();
    assert_eq!(posted["status"], "posted");
    assert_eq!(posted["supplier_id"], supplier);
    assert!(posted["receipt_id"].as_i64().is_some());
    // Stock and cost: each product received the invoiced quantity at its net unit cost.
    let first = &truth.lines[0];
    let qty: domain::Qty = truth
        .lines
        .iter()
        .enumerate()
        .filter(|(i, _)| ids[*i] == ids[0])
        .map(|(_, l)| l.quantity)
        .fold(domain::Qty::ZERO, |a, b| a + b);
    assert_eq!(s.on_hand(ids[0], "DEP").await, qty.to_string());
    if truth
        .lines
        .iter()
        .filter(|l| l.description == first.description)
        .count()
        == 1
    {
        let p = s.get(&format!("/api/v1/products/{}", ids[0])).await;
        let unit = (2 * first.subtotal.minor() * 1000 + first.quantity.milli())
            / (2 * first.quantity.milli());
        assert_eq!(money(&p.ok(200)["cost"]).minor(), unit);
    }

    // The same voucher again (scanned or typed) is a duplicate: 409, nothing posted.
    let again = upload(&s, sample.bytes.clone(), "otra-vez.png").await;
    let job = wait_job(&s, again.ok(202)["id"].as_i64().unwrap()).await;
    let id2 = job["invoice_id"].as_i64().unwrap();
    let all: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"line": i, "product_id": p}))
        .collect();
    patch(
        &s,
        &format!("/api/v1/supplier-invoices/{id2}"),
        json!({"line_products": all}),
    )
    .await
    .ok(200);
    let dup = s
        .post(
            &format!("/api/v1/supplier-invoices/{id2}/confirm"),
            json!({"location": "DEP"}),
        )
        .await;
    assert_eq!(
        dup.problem(409)["type"],
        "urn:almacen:problem:duplicate_invoice"
    );
    assert_eq!(s.on_hand(ids[0], "DEP").await, qty.to_string());

    // The purchase is in the IVA book of its month.
    let period = truth.issue_date.unwrap().format("%Y-%m").to_string();
    let book = s
        .get(&format!(
            "/api/v1/reports/libro-iva?period={period}&book=purchases"
        ))
        .await;
    let cbte = book.ok(200)["comprobantes"].as_str().unwrap().to_owned();
    let n = truth.number.unwrap();
    let expected_start = format!(
        "{}001{:05}{:020}",
        truth.issue_date.unwrap().format("%Y%m%d"),
        n.point_of_sale(),
        n.number()
    );
    assert_eq!(cbte.lines().count(), 1);
    assert!(cbte.starts_with(&expected_start), "{cbte}");
    assert_eq!(cbte.trim_end().len(), 325);
}

async fn manual_invoice_links_the_order_remembers_codes_and_fills_the_books(engine: Engine) {
    let s = server(engine).await;
    s.location("DEP", "warehouse").await;
    s.location("S01", "store").await;
    let sup = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Distribuidora Sur SA", "cuit": "30-50001091-2", "vat_condition": "responsable_inscripto"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let yerba = s
        .post("/api/v1/products", json!({"sku": "YM1000", "name": "Yerba Mate 1 kg", "category": "Almacén", "cost": "800.00", "price": "1500.00", "vat_rate": "21"}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let fideos = s
        .post("/api/v1/products", json!({"sku": "FID500", "name": "Fideos Tirabuzón 500 g", "category": "Almacén", "cost": "300.00", "price": "600.00", "vat_rate": "10.5"}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let po = s
        .post("/api/v1/purchase-orders", json!({"supplier_id": sup, "location": "DEP",
            "lines": [{"sku": "YM1000", "quantity": "10", "unit_cost": "1000.00"}, {"sku": "FID500", "quantity": "4", "unit_cost": "500.00"}]}))
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.post(&format!("/api/v1/purchase-orders/{po}/send"), json!({}))
        .await
        .ok(200);

    // Typed by hand: line 1 by our SKU as the supplier's code, line 2 by description, line 3
    // a code we have never seen.
    let body = json!({
        "voucher_code": 1, "point_of_sale": 3, "number": 1234, "issue_date": "2026-03-05",
        "issuer_cuit": "30-50001091-2", "issuer_name": "Distribuidora Sur SA",
        "issuer_vat_condition": "responsable_inscripto", "receiver_cuit": OURS,
        "cae": "76123456789012", "cae_due": "2026-03-15",
        "lines": [
            {"code": "YM1000", "description": "Yerba Mate 1 kg", "quantity": "10", "unit_price": "1.000,00", "subtotal": "10000.00", "vat_rate": "21"},
            {"description": "Fideos Tirabuzon 500 g", "quantity": "4", "unit_price": "500.00", "discount": "10", "subtotal": "1800.00", "vat_rate": "10.5"},
            {"code": "XQ-77", "description": "Bonificación especial", "quantity": "1", "unit_price": "200.00", "subtotal": "200.00", "vat_rate": "21"}
        ],
        "vat": [{"rate": "21", "net": "10200.00", "vat": "2142.00"}, {"rate": "10.5", "net": "1800.00", "vat": "189.00"}],
        "perception_iibb": "150.00",
        "total": "14482.00"
    });
    let r = s
        .post_key("/api/v1/supplier-invoices", body.clone(), "inv-1")
        .await;
    let inv = r.ok(201).clone();
    let id = inv["id"].as_i64().unwrap();
    assert_eq!(inv["origin"], "manual");
    assert_eq!(
        inv["matches"][0],
        json!({"product_id": yerba, "how": "supplier_code", "score": null})
    );
    assert_eq!(inv["matches"][1]["product_id"], fideos);
    assert_eq!(inv["matches"][1]["how"], "fuzzy");
    assert_eq!(inv["matches"][2]["product_id"], Value::Null);
    // The total is off by 1,00 (the parts add up to 14.481,00): the checks say so and
    // confirmation is refused.
    let totals = inv["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rule"] == "totals")
        .unwrap()
        .clone();
    assert_eq!(totals["ok"], false);
    assert!(
        totals["detail"].as_str().unwrap().contains("14.481,00"),
        "{totals}"
    );
    let r = s
        .post(
            &format!("/api/v1/supplier-invoices/{id}/confirm"),
            json!({"location": "DEP"}),
        )
        .await;
    assert_eq!(r.problem(422)["rule"], "totals");
    // A retry of the create returns the same draft.
    let again = s.post_key("/api/v1/supplier-invoices", body, "inv-1").await;
    assert_eq!(again.ok(201)["id"], id);

    let fixed = patch(
        &s,
        &format!("/api/v1/supplier-invoices/{id}"),
        json!({"total": "14481.00"}),
    )
    .await;
    assert_eq!(fixed.ok(200)["corrections"][0]["fields"], json!(["total"]));
    // Unmatched line 3 blocks posting until the reviewer ties it.
    let r = s
        .post(
            &format!("/api/v1/supplier-invoices/{id}/confirm"),
            json!({"location": "DEP"}),
        )
        .await;
    assert_eq!(r.problem(422)["field"], "lines[2].product_id");
    patch(
        &s,
        &format!("/api/v1/supplier-invoices/{id}"),
        json!({"line_products": [{"line": 2, "product_id": yerba}]}),
    )
    .await
    .ok(200);
    let posted = s
        .post_key(
            &format!("/api/v1/supplier-invoices/{id}/confirm"),
            json!({"location": "DEP", "lots": [{"line": 0, "lot": "L1", "expiry": "2027-01-31"}]}),
            "post-1",
        )
        .await;
    let posted = posted.ok(200).clone();
    assert_eq!(posted["purchase_order_id"], po);
    assert_eq!(s.on_hand(yerba, "DEP").await, "11");
    assert_eq!(s.on_hand(fideos, "DEP").await, "4");
    // Fideos: 1800 / 4 = 450 per unit (the discount is in the cost).
    let p = s.get(&format!("/api/v1/products/{fideos}")).await;
    assert_eq!(p.ok(200)["cost"], "450.00");
    let order = s.get(&format!("/api/v1/purchase-orders/{po}")).await;
    assert_eq!(order.ok(200)["status"], "received");
    // Retrying the confirmation replays it; posting again without the key is refused.
    let replay = s
        .post_key(
            &format!("/api/v1/supplier-invoices/{id}/confirm"),
            json!({"location": "DEP", "lots": [{"line": 0, "lot": "L1", "expiry": "2027-01-31"}]}),
            "post-1",
        )
        .await;
    assert_eq!(replay.ok(200)["status"], "posted");
    assert_eq!(s.on_hand(yerba, "DEP").await, "11");
    let r = s
        .post(
            &format!("/api/v1/supplier-invoices/{id}/confirm"),
            json!({"location": "DEP"}),
        )
        .await;
    assert_eq!(r.problem(409)["type"], "urn:almacen:problem:already_posted");

    // Next invoice from the supplier: the unknown code is now remembered.
    let next = s
        .post("/api/v1/supplier-invoices", json!({"voucher_code": 1, "point_of_sale": 3, "number": 1240, "issuer_cuit": "30-50001091-2",
            "lines": [{"code": "XQ-77", "description": "Otra cosa", "quantity": "2", "unit_price": "1", "subtotal": "2"}]}))
        .await;
    assert_eq!(
        next.ok(201)["matches"][0],
        json!({"product_id": yerba, "how": "remembered", "score": null})
    );

    // A ticket for the sales book.
    for sku in ["YM1000", "FID500"] {
        s.movement(json!({"kind": "receipt", "sku": sku, "location": "S01", "quantity": "5"}))
            .await
            .ok(201);
    }
    let shift = s
        .post(
            "/api/v1/shifts",
            json!({"location": "S01", "till": "1", "opening_float": "0"}),
        )
        .await;
    let shift = shift.ok(201)["id"].as_i64().unwrap();
    let sale = s
        .post("/api/v1/sales", json!({"shift": shift, "lines": [{"sku": "YM1000", "quantity": "2"}, {"sku": "FID500", "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "3600.00"}]}))
        .await;
    let sale = sale.ok(201).clone();
    let sale_id = sale["id"].as_i64().unwrap();

    // Purchases book of March 2026, byte for byte (hand-computed from the invoice above).
    let book = s
        .get("/api/v1/reports/libro-iva?period=2026-03&book=purchases&file=comprobantes")
        .await;
    let z = "000000000000000";
    let expected = [
        "20260305",
        "001",
        "00003",
        "00000000000000001234",
        "                ",
        "80",
        "00000000030500010912",
        "DISTRIBUIDORA SUR SA          ",
        "000000001448100",
        z,
        z,
        z,
        z,
        "000000000015000",
        z,
        z,
        "PES",
        "0001000000",
        "2",
        "0",
        "000000000233100",
        z,
        "00000000000",
        "                              ",
        z,
        "\r\n",
    ]
    .concat();
    assert_eq!(book.status, 200);
    assert_eq!(book.body.as_str().unwrap(), expected);
    let alic = s
        .get("/api/v1/reports/libro-iva?period=2026-03&book=purchases&file=alicuotas")
        .await;
    assert_eq!(
        alic.body.as_str().unwrap(),
        concat!(
            "001000030000000000000000123480000000000305000109120000000010200000005000000000214200\r\n",
            "001000030000000000000000123480000000000305000109120000000001800000004000000000018900\r\n",
        )
    );
    // Nothing in February.
    let feb = s
        .get("/api/v1/reports/libro-iva?period=2026-02&book=purchases")
        .await;
    assert_eq!(feb.ok(200)["comprobantes"], "");

    // Sales book of this month: the ticket as a "tique" (083) with its IVA per rate.
    let today = chrono::Utc::now() - chrono::Duration::hours(3);
    let period = today.format("%Y-%m").to_string();
    let sales = s
        .get(&format!(
            "/api/v1/reports/libro-iva?period={period}&book=sales"
        ))
        .await;
    let sales = sales.ok(200).clone();
    let line = sales["comprobantes"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(line.len(), 266);
    assert_eq!(&line[8..11], "083");
    assert_eq!(&line[11..16], "00004");
    assert_eq!(&line[16..36], format!("{sale_id:020}"));
    let total = money(&sale["total"]).minor();
    assert_eq!(&line[108..123], format!("{total:015}"));
    assert_eq!(sales["alicuotas"].as_str().unwrap().lines().count(), 2);
    let r = s
        .get("/api/v1/reports/libro-iva?period=2026-3x&book=sales")
        .await;
    assert_eq!(r.problem(422)["field"], "period");
}

async fn bad_uploads_are_refused_or_fail_their_job_only(engine: Engine) {
    let s = server(engine).await;
    let r = upload(&s, b"just some text".to_vec(), "nota.txt").await;
    assert_eq!(r.problem(422)["rule"], "unsupported_type");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7; 64]);
    let r = upload(&s, png, "rota.png").await;
    let job = wait_job(&s, r.ok(202)["id"].as_i64().unwrap()).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error"]["rule"], "corrupt_image");
    assert!(job["invoice_id"].is_null());
    // The server keeps serving.
    s.get("/api/v1/supplier-invoices/jobs/999999")
        .await
        .problem(404);
    let r = s
        .send(
            Some(&s.token),
            reqwest::Method::POST,
            "/api/v1/supplier-invoices/scan",
            Some(json!({"file": "x"})),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 422);
}
