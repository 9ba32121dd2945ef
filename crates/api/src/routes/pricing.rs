//! Pricing routes: markup rules, price history, inflation index, bulk price updates, supplier
//! price lists and shelf labels.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use app::labels::{LabelRequest, ShelfLabels};
use app::page::{Page, PageParams, PageRequest};
use app::price_lists::{SupplierListInput, SupplierListReport};
use app::pricing::{
    ApplyInput, InflationImport, InflationRate, InflationRateInput, PriceAtQuery, PricePoint,
    PricePreview, PriceRule, PriceRuleInput, PriceUpdateApplied, PriceUpdateInput, Projection,
    ProjectionQuery,
};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth, Idempotent};

#[utoipa::path(get, path = "/api/v1/price-rules", tag = "pricing", security(("bearer" = [])),
    responses((status = 200, body = Vec<PriceRule>), (status = 401, body = Problem)))]
pub async fn list_rules(
    State(s): State<ApiState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<PriceRule>>> {
    Ok(Json(s.app.price_rules(&p).await?))
}

/// Creates or replaces the rule of a category, supplier or product (the most specific wins).
#[utoipa::path(put, path = "/api/v1/price-rules", tag = "pricing", security(("bearer" = [])), request_body = PriceRuleInput,
    responses((status = 200, body = PriceRule), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_rule(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<PriceRuleInput>,
) -> ApiResult<Json<PriceRule>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.save_price_rule(&p, body, meta).await?))
}

#[utoipa::path(delete, path = "/api/v1/price-rules/{id}", tag = "pricing", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_rule(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let meta = s.app.meta(&p, None);
    s.app.delete_price_rule(&p, id, meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every recorded price of a product, newest first, with who set it and why.
#[utoipa::path(get, path = "/api/v1/products/{id}/price-history", tag = "pricing", security(("bearer" = [])),
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = Page<PricePoint>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn price_history(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<PricePoint>>> {
    Ok(Json(
        s.app
            .price_history(&p, id, PageRequest::parse(&page)?)
            .await?,
    ))
}

/// The price in force at the close of a day (or now).
#[utoipa::path(get, path = "/api/v1/products/{id}/price", tag = "pricing", security(("bearer" = [])),
    params(("id" = i64, Path), PriceAtQuery),
    responses((status = 200, body = PricePoint), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn price_at(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PriceAtQuery>,
) -> ApiResult<Json<PricePoint>> {
    Ok(Json(s.app.price_at(&p, id, q).await?))
}

#[utoipa::path(get, path = "/api/v1/inflation-rates", tag = "pricing", security(("bearer" = [])),
    responses((status = 200, body = Vec<InflationRate>), (status = 401, body = Problem)))]
pub async fn list_rates(
    State(s): State<ApiState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<InflationRate>>> {
    Ok(Json(s.app.inflation_rates(&p).await?))
}

/// Sets the CPI change of a month (YYYY-MM), −50 … 100 %.
#[utoipa::path(put, path = "/api/v1/inflation-rates/{month}", tag = "pricing", security(("bearer" = [])),
    params(("month" = String, Path, example = "2026-01")), request_body = InflationRateInput,
    responses((status = 200, body = InflationRate), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn save_rate(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(month): Path<String>,
    ApiJson(body): ApiJson<InflationRateInput>,
) -> ApiResult<Json<InflationRate>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(
        s.app.save_inflation_rate(&p, &month, body, meta).await?,
    ))
}

/// Imports a CSV of the official CPI series (`mes,tasa` or `month,rate`).
#[utoipa::path(post, path = "/api/v1/inflation-rates/import", tag = "pricing", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = InflationImport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import_rates(
    State(s): State<ApiState>,
    Auth(p): Auth,
    body: Bytes,
) -> ApiResult<Json<InflationImport>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.import_inflation_rates(&p, &body, meta).await?))
}

/// Projects an amount between two days with daily compounding over a 30.44-day month.
#[utoipa::path(get, path = "/api/v1/inflation-rates/projection", tag = "pricing", security(("bearer" = [])),
    params(ProjectionQuery),
    responses((status = 200, body = Projection), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn projection(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ProjectionQuery>,
) -> ApiResult<Json<Projection>> {
    Ok(Json(s.app.project_cost(&p, q).await?))
}

/// Previews a bulk update: old and new cost and price, margin, rounding, lines below the floor.
#[utoipa::path(post, path = "/api/v1/price-updates/preview", tag = "pricing", security(("bearer" = [])), request_body = PriceUpdateInput,
    responses((status = 200, body = PricePreview), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn preview(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<PriceUpdateInput>,
) -> ApiResult<Json<PricePreview>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.preview_price_update(&p, body, meta).await?))
}

/// Applies a previewed update atomically; 409 when prices moved since the preview.
#[utoipa::path(post, path = "/api/v1/price-updates/{id}/apply", tag = "pricing", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ApplyInput,
    responses((status = 200, body = PriceUpdateApplied), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn apply(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ApplyInput>,
) -> ApiResult<Json<PriceUpdateApplied>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.apply_price_update(&p, id, body, meta).await?))
}

/// Reads a supplier's CSV or XLSX price list; with `apply` updates costs and reprices.
#[utoipa::path(post, path = "/api/v1/supplier-price-lists", tag = "pricing", security(("bearer" = [])), request_body = SupplierListInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 200, body = SupplierListReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn supplier_list(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<SupplierListInput>,
) -> ApiResult<Json<SupplierListReport>> {
    let meta = s.app.meta(&p, req.key);
    Ok(Json(s.app.import_supplier_list(&p, req.body, meta).await?))
}

/// A PDF of shelf labels for chosen products or for every price changed since the last print.
#[utoipa::path(post, path = "/api/v1/shelf-labels", tag = "pricing", security(("bearer" = [])), request_body = LabelRequest,
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn shelf_labels(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiJson(body): ApiJson<LabelRequest>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, None);
    let ShelfLabels { pdf, count } = s.app.shelf_labels(&p, body, meta).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"etiquetas.pdf\"".to_owned(),
            ),
            (
                header::HeaderName::from_static("x-label-count"),
                count.to_string(),
            ),
        ],
        pdf,
    )
        .into_response())
}
