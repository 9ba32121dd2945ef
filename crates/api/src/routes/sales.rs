//! Till routes: shifts, tickets, returns and voids.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;

use app::sales::{
    CloseShiftInput, ReturnInput, Sale, SaleInput, SaleReturn, Shift, ShiftInput, VoidInput,
};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{Auth, Idempotent};
use crate::routes::created;

/// Opens a till shift with its opening float; a till has one open shift at a time.
#[utoipa::path(post, path = "/api/v1/shifts", tag = "sales", security(("bearer" = [])), request_body = ShiftInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Shift), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn open_shift(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<ShiftInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.open_shift(&p, req.body, meta).await?))
}

/// Expected amounts per payment method so far.
#[utoipa::path(get, path = "/api/v1/shifts/{id}", tag = "sales", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Shift), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_shift(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Shift>> {
    Ok(Json(s.app.shift(&p, id).await?))
}

/// Closes the shift with the counted amounts: expected, counted and difference per method.
#[utoipa::path(post, path = "/api/v1/shifts/{id}/close", tag = "sales", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = CloseShiftInput,
    responses((status = 200, body = Shift), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn close_shift(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    req: Idempotent<CloseShiftInput>,
) -> ApiResult<Json<Shift>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.close_shift(&p, id, req.body, meta).await?))
}

/// Sells a ticket: priced from current prices (IVA included), stock leaves first-expiry-first-out,
/// payments must cover the total. Not enough stock on any line → 409 with every short line.
#[utoipa::path(post, path = "/api/v1/sales", tag = "sales", security(("bearer" = [])), request_body = SaleInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "The POS retries with the same key: a ticket is never sold twice")),
    responses((status = 201, body = Sale), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "Not enough stock, or the shift is closed: nothing was written", body = Problem), (status = 422, body = Problem)))]
pub async fn sell(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<SaleInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.sell(&p, req.body, meta).await?))
}

#[utoipa::path(get, path = "/api/v1/sales/{id}", tag = "sales", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Sale), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_sale(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Sale>> {
    Ok(Json(s.app.sale(&p, id).await?))
}

/// Returns all or part of a ticket: restocks the original lots and refunds by a payment method.
#[utoipa::path(post, path = "/api/v1/sales/{id}/returns", tag = "sales", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    request_body = ReturnInput,
    responses((status = 201, body = SaleReturn), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn return_sale(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    req: Idempotent<ReturnInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.return_sale(&p, id, req.body, meta).await?))
}

/// Voids a ticket: a full return with a reason; needs a manager.
#[utoipa::path(post, path = "/api/v1/sales/{id}/void", tag = "sales", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    request_body = VoidInput,
    responses((status = 201, body = SaleReturn), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn void_sale(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    req: Idempotent<VoidInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.void_sale(&p, id, req.body, meta).await?))
}
