//! The one HTTP error type: every failure leaves as RFC 7807 problem+json with a Spanish `detail`,
//! a stable `type`, the field and rule when a field is at fault, and the request id.
//! 5xx causes are logged here and never sent to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use app::error::Shortage;

tokio::task_local! {
    /// The current request's id, so error bodies can name it.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// RFC 7807 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:almacen:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Human explanation in Spanish, fit to show to a user.
    pub detail: String,
    /// The request field at fault (JSON path, header or query parameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule the field breaks, e.g. `check_digit`, `required`, `range`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For insufficient stock: every short line with what is available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shortages: Option<Vec<Shortage>>,
    /// For insufficient stock on one line: the quantity available.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub available: Option<domain::Qty>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub problem: Box<Problem>,
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            problem: Box::new(Problem {
                kind: format!("urn:almacen:problem:{kind}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                field: None,
                rule: None,
                shortages: None,
                available: None,
                request_id: current_request_id(),
            }),
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>, rule: impl Into<String>) -> Self {
        self.problem.field = Some(field.into());
        self.problem.rule = Some(rule.into());
        self
    }

    pub fn bad_request(kind: &str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, kind, "Solicitud inválida", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "No encontrado", detail)
    }
}

impl From<app::Error> for ApiError {
    fn from(e: app::Error) -> Self {
        use app::Error as E;
        match e {
            E::Invalid {
                field,
                rule,
                message,
            } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Dato inválido",
                message,
            )
            .with_field(field, rule),
            E::UnknownReference { field, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-reference",
                "Referencia inexistente",
                message,
            )
            .with_field(field, "exists"),
            E::NotFound { entity, key } => ApiError::not_found(format!("{entity} {key} no existe")),
            E::Conflict {
                code,
                field,
                message,
            } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, code, "Conflicto", message);
                if let Some(f) = field {
                    err = err.with_field(f, code);
                }
                err
            }
            E::InsufficientStock(shortages) => {
                let detail = shortages
                    .iter()
                    .map(|s| {
                        format!(
                            "{} en {}: pedido {}, disponible {}",
                            s.sku, s.location, s.requested, s.available
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "insufficient-stock",
                    "Stock insuficiente",
                    format!("stock insuficiente: {detail}"),
                );
                err.problem.available = shortages.first().map(|s| s.available);
                err.problem.shortages = Some(shortages);
                err
            }
            E::IdempotencyMismatch => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reuse",
                "Clave de idempotencia reutilizada",
                "la clave de idempotencia ya se usó con otro contenido",
            )
            .with_field("Idempotency-Key", "same_body"),
            E::BadCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad-credentials",
                "Credenciales inválidas",
                "usuario o contraseña incorrectos",
            ),
            E::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "No autenticado",
                "falta un token válido: inicie sesión y envíe Authorization: Bearer <token>",
            ),
            E::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Sin permiso", m),
            E::RateLimited { retry_after_secs } => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Demasiados intentos",
                    format!(
                        "demasiados intentos de ingreso con este usuario: reintente en {retry_after_secs} segundos"
                    ),
                );
                err.retry_after = Some(retry_after_secs.max(1));
                err
            }
            E::Locked { retry_after_secs } => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "account-locked",
                    "Cuenta bloqueada",
                    format!(
                        "demasiados intentos fallidos: la cuenta está bloqueada por {} minutos",
                        (retry_after_secs + 59) / 60
                    ),
                );
                err.retry_after = Some(retry_after_secs.max(1));
                err
            }
            E::Unavailable(cause) => {
                tracing::warn!(%cause, "service unavailable");
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Servicio no disponible",
                    "la base de datos no está disponible en este momento; reintente en unos segundos",
                );
                err.retry_after = Some(1);
                err
            }
            E::NotInstalled(what) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_installed",
                "Función no disponible",
                what,
            ),
            E::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Error interno",
                    "ocurrió un error interno; informe el request_id al soporte",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&*self.problem).unwrap_or_default();
        let mut res = (self.status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        res
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
