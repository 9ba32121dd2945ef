//! Stock ledger routes: movements, transfers, levels, critical stock and the integrity check.

use axum::Json;
use axum::extract::State;
use axum::response::Response;

use app::page::{Page, PageParams, PageRequest};
use app::stock::{
    CriticalQuery, CriticalStock, LedgerReport, LevelQuery, Movement, MovementBatchInput,
    MovementInput, MovementQuery, StockLevel, TransferInput,
};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Auth, Idempotent};
use crate::routes::created;

/// Posts one movement. An issue without a lot takes lots first-expiry-first-out, so the
/// response may hold several movements.
#[utoipa::path(post, path = "/api/v1/stock/movements", tag = "stock", security(("bearer" = [])), request_body = MovementInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Vec<Movement>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "Not enough stock: nothing was written", body = Problem), (status = 422, body = Problem)))]
pub async fn post_movement(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<MovementInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(
        s.app
            .post_movements(&p, vec![req.body], false, meta)
            .await?,
    ))
}

/// Posts a batch of movements: all or nothing.
#[utoipa::path(post, path = "/api/v1/stock/movements/batch", tag = "stock", security(("bearer" = [])), request_body = MovementBatchInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Vec<Movement>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "Some line is short of stock: nothing was written", body = Problem), (status = 422, body = Problem)))]
pub async fn post_batch(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<MovementBatchInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(
        s.app
            .post_movements(&p, req.body.movements, true, meta)
            .await?,
    ))
}

/// Moves stock between two locations atomically (one movement out, one in, per lot).
#[utoipa::path(post, path = "/api/v1/stock/transfers", tag = "stock", security(("bearer" = [])), request_body = TransferInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Vec<Movement>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn post_transfer(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<TransferInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.transfer(&p, req.body, meta).await?))
}

/// The movement log, newest first.
#[utoipa::path(get, path = "/api/v1/stock/movements", tag = "stock", security(("bearer" = [])), params(MovementQuery, PageParams),
    responses((status = 200, body = Page<Movement>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_movements(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<MovementQuery>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Movement>>> {
    Ok(Json(
        s.app.movements(&p, q, PageRequest::parse(&page)?).await?,
    ))
}

/// On-hand per product, location and lot.
#[utoipa::path(get, path = "/api/v1/stock", tag = "stock", security(("bearer" = [])), params(LevelQuery, PageParams),
    responses((status = 200, body = Page<StockLevel>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn levels(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<LevelQuery>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<StockLevel>>> {
    Ok(Json(
        s.app
            .stock_levels(&p, q, PageRequest::parse(&page)?)
            .await?,
    ))
}

/// Products at or below min stock × the seasonal factor of the date, largest deficit first.
#[utoipa::path(get, path = "/api/v1/stock/critical", tag = "stock", security(("bearer" = [])), params(CriticalQuery),
    responses((status = 200, body = Vec<CriticalStock>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn critical(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<CriticalQuery>,
) -> ApiResult<Json<Vec<CriticalStock>>> {
    Ok(Json(s.app.critical_stock(&p, q).await?))
}

/// Replays the ledger and compares it with the on-hand projection (admin).
#[utoipa::path(get, path = "/api/v1/admin/ledger-check", tag = "stock", security(("bearer" = [])),
    responses((status = 200, body = LedgerReport), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn ledger_check(
    State(s): State<ApiState>,
    Auth(p): Auth,
) -> ApiResult<Json<LedgerReport>> {
    Ok(Json(s.app.check_ledger(&p).await?))
}
