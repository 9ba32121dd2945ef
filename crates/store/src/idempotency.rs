//! Idempotency keys: a retried write returns its first result; another body under the same key is refused.

use app::{Error, Result, WriteMeta, Written};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AnyConnection;

use crate::rows::db_error;

/// Claims the request's key inside the write transaction. Returns the stored result when the key
/// was used before with the same fingerprint. On PostgreSQL a concurrent first attempt holds the
/// key's row lock, so this waits for it to commit (or roll back) instead of running twice.
pub(crate) async fn claim<T: DeserializeOwned>(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
) -> Result<Option<Written<T>>> {
    let Some(key) = &meta.idempotency else {
        return Ok(None);
    };
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (actor, key, fingerprint, response, created_at) VALUES ($1, $2, $3, NULL, $4) \
         ON CONFLICT (actor, key) DO NOTHING",
    )
    .bind(&meta.actor.label)
    .bind(&key.key)
    .bind(&key.fingerprint)
    .bind(meta.now)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let (fingerprint, response): (String, Option<String>) = sqlx::query_as(
        "SELECT fingerprint, response FROM idempotency_keys WHERE actor = $1 AND key = $2",
    )
    .bind(&meta.actor.label)
    .bind(&key.key)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    if fingerprint != key.fingerprint {
        return Err(Error::IdempotencyMismatch);
    }
    let response =
        response.ok_or_else(|| Error::internal("clave de idempotencia sin respuesta"))?;
    let value = serde_json::from_str(&response).map_err(Error::internal)?;
    Ok(Some(Written {
        value,
        replayed: true,
    }))
}

/// Stores the result under the claimed key, in the same transaction as the write.
pub(crate) async fn remember<T: Serialize>(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    value: &T,
) -> Result<()> {
    let Some(key) = &meta.idempotency else {
        return Ok(());
    };
    let body = serde_json::to_string(value).map_err(Error::internal)?;
    sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE actor = $2 AND key = $3")
        .bind(body)
        .bind(&meta.actor.label)
        .bind(&key.key)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(())
}
