//! almacen's HTTP API: the `/api/v1` routers of every context, the public health endpoints,
//! the OpenAPI document generated from the handlers and its offline UI.

pub mod error;
pub mod extract;
pub mod permissions;
pub mod routes;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use app::App;

pub use error::{ApiError, Problem};

#[derive(Clone)]
pub struct ApiState {
    pub app: Arc<App>,
    /// The background agents this node runs, for `GET /api/v1/agents`.
    pub agents: Arc<Vec<app::operations::Agent>>,
}

/// Largest JSON or CSV body accepted; bigger ones get 413.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "almacen", description = "Inventario y back office para comercios argentinos. Dinero y cantidades viajan como texto decimal (\"1234.56\")."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sesiones, usuarios, claves de API y auditoría"),
        (name = "catalog", description = "Depósito: catálogo"),
        (name = "stock", description = "Depósito: libro de movimientos de stock"),
        (name = "sales", description = "Negocio: caja, tickets, devoluciones"),
        (name = "purchasing", description = "Negocio: órdenes de compra y recepción"),
        (name = "reports", description = "Negocio: valorización y ventas"),
        (name = "pricing", description = "Negocio: precios, inflación, listas de proveedores y etiquetas"),
        (name = "operations", description = "Operación: agentes, alertas y eventos"),
        (name = "forecast", description = "Pronóstico de demanda y sugerencias de compra"),
        (name = "health", description = "Salud del servicio (público)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route with its OpenAPI description; the spec cannot drift from the router.
pub fn api_router() -> OpenApiRouter<ApiState> {
    use routes::{
        access, catalog, forecast, health, invoices, operations, pricing, purchasing, reports,
        sales, stock,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(access::login))
        .routes(routes!(access::logout))
        .routes(routes!(access::me))
        .routes(routes!(access::create_user, access::list_users))
        .routes(routes!(access::create_api_key, access::list_api_keys))
        .routes(routes!(access::revoke_api_key))
        .routes(routes!(access::audit))
        .routes(routes!(catalog::create_supplier, catalog::list_suppliers))
        .routes(routes!(catalog::get_supplier))
        .routes(routes!(catalog::create_location, catalog::list_locations))
        .routes(routes!(catalog::get_location))
        .routes(routes!(catalog::list_categories))
        .routes(routes!(catalog::create_product, catalog::list_products))
        .routes(routes!(catalog::get_product, catalog::update_product))
        .routes(routes!(catalog::deactivate_product))
        .routes(routes!(catalog::activate_product))
        .routes(routes!(catalog::import_products))
        .routes(routes!(stock::post_movement, stock::list_movements))
        .routes(routes!(stock::post_batch))
        .routes(routes!(stock::post_transfer))
        .routes(routes!(stock::levels))
        .routes(routes!(stock::critical))
        .routes(routes!(stock::ledger_check))
        .routes(routes!(sales::open_shift))
        .routes(routes!(sales::get_shift))
        .routes(routes!(sales::close_shift))
        .routes(routes!(sales::sell))
        .routes(routes!(sales::get_sale))
        .routes(routes!(sales::return_sale))
        .routes(routes!(sales::void_sale))
        .routes(routes!(purchasing::create, purchasing::list))
        .routes(routes!(purchasing::get))
        .routes(routes!(purchasing::send))
        .routes(routes!(purchasing::cancel))
        .routes(routes!(purchasing::receive))
        .routes(routes!(pricing::list_rules, pricing::save_rule))
        .routes(routes!(pricing::delete_rule))
        .routes(routes!(pricing::price_history))
        .routes(routes!(pricing::price_at))
        .routes(routes!(pricing::list_rates))
        .routes(routes!(pricing::save_rate))
        .routes(routes!(pricing::import_rates))
        .routes(routes!(pricing::projection))
        .routes(routes!(pricing::preview))
        .routes(routes!(pricing::apply))
        .routes(routes!(pricing::supplier_list))
        .routes(routes!(pricing::shelf_labels))
        .merge(
            // Invoice files are bigger than JSON bodies; only this route takes them.
            OpenApiRouter::new()
                .routes(routes!(invoices::scan))
                .layer(DefaultBodyLimit::max(invoices::MAX_UPLOAD_BYTES)),
        )
        .routes(routes!(invoices::job))
        .routes(routes!(invoices::create))
        .routes(routes!(invoices::get, invoices::correct))
        .routes(routes!(invoices::confirm))
        .routes(routes!(invoices::libro_iva))
        .routes(routes!(reports::stock_value))
        .routes(routes!(reports::sales))
        .routes(routes!(operations::agents))
        .routes(routes!(operations::alerts))
        .routes(routes!(operations::read_alert))
        .routes(routes!(operations::dead_letters))
        .routes(routes!(operations::retry_event))
        .routes(routes!(forecast::run))
        .routes(routes!(forecast::latest))
        .routes(routes!(forecast::product))
        .routes(routes!(forecast::suggestions))
        .routes(routes!(forecast::order))
}

/// The OpenAPI 3.1 document, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// The complete HTTP API.
pub fn router(state: ApiState) -> Router {
    router_with(state, Router::new())
}

/// The API together with `pages` (the dashboard), all under the same request context:
/// request ids, metrics, logs and security headers.
pub fn router_with(state: ApiState, pages: Router) -> Router {
    let (api, spec) = api_router().split_for_parts();
    api.route_layer(middleware::from_fn_with_state(
        state.clone(),
        permissions::authorize,
    ))
    .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", spec))
    .with_state(state)
    .merge(pages)
    .fallback(not_found)
    .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
    .layer(middleware::from_fn(request_context))
}

async fn not_found() -> ApiError {
    ApiError::not_found("la ruta no existe")
}

pub const HTTP_REQUESTS: &str = "almacen_http_requests_total";
pub const HTTP_DURATION: &str = "almacen_http_request_duration_seconds";

static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

fn request_id_of(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Gives every request an id (taken from `x-request-id` when sane), a tracing span that
/// carries it, a log line with status and latency, security headers, and problem+json for
/// any error response produced outside our handlers (unknown method, bad path parameter...).
async fn request_context(req: Request, next: Next) -> Response {
    let id = request_id_of(&req);
    // The route template, not the raw path, keeps the label set small.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let is_docs = req.uri().path().starts_with("/api/docs");
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = Instant::now();
    let fut = error::REQUEST_ID.scope(id.clone(), async move {
        let res = next.run(req).await;
        normalise_error(res).await
    });
    let mut res = fut.instrument(span.clone()).await;
    let status = res.status();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), ms, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), ms, "request");
        }
    });
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(REQUEST_ID_HEADER.clone(), v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The dashboard sets its own (same-origin: with no-referrer browsers send `Origin: null`
    // on form posts, which its CSRF check must refuse).
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The dashboard sets its own policy; JSON needs none of the web's powers, and the API
    // explorer needs its own scripts and the inline styles Swagger UI sets.
    let csp = if is_docs {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
    };
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(csp));
    res
}

