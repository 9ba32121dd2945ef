//! The back-office pages (Compras with the supplier-invoice review, Precios, Reposición,
//! Administración) driven like a browser, on SQLite and PostgreSQL: roles, each form's happy
//! path checked through the API, field errors in Spanish with the input kept, and CSV exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::browser::Browser;
use common::{ADMIN_PASSWORD, Engine, TestServer};
use domain::Cuit;
use domain::invoice::Letter;
use ocr::synth::{self, Degradation, Fonts, Spec};
use serde_json::json;

engine_tests!(
    back_office_pages_follow_the_role,
    purchase_order_is_created_sent_and_received_from_the_forms,
    price_update_applies_the_previewed_prices,
    admin_creates_users_and_revokes_api_keys,
    replenishment_runs_the_forecast_and_exports,
    scanned_invoice_is_reviewed_and_posted_from_the_review_screen,
    pdf_invoice_is_reviewed_on_its_page_image,
);

const PASSWORD: &str = "otra-clave-segura-1";

async fn admin(s: &TestServer) -> Browser {
    let mut b = Browser::new(&s.base);
    assert_eq!(b.login("admin", ADMIN_PASSWORD).await.status(), 303);
    b
}

/// A page that must load; every page stays under the 200 KB budget.
async fn page(b: &mut Browser, path: &str) -> String {
    let res = b.get(path).await;
    assert_eq!(res.status(), 200, "GET {path}");
    let html = res.text().await.unwrap();
    assert!(
        html.len() < 200 * 1024,
        "{path} weighs {} bytes",
        html.len()
    );
    // The strict CSP holds: no inline script, style or handler.
    assert!(!html.contains("<script>") && !html.contains(" style=") && !html.contains(" onclick="));
    html
}

/// The value of the input `name` in a page.
fn value_of(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no input {name}"))
        + format!("name=\"{name}\" value=\"").len();
    html[at..].split('"').next().unwrap().to_owned()
}

