//! Pronóstico routes: forecast runs, a product's forecast, and replenishment suggestions that
//! become draft purchase orders.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;

use app::forecast::{
    ForecastRun, ProductForecast, SuggestionOrderInput, SuggestionQuery, Suggestions,
};
use app::purchasing::PurchaseOrder;

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Auth, Idempotent};
use crate::routes::created;

/// Runs the demand forecast now over the sales history (the nightly agent does the same);
/// the previous run stays readable until this one is stored whole.
#[utoipa::path(post, path = "/api/v1/forecast-runs", tag = "forecast", security(("bearer" = [])),
    responses((status = 201, body = ForecastRun), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn run(State(s): State<ApiState>, Auth(p): Auth) -> ApiResult<Response> {
    Ok(created(app::Written::fresh(s.app.run_forecast(&p).await?)))
}

/// The latest finished forecast run: when, over which history, and its method mix.
#[utoipa::path(get, path = "/api/v1/forecast-runs/latest", tag = "forecast", security(("bearer" = [])),
    responses((status = 200, body = ForecastRun), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn latest(State(s): State<ApiState>, Auth(p): Auth) -> ApiResult<Json<ForecastRun>> {
    Ok(Json(s.app.latest_forecast_run(&p).await?))
}

/// A product's daily forecast with its prediction interval, per location, and each method's
/// backtest accuracy.
#[utoipa::path(get, path = "/api/v1/products/{id}/forecast", tag = "forecast", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ProductForecast), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn product(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ProductForecast>> {
    Ok(Json(s.app.product_forecast(&p, id).await?))
}

/// What to order now, grouped by supplier, each line explaining itself.
#[utoipa::path(get, path = "/api/v1/replenishment/suggestions", tag = "forecast", security(("bearer" = [])), params(SuggestionQuery),
    responses((status = 200, body = Suggestions), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn suggestions(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<SuggestionQuery>,
) -> ApiResult<Json<Suggestions>> {
    Ok(Json(s.app.replenishment_suggestions(&p, q).await?))
}

/// Turns a supplier's suggestions for one location into a draft purchase order.
#[utoipa::path(post, path = "/api/v1/replenishment/suggestions/{supplier}/purchase-order", tag = "forecast", security(("bearer" = [])),
    params(("supplier" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    request_body = SuggestionOrderInput,
    responses((status = 201, body = PurchaseOrder), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn order(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(supplier): Path<i64>,
    req: Idempotent<SuggestionOrderInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(
        s.app
            .order_suggestions(&p, supplier, req.body, meta)
            .await?,
    ))
}
