//! The till: shifts, tickets with their lines, lots and payments, and returns. A ticket's stock
//! leaves through the same guarded ledger path as any issue (first-expiry-first-out).

use std::collections::HashMap;
use std::sync::Arc;

use app::error::Shortage;
use app::sales::{
    MethodAmount, NewReturn, NewSale, NewShift, ReturnLine, Sale, SaleItem, SaleItemRef, SaleLine,
    SaleReturn, Shift, VatLine,
};
use app::{Error, Result, WriteMeta, Written};
use domain::catalog::UnitOfMeasure;
use domain::ledger::MovementKind;
use domain::sale::{self as rules, PaymentMethod};
use domain::{Money, Qty};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe};

use crate::audit::{self, Change};
use crate::idempotency;
use crate::rows::{date, db_error, get, instant, parsed, placeholders, vat_from_bp};
use crate::statement::Statement;
use crate::stock::{
    LocationInfo, Posting, ProductInfo, record_taken, resolve_location, take_sold_statement,
    take_stock,
};
use crate::{Engine, SqlStore};

/// One INSERT for many rows: `(cols) VALUES ($1, $2), ($3, $4), ...`.
pub(crate) fn multi_values(table: &str, cols: &[&str], rows: usize) -> String {
    let n = cols.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| format!("({})", placeholders(r * n + 1, n)))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        cols.join(", "),
        tuples.join(", ")
    )
}

// ---------------------------------------------------------------- shifts

/// Expected amounts per method: the float plus what came in, less change and refunds given.
async fn expected(
    conn: &mut AnyConnection,
    shift_id: i64,
    opening_float: Money,
) -> Result<(Vec<MethodAmount>, i64)> {
    let paid: Vec<(String, i64)> = sqlx::query_as(
        "SELECT p.method, CAST(SUM(p.amount) AS BIGINT) FROM sale_payments p JOIN sales s ON s.id = p.sale_id \
         WHERE s.shift_id = $1 GROUP BY p.method",
    )
    .bind(shift_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let (change, tickets): (i64, i64) =
        sqlx::query_as("SELECT CAST(COALESCE(SUM(change_given), 0) AS BIGINT), COUNT(*) FROM sales WHERE shift_id = $1")
            .bind(shift_id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
    let refunds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT refund_method, CAST(SUM(refund_amount) AS BIGINT) FROM sale_returns WHERE shift_id = $1 GROUP BY refund_method",
    )
    .bind(shift_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut out = Vec::with_capacity(PaymentMethod::ALL.len());
    for m in PaymentMethod::ALL.iter().copied() {
        let sum = |rows: &[(String, i64)]| {
            rows.iter()
                .filter(|(k, _)| k == m.as_str())
                .map(|(_, v)| *v)
                .sum::<i64>()
        };
        let mut amount = sum(&paid) - sum(&refunds);
        if m == PaymentMethod::Cash {
            amount += opening_float.minor() - change;
        }
        out.push(MethodAmount {
            method: m,
            amount: Money::from_minor(amount),
        });
    }
    Ok((out, tickets))
}

async fn load_shift(conn: &mut AnyConnection, id: i64, lock: &str) -> Result<Option<Shift>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.id, l.code, s.till, s.status, s.opening_float, s.opened_by, s.opened_at, s.closed_by, s.closed_at, s.counted_json \
         FROM shifts s JOIN locations l ON l.id = s.location_id WHERE s.id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(r) = row else { return Ok(None) };
    let opening_float = Money::from_minor(get(&r, "opening_float")?);
    let (expected, tickets) = expected(conn, id, opening_float).await?;
    let counted: Vec<MethodAmount> = match get::<Option<String>>(&r, "counted_json")? {
        Some(j) => serde_json::from_str(&j).map_err(Error::internal)?,
        None => Vec::new(),
    };
    let difference = if counted.is_empty() {
        Vec::new()
    } else {
        expected
            .iter()
            .map(|e| {
                let c = counted
                    .iter()
                    .find(|c| c.method == e.method)
                    .map_or(e.amount, |c| c.amount);
                MethodAmount {
                    method: e.method,
                    amount: c - e.amount,
                }
            })
            .collect()
    };
    Ok(Some(Shift {
        id: get(&r, "id")?,
        location: get(&r, "code")?,
        till: get(&r, "till")?,
        status: get(&r, "status")?,
        opening_float,
        opened_by: get(&r, "opened_by")?,
        opened_at: instant(get(&r, "opened_at")?),
        closed_by: get(&r, "closed_by")?,
        closed_at: get::<Option<i64>>(&r, "closed_at")?.map(instant),
        expected,
        counted,
        difference,
        tickets,
    }))
}

pub(crate) async fn get_shift(pool: &AnyPool, id: i64) -> Result<Option<Shift>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    load_shift(&mut conn, id, "").await
}

