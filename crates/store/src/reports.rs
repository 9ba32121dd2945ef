//! Reports read straight from the ledger and the cost history, never from rewritten totals.

use std::collections::BTreeMap;

use app::Result;
use app::reports::{SalesGrouping, SalesRow, ValuedStock};
use domain::{Money, Qty};
use sqlx::AnyPool;

use crate::rows::{db_error, get};

pub(crate) async fn valued_stock(pool: &AnyPool, at: i64) -> Result<Vec<ValuedStock>> {
    let rows = sqlx::query(
        "SELECT l.code, q.qty, COALESCE((SELECT h.cost FROM product_cost_history h WHERE h.product_id = q.product_id \
           AND h.changed_at <= $1 ORDER BY h.changed_at DESC, h.id DESC LIMIT 1), 0) AS cost \
         FROM (SELECT product_id, location_id, CAST(SUM(quantity) AS BIGINT) AS qty FROM stock_movements \
               WHERE created_at <= $1 GROUP BY product_id, location_id) q \
         JOIN locations l ON l.id = q.location_id WHERE q.qty <> 0",
    )
    .bind(at)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(ValuedStock {
                location: get(r, "code")?,
                quantity: Qty::from_milli(get(r, "qty")?),
                unit_cost: Money::from_minor(get(r, "cost")?),
            })
        })
        .collect()
}

#[derive(Default)]
struct Acc {
    tickets: std::collections::BTreeSet<i64>,
    quantity: i64,
    total: i64,
    net: i64,
    cost: i128,
}

/// Sales less returns in the window, grouped; margins use the cost recorded on each line.
pub(crate) async fn sales_summary(
    pool: &AnyPool,
    from: i64,
    to: i64,
    group: SalesGrouping,
) -> Result<Vec<SalesRow>> {
    let mut acc: BTreeMap<String, Acc> = BTreeMap::new();
    if group == SalesGrouping::PaymentMethod {
        let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT s.id, p.method, p.amount, s.change_given, p.seq FROM sale_payments p JOIN sales s ON s.id = p.sale_id \
             WHERE s.created_at >= $1 AND s.created_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
        for (sale, method, amount, change, _) in rows {
            let a = acc.entry(method.clone()).or_default();
            a.tickets.insert(sale);
            a.total += amount - if method == "cash" { change } else { 0 };
        }
        let refunds: Vec<(String, i64)> = sqlx::query_as(
            "SELECT refund_method, CAST(SUM(refund_amount) AS BIGINT) FROM sale_returns WHERE created_at >= $1 AND created_at < $2 GROUP BY refund_method",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
        for (method, amount) in refunds {
            acc.entry(method).or_default().total -= amount;
        }
    } else {
        let rows = sqlx::query(
            "SELECT s.id, s.created_at, s.actor, c.name AS category, p.sku, p.name, sl.quantity, sl.total, sl.net, sl.unit_cost, \
               CAST(COALESCE((SELECT SUM(rl.quantity) FROM sale_return_lines rl JOIN sale_returns r ON r.id = rl.return_id \
                 WHERE r.sale_id = sl.sale_id AND rl.line_no = sl.line_no), 0) AS BIGINT) AS returned_qty, \
               CAST(COALESCE((SELECT SUM(rl.amount) FROM sale_return_lines rl JOIN sale_returns r ON r.id = rl.return_id \
                 WHERE r.sale_id = sl.sale_id AND rl.line_no = sl.line_no), 0) AS BIGINT) AS returned_amount \
             FROM sale_lines sl JOIN sales s ON s.id = sl.sale_id JOIN products p ON p.id = sl.product_id \
             JOIN categories c ON c.id = p.category_id WHERE s.created_at >= $1 AND s.created_at < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
        for r in &rows {
            let key = match group {
                SalesGrouping::Day => {
                    let at =
                        crate::rows::instant(get(r, "created_at")?) - chrono::Duration::hours(3);
                    at.date_naive().to_string()
                }
                SalesGrouping::Category => get(r, "category")?,
                SalesGrouping::Product => {
                    format!("{} {}", get::<String>(r, "sku")?, get::<String>(r, "name")?)
                }
                SalesGrouping::Cashier => get(r, "actor")?,
                SalesGrouping::PaymentMethod => String::new(),
            };
            let qty: i64 = get(r, "quantity")?;
            let returned: i64 = get::<Option<i64>>(r, "returned_qty")?.unwrap_or(0);
            let total: i64 = get(r, "total")?;
            let refunded: i64 = get::<Option<i64>>(r, "returned_amount")?.unwrap_or(0);
            let net: i64 = get(r, "net")?;
            let kept = qty - returned;
            let a = acc.entry(key).or_default();
            a.tickets.insert(get(r, "id")?);
            a.quantity += kept;
            a.total += total - refunded;
            // Net keeps the line's net share of what was not refunded.
            a.net += if total == 0 {
                0
            } else {
                ((i128::from(net) * i128::from(total - refunded)) / i128::from(total)) as i64
            };
            a.cost += i128::from(get::<i64>(r, "unit_cost")?) * i128::from(kept);
        }
    }
    Ok(acc
        .into_iter()
        .map(|(key, a)| {
            let cost = Money::from_minor(((a.cost + 500) / 1000) as i64);
            let net = Money::from_minor(a.net);
            SalesRow {
                key,
                tickets: a.tickets.len() as i64,
                quantity: Qty::from_milli(a.quantity),
                total: Money::from_minor(a.total),
                net,
                cost,
                gross_margin: if group == SalesGrouping::PaymentMethod {
                    Money::ZERO
                } else {
                    net - cost
                },
            }
        })
        .collect())
}
