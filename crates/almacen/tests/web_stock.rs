//! The Stock pages on both engines: levels, critical stock and the movement log show the right
//! rows, a user limited to a location sees and acts only there, the transfer and count forms
//! write the ledger and show Spanish errors next to the field with the input kept, CSV exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{ADMIN_PASSWORD, Engine, TestServer};
use serde_json::json;

engine_tests!(
    levels_and_critical_stock_show_the_right_rows,
    a_user_limited_to_a_location_sees_and_acts_only_there,
    transfer_form_moves_stock_and_explains_errors,
    count_form_sets_the_counted_quantity_by_barcode,
    movement_log_filters_by_kind_and_argentine_dates,
    critical_stock_is_paged_by_deficit,
);

async fn shop(engine: Engine) -> TestServer {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    s.location("S01", "store").await;
    s.location("S02", "store").await;
    s.post(
        "/api/v1/products",
        json!({"sku": "ARZ", "name": "Arroz <largo>", "category": "Almacén", "barcodes": ["7790001000019"],
               "cost": "800.00", "price": "1200.00", "vat_rate": "21",
               "stock_limits": [{"location": "S01", "min": "10", "max": "40"}, {"location": "S02", "min": "4", "max": "20"}]}),
    )
    .await
    .ok(201);
    for (loc, q) in [("DEP", "10"), ("S01", "5"), ("S02", "7")] {
        s.movement(json!({"kind": "receipt", "sku": "ARZ", "location": loc, "quantity": q}))
            .await
            .ok(201);
    }
    s
}

/// The cells of each body row of the table with this id.
fn rows(html: &str, id: &str) -> Vec<Vec<String>> {
    let Some(at) = html.find(&format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let table = &html[at..html[at..].find("</table>").unwrap() + at];
    let body = table.split("<tbody>").nth(1).unwrap();
    body.split("<tr>")
        .skip(1)
        .map(|tr| {
            tr.split("<td")
                .skip(1)
                .map(|td| {
                    let inner = &td[td.find('>').unwrap() + 1..];
                    let text: String = strip_tags(inner.split("</td>").next().unwrap());
                    text.trim().to_owned()
                })
                .collect()
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

async fn admin(s: &TestServer) -> Browser {
    let mut b = Browser::new(&s.base);
    b.login("admin", ADMIN_PASSWORD).await;
    b
}

async fn levels_and_critical_stock_show_the_right_rows(engine: Engine) {
    let s = shop(engine).await;
    let mut b = admin(&s).await;
    let html = b.get("/stock").await.text().await.unwrap();
    let mut got: Vec<(String, String)> = rows(&html, "niveles")
        .into_iter()
        .map(|r| (r[2].clone(), r[5].clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("DEP".into(), "10".into()),
            ("S01".into(), "5".into()),
            ("S02".into(), "7".into())
        ]
    );
    assert!(html.contains("Arroz &#60;largo&#62;"), "names are escaped");

    let html = b
        .get("/stock?location=S02&q=7790001000019")
        .await
        .text()
        .await
        .unwrap();
    let r = rows(&html, "niveles");
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0][0].as_str(), r[0][2].as_str(), r[0][5].as_str()),
        ("ARZ", "S02", "7")
    );

    // S01 holds 5 against 10 × the seasonal factor; S02's 7 is above 4 × factor.
    let html = b.get("/stock/criticos").await.text().await.unwrap();
    let r = rows(&html, "criticos");
    assert_eq!(r.len(), 1, "{html}");
    assert_eq!(
        (r[0][0].as_str(), r[0][2].as_str(), r[0][5].as_str()),
        ("ARZ", "S01", "5")
    );
    let factor = s.app.settings.seasonal.factor_for(s.app.clock.today());
    let threshold = 10 * factor;
    let deficit = domain::Qty::from_milli(threshold - 5000).format_ar();
    assert_eq!(r[0][6], deficit);

    let res = b.get("/stock.csv?location=DEP").await;
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert_eq!(
        csv,
        "\u{feff}SKU;Nombre;Ubicación;Lote;Vence;En stock\r\nARZ;Arroz <largo>;DEP;;;10\r\n"
    );
    let csv = b.get("/stock/criticos.csv").await.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}SKU;Nombre;Ubicación;Mínimo;Umbral;En stock;Déficit\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "ARZ;Arroz <largo>;S01;10;{};5;{deficit}\r\n",
            domain::Qty::from_milli(threshold).format_ar()
        )),
        "{csv}"
    );
}

