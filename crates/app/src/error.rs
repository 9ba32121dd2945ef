//! The one error type of the use cases; the API maps each variant to a status code.

use serde::Serialize;
use utoipa::ToSchema;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stock line that could not be served, reported back in a 409.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Shortage {
    /// Position of the line in the request (0-based).
    pub line: usize,
    pub product_id: i64,
    pub sku: String,
    pub location: String,
    pub lot: Option<String>,
    #[schema(value_type = String, example = "3")]
    pub requested: domain::Qty,
    #[schema(value_type = String, example = "1")]
    pub available: domain::Qty,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is well-formed but a field breaks a rule.
    #[error("{field}: {message}")]
    Invalid {
        field: String,
        rule: &'static str,
        message: String,
    },
    /// A field names something that does not exist (a product, a location, ...).
    #[error("{field}: {message}")]
    UnknownReference { field: String, message: String },
    #[error("{entity} {key} no existe")]
    NotFound { entity: &'static str, key: String },
    /// The write would break a uniqueness or state rule.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    #[error("stock insuficiente")]
    InsufficientStock(Vec<Shortage>),
    #[error("la clave de idempotencia ya se usó con otro contenido")]
    IdempotencyMismatch,
    #[error("credenciales inválidas")]
    BadCredentials,
    #[error("no autenticado")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("cuenta bloqueada temporalmente")]
    Locked { retry_after_secs: i64 },
    /// Too many attempts in a short window (counted across nodes when they share Redis).
    #[error("demasiados intentos")]
    RateLimited { retry_after_secs: i64 },
    /// The database is unreachable or overloaded; the client may retry.
    #[error("servicio no disponible: {0}")]
    Unavailable(String),
    /// A capability this server lacks (e.g. OCR without Tesseract); other features still work.
    #[error("{0}")]
    NotInstalled(String),
    #[error("error interno: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(
        field: impl Into<String>,
        rule: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Error::Invalid {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }

    pub fn unknown(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::UnknownReference {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, field: Option<&str>, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Names a field inside a list item: `sku` under `lines[2]` is `lines[2].sku`.
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Error::Invalid {
                field,
                rule,
                message,
            } if !prefix.is_empty() => Error::Invalid {
                field: format!("{prefix}.{field}"),
                rule,
                message,
            },
            other => other,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }
}

/// Lifts a domain parse error into a field error, keeping the domain's rule slug.
pub trait FieldContext<T> {
    fn field(self, field: &str) -> Result<T>;
}

macro_rules! impl_field_context {
    ($($err:ty),* $(,)?) => {$(
        impl<T> FieldContext<T> for std::result::Result<T, $err> {
            fn field(self, field: &str) -> Result<T> {
                self.map_err(|e| Error::invalid(field, e.rule(), e.to_string()))
            }
        }
    )*};
}

impl_field_context!(
    domain::MoneyError,
    domain::QtyError,
    domain::CuitError,
    domain::invoice::InvoiceError,
    domain::GtinError,
    domain::SkuError,
    domain::catalog::CatalogError,
    domain::ledger::LedgerError,
    domain::auth::AuthError,
    domain::sale::SaleError,
    domain::pricing::PricingError,
);