pub(crate) async fn open_shift_at(
    pool: &AnyPool,
    location: &str,
    till: &str,
) -> Result<Option<Shift>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    // One open shift per till (a partial unique index): this reads one index entry.
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT s.id FROM shifts s JOIN locations l ON l.id = s.location_id \
         WHERE l.code = $1 AND s.till = $2 AND s.status = 'open'",
    )
    .bind(location)
    .bind(till)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    match id {
        Some(id) => load_shift(&mut conn, id, "").await,
        None => Ok(None),
    }
}

pub(crate) async fn open_shift(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewShift,
) -> Result<Written<Shift>> {
    let location = resolve_location(store, meta, &new.location, "location").await?;
    let owned_meta = meta.clone();
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, new, location) = (owned_meta.clone(), new.clone(), location.clone());
                Box::pin(async move {
                    let open: Option<i64> = sqlx::query_scalar("SELECT id FROM shifts WHERE location_id = $1 AND till = $2 AND status = 'open'")
                        .bind(location.id)
                        .bind(&new.till)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(db_error)?;
                    if let Some(id) = open {
                        return Err(Error::conflict(
                            "shift_already_open",
                            Some("till"),
                            format!("la caja {} de {} ya tiene abierto el turno {id}", new.till, location.code),
                        ));
                    }
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO shifts (location_id, till, status, opening_float, opened_by, opened_at) \
                         VALUES ($1, $2, 'open', $3, $4, $5) RETURNING id",
                    )
                    .bind(location.id)
                    .bind(&new.till)
                    .bind(new.opening_float.minor())
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                    let shift = load_shift(conn, id, "").await?.ok_or_else(|| Error::internal("turno recién abierto no encontrado"))?;
                    audit::record(conn, &meta, Change::<(), _> {
                        action: "shift.open",
                        entity: "shift",
                        entity_id: Some(id.to_string()),
                        before: None,
                        after: Some(&shift),
                    })
                    .await?;
                    idempotency::record(conn, &meta, &shift).await?;
                    Ok(shift)
                })
            }),
        )
        .await
}

pub(crate) async fn close_shift(
    store: &SqlStore,
    meta: &WriteMeta,
    id: i64,
    counted: Vec<MethodAmount>,
) -> Result<Shift> {
    let meta = meta.clone();
    let engine = store.engine;
    store
        .write(Arc::new(move |conn| {
            let (meta, counted) = (meta.clone(), counted.clone());
            Box::pin(async move {
                let shift = load_shift(conn, id, engine.for_update())
                    .await?
                    .ok_or_else(|| Error::NotFound { entity: "turno", key: id.to_string() })?;
                if shift.status != "open" {
                    return Err(Error::conflict("shift_not_open", None, format!("el turno {id} no está abierto")));
                }
                let location_id: i64 = sqlx::query_scalar("SELECT location_id FROM shifts WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                meta.actor.require_location(location_id, &shift.location)?;
                sqlx::query("UPDATE shifts SET status = 'closed', closed_by = $1, closed_at = $2, counted_json = $3 WHERE id = $4")
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .bind(serde_json::to_string(&counted).map_err(Error::internal)?)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                let closed = load_shift(conn, id, "").await?.ok_or_else(|| Error::internal("turno no encontrado"))?;
                audit::record(conn, &meta, Change {
                    action: "shift.close",
                    entity: "shift",
                    entity_id: Some(id.to_string()),
                    before: Some(&shift),
                    after: Some(&closed),
                })
                .await?;
                Ok(closed)
            })
        }))
        .await
}

// ---------------------------------------------------------------- tickets

fn sale_item_from(r: &AnyRow) -> Result<SaleItem> {
    Ok(SaleItem {
        product_id: get(r, "id")?,
        sku: get(r, "sku")?,
        name: get(r, "name")?,
        unit: parsed("unit", UnitOfMeasure::parse(&get::<String>(r, "unit")?))?,
        price: Money::from_minor(get(r, "price")?),
        cost: Money::from_minor(get(r, "cost")?),
        vat_rate: vat_from_bp(get(r, "vat_bp")?)?,
        active: get::<i64>(r, "active")? != 0,
        pack: get(r, "pack")?,
    })
}

pub(crate) async fn sale_item(store: &SqlStore, r: &SaleItemRef) -> Result<Option<SaleItem>> {
    if let Some(hit) = store.resolve_cache.sale_item(r) {
        return Ok(Some(hit));
    }
    const COLS: &str = "p.id, p.sku, p.name, p.unit, p.price, p.cost, p.vat_bp, p.active";
    let q = match r {
        SaleItemRef::Product(app::catalog::ProductRef::Id(id)) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {COLS}, 1 AS pack FROM products p WHERE p.id = $1"))).bind(*id)
        }
        SaleItemRef::Product(app::catalog::ProductRef::Sku(s)) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {COLS}, 1 AS pack FROM products p WHERE p.sku = $1"))).bind(s.as_str().to_owned())
        }
        SaleItemRef::Product(app::catalog::ProductRef::Barcode(g)) => sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS}, b.pack FROM product_barcodes b JOIN products p ON p.id = b.product_id WHERE b.code = $1"
        )))
        .bind(g.as_str().to_owned()),
        SaleItemRef::ScaleItem(plu) => {
            sqlx::query(AssertSqlSafe(format!("SELECT {COLS}, 1 AS pack FROM products p WHERE p.plu = $1"))).bind(i64::from(*plu))
        }
    };
    let row = q.fetch_optional(&store.pool).await.map_err(db_error)?;
    let item = row.as_ref().map(sale_item_from).transpose()?;
    if let Some(item) = &item {
        store.resolve_cache.put_sale_item(r, item.clone());
    }
    Ok(item)
}

