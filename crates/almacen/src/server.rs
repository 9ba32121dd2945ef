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
    let mut app =
        app::App::new(store.clone(), clock, cfg.settings.clone()).with_invoice_reader(reader);
    let redis = match cfg.redis_url.trim() {
        "" => None,
        url => Some(crate::coordination::RedisCoordination::new(url)?),
    };
    if let Some(r) = &redis {
        app = app.with_coordination(r.clone());
    }
    let app = Arc::new(app);
    if let Some(r) = redis {
        r.listen(Arc::downgrade(&app));
    }
    Ok(Wired { app, store })
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    app: Arc<app::App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with_agents(app, Vec::new(), &HttpOptions::default(), listener, shutdown).await
}

/// How a node's HTTP side faces its clients.
#[derive(Clone, Debug, Default)]
pub struct HttpOptions {
    /// Dashboard cookies marked Secure and HSTS sent (clients reach the node over TLS).
    pub secure_cookies: bool,
    /// Browser origins (`https://panel.example.com`) allowed to call the API cross-site;
    /// empty allows none.
    pub cors_origins: Vec<String>,
}

impl HttpOptions {
    pub fn of(cfg: &Config) -> HttpOptions {
        HttpOptions {
            secure_cookies: cfg.secure_cookies,
            cors_origins: cfg.cors_origins.clone(),
        }
    }
}

/// The API and the dashboard of one node.
pub fn router(
    app: Arc<app::App>,
    agents: Vec<app::operations::Agent>,
    opts: &HttpOptions,
) -> axum::Router {
    use axum::http::{HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    use tower_http::set_header::SetResponseHeaderLayer;

    let agents = Arc::new(agents);
    let dashboard = web::router(web::WebState {
        app: app.clone(),
        agents: agents.clone(),
        secure_cookies: opts.secure_cookies,
        live: web::live::Live::default(),
    });
    let mut router = api::router_with(api::ApiState { app, agents }, dashboard);
    if opts.secure_cookies {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    let origins: Vec<HeaderValue> = opts
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    if !origins.is_empty() {
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    header::HeaderName::from_static("idempotency-key"),
                ])
                .max_age(std::time::Duration::from_secs(600)),
        );
    }
    router
}

/// Serves the API and dashboard of a node that also runs `agents` (listed at
/// `/api/v1/agents`).
pub async fn serve_with_agents(
    app: Arc<app::App>,
    agents: Vec<app::operations::Agent>,
    opts: &HttpOptions,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = router(app, agents, opts);
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
