//! Wiring: opens the store, builds the app and serves the HTTP API.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;

/// The app with the concrete store behind it (tools need both).
pub struct Wired {
    pub app: Arc<app::App>,
    pub store: Arc<store::SqlStore>,
}

/// Opens the database named by the config and runs pending migrations.
pub async fn wire(cfg: &Config, clock: app::Clock) -> anyhow::Result<Wired> {
    let url = cfg.normalised_database_url();
    let opts = store::StoreOptions {
        max_connections: cfg.max_connections,
        acquire_timeout: Duration::from_secs(cfg.db_acquire_timeout_secs),
        ..Default::default()
    };
    let store = Arc::new(
        store::SqlStore::open(&url, opts)
            .await
            .map_err(anyhow::Error::msg)?,
    );
    store.migrate().await.map_err(anyhow::Error::msg)?;
    let reader = Arc::new(crate::invoices::OcrReader::new(&cfg.settings.invoices));
    let app = Arc::new(
        app::App::new(store.clone(), clock, cfg.settings.clone()).with_invoice_reader(reader),
    );
    Ok(Wired { app, store })
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    app: Arc<app::App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_agents(app, Vec::new(), false, listener, shutdown).await
}

/// The API and the dashboard of one node.
pub fn router(
    app: Arc<app::App>,
    agents: Vec<app::operations::Agent>,
    secure_cookies: bool,
) -> axum::Router {
    let agents = Arc::new(agents);
    let dashboard = web::router(web::WebState {
        app: app.clone(),
        agents: agents.clone(),
        secure_cookies,
        live: web::live::Live::default(),
    });
    api::router_with(api::ApiState { app, agents }, dashboard)
}

/// Serves the API and dashboard of a node that also runs `agents` (listed at
/// `/api/v1/agents`); `secure_cookies` when it is reached over TLS.
pub async fn serve_with_agents(
    app: Arc<app::App>,
    agents: Vec<app::operations::Agent>,
    secure_cookies: bool,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = router(app, agents, secure_cookies);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("el servidor HTTP se detuvo con error")
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("apagando: se terminan las solicitudes en curso");
}