async fn normalise_error(res: Response) -> Response {
    let status = res.status();
    // Our handlers answer errors in JSON already (problem+json, or the health report), and the
    // dashboard answers its own errors with an HTML page.
    let is_problem = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(b"application/problem+json")
            || v.as_bytes().starts_with(b"application/json")
            || v.as_bytes().starts_with(b"text/html")
    });
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let (_, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let (kind, title, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "Método no permitido",
            "el método no está permitido en esta ruta".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload-too-large",
            "Cuerpo demasiado grande",
            "el cuerpo de la solicitud supera el tamaño permitido".to_owned(),
        ),
        StatusCode::NOT_FOUND => ("not-found", "No encontrado", "la ruta no existe".to_owned()),
        s if s.is_server_error() => (
            "internal",
            "Error interno",
            "ocurrió un error interno; informe el request_id al soporte".to_owned(),
        ),
        _ => (
            "bad-request",
            "Solicitud inválida",
            if text.is_empty() {
                "solicitud inválida".to_owned()
            } else {
                text
            },
        ),
    };
    let mut err = ApiError::new(status, kind, title, detail);
    if status == StatusCode::BAD_REQUEST && err.problem.detail.contains("path") {
        err = err.with_field("path", "format");
    }
    let mut out = err.into_response();
    *out.status_mut() = status;
    out
}