async fn back_office_pages_follow_the_role(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("LOC1", "store").await;
    s.user("caja1", "cashier", &["LOC1"]).await;
    s.user("mirada", "viewer", &[]).await;

    let mut cashier = Browser::new(&s.base);
    cashier.login("caja1", PASSWORD).await;
    for path in [
        "/compras",
        "/compras/facturas",
        "/precios",
        "/admin",
        "/admin/auditoria",
    ] {
        let res = cashier.get(path).await;
        assert_eq!(res.status(), 403, "{path}");
        assert!(res.text().await.unwrap().contains("Sin permiso"));
    }

    let mut viewer = Browser::new(&s.base);
    viewer.login("mirada", PASSWORD).await;
    let html = page(&mut viewer, "/reposicion").await;
    assert!(html.contains("<h1>Reposición</h1>"), "{html}");
    assert!(html.contains("Todavía no se ejecutó ningún pronóstico."));
    // The viewer reads but cannot run the forecast nor order.
    assert!(!html.contains("/reposicion/pronostico"));
    let csrf = Browser::csrf_of(&html);
    let res = viewer
        .post_form("/reposicion/pronostico", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(viewer.get("/compras").await.status(), 403);
    let res = viewer
        .post_form("/compras/ordenes", &[("csrf", &csrf), ("supplier_id", "1")])
        .await;
    assert_eq!(res.status(), 403);

    // The admin's menu has every section, and every page renders in either language.
    let mut b = admin(&s).await;
    let html = page(&mut b, "/compras").await;
    for href in ["/compras", "/precios", "/reposicion", "/admin"] {
        assert!(html.contains(&format!("href=\"{href}\"")), "{href}");
    }
    assert!(html.contains("Órdenes de compra"));
    b.get("/idioma?to=en&next=/compras").await;
    let html = page(&mut b, "/compras").await;
    assert!(html.contains("Purchase orders"), "{html}");
    for path in [
        "/compras/ordenes/nueva",
        "/compras/facturas",
        "/precios",
        "/reposicion",
        "/admin",
        "/admin/auditoria",
    ] {
        let html = page(&mut b, path).await;
        assert!(html.contains("<html lang=\"en\">"), "{path}");
    }
}

async fn purchase_order_is_created_sent_and_received_from_the_forms(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("DEP", "warehouse").await;
    let supplier = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Distribuidora <Sur>", "cuit": "30-71234567-1", "vat_condition": "responsable_inscripto"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let yerba = s.product("YER1").await;
    let fideos = s
        .post(
            "/api/v1/products",
            json!({"sku": "FID1", "name": "Fideos", "category": "Almacén", "cost": "100.00",
                   "price": "150.00", "vat_rate": "21", "barcodes": ["7790001000019"]}),
        )
        .await;
    let fideos = fideos.ok(201)["id"].as_i64().unwrap();
    let mut b = admin(&s).await;
    let html = page(&mut b, "/compras/ordenes/nueva").await;
    assert!(
        html.contains("Distribuidora &#60;Sur&#62;") || html.contains("Distribuidora &lt;Sur&gt;")
    );
    let csrf = Browser::csrf_of(&html);
    let sup = supplier.to_string();

    // A bad quantity comes back next to its field, in Spanish, with everything typed kept.
    let res = b
        .post_form(
            "/compras/ordenes",
            &[
                ("csrf", &csrf),
                ("supplier_id", &sup),
                ("location", "DEP"),
                ("code_0", "YER1"),
                ("quantity_0", "24"),
                ("unit_cost_0", "1.850,00"),
                ("code_1", "7790001000019"),
                ("quantity_1", "muchos"),
                ("unit_cost_1", "900"),
                ("notes", "Entrega el lunes"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(
            "name=\"quantity_1\" value=\"muchos\" aria-label=\"Cantidad\" aria-invalid=\"true\""
        ),
        "{html}"
    );
    assert!(html.contains("<p class=\"field-error\">"), "{html}");
    assert_eq!(value_of(&html, "code_0"), "YER1");
    assert_eq!(value_of(&html, "notes"), "Entrega el lunes");
    let orders = s.get("/api/v1/purchase-orders").await;
    assert!(orders.ok(200)["items"].as_array().unwrap().is_empty());

    let res = b
        .post_form(
            "/compras/ordenes",
            &[
                ("csrf", &csrf),
                ("supplier_id", &sup),
                ("location", "DEP"),
                ("code_0", "YER1"),
                ("quantity_0", "24"),
                ("unit_cost_0", "1.850,00"),
                ("code_1", "7790001000019"),
                ("quantity_1", "10"),
                ("unit_cost_1", "900.50"),
                ("code_2", ""),
                ("quantity_2", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let id: i64 = to
        .trim_start_matches("/compras/ordenes/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let po = s.get(&format!("/api/v1/purchase-orders/{id}")).await;
    let po = po.ok(200).clone();
    assert_eq!(po["supplier_id"], supplier);
    assert_eq!(po["status"], "draft");
    let lines = po["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["product_id"], yerba);
    assert_eq!(lines[0]["quantity"], "24");
    assert_eq!(lines[0]["unit_cost"], "1850.00");
    assert_eq!(lines[1]["product_id"], fideos);
    assert_eq!(lines[1]["unit_cost"], "900.50");

    let html = page(&mut b, &to).await;
    assert!(html.contains("Orden creada."));
    assert!(html.contains("$ 53.405,00"), "{html}");
    let res = b
        .post_form(&format!("/compras/ordenes/{id}/enviar"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 303);
    let html = page(&mut b, &format!("/compras/ordenes/{id}")).await;
    assert!(html.contains("id=\"po-status\">Enviada"), "{html}");
    // The receiving form proposes what is still pending.
    assert_eq!(value_of(&html, "quantity_0"), "24");

    // A partial delivery with a lot and an expiry date.
    let res = b
        .post_form(
            &format!("/compras/ordenes/{id}/recibir"),
            &[
                ("csrf", &csrf),
                ("quantity_0", "20"),
                ("lot_0", "L-77"),
                ("expiry_0", "2027-03-31"),
                ("quantity_1", "10"),
                ("remito", "0001-00012345"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(s.on_hand(yerba, "DEP").await, "20");
    assert_eq!(s.on_hand(fideos, "DEP").await, "10");
    let po = s.get(&format!("/api/v1/purchase-orders/{id}")).await;
    assert_eq!(po.ok(200)["status"], "partially_received");
    let lots = s
        .get(&format!("/api/v1/stock?product_id={yerba}&location=DEP"))
        .await;
    assert_eq!(lots.ok(200)["items"][0]["lot"], "L-77");

    // A bad expiry is shown next to its field.
    let res = b
        .post_form(
            &format!("/compras/ordenes/{id}/recibir"),
            &[
                ("csrf", &csrf),
                ("quantity_0", "4"),
                ("expiry_0", "31/02/2027"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"31/02/2027\""), "{html}");
    assert!(html.contains("field-error"));

    // The list filters by status and exports the same rows.
    let html = page(&mut b, "/compras?estado=partially_received").await;
    assert!(html.contains(&format!("href=\"/compras/ordenes/{id}\"")));
    let html = page(&mut b, "/compras?estado=cancelled").await;
    assert!(html.contains("No hay órdenes."));
    let res = b.get("/compras.csv?estado=partially_received").await;
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}Orden de compra;Proveedor;Destino;Estado;Líneas;Total;Creada\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "{id};Distribuidora <Sur>;DEP;Recibida en parte;2;53.405,00;"
        )),
        "{csv}"
    );
}

async fn price_update_applies_the_previewed_prices(engine: Engine) {
    let s = TestServer::start(engine).await;
    let a = s.product("PA1").await;
    let b_id = s.product("PB1").await;
    let mut b = admin(&s).await;
    let html = page(&mut b, "/precios").await;
    let csrf = Browser::csrf_of(&html);

    // A percentage that is not a number is refused next to its field, input kept.
    let res = b
        .post_form(
            "/precios/actualizacion",
            &[
                ("csrf", &csrf),
                ("kind", "raise"),
                ("percent", "diez"),
                ("target", "price"),
                ("reason", "Lista de marzo"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"diez\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert_eq!(value_of(&html, "reason"), "Lista de marzo");

    let res = b
        .post_form(
            "/precios/actualizacion",
            &[
                ("csrf", &csrf),
                ("kind", "raise"),
                ("percent", "10"),
                ("target", "price"),
                ("reason", "Lista de marzo"),
                ("page", "0"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"preview-changes\">2<"), "{html}");
    // Old and new shelf price of each product: 150,00 → 165,00.
    assert!(
        html.contains("<td class=\"num\">$ 150,00</td><td class=\"num\">$ 165,00</td>"),
        "{html}"
    );
    let token = value_of(&html, "token");
    let update = value_of(&html, "update_id");
    // Nothing moves before applying.
    let p = s.get(&format!("/api/v1/products/{a}")).await;
    assert_eq!(p.ok(200)["price"], "150.00");

    let res = b
        .post_form(
            "/precios/actualizacion/aplicar",
            &[("csrf", &csrf), ("update_id", &update), ("token", &token)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Precios actualizados: 2.")
    );
    for id in [a, b_id] {
        let p = s.get(&format!("/api/v1/products/{id}")).await;
        assert_eq!(p.ok(200)["price"], "165.00");
    }
    // A forged token is refused with the reason.
    let res = b
        .post_form(
            "/precios/actualizacion/aplicar",
            &[("csrf", &csrf), ("update_id", &update), ("token", "0000")],
        )
        .await;
    assert!(
        res.status() == 409 || res.status() == 422,
        "{}",
        res.status()
    );

    // Rules and inflation rates are saved from their forms.
    let res = b
        .post_form(
            "/precios/inflacion",
            &[("csrf", &csrf), ("month", "2026-01"), ("rate", "2,2")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let rates = s.get("/api/v1/inflation-rates").await;
    assert_eq!(rates.ok(200)[0]["rate"], "2.2");
    let res = b
        .post_form(
            "/precios/inflacion",
            &[("csrf", &csrf), ("month", "enero"), ("rate", "2")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("value=\"enero\""));

    // A supplier's price list: reported first, applied when asked.
    let supplier = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Molinos", "cuit": "30-71234567-1", "vat_condition": "responsable_inscripto"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let fideos = s
        .post(
            "/api/v1/products",
            json!({"sku": "FID9", "name": "Fideos tirabuzón", "category": "Almacén", "cost": "100.00",
                   "price": "150.00", "vat_rate": "21", "barcodes": ["7790001000019"]}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let list = "Código;EAN;Descripción;Costo\r\nM-1;7790001000019;Fideos tirabuzón 500 g;120,50\r\nM-2;;Algo que no tenemos;99,00\r\n";
    let import = |b: &Browser, apply: bool| {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("list_supplier_id", supplier.to_string())
            .text("code_column", "Código")
            .text("barcode_column", "EAN")
            .text("description_column", "Descripción")
            .text("cost_column", "Costo")
            .part(
                "file",
                reqwest::multipart::Part::bytes(list.as_bytes().to_vec()).file_name("lista.csv"),
            );
        if apply {
            form = form.text("apply", "1");
        }
        b.client
            .post(format!("{}/precios/lista-proveedor", b.base))
            .header("cookie", b.cookie_header())
            .multipart(form)
            .send()
    };
    let res = import(&b, false).await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"list-report\""), "{html}");
    assert!(html.contains("FID9"), "{html}");
    assert!(html.contains("$ 120,50"), "{html}");
    let p = s.get(&format!("/api/v1/products/{fideos}")).await;
    assert_eq!(p.ok(200)["cost"], "100.00");
    let res = import(&b, true).await.unwrap();
    assert_eq!(res.status(), 200);
    let p = s.get(&format!("/api/v1/products/{fideos}")).await;
    assert_eq!(p.ok(200)["cost"], "120.50");

    // Shelf labels of a product as a PDF.
    let res = b
        .post_form(
            "/precios/etiquetas",
            &[
                ("csrf", &csrf),
                ("labels_mode", "list"),
                ("labels_products", "PA1"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));
}

async fn admin_creates_users_and_revokes_api_keys(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let mut b = admin(&s).await;
    let html = page(&mut b, "/admin").await;
    let csrf = Browser::csrf_of(&html);

    // A short password: the Spanish reason next to the field, the username kept.
    let res = b
        .post_form(
            "/admin/usuarios",
            &[
                ("csrf", &csrf),
                ("username", "marta"),
                ("password", "corta"),
                ("role", "cashier"),
                ("locations", "S01"),
            ],
        )
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert_eq!(value_of(&html, "username"), "marta");
    assert!(html.contains("id=\"password-error\""), "{html}");

    let res = b
        .post_form(
            "/admin/usuarios",
            &[
                ("csrf", &csrf),
                ("username", "marta"),
                ("password", PASSWORD),
                ("role", "cashier"),
                ("locations", "S01"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let users = s.get("/api/v1/users").await;
    let marta = users.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "marta")
        .unwrap()
        .clone();
    assert_eq!(marta["role"], "cashier");
    assert_eq!(marta["locations"], json!(["S01"]));
    let html = page(&mut b, "/admin?ok=usuario").await;
    assert!(
        html.contains("<td>marta</td><td>Cajero</td><td>S01</td>"),
        "{html}"
    );

    // An API key is shown once, then listed by its prefix and revoked.
    let res = b
        .post_form(
            "/admin/claves",
            &[("csrf", &csrf), ("name", "Balanza"), ("key_role", "viewer")],
        )
        .await;
    assert_eq!(res.status(), 201);
    let html = res.text().await.unwrap();
    let at = html.find("id=\"api-secret\">").unwrap() + "id=\"api-secret\">".len();
    let secret = html[at..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("almk_"), "{secret}");
    let me = s.get_as(&secret, "/api/v1/auth/me").await;
    assert_eq!(me.ok(200)["role"], "viewer");
    assert!(!page(&mut b, "/admin").await.contains(&secret));
    let keys = s.get("/api/v1/api-keys").await;
    let key = keys.ok(200)[0]["id"].as_i64().unwrap();
    let res = b
        .post_form(&format!("/admin/claves/{key}/revocar"), &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 303);
    let keys = s.get("/api/v1/api-keys").await;
    assert_eq!(keys.ok(200)[0]["revoked"], true);
    assert_eq!(s.get_as(&secret, "/api/v1/auth/me").await.status, 401);

    // The audit log, filtered by entity, on the page and in the CSV.
    let html = page(&mut b, "/admin/auditoria?entity=user").await;
    assert!(html.contains("<td>admin</td>"), "{html}");
    assert!(html.contains("marta"), "{html}");
    assert!(!html.contains(">api_key "), "{html}");
    let res = b.get("/admin/auditoria.csv?entity=api_key").await;
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}#;Cuándo;Quién;Acción;Entidad;Id;Antes;Después\r\n"),
        "{csv}"
    );
    assert!(
        csv.lines().skip(1).all(|l| l.contains(";api_key;")),
        "{csv}"
    );
    assert!(csv.lines().count() >= 3, "{csv}");
}

async fn replenishment_runs_the_forecast_and_exports(engine: Engine) {
    use chrono::{Duration as Days, Utc};
    // Sixty days of ten bottles a day, sold on a clock that starts two months ago.
    let start = Utc::now()
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc()
        - Days::days(60);
    let clock = app::Clock::fixed(start);
    let s = TestServer::start_with(engine, clock.clone(), common::test_settings()).await;
    s.location("S01", "store").await;
    let sup = s
        .post(
            "/api/v1/suppliers",
            json!({"name": "Distribuidora Sur", "cuit": "30500010912", "vat_condition": "responsable_inscripto", "lead_time_days": 7}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    s.post(
        "/api/v1/products",
        json!({"sku": "AGUA", "name": "Agua 2 l", "category": "Bebidas", "cost": "100.00", "price": "150.00", "vat_rate": "21", "supplier_id": sup}),
    )
    .await
    .ok(201);
    s.movement(json!({"kind": "receipt", "sku": "AGUA", "location": "S01", "quantity": "620"}))
        .await
        .ok(201);
    let shift = s
        .post(
            "/api/v1/shifts",
            json!({"location": "S01", "till": "1", "opening_float": "0.00"}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let sys = app::Principal::system();
    for _ in 0..60 {
        let input: app::sales::SaleInput = serde_json::from_value(json!({
            "shift": shift,
            "lines": [{"sku": "AGUA", "quantity": "10"}],
            "payments": [{"method": "cash", "amount": "1500.00"}],
        }))
        .unwrap();
        s.app
            .sell(&sys, input, s.app.meta(&sys, None))
            .await
            .unwrap();
        clock.advance(Days::days(1));
    }
    let mut s = s;
    s.token = s.login("admin", ADMIN_PASSWORD).await;

    let mut b = admin(&s).await;
    let html = page(&mut b, "/reposicion").await;
    assert!(html.contains("Todavía no se ejecutó ningún pronóstico."));
    let csrf = Browser::csrf_of(&html);
    let res = b
        .post_form("/reposicion/pronostico", &[("csrf", &csrf)])
        .await;
    assert_eq!(res.status(), 303);
    let api = s
        .get("/api/v1/replenishment/suggestions?location=S01")
        .await;
    let line = api.ok(200)["groups"][0]["lines"][0].clone();
    assert_eq!(line["sku"], "AGUA");
    let suggested = line["quantity"].as_str().unwrap().to_owned();
    assert_ne!(suggested, "0");

    let html = page(&mut b, "/reposicion?location=S01&ok=pronostico").await;
    assert!(html.contains("Pronóstico ejecutado."), "{html}");
    assert!(html.contains("id=\"forecast-run\">#"), "{html}");
    assert!(html.contains(">AGUA</a>"), "{html}");
    assert!(
        html.contains(&format!("<td class=\"num\">{suggested}</td>")),
        "{html}"
    );
    // The export has the same line.
    let res = b.get("/reposicion.csv?location=S01").await;
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(
        csv.starts_with("\u{feff}Proveedor;SKU;Producto;Ubicación;Sugerido;"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("Distribuidora Sur;AGUA;Agua 2 l;S01;{suggested};")),
        "{csv}"
    );

    // The supplier's suggestions become a draft purchase order.
    let res = b
        .post_form(
            &format!("/reposicion/proveedores/{sup}/orden"),
            &[("csrf", &csrf), ("location", "S01")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let id = to
        .trim_start_matches("/compras/ordenes/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let po = s.get(&format!("/api/v1/purchase-orders/{id}")).await;
    let po = po.ok(200).clone();
    assert_eq!(po["supplier_id"], sup);
    assert_eq!(po["status"], "draft");
    assert_eq!(po["lines"][0]["sku"], "AGUA");
    assert_eq!(po["lines"][0]["quantity"], suggested);
}

async fn scanned_invoice_is_reviewed_and_posted_from_the_review_screen(engine: Engine) {
    const OURS: &str = "33-69345023-9";
    let mut settings = common::test_settings();
    settings.invoices.shop_cuit = Some(OURS.into());
    let s = TestServer::start_with(engine, app::Clock::system(), settings).await;
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
    s.post(
        "/api/v1/suppliers",
        json!({"name": truth.issuer_name, "cuit": truth.issuer_cuit.clone().unwrap().as_str(), "vat_condition": "responsable_inscripto"}),
    )
    .await
    .ok(201);
    // Products named differently from the invoice, so the reviewer must pick them.
    let mut skus = Vec::new();
    let mut ids = Vec::new();
    for i in 0..truth.lines.len() {
        let sku = format!("REV{i}");
        ids.push(s.product(&sku).await);
        skus.push(sku);
    }

    let mut b = admin(&s).await;
    let html = page(&mut b, "/compras/facturas").await;
    let csrf = Browser::csrf_of(&html);
    let upload = |b: &Browser, csrf: &str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.to_owned())
            .part(
                "file",
                reqwest::multipart::Part::bytes(sample.bytes.clone()).file_name("factura.png"),
            );
        b.client
            .post(format!("{}/compras/facturas/subir", b.base))
            .header("cookie", b.cookie_header())
            .multipart(form)
    };
    // Without the form token nothing is read.
    let res = upload(&b, "0000").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = upload(&b, &csrf).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let job = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(job.starts_with("/compras/facturas/lecturas/"), "{job}");
    let mut review = String::new();
    for _ in 0..600 {
        let res = b.get(&job).await;
        if res.status() == 303 {
            review = res.headers()["location"].to_str().unwrap().to_owned();
            break;
        }
        let html = res.text().await.unwrap();
        assert!(html.contains("http-equiv=\"refresh\""), "{html}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        review.starts_with("/compras/facturas/"),
        "job never finished"
    );
    let id: i64 = review.rsplit('/').next().unwrap().parse().unwrap();

    let html = page(&mut b, &review).await;
    // The image beside the fields, each with its confidence and source.
    assert!(
        html.contains(&format!("<img src=\"/compras/facturas/{id}/imagen\"")),
        "{html}"
    );
    assert!(html.contains("data-field=\"total\""));
    assert!(html.contains("<td>QR</td>"), "{html}");
    assert_eq!(
        value_of(&html, "issuer_cuit"),
        truth.issuer_cuit.clone().unwrap().to_string()
    );
    assert!(
        html.contains("Sin asociar"),
        "unmatched lines are flagged: {html}"
    );
    let res = b.get(&format!("/compras/facturas/{id}/archivo")).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().to_vec(), sample.bytes);
    // A PNG needs no page image: the review shows the upload itself.
    let res = b.get(&format!("/compras/facturas/{id}/imagen")).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().to_vec(), sample.bytes);
    // The file is not public.
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/compras/facturas/{id}/archivo", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 303);

    // Confirming with unmatched lines names the line.
    let res = b
        .post_form(
            &format!("/compras/facturas/{id}/confirmar"),
            &[("csrf", &csrf), ("location", "DEP")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("no está asociada a un producto")
    );

    // An unknown SKU in the picker is shown next to it; the good ones tie the lines.
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
    for name in [
        "voucher_code",
        "point_of_sale",
        "number",
        "issue_date",
        "issuer_cuit",
        "issuer_name",
        "receiver_cuit",
        "cae",
        "cae_due",
        "no_gravado",
        "exento",
        "perception_vat",
        "perception_iibb",
        "total",
    ] {
        form.push((name.into(), value_of(&html, name)));
    }
    let mut bad = form.clone();
    bad.push(("product_0".into(), "NOEXISTE".into()));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = b
        .post_form(&format!("/compras/facturas/{id}/corregir"), &bad)
        .await;
    assert_eq!(res.status(), 422);
    let page_html = res.text().await.unwrap();
    assert!(page_html.contains("No hay un producto con ese SKU o código de barras."));
    assert!(page_html.contains("value=\"NOEXISTE\""));
    for (i, sku) in skus.iter().enumerate() {
        form.push((format!("product_{i}"), sku.clone()));
    }
    let good: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = b
        .post_form(&format!("/compras/facturas/{id}/corregir"), &good)
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let inv = s.get(&format!("/api/v1/supplier-invoices/{id}")).await;
    let inv = inv.ok(200).clone();
    for (i, m) in inv["matches"].as_array().unwrap().iter().enumerate() {
        assert_eq!(m["product_id"], ids[i]);
    }
    // Only the product ties changed: nothing the scanner read was overwritten.
    assert_eq!(inv["data"]["total"], truth.total.unwrap().to_string());

    let res = b
        .post_form(
            &format!("/compras/facturas/{id}/confirmar"),
            &[
                ("csrf", &csrf),
                ("location", "DEP"),
                ("lot_0", "F-1"),
                ("expiry_0", "2027-06-30"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let inv = s.get(&format!("/api/v1/supplier-invoices/{id}")).await;
    let inv = inv.ok(200).clone();
    assert_eq!(inv["status"], "posted");
    assert!(inv["receipt_id"].as_i64().is_some());
    assert_eq!(
        s.on_hand(ids[0], "DEP").await,
        truth.lines[0].quantity.to_string()
    );
    let html = page(&mut b, &format!("/compras/facturas/{id}?ok=registrada")).await;
    assert!(html.contains("Factura registrada"));
    assert!(html.contains("id=\"invoice-status\">Registrada"));

    // The same voucher again: a 409 with the reason, nothing posted.
    let res = upload(&b, &csrf).send().await.unwrap();
    let job = res.headers()["location"].to_str().unwrap().to_owned();
    let mut again = String::new();
    for _ in 0..600 {
        let res = b.get(&job).await;
        if res.status() == 303 {
            again = res.headers()["location"].to_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id2: i64 = again.rsplit('/').next().unwrap().parse().unwrap();
    let mut form2: Vec<(String, String)> = vec![("csrf".into(), csrf.clone())];
    let html2 = page(&mut b, &again).await;
    for name in ["voucher_code", "point_of_sale", "number", "total"] {
        form2.push((name.into(), value_of(&html2, name)));
    }
    for (i, sku) in skus.iter().enumerate() {
        form2.push((format!("product_{i}"), sku.clone()));
    }
    let f2: Vec<(&str, &str)> = form2
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        b.post_form(&format!("/compras/facturas/{id2}/corregir"), &f2)
            .await
            .status(),
        303
    );
    let res = b
        .post_form(
            &format!("/compras/facturas/{id2}/confirmar"),
            &[("csrf", &csrf), ("location", "DEP")],
        )
        .await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("ya está registrada"));
    assert_eq!(
        s.on_hand(ids[0], "DEP").await,
        truth.lines[0].quantity.to_string()
    );

    // The Libro IVA of the invoice's month lists it.
    let period = truth.issue_date.unwrap().format("%Y-%m").to_string();
    let res = b
        .get(&format!(
            "/compras/libro-iva?period={period}&book=purchases&file=comprobantes"
        ))
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("libro-iva-compras-comprobantes")
    );
    assert_eq!(res.text().await.unwrap().lines().count(), 1);
    let res = b
        .get("/compras/libro-iva?period=marzo&book=purchases")
        .await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"period-error\""), "{html}");
    assert!(html.contains("AAAA-MM"));
}

/// A one-page PDF printing `lines` in Helvetica (WinAnsi), as invoicing software does.
fn text_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = b"BT /F1 10 Tf 14 TL 40 800 Td\n".to_vec();
    for l in lines {
        content.push(b'(');
        for c in l.chars() {
            match c {
                '(' | ')' | '\\' => {
                    content.push(b'\\');
                    content.push(c as u8);
                }
                // WinAnsi matches Latin-1 for the accented letters used here.
                c => content.push(u8::try_from(u32::from(c)).unwrap_or(b'?')),
            }
        }
        content.extend_from_slice(b") Tj T*\n");
    }
    content.extend_from_slice(b"ET\n");
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content,
            b"endstream".to_vec(),
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

async fn pdf_invoice_is_reviewed_on_its_page_image(engine: Engine) {
    let mut settings = common::test_settings();
    settings.invoices.shop_cuit = Some("33-69345023-9".into());
    let s = TestServer::start_with(engine, app::Clock::system(), settings).await;
    let pdf = text_pdf(&[
        "ORIGINAL",
        "Distribuidora Sur SA        A        FACTURA",
        "COD. 01",
        "Razón Social: Distribuidora Sur SA      Punto de Venta: 00003   Comp. Nro: 00001234",
        "Fecha de Emisión: 05/03/2026",
        "Condición frente al IVA: IVA Responsable Inscripto      CUIT: 30500010912",
        "CUIT: 33693450239   Apellido y Nombre / Razón Social: Almacén de Barrio SRL",
        "Código  Producto / Servicio  Cantidad  U. Medida  Precio Unit.  % Bonif  Subtotal  Alícuota IVA  Subtotal c/IVA",
        "YM1000  Yerba Mate 1 kg  10,00  unidades  1.000,00  0,00  10.000,00  21%  12.100,00",
        "Neto Gravado 21%: $ 10.000,00",
        "IVA 21%: $ 2.100,00",
        "Importe Total: $ 12.100,00",
        "CAE N°: 76123456789012",
        "Fecha de Vto. de CAE: 15/03/2026",
    ]);
    let mut b = admin(&s).await;
    let html = page(&mut b, "/compras/facturas").await;
    let csrf = Browser::csrf_of(&html);
    let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
        "file",
        reqwest::multipart::Part::bytes(pdf.clone()).file_name("factura.pdf"),
    );
    let res = b
        .client
        .post(format!("{}/compras/facturas/subir", b.base))
        .header("cookie", b.cookie_header())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let job = res.headers()["location"].to_str().unwrap().to_owned();
    let mut review = String::new();
    for _ in 0..600 {
        let res = b.get(&job).await;
        if res.status() == 303 {
            review = res.headers()["location"].to_str().unwrap().to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id: i64 = review.rsplit('/').next().unwrap().parse().unwrap();
    let html = page(&mut b, &review).await;
    assert!(html.contains("<td>Texto del PDF</td>"), "{html}");
    assert_eq!(value_of(&html, "total"), "12.100,00");
    // The screen shows page 1 as an image; the original PDF is a download.
    let res = b.get(&format!("/compras/facturas/{id}/imagen")).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert!(res.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    let res = b.get(&format!("/compras/facturas/{id}/archivo")).await;
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(res.bytes().await.unwrap().to_vec(), pdf);
}
