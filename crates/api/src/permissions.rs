//! The one table of who may call each route, checked before any handler or body parser runs.
//!
//! The use cases check their own permissions as well; this gate makes the answer uniform (401
//! for no credentials, then 403 for the wrong role, before a body is even read) and makes the
//! route × role matrix a table a test can walk. A route missing from the table is refused:
//! adding a route means deciding who may call it.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::Principal;
use domain::auth::Permission as P;

use crate::ApiState;
use crate::error::ApiError;

/// What a route asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any signed-in caller (their own profile, logout).
    SignedIn,
    /// A role holding at least one of these.
    AnyOf(&'static [P]),
}

const fn one(p: &'static [P]) -> Access {
    Access::AnyOf(p)
}

/// Every route of the API: method, path template, access.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/health/live", Access::Public),
    ("GET", "/health/ready", Access::Public),
    ("POST", "/api/v1/auth/login", Access::Public),
    ("POST", "/api/v1/auth/logout", Access::SignedIn),
    ("GET", "/api/v1/auth/me", Access::SignedIn),
    ("GET", "/api/v1/users", one(&[P::UsersManage])),
    ("POST", "/api/v1/users", one(&[P::UsersManage])),
    ("GET", "/api/v1/api-keys", one(&[P::UsersManage])),
    ("POST", "/api/v1/api-keys", one(&[P::UsersManage])),
    ("DELETE", "/api/v1/api-keys/{id}", one(&[P::UsersManage])),
    ("GET", "/api/v1/audit", one(&[P::AuditRead])),
    ("GET", "/api/v1/suppliers", one(&[P::CatalogRead])),
    ("POST", "/api/v1/suppliers", one(&[P::CatalogWrite])),
    ("GET", "/api/v1/suppliers/{id}", one(&[P::CatalogRead])),
    ("GET", "/api/v1/locations", one(&[P::StockRead])),
    ("POST", "/api/v1/locations", one(&[P::AdminTools])),
    ("GET", "/api/v1/locations/{id}", one(&[P::StockRead])),
    ("GET", "/api/v1/categories", one(&[P::CatalogRead])),
    ("GET", "/api/v1/products", one(&[P::CatalogRead])),
    ("POST", "/api/v1/products", one(&[P::CatalogWrite])),
    ("POST", "/api/v1/products/import", one(&[P::CatalogWrite])),
    ("GET", "/api/v1/products/{id}", one(&[P::CatalogRead])),
    ("PUT", "/api/v1/products/{id}", one(&[P::CatalogWrite])),
    (
        "POST",
        "/api/v1/products/{id}/activate",
        one(&[P::CatalogWrite]),
    ),
    (
        "POST",
        "/api/v1/products/{id}/deactivate",
        one(&[P::CatalogWrite]),
    ),
    (
        "GET",
        "/api/v1/products/{id}/forecast",
        one(&[P::StockRead]),
    ),
    ("GET", "/api/v1/products/{id}/price", one(&[P::CatalogRead])),
    (
        "GET",
        "/api/v1/products/{id}/price-history",
        one(&[P::CatalogRead]),
    ),
    ("GET", "/api/v1/stock", one(&[P::StockRead])),
    ("GET", "/api/v1/stock/critical", one(&[P::StockRead])),
    ("GET", "/api/v1/stock/movements", one(&[P::StockRead])),
    (
        "POST",
        "/api/v1/stock/movements",
        one(&[P::StockWrite, P::StockCount]),
    ),
    (
        "POST",
        "/api/v1/stock/movements/batch",
        one(&[P::StockWrite, P::StockCount]),
    ),
    ("POST", "/api/v1/stock/transfers", one(&[P::StockWrite])),
    ("GET", "/api/v1/admin/ledger-check", one(&[P::AdminTools])),
    ("POST", "/api/v1/shifts", one(&[P::SalesWrite])),
    ("GET", "/api/v1/shifts/{id}", one(&[P::SalesWrite])),
    ("POST", "/api/v1/shifts/{id}/close", one(&[P::SalesWrite])),
    ("POST", "/api/v1/sales", one(&[P::SalesWrite])),
    ("GET", "/api/v1/sales/{id}", one(&[P::SalesWrite])),
    ("POST", "/api/v1/sales/{id}/returns", one(&[P::SalesWrite])),
    ("POST", "/api/v1/sales/{id}/void", one(&[P::SalesVoid])),
    ("GET", "/api/v1/purchase-orders", one(&[P::StockRead])),
    (
        "POST",
        "/api/v1/purchase-orders",
        one(&[P::PurchasingWrite]),
    ),
    ("GET", "/api/v1/purchase-orders/{id}", one(&[P::StockRead])),
    (
        "POST",
        "/api/v1/purchase-orders/{id}/send",
        one(&[P::PurchasingWrite]),
    ),
    (
        "POST",
        "/api/v1/purchase-orders/{id}/cancel",
        one(&[P::PurchasingWrite]),
    ),
    ("POST", "/api/v1/receipts", one(&[P::PurchasingWrite])),
    ("GET", "/api/v1/price-rules", one(&[P::CatalogRead])),
    ("PUT", "/api/v1/price-rules", one(&[P::PricingWrite])),
    (
        "DELETE",
        "/api/v1/price-rules/{id}",
        one(&[P::PricingWrite]),
    ),
    ("GET", "/api/v1/inflation-rates", one(&[P::CatalogRead])),
    (
        "POST",
        "/api/v1/inflation-rates/import",
        one(&[P::PricingWrite]),
    ),
    (
        "GET",
        "/api/v1/inflation-rates/projection",
        one(&[P::CatalogRead]),
    ),
    (
        "PUT",
        "/api/v1/inflation-rates/{month}",
        one(&[P::PricingWrite]),
    ),
    (
        "POST",
        "/api/v1/price-updates/preview",
        one(&[P::PricingWrite]),
    ),
    (
        "POST",
        "/api/v1/price-updates/{id}/apply",
        one(&[P::PricingWrite]),
    ),
    (
        "POST",
        "/api/v1/supplier-price-lists",
        one(&[P::PricingWrite]),
    ),
    ("POST", "/api/v1/shelf-labels", one(&[P::PricingWrite])),
    (
        "POST",
        "/api/v1/supplier-invoices/scan",
        one(&[P::PurchasingWrite]),
    ),
    (
        "GET",
        "/api/v1/supplier-invoices/jobs/{id}",
        one(&[P::PurchasingWrite]),
    ),
    (
        "POST",
        "/api/v1/supplier-invoices",
        one(&[P::PurchasingWrite]),
    ),
    (
        "GET",
        "/api/v1/supplier-invoices/{id}",
        one(&[P::PurchasingWrite]),
    ),
    (
        "PATCH",
        "/api/v1/supplier-invoices/{id}",
        one(&[P::PurchasingWrite]),
    ),
    (
        "POST",
        "/api/v1/supplier-invoices/{id}/confirm",
        one(&[P::PurchasingWrite]),
    ),
    ("GET", "/api/v1/reports/libro-iva", one(&[P::ReportsRead])),
    ("GET", "/api/v1/reports/sales", one(&[P::ReportsRead])),
    ("GET", "/api/v1/reports/stock-value", one(&[P::ReportsRead])),
    ("GET", "/api/v1/agents", one(&[P::StockRead])),
    ("GET", "/api/v1/alerts", one(&[P::StockRead])),
    ("POST", "/api/v1/alerts/{id}/read", one(&[P::StockRead])),
    ("GET", "/api/v1/outbox/dead-letters", one(&[P::AdminTools])),
    ("POST", "/api/v1/outbox/{id}/retry", one(&[P::AdminTools])),
    ("POST", "/api/v1/forecast-runs", one(&[P::PurchasingWrite])),
    ("GET", "/api/v1/forecast-runs/latest", one(&[P::StockRead])),
    (
        "GET",
        "/api/v1/replenishment/suggestions",
        one(&[P::StockRead]),
    ),
    (
        "POST",
        "/api/v1/replenishment/suggestions/{supplier}/purchase-order",
        one(&[P::PurchasingWrite]),
    ),
];

