//! Report routes: stock valuation and sales summary.

use axum::Json;
use axum::extract::State;

use app::reports::{SalesQuery, SalesSummary, StockValue, StockValueQuery};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Auth};

/// Stock valued at cost per location and in total, now or at any past instant (from the ledger
/// and the cost history).
#[utoipa::path(get, path = "/api/v1/reports/stock-value", tag = "reports", security(("bearer" = [])), params(StockValueQuery),
    responses((status = 200, body = StockValue), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn stock_value(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<StockValueQuery>,
) -> ApiResult<Json<StockValue>> {
    Ok(Json(s.app.stock_value(&p, q).await?))
}

/// Sales less returns by day, category, product, cashier or payment method, with gross margin
/// at the cost recorded on each line when it was sold.
#[utoipa::path(get, path = "/api/v1/reports/sales", tag = "reports", security(("bearer" = [])), params(SalesQuery),
    responses((status = 200, body = SalesSummary), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn sales(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<SalesQuery>,
) -> ApiResult<Json<SalesSummary>> {
    Ok(Json(s.app.sales_summary(&p, q).await?))
}