pub(crate) async fn post_sale(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewSale,
) -> Result<Written<Sale>> {
    let location = shift_location(store, new.shift).await?;
    meta.actor.require_location(location.id, &location.code)?;
    let owned_meta = meta.clone();
    let engine = store.engine;
    let new = Arc::new(new);
    if engine == Engine::Sqlite {
        return store
            .write_idempotent_direct(
                meta,
                Arc::new(move |conn| crate::direct::post_sale(conn, &owned_meta, &new, &location)),
            )
            .await;
    }
    store
        .write_idempotent_recorded_first(
            meta,
            Arc::new(move |conn| {
                let (meta, new, location) = (owned_meta.clone(), new.clone(), location.clone());
                Box::pin(async move { post_sale_tx(conn, &meta, &new, &location).await })
            }),
        )
        .await
}

/// The location of a shift (it never changes), remembered after the first ticket.
async fn shift_location(store: &SqlStore, shift: i64) -> Result<LocationInfo> {
    if let Some(hit) = store.resolve_cache.shift_location(shift) {
        return Ok(hit);
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT l.id, l.code FROM shifts s JOIN locations l ON l.id = s.location_id WHERE s.id = $1")
            .bind(shift)
            .fetch_optional(&store.pool)
            .await
            .map_err(db_error)?;
    let (id, code) =
        row.ok_or_else(|| Error::unknown("shift", format!("el turno {shift} no existe")))?;
    let location = LocationInfo { id, code };
    store
        .resolve_cache
        .put_shift_location(shift, location.clone());
    Ok(location)
}

/// PostgreSQL's ticket (SQLite's is [`crate::direct::post_sale`]): few round trips, because
/// under load every round trip is scheduling delay, and the last ones hold hot rows locked.
async fn post_sale_tx(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    new: &NewSale,
    location: &LocationInfo,
) -> Result<Sale> {
    let inserted: Option<(i64, i64)> = ticket_statement(meta, new)
        .query_as()
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    let Some((sale_id, location_id)) = inserted else {
        let exists: Option<(i64,)> = shift_exists_statement(new.shift)
            .query_as()
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        return Err(shift_not_open(new.shift, exists.is_some()));
    };
    let sale = sale_record(sale_id, location_id, meta, new, location)?;
    // Recorded before any stock is touched: a retry of a ticket that sold the last unit finds
    // this result instead of a 409.
    idempotency::record(conn, meta, &sale).await?;

    // Stock last, so hot rows stay locked as briefly as possible, in product order (one lock
    // order for every transaction): first every product from its first-expiring lot in one
    // statement that also writes their ledger rows, then the rare rest line by line.
    let document = sale_document(sale_id);
    let order = lines_in_lock_order(new);
    let mut items: Vec<(i64, Qty, Money)> = Vec::with_capacity(order.len());
    for &i in &order {
        let line = &new.lines[i];
        match items.last_mut() {
            Some(last) if last.0 == line.product_id => last.1 += line.quantity,
            _ => items.push((line.product_id, line.quantity, line.unit_cost)),
        }
    }
    let mut done = std::collections::HashSet::new();
    if !items.is_empty() {
        let rows: Vec<(i64, String, i64, Option<String>)> =
            take_sold_statement(meta, location.id, &document, &items)
                .query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(db_error)?;
        done.extend(rows.into_iter().map(|(product_id, ..)| product_id));
    }
    let mut taken = Vec::new();
    let mut shortages = Vec::new();
    for i in order {
        let line = &new.lines[i];
        if done.contains(&line.product_id) {
            continue;
        }
        let product = line_product(line);
        let posting = sale_posting(meta, &product, location, &document, line.unit_cost);
        match take_stock(conn, Engine::Postgres, &posting, None, line.quantity).await? {
            Ok(ts) => taken.extend(ts.into_iter().map(|t| (line.product_id, line.unit_cost, t))),
            Err(available) => shortages.push(shortage(new, i, location, available)),
        }
    }
    if !shortages.is_empty() {
        shortages.sort_by_key(|s| s.line);
        return Err(Error::InsufficientStock(shortages));
    }
    record_taken(
        conn,
        meta,
        location.id,
        MovementKind::Sale,
        Some(&document),
        &taken,
    )
    .await?;
    Ok(sale)
}

// The ticket's pieces shared by PostgreSQL's path above and SQLite's direct writer, and the
// statements SQLite's writer runs one by one.

/// SQLite: inserts the ticket if its shift is open, so checking the shift costs no extra
/// statement; returns `id, location_id`. Lines and payments follow in their own statements.
pub(crate) fn sale_insert_statement(meta: &WriteMeta, new: &NewSale) -> Statement {
    Statement::new(
        "INSERT INTO sales (shift_id, location_id, subtotal, discount, total, paid, change_given, status, actor, created_at) \
         SELECT s.id, s.location_id, $2, $3, $4, $5, $6, 'completed', $7, $8 FROM shifts s WHERE s.id = $1 AND s.status = 'open' \
         RETURNING id, location_id",
    )
    .bind(new.shift)
    .bind(new.subtotal.minor())
    .bind(new.discount.minor())
    .bind(new.total.minor())
    .bind(new.settlement.paid.minor())
    .bind(new.settlement.change.minor())
    .bind(meta.actor.label.clone())
    .bind(meta.now)
}

/// PostgreSQL: the ticket, its lines and its payments in one statement (data-modifying CTEs),
/// inserted only if the shift is open, which it row-locks against a concurrent close.
fn ticket_statement(meta: &WriteMeta, new: &NewSale) -> Statement {
    const HEAD: usize = 8;
    const LINE: usize = 12;
    let lines: Vec<String> = (0..new.lines.len())
        .map(|i| {
            let first = HEAD + 1 + i * LINE;
            let casts: Vec<String> = (first..first + LINE)
                .map(|n| format!("${n}::BIGINT"))
                .collect();
            format!("({})", casts.join(", "))
        })
        .collect();
    let first_payment = HEAD + 1 + new.lines.len() * LINE;
    let payments: Vec<String> = (0..new.payments.len())
        .map(|i| {
            let n = first_payment + i * 3;
            format!("(${n}::BIGINT, ${}::TEXT, ${}::BIGINT)", n + 1, n + 2)
        })
        .collect();
    let payments_cte = if payments.is_empty() {
        String::new()
    } else {
        format!(
            ", paid AS (INSERT INTO sale_payments (sale_id, seq, method, amount) \
             SELECT sale.id, p.* FROM sale, (VALUES {}) AS p (seq, method, amount))",
            payments.join(", ")
        )
    };
    let mut statement = Statement::new(format!(
        "WITH sale AS (INSERT INTO sales (shift_id, location_id, subtotal, discount, total, paid, change_given, status, actor, created_at) \
           SELECT s.id, s.location_id, $2, $3, $4, $5, $6, 'completed', $7, $8 FROM shifts s WHERE s.id = $1 AND s.status = 'open' FOR SHARE \
           RETURNING id, location_id), \
         lines AS (INSERT INTO sale_lines (sale_id, line_no, product_id, quantity, unit_price, gross, line_discount, ticket_discount, \
           total, net, vat, vat_bp, unit_cost) \
           SELECT sale.id, l.* FROM sale, (VALUES {}) AS l (line_no, product_id, quantity, unit_price, gross, line_discount, \
           ticket_discount, total, net, vat, vat_bp, unit_cost)){payments_cte} \
         SELECT id, location_id FROM sale",
        lines.join(", ")
    ))
    .bind(new.shift)
    .bind(new.subtotal.minor())
    .bind(new.discount.minor())
    .bind(new.total.minor())
    .bind(new.settlement.paid.minor())
    .bind(new.settlement.change.minor())
    .bind(meta.actor.label.clone())
    .bind(meta.now);
    for (i, l) in new.lines.iter().enumerate() {
        statement.push(i as i64 + 1);
        statement.push(l.product_id);
        statement.push(l.quantity.milli());
        statement.push(l.unit_price.minor());
        statement.push(l.priced.gross.minor());
        statement.push(l.priced.line_discount.minor());
        statement.push(l.priced.ticket_discount.minor());
        statement.push(l.priced.total.minor());
        statement.push(l.priced.net.minor());
        statement.push(l.priced.vat.minor());
        statement.push(l.priced.vat_rate.basis_points());
        statement.push(l.unit_cost.minor());
    }
    for (i, p) in new.payments.iter().enumerate() {
        statement.push(i as i64);
        statement.push(p.method.as_str());
        statement.push(p.amount.minor());
    }
    statement
}

pub(crate) fn shift_exists_statement(shift: i64) -> Statement {
    Statement::new("SELECT id FROM shifts WHERE id = $1").bind(shift)
}

pub(crate) fn shift_not_open(shift: i64, exists: bool) -> Error {
    if exists {
        Error::conflict(
            "shift_not_open",
            Some("shift"),
            format!("el turno {shift} está cerrado"),
        )
    } else {
        Error::unknown("shift", format!("el turno {shift} no existe"))
    }
}

pub(crate) fn sale_document(sale_id: i64) -> String {
    format!("sale:{sale_id}")
}

/// The ticket as the API returns it (and as its idempotency record replays it).
pub(crate) fn sale_record(
    sale_id: i64,
    location_id: i64,
    meta: &WriteMeta,
    new: &NewSale,
    location: &LocationInfo,
) -> Result<Sale> {
    if location_id != location.id {
        return Err(Error::internal("el turno cambió de ubicación"));
    }
    Ok(Sale {
        id: sale_id,
        shift: new.shift,
        location: location.code.clone(),
        status: "completed".into(),
        lines: new
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| SaleLine {
                line: i as i64 + 1,
                product_id: l.product_id,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                gross: l.priced.gross,
                discount: l.priced.line_discount + l.priced.ticket_discount,
                total: l.priced.total,
                vat_rate: l.priced.vat_rate,
                net: l.priced.net,
                vat: l.priced.vat,
            })
            .collect(),
        subtotal: new.subtotal,
        discount: new.discount,
        total: new.total,
        vat: new
            .vat
            .iter()
            .map(|v| VatLine {
                rate: v.rate,
                net: v.net,
                vat: v.vat,
            })
            .collect(),
        payments: new
            .payments
            .iter()
            .map(|p| MethodAmount {
                method: p.method,
                amount: p.amount,
            })
            .collect(),
        paid: new.settlement.paid,
        change: new.settlement.change,
        cashier: meta.actor.label.clone(),
        created_at: instant(meta.now),
    })
}