/// What `method path` asks of its caller; `None` for a route nobody declared.
pub fn access(method: &Method, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, p, _)| *p == path && *m == method.as_str())
        .map(|(_, _, a)| *a)
}

/// Whether `principal` passes `access`.
pub fn allows(access: Access, principal: &Principal) -> bool {
    match access {
        Access::Public | Access::SignedIn => true,
        Access::AnyOf(ps) => ps.iter().any(|p| principal.role.allows(*p)),
    }
}

/// The gate: authenticates once (the handler's `Auth` reuses the result) and checks the table.
pub async fn authorize(
    State(state): State<ApiState>,
    path: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(path) = path else {
        return next.run(req).await;
    };
    let access = match access(req.method(), path.as_str()) {
        Some(Access::Public) => return next.run(req).await,
        Some(a) => a,
        None => {
            tracing::error!(method = %req.method(), path = path.as_str(), "route missing from the permission table");
            return ApiError::from(app::Error::Forbidden("la ruta no declara permisos".into()))
                .into_response();
        }
    };
    let principal = match crate::extract::authenticate(req.headers(), &state).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    if !allows(access, &principal) {
        return ApiError::from(app::Error::Forbidden(format!(
            "el rol {} no tiene permiso para esta acción",
            principal.role.label_es()
        )))
        .into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}
