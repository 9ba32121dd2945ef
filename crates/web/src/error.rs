//! Pages that went wrong: a page in the user's language with what happened and the request id,
//! never a raw 500 or a stack trace. Causes of 5xx are logged, not shown.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::i18n::Tr;

#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub t: Tr,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr,
    status: u16,
    title: &'a str,
    detail: &'a str,
    request_id: String,
}

impl PageError {
    pub fn new(t: Tr, status: StatusCode, title: &str, detail: impl Into<String>) -> PageError {
        PageError {
            status,
            title: title.to_owned(),
            detail: detail.into(),
            t,
        }
    }

    pub fn not_found(t: Tr, what: &str) -> PageError {
        PageError::new(t, StatusCode::NOT_FOUND, t.s("No encontrado"), what)
    }

    pub fn csrf(t: Tr) -> PageError {
        PageError::new(
            t,
            StatusCode::FORBIDDEN,
            t.s("Formulario vencido"),
            t.s("El formulario no es válido o venció. Vuelva a la página e intente de nuevo."),
        )
    }

    pub fn too_large(t: Tr) -> PageError {
        PageError::new(
            t,
            StatusCode::PAYLOAD_TOO_LARGE,
            t.s("Formulario demasiado grande"),
            t.s("Los datos enviados superan el tamaño permitido."),
        )
    }

    pub fn bad_form(t: Tr, why: &str) -> PageError {
        PageError::new(
            t,
            StatusCode::BAD_REQUEST,
            t.s("Formulario inválido"),
            format!("{}: {why}", t.s("No se pudo leer el formulario")),
        )
    }

    pub fn internal(t: Tr, cause: impl std::fmt::Display) -> PageError {
        tracing::error!(%cause, "page failed");
        PageError::new(
            t,
            StatusCode::INTERNAL_SERVER_ERROR,
            t.s("Error interno"),
            t.s("Ocurrió un error inesperado. Informe el número de solicitud a soporte."),
        )
    }

    pub fn from_app(e: app::Error, t: Tr) -> PageError {
        use app::Error as E;
        match e {
            E::Invalid { message, .. } | E::UnknownReference { message, .. } => PageError::new(
                t,
                StatusCode::UNPROCESSABLE_ENTITY,
                t.s("Dato inválido"),
                message,
            ),
            E::NotFound { entity, key } => {
                PageError::not_found(t, &format!("{entity} {key} {}", t.s("no existe")))
            }
            E::Conflict { message, .. } => {
                PageError::new(t, StatusCode::CONFLICT, t.s("Conflicto"), message)
            }
            e @ E::InsufficientStock(_) => PageError::new(
                t,
                StatusCode::CONFLICT,
                t.s("Stock insuficiente"),
                e.to_string(),
            ),
            E::IdempotencyMismatch => PageError::new(
                t,
                StatusCode::UNPROCESSABLE_ENTITY,
                t.s("Operación repetida"),
                t.s("Esta operación ya se registró con otros datos."),
            ),
            E::BadCredentials | E::Unauthenticated => PageError::new(
                t,
                StatusCode::UNAUTHORIZED,
                t.s("Sesión vencida"),
                t.s("Inicie sesión de nuevo."),
            ),
            E::Forbidden(_) => PageError::new(
                t,
                StatusCode::FORBIDDEN,
                t.s("Sin permiso"),
                t.s("Su rol no tiene permiso para ver esta página o hacer esta acción."),
            ),
            E::Locked { .. } => PageError::new(
                t,
                StatusCode::TOO_MANY_REQUESTS,
                t.s("Cuenta bloqueada"),
                t.s("Demasiados intentos fallidos; espere unos minutos."),
            ),
            E::RateLimited { retry_after_secs } => PageError::new(
                t,
                StatusCode::TOO_MANY_REQUESTS,
                t.s("Demasiados intentos"),
                format!(
                    "{} {retry_after_secs} s.",
                    t.s("Demasiados intentos seguidos; reintente en")
                ),
            ),
            E::Unavailable(cause) => {
                tracing::warn!(%cause, "page unavailable");
                PageError::new(
                    t,
                    StatusCode::SERVICE_UNAVAILABLE,
                    t.s("Servicio no disponible"),
                    t.s("La base de datos no responde. Reintente en unos segundos."),
                )
            }
            E::NotInstalled(what) => PageError::new(
                t,
                StatusCode::SERVICE_UNAVAILABLE,
                t.s("Función no instalada"),
                what,
            ),
            E::Internal(cause) => PageError::internal(t, cause),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let page = ErrorPage {
            t: self.t,
            status: self.status.as_u16(),
            title: &self.title,
            detail: &self.detail,
            request_id: api::error::current_request_id().unwrap_or_default(),
        };
        let html = page.render().unwrap_or_else(|_| {
            // The error page itself failed: plain text still names the request.
            format!("Error {} — {}", self.status.as_u16(), page.request_id)
        });
        let mut res = axum::response::Html(html).into_response();
        *res.status_mut() = self.status;
        res
    }
}