pub(crate) fn sale_lines_statement(sale_id: i64, new: &NewSale) -> Statement {
    let cols = [
        "sale_id",
        "line_no",
        "product_id",
        "quantity",
        "unit_price",
        "gross",
        "line_discount",
        "ticket_discount",
        "total",
        "net",
        "vat",
        "vat_bp",
        "unit_cost",
    ];
    let mut statement = Statement::new(multi_values("sale_lines", &cols, new.lines.len()));
    for (i, l) in new.lines.iter().enumerate() {
        statement.push(sale_id);
        statement.push(i as i64 + 1);
        statement.push(l.product_id);
        statement.push(l.quantity.milli());
        statement.push(l.unit_price.minor());
        statement.push(l.priced.gross.minor());
        statement.push(l.priced.line_discount.minor());
        statement.push(l.priced.ticket_discount.minor());
        statement.push(l.priced.total.minor());
        statement.push(l.priced.net.minor());
        statement.push(l.priced.vat.minor());
        statement.push(l.priced.vat_rate.basis_points());
        statement.push(l.unit_cost.minor());
    }
    statement
}

pub(crate) fn sale_payments_statement(sale_id: i64, new: &NewSale) -> Statement {
    let mut statement = Statement::new(multi_values(
        "sale_payments",
        &["sale_id", "seq", "method", "amount"],
        new.payments.len(),
    ));
    for (i, p) in new.payments.iter().enumerate() {
        statement.push(sale_id);
        statement.push(i as i64);
        statement.push(p.method.as_str());
        statement.push(p.amount.minor());
    }
    statement
}

