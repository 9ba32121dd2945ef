//! The dashboard: server-rendered pages in Spanish (es-AR, English optional) for the owner's
//! morning look and the cashier's day, served from the binary with no CDN.
//!
//! Pages call the application layer directly; the POS screen's script talks to the JSON API
//! with the same session cookie. Everything here runs under a strict Content-Security-Policy:
//! no inline script or style, so templates use classes and `static/` files only.

pub mod assets;
pub mod csv;
pub mod error;
pub mod format;
pub mod i18n;
pub mod layout;
pub mod live;
pub mod pages;
pub mod session;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use app::App;

pub use error::PageError;
pub use i18n::Tr;
pub use session::{Submitted, Viewer};

#[derive(Clone)]
pub struct WebState {
    pub app: Arc<App>,
    /// The background agents this node runs, for the Inicio panel.
    pub agents: Arc<Vec<app::operations::Agent>>,
    /// Mark cookies Secure and send HSTS: set when served behind TLS.
    pub secure_cookies: bool,
    /// The node's live-update broadcaster for `/eventos`.
    pub live: live::Live,
}

/// Every dashboard route. The binary merges it with the API router.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/idioma", get(session::switch_language))
        .route("/static/{file}", get(assets::serve))
        .route("/eventos", get(live::events))
        .merge(pages::routes())
        .layer(middleware::from_fn_with_state(state.clone(), page_headers))
        .with_state(state)
}

/// The policy every page is served under; the tests check it, the templates obey it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn page_headers(
    axum::extract::State(state): axum::extract::State<WebState>,
    req: Request,
    next: Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    // Same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form
    // posts and fetches, and the CSRF check refuses a null origin. Other sites get nothing.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if state.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// Renders a page; a template that fails to render becomes the error page, never a raw 500.
pub fn render(page: &impl Template, t: Tr) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError::internal(t, e).into_response(),
    }
}
