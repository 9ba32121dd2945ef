//! Request extractors: the caller's identity, JSON bodies whose errors name the field, and
//! idempotency keys bound to the exact request they came with.

use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use app::{IdempotencyKey, Principal};

use crate::ApiState;
use crate::error::ApiError;

/// Name of the dashboard's session cookie; the API accepts it as well as a Bearer token.
pub const SESSION_COOKIE: &str = "almacen_session";

/// The authenticated caller. Missing or invalid credentials are a 401 before the handler runs.
pub struct Auth(pub Principal);

pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let mut it = v.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (it.next(), it.next())
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Some(token.trim().to_owned());
        }
        return None;
    }
    cookie(headers, SESSION_COOKIE)
}

/// The value of the request's cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The caller named by the request's bearer token or session cookie.
pub async fn authenticate(headers: &HeaderMap, state: &ApiState) -> Result<Principal, ApiError> {
    let token = bearer_token(headers).ok_or(app::Error::Unauthenticated)?;
    Ok(state.app.authenticate(&token).await?)
}

impl FromRequestParts<ApiState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        // The permission gate already authenticated this request.
        if let Some(p) = parts.extensions.remove::<Principal>() {
            return Ok(Auth(p));
        }
        Ok(Auth(authenticate(&parts.headers, state).await?))
    }
}

/// A JSON body; syntax errors are 400, shape errors 422 naming the JSON path of the field.
pub struct ApiJson<T>(pub T);

fn body_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Cuerpo demasiado grande",
            "el cuerpo de la solicitud supera el tamaño permitido",
        )
    } else {
        ApiError::bad_request("unreadable-body", format!("no se pudo leer el cuerpo: {e}"))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "malformed-json",
                format!(
                    "JSON mal formado (línea {}, columna {})",
                    inner.line(),
                    inner.column()
                ),
            ),
            Category::Data => {
                let msg = inner.to_string();
                let (rule, detail) = if msg.starts_with("missing field") {
                    let name = msg.split('`').nth(1).unwrap_or("?");
                    let field = if path == "." {
                        name.to_owned()
                    } else {
                        format!("{path}.{name}")
                    };
                    return ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "validation",
                        "Dato inválido",
                        format!("falta el campo obligatorio {field}"),
                    )
                    .with_field(field, "required");
                } else if msg.starts_with("unknown field") {
                    ("unknown_field", format!("campo desconocido en {path}"))
                } else if msg.starts_with("invalid type") {
                    (
                        "type",
                        format!(
                            "tipo inválido en {path}: {}",
                            msg.split(" at line").next().unwrap_or(&msg)
                        ),
                    )
                } else {
                    (
                        "format",
                        format!(
                            "valor inválido en {path}: {}",
                            msg.split(" at line").next().unwrap_or(&msg)
                        ),
                    )
                };
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Dato inválido",
                    detail,
                )
                .with_field(path, rule)
            }
        }
    })
}

fn require_json(req: &Request) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Tipo de contenido no soportado",
            "envíe el cuerpo como application/json",
        )
        .with_field("Content-Type", "application_json"))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(&req)?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        Ok(ApiJson(parse_json(&bytes)?))
    }
}

/// A JSON body together with its optional `Idempotency-Key`; the key's fingerprint covers the
/// method, the path and the exact body, so reusing a key for another request is detected.
pub struct Idempotent<T> {
    pub key: Option<IdempotencyKey>,
    pub body: T,
}

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

pub fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Idempotent<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(&req)?;
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let raw_key = match req.headers().get(IDEMPOTENCY_HEADER) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| {
                        ApiError::from(app::Error::invalid(
                            "Idempotency-Key",
                            "format",
                            "clave de idempotencia inválida",
                        ))
                    })?
                    .to_owned(),
            ),
        };
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        let key = raw_key
            .map(|k| IdempotencyKey::parse(&k, fingerprint(&method, &path, &bytes)))
            .transpose()?;
        Ok(Idempotent {
            key,
            body: parse_json(&bytes)?,
        })
    }
}

/// Query parameters whose errors are problem+json naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> ApiError {
    let text = e.body_text();
    let detail = text
        .trim_start_matches("Failed to deserialize query string: ")
        .to_owned();
    let field = detail
        .split(':')
        .next()
        .unwrap_or("query")
        .trim()
        .to_owned();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
        "Parámetro inválido",
        format!("parámetro de consulta inválido: {detail}"),
    )
    .with_field(field, "format")
}