/// Lines with stock to take, in product order: one lock order for every transaction.
pub(crate) fn lines_in_lock_order(new: &NewSale) -> Vec<usize> {
    let mut order: Vec<usize> = (0..new.lines.len())
        .filter(|i| new.lines[*i].quantity.is_positive())
        .collect();
    order.sort_by_key(|i| new.lines[*i].product_id);
    order
}

pub(crate) fn line_product(line: &app::sales::NewSaleLine) -> ProductInfo {
    ProductInfo {
        id: line.product_id,
        sku: line.sku.clone(),
        unit: UnitOfMeasure::Unit,
        cost: line.unit_cost,
        pack: 1,
    }
}

pub(crate) fn sale_posting<'a>(
    meta: &'a WriteMeta,
    product: &'a ProductInfo,
    location: &'a LocationInfo,
    document: &'a str,
    unit_cost: Money,
) -> Posting<'a> {
    Posting {
        meta,
        product,
        location,
        kind: MovementKind::Sale,
        unit_cost,
        reason: None,
        document: Some(document),
    }
}

pub(crate) fn shortage(
    new: &NewSale,
    i: usize,
    location: &LocationInfo,
    available: Qty,
) -> Shortage {
    let line = &new.lines[i];
    Shortage {
        line: i,
        product_id: line.product_id,
        sku: line.sku.clone(),
        location: location.code.clone(),
        lot: None,
        requested: line.quantity,
        available,
    }
}

