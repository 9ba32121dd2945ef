//! Stylesheet and scripts compiled into the binary, so a shop without internet sees the same
//! dashboard. Names carry no hash; the version query string in the layout busts caches on upgrade.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Appended to asset URLs (`?v=`) so browsers fetch new files after an upgrade.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/app.js"),
    ),
    (
        "backoffice.css",
        "text/css; charset=utf-8",
        include_str!("../static/backoffice.css"),
    ),
    (
        "backoffice.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/backoffice.js"),
    ),
    (
        "pos.css",
        "text/css; charset=utf-8",
        include_str!("../static/pos.css"),
    ),
    (
        "pos.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/pos.js"),
    ),
    (
        "product.css",
        "text/css; charset=utf-8",
        include_str!("../static/product.css"),
    ),
    (
        "inicio.css",
        "text/css; charset=utf-8",
        include_str!("../static/inicio.css"),
    ),
    (
        "inicio.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/inicio.js"),
    ),
    (
        "stock.css",
        "text/css; charset=utf-8",
        include_str!("../static/stock.css"),
    ),
    (
        "stock.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/stock.js"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => {
            let mut res = (*body).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            res
        }
        None => (StatusCode::NOT_FOUND, "").into_response(),
    }
}
