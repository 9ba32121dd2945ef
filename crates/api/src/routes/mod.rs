//! Route handlers, one module per bounded context.

pub mod access;
pub mod catalog;
pub mod forecast;
pub mod health;
pub mod invoices;
pub mod operations;
pub mod pricing;
pub mod purchasing;
pub mod reports;
pub mod sales;
pub mod stock;

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use app::Written;

/// 201 with the created resource; a replayed idempotent request says so in a header.
pub fn created<T: Serialize>(w: Written<T>) -> Response {
    let mut res = (StatusCode::CREATED, Json(w.value)).into_response();
    if w.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}
