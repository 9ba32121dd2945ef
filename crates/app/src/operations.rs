//! Operación's background work: agents on cron schedules that run once per slot across nodes,
//! alerts with per-user read state, and the transactional outbox with its dispatcher.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use domain::Qty;
use domain::auth::Permission;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::write::Principal;

// ---------------------------------------------------------------- models

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    /// critical_stock | expiry | ledger_drift | ...
    pub kind: String,
    /// info | warning | critical
    pub severity: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Whether the calling user has read it.
    pub read: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    pub kind: String,
    pub severity: String,
    /// Dedupe key: one open alert per subject.
    pub subject: String,
    pub title: String,
    pub body: String,
    pub payload: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutboxEvent {
    pub id: i64,
    pub topic: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// pending | delivered | dead
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentStatus {
    pub name: String,
    /// Cron expression (minute hour day month weekday), or "continuo".
    pub schedule: String,
    pub last_run_at: Option<DateTime<Utc>>,
    /// running | succeeded | failed
    pub last_status: Option<String>,
    pub last_detail: Option<String>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The latest run of an agent as the store reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentRun {
    pub agent: String,
    pub started_at: i64,
    pub status: String,
    pub detail: String,
    pub last_success_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExpiringLot {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    pub lot: String,
    pub expiry: NaiveDate,
    pub on_hand: Qty,
}

/// How the dispatcher retries: 30 s × 2ⁿ, capped, and how many tries before dead-lettering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutboxPolicy {
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    pub max_attempts: i64,
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        OutboxPolicy {
            base_delay_ms: 30_000,
            max_delay_ms: 3_600_000,
            max_attempts: 8,
        }
    }
}

impl OutboxPolicy {
    /// Delay before attempt `attempts + 1`, in microseconds.
    pub fn backoff_micros(&self, attempts: i64) -> i64 {
        let exp = attempts.clamp(0, 30) as u32;
        let ms = self
            .base_delay_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_delay_ms);
        i64::try_from(ms).unwrap_or(i64::MAX / 1000) * 1000
    }
}

// ---------------------------------------------------------------- ports

/// Delivery of outbox events to the outside (webhooks, Telegram, e-mail), implemented by the binary.
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    /// Whether any channel wants this topic; events nobody wants are marked delivered at once.
    fn wants(&self, topic: &str) -> bool;
    /// Delivers to every subscribed channel. `Err((retryable, message))` when one failed.
    async fn deliver(&self, event: &OutboxEvent) -> std::result::Result<(), (bool, String)>;
}

pub type JobFuture = Pin<Box<dyn Future<Output = std::result::Result<String, String>> + Send>>;
pub type Job = Arc<dyn Fn() -> JobFuture + Send + Sync>;

/// A scheduled agent: a name, a cron expression and the work.
#[derive(Clone)]
pub struct Agent {
    pub name: &'static str,
    pub schedule: String,
    pub job: Job,
}

fn parse_cron(expr: &str) -> Result<croner::Cron> {
    croner::Cron::from_str(expr).map_err(|e| {
        Error::invalid(
            "schedule",
            "cron",
            format!("expresión cron inválida «{expr}»: {e}"),
        )
    })
}

fn next_after(cron: &croner::Cron, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(&t, false).ok()
}

// ---------------------------------------------------------------- use cases

