//! Who is looking at a page: the session cookie, the CSRF token bound to it, the login and
//! logout forms.
//!
//! The session cookie holds the same revocable token the API issues (HttpOnly, SameSite=Strict,
//! Secure behind TLS). Every form carries a CSRF token derived from that secret token, so a page
//! on another site can neither read nor forge it; the login form, which has no session yet, uses
//! a double-submit cookie instead.

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use rand::RngCore;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use app::Principal;
use domain::auth::Permission;

use crate::error::PageError;
use crate::i18n::{Lang, Tr};
use crate::layout::Chrome;
use crate::{WebState, render};

pub use api::extract::SESSION_COOKIE;
const LOGIN_CSRF_COOKIE: &str = "almacen_login_csrf";
/// Largest form body; forms are small, files go to the API.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub use api::extract::cookie;

fn csrf_for(session_token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"almacen-csrf\0");
    h.update(session_token.as_bytes());
    hex::encode(&h.finalize()[..20])
}

/// Compares two secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    same(a, b)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in user looking at the dashboard.
pub struct Viewer {
    pub principal: Principal,
    pub csrf: String,
    pub t: Tr,
}

impl Viewer {
    pub fn can(&self, p: Permission) -> bool {
        self.principal.role.allows(p)
    }

    /// Refuses the page with 403 when the role lacks `p`.
    pub fn require(&self, p: Permission) -> Result<(), PageError> {
        self.principal
            .require(p)
            .map_err(|e| PageError::from_app(e, self.t))
    }

    /// The page frame (menu, user, CSRF token) for a page of `section`.
    pub fn chrome(&self, section: &'static str, title: &'static str) -> Chrome {
        Chrome::new(self, section, title)
    }
}

/// Where an anonymous visitor goes: the login page, coming back afterwards.
pub struct ToLogin(String);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", url_encode(&self.0))).into_response()
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<WebState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let t = Tr(Lang::from_headers(&parts.headers));
        let back = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned()
        } else {
            "/".to_owned()
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ToLogin(back).into_response());
        };
        match state.app.authenticate(&token).await {
            Ok(principal) => Ok(Viewer {
                principal,
                csrf: csrf_for(&token),
                t,
            }),
            Err(app::Error::Unauthenticated | app::Error::BadCredentials) => {
                Err(ToLogin(back).into_response())
            }
            Err(e) => Err(PageError::from_app(e, t).into_response()),
        }
    }
}

/// A form posted by a signed-in user, its CSRF token checked before the handler runs.
pub struct Submitted<T> {
    pub viewer: Viewer,
    pub form: T,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// Rejects a request whose `Origin` names another site (browsers send it on every POST).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, rest)| rest)
        .trim_end_matches('/');
    origin != "null" && origin_host.eq_ignore_ascii_case(host)
}

impl<T: DeserializeOwned> FromRequest<WebState> for Submitted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let t = viewer.t;
        if !same_origin(&parts.headers) {
            return Err(PageError::csrf(t).into_response());
        }
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| PageError::too_large(t).into_response())?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or(CsrfField {
            csrf: String::new(),
        });
        if !same(&field.csrf, &viewer.csrf) {
            return Err(PageError::csrf(t).into_response());
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| PageError::bad_form(t, &e.to_string()).into_response())?;
        Ok(Submitted { viewer, form })
    }
}

impl Viewer {
    /// Checks a token and the Origin of a request whose body is not a urlencoded form (a file
    /// upload): the same rule [`Submitted`] applies.
    pub fn check_form(&self, headers: &HeaderMap, token: &str) -> Result<(), PageError> {
        if same_origin(headers) && same(token, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::csrf(self.t))
        }
    }
}

/// Builds a cookie with the attributes every cookie of ours carries.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("almacen_invalid=; Max-Age=0"))
}

/// Whether cookies must be Secure: configured, or the request came through a TLS proxy.
pub fn secure(state: &WebState, headers: &HeaderMap) -> bool {
    state.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

// ---------------------------------------------------------------- login and logout

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: Tr,
    csrf: &'a str,
    next: &'a str,
    username: &'a str,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only paths of this site are followed after login, never another host.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub async fn login_form(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let t = Tr(Lang::from_headers(&headers));
    let csrf = cookie(&headers, LOGIN_CSRF_COOKIE)
        .filter(|c| c.len() == 32)
        .unwrap_or_else(random_hex);
    let page = LoginPage {
        t,
        csrf: &csrf,
        next: safe_next(q.next.as_deref()),
        username: "",
        error: None,
    };
    let mut res = render(&page, t);
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, secure(&state, &headers)),
    );
    res
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

pub async fn login(State(state): State<WebState>, headers: HeaderMap, body: Bytes) -> Response {
    let t = Tr(Lang::from_headers(&headers));
    let form: LoginForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return PageError::bad_form(t, &e.to_string()).into_response(),
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if !same_origin(&headers) || expected.is_empty() || !same(&expected, &form.csrf) {
        return PageError::csrf(t).into_response();
    }
    let next = safe_next(form.next.as_deref()).to_owned();
    let again = |status: StatusCode, error: String| {
        let page = LoginPage {
            t,
            csrf: &expected,
            next: &next,
            username: &form.username,
            error: Some(error),
        };
        let mut res = render(&page, t);
        *res.status_mut() = status;
        res
    };
    let input = app::auth::LoginInput {
        username: form.username.clone(),
        password: form.password.clone(),
    };
    match state.app.login(input).await {
        Ok(done) => {
            let max_age = (done.expires_at - state.app.clock.now())
                .num_seconds()
                .max(0);
            let mut res = Redirect::to(&next).into_response();
            let secure = secure(&state, &headers);
            let h = res.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &done.token, max_age, secure),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
            );
            res
        }
        Err(app::Error::BadCredentials) => again(
            StatusCode::UNAUTHORIZED,
            t.s("Usuario o contraseña incorrectos.").to_owned(),
        ),
        Err(app::Error::RateLimited { retry_after_secs }) => again(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{} {retry_after_secs} s.",
                t.s("Demasiados intentos seguidos; reintente en")
            ),
        ),
        Err(app::Error::Locked { retry_after_secs }) => again(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "{} {}.",
                t.s("Cuenta bloqueada por demasiados intentos. Reintente en"),
                minutes(retry_after_secs, t)
            ),
        ),
        Err(e) => PageError::from_app(e, t).into_response(),
    }
}

fn minutes(secs: i64, t: Tr) -> String {
    let m = (secs + 59) / 60;
    if m <= 1 {
        t.s("1 minuto").to_owned()
    } else {
        format!("{m} {}", t.s("minutos"))
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

pub async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Submitted { viewer, .. }: Submitted<NoFields>,
) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.app.logout(&token).await
    {
        return PageError::from_app(e, viewer.t).into_response();
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, secure(&state, &headers)),
    );
    res
}

#[derive(Deserialize)]
pub struct LangQuery {
    to: Option<String>,
    next: Option<String>,
}

/// Switches the language; a preference, not a state change worth a CSRF token.
pub async fn switch_language(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = if q.to.as_deref() == Some("en") {
        "en"
    } else {
        "es"
    };
    let mut res = Redirect::to(safe_next(q.next.as_deref())).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            crate::i18n::LANG_COOKIE,
            lang,
            365 * 86_400,
            secure(&state, &headers),
        ),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/productos?q=a")), "/productos?q=a");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        assert_eq!(csrf_for("a"), csrf_for("a"));
        assert_ne!(csrf_for("a"), csrf_for("b"));
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }

    #[test]
    fn other_origins_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("shop.local:8080"));
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://shop.local:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
