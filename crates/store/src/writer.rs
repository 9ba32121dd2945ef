//! SQLite's single writer with group commit: write transactions queue here, run one after the
//! other on the writer's thread and share one durable COMMIT (one fsync). A caller hears back only
//! after that commit, so an acknowledged write survives a power loss; a failing write never
//! leaves a trace in its neighbours' commit (see [`commit_group`]).

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
/// A write body for the direct connection (see [`crate::direct`]).
pub(crate) type DirectBody = Arc<dyn Fn(&rusqlite::Connection) -> Result<Erased> + Send + Sync>;

pub(crate) enum Work {
    Sqlx(ErasedBody),
    Direct(DirectBody),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Erased>>,
}

pub(crate) struct GroupCommitWriter {
    queue: mpsc::Sender<Job>,
}

impl GroupCommitWriter {
    /// The writer gets its own OS thread and runtime: on the request runtime it would queue
    /// behind every HTTP task at each statement's await, and the one writer is the bottleneck.
    /// It holds two connections to the file and uses one at a time, so they never contend.
    pub(crate) fn start(
        conn: AnyConnection,
        direct: rusqlite::Connection,
        max_group: usize,
    ) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::channel(4096);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("almacen-writer".into())
            .spawn(move || {
                let mut conns = (SqlxConn(conn), DirectConn(direct));
                runtime.block_on(run(&mut conns, rx, max_group.max(1)))
            })?;
        Ok(GroupCommitWriter { queue })
    }

    pub(crate) async fn submit(&self, work: Work) -> Result<Erased> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { work, reply })
            .await
            .map_err(|_| Error::Unavailable("el escritor de la base de datos se detuvo".into()))?;
        answer
            .await
            .map_err(|_| Error::Unavailable("el escritor de la base de datos se detuvo".into()))?
    }
}

/// One of the writer's connections: transaction control and the bodies of its kind.
trait GroupConn {
    async fn batch(&mut self, sql: &'static str) -> Result<()>;
    async fn run(&mut self, work: &Work) -> Result<Erased>;
}

struct SqlxConn(AnyConnection);
struct DirectConn(rusqlite::Connection);

impl GroupConn for SqlxConn {
    async fn batch(&mut self, sql: &'static str) -> Result<()> {
        self.0.execute(sql).await.map(drop).map_err(db_error)
    }
    async fn run(&mut self, work: &Work) -> Result<Erased> {
        match work {
            Work::Sqlx(body) => body(&mut self.0).await,
            Work::Direct(_) => Err(Error::internal("trabajo directo en la conexión sqlx")),
        }
    }
}

impl GroupConn for DirectConn {
    async fn batch(&mut self, sql: &str) -> Result<()> {
        self.0
            .execute_batch(sql)
            .map_err(crate::direct::sqlite_error)
    }
    async fn run(&mut self, work: &Work) -> Result<Erased> {
        match work {
            Work::Direct(body) => body(&self.0),
            Work::Sqlx(_) => Err(Error::internal("trabajo sqlx en la conexión directa")),
        }
    }
}

async fn run(conns: &mut (SqlxConn, DirectConn), mut rx: mpsc::Receiver<Job>, max_group: usize) {
    let mut received: Vec<Job> = Vec::with_capacity(max_group);
    while rx.recv_many(&mut received, max_group).await > 0 {
        // Consecutive jobs of one kind share a commit; a change of kind starts a new one.
        let mut jobs = received.drain(..).peekable();
        while let Some(first) = jobs.next() {
            let direct = matches!(first.work, Work::Direct(_));
            let mut group = vec![first];
            while let Some(next) = jobs.next_if(|j| matches!(j.work, Work::Direct(_)) == direct) {
                group.push(next);
            }
            if direct {
                commit_group(&mut conns.1, group).await;
            } else {
                commit_group(&mut conns.0, group).await;
            }
        }
    }
}

async fn commit_group(conn: &mut impl GroupConn, group: Vec<Job>) {
    // Optimistic first: no savepoints. A failing job rolls the group back and the group
    // runs again with one savepoint per job (bodies are re-runnable by contract).
    let mut run = run_group(conn, &group, false).await;
    if matches!(run, GroupRun::NeedsIsolation) {
        run = run_group(conn, &group, true).await;
    }
    match run {
        GroupRun::Done(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                let _ = job.reply.send(outcome);
            }
        }
        GroupRun::Failed(err) => {
            for job in group {
                let _ = job.reply.send(Err(clone_error(&err)));
            }
        }
        GroupRun::NeedsIsolation => {
            for job in group {
                let _ = job.reply.send(Err(Error::internal(
                    "el grupo de escritura no pudo aislarse",
                )));
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

async fn run_group(conn: &mut impl GroupConn, group: &[Job], isolated: bool) -> GroupRun {
    if let Err(err) = conn.batch("BEGIN IMMEDIATE").await {
        tracing::error!(error = %err, "group commit: BEGIN failed");
        return GroupRun::Failed(err);
    }
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        let outcome = if isolated {
            run_in_savepoint(conn, &job.work).await
        } else {
            conn.run(&job.work).await
        };
        if outcome.is_err() && !isolated {
            let _ = conn.batch("ROLLBACK").await;
            if group.len() == 1 {
                // Alone in its group: the rollback already isolated it.
                return GroupRun::Done(vec![outcome]);
            }
            return GroupRun::NeedsIsolation;
        }
        outcomes.push(outcome);
    }
    match conn.batch("COMMIT").await {
        Ok(()) => GroupRun::Done(outcomes),
        Err(err) => {
            tracing::error!(error = %err, "group commit: COMMIT failed, the whole group is rolled back");
            let _ = conn.batch("ROLLBACK").await;
            GroupRun::Failed(err)
        }
    }
}

async fn run_in_savepoint(conn: &mut impl GroupConn, work: &Work) -> Result<Erased> {
    conn.batch("SAVEPOINT job").await?;
    let outcome = conn.run(work).await;
    let end = if outcome.is_ok() {
        "RELEASE job"
    } else {
        "ROLLBACK TO job; RELEASE job"
    };
    conn.batch(end).await?;
    outcome
}

/// Commit failures reach every member of the group; the error type is not `Clone` by design.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Unavailable(m) => Error::Unavailable(m.clone()),
        other => Error::Internal(other.to_string()),
    }
}
