//! SQLite's single writer with group commit: write transactions queue here, run one after the
//! other on one connection, each inside its own savepoint, and share one durable COMMIT (one
//! fsync). A caller hears back only after that commit, so an acknowledged write survives a
//! power loss, and a failing write rolls back its savepoint without touching its neighbours.

use std::any::Any;
use std::sync::Arc;

use app::{Error, Result};
use futures_core::future::BoxFuture;
use sqlx::{AnyConnection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::rows::db_error;

pub(crate) type Erased = Box<dyn Any + Send>;
pub(crate) type ErasedBody =
    Arc<dyn for<'c> Fn(&'c mut AnyConnection) -> BoxFuture<'c, Result<Erased>> + Send + Sync>;

struct Job {
    body: ErasedBody,
    reply: oneshot::Sender<Result<Erased>>,
}

pub(crate) struct GroupCommitWriter {
    queue: mpsc::Sender<Job>,
}

impl GroupCommitWriter {
    pub(crate) fn start(conn: AnyConnection, max_group: usize) -> Self {
        let (queue, rx) = mpsc::channel(4096);
        tokio::spawn(run(conn, rx, max_group.max(1)));
        GroupCommitWriter { queue }
    }

    pub(crate) async fn submit(&self, body: ErasedBody) -> Result<Erased> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { body, reply })
            .await
            .map_err(|_| Error::Unavailable("el escritor de la base de datos se detuvo".into()))?;
        answer
            .await
            .map_err(|_| Error::Unavailable("el escritor de la base de datos se detuvo".into()))?
    }
}

async fn run(mut conn: AnyConnection, mut rx: mpsc::Receiver<Job>, max_group: usize) {
    let mut group: Vec<Job> = Vec::with_capacity(max_group);
    let mut results: Vec<(oneshot::Sender<Result<Erased>>, Result<Erased>)> =
        Vec::with_capacity(max_group);
    while rx.recv_many(&mut group, max_group).await > 0 {
        if let Err(e) = conn.execute("BEGIN IMMEDIATE").await {
            let err = db_error(e);
            tracing::error!(error = %err, "group commit: BEGIN failed");
            for job in group.drain(..) {
                let _ = job.reply.send(Err(clone_error(&err)));
            }
            continue;
        }
        for job in group.drain(..) {
            let outcome = run_in_savepoint(&mut conn, &job.body).await;
            results.push((job.reply, outcome));
        }
        match conn.execute("COMMIT").await {
            Ok(_) => {
                for (reply, outcome) in results.drain(..) {
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                let err = db_error(e);
                tracing::error!(error = %err, "group commit: COMMIT failed, the whole group is rolled back");
                let _ = conn.execute("ROLLBACK").await;
                for (reply, _) in results.drain(..) {
                    let _ = reply.send(Err(clone_error(&err)));
                }
            }
        }
    }
}

async fn run_in_savepoint(conn: &mut AnyConnection, body: &ErasedBody) -> Result<Erased> {
    conn.execute("SAVEPOINT job").await.map_err(db_error)?;
    let outcome = body(conn).await;
    let end = if outcome.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    match conn.execute(end).await {
        Ok(_) => outcome,
        Err(e) => Err(db_error(e)),
    }
}

/// Commit failures reach every member of the group; the error type is not `Clone` by design.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Unavailable(m) => Error::Unavailable(m.clone()),
        other => Error::Internal(other.to_string()),
    }
}
