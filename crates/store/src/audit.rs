//! The audit log: who changed what, when, with the state before and after, written in the change's transaction.

use std::sync::Arc;

use app::audit::{ChainEntry, ChainHead};
use app::auth::AuditEntry;
use app::page::{Page, PageRequest};
use app::{Result, WriteMeta};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

use crate::rows::{db_error, get, instant};
use crate::{Engine, SqlStore};

pub(crate) struct Change<'a, B: Serialize, A: Serialize> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

pub(crate) async fn record<B: Serialize, A: Serialize>(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    c: Change<'_, B, A>,
) -> Result<()> {
    let before = c
        .before
        .map(serde_json::to_string)
        .transpose()
        .map_err(app::Error::internal)?;
    let after = c
        .after
        .map(serde_json::to_string)
        .transpose()
        .map_err(app::Error::internal)?;
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(meta.now)
    .bind(&meta.actor.label)
    .bind(c.action)
    .bind(c.entity)
    .bind(c.entity_id)
    .bind(before)
    .bind(after)
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub(crate) async fn list(pool: &AnyPool, page: PageRequest) -> Result<Page<AuditEntry>> {
    search(pool, &app::auth::AuditFilter::default(), page).await
}

/// The log newest first, narrowed by actor, entity and action prefix; the actor and entity
/// filters walk their own index so a filter stays fast on millions of rows.
pub(crate) async fn search(
    pool: &AnyPool,
    filter: &app::auth::AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEntry>> {
    // Newest first: the cursor is the last id seen, and the next page continues below it.
    let rows = sqlx::query(
        "SELECT id, at, actor, action, entity, entity_id, before_json, after_json FROM audit_log \
         WHERE ($1 = 0 OR id < $1) AND ($2 = '' OR actor = $2) AND ($3 = '' OR entity = $3) \
         AND ($4 = '' OR action LIKE $5) ORDER BY id DESC LIMIT $6",
    )
    .bind(page.after)
    .bind(filter.actor.as_str())
    .bind(filter.entity.as_str())
    .bind(filter.action.as_str())
    .bind(format!("{}%", filter.action.replace(['%', '_'], "")))
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    let items = rows
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: get(r, "id")?,
                at: instant(get(r, "at")?),
                actor: get(r, "actor")?,
                action: get(r, "action")?,
                entity: get(r, "entity")?,
                entity_id: get(r, "entity_id")?,
                before: json(get(r, "before_json")?),
                after: json(get(r, "after_json")?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |e| e.id))
}

fn chain_entry(r: &AnyRow, seq: i64, hash: Option<String>) -> Result<ChainEntry> {
    Ok(ChainEntry {
        seq,
        id: get(r, "id")?,
        at: get(r, "at")?,
        actor: get(r, "actor")?,
        action: get(r, "action")?,
        entity: get(r, "entity")?,
        entity_id: get(r, "entity_id")?,
        before_json: get(r, "before_json")?,
        after_json: get(r, "after_json")?,
        hash,
    })
}

/// The sealer: chains committed, unsealed entries in id order after the head, which it holds
/// locked (on PostgreSQL) so that sealers on several nodes take turns. Writers never touch the
/// head, so the hot paths do not wait for it.
pub(crate) async fn seal(store: &SqlStore, limit: i64) -> Result<u64> {
    // One statement writes the whole batch's positions and hashes, from a JSON array of
    // [id, seq, hash]: a round trip per entry would make sealing cost more than the writes.
    let (head_sql, update_sql) = match store.engine_kind() {
        Engine::Sqlite => (
            "SELECT seq, hash FROM audit_chain WHERE id = 1",
            "UPDATE audit_log SET seq = CAST(json_extract(j.value, '$[1]') AS INTEGER), \
             hash = json_extract(j.value, '$[2]') FROM json_each($1) AS j \
             WHERE audit_log.id = CAST(json_extract(j.value, '$[0]') AS INTEGER)",
        ),
        Engine::Postgres => (
            "SELECT seq, hash FROM audit_chain WHERE id = 1 FOR UPDATE",
            "UPDATE audit_log AS a SET seq = (e ->> 1)::bigint, hash = e ->> 2 \
             FROM json_array_elements($1::json) AS e WHERE a.id = (e ->> 0)::bigint",
        ),
    };
    store
        .write(Arc::new(move |conn| {
            Box::pin(async move {
                let head = sqlx::query(head_sql)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                let mut seq: i64 = get(&head, "seq")?;
                let mut prev: String = get(&head, "hash")?;
                let rows = sqlx::query(
                    "SELECT id, at, actor, action, entity, entity_id, before_json, after_json \
                     FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_error)?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let mut sealed = Vec::with_capacity(rows.len());
                for r in &rows {
                    seq += 1;
                    let e = chain_entry(r, seq, None)?;
                    let hash = app::audit::entry_hash(&prev, &e);
                    sealed.push(serde_json::json!([e.id, seq, hash]));
                    prev = hash;
                }
                let updated = sqlx::query(update_sql)
                    .bind(serde_json::Value::Array(sealed).to_string())
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                if updated != rows.len() as u64 {
                    return Err(app::Error::internal(format!(
                        "sellado de auditoría: {updated} de {} entradas actualizadas",
                        rows.len()
                    )));
                }
                sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
                    .bind(seq)
                    .bind(&prev)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(rows.len() as u64)
            })
        }))
        .await
}

pub(crate) async fn chain_head(pool: &AnyPool) -> Result<(ChainHead, i64)> {
    let head = sqlx::query("SELECT seq, hash FROM audit_chain WHERE id = 1")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE seq IS NULL")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    Ok((
        ChainHead {
            seq: get(&head, "seq")?,
            hash: get(&head, "hash")?,
        },
        pending,
    ))
}

pub(crate) async fn chain(
    pool: &AnyPool,
    after_seq: i64,
    up_to_seq: i64,
    limit: i64,
) -> Result<Vec<ChainEntry>> {
    let rows = sqlx::query(
        "SELECT seq, hash, id, at, actor, action, entity, entity_id, before_json, after_json \
         FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
    )
    .bind(after_seq)
    .bind(up_to_seq)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| chain_entry(r, get(r, "seq")?, get(r, "hash")?))
        .collect()
}
