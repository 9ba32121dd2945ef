//! Idempotency keys: a retried write returns its first result; another body under the same key
//! is refused. The key is looked up before the write (off the writer's critical path) and
//! recorded by the write itself, in its transaction; if a concurrent twin recorded it first, the
//! write is rolled back and the twin's result returned.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use app::{Error, Result, WriteMeta, Written};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{AnyConnection, AnyPool};

use crate::rows::db_error;
use crate::statement::Statement;

/// The error a write returns when its key was recorded by a concurrent twin.
const RACE: &str = "idempotency_race";

pub(crate) fn is_race(e: &Error) -> bool {
    matches!(e, Error::Conflict { code, .. } if *code == RACE)
}

/// SQLite only (one node writes the file): hashes of every key the database holds, so that a
/// new key — nearly every request — is known to be new without a query. A hash collision or a
/// key whose write was rolled back only costs the lookup it would have cost anyway.
#[derive(Default)]
pub(crate) struct KnownKeys {
    hashes: tokio::sync::OnceCell<Mutex<HashSet<u64>>>,
}

fn key_hash(actor: &str, key: &str) -> u64 {
    let mut h = DefaultHasher::new();
    actor.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

impl KnownKeys {
    async fn loaded(&self, pool: &AnyPool) -> Result<&Mutex<HashSet<u64>>> {
        self.hashes
            .get_or_try_init(|| async {
                let rows: Vec<(String, String)> =
                    sqlx::query_as("SELECT actor, key FROM idempotency_keys")
                        .fetch_all(pool)
                        .await
                        .map_err(db_error)?;
                Ok(Mutex::new(
                    rows.iter().map(|(a, k)| key_hash(a, k)).collect(),
                ))
            })
            .await
    }

    pub(crate) fn remember(&self, meta: &WriteMeta) {
        if let (Some(key), Some(set)) = (&meta.idempotency, self.hashes.get())
            && let Ok(mut set) = set.lock()
        {
            set.insert(key_hash(&meta.actor.label, &key.key));
        }
    }
}

/// The stored result of an earlier request with the same key, if any.
pub(crate) async fn lookup<T: DeserializeOwned>(
    pool: &AnyPool,
    known: Option<&KnownKeys>,
    meta: &WriteMeta,
) -> Result<Option<Written<T>>> {
    let Some(key) = &meta.idempotency else {
        return Ok(None);
    };
    if let Some(known) = known {
        let set = known.loaded(pool).await?;
        let seen = set
            .lock()
            .map_or(true, |s| s.contains(&key_hash(&meta.actor.label, &key.key)));
        if !seen {
            return Ok(None);
        }
    }
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT fingerprint, response FROM idempotency_keys WHERE actor = $1 AND key = $2",
    )
    .bind(&meta.actor.label)
    .bind(&key.key)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    let Some((fingerprint, response)) = row else {
        return Ok(None);
    };
    if fingerprint != key.fingerprint {
        return Err(Error::IdempotencyMismatch);
    }
    let value = serde_json::from_str(&response).map_err(Error::internal)?;
    Ok(Some(Written {
        value,
        replayed: true,
    }))
}

/// Records the result under the request's key, in the write's own transaction.
pub(crate) async fn record<T: Serialize>(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    value: &T,
) -> Result<()> {
    let Some(statement) = record_statement(meta, value)? else {
        return Ok(());
    };
    let inserted = statement
        .query()
        .execute(&mut *conn)
        .await
        .map_err(db_error)?
        .rows_affected();
    recorded(inserted)
}

/// The INSERT of [`record`]; `None` without a key. Run it, then pass its row count to [`recorded`].
pub(crate) fn record_statement<T: Serialize>(
    meta: &WriteMeta,
    value: &T,
) -> Result<Option<Statement>> {
    let Some(key) = &meta.idempotency else {
        return Ok(None);
    };
    let body = serde_json::to_string(value).map_err(Error::internal)?;
    Ok(Some(
        Statement::new(
            "INSERT INTO idempotency_keys (actor, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (actor, key) DO NOTHING",
        )
        .bind(meta.actor.label.clone())
        .bind(key.key.clone())
        .bind(key.fingerprint.clone())
        .bind(body)
        .bind(meta.now),
    ))
}

/// No row inserted means a concurrent twin holds the key: this write must roll back.
pub(crate) fn recorded(inserted: u64) -> Result<()> {
    if inserted == 0 {
        return Err(Error::conflict(
            RACE,
            None,
            "la misma solicitud se está procesando",
        ));
    }
    Ok(())
}
