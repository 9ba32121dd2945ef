//! Tablero: the daily sales rollup with its watermarks and live tail, the stock snapshot and
//! the change markers the live updates poll.
//!
//! Sales and returns are folded with the same arithmetic as `reports::sales_summary` (a line's
//! net kept in proportion to what was not refunded, truncated per line), so rollup + tail equal
//! a direct aggregate. Folding is commutative: a return may be folded before or after its ticket.

use std::collections::BTreeMap;
use std::sync::Arc;

use app::Result;
use app::dashboard::{DailySales, LiveMarks, StockSnapshotRow, day_of_number, shop_day_number};
use sqlx::{AnyConnection, Connection, Executor};

use crate::rows::{db_error, get};
use crate::{Engine, SqlStore};

/// Tickets folded per write transaction, so the SQLite writer is never held for long.
const CHUNK: i64 = 5_000;

type Key = (i64, i64, i64);

#[derive(Default, Clone)]
struct Acc {
    category: String,
    tickets: i64,
    quantity: i64,
    total: i64,
    net: i64,
    cost_milli: i64,
}

/// Adds the tickets with ids in `(after, upto]` (all after `after` when `upto` is `None`).
async fn fold_sales(
    conn: &mut AnyConnection,
    after: i64,
    upto: Option<i64>,
    acc: &mut BTreeMap<Key, Acc>,
) -> Result<u64> {
    let rows = sqlx::query(
        "SELECT s.id, s.created_at, s.location_id, p.category_id, c.name AS category, sl.line_no, \
           sl.quantity, sl.total, sl.net, sl.unit_cost \
         FROM sales s JOIN sale_lines sl ON sl.sale_id = s.id JOIN products p ON p.id = sl.product_id \
         JOIN categories c ON c.id = p.category_id \
         WHERE s.id > $1 AND s.id <= $2 ORDER BY s.id, sl.line_no",
    )
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut last_sale = None;
    let mut tickets = 0u64;
    for r in &rows {
        let sale: i64 = get(r, "id")?;
        let day = shop_day_number(get(r, "created_at")?);
        let key = (day, get(r, "location_id")?, get(r, "category_id")?);
        let a = acc.entry(key).or_default();
        if a.category.is_empty() {
            a.category = get(r, "category")?;
        }
        if last_sale != Some(sale) {
            last_sale = Some(sale);
            a.tickets += 1;
            tickets += 1;
        }
        let quantity: i64 = get(r, "quantity")?;
        let total: i64 = get(r, "total")?;
        a.quantity += quantity;
        a.total += total;
        if total != 0 {
            a.net += get::<i64>(r, "net")?;
        }
        a.cost_milli += get::<i64>(r, "unit_cost")? * quantity;
    }
    Ok(tickets)
}

/// Net of a line that keeps `kept` of its `total`, as the sales summary computes it.
fn kept_net(net: i64, total: i64, kept: i64) -> i64 {
    if total == 0 {
        0
    } else {
        ((i128::from(net) * i128::from(kept)) / i128::from(total)) as i64
    }
}

/// Subtracts the returns with ids in `(after, upto]` from their tickets' days.
async fn fold_returns(
    conn: &mut AnyConnection,
    after: i64,
    upto: Option<i64>,
    acc: &mut BTreeMap<Key, Acc>,
) -> Result<u64> {
    let rows = sqlx::query(
        "SELECT r.id, s.created_at, s.location_id, p.category_id, c.name AS category, rl.quantity AS returned, \
           rl.amount, sl.total, sl.net, sl.unit_cost, \
           CAST(COALESCE((SELECT SUM(x.amount) FROM sale_return_lines x JOIN sale_returns y ON y.id = x.return_id \
             WHERE y.sale_id = r.sale_id AND x.line_no = rl.line_no AND y.id < r.id), 0) AS BIGINT) AS prior \
         FROM sale_returns r JOIN sale_return_lines rl ON rl.return_id = r.id \
         JOIN sale_lines sl ON sl.sale_id = r.sale_id AND sl.line_no = rl.line_no \
         JOIN sales s ON s.id = r.sale_id JOIN products p ON p.id = sl.product_id \
         JOIN categories c ON c.id = p.category_id \
         WHERE r.id > $1 AND r.id <= $2",
    )
    .bind(after)
    .bind(upto.unwrap_or(i64::MAX))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut returns = std::collections::BTreeSet::new();
    for r in &rows {
        returns.insert(get::<i64>(r, "id")?);
        let day = shop_day_number(get(r, "created_at")?);
        let key = (day, get(r, "location_id")?, get(r, "category_id")?);
        let a = acc.entry(key).or_default();
        if a.category.is_empty() {
            a.category = get(r, "category")?;
        }
        let (total, net): (i64, i64) = (get(r, "total")?, get(r, "net")?);
        let (amount, prior): (i64, i64) = (get(r, "amount")?, get(r, "prior")?);
        let returned: i64 = get(r, "returned")?;
        a.quantity -= returned;
        a.total -= amount;
        a.net += kept_net(net, total, total - prior - amount) - kept_net(net, total, total - prior);
        a.cost_milli -= get::<i64>(r, "unit_cost")? * returned;
    }
    Ok(returns.len() as u64)
}