async fn load_sale(conn: &mut AnyConnection, id: i64, lock: &str) -> Result<Option<(Sale, i64)>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT s.id, s.shift_id, s.location_id, l.code, s.status, s.subtotal, s.discount, s.total, s.paid, s.change_given, s.actor, s.created_at \
         FROM sales s JOIN locations l ON l.id = s.location_id WHERE s.id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(r) = row else { return Ok(None) };
    let lines = sqlx::query(
        "SELECT sl.line_no, sl.product_id, p.sku, p.name, sl.quantity, sl.unit_price, sl.gross, sl.line_discount, sl.ticket_discount, \
         sl.total, sl.net, sl.vat, sl.vat_bp FROM sale_lines sl JOIN products p ON p.id = sl.product_id WHERE sl.sale_id = $1 ORDER BY sl.line_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut sale_lines = Vec::with_capacity(lines.len());
    let mut vat: Vec<VatLine> = Vec::new();
    for l in &lines {
        let line = SaleLine {
            line: get(l, "line_no")?,
            product_id: get(l, "product_id")?,
            sku: get(l, "sku")?,
            name: get(l, "name")?,
            quantity: Qty::from_milli(get(l, "quantity")?),
            unit_price: Money::from_minor(get(l, "unit_price")?),
            gross: Money::from_minor(get(l, "gross")?),
            discount: Money::from_minor(
                get::<i64>(l, "line_discount")? + get::<i64>(l, "ticket_discount")?,
            ),
            total: Money::from_minor(get(l, "total")?),
            vat_rate: vat_from_bp(get(l, "vat_bp")?)?,
            net: Money::from_minor(get(l, "net")?),
            vat: Money::from_minor(get(l, "vat")?),
        };
        match vat.iter_mut().find(|v| v.rate == line.vat_rate) {
            Some(v) => {
                v.net += line.net;
                v.vat += line.vat;
            }
            None => vat.push(VatLine {
                rate: line.vat_rate,
                net: line.net,
                vat: line.vat,
            }),
        }
        sale_lines.push(line);
    }
    vat.sort_by_key(|v| v.rate.basis_points());
    let payments: Vec<(String, i64)> =
        sqlx::query_as("SELECT method, amount FROM sale_payments WHERE sale_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    let payments = payments
        .into_iter()
        .map(|(m, a)| {
            Ok(MethodAmount {
                method: parsed("method", PaymentMethod::parse(&m))?,
                amount: Money::from_minor(a),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let location_id: i64 = get(&r, "location_id")?;
    Ok(Some((
        Sale {
            id,
            shift: get(&r, "shift_id")?,
            location: get(&r, "code")?,
            status: get(&r, "status")?,
            lines: sale_lines,
            subtotal: Money::from_minor(get(&r, "subtotal")?),
            discount: Money::from_minor(get(&r, "discount")?),
            total: Money::from_minor(get(&r, "total")?),
            vat,
            payments,
            paid: Money::from_minor(get(&r, "paid")?),
            change: Money::from_minor(get(&r, "change_given")?),
            cashier: get(&r, "actor")?,
            created_at: instant(get(&r, "created_at")?),
        },
        location_id,
    )))
}

pub(crate) async fn get_sale(pool: &AnyPool, id: i64) -> Result<Option<Sale>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    Ok(load_sale(&mut conn, id, "").await?.map(|(s, _)| s))
}

// ---------------------------------------------------------------- returns

pub(crate) async fn post_return(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewReturn,
) -> Result<Written<SaleReturn>> {
    let owned_meta = meta.clone();
    let engine = store.engine;
    let new = Arc::new(new);
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, new) = (owned_meta.clone(), new.clone());
                Box::pin(async move { post_return_tx(conn, engine, &meta, &new).await })
            }),
        )
        .await
}

