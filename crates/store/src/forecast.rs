//! Pronóstico: demand aggregates read from the ledger, and forecast runs with their series.
//! A run's series and its `done` status are written in one transaction, so readers of the
//! latest finished run never see half a run.

use std::sync::Arc;

use app::Result;
use app::forecast::{
    DemandDay, FinishedRun, ForecastRun, NewForecastRun, OpeningBalance, ReplenishmentRow,
    StoredSeries,
};
use domain::{Money, Qty};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, AssertSqlSafe};

use crate::rows::{db_error, get, instant, parsed};
use crate::{Engine, SqlStore};

const DAY_MICROS: i64 = 86_400_000_000;
/// Rows per INSERT when writing a run's series (8 parameters each).
const CHUNK: usize = 200;

pub(crate) async fn product_daily_sales(
    pool: &AnyPool,
    product_id: i64,
    from_micros: i64,
) -> Result<Vec<(String, i64, i64)>> {
    // The (product_id, ...) key index narrows this to the product's own movements.
    sqlx::query_as(
        "SELECT l.code, (m.created_at + $3) / $4 AS day, \
           CAST(SUM(-m.quantity) AS BIGINT) AS sold \
         FROM stock_movements m JOIN locations l ON l.id = m.location_id \
         WHERE m.product_id = $1 AND m.kind = 'sale' AND m.created_at >= $2 \
         GROUP BY l.code, (m.created_at + $3) / $4 ORDER BY 2",
    )
    .bind(product_id)
    .bind(from_micros)
    .bind(app::forecast::LOCAL_OFFSET_MICROS)
    .bind(DAY_MICROS)
    .fetch_all(pool)
    .await
    .map_err(db_error)
}

pub(crate) async fn demand_history(
    pool: &AnyPool,
    from_micros: i64,
) -> Result<(Vec<OpeningBalance>, Vec<DemandDay>)> {
    let opening: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT product_id, location_id, CAST(SUM(quantity) AS BIGINT) FROM stock_movements \
         WHERE created_at < $1 GROUP BY product_id, location_id",
    )
    .bind(from_micros)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    // Local days: shift by the shop's UTC offset before dividing (instants are positive).
    let days: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT product_id, location_id, (created_at + $2) / $3 AS day, \
           CAST(SUM(quantity) AS BIGINT) AS net, \
           CAST(SUM(CASE WHEN kind = 'sale' THEN -quantity ELSE 0 END) AS BIGINT) AS sold \
         FROM stock_movements WHERE created_at >= $1 GROUP BY 1, 2, 3",
    )
    .bind(from_micros)
    .bind(app::forecast::LOCAL_OFFSET_MICROS)
    .bind(DAY_MICROS)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok((
        opening
            .into_iter()
            .map(|(product_id, location_id, on_hand)| OpeningBalance {
                product_id,
                location_id,
                on_hand,
            })
            .collect(),
        days.into_iter()
            .map(|(product_id, location_id, day, net, sold)| DemandDay {
                product_id,
                location_id,
                day,
                net,
                sold,
            })
            .collect(),
    ))
}

pub(crate) async fn start_forecast_run(store: &SqlStore, new: NewForecastRun) -> Result<i64> {
    let new = Arc::new(new);
    store
        .write(Arc::new(move |conn| {
            let new = new.clone();
            Box::pin(async move {
                sqlx::query_scalar(
                    "INSERT INTO forecast_runs (status, started_at, history_from, history_to, horizon, actor) \
                     VALUES ('running', $1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(new.now)
                .bind(new.history_from.to_string())
                .bind(new.history_to.to_string())
                .bind(new.horizon)
                .bind(&new.actor)
                .fetch_one(&mut *conn)
                .await
                .map_err(db_error)
            })
        }))
        .await
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| app::Error::internal(format!("serializando: {e}")))
}