/// More critical rows than a page holds: largest deficit first (SKU breaks ties), the total
/// counted over every page, and the next page continuing where the first stopped.
async fn critical_stock_is_paged_by_deficit(engine: Engine) {
    let s = shop(engine).await;
    let mut movements = Vec::new();
    for i in 0..52 {
        let sku = format!("CR{i:02}");
        s.post(
            "/api/v1/products",
            json!({"sku": sku, "name": format!("Crítico {i}"), "category": "Almacén",
                   "cost": "100.00", "price": "150.00", "vat_rate": "21",
                   "stock_limits": [{"location": "S02", "min": "100", "max": "200"}]}),
        )
        .await
        .ok(201);
        // On hand 0…12 repeating: deficits from the threshold down by whole units.
        let qty = i % 13;
        if qty > 0 {
            movements.push(json!({"kind": "receipt", "sku": sku, "location": "S02", "quantity": qty.to_string()}));
        }
    }
    s.post(
        "/api/v1/stock/movements/batch",
        json!({ "movements": movements }),
    )
    .await
    .ok(201);
    let mut b = admin(&s).await;
    let html = b.get("/stock/criticos").await.text().await.unwrap();
    // ARZ at S01 is the 53rd row.
    assert!(
        html.contains("id=\"criticos-total\">53 productos en stock crítico"),
        "{html}"
    );
    let first = rows(&html, "criticos");
    assert_eq!(first.len(), 50);
    let mut expected: Vec<(u32, String)> =
        (0..52u32).map(|i| (i % 13, format!("CR{i:02}"))).collect();
    // Same threshold for all: least on hand first, then SKU.
    expected.sort();
    let got: Vec<String> = first.iter().map(|r| r[0].clone()).collect();
    let want: Vec<String> = expected.iter().take(50).map(|(_, s)| s.clone()).collect();
    assert_eq!(got, want);
    assert!(html.contains("href=\"/stock/criticos?pagina=2\""), "{html}");
    let html = b
        .get("/stock/criticos?pagina=2")
        .await
        .text()
        .await
        .unwrap();
    let second: Vec<String> = rows(&html, "criticos")
        .iter()
        .map(|r| r[0].clone())
        .collect();
    // The last two CR rows (12 on hand, deficit threshold − 12) and ARZ (5 of 10 × factor).
    assert_eq!(second.len(), 3, "{html}");
    assert!(second.contains(&"ARZ".to_owned()));
    assert!(!html.contains("rel=\"next\""));
    let html = b
        .get("/stock/criticos?pagina=9")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("53 productos en stock crítico"), "{html}");
    assert!(rows(&html, "criticos").is_empty());
}

