//! Prometheus metrics: the process-wide recorder, the separate `/metrics` listener (kept off
//! the public API port), and the sampler that refreshes gauges the request path cannot know.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use app::telemetry as names;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const HTTP_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Installs the recorder once per process (tests start several servers in one process).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(api::HTTP_DURATION.to_owned()), HTTP_BUCKETS)
        .context("configurando los buckets de latencia")?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another thread won the race; use its handle.
        return HANDLE
            .get()
            .cloned()
            .context("registro de métricas no disponible");
    }
    describe();
    let _ = HANDLE.set(handle.clone());
    Ok(handle)
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        api::HTTP_REQUESTS,
        "HTTP requests by matched route, method and status."
    );
    describe_histogram!(
        api::HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by matched route, method and status."
    );
    describe_gauge!(
        "almacen_db_pool_connections",
        "Database connections of this node by state (idle, active)."
    );
    describe_gauge!(
        "almacen_db_pool_max_connections",
        "Largest database pool size of this node."
    );
    describe_counter!(names::TICKETS, "POS tickets sold, by location.");
    describe_counter!(
        names::SALES_AMOUNT,
        "Sum of ticket totals in pesos (telemetry; the sales report is exact)."
    );
    describe_counter!(names::MOVEMENTS, "Stock movements posted, by kind.");
    describe_gauge!(
        names::CRITICAL_STOCK,
        "Products at or below min stock times the seasonal factor, all locations."
    );
    describe_gauge!(
        names::LEDGER_DRIFT,
        "Rows where the on-hand projection disagrees with the ledger (must be 0)."
    );
    describe_counter!(names::OCR_JOBS, "Supplier invoice OCR jobs by outcome.");
    describe_counter!(names::FORECAST_JOBS, "Forecast runs by outcome.");
    describe_gauge!(
        names::AGENT_LAST_SUCCESS,
        "Unix time of each background agent's last success."
    );
    describe_counter!(names::AGENT_RUNS, "Background agent runs by outcome.");
    describe_gauge!(
        names::BACKUP_LAST_SUCCESS,
        "Unix time of the last successful backup (0: never)."
    );
    describe_gauge!(
        names::BACKUP_LAST_SIZE,
        "Size in bytes of the last successful backup."
    );
    describe_gauge!(names::OUTBOX_PENDING, "Outbox events waiting for dispatch.");
    describe_gauge!(
        names::OUTBOX_DEAD_LETTERS,
        "Outbox events that exhausted their retries."
    );
    describe_gauge!(
        "almacen_disk_free_ratio",
        "Free fraction of the data directory's filesystem."
    );
    describe_gauge!(
        "almacen_build_info",
        "Always 1; labels carry the version and the storage engine."
    );
    // Series that exist before their first event, so dashboards and alerts see a 0, not a gap.
    for status in ["succeeded", "failed"] {
        metrics::counter!(names::OCR_JOBS, "status" => status).absolute(0);
        metrics::counter!(names::FORECAST_JOBS, "status" => status).absolute(0);
    }
    metrics::gauge!(names::OUTBOX_PENDING).set(0.0);
    metrics::gauge!(names::OUTBOX_DEAD_LETTERS).set(0.0);
}

/// Serves `/metrics` on its own listener until the process ends.
pub async fn serve(
    handle: PrometheusHandle,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<()> {
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    axum::serve(listener, router)
        .await
        .context("el servidor de métricas se detuvo")
}

/// Refreshes gauges the agents do not own: the pool and disk often, the last backup every minute.
pub fn spawn_sampler(app: Arc<app::App>, store: Arc<store::SqlStore>, data_dir: PathBuf) {
    let engine = app.store.engine();
    metrics::gauge!("almacen_build_info", "version" => env!("CARGO_PKG_VERSION"), "engine" => engine).set(1.0);
    metrics::gauge!(names::BACKUP_LAST_SUCCESS).set(0.0);
    metrics::gauge!(names::BACKUP_LAST_SIZE).set(0.0);
    let pool_store = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let pool = pool_store.pool();
            let size = f64::from(pool.size());
            let idle = pool.num_idle() as f64;
            metrics::gauge!("almacen_db_pool_connections", "state" => "idle").set(idle);
            metrics::gauge!("almacen_db_pool_connections", "state" => "active")
                .set((size - idle).max(0.0));
            metrics::gauge!("almacen_db_pool_max_connections")
                .set(f64::from(pool.options().get_max_connections()));
            if let Ok(s) = nix::sys::statvfs::statvfs(&data_dir)
                && s.blocks() > 0
            {
                metrics::gauge!("almacen_disk_free_ratio")
                    .set(s.blocks_available() as f64 / s.blocks() as f64);
            }
        }
    });
    let store = store.clone();
    tokio::spawn(async move {
        // Real values from the start; afterwards the scheduled critical_stock and
        // integrity_check agents keep these gauges fresh, so they are not recomputed here.
        let sys = app::Principal::system();
        if let Ok(rows) = app
            .critical_stock(&sys, app::stock::CriticalQuery::default())
            .await
        {
            names::critical_products(
                rows.iter()
                    .map(|r| r.product_id)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
            );
        }
        if let Ok(r) = app.check_ledger(&sys).await {
            names::ledger_drift(r.discrepancies.len());
        }
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Ok(Some((at, bytes))) = store.last_backup().await {
                metrics::gauge!(names::BACKUP_LAST_SUCCESS).set(at as f64 / 1_000_000.0);
                metrics::gauge!(names::BACKUP_LAST_SIZE).set(bytes as f64);
                metrics::gauge!(names::AGENT_LAST_SUCCESS, "agent" => "backup")
                    .set(at as f64 / 1_000_000.0);
            }
        }
    });
}
