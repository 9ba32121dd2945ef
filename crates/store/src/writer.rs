//! SQLite's single writer with group commit: write transactions queue here, run one after the
//! other on one connection and share one durable COMMIT (one fsync). A caller hears back only
//! after that commit, so an acknowledged write survives a power loss; a failing write never
//! leaves a trace in its neighbours' commit (see [`run`]).

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
    while rx.recv_many(&mut group, max_group).await > 0 {
        // Optimistic first: no savepoints. A failing job rolls the group back and the group
        // runs again with one savepoint per job (bodies are re-runnable by contract).
        let mut run = run_group(&mut conn, &group, false).await;
        if matches!(run, GroupRun::NeedsIsolation) {
            run = run_group(&mut conn, &group, true).await;
        }
        match run {
            GroupRun::Done(outcomes) => {
                for (job, outcome) in group.drain(..).zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
            }
            GroupRun::Failed(err) => {
                for job in group.drain(..) {
                    let _ = job.reply.send(Err(clone_error(&err)));
                }
            }
            GroupRun::NeedsIsolation => {
                for job in group.drain(..) {
                    let _ = job.reply.send(Err(Error::internal(
                        "el grupo de escritura no pudo aislarse",
                    )));
                }
            }
        }
    }
}

enum GroupRun {
    Done(Vec<Result<Erased>>),
    /// A job failed without savepoints: everything was rolled back, run again isolated.
    NeedsIsolation,
    /// BEGIN or COMMIT failed: nothing of the group is durable.
    Failed(Error),
}

async fn run_group(conn: &mut AnyConnection, group: &[Job], isolated: bool) -> GroupRun {
    if let Err(e) = conn.execute("BEGIN IMMEDIATE").await {
        let err = db_error(e);
        tracing::error!(error = %err, "group commit: BEGIN failed");
        return GroupRun::Failed(err);
    }
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        let outcome = if isolated {
            run_in_savepoint(conn, &job.body).await
        } else {
            (job.body)(conn).await
        };
        if outcome.is_err() && !isolated {
            let _ = conn.execute("ROLLBACK").await;
            if group.len() == 1 {
                // Alone in its group: the rollback already isolated it.
                return GroupRun::Done(vec![outcome]);
            }
            return GroupRun::NeedsIsolation;
        }
        outcomes.push(outcome);
    }
    match conn.execute("COMMIT").await {
        Ok(_) => GroupRun::Done(outcomes),
        Err(e) => {
            let err = db_error(e);
            tracing::error!(error = %err, "group commit: COMMIT failed, the whole group is rolled back");
            let _ = conn.execute("ROLLBACK").await;
            GroupRun::Failed(err)
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
