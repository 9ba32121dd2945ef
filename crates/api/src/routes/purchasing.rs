//! Purchasing routes: purchase orders and receipts (remitos).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use domain::purchasing::PoStatus;

use app::page::{Page, PageParams, PageRequest};
use app::purchasing::{PurchaseOrder, PurchaseOrderInput, Receipt, ReceiptInput};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Auth, Idempotent};
use crate::routes::created;

/// Creates a draft purchase order.
#[utoipa::path(post, path = "/api/v1/purchase-orders", tag = "purchasing", security(("bearer" = [])), request_body = PurchaseOrderInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = PurchaseOrder), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<PurchaseOrderInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(
        s.app.create_purchase_order(&p, req.body, meta).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/purchase-orders", tag = "purchasing", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<PurchaseOrder>), (status = 401, body = Problem)))]
pub async fn list(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<PurchaseOrder>>> {
    Ok(Json(
        s.app
            .purchase_orders(&p, PageRequest::parse(&page)?)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/purchase-orders/{id}", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PurchaseOrder>> {
    Ok(Json(s.app.purchase_order(&p, id).await?))
}

/// Marks a draft order as sent to the supplier.
#[utoipa::path(post, path = "/api/v1/purchase-orders/{id}/send", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn send(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PurchaseOrder>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(
        s.app
            .set_purchase_order_status(&p, id, PoStatus::Sent, meta)
            .await?,
    ))
}

/// Cancels an order that is not fully received.
#[utoipa::path(post, path = "/api/v1/purchase-orders/{id}/cancel", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = PurchaseOrder), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PurchaseOrder>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(
        s.app
            .set_purchase_order_status(&p, id, PoStatus::Cancelled, meta)
            .await?,
    ))
}

/// Receives goods (a remito), against an order or directly: posts receipt movements with lots
/// and expiry, advances the order, and updates each product's weighted average cost.
#[utoipa::path(post, path = "/api/v1/receipts", tag = "purchasing", security(("bearer" = [])), request_body = ReceiptInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Receipt), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn receive(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<ReceiptInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.receive(&p, req.body, meta).await?))
}
