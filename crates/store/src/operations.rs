//! Alerts, agent runs and leases, and the outbox table the dispatcher drains.

use std::sync::Arc;

use app::Result;
use app::operations::{AgentRun, Alert, ExpiringLot, NewAlert, OutboxEvent};
use app::page::{Page, PageRequest};
use domain::Qty;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe};

use crate::SqlStore;
use crate::rows::{date, db_error, get, instant, placeholders};

fn json(raw: &str) -> serde_json::Value {
    serde_json::from_str(raw).unwrap_or(serde_json::Value::Null)
}

pub(crate) async fn raise_alert(store: &SqlStore, new: NewAlert, now: i64) -> Result<Option<i64>> {
    let new = Arc::new(new);
    store
        .write(Arc::new(move |conn| {
            let new = new.clone();
            Box::pin(async move {
                let open: Option<i64> = sqlx::query_scalar("SELECT id FROM alerts WHERE subject = $1 AND resolved_at IS NULL")
                    .bind(&new.subject)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if open.is_some() {
                    return Ok(None);
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO alerts (kind, severity, subject, title, body, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(&new.kind)
                .bind(&new.severity)
                .bind(&new.subject)
                .bind(&new.title)
                .bind(&new.body)
                .bind(new.payload.to_string())
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(Some(id))
            })
        }))
        .await
}

pub(crate) async fn resolve_alerts(
    store: &SqlStore,
    kind: &str,
    still_open: &[String],
    now: i64,
) -> Result<u64> {
    let open: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, subject FROM alerts WHERE kind = $1 AND resolved_at IS NULL")
            .bind(kind)
            .fetch_all(&store.pool)
            .await
            .map_err(db_error)?;
    let gone: Vec<i64> = open
        .into_iter()
        .filter(|(_, s)| !still_open.contains(s))
        .map(|(id, _)| id)
        .collect();
    if gone.is_empty() {
        return Ok(0);
    }
    let n = gone.len() as u64;
    let gone = Arc::new(gone);
    store
        .write(Arc::new(move |conn| {
            let gone = gone.clone();
            Box::pin(async move {
                let sql = format!(
                    "UPDATE alerts SET resolved_at = $1 WHERE id IN ({})",
                    placeholders(2, gone.len())
                );
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now);
                for id in gone.iter() {
                    q = q.bind(*id);
                }
                q.execute(&mut *conn).await.map_err(db_error)?;
                Ok(())
            })
        }))
        .await?;
    Ok(n)
}

fn alert_from(r: &AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: get(r, "id")?,
        kind: get(r, "kind")?,
        severity: get(r, "severity")?,
        title: get(r, "title")?,
        body: get(r, "body")?,
        payload: json(&get::<String>(r, "payload")?),
        created_at: instant(get(r, "created_at")?),
        resolved_at: get::<Option<i64>>(r, "resolved_at")?.map(instant),
        read: get::<i64>(r, "is_read")? != 0,
    })
}

pub(crate) async fn list_alerts(
    pool: &AnyPool,
    user_id: Option<i64>,
    unread_only: bool,
    page: PageRequest,
) -> Result<Page<Alert>> {
    let rows = sqlx::query(
        "SELECT a.id, a.kind, a.severity, a.title, a.body, a.payload, a.created_at, a.resolved_at, \
           CASE WHEN r.alert_id IS NULL THEN 0 ELSE 1 END AS is_read \
         FROM alerts a LEFT JOIN alert_reads r ON r.alert_id = a.id AND r.user_id = $1 \
         WHERE ($2 = 0 OR a.id < $2) AND ($3 = 0 OR r.alert_id IS NULL) ORDER BY a.id DESC LIMIT $4",
    )
    .bind(user_id.unwrap_or(0))
    .bind(page.after)
    .bind(i64::from(unread_only))
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(alert_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |a| a.id))
}

