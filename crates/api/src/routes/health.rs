//! Public health endpoints: cheap, no authentication.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub engine: &'static str,
    pub version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = Health)))]
pub async fn live(State(s): State<ApiState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        engine: s.app.store.engine(),
        version: env!("CARGO_PKG_VERSION"),
        reason: None,
    })
}

/// The database answers and every migration is applied.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn ready(State(s): State<ApiState>) -> (StatusCode, Json<Health>) {
    let store = &s.app.store;
    let reason = match tokio::time::timeout(std::time::Duration::from_secs(2), store.ping()).await {
        Err(_) => Some("la base de datos no responde".to_owned()),
        Ok(Err(e)) => Some(format!("base de datos no disponible: {e}")),
        Ok(Ok(())) => match store.pending_migrations().await {
            Ok(0) => None,
            Ok(n) => Some(format!("{n} migraciones pendientes")),
            Err(e) => Some(format!("no se pudo leer el estado de migraciones: {e}")),
        },
    };
    let status = if reason.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(Health {
            status: if reason.is_some() {
                "unavailable"
            } else {
                "ok"
            },
            engine: store.engine(),
            version: env!("CARGO_PKG_VERSION"),
            reason,
        }),
    )
}
