//! The background agents a node runs: their schedules, the notifier that drains the outbox to
//! the configured channels, and the wiring to the scheduler (one run per slot across nodes).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::operations::{Agent, CONTINUOUS, Notifier, OutboxEvent, Scheduler};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// A notification channel and the event topics it receives.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    /// Topics such as "alert.raised", "sale.created", "price.changed", "stock.changed"; "*" is all.
    pub topics: Vec<String>,
    #[serde(flatten)]
    pub channel: notify::ChannelConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentSettings {
    pub backup: String,
    pub integrity_check: String,
    pub critical_stock: String,
    pub expiry: String,
    pub session_cleanup: String,
    /// When the monthly CPI re-index of prices runs (default 06:00 on the 1st).
    pub price_reindex: String,
    /// Off by default: re-indexing changes shelf prices without a person previewing them.
    pub price_reindex_enabled: bool,
    /// The nightly demand forecast (the latest run feeds the purchase suggestions).
    pub forecast: String,
    /// Folds new tickets into Inicio's daily rollup and recomputes its stock figures.
    pub dashboard: String,
    /// Where scheduled backups go, and how many are kept.
    pub backup_dir: PathBuf,
    pub backup_keep: usize,
    /// Lots expiring within this many days raise an alert.
    pub expiry_days: i64,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            backup: "0 2 * * *".into(),
            integrity_check: "5 * * * *".into(),
            critical_stock: "*/15 * * * *".into(),
            expiry: "0 7 * * *".into(),
            session_cleanup: "30 3 * * *".into(),
            price_reindex: "0 6 1 * *".into(),
            price_reindex_enabled: false,
            forecast: "0 4 * * *".into(),
            dashboard: "*/5 * * * *".into(),
            backup_dir: PathBuf::from("backups"),
            backup_keep: 14,
            expiry_days: 7,
        }
    }
}

/// Delivers outbox events to every channel subscribed to their topic.
pub struct ChannelNotifier {
    channels: Vec<(Vec<String>, notify::Channel)>,
}

impl ChannelNotifier {
    pub fn new(subscriptions: &[Subscription]) -> anyhow::Result<Self> {
        let mut channels = Vec::with_capacity(subscriptions.len());
        for s in subscriptions {
            let channel = notify::Channel::new(s.channel.clone(), Duration::from_secs(10))
                .map_err(|e| anyhow::anyhow!("canal de notificación inválido: {e}"))?;
            channels.push((s.topics.clone(), channel));
        }
        Ok(ChannelNotifier { channels })
    }

    fn subscribed(&self, topic: &str) -> impl Iterator<Item = &notify::Channel> {
        self.channels
            .iter()
            .filter(move |(topics, _)| topics.iter().any(|t| t == "*" || t == topic))
            .map(|(_, c)| c)
    }
}

fn notification(e: &OutboxEvent) -> notify::Notification {
    let field = |k: &str| e.payload.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let (title, body) = match e.topic.as_str() {
        "alert.raised" => (
            field("title").unwrap_or_else(|| "Alerta de almacen".into()),
            field("body").unwrap_or_default(),
        ),
        "sale.created" => ("Venta registrada".into(), e.payload.to_string()),
        "price.changed" => ("Cambio de precio".into(), e.payload.to_string()),
        "stock.changed" => ("Movimiento de stock".into(), e.payload.to_string()),
        other => (format!("Evento {other}"), e.payload.to_string()),
    };
    notify::Notification {
        topic: e.topic.clone(),
        title,
        body,
        payload: serde_json::json!({"event_id": e.id, "created_at": e.created_at, "data": e.payload}),
    }
}

#[async_trait::async_trait]
impl Notifier for ChannelNotifier {
    fn wants(&self, topic: &str) -> bool {
        self.subscribed(topic).next().is_some()
    }

    async fn deliver(&self, event: &OutboxEvent) -> Result<(), (bool, String)> {
        let n = notification(event);
        for channel in self.subscribed(&event.topic) {
            if let Err(e) = channel.send(&n).await {
                return Err((e.is_retryable(), format!("{}: {e}", channel.name())));
            }
        }
        Ok(())
    }
}