pub(crate) async fn finish_forecast_run(
    store: &SqlStore,
    run_id: i64,
    run: FinishedRun,
    now: i64,
) -> Result<()> {
    // Serialise outside the transaction: (product, location, method, calendar, sd, scores, points).
    let mut rows = Vec::with_capacity(run.series.len());
    for s in &run.series {
        rows.push((
            s.product_id,
            s.location_id,
            s.method.as_str(),
            i64::from(s.calendar),
            s.error_sd,
            to_json(&s.scores)?,
            to_json(&s.points)?,
        ));
    }
    let mix = to_json(&run.method_mix)?;
    let accuracy = run.accuracy.to_string();
    let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let status = if run.ok { "done" } else { "failed" };
    let detail = run.detail;
    let rows = Arc::new(rows);
    let (mix, accuracy, detail) = (Arc::new(mix), Arc::new(accuracy), Arc::new(detail));
    store
        .write(Arc::new(move |conn| {
            let (rows, mix, accuracy, detail) =
                (rows.clone(), mix.clone(), accuracy.clone(), detail.clone());
            Box::pin(async move {
                for chunk in rows.chunks(CHUNK) {
                    let values: Vec<String> = (0..chunk.len())
                        .map(|i| {
                            let b = i * 7 + 2;
                            format!(
                                "($1, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                                b,
                                b + 1,
                                b + 2,
                                b + 3,
                                b + 4,
                                b + 5,
                                b + 6
                            )
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO forecast_series (run_id, product_id, location_id, method, calendar, error_sd, scores, points) VALUES {}",
                        values.join(", ")
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(run_id);
                    for r in chunk {
                        q = q
                            .bind(r.0)
                            .bind(r.1)
                            .bind(r.2)
                            .bind(r.3)
                            .bind(r.4)
                            .bind(r.5.as_str())
                            .bind(r.6.as_str());
                    }
                    q.execute(&mut *conn).await.map_err(db_error)?;
                }
                sqlx::query(
                    "UPDATE forecast_runs SET status = $1, finished_at = $2, series = $3, method_mix = $4, \
                     accuracy = $5, detail = $6 WHERE id = $7",
                )
                .bind(status)
                .bind(now)
                .bind(count)
                .bind(mix.as_str())
                .bind(accuracy.as_str())
                .bind(detail.as_str())
                .bind(run_id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

const RUN_COLUMNS: &str = "id, status, started_at, finished_at, history_from, history_to, horizon, series, method_mix, accuracy, detail";

fn run_from(r: &AnyRow) -> Result<ForecastRun> {
    let date = |col: &str| -> Result<chrono::NaiveDate> {
        parsed(
            col,
            chrono::NaiveDate::parse_from_str(&get::<String>(r, col)?, "%Y-%m-%d"),
        )
    };
    Ok(ForecastRun {
        id: get(r, "id")?,
        status: get(r, "status")?,
        started_at: instant(get(r, "started_at")?),
        finished_at: get::<Option<i64>>(r, "finished_at")?.map(instant),
        history_from: date("history_from")?,
        history_to: date("history_to")?,
        horizon: get(r, "horizon")?,
        series: get(r, "series")?,
        method_mix: parsed(
            "method_mix",
            serde_json::from_str(&get::<String>(r, "method_mix")?),
        )?,
        accuracy: serde_json::from_str(&get::<String>(r, "accuracy")?)
            .unwrap_or(serde_json::Value::Null),
        detail: get(r, "detail")?,
    })
}

pub(crate) async fn get_forecast_run(pool: &AnyPool, run_id: i64) -> Result<Option<ForecastRun>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM forecast_runs WHERE id = $1"
    )))
    .bind(run_id)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(run_from).transpose()
}

pub(crate) async fn latest_forecast_run(pool: &AnyPool) -> Result<Option<ForecastRun>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {RUN_COLUMNS} FROM forecast_runs WHERE status = 'done' ORDER BY id DESC LIMIT 1"
    )))
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    row.as_ref().map(run_from).transpose()
}

pub(crate) async fn forecast_series(
    pool: &AnyPool,
    run_id: i64,
    product_id: i64,
) -> Result<Vec<StoredSeries>> {
    let rows = sqlx::query(
        "SELECT product_id, location_id, method, calendar, error_sd, scores, points FROM forecast_series \
         WHERE run_id = $1 AND product_id = $2 ORDER BY location_id",
    )
    .bind(run_id)
    .bind(product_id)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(StoredSeries {
                product_id: get(r, "product_id")?,
                location_id: get(r, "location_id")?,
                method: parsed(
                    "method",
                    domain::forecast::Method::parse(&get::<String>(r, "method")?),
                )?,
                calendar: get::<i64>(r, "calendar")? != 0,
                error_sd: get(r, "error_sd")?,
                scores: parsed("scores", serde_json::from_str(&get::<String>(r, "scores")?))?,
                points: parsed("points", serde_json::from_str(&get::<String>(r, "points")?))?,
            })
        })
        .collect()
}

pub(crate) async fn replenishment_rows(
    pool: &AnyPool,
    run_id: i64,
) -> Result<Vec<ReplenishmentRow>> {
    let rows = sqlx::query(
        "SELECT fs.product_id, p.sku, p.name, fs.location_id, l.code, p.supplier_id, s.name AS supplier, \
           COALESCE(s.lead_time_days, 0) AS lead_time_days, p.cost, \
           COALESCE((SELECT MAX(b.pack) FROM product_barcodes b WHERE b.product_id = p.id), 1) AS pack, \
           COALESCE((SELECT CAST(SUM(sl.on_hand) AS BIGINT) FROM stock_levels sl \
                     WHERE sl.product_id = fs.product_id AND sl.location_id = fs.location_id), 0) AS on_hand, \
           COALESCE((SELECT CAST(SUM(pl.quantity - pl.received) AS BIGINT) FROM purchase_order_lines pl \
                     JOIN purchase_orders po ON po.id = pl.po_id \
                     WHERE pl.product_id = fs.product_id AND po.location_id = fs.location_id \
                       AND po.status IN ('draft', 'sent', 'partially_received') AND pl.quantity > pl.received), 0) AS on_order, \
           fs.error_sd, fs.points \
         FROM forecast_series fs \
         JOIN products p ON p.id = fs.product_id \
         JOIN locations l ON l.id = fs.location_id \
         LEFT JOIN suppliers s ON s.id = p.supplier_id \
         WHERE fs.run_id = $1 AND p.active = 1 \
         ORDER BY fs.product_id, fs.location_id",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(ReplenishmentRow {
                product_id: get(r, "product_id")?,
                sku: get(r, "sku")?,
                name: get(r, "name")?,
                location_id: get(r, "location_id")?,
                location: get(r, "code")?,
                supplier_id: get(r, "supplier_id")?,
                supplier: get(r, "supplier")?,
                lead_time_days: get(r, "lead_time_days")?,
                unit_cost: Money::from_minor(get(r, "cost")?),
                pack: Qty::units(get::<i64>(r, "pack")?.max(1)),
                on_hand: Qty::from_milli(get(r, "on_hand")?),
                on_order: Qty::from_milli(get(r, "on_order")?),
                error_sd: get(r, "error_sd")?,
                points: parsed("points", serde_json::from_str(&get::<String>(r, "points")?))?,
            })
        })
        .collect()
}

