//! `almacen audit seal` and `almacen audit verify`, and the node's sealer loop that chains new
//! audit entries every few seconds (see `app::audit`).

use std::process::ExitCode;
use std::sync::Weak;
use std::time::Duration;

use crate::config::Config;

/// How often a node seals the audit entries written since its last pass.
pub const SEAL_EVERY: Duration = Duration::from_secs(2);

/// Seals new audit entries until the app is dropped; a failed pass (database down) is retried
/// on the next tick.
pub async fn seal_forever(app: Weak<app::App>) {
    let mut tick = tokio::time::interval(SEAL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(app) = app.upgrade() else {
            return;
        };
        if let Err(e) = app.seal_audit().await {
            tracing::warn!(error = %e, "sellado de la auditoría");
        }
    }
}

pub async fn seal(cfg: &Config) -> anyhow::Result<ExitCode> {
    let wired = crate::server::wire(cfg, app::Clock::system()).await?;
    let n = wired.app.seal_audit().await?;
    println!("{n} entradas de auditoría selladas");
    Ok(ExitCode::SUCCESS)
}

/// Exit 0 when the sealed chain is intact, 1 with the first edited or deleted entry otherwise.
pub async fn verify(cfg: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let wired = crate::server::wire(cfg, app::Clock::system()).await?;
    let report = wired.app.verify_audit(&app::Principal::system()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "auditoría: {} de {} entradas selladas verificadas; {} pendientes de sellar",
            report.verified, report.sealed, report.pending
        );
        match &report.first_break {
            None => println!("OK: la cadena de auditoría está intacta"),
            Some(b) => println!("FALLA: {b}"),
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
