//! Catalogue routes: suppliers, locations, categories, products and CSV import.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;

use app::catalog::{
    Category, Location, LocationInput, Product, ProductInput, ProductQuery, Supplier,
    SupplierInput, UpsertMode, UpsertedProduct,
};
use app::import::ImportReport;
use app::page::{Page, PageParams, PageRequest};

use crate::ApiState;
use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, Auth, Idempotent};
use crate::routes::created;

#[utoipa::path(post, path = "/api/v1/suppliers", tag = "catalog", security(("bearer" = [])), request_body = SupplierInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Supplier), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_supplier(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<SupplierInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.create_supplier(&p, req.body, meta).await?))
}

#[utoipa::path(get, path = "/api/v1/suppliers", tag = "catalog", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Supplier>), (status = 401, body = Problem)))]
pub async fn list_suppliers(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Supplier>>> {
    Ok(Json(s.app.suppliers(&p, PageRequest::parse(&page)?).await?))
}

#[utoipa::path(get, path = "/api/v1/suppliers/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Supplier), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_supplier(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Supplier>> {
    Ok(Json(s.app.supplier(&p, id).await?))
}

#[utoipa::path(post, path = "/api/v1/locations", tag = "catalog", security(("bearer" = [])), request_body = LocationInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Location), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_location(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<LocationInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(s.app.create_location(&p, req.body, meta).await?))
}

#[utoipa::path(get, path = "/api/v1/locations", tag = "catalog", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<Location>), (status = 401, body = Problem)))]
pub async fn list_locations(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Location>>> {
    Ok(Json(s.app.locations(&p, PageRequest::parse(&page)?).await?))
}

#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Location), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_location(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Location>> {
    Ok(Json(s.app.location(&p, id).await?))
}

#[utoipa::path(get, path = "/api/v1/categories", tag = "catalog", security(("bearer" = [])),
    responses((status = 200, body = Vec<Category>), (status = 401, body = Problem)))]
pub async fn list_categories(
    State(s): State<ApiState>,
    Auth(p): Auth,
) -> ApiResult<Json<Vec<Category>>> {
    Ok(Json(s.app.categories(&p).await?))
}

/// Creates a product; without `sku` one is generated from the category prefix.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", security(("bearer" = [])), request_body = ProductInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = Product), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<ProductInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    let w = s
        .app
        .save_product(&p, req.body, UpsertMode::Create, meta)
        .await?;
    Ok(created(w.map(|u: UpsertedProduct| u.product)))
}

/// Replaces a product's data; the SKU cannot change.
#[utoipa::path(put, path = "/api/v1/products/{id}", tag = "catalog", security(("bearer" = [])), request_body = ProductInput,
    params(("id" = i64, Path)),
    responses((status = 200, body = Product), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_product(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    req: Idempotent<ProductInput>,
) -> ApiResult<Json<Product>> {
    let meta = s.app.meta(&p, req.key);
    Ok(Json(
        s.app
            .save_product(&p, req.body, UpsertMode::Update(id), meta)
            .await?
            .value
            .product,
    ))
}

/// Deactivates a product: it keeps its history and stock, and leaves `?active=true` lists and critical-stock alerts.
#[utoipa::path(post, path = "/api/v1/products/{id}/deactivate", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Product), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn deactivate_product(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Product>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.set_product_active(&p, id, false, meta).await?))
}

#[utoipa::path(post, path = "/api/v1/products/{id}/activate", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Product), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn activate_product(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Product>> {
    let meta = s.app.meta(&p, None);
    Ok(Json(s.app.set_product_active(&p, id, true, meta).await?))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "catalog", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = Product), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_product(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Product>> {
    Ok(Json(s.app.product(&p, id).await?))
}

/// Lists products; `q` searches name (accents ignored), SKU and barcode.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", security(("bearer" = [])), params(ProductQuery, PageParams),
    responses((status = 200, body = Page<Product>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_products(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<ProductQuery>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<Product>>> {
    Ok(Json(
        s.app.products(&p, q, PageRequest::parse(&page)?).await?,
    ))
}

/// Imports products from CSV (`,` or `;`, UTF-8); rows are matched by SKU, then barcode.
#[utoipa::path(post, path = "/api/v1/products/import", tag = "catalog", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import_products(
    State(s): State<ApiState>,
    Auth(p): Auth,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    Ok(Json(s.app.import_products(&p, &body).await?))
}
