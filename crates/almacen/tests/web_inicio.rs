//! Inicio on both engines: the figures equal hand-computed values for a known set of tickets
//! (with the previous-period comparison), the rollup plus its live tail equals a direct
//! aggregate, money cards follow the role, and the live stream announces a new alert.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use common::browser::Browser;
use common::{ADMIN_PASSWORD, Engine, TestServer, test_settings};
use serde_json::json;

engine_tests!(
    inicio_figures_match_hand_computed_sales_and_the_direct_aggregate,
    money_cards_need_reports_permission,
    live_stream_announces_a_new_alert,
);

/// Shop noon (15:00 UTC) of a day.
fn noon(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 15, 0, 0).unwrap()
}

async fn sell(s: &TestServer, shift: i64, qty: &str) -> i64 {
    // 121,00 with 21 % IVA: net 100,00; cost 60,00.
    let total = format!("{}", 121 * qty.parse::<i64>().unwrap());
    s.post(
        "/api/v1/sales",
        json!({"shift": shift, "lines": [{"sku": "GAS", "quantity": qty}], "payments": [{"method": "cash", "amount": total}]}),
    )
    .await
    .ok(201)["id"]
        .as_i64()
        .unwrap()
}

fn figure(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("{id} in {html}"));
    let rest = &html[at + id.len() + 6..];
    rest.split('<').next().unwrap().to_owned()
}

