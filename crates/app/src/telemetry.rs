//! The domain metrics the use cases emit. Their names are a contract with the alert rules and
//! dashboards in `deploy/`; a test scrapes a running node and checks every name used there.

use domain::Money;
use domain::ledger::MovementKind;

pub const TICKETS: &str = "almacen_tickets_total";
pub const SALES_AMOUNT: &str = "almacen_sales_amount_pesos_total";
pub const MOVEMENTS: &str = "almacen_stock_movements_total";
pub const CRITICAL_STOCK: &str = "almacen_critical_stock_products";
pub const LEDGER_DRIFT: &str = "almacen_ledger_drift_rows";
pub const OCR_JOBS: &str = "almacen_ocr_jobs_total";
pub const FORECAST_JOBS: &str = "almacen_forecast_jobs_total";
pub const AGENT_LAST_SUCCESS: &str = "almacen_agent_last_success_timestamp_seconds";
pub const AGENT_RUNS: &str = "almacen_agent_runs_total";
pub const BACKUP_LAST_SUCCESS: &str = "almacen_backup_last_success_timestamp_seconds";
pub const BACKUP_LAST_SIZE: &str = "almacen_backup_last_size_bytes";
pub const OUTBOX_PENDING: &str = "almacen_outbox_pending";
pub const OUTBOX_DEAD_LETTERS: &str = "almacen_outbox_dead_letters";

pub fn ticket_sold(location: &str, total: Money, lines: usize) {
    metrics::counter!(TICKETS, "location" => location.to_owned()).increment(1);
    // Telemetry, not accounting (the sales report is exact): whole pesos, rounded per ticket.
    metrics::counter!(SALES_AMOUNT, "location" => location.to_owned())
        .increment((total.minor().unsigned_abs() + 50) / 100);
    metrics::counter!(MOVEMENTS, "kind" => MovementKind::Sale.as_str()).increment(lines as u64);
}

pub fn movements_posted(kinds: impl IntoIterator<Item = MovementKind>) {
    for kind in kinds {
        metrics::counter!(MOVEMENTS, "kind" => kind.as_str()).increment(1);
    }
}

/// One forecast run finished (stored) or failed.
pub fn forecast_job(ok: bool) {
    metrics::counter!(FORECAST_JOBS, "status" => if ok { "succeeded" } else { "failed" })
        .increment(1);
}

/// One invoice scan finished: "succeeded" or "failed" (the OcrJobsFailing alert's ratio).
pub fn ocr_job(ok: bool) {
    metrics::counter!(OCR_JOBS, "status" => if ok { "succeeded" } else { "failed" }).increment(1);
}

pub fn agent_run(agent: &'static str, ok: bool, at_unix_seconds: i64) {
    metrics::counter!(AGENT_RUNS, "agent" => agent, "status" => if ok { "succeeded" } else { "failed" }).increment(1);
    if ok {
        metrics::gauge!(AGENT_LAST_SUCCESS, "agent" => agent).set(at_unix_seconds as f64);
    }
}

pub fn critical_products(n: usize) {
    metrics::gauge!(CRITICAL_STOCK).set(n as f64);
}

pub fn outbox(pending: i64, dead: i64) {
    metrics::gauge!(OUTBOX_PENDING).set(pending as f64);
    metrics::gauge!(OUTBOX_DEAD_LETTERS).set(dead as f64);
}

pub fn ledger_drift(rows: usize) {
    metrics::gauge!(LEDGER_DRIFT).set(rows as f64);
}
