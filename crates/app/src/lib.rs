//! almacen's application layer: the use cases of every bounded context, the storage port they
//! need, and the settings they run under. No SQL and no HTTP here.

pub mod audit;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod coordination;
pub mod dashboard;
pub mod error;
pub mod forecast;
pub mod import;
pub mod invoices;
pub mod labels;
pub mod operations;
pub mod page;
pub mod ports;
pub mod price_lists;
pub mod pricing;
pub mod purchasing;
pub mod reports;
pub mod sales;
pub mod stock;
pub mod telemetry;
pub mod write;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use clock::Clock;
pub use error::{Error, Result};
pub use ports::Store;
pub use write::{IdempotencyKey, Principal, WriteMeta, Written};

/// Timestamps in the store are microseconds since the epoch.
pub fn clock_instant(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Business settings of the use cases (the binary reads them from config).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub seasonal: domain::season::SeasonalFactors,
    pub login: auth::LoginPolicy,
    pub sales: sales::SalesSettings,
    pub pricing: pricing::PricingSettings,
    pub forecast: forecast::ForecastSettings,
    pub invoices: invoices::InvoiceSettings,
}

/// The application: the store, the clock and the settings every use case shares.
pub struct App {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub settings: Settings,
    principals: auth::PrincipalCache,
    /// Shared rate-limit counters and cache invalidation across nodes (Redis), if configured.
    coordination: Option<Arc<dyn coordination::Coordination>>,
    /// This node's own counters: the fallback when coordination is absent or down.
    local_counters: coordination::LocalCounters,
    /// Reads scanned invoices; `None` (or not installed) leaves manual entry only.
    invoice_reader: Option<Arc<dyn invoices::InvoiceReader>>,
    /// Bounds how many scans run at once.
    scan_permits: Arc<tokio::sync::Semaphore>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Clock, settings: Settings) -> Self {
        let workers = settings.invoices.scan_workers.max(1);
        App {
            store,
            clock,
            settings,
            principals: auth::PrincipalCache::default(),
            coordination: None,
            local_counters: coordination::LocalCounters::default(),
            invoice_reader: None,
            scan_permits: Arc::new(tokio::sync::Semaphore::new(workers)),
        }
    }

    /// Plugs in the invoice reader (the OCR adapter).
    pub fn with_invoice_reader(mut self, reader: Arc<dyn invoices::InvoiceReader>) -> Self {
        self.invoice_reader = Some(reader);
        self
    }

    /// Plugs in the coordination between nodes (shared limits, cache invalidation).
    pub fn with_coordination(mut self, c: Arc<dyn coordination::Coordination>) -> Self {
        self.coordination = Some(c);
        self
    }

    /// Counts a hit on a rate-limited `key` in the current window of `window_secs`, across
    /// nodes when coordination answers and on this node otherwise; returns the count and the
    /// seconds left in the window.
    pub async fn rate_hit(&self, key: &str, window_secs: i64) -> (i64, i64) {
        let window_secs = window_secs.max(1);
        let now_secs = self.clock.now_micros() / 1_000_000;
        let window = now_secs / window_secs;
        let left = window_secs - now_secs % window_secs;
        let shared = match &self.coordination {
            Some(c) => c.hit(key, window, window_secs).await,
            None => None,
        };
        let count = match shared {
            Some(n) => n,
            None => self.local_counters.hit(key, window),
        };
        (count, left)
    }

    /// Forgets cached credentials: one token (by hash) or all. Called by the coordination
    /// listener when another node revoked something.
    pub fn forget_principal(&self, token_hash: Option<&str>) {
        match token_hash {
            Some(h) => self.principals.forget(h),
            None => self.principals.clear(),
        }
    }

    /// Forgets cached credentials here and tells the other nodes to do the same.
    pub(crate) async fn invalidate_principal(&self, token_hash: Option<&str>) {
        self.forget_principal(token_hash);
        if let Some(c) = &self.coordination {
            c.invalidate(token_hash).await;
        }
    }

    /// Write metadata for a caller at the current instant.
    pub fn meta(&self, actor: &Principal, idempotency: Option<IdempotencyKey>) -> WriteMeta {
        WriteMeta {
            actor: actor.clone(),
            idempotency,
            now: self.clock.now_micros(),
        }
    }
}