/// The three period cards in order: (total, previous, change).
fn periods(html: &str) -> Vec<(String, String, String)> {
    html.split("<div class=\"card period")
        .skip(1)
        .map(|card| {
            let total = card
                .split("<p class=\"figure\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned();
            let cmp = card.split("<p class=\"compare\">").nth(1).unwrap();
            let previous = cmp
                .split("Anterior: ")
                .nth(1)
                .unwrap()
                .split(" <")
                .next()
                .unwrap()
                .to_owned();
            let change = cmp
                .split("<span class=\"change\">")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned();
            (total, previous, change)
        })
        .collect()
}

async fn inicio_figures_match_hand_computed_sales_and_the_direct_aggregate(engine: Engine) {
    let clock = app::Clock::fixed(noon(2026, 10, 10));
    let mut s = TestServer::start_with(engine, clock.clone(), test_settings()).await;
    s.location("S01", "store").await;
    s.post(
        "/api/v1/products",
        json!({"sku": "GAS", "name": "Gaseosa", "category": "Bebidas", "cost": "60.00", "price": "121.00", "vat_rate": "21"}),
    )
    .await
    .ok(201);
    s.movement(json!({"kind": "receipt", "sku": "GAS", "location": "S01", "quantity": "30"}))
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
    // Weeks pass: the API session expires, so each jump logs in again.
    async fn go(s: &mut TestServer, clock: &app::Clock, to: chrono::DateTime<Utc>) {
        clock.advance(to - clock.now());
        s.token = s.login("admin", ADMIN_PASSWORD).await;
    }
    // Previous month: 10/10 (inside 1–25) and 28/10 (outside the same span).
    sell(&s, shift, "1").await;
    go(&mut s, &clock, noon(2026, 10, 28)).await;
    sell(&s, shift, "5").await;
    // Previous week span Mon 16 – Wed 18: 17/11; then Thu 19/11 (this month, not that week).
    go(&mut s, &clock, noon(2026, 11, 17)).await;
    sell(&s, shift, "3").await;
    go(&mut s, &clock, noon(2026, 11, 19)).await;
    sell(&s, shift, "1").await;
    // Yesterday and today (Wednesday 25/11), one unit of today's ticket returned.
    go(&mut s, &clock, noon(2026, 11, 24)).await;
    sell(&s, shift, "1").await;
    go(&mut s, &clock, noon(2026, 11, 25)).await;
    let today = sell(&s, shift, "3").await;
    s.post(
        &format!("/api/v1/sales/{today}/returns"),
        json!({"lines": [{"line": 1, "quantity": "1"}], "reason": "roto", "refund_method": "cash"}),
    )
    .await
    .ok(201);

    let mut b = Browser::new(&s.base);
    b.login("admin", ADMIN_PASSWORD).await;
    let expect = |html: &str,
                  today: &str,
                  change: &str,
                  week: &str,
                  month: &str,
                  ticket: &str,
                  margin: &str| {
        let p = periods(html);
        assert_eq!(
            p[0],
            (today.into(), "$ 121,00".into(), change.into()),
            "hoy"
        );
        assert_eq!(
            p[1],
            (
                week.into(),
                "$ 363,00".into(),
                if week == "$ 363,00" {
                    "0,0 %".into()
                } else {
                    "+33,3 %".into()
                }
            ),
            "semana"
        );
        assert_eq!(p[2].0, month, "mes");
        assert_eq!(p[2].1, "$ 121,00", "mes anterior");
        assert_eq!(figure(html, "ticket-promedio"), ticket);
        assert_eq!(figure(html, "margen"), margin);
    };

    // Nothing rolled up yet: every figure comes from the live tail.
    let res = b.get("/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    // Today 3 − 1 units = 242; week 121 + 242 = 363 against 363 on 17/11; month 363 + 121 + 121
    // + 242 = 847 against 121 on 10/10; 4 tickets; margin 7 units × (100 − 60) = 280.
    expect(
        &html, "$ 242,00", "+100,0 %", "$ 363,00", "$ 847,00", "$ 211,75", "$ 280,00",
    );
    assert!(html.contains("+600,0 %"), "{html}");
    assert!(html.contains("40,0 %"), "margin percent: {html}");
    // Stock at cost: 30 − 14 sold + 1 returned = 17 units × 60,00.
    assert_eq!(figure(&html, "valor-stock"), "$ 1.020,00");
    assert!(html.contains("Bebidas"), "category chart");
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert!(!html.contains("style="), "no inline style under the CSP");

    // Settle and fold everything into the rollup: the same figures.
    clock.advance(chrono::Duration::minutes(3));
    let (tickets, returns) = s.app.refresh_sales_rollup().await.unwrap();
    assert_eq!((tickets, returns), (6, 1));
    let html = b.get("/").await.text().await.unwrap();
    expect(
        &html, "$ 242,00", "+100,0 %", "$ 363,00", "$ 847,00", "$ 211,75", "$ 280,00",
    );
    // A second refresh folds nothing twice.
    assert_eq!(s.app.refresh_sales_rollup().await.unwrap(), (0, 0));

    // A new ticket lands in the tail, on top of the rollup.
    sell(&s, shift, "1").await;
    let html = b.get("/?parcial=1").await.text().await.unwrap();
    assert!(!html.contains("<html"), "the live panel is a fragment");
    expect(
        &html, "$ 363,00", "+200,0 %", "$ 484,00", "$ 968,00", "$ 193,60", "$ 320,00",
    );

    // Rollup + tail equals the direct aggregate of the sales report, day by day.
    let sys = app::Principal::system();
    let from = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let direct = s
        .app
        .sales_summary(
            &sys,
            app::reports::SalesQuery {
                from,
                to,
                group_by: app::reports::SalesGrouping::Day,
            },
        )
        .await
        .unwrap();
    let rolled = s.app.daily_sales(&sys, from, to).await.unwrap();
    for row in &direct.rows {
        let day: NaiveDate = row.key.parse().unwrap();
        let mine: Vec<_> = rolled.iter().filter(|r| r.day == day).collect();
        assert_eq!(
            row.total.minor(),
            mine.iter().map(|r| r.total).sum::<i64>(),
            "total {day}"
        );
        assert_eq!(
            row.net.minor(),
            mine.iter().map(|r| r.net).sum::<i64>(),
            "net {day}"
        );
        assert_eq!(
            row.tickets,
            mine.iter().map(|r| r.tickets).sum::<i64>(),
            "tickets {day}"
        );
        assert_eq!(
            row.cost,
            app::dashboard::cost_of_milli(mine.iter().map(|r| r.cost_milli).sum::<i64>()),
            "cost {day}"
        );
    }
    assert_eq!(direct.rows.len(), rolled.len());
    // 15 units sold, 1 returned, at 121,00.
    assert_eq!(direct.total.minor(), 12_100 * 14);
}

async fn money_cards_need_reports_permission(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    s.user("cajera", "cashier", &["S01"]).await;
    s.user("dueno", "viewer", &[]).await;
    let mut b = Browser::new(&s.base);
    b.login("cajera", "otra-clave-segura-1").await;
    let res = b.get("/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("card period"),
        "a cashier sees no sales figures"
    );
    assert!(!html.contains("valor-stock"), "nor the stock value");
    assert!(html.contains("id=\"criticos\""), "but the stock counts");
    assert!(html.contains("Alertas abiertas"));

    let mut b = Browser::new(&s.base);
    b.login("dueno", "otra-clave-segura-1").await;
    let html = b.get("/").await.text().await.unwrap();
    assert_eq!(periods(&html).len(), 3);
    assert_eq!(periods(&html)[0].0, "$ 0,00");
    assert!(html.contains("Agentes"));
}

async fn live_stream_announces_a_new_alert(engine: Engine) {
    let s = TestServer::start(engine).await;
    let mut b = Browser::new(&s.base);
    // Without a session the stream sends to the login page.
    assert_eq!(b.get("/eventos").await.status(), 303);
    b.login("admin", ADMIN_PASSWORD).await;
    let mut res = b.get("/eventos").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    // The hello event first, so the browser knows it is connected.
    while !seen.contains("event: listo") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), res.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Let the node's loop take its first reading, then raise an alert.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    s.app
        .store
        .raise_alert(
            app::operations::NewAlert {
                kind: "critical_stock".into(),
                severity: "warning".into(),
                subject: "prueba".into(),
                title: "Stock crítico de prueba".into(),
                body: "<b>ARZ</b> en S01".into(),
                payload: json!({}),
            },
            s.app.clock.now_micros(),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains("event: alertas") {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let chunk = tokio::time::timeout(left, res.chunk())
            .await
            .expect("an alertas event")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // The panel the script fetches then shows the alert, escaped.
    let html = b.get("/?parcial=1").await.text().await.unwrap();
    assert!(html.contains("Stock crítico de prueba"), "{html}");
    assert!(html.contains("&#60;b&#62;ARZ&#60;/b&#62;"), "escaped");
}