pub(crate) async fn mark_alert_read(
    store: &SqlStore,
    alert_id: i64,
    user_id: i64,
    now: i64,
) -> Result<()> {
    store
        .write(Arc::new(move |conn| {
            Box::pin(async move {
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM alerts WHERE id = $1")
                    .bind(alert_id)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if exists.is_none() {
                    return Err(app::Error::NotFound { entity: "alerta", key: alert_id.to_string() });
                }
                sqlx::query("INSERT INTO alert_reads (alert_id, user_id, read_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(alert_id)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn expiring_lots(
    pool: &AnyPool,
    until: chrono::NaiveDate,
) -> Result<Vec<ExpiringLot>> {
    let rows = sqlx::query(
        "SELECT s.product_id, p.sku, p.name, l.code, s.lot, s.expiry, s.on_hand FROM stock_levels s \
         JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id \
         WHERE s.on_hand > 0 AND s.expiry IS NOT NULL AND s.expiry <= $1 ORDER BY s.expiry, p.sku",
    )
    .bind(until.format("%Y-%m-%d").to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .filter_map(|r| {
            let expiry = match date(get(r, "expiry").ok()?) {
                Ok(Some(d)) => d,
                _ => return None,
            };
            Some(Ok(ExpiringLot {
                product_id: get(r, "product_id").ok()?,
                sku: get(r, "sku").ok()?,
                name: get(r, "name").ok()?,
                location: get(r, "code").ok()?,
                lot: get(r, "lot").ok()?,
                expiry,
                on_hand: Qty::from_milli(get(r, "on_hand").ok()?),
            }))
        })
        .collect()
}

pub(crate) async fn claim_agent_run(
    store: &SqlStore,
    agent: &str,
    slot: i64,
    node: &str,
    now: i64,
) -> Result<Option<i64>> {
    let (agent, node) = (agent.to_owned(), node.to_owned());
    store
        .write(Arc::new(move |conn| {
            let (agent, node) = (agent.clone(), node.clone());
            Box::pin(async move {
                let id: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO agent_runs (agent, scheduled_for, node, started_at, status) VALUES ($1, $2, $3, $4, 'running') \
                     ON CONFLICT (agent, scheduled_for) DO NOTHING RETURNING id",
                )
                .bind(&agent)
                .bind(slot)
                .bind(&node)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(id)
            })
        }))
        .await
}

pub(crate) async fn finish_agent_run(
    store: &SqlStore,
    run_id: i64,
    ok: bool,
    detail: &str,
    now: i64,
) -> Result<()> {
    let detail: String = detail.chars().take(2000).collect();
    store
        .write(Arc::new(move |conn| {
            let detail = detail.clone();
            Box::pin(async move {
                sqlx::query("UPDATE agent_runs SET finished_at = $1, status = $2, detail = $3 WHERE id = $4")
                    .bind(now)
                    .bind(if ok { "succeeded" } else { "failed" })
                    .bind(&detail)
                    .bind(run_id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn latest_agent_runs(pool: &AnyPool) -> Result<Vec<AgentRun>> {
    let rows: Vec<(String, i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT r.agent, r.started_at, r.status, r.detail, \
           (SELECT MAX(s.finished_at) FROM agent_runs s WHERE s.agent = r.agent AND s.status = 'succeeded') AS last_success \
         FROM agent_runs r WHERE r.id = (SELECT MAX(id) FROM agent_runs x WHERE x.agent = r.agent)",
    )
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(
            |(agent, started_at, status, detail, last_success_at)| AgentRun {
                agent,
                started_at,
                status,
                detail,
                last_success_at,
            },
        )
        .collect())
}

pub(crate) async fn hold_lease(
    store: &SqlStore,
    agent: &str,
    holder: &str,
    now: i64,
    ttl: i64,
) -> Result<bool> {
    let (agent, holder) = (agent.to_owned(), holder.to_owned());
    store
        .write(Arc::new(move |conn| {
            let (agent, holder) = (agent.clone(), holder.clone());
            Box::pin(async move {
                sqlx::query("INSERT INTO agent_leases (agent, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (agent) DO NOTHING")
                    .bind(&agent)
                    .bind(&holder)
                    .bind(now + ttl)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                let n = sqlx::query("UPDATE agent_leases SET holder = $1, expires_at = $2 WHERE agent = $3 AND (holder = $1 OR expires_at < $4)")
                    .bind(&holder)
                    .bind(now + ttl)
                    .bind(&agent)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                Ok(n == 1)
            })
        }))
        .await
}

fn event_from(r: &AnyRow) -> Result<OutboxEvent> {
    Ok(OutboxEvent {
        id: get(r, "id")?,
        topic: get(r, "topic")?,
        payload: json(&get::<String>(r, "payload")?),
        created_at: instant(get(r, "created_at")?),
        status: get(r, "status")?,
        attempts: get(r, "attempts")?,
        next_attempt_at: instant(get(r, "next_attempt_at")?),
        last_error: get(r, "last_error")?,
    })
}

const EVENT_COLUMNS: &str =
    "id, topic, payload, created_at, status, attempts, next_attempt_at, last_error";

pub(crate) async fn due_outbox(pool: &AnyPool, now: i64, limit: i64) -> Result<Vec<OutboxEvent>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(event_from).collect()
}

pub(crate) async fn outbox_delivered(store: &SqlStore, ids: &[i64], now: i64) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids = Arc::new(ids.to_vec());
    store
        .write(Arc::new(move |conn| {
            let ids = ids.clone();
            Box::pin(async move {
                for chunk in ids.chunks(500) {
                    let sql = format!("UPDATE outbox SET status = 'delivered', delivered_at = $1 WHERE id IN ({})", placeholders(2, chunk.len()));
                    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    q.execute(&mut *conn).await.map_err(db_error)?;
                }
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn outbox_failed(
    store: &SqlStore,
    id: i64,
    attempts: i64,
    next: i64,
    error: &str,
    dead: bool,
) -> Result<()> {
    let error: String = error.chars().take(1000).collect();
    store
        .write(Arc::new(move |conn| {
            let error = error.clone();
            Box::pin(async move {
                sqlx::query("UPDATE outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, status = $4 WHERE id = $5")
                    .bind(attempts)
                    .bind(next)
                    .bind(&error)
                    .bind(if dead { "dead" } else { "pending" })
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn list_outbox(
    pool: &AnyPool,
    status: &str,
    page: PageRequest,
) -> Result<Page<OutboxEvent>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM outbox WHERE status = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3"
    )))
    .bind(status)
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(event_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |e| e.id))
}

pub(crate) async fn retry_outbox(store: &SqlStore, id: i64, now: i64) -> Result<bool> {
    store
        .write(Arc::new(move |conn| {
            Box::pin(async move {
                let n = sqlx::query("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1 WHERE id = $2 AND status = 'dead'")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                Ok(n == 1)
            })
        }))
        .await
}

pub(crate) async fn outbox_counts(pool: &AnyPool) -> Result<(i64, i64)> {
    sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                CAST(COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM outbox WHERE status <> 'delivered'",
    )
    .fetch_one(pool)
    .await
    .map_err(db_error)
}

pub(crate) async fn cleanup(store: &SqlStore, now: i64, before: i64) -> Result<String> {
    store
        .write(Arc::new(move |conn| {
            Box::pin(async move {
                let mut counts = Vec::new();
                for (what, sql) in [
                    (
                        "sesiones",
                        "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at IS NOT NULL",
                    ),
                    (
                        "eventos entregados",
                        "DELETE FROM outbox WHERE status = 'delivered' AND created_at < $2",
                    ),
                    (
                        "claves de idempotencia",
                        "DELETE FROM idempotency_keys WHERE created_at < $2",
                    ),
                ] {
                    let n = sqlx::query(sql)
                        .bind(now)
                        .bind(before)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?
                        .rows_affected();
                    counts.push(format!("{n} {what}"));
                }
                Ok(format!("borrados: {}", counts.join(", ")))
            })
        }))
        .await
}
