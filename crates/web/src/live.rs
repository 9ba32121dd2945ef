//! Live updates for Inicio over Server-Sent Events (`/eventos`).
//!
//! One poll loop per node reads a few change markers (last ticket, last return, alerts, stock
//! snapshot time) every [`POLL`] and broadcasts what changed; each browser only listens, so a
//! hundred open dashboards cost one cheap query every two seconds, not a hundred. Browsers
//! then fetch the part of Inicio that changed through the normal, permission-checked page.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::auth::Permission;
use tokio::sync::broadcast;

use crate::{Viewer, WebState};

/// How often the node's loop looks for changes.
pub const POLL: Duration = Duration::from_secs(2);

/// What changed: `alertas` (raised or resolved) or `cifras` (sales, returns, stock snapshot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Alerts,
    Figures,
}

impl Change {
    pub const fn event(self) -> &'static str {
        match self {
            Change::Alerts => "alertas",
            Change::Figures => "cifras",
        }
    }
}

/// The node's broadcaster; the poll loop runs while someone listens.
#[derive(Clone)]
pub struct Live {
    tx: broadcast::Sender<Change>,
    running: Arc<AtomicBool>,
    poll: Duration,
}

impl Default for Live {
    fn default() -> Self {
        Live::with_poll(POLL)
    }
}

impl Live {
    pub fn with_poll(poll: Duration) -> Live {
        let (tx, _) = broadcast::channel(64);
        Live {
            tx,
            running: Arc::new(AtomicBool::new(false)),
            poll,
        }
    }

    /// A new listener; starts the node's loop if it is not running.
    pub fn subscribe(&self, app: &Arc<app::App>) -> broadcast::Receiver<Change> {
        let rx = self.tx.subscribe();
        if self
            .running
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            tokio::spawn(poll_loop(app.clone(), self.clone()));
        }
        rx
    }
}

async fn poll_loop(app: Arc<app::App>, live: Live) {
    let mut last = app.live_marks().await.ok();
    loop {
        tokio::time::sleep(live.poll).await;
        if live.tx.receiver_count() == 0 {
            live.running.store(false, Ordering::SeqCst);
            // A listener may have arrived between the count and the store: keep serving it.
            if live.tx.receiver_count() == 0
                || live
                    .running
                    .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                    .is_err()
            {
                return;
            }
        }
        let marks = match app.live_marks().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "live updates: poll failed");
                continue;
            }
        };
        if let Some(before) = last {
            if (before.last_alert, before.open_alerts) != (marks.last_alert, marks.open_alerts) {
                let _ = live.tx.send(Change::Alerts);
            }
            if (before.last_sale, before.last_return, before.snapshot_at)
                != (marks.last_sale, marks.last_return, marks.snapshot_at)
            {
                let _ = live.tx.send(Change::Figures);
            }
        }
        last = Some(marks);
    }
}

/// `/eventos`: the stream a signed-in dashboard listens to.
pub async fn events(State(state): State<WebState>, viewer: Viewer) -> Response {
    if let Err(e) = viewer.require(Permission::StockRead) {
        return e.into_response();
    }
    let rx = state.live.subscribe(&state.app);
    let hello = futures_util::stream::once(async {
        Ok::<Event, Infallible>(Event::default().event("listo").data("1"))
    });
    let changes = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(c) => c.event(),
            // Missed some: the page refreshes everything anyway.
            Err(broadcast::error::RecvError::Lagged(_)) => Change::Figures.event(),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((
            Ok::<Event, Infallible>(Event::default().event(event).data("1")),
            rx,
        ))
    });
    use futures_util::StreamExt;
    Sse::new(hello.chain(changes))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}