async fn post_return_tx(
    conn: &mut AnyConnection,
    engine: Engine,
    meta: &WriteMeta,
    new: &NewReturn,
) -> Result<SaleReturn> {
    let (sale, location_id) = load_sale(conn, new.sale_id, crate::Engine::for_update(engine))
        .await?
        .ok_or_else(|| Error::NotFound {
            entity: "venta",
            key: new.sale_id.to_string(),
        })?;
    if sale.status == "voided" {
        return Err(Error::conflict(
            "sale_voided",
            None,
            format!("la venta {} está anulada", sale.id),
        ));
    }
    meta.actor.require_location(location_id, &sale.location)?;
    if let Some(shift) = new.shift {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM shifts WHERE id = $1")
            .bind(shift)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        match status.as_deref() {
            None => {
                return Err(Error::unknown(
                    "shift",
                    format!("el turno {shift} no existe"),
                ));
            }
            Some("open") => {}
            Some(_) => {
                return Err(Error::conflict(
                    "shift_not_open",
                    Some("shift"),
                    format!("el turno {shift} está cerrado"),
                ));
            }
        }
    }
    let before: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT rl.line_no, CAST(SUM(rl.quantity) AS BIGINT), CAST(SUM(rl.amount) AS BIGINT) FROM sale_return_lines rl \
         JOIN sale_returns r ON r.id = rl.return_id WHERE r.sale_id = $1 GROUP BY rl.line_no",
    )
    .bind(sale.id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let prior = |line: i64| {
        before
            .iter()
            .find(|(l, _, _)| *l == line)
            .map_or((Qty::ZERO, Money::ZERO), |(_, q, a)| {
                (Qty::from_milli(*q), Money::from_minor(*a))
            })
    };
    let requested: Vec<(usize, i64, Qty)> = match &new.lines {
        Some(lines) => lines
            .iter()
            .enumerate()
            .map(|(i, (l, q))| (i, *l, *q))
            .collect(),
        None => sale
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.line, l.quantity - prior(l.line).0))
            .filter(|(_, _, q)| q.is_positive())
            .collect(),
    };
    if requested.is_empty() {
        return Err(Error::conflict(
            "nothing_to_return",
            None,
            "no queda nada por devolver en esta venta",
        ));
    }
    let return_id: i64 = sqlx::query_scalar(
        "INSERT INTO sale_returns (sale_id, shift_id, reason, refund_method, refund_amount, is_void, actor, created_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, $7) RETURNING id",
    )
    .bind(sale.id)
    .bind(new.shift)
    .bind(&new.reason)
    .bind(new.refund_method.as_str())
    .bind(i64::from(new.void))
    .bind(&meta.actor.label)
    .bind(meta.now)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let document = format!("sale:{}", sale.id);
    let location = LocationInfo {
        id: location_id,
        code: sale.location.clone(),
    };
    let mut out_lines: Vec<ReturnLine> = Vec::with_capacity(requested.len());
    // Two entries for the same line in one request add up.
    let mut in_request: HashMap<i64, (Qty, Money)> = HashMap::new();
    for (i, line_no, qty) in requested {
        let field = format!("lines[{i}].quantity");
        let line = sale
            .lines
            .iter()
            .find(|l| l.line == line_no)
            .ok_or_else(|| {
                Error::invalid(
                    format!("lines[{i}].line"),
                    "exists",
                    format!("la venta no tiene línea {line_no}"),
                )
            })?;
        let (prior_qty, prior_refund) = prior(line_no);
        let (req_qty, req_refund) = in_request
            .get(&line_no)
            .copied()
            .unwrap_or((Qty::ZERO, Money::ZERO));
        let refund = rules::refund_amount(
            line.total,
            line.quantity,
            prior_qty + req_qty,
            prior_refund + req_refund,
            qty,
        )
        .map_err(|e| Error::invalid(field.clone(), e.rule(), e.to_string()))?;
        in_request.insert(line_no, (req_qty + qty, req_refund + refund));

        // Back to the lots the sale took for this product, earliest first, less what already came back.
        let taken: Vec<(String, Option<String>, i64)> = sqlx::query_as(
            "SELECT lot, MIN(expiry), CAST(-SUM(quantity) AS BIGINT) FROM stock_movements \
             WHERE document = $1 AND kind = 'sale' AND product_id = $2 GROUP BY lot ORDER BY MIN(id)",
        )
        .bind(&document)
        .bind(line.product_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        let restocked: Vec<(String, i64)> = sqlx::query_as(
            "SELECT lot, CAST(SUM(quantity) AS BIGINT) FROM stock_movements WHERE document = $1 AND kind = 'return' AND product_id = $2 GROUP BY lot",
        )
        .bind(&document)
        .bind(line.product_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        let product = ProductInfo {
            id: line.product_id,
            sku: line.sku.clone(),
            unit: UnitOfMeasure::Unit,
            cost: Money::ZERO,
            pack: 1,
        };
        let unit_cost: i64 = sqlx::query_scalar(
            "SELECT unit_cost FROM sale_lines WHERE sale_id = $1 AND line_no = $2",
        )
        .bind(sale.id)
        .bind(line_no)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let posting = Posting {
            meta,
            product: &product,
            location: &location,
            kind: MovementKind::Return,
            unit_cost: Money::from_minor(unit_cost),
            reason: Some(&new.reason),
            document: Some(&document),
        };
        let mut left = qty;
        let mut back_by_lot: HashMap<String, i64> = restocked.into_iter().collect();
        for (lot, expiry, took) in &taken {
            if !left.is_positive() {
                break;
            }
            let already = back_by_lot.get(lot).copied().unwrap_or(0);
            let room = Qty::from_milli((took - already).max(0));
            let q = left.min(room);
            if q.is_positive() {
                posting.add(conn, lot, date(expiry.clone())?, q).await?;
                *back_by_lot.entry(lot.clone()).or_insert(0) += q.milli();
                left -= q;
            }
        }
        if left.is_positive() {
            // Lines sold without lot records (zero-stock items) come back without a lot.
            posting.add(conn, "", None, left).await?;
        }
        sqlx::query("INSERT INTO sale_return_lines (return_id, line_no, quantity, amount) VALUES ($1, $2, $3, $4)")
            .bind(return_id)
            .bind(line_no)
            .bind(qty.milli())
            .bind(refund.minor())
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        out_lines.push(ReturnLine {
            line: line_no,
            sku: line.sku.clone(),
            quantity: qty,
            refund,
        });
    }
    let refund: Money = out_lines.iter().map(|l| l.refund).sum();
    sqlx::query("UPDATE sale_returns SET refund_amount = $1 WHERE id = $2")
        .bind(refund.minor())
        .bind(return_id)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    if new.void {
        sqlx::query("UPDATE sales SET status = 'voided' WHERE id = $1")
            .bind(sale.id)
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    let result = SaleReturn {
        id: return_id,
        sale_id: sale.id,
        lines: out_lines,
        refund,
        refund_method: new.refund_method,
        reason: new.reason.clone(),
        void: new.void,
        created_at: instant(meta.now),
    };
    audit::record(
        conn,
        meta,
        Change::<(), _> {
            action: if new.void { "sale.void" } else { "sale.return" },
            entity: "sale",
            entity_id: Some(sale.id.to_string()),
            before: None,
            after: Some(&result),
        },
    )
    .await?;
    idempotency::record(conn, meta, &result).await?;
    Ok(result)
}