/// The agents a node runs, in the order the dashboard lists them.
pub fn agents(app: Arc<app::App>, cfg: &Config) -> Vec<Agent> {
    let s = cfg.agents.clone();
    fn job(f: Arc<dyn Fn() -> app::operations::JobFuture + Send + Sync>) -> app::operations::Job {
        f
    }
    let mut out = Vec::new();
    {
        let cfg = cfg.clone();
        let dir = s.backup_dir.clone();
        let keep = s.backup_keep;
        out.push(Agent {
            name: "backup",
            schedule: s.backup.clone(),
            job: job(Arc::new(move || {
                let (cfg, dir) = (cfg.clone(), dir.clone());
                Box::pin(async move {
                    let out = crate::backup::backup(&cfg, &dir, None)
                        .await
                        .map_err(|e| format!("{e:#}"))?;
                    let removed = prune_backups(&dir, keep);
                    Ok(format!(
                        "{} ({} bytes); {removed} copias viejas borradas",
                        out.path.display(),
                        out.bytes
                    ))
                })
            })),
        });
    }
    {
        let app = app.clone();
        out.push(Agent {
            name: "integrity_check",
            schedule: s.integrity_check.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move {
                    let r = app
                        .check_ledger(&app::Principal::system())
                        .await
                        .map_err(|e| e.to_string())?;
                    app::telemetry::ledger_drift(r.discrepancies.len());
                    if r.ok {
                        Ok(format!(
                            "{} movimientos revisados, sin diferencias",
                            r.movements_checked
                        ))
                    } else {
                        Err(format!(
                            "{} diferencias entre el libro y la proyección",
                            r.discrepancies.len()
                        ))
                    }
                })
            })),
        });
    }
    {
        let app = app.clone();
        out.push(Agent {
            name: "critical_stock",
            schedule: s.critical_stock.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move { app.raise_stock_alerts().await.map_err(|e| e.to_string()) })
            })),
        });
    }
    {
        let app = app.clone();
        let days = s.expiry_days;
        out.push(Agent {
            name: "expiry",
            schedule: s.expiry.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move {
                    app.raise_expiry_alerts(days)
                        .await
                        .map_err(|e| e.to_string())
                })
            })),
        });
    }
    {
        let app = app.clone();
        out.push(Agent {
            name: "session_cleanup",
            schedule: s.session_cleanup.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move {
                    let now = app.clock.now_micros();
                    app.store
                        .cleanup(now, now - 7 * 86_400_000_000)
                        .await
                        .map_err(|e| e.to_string())
                })
            })),
        });
    }
    if s.price_reindex_enabled {
        let app = app.clone();
        out.push(Agent {
            name: "price_reindex",
            schedule: s.price_reindex.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move { app.monthly_reindex().await.map_err(|e| e.to_string()) })
            })),
        });
    }
    {
        let app = app.clone();
        out.push(Agent {
            name: "forecast",
            schedule: s.forecast.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move {
                    let run = app
                        .run_forecast(&app::Principal::system())
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(format!("pronóstico #{}: {} series", run.id, run.series))
                })
            })),
        });
    }
    {
        let app = app.clone();
        out.push(Agent {
            name: "dashboard",
            schedule: s.dashboard.clone(),
            job: job(Arc::new(move || {
                let app = app.clone();
                Box::pin(async move { app.refresh_dashboard().await.map_err(|e| e.to_string()) })
            })),
        });
    }
    out.push(Agent {
        name: "outbox_dispatch",
        schedule: CONTINUOUS.into(),
        job: job(Arc::new(|| Box::pin(async { Ok(String::new()) }))),
    });
    out
}

/// Keeps the newest `keep` archives in `dir`.
fn prune_backups(dir: &std::path::Path, keep: usize) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut archives: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("almacen-") && n.contains(".tar.gz"))
        })
        .collect();
    archives.sort();
    let excess = archives.len().saturating_sub(keep);
    archives
        .into_iter()
        .take(excess)
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// Starts the scheduler and the outbox dispatcher for this node.
pub fn start(app: Arc<app::App>, cfg: &Config, agents: Vec<Agent>) -> anyhow::Result<()> {
    let node = format!("{}-{}", hostname(), std::process::id());
    let scheduler =
        Scheduler::new(app.clone(), node.clone(), agents).map_err(|e| anyhow::anyhow!("{e}"))?;
    tokio::spawn(scheduler.run_forever());
    tokio::spawn(crate::audit::seal_forever(Arc::downgrade(&app)));
    let notifier: Arc<dyn Notifier> = Arc::new(ChannelNotifier::new(&cfg.notify)?);
    tokio::spawn(app::operations::run_dispatcher(
        app,
        notifier,
        cfg.outbox.clone(),
        node,
    ));
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "almacen".into())
}
