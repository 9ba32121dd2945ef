//! Decoding helpers and the mapping from sqlx errors to the app's error type.

use app::Error;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Marks a transient failure that the PostgreSQL write path retries.
pub(crate) const RETRYABLE_MARK: &str = "[reintentable]";

pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40001") | Some("40P01")))
}

/// Turns a driver error into a use-case error: unavailability is a 503 the client may retry,
/// everything unexpected is an internal error whose cause is logged, never shown.
pub fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => Error::Unavailable(format!("base de datos no disponible ({e})")),
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            if is_retryable(&e) {
                Error::Unavailable(format!(
                    "{RETRYABLE_MARK} conflicto de concurrencia ({code})"
                ))
            } else if code == "5"
                || code == "6"
                || code == "517"
                || code.starts_with("57P")
                || code.starts_with("08")
            {
                // SQLITE_BUSY / SQLITE_LOCKED, PostgreSQL shutting down or connection failures.
                Error::Unavailable(format!("base de datos ocupada o no disponible ({code})"))
            } else if d.is_unique_violation() {
                Error::conflict("duplicate", None, "ya existe un registro con esos datos")
            } else {
                Error::Internal(format!("error de base de datos: {e}"))
            }
        }
        _ => Error::Internal(format!("error de base de datos: {e}")),
    }
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> app::Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get::<T, _>(col)
        .map_err(|e| Error::Internal(format!("columna {col}: {e}")))
}

pub(crate) fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

pub(crate) fn date(raw: Option<String>) -> app::Result<Option<NaiveDate>> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|e| Error::Internal(format!("fecha {s}: {e}")))
        })
        .transpose()
}

pub(crate) fn date_text(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.format("%Y-%m-%d").to_string())
}

/// "$1, $2, …" starting at `first`, for IN lists.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a value the database holds in its canonical text form.
pub(crate) fn parsed<T, E: std::fmt::Display>(col: &str, r: Result<T, E>) -> app::Result<T> {
    r.map_err(|e| Error::Internal(format!("valor inválido en {col}: {e}")))
}

/// IVA rates are stored as basis points (2100 = 21 %).
pub(crate) fn vat_from_bp(bp: i64) -> app::Result<domain::catalog::VatRate> {
    domain::catalog::VatRate::ALL
        .iter()
        .copied()
        .find(|r| r.basis_points() == bp)
        .ok_or_else(|| Error::Internal(format!("alícuota desconocida {bp}")))
}