impl App {
    pub async fn alerts(
        &self,
        actor: &Principal,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<Page<Alert>> {
        actor.require(Permission::StockRead)?;
        self.store
            .list_alerts(actor.user_id, unread_only, page)
            .await
    }

    pub async fn mark_alert_read(&self, actor: &Principal, alert_id: i64) -> Result<()> {
        actor.require(Permission::StockRead)?;
        let user = actor.user_id.ok_or_else(|| {
            Error::Forbidden("las claves de API no tienen alertas propias".into())
        })?;
        self.store
            .mark_alert_read(alert_id, user, self.clock.now_micros())
            .await
    }

    pub async fn dead_letters(
        &self,
        actor: &Principal,
        page: PageRequest,
    ) -> Result<Page<OutboxEvent>> {
        actor.require(Permission::AdminTools)?;
        self.store.list_outbox("dead", page).await
    }

    pub async fn retry_dead_letter(&self, actor: &Principal, id: i64) -> Result<()> {
        actor.require(Permission::AdminTools)?;
        if self.store.retry_outbox(id, self.clock.now_micros()).await? {
            Ok(())
        } else {
            Err(Error::NotFound {
                entity: "evento fallido",
                key: id.to_string(),
            })
        }
    }

    pub async fn agent_statuses(
        &self,
        actor: &Principal,
        agents: &[Agent],
    ) -> Result<Vec<AgentStatus>> {
        actor.require(Permission::StockRead)?;
        let runs = self.store.latest_agent_runs().await?;
        let now = self.clock.now();
        let mut out = Vec::with_capacity(agents.len());
        for a in agents {
            let run = runs.iter().find(|r| r.agent == a.name);
            let next = if a.schedule == CONTINUOUS {
                None
            } else {
                parse_cron(&a.schedule)
                    .ok()
                    .and_then(|c| next_after(&c, now))
            };
            out.push(AgentStatus {
                name: a.name.to_owned(),
                schedule: a.schedule.clone(),
                last_run_at: run.map(|r| crate::clock_instant(r.started_at)),
                last_status: run.map(|r| r.status.clone()),
                last_detail: run.map(|r| r.detail.clone()),
                last_success_at: run
                    .and_then(|r| r.last_success_at)
                    .map(crate::clock_instant),
                next_run_at: next,
            });
        }
        Ok(out)
    }

    /// Raises a critical-stock alert per product × location that became critical and resolves
    /// the ones that recovered.
    pub async fn raise_stock_alerts(&self) -> Result<String> {
        let sys = Principal::system();
        let rows = self
            .critical_stock(&sys, crate::stock::CriticalQuery::default())
            .await?;
        let now = self.clock.now_micros();
        let mut raised = 0;
        let mut subjects = Vec::with_capacity(rows.len());
        for r in &rows {
            let subject = format!("critical_stock:{}:{}", r.product_id, r.location);
            let alert = NewAlert {
                kind: "critical_stock".into(),
                severity: if r.on_hand.is_zero() {
                    "critical".into()
                } else {
                    "warning".into()
                },
                subject: subject.clone(),
                title: format!("Stock crítico: {} en {}", r.name, r.location),
                body: format!(
                    "{} ({}) tiene {} en {}; el mínimo de temporada es {} (faltan {}).",
                    r.name,
                    r.sku,
                    r.on_hand.format_ar(),
                    r.location,
                    r.threshold.format_ar(),
                    r.deficit.format_ar()
                ),
                payload: serde_json::json!({"product_id": r.product_id, "sku": r.sku, "location": r.location,
                    "on_hand": r.on_hand, "threshold": r.threshold, "deficit": r.deficit}),
            };
            if self.store.raise_alert(alert, now).await?.is_some() {
                raised += 1;
            }
            subjects.push(subject);
        }
        let resolved = self
            .store
            .resolve_alerts("critical_stock", &subjects, now)
            .await?;
        crate::telemetry::critical_products(
            rows.iter()
                .map(|r| r.product_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
        );
        Ok(format!(
            "{} críticos, {raised} alertas nuevas, {resolved} resueltas",
            rows.len()
        ))
    }

    /// Alerts for lots with stock that expire within `days`.
    pub async fn raise_expiry_alerts(&self, days: i64) -> Result<String> {
        let until = self.clock.today() + chrono::Duration::days(days);
        let lots = self.store.expiring_lots(until).await?;
        let now = self.clock.now_micros();
        let mut raised = 0;
        let mut subjects = Vec::with_capacity(lots.len());
        for l in &lots {
            let subject = format!("expiry:{}:{}:{}", l.product_id, l.location, l.lot);
            let alert = NewAlert {
                kind: "expiry".into(),
                severity: if l.expiry <= self.clock.today() {
                    "critical".into()
                } else {
                    "warning".into()
                },
                subject: subject.clone(),
                title: format!("Vence el lote {} de {}", l.lot, l.name),
                body: format!(
                    "Quedan {} de {} ({}) en {}, lote {}, que vence el {}.",
                    l.on_hand.format_ar(),
                    l.name,
                    l.sku,
                    l.location,
                    l.lot,
                    l.expiry.format("%d/%m/%Y")
                ),
                payload: serde_json::json!({"product_id": l.product_id, "sku": l.sku, "location": l.location, "lot": l.lot,
                    "expiry": l.expiry, "on_hand": l.on_hand}),
            };
            if self.store.raise_alert(alert, now).await?.is_some() {
                raised += 1;
            }
            subjects.push(subject);
        }
        let resolved = self.store.resolve_alerts("expiry", &subjects, now).await?;
        Ok(format!(
            "{} lotes por vencer, {raised} alertas nuevas, {resolved} resueltas",
            lots.len()
        ))
    }

    /// One pass of the outbox dispatcher; returns (delivered, failed).
    pub async fn dispatch_outbox(
        &self,
        notifier: &dyn Notifier,
        policy: &OutboxPolicy,
    ) -> Result<(usize, usize)> {
        let now = self.clock.now_micros();
        let due = self.store.due_outbox(now, 200).await?;
        let mut delivered = Vec::new();
        let mut failed = 0;
        for e in &due {
            if !notifier.wants(&e.topic) {
                delivered.push(e.id);
                continue;
            }
            match notifier.deliver(e).await {
                Ok(()) => delivered.push(e.id),
                Err((retryable, message)) => {
                    failed += 1;
                    let attempts = e.attempts + 1;
                    let dead = !retryable || attempts >= policy.max_attempts;
                    let next = now + policy.backoff_micros(attempts - 1);
                    tracing::warn!(event = e.id, topic = %e.topic, attempts, dead, error = %message, "outbox delivery failed");
                    self.store
                        .outbox_failed(e.id, attempts, next, &message, dead)
                        .await?;
                }
            }
        }
        self.store.outbox_delivered(&delivered, now).await?;
        let (pending, dead) = self.store.outbox_counts().await?;
        crate::telemetry::outbox(pending, dead);
        Ok((delivered.len(), failed))
    }
}

/// Marks an agent that loops continuously rather than on a cron schedule.
pub const CONTINUOUS: &str = "continuo";

/// Runs every agent on its schedule. Each slot is claimed in the database first, so with
/// several nodes exactly one runs it; heartbeats and results land in `agent_runs`.
pub struct Scheduler {
    app: Arc<App>,
    node: String,
    agents: Vec<Agent>,
}

impl Scheduler {
    pub fn new(app: Arc<App>, node: String, agents: Vec<Agent>) -> Result<Self> {
        for a in &agents {
            if a.schedule != CONTINUOUS {
                parse_cron(&a.schedule)?;
            }
        }
        Ok(Scheduler { app, node, agents })
    }

    /// Claims and runs, once, every slot due at `now` that follows `since`. Returns the agents run.
    pub async fn run_due(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<&'static str>> {
        let mut ran = Vec::new();
        for a in &self.agents {
            if a.schedule == CONTINUOUS {
                continue;
            }
            let cron = parse_cron(&a.schedule)?;
            // The latest slot in (since, now], if any.
            let mut slot = None;
            let mut t = since;
            while let Some(next) = next_after(&cron, t) {
                if next > now {
                    break;
                }
                slot = Some(next);
                t = next;
            }
            let Some(slot) = slot else { continue };
            let started = self.app.clock.now_micros();
            let Some(run) = self
                .app
                .store
                .claim_agent_run(a.name, slot.timestamp_micros(), &self.node, started)
                .await?
            else {
                continue;
            };
            let outcome = (a.job)().await;
            let ok = outcome.is_ok();
            let detail = match outcome {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(agent = a.name, error = %e, "agent failed");
                    e
                }
            };
            self.app
                .store
                .finish_agent_run(run, ok, &detail, self.app.clock.now_micros())
                .await?;
            crate::telemetry::agent_run(a.name, ok, self.app.clock.now().timestamp());
            ran.push(a.name);
        }
        Ok(ran)
    }

    /// Ticks every few seconds until the process ends.
    pub async fn run_forever(self) {
        let mut since = self.app.clock.now();
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let now = self.app.clock.now();
            if let Err(e) = self.run_due(since, now).await {
                tracing::warn!(error = %e, "scheduler tick failed");
            }
            since = now;
        }
    }
}

/// Keeps the outbox moving on whichever node holds the dispatcher lease.
pub async fn run_dispatcher(
    app: Arc<App>,
    notifier: Arc<dyn Notifier>,
    policy: OutboxPolicy,
    node: String,
) {
    loop {
        let now = app.clock.now_micros();
        match app
            .store
            .hold_lease("outbox_dispatch", &node, now, 30_000_000)
            .await
        {
            Ok(true) => match app.dispatch_outbox(notifier.as_ref(), &policy).await {
                Ok(_) => crate::telemetry::agent_run(
                    "outbox_dispatch",
                    true,
                    app.clock.now().timestamp(),
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "outbox dispatch failed");
                    crate::telemetry::agent_run(
                        "outbox_dispatch",
                        false,
                        app.clock.now().timestamp(),
                    );
                }
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "outbox lease unavailable"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