async fn a_user_limited_to_a_location_sees_and_acts_only_there(engine: Engine) {
    let s = shop(engine).await;
    s.user("deposito1", "warehouse", &["S01"]).await;
    let mut b = Browser::new(&s.base);
    b.login("deposito1", "otra-clave-segura-1").await;
    let html = b.get("/stock").await.text().await.unwrap();
    let r = rows(&html, "niveles");
    assert_eq!(r.len(), 1, "{html}");
    assert_eq!(r[0][2], "S01");
    assert!(!html.contains("Todas las ubicaciones"));
    assert_eq!(b.get("/stock?location=S02").await.status(), 403);
    assert_eq!(b.get("/stock.csv?location=DEP").await.status(), 403);
    let csv = b.get("/stock.csv").await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let html = b.get("/stock/criticos").await.text().await.unwrap();
    assert!(rows(&html, "criticos").iter().all(|r| r[2] == "S01"));
    let html = b.get("/stock/movimientos").await.text().await.unwrap();
    let r = rows(&html, "movimientos");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0][2], "S01");

    // Moving stock out of a location they do not hold is refused, next to the field.
    let page = b.get("/stock/transferencias").await.text().await.unwrap();
    let csrf = Browser::csrf_of(&page);
    let res = b
        .post_form(
            "/stock/transferencias",
            &[
                ("csrf", &csrf),
                ("origen", "DEP"),
                ("destino", "S01"),
                ("lineas", "ARZ 2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("no tiene permiso para operar en la ubicación DEP"),
        "{html}"
    );
    let products = s.get("/api/v1/products?q=ARZ").await;
    let id = products.ok(200)["items"][0]["id"].as_i64().unwrap();
    assert_eq!(s.on_hand(id, "DEP").await, "10");
}

async fn transfer_form_moves_stock_and_explains_errors(engine: Engine) {
    let s = shop(engine).await;
    let mut b = admin(&s).await;
    let page = b.get("/stock/transferencias").await.text().await.unwrap();
    assert!(page.contains("data-scan-into=\"lineas\""));
    let csrf = Browser::csrf_of(&page);

    // The same location twice: Spanish error on «destino», input kept.
    let res = b
        .post_form(
            "/stock/transferencias",
            &[
                ("csrf", &csrf),
                ("origen", "DEP"),
                ("destino", "DEP"),
                ("lineas", "ARZ 3"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<select id=\"destino\" name=\"destino\" aria-invalid=\"true\""),
        "{html}"
    );
    assert!(html.contains("<p class=\"field-error\" id=\"destino-error\">el origen y el destino deben ser distintos</p>"), "{html}");
    assert!(html.contains(">ARZ 3</textarea>"), "lines kept: {html}");

    // An unknown product and a bad quantity point at their line.
    let res = b
        .post_form(
            "/stock/transferencias",
            &[
                ("csrf", &csrf),
                ("origen", "DEP"),
                ("destino", "S01"),
                ("lineas", "ARZ 1\nNOEXISTE 2"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"lineas-error\">línea 2:"), "{html}");
    let res = b
        .post_form(
            "/stock/transferencias",
            &[
                ("csrf", &csrf),
                ("origen", "DEP"),
                ("destino", "S01"),
                ("lineas", "ARZ muchos"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"lineas-error\">línea 1:")
    );
    // Too much: the ledger refuses it and says so.
    let res = b
        .post_form(
            "/stock/transferencias",
            &[
                ("csrf", &csrf),
                ("origen", "DEP"),
                ("destino", "S01"),
                ("lineas", "ARZ 50"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    // No token, no transfer.
    let res = b
        .post_form(
            "/stock/transferencias",
            &[("origen", "DEP"), ("destino", "S01"), ("lineas", "ARZ 3")],
        )
        .await;
    assert_eq!(res.status(), 403);

    // By SKU and by barcode (scanned twice = 2 more).
    let res = b
        .post_form(
            "/stock/transferencias",
            &[
                ("csrf", &csrf),
                ("origen", "DEP"),
                ("destino", "S01"),
                ("lineas", "ARZ 3\n7790001000019 2\n"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/stock/transferencias?ok=4");
    let html = b
        .get("/stock/transferencias?ok=4")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Transferencia registrada: 4 movimientos"),
        "{html}"
    );
    let id = s.get("/api/v1/products?q=ARZ").await.ok(200)["items"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(s.on_hand(id, "DEP").await, "5");
    assert_eq!(s.on_hand(id, "S01").await, "10");
    assert!(s.ledger_ok().await);
}

async fn count_form_sets_the_counted_quantity_by_barcode(engine: Engine) {
    let s = shop(engine).await;
    s.user("contador", "warehouse", &["S02"]).await;
    let mut b = Browser::new(&s.base);
    b.login("contador", "otra-clave-segura-1").await;
    let page = b.get("/stock/conteos").await.text().await.unwrap();
    let csrf = Browser::csrf_of(&page);
    let res = b
        .post_form(
            "/stock/conteos",
            &[
                ("csrf", &csrf),
                ("location", ""),
                ("lineas", "7790001000019 4"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"location-error\">elija la ubicación contada</p>"),
        "{html}"
    );
    assert!(html.contains(">7790001000019 4</textarea>"));
    let res = b
        .post_form(
            "/stock/conteos",
            &[
                ("csrf", &csrf),
                ("location", "S02"),
                ("lineas", "7790001000019 -4"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"lineas-error\">línea 1:")
    );
    let res = b
        .post_form(
            "/stock/conteos",
            &[
                ("csrf", &csrf),
                ("location", "S02"),
                ("lineas", "7790001000019 4"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let id = s.get("/api/v1/products?q=ARZ").await.ok(200)["items"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(s.on_hand(id, "S02").await, "4");
    // Elsewhere: refused.
    let res = b
        .post_form(
            "/stock/conteos",
            &[("csrf", &csrf), ("location", "S01"), ("lineas", "ARZ 1")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert_eq!(s.on_hand(id, "S01").await, "5");
}

async fn movement_log_filters_by_kind_and_argentine_dates(engine: Engine) {
    let s = shop(engine).await;
    s.movement(json!({"kind": "issue", "sku": "ARZ", "location": "DEP", "quantity": "1", "reason": "roto"}))
        .await
        .ok(201);
    let mut b = admin(&s).await;
    let html = b.get("/stock/movimientos").await.text().await.unwrap();
    assert_eq!(rows(&html, "movimientos").len(), 4);
    let html = b
        .get("/stock/movimientos?kind=issue")
        .await
        .text()
        .await
        .unwrap();
    let r = rows(&html, "movimientos");
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0][2].as_str(), r[0][3].as_str(), r[0][4].as_str()),
        ("DEP", "Egreso", "-1")
    );
    let today = s.app.clock.today();
    let d = today.format("%d/%m/%Y").to_string();
    let html = b
        .get(&format!(
            "/stock/movimientos?desde={d}&hasta={d}&location=S01"
        ))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(rows(&html, "movimientos").len(), 1);
    let tomorrow = (today + chrono::Duration::days(1))
        .format("%d/%m/%Y")
        .to_string();
    let html = b
        .get(&format!("/stock/movimientos?desde={tomorrow}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(rows(&html, "movimientos").is_empty());

    let res = b.get("/stock/movimientos?desde=31/02/2026&hasta=hoy").await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"desde-error\">«31/02/2026» no es una fecha válida; use DD/MM/AAAA"),
        "{html}"
    );
    assert!(html.contains("value=\"31/02/2026\""), "input kept");
    assert!(html.contains("id=\"hasta\" name=\"hasta\" value=\"hoy\" placeholder=\"DD/MM/AAAA\" inputmode=\"numeric\" size=\"10\" aria-invalid=\"true\""), "{html}");

    let csv = b
        .get("/stock/movimientos.csv?kind=issue")
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "\u{feff}ID;Fecha;SKU;Ubicación;Tipo;Cantidad;Después;Lote;Documento;Usuario"
    );
    assert!(lines[1].ends_with(";ARZ;DEP;Egreso;-1;9;;;admin"), "{csv}");
    assert_eq!(lines.len(), 3);
}
