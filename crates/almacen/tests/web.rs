//! The dashboard over HTTP without a browser: login with CSRF, sessions, role-restricted pages,
//! escaping of user text and the CSV format, on SQLite and PostgreSQL alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::{ADMIN_PASSWORD, Engine, TestServer};
use serde_json::json;

engine_tests!(
    login_needs_the_form_token_and_sets_a_strict_session_cookie,
    pages_need_a_session_and_the_right_role,
    forms_without_the_session_token_are_refused,
    user_text_is_escaped,
    product_export_is_excel_argentina_csv,
);

async fn login_needs_the_form_token_and_sets_a_strict_session_cookie(engine: Engine) {
    let s = TestServer::start(engine).await;
    let mut b = Browser::new(&s.base);

    // Without the login form's token the post is refused and no session is created.
    let res = b
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(res.headers().get("set-cookie").is_none());

    // A wrong password shows the form again with the username kept and a Spanish message.
    let page = b.get("/login").await.text().await.unwrap();
    let csrf = Browser::csrf_of(&page);
    let res = b
        .post_form(
            "/login",
            &[
                ("username", "admin"),
                ("password", "equivocada-123"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("Usuario o contraseña incorrectos."), "{html}");
    assert!(html.contains("value=\"admin\""));

    let res = b.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/productos");
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("almacen_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP without a TLS proxy: {cookie}"
    );

    let res = b.get("/productos").await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Productos</h1>"));

    // Logging out revokes the session on the server, not just in the browser.
    let csrf = Browser::csrf_of(&html);
    let token = b
        .cookies
        .iter()
        .find(|(k, _)| k == "almacen_session")
        .map(|(_, v)| v.clone())
        .unwrap();
    let res = b.post_form("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), 303);
    let res = s
        .client
        .get(format!("{}/productos", s.base))
        .header("cookie", format!("almacen_session={token}"))
        .send()
        .await
        .unwrap();
    assert!(
        res.url().path().starts_with("/login"),
        "revoked session still served a page"
    );
}

async fn pages_need_a_session_and_the_right_role(engine: Engine) {
    let s = TestServer::start(engine).await;
    let mut anon = Browser::new(&s.base);
    let res = anon.get("/productos?q=yerba").await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/login?next=/productos%3Fq%3Dyerba"
    );

    s.location("LOC1", "store").await;
    s.user("caja1", "cashier", &["LOC1"]).await;
    let mut cashier = Browser::new(&s.base);
    assert_eq!(
        cashier.login("caja1", "otra-clave-segura-1").await.status(),
        303
    );
    let html = cashier.get("/productos").await.text().await.unwrap();
    // The menu offers only what the role may use.
    assert!(html.contains("href=\"/caja\""), "{html}");
    assert!(!html.contains("href=\"/admin\""));
}

async fn forms_without_the_session_token_are_refused(engine: Engine) {
    let s = TestServer::start(engine).await;
    let mut b = Browser::new(&s.base);
    b.login("admin", ADMIN_PASSWORD).await;
    let res = b.post_form("/logout", &[("csrf", "0000")]).await;
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Formulario vencido"));
    // Still signed in: the forged post changed nothing.
    assert_eq!(b.get("/productos").await.status(), 200);

    // A post from another site is refused even with a valid token.
    let html = b.get("/productos").await.text().await.unwrap();
    let csrf = Browser::csrf_of(&html);
    let res = b
        .client
        .post(format!("{}/logout", s.base))
        .header("cookie", b.cookie_header())
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(b.get("/productos").await.status(), 200);
}

async fn user_text_is_escaped(engine: Engine) {
    let s = TestServer::start(engine).await;
    let res = s
        .post(
            "/api/v1/products",
            json!({
                "name": "<script>alert(1)</script> & \"Yerba\"",
                "category": "Almacén",
                "cost": "100.00",
                "price": "1234.56",
                "vat_rate": "21"
            }),
        )
        .await;
    res.ok(201);
    let mut b = Browser::new(&s.base);
    b.login("admin", ADMIN_PASSWORD).await;
    let html = b.get("/productos?q=yerba").await.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; &#34;Yerba&#34;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Yerba&quot;"),
        "{html}"
    );
    assert!(html.contains("$ 1.234,56"));
}

async fn product_export_is_excel_argentina_csv(engine: Engine) {
    let s = TestServer::start(engine).await;
    for (name, price) in [("Yerba; suave", "1234.56"), ("Fideos \"largos\"", "899.90")] {
        s.post(
            "/api/v1/products",
            json!({"name": name, "category": "Almacén", "cost": "100.00", "price": price, "vat_rate": "10.5"}),
        )
        .await
        .ok(201);
    }
    let mut b = Browser::new(&s.base);
    b.login("admin", ADMIN_PASSWORD).await;
    let res = b.get("/productos.csv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"productos.csv\""
    );
    let body = res.bytes().await.unwrap();
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    let text = std::str::from_utf8(&body[3..]).unwrap();
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "SKU;Nombre;Categoría;Marca;Código de barras;Costo;Precio;IVA;Estado"
    );
    let fideos = lines.iter().find(|l| l.contains("Fideos")).unwrap();
    assert!(
        fideos.contains(";\"Fideos \"\"largos\"\"\";Almacén;;;100,00;899,90;10,5 %;Activo"),
        "{fideos}"
    );
    let yerba = lines.iter().find(|l| l.contains("Yerba")).unwrap();
    assert!(yerba.contains(";\"Yerba; suave\";"), "{yerba}");
    assert_eq!(lines.last(), Some(&""), "every row ends in CRLF");
}