/// Movements per INSERT when appending history.
const HISTORY_CHUNK: usize = 10_000;

pub(crate) async fn append_history(
    store: &SqlStore,
    mut lines: Vec<app::forecast::HistoryLine>,
) -> Result<u64> {
    // Ids follow time, so the ledger replays in the order things happened.
    lines.sort_by_key(|l| l.created_at);
    let lines = Arc::new(lines);
    let engine = store.engine_kind();
    store
        .write(Arc::new(move |conn| {
            let lines = lines.clone();
            Box::pin(async move {
                let levels: Vec<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT product_id, location_id, on_hand FROM stock_levels WHERE lot = ''",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(db_error)?;
                let mut balance: std::collections::HashMap<(i64, i64), i64> = levels
                    .into_iter()
                    .map(|(p, l, q)| ((p, l), q))
                    .collect();
                let mut rows = Vec::with_capacity(lines.len());
                for (i, l) in lines.iter().enumerate() {
                    let b = balance.entry((l.product_id, l.location_id)).or_insert(0);
                    let before = *b;
                    let after = before + l.quantity;
                    if after < 0 {
                        return Err(app::Error::invalid(
                            format!("lines[{i}].quantity"),
                            "insufficient_stock",
                            "el historial deja stock negativo",
                        ));
                    }
                    *b = after;
                    rows.push((l, before, after));
                }
                // One JSON array parameter per chunk, expanded by the database: a single
                // statement per ten thousand movements instead of one bind per column.
                let sql = match engine {
                    Engine::Sqlite => {
                        "INSERT INTO stock_movements (product_id, location_id, lot, kind, quantity, before_qty, after_qty, unit_cost, document, actor, created_at) \
                         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), '', json_extract(value, '$[2]'), \
                           json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), \
                           json_extract(value, '$[6]'), json_extract(value, '$[7]'), 'sistema', json_extract(value, '$[8]') \
                         FROM json_each($1) ORDER BY key"
                    }
                    Engine::Postgres => {
                        "INSERT INTO stock_movements (product_id, location_id, lot, kind, quantity, before_qty, after_qty, unit_cost, document, actor, created_at) \
                         SELECT (e->>0)::bigint, (e->>1)::bigint, '', e->>2, (e->>3)::bigint, (e->>4)::bigint, (e->>5)::bigint, \
                           (e->>6)::bigint, e->>7, 'sistema', (e->>8)::bigint \
                         FROM json_array_elements($1::json) WITH ORDINALITY AS t(e, n) ORDER BY n"
                    }
                };
                for chunk in rows.chunks(HISTORY_CHUNK) {
                    let json: Vec<serde_json::Value> = chunk
                        .iter()
                        .map(|(l, before, after)| {
                            serde_json::json!([
                                l.product_id,
                                l.location_id,
                                l.kind.as_str(),
                                l.quantity,
                                before,
                                after,
                                l.unit_cost.minor(),
                                l.document,
                                l.created_at
                            ])
                        })
                        .collect();
                    sqlx::query(sql)
                        .bind(serde_json::Value::Array(json).to_string())
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?;
                }
                let last = lines.last().map_or(0, |l| l.created_at);
                let touched: std::collections::BTreeSet<(i64, i64)> =
                    lines.iter().map(|l| (l.product_id, l.location_id)).collect();
                for (p, l) in touched {
                    let on_hand = balance.get(&(p, l)).copied().unwrap_or(0);
                    sqlx::query(
                        "INSERT INTO stock_levels (product_id, location_id, lot, expiry, on_hand, updated_at) \
                         VALUES ($1, $2, '', NULL, $3, $4) \
                         ON CONFLICT (product_id, location_id, lot) DO UPDATE SET on_hand = excluded.on_hand, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(p)
                    .bind(l)
                    .bind(on_hand)
                    .bind(last)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                }
                Ok(u64::try_from(lines.len()).unwrap_or(u64::MAX))
            })
        }))
        .await
}