/// Moves one watermark over the next settled chunk and folds it; `(folded, more to do)`.
async fn fold_chunk(
    conn: &mut AnyConnection,
    engine: Engine,
    settled_before: i64,
    now: i64,
) -> Result<(u64, u64, bool)> {
    let lock = engine.for_update();
    let marks: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT name, last_id FROM rollup_watermarks ORDER BY name{lock}"
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mark = |n: &str| marks.iter().find(|(k, _)| k == n).map_or(0, |(_, v)| *v);
    let (sales_mark, returns_mark) = (mark("sales"), mark("returns"));
    let mut acc = BTreeMap::new();
    let mut more = false;
    let upto = |table: &'static str, after: i64| {
        let sql = format!(
            "SELECT COALESCE((SELECT MIN(id) - 1 FROM {table} WHERE id > $1 AND created_at >= $2), \
               (SELECT MAX(id) FROM {table}), 0)"
        );
        (sql, after)
    };
    let (sql, after) = upto("sales", sales_mark);
    let sales_end: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(settled_before)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    let sales_end = if sales_end > sales_mark + CHUNK {
        more = true;
        sales_mark + CHUNK
    } else {
        sales_end.max(sales_mark)
    };
    let (sql, after) = upto("sale_returns", returns_mark);
    let returns_end: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(after)
        .bind(settled_before)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    let returns_end = if returns_end > returns_mark + CHUNK {
        more = true;
        returns_mark + CHUNK
    } else {
        returns_end.max(returns_mark)
    };
    let tickets = fold_sales(conn, sales_mark, Some(sales_end), &mut acc).await?;
    let returns = fold_returns(conn, returns_mark, Some(returns_end), &mut acc).await?;
    for ((day, location_id, category_id), a) in acc {
        sqlx::query(
            "INSERT INTO sales_daily (day, location_id, category_id, tickets, quantity, total, net, cost_milli) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (day, location_id, category_id) DO UPDATE SET \
             tickets = sales_daily.tickets + excluded.tickets, quantity = sales_daily.quantity + excluded.quantity, \
             total = sales_daily.total + excluded.total, net = sales_daily.net + excluded.net, \
             cost_milli = sales_daily.cost_milli + excluded.cost_milli",
        )
        .bind(day)
        .bind(location_id)
        .bind(category_id)
        .bind(a.tickets)
        .bind(a.quantity)
        .bind(a.total)
        .bind(a.net)
        .bind(a.cost_milli)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    for (name, end) in [("sales", sales_end), ("returns", returns_end)] {
        sqlx::query("UPDATE rollup_watermarks SET last_id = $1, updated_at = $2 WHERE name = $3")
            .bind(end)
            .bind(now)
            .bind(name)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok((tickets, returns, more))
}

pub(crate) async fn refresh_sales_rollup(
    store: &SqlStore,
    settled_before: i64,
    now: i64,
) -> Result<(u64, u64)> {
    let engine = store.engine;
    let (mut tickets, mut returns) = (0, 0);
    loop {
        let (t, r, more) = store
            .write(Arc::new(move |conn| {
                Box::pin(async move { fold_chunk(conn, engine, settled_before, now).await })
            }))
            .await?;
        tickets += t;
        returns += r;
        if !more {
            return Ok((tickets, returns));
        }
    }
}

/// Rollup rows and the tail after the watermarks, read in one snapshot so a refresh committing
/// meanwhile neither doubles nor drops a ticket.
pub(crate) async fn daily_sales(
    store: &SqlStore,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<DailySales>> {
    let mut conn = store.pool.acquire().await.map_err(db_error)?;
    let begin = match store.engine {
        Engine::Sqlite => "BEGIN",
        Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    conn.execute(begin).await.map_err(db_error)?;
    let out = read_daily_sales(&mut conn, from_day, to_day).await;
    if conn.execute("COMMIT").await.is_err() {
        let _ = conn.detach().close().await;
    }
    out
}

async fn read_daily_sales(
    conn: &mut AnyConnection,
    from_day: i64,
    to_day: i64,
) -> Result<Vec<DailySales>> {
    let marks: Vec<(String, i64)> = sqlx::query_as("SELECT name, last_id FROM rollup_watermarks")
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let mark = |n: &str| marks.iter().find(|(k, _)| k == n).map_or(0, |(_, v)| *v);
    let rows = sqlx::query(
        "SELECT d.day, d.location_id, d.category_id, c.name AS category, d.tickets, d.quantity, d.total, d.net, d.cost_milli \
         FROM sales_daily d JOIN categories c ON c.id = d.category_id WHERE d.day >= $1 AND d.day < $2",
    )
    .bind(from_day)
    .bind(to_day)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut acc: BTreeMap<Key, Acc> = BTreeMap::new();
    for r in &rows {
        acc.insert(
            (
                get(r, "day")?,
                get(r, "location_id")?,
                get(r, "category_id")?,
            ),
            Acc {
                category: get(r, "category")?,
                tickets: get(r, "tickets")?,
                quantity: get(r, "quantity")?,
                total: get(r, "total")?,
                net: get(r, "net")?,
                cost_milli: get(r, "cost_milli")?,
            },
        );
    }
    let mut tail = BTreeMap::new();
    fold_sales(conn, mark("sales"), None, &mut tail).await?;
    fold_returns(conn, mark("returns"), None, &mut tail).await?;
    for (key, t) in tail {
        if key.0 < from_day || key.0 >= to_day {
            continue;
        }
        let a = acc.entry(key).or_default();
        if a.category.is_empty() {
            a.category = t.category;
        }
        a.tickets += t.tickets;
        a.quantity += t.quantity;
        a.total += t.total;
        a.net += t.net;
        a.cost_milli += t.cost_milli;
    }
    Ok(acc
        .into_iter()
        .map(|((day, location_id, _), a)| DailySales {
            day: day_of_number(day),
            location_id,
            category: a.category,
            tickets: a.tickets,
            quantity_milli: a.quantity,
            total: a.total,
            net: a.net,
            cost_milli: a.cost_milli,
        })
        .collect())
}

pub(crate) async fn stock_value_now(store: &SqlStore) -> Result<Vec<(i64, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.location_id, CAST(SUM(s.on_hand * p.cost) AS BIGINT) FROM stock_levels s \
         JOIN products p ON p.id = s.product_id GROUP BY s.location_id",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(db_error)?;
    // on_hand is in thousandths: round each location once, half up (values are never negative).
    Ok(rows
        .into_iter()
        .map(|(l, v)| (l, (v + 500) / 1000))
        .collect())
}

pub(crate) async fn save_stock_snapshot(
    store: &SqlStore,
    rows: Vec<StockSnapshotRow>,
) -> Result<()> {
    let rows = Arc::new(rows);
    store
        .write(Arc::new(move |conn| {
            let rows = rows.clone();
            Box::pin(async move {
                for r in rows.iter() {
                    sqlx::query(
                        "INSERT INTO stock_snapshot (location_id, stock_value, critical, out_of_stock, expiring, computed_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (location_id) DO UPDATE SET \
                         stock_value = excluded.stock_value, critical = excluded.critical, \
                         out_of_stock = excluded.out_of_stock, expiring = excluded.expiring, computed_at = excluded.computed_at",
                    )
                    .bind(r.location_id)
                    .bind(r.stock_value)
                    .bind(r.critical)
                    .bind(r.out_of_stock)
                    .bind(r.expiring)
                    .bind(r.computed_at)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                }
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn stock_snapshot(store: &SqlStore) -> Result<Vec<StockSnapshotRow>> {
    let rows: Vec<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT location_id, stock_value, critical, out_of_stock, expiring, computed_at FROM stock_snapshot",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(
            |(location_id, stock_value, critical, out_of_stock, expiring, computed_at)| {
                StockSnapshotRow {
                    location_id,
                    stock_value,
                    critical,
                    out_of_stock,
                    expiring,
                    computed_at,
                }
            },
        )
        .collect())
}

pub(crate) async fn live_marks(store: &SqlStore) -> Result<LiveMarks> {
    let (last_sale, last_return, last_alert, open_alerts, snapshot_at): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT CAST(COALESCE((SELECT MAX(id) FROM sales), 0) AS BIGINT), \
               CAST(COALESCE((SELECT MAX(id) FROM sale_returns), 0) AS BIGINT), \
               CAST(COALESCE((SELECT MAX(id) FROM alerts), 0) AS BIGINT), \
               CAST((SELECT COUNT(*) FROM alerts WHERE resolved_at IS NULL) AS BIGINT), \
               CAST(COALESCE((SELECT MAX(computed_at) FROM stock_snapshot), 0) AS BIGINT)",
        )
        .fetch_one(&store.pool)
        .await
        .map_err(db_error)?;
    Ok(LiveMarks {
        last_sale,
        last_return,
        last_alert,
        open_alerts,
        snapshot_at,
    })
}
