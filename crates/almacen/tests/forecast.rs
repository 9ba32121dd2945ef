//! Pronóstico on both engines: sales history → forecast run → explained suggestions grouped by
//! supplier → a draft purchase order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::{ADMIN_PASSWORD, Engine, TestServer, test_settings};
use serde_json::{Value, json};

engine_tests!(
    constant_demand_gets_the_expected_suggestion_and_becomes_a_draft_order,
    forecasting_without_history_and_bad_service_levels,
);

/// 60 days of exactly 10 units a day sold at S01, with 20 left on hand and 30 on a draft
/// order; the supplier delivers in 7 days and purchases are reviewed weekly.
async fn shop_with_history(engine: Engine) -> (TestServer, i64, i64) {
    let today_noon = Utc::now()
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc();
    let clock = app::Clock::fixed(today_noon - Duration::days(60));
    let s = TestServer::start_with(engine, clock.clone(), test_settings()).await;
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
    let product = s
        .post(
            "/api/v1/products",
            json!({"sku": "AGUA", "name": "Agua 2 l", "category": "Bebidas", "cost": "100.00", "price": "150.00", "vat_rate": "21", "supplier_id": sup}),
        )
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
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
        clock.advance(Duration::days(1));
    }
    (s, sup, product)
}

async fn constant_demand_gets_the_expected_suggestion_and_becomes_a_draft_order(engine: Engine) {
    let (mut s, sup, product) = shop_with_history(engine).await;
    s.token = s.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(s.on_hand(product, "S01").await, "20");
    s.post(
        "/api/v1/purchase-orders",
        json!({"supplier_id": sup, "location": "S01", "lines": [{"sku": "AGUA", "quantity": "30", "unit_cost": "100.00"}]}),
    )
    .await
    .ok(201);
    // Before any run there is nothing to suggest from.
    s.get("/api/v1/forecast-runs/latest").await.problem(404);

    let run = s
        .post("/api/v1/forecast-runs", json!({}))
        .await
        .ok(201)
        .clone();
    assert_eq!(run["status"], "done");
    assert_eq!(run["series"], 1);
    assert_eq!(run["horizon"], 28);
    // Every method but SBA is exact on a constant series; ties go to seasonal naive.
    assert_eq!(run["method_mix"], json!({"seasonal_naive": 1}));
    let latest = s.get("/api/v1/forecast-runs/latest").await.ok(200).clone();
    assert_eq!(latest["id"], run["id"]);
    // While a new run computes, the previous one is still the latest.
    let today = Utc::now().date_naive();
    let computing = s
        .app
        .store
        .start_forecast_run(app::forecast::NewForecastRun {
            history_from: today,
            history_to: today,
            horizon: 28,
            actor: "prueba".into(),
            now: s.app.clock.now_micros(),
        })
        .await
        .unwrap();
    assert_ne!(json!(computing), run["id"]);
    let latest = s.get("/api/v1/forecast-runs/latest").await.ok(200).clone();
    assert_eq!(latest["id"], run["id"]);

    let f = s
        .get(&format!("/api/v1/products/{product}/forecast"))
        .await
        .ok(200)
        .clone();
    let loc = &f["locations"][0];
    assert_eq!(loc["method"], "seasonal_naive");
    assert_eq!(loc["error_sd"], "0");
    let points = loc["points"].as_array().unwrap();
    assert_eq!(points.len(), 28);
    assert_eq!(
        points[0]["date"],
        Value::String(Utc::now().date_naive().to_string())
    );
    assert!(
        points
            .iter()
            .all(|p| p["forecast"] == "10" && p["lower"] == "10" && p["upper"] == "10")
    );
    let sn = &loc["scores"][0];
    assert_eq!(sn["method"], "seasonal_naive");
    assert_eq!(sn["wape"], json!(0.0));

    // Reorder point 7 × 10 = 70, order-up-to (7 + 7) × 10 = 140, no safety stock (no error);
    // position 20 + 30 = 50 → order 90.
    let sug = s
        .get("/api/v1/replenishment/suggestions?review_period_days=7")
        .await
        .ok(200)
        .clone();
    assert_eq!(sug["service_level"], json!(95.0));
    let groups = sug["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["supplier_id"], sup);
    assert_eq!(groups[0]["supplier"], "Distribuidora Sur");
    assert_eq!(groups[0]["total"], "9000.00");
    let line = &groups[0]["lines"][0];
    assert_eq!(line["product_id"], product);
    assert_eq!(line["location"], "S01");
    assert_eq!(line["quantity"], "90");
    assert_eq!(line["daily_forecast"], "10");
    assert_eq!(line["lead_time_demand"], "70");
    assert_eq!(line["safety_stock"], "0");
    assert_eq!(line["reorder_point"], "70");
    assert_eq!(line["order_up_to"], "140");
    assert_eq!(line["on_hand"], "20");
    assert_eq!(line["on_order"], "30");
    assert_eq!(line["lead_time_days"], 7);
    assert_eq!(line["days_of_cover"], json!(5.0));
    assert!(
        line["reason"]
            .as_str()
            .unwrap()
            .contains("20 en depósito + 30 pedidos")
    );

    // Prices rising 5 % a month against 2 % holding cost: cover 7 days more (bound), so up to
    // 210 → 160.
    let ahead = s
        .get("/api/v1/replenishment/suggestions?review_period_days=7&monthly_price_rise_bp=500&max_buy_ahead_days=7")
        .await
        .ok(200)
        .clone();
    let line = &ahead["groups"][0]["lines"][0];
    assert_eq!(line["order_up_to"], "210");
    assert_eq!(line["quantity"], "160");
    assert!(line["reason"].as_str().unwrap().contains("7 días más"));
    // A service level of 99 % with no forecast error changes nothing.
    let strict = s
        .get("/api/v1/replenishment/suggestions?review_period_days=7&service_level=99")
        .await
        .ok(200)
        .clone();
    assert_eq!(strict["groups"][0]["lines"][0]["quantity"], "90");

    // One action: the supplier's group becomes a draft purchase order.
    let po = s
        .post_key(
            &format!("/api/v1/replenishment/suggestions/{sup}/purchase-order"),
            json!({"location": "S01", "review_period_days": 7}),
            "forecast-po-1",
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(po["status"], "draft");
    assert_eq!(po["supplier_id"], sup);
    assert_eq!(po["location"], "S01");
    assert_eq!(po["lines"].as_array().unwrap().len(), 1);
    assert_eq!(po["lines"][0]["product_id"], product);
    assert_eq!(po["lines"][0]["quantity"], "90");
    assert_eq!(po["lines"][0]["unit_cost"], "100.00");
    assert_eq!(po["total"], "9000.00");
    // A retry with the same key returns the same order.
    let again = s
        .post_key(
            &format!("/api/v1/replenishment/suggestions/{sup}/purchase-order"),
            json!({"location": "S01", "review_period_days": 7}),
            "forecast-po-1",
        )
        .await
        .ok(201)
        .clone();
    assert_eq!(again["id"], po["id"]);
    // Now 120 are on order: nothing more to suggest, and a new order is refused.
    let sug = s
        .get("/api/v1/replenishment/suggestions")
        .await
        .ok(200)
        .clone();
    assert_eq!(sug["groups"], json!([]));
    let r = s
        .post(
            &format!("/api/v1/replenishment/suggestions/{sup}/purchase-order"),
            json!({"location": "S01"}),
        )
        .await;
    assert_eq!(r.problem(422)["field"], "supplier");
}

async fn forecasting_without_history_and_bad_service_levels(engine: Engine) {
    let s = TestServer::start(engine).await;
    s.location("S01", "store").await;
    let p = s.product("NADA").await;
    s.get(&format!("/api/v1/products/{p}/forecast"))
        .await
        .problem(404);
    let run = s
        .post("/api/v1/forecast-runs", json!({}))
        .await
        .ok(201)
        .clone();
    assert_eq!(run["series"], 0);
    assert_eq!(run["method_mix"], json!({}));
    let f = s
        .get(&format!("/api/v1/products/{p}/forecast"))
        .await
        .ok(200)
        .clone();
    assert_eq!(f["locations"], json!([]));
    for bad in ["0", "100", "-5", "150", "NaN"] {
        let r = s
            .get(&format!(
                "/api/v1/replenishment/suggestions?service_level={bad}"
            ))
            .await;
        let problem = r.problem(422);
        assert_eq!(problem["field"], "service_level", "{bad}");
    }
    let ok = s
        .get("/api/v1/replenishment/suggestions?service_level=99.5")
        .await
        .ok(200)
        .clone();
    assert_eq!(ok["service_level"], json!(99.5));
    assert_eq!(ok["groups"], json!([]));
    s.get("/api/v1/replenishment/suggestions?budget=abc")
        .await
        .problem(422);
}
