//! Idempotency keys: a retried write returns its first result; another body under the same key
//! is refused. The key is looked up before the write (off the writer's critical path) and
//! recorded by the write itself, in its transaction; if a concurrent twin recorded it first, the
//! write is rolled back and the twin's result returned.

use app::{Error, Result, WriteMeta, Written};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{AnyConnection, AnyPool};

use crate::rows::db_error;

/// The error a write returns when its key was recorded by a concurrent twin.
const RACE: &str = "idempotency_race";

pub(crate) fn is_race(e: &Error) -> bool {
    matches!(e, Error::Conflict { code, .. } if *code == RACE)
}

/// The stored result of an earlier request with the same key, if any.
pub(crate) async fn lookup<T: DeserializeOwned>(
    pool: &AnyPool,
    meta: &WriteMeta,
) -> Result<Option<Written<T>>> {
    let Some(key) = &meta.idempotency else {
        return Ok(None);
    };
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
    let Some(key) = &meta.idempotency else {
        return Ok(());
    };
    let body = serde_json::to_string(value).map_err(Error::internal)?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (actor, key, fingerprint, response, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (actor, key) DO NOTHING",
    )
    .bind(&meta.actor.label)
    .bind(&key.key)
    .bind(&key.fingerprint)
    .bind(body)
    .bind(meta.now)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    if inserted == 0 {
        return Err(Error::conflict(
            RACE,
            None,
            "la misma solicitud se está procesando",
        ));
    }
    Ok(())
}
