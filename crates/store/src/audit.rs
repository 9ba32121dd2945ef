//! The audit log: who changed what, when, with the state before and after, written in the change's transaction.

use app::auth::AuditEntry;
use app::page::{Page, PageRequest};
use app::{Result, WriteMeta};
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};

use crate::rows::{db_error, get, instant};

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
