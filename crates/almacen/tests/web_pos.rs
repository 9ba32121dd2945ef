//! Caja (POS) and product detail pages over HTTP, on SQLite and PostgreSQL: stock per location
//! and lot, who may open the till where, the running ticket priced without writing, escaping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{ADMIN_PASSWORD, Engine, TestServer};
use serde_json::{Value, json};

engine_tests!(
    product_page_shows_stock_per_location_and_lot,
    till_is_refused_without_sales_role_or_at_other_locations,
    till_opens_prices_the_ticket_and_closes_with_the_difference,
    product_names_are_escaped_on_the_product_page_and_the_till,
    till_prices_scale_labels_and_a_retried_ticket_sells_once,
    product_page_draws_the_forecast_over_its_sales_history,
);

const BARCODE: &str = "7791234567898";

/// Two stores, a product with a barcode, stock in two lots at LOC1 and one at LOC2.
async fn shop(engine: Engine) -> (TestServer, i64) {
    let s = TestServer::start(engine).await;
    s.location("LOC1", "store").await;
    s.location("LOC2", "store").await;
    let id = s
        .post(
            "/api/v1/products",
            json!({"sku": "YER1", "name": "Yerba Mate 1 kg", "category": "Almacén", "cost": "1000.00",
                   "price": "1234.56", "vat_rate": "21", "barcodes": [BARCODE]}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.post(
        "/api/v1/stock/movements/batch",
        json!({"movements": [
            {"kind": "receipt", "sku": "YER1", "location": "LOC1", "quantity": "7", "lot": "A1", "expiry": "2027-03-31"},
            {"kind": "receipt", "sku": "YER1", "location": "LOC1", "quantity": "5", "lot": "B2", "expiry": "2027-06-15"},
            {"kind": "receipt", "sku": "YER1", "location": "LOC2", "quantity": "3"}
        ]}),
    )
    .await
    .ok(201);
    (s, id)
}

/// The text of the element carrying `attr="value"` (the first one).
fn cell(html: &str, attr: &str, value: &str) -> String {
    let needle = format!("{attr}=\"{value}\"");
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {needle} in {html}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find('<').unwrap();
    rest[start..end].to_owned()
}

async fn admin(s: &TestServer) -> Browser {
    let mut b = Browser::new(&s.base);
    assert_eq!(b.login("admin", ADMIN_PASSWORD).await.status(), 303);
    b
}

async fn product_page_shows_stock_per_location_and_lot(engine: Engine) {
    let (s, id) = shop(engine).await;
    let mut b = admin(&s).await;
    let res = b.get(&format!("/productos/{id}")).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("Yerba Mate 1 kg"));
    assert!(html.contains("$ 1.234,56"), "{html}");
    assert_eq!(cell(&html, "data-stock-location", "LOC1"), "12");
    assert_eq!(cell(&html, "data-stock-location", "LOC2"), "3");
    assert_eq!(cell(&html, "id", "stock-total"), "15");
    assert_eq!(cell(&html, "data-stock-lot", "LOC1:A1"), "7");
    assert_eq!(cell(&html, "data-stock-lot", "LOC1:B2"), "5");
    assert_eq!(cell(&html, "data-stock-lot", "LOC2:"), "3");
    assert_eq!(cell(&html, "data-expiry", "LOC1:A1"), "31/03/2027");
    assert_eq!(cell(&html, "data-expiry", "LOC1:B2"), "15/06/2027");
    // Movements: three receipts, newest first or not, each with its quantity.
    assert_eq!(html.matches("<td>Recepción</td>").count(), 3, "{html}");
    // Price history holds the initial price.
    assert!(html.contains("id=\"prices\""), "{html}");

    // A sale at the till lowers LOC1 first-expiry-first (lot A1).
    let shift = s
        .post(
            "/api/v1/shifts",
            json!({"location": "LOC1", "till": "1", "opening_float": "0"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.post(
        "/api/v1/sales",
        json!({"shift": shift, "lines": [{"barcode": BARCODE, "quantity": "2"}],
               "payments": [{"method": "cash", "amount": "2469.12"}]}),
    )
    .await
    .ok(201);
    let html = b
        .get(&format!("/productos/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(cell(&html, "data-stock-location", "LOC1"), "10");
    assert_eq!(cell(&html, "data-stock-lot", "LOC1:A1"), "5");
    assert_eq!(cell(&html, "data-stock-lot", "LOC1:B2"), "5");
    assert!(html.contains("<td>Venta</td>"), "{html}");

    assert_eq!(b.get("/productos/999999").await.status(), 404);
}

async fn till_is_refused_without_sales_role_or_at_other_locations(engine: Engine) {
    let (s, _) = shop(engine).await;
    s.user("deposito", "warehouse", &[]).await;
    s.user("consulta", "viewer", &[]).await;
    s.user("caja1", "cashier", &["LOC1"]).await;
    for who in ["deposito", "consulta"] {
        let mut b = Browser::new(&s.base);
        b.login(who, "otra-clave-segura-1").await;
        let res = b.get("/caja").await;
        assert_eq!(res.status(), 403, "{who}");
        assert!(res.text().await.unwrap().contains("Sin permiso"));
        let html = b.get("/productos").await.text().await.unwrap();
        assert!(
            !html.contains("href=\"/caja\""),
            "{who} sees the till in the menu"
        );
    }

    let mut b = Browser::new(&s.base);
    b.login("caja1", "otra-clave-segura-1").await;
    // Their only location is chosen for them.
    let res = b.get("/caja").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("name=\"ubicacion\" value=\"LOC1\""), "{html}");
    // Another store is refused, by URL and by a forged form alike, and nothing opens.
    let res = b.get("/caja?ubicacion=LOC2").await;
    assert_eq!(res.status(), 403);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("No tiene permiso para operar en esa ubicación.")
    );
    let csrf = Browser::csrf_of(&html);
    let res = b
        .post_form(
            "/caja/abrir",
            &[
                ("csrf", &csrf),
                ("ubicacion", "LOC2"),
                ("caja", "1"),
                ("fondo", "100"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(
        s.app
            .current_shift(&app::Principal::system(), "LOC2", "1")
            .await
            .unwrap()
            .is_none()
    );
    // Without the form token the till does not open either.
    let res = b
        .post_form(
            "/caja/abrir",
            &[
                ("csrf", "x"),
                ("ubicacion", "LOC1"),
                ("caja", "1"),
                ("fondo", "100"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(
        s.app
            .current_shift(&app::Principal::system(), "LOC1", "1")
            .await
            .unwrap()
            .is_none()
    );
}

async fn quote(b: &Browser, csrf: &str, lines: Value) -> (u16, Value) {
    let res = b
        .client
        .post(format!("{}/caja/cotizar", b.base))
        .header("cookie", b.cookie_header())
        .header("x-csrf-token", csrf)
        .json(&json!({ "lines": lines }))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn till_opens_prices_the_ticket_and_closes_with_the_difference(engine: Engine) {
    let (s, id) = shop(engine).await;
    let mut b = admin(&s).await;
    // Admin may use every store: it chooses.
    let html = b.get("/caja").await.text().await.unwrap();
    assert!(html.contains("<option value=\"LOC1\">") && html.contains("<option value=\"LOC2\">"));
    let html = b
        .get("/caja?ubicacion=LOC1&caja=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"open-shift\""), "{html}");
    let csrf = Browser::csrf_of(&html);
    // A bad float is shown next to the field with the input kept.
    let res = b
        .post_form(
            "/caja/abrir",
            &[
                ("csrf", &csrf),
                ("ubicacion", "LOC1"),
                ("caja", "2"),
                ("fondo", "mucho"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(html.contains("class=\"field-error\""));
    assert!(html.contains("value=\"mucho\""));
    let res = b
        .post_form(
            "/caja/abrir",
            &[
                ("csrf", &csrf),
                ("ubicacion", "LOC1"),
                ("caja", "2"),
                ("fondo", "20.000,00"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/caja?ubicacion=LOC1&caja=2");
    let shift = s
        .app
        .current_shift(&app::Principal::system(), "LOC1", "2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shift.opening_float.to_string(), "20000.00");
    let html = b
        .get("/caja?ubicacion=LOC1&caja=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("data-shift=\"{}\"", shift.id)),
        "{html}"
    );
    assert!(html.contains("<kbd>F2</kbd>"));

    // The running ticket: priced like the sale, with the IVA breakdown, nothing written.
    let (status, q) = quote(&b, &csrf, json!([{"barcode": BARCODE, "quantity": "3"}])).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["total"], "3703.68");
    let html = q["html"].as_str().unwrap();
    assert!(html.contains("Yerba Mate 1 kg"));
    assert!(html.contains("$ 3.703,68"), "{html}");
    // 3703,68 / 1,21 = 3060,89 neto, 642,79 IVA.
    assert!(
        html.contains("$ 3.060,89") && html.contains("$ 642,79"),
        "{html}"
    );
    assert_eq!(s.on_hand(id, "LOC1").await, "12");
    // An unknown barcode names the line; a quote without the page token is refused.
    let (status, q) = quote(
        &b,
        &csrf,
        json!([{"barcode": BARCODE}, {"barcode": "7790000000010"}]),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["error"]["line"], 1);
    assert!(
        q["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no existe"),
        "{q}"
    );
    let (status, _) = quote(&b, "nope", json!([{"barcode": BARCODE}])).await;
    assert_eq!(status, 403);

    // Sell through the API with the session cookie, as pos.js does, then read the ticket.
    let res = b
        .client
        .post(format!("{}/api/v1/sales", s.base))
        .header("cookie", b.cookie_header())
        .header("Idempotency-Key", "caja-test-1")
        .json(
            &json!({"shift": shift.id, "lines": [{"barcode": BARCODE, "quantity": "2"}],
                      "payments": [{"method": "cash", "amount": "3000"}]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let sale: Value = res.json().await.unwrap();
    let html = b
        .get(&format!("/caja/ticket/{}", sale["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("$ 2.469,12") && html.contains("$ 530,88"),
        "{html}"
    );

    // Closing: expected cash is float + sale; counted 22.400 → short by 69,12.
    let html = b
        .get(&format!("/caja/turno/{}", shift.id))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(cell(&html, "data-expected", "Efectivo"), "$ 22.469,12");
    let res = b
        .post_form(
            &format!("/caja/turno/{}/cerrar", shift.id),
            &[("csrf", &csrf), ("efectivo", "abc")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"abc\" inputmode=\"decimal\" autocomplete=\"off\" required autofocus aria-invalid=\"true\""), "{html}");
    let res = b
        .post_form(
            &format!("/caja/turno/{}/cerrar", shift.id),
            &[("csrf", &csrf), ("efectivo", "22.400,00")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let html = b
        .get(&format!("/caja/turno/{}", shift.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Turno cerrado"));
    assert_eq!(cell(&html, "data-difference", "Efectivo"), "-$ 69,12");
}

async fn product_names_are_escaped_on_the_product_page_and_the_till(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("LOC1", "store").await;
    let name = "<script>alert(1)</script> & \"Yerba\"";
    let id = s
        .post(
            "/api/v1/products",
            json!({"sku": "XSS1", "name": name, "category": "<b>Cat</b>", "cost": "1", "price": "10", "vat_rate": "21"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.movement(json!({"kind": "receipt", "sku": "XSS1", "location": "LOC1", "quantity": "2", "lot": "<i>L</i>"}))
        .await
        .ok(201);
    let escaped = |html: &str| {
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(!html.contains("<b>Cat") && !html.contains("<i>L"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;Yerba&#34;")
                || html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Yerba&quot;"),
            "{html}"
        );
    };
    let mut b = admin(&s).await;
    let html = b
        .get(&format!("/productos/{id}"))
        .await
        .text()
        .await
        .unwrap();
    escaped(&html);
    let html = b.get("/caja?ubicacion=LOC1").await.text().await.unwrap();
    let csrf = Browser::csrf_of(&html);
    let (status, q) = quote(&b, &csrf, json!([{"sku": "XSS1"}])).await;
    assert_eq!(status, 200, "{q}");
    escaped(q["html"].as_str().unwrap());
}

async fn till_prices_scale_labels_and_a_retried_ticket_sells_once(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("LOC1", "store").await;
    let id = s
        .post(
            "/api/v1/products",
            json!({"sku": "JAMON", "name": "Jamón cocido (por kg)", "category": "Fiambrería", "unit": "kg",
                   "plu": 1234, "cost": "6000.00", "price": "8990.00", "vat_rate": "21"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.movement(json!({"kind": "receipt", "sku": "JAMON", "location": "LOC1", "quantity": "5"}))
        .await
        .ok(201);
    let mut b = admin(&s).await;
    let html = b.get("/caja?ubicacion=LOC1").await.text().await.unwrap();
    let csrf = Browser::csrf_of(&html);
    b.post_form(
        "/caja/abrir",
        &[
            ("csrf", &csrf),
            ("ubicacion", "LOC1"),
            ("caja", "1"),
            ("fondo", "0"),
        ],
    )
    .await;
    let shift = s
        .app
        .current_shift(&app::Principal::system(), "LOC1", "1")
        .await
        .unwrap()
        .unwrap();

    // 20 + PLU 01234 + 01250 g: the label's weight is the quantity; each label is its own line.
    let label = domain::Gtin::from_body("200123401250").unwrap().to_string();
    let lines = json!([{"barcode": label}, {"barcode": label}]);
    let (status, q) = quote(&b, &csrf, lines.clone()).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["lines"], json!([{"scale": true}, {"scale": true}]));
    assert_eq!(q["total"], "22475.00");
    let html = q["html"].as_str().unwrap();
    assert_eq!(html.matches("1,250 kg").count(), 2, "{html}");
    assert!(html.contains("$ 11.237,50"), "{html}");

    // pos.js retries with the same Idempotency-Key after a network error: one sale only.
    let body = json!({"shift": shift.id, "lines": lines, "payments": [{"method": "cash", "amount": "22475.00"}]});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = b
            .client
            .post(format!("{}/api/v1/sales", s.base))
            .header("cookie", b.cookie_header())
            .header("Idempotency-Key", "caja-1-retry")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        ids.push(res.json::<Value>().await.unwrap()["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(s.on_hand(id, "LOC1").await, "2.5");
    let html = b
        .get(&format!("/productos/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(cell(&html, "data-stock-location", "LOC1"), "2,500 kg");
}

async fn product_page_draws_the_forecast_over_its_sales_history(engine: Engine) {
    use chrono::{Duration, Utc};
    // 60 days of 10 units a day, sold at the till, then a forecast run.
    let today_noon = Utc::now()
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc();
    let clock = app::Clock::fixed(today_noon - Duration::days(60));
    let s = TestServer::start_with(engine, clock.clone(), common::test_settings()).await;
    s.location("LOC1", "store").await;
    let id = s
        .post(
            "/api/v1/products",
            json!({"sku": "AGUA", "name": "Agua 2 l", "category": "Bebidas", "cost": "100.00", "price": "150.00", "vat_rate": "21"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.movement(json!({"kind": "receipt", "sku": "AGUA", "location": "LOC1", "quantity": "620"}))
        .await
        .ok(201);
    let sys = app::Principal::system();
    let shift = s
        .app
        .open_shift(
            &sys,
            app::sales::ShiftInput {
                location: "LOC1".into(),
                till: "1".into(),
                opening_float: "0".into(),
            },
            s.app.meta(&sys, None),
        )
        .await
        .unwrap()
        .value
        .id;
    for _ in 0..60 {
        let input: app::sales::SaleInput = serde_json::from_value(json!({
            "shift": shift, "lines": [{"sku": "AGUA", "quantity": "10"}],
            "payments": [{"method": "cash", "amount": "1500.00"}],
        }))
        .unwrap();
        s.app
            .sell(&sys, input, s.app.meta(&sys, None))
            .await
            .unwrap();
        clock.advance(Duration::days(1));
    }
    let mut b = admin(&s).await;
    let html = b
        .get(&format!("/productos/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<svg"), "no chart before any forecast run");
    s.app.run_forecast(&sys).await.unwrap();
    let html = b
        .get(&format!("/productos/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-forecast-location=\"LOC1\""), "{html}");
    // History: 56 days at 10 units, all on one level; the forecast continues it.
    let points = |class: &str| -> Vec<(i64, i64)> {
        let at = html.find(&format!("class=\"{class}\" points=\"")).unwrap();
        let rest = &html[at + class.len() + 17..];
        rest[..rest.find('"').unwrap()]
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    };
    let history = points("history");
    let forecast = points("forecast-line");
    assert_eq!(history.len(), 56, "{html}");
    assert!(
        history.iter().all(|(_, y)| *y == history[0].1),
        "{history:?}"
    );
    assert_eq!(forecast.len(), 28);
    assert!(
        forecast.iter().all(|(_, y)| *y == history[0].1),
        "{forecast:?}"
    );
    assert!(forecast[0].0 > history[55].0);
    assert_eq!(cell(&html, "data-stock-location", "LOC1"), "20");
}
