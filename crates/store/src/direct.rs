//! SQLite's direct write path: the POS ticket's statements run on the writer thread through
//! rusqlite, without handing each statement to sqlx's worker thread and waiting for the answer.
//! With ten statements a ticket, those hand-offs (two context switches each) were what bounded
//! the single writer. The statements are the very ones the sqlx path runs (built in `sales`,
//! `stock` and `idempotency`); the writer groups and commits these jobs like any other.

use app::error::Shortage;
use app::sales::{NewSale, Sale};
use app::{Error, Result, WriteMeta};
use domain::ledger::MovementKind;
use domain::{Money, Qty};
use rusqlite::{Connection, OpenFlags, Row};

use crate::idempotency;
use crate::sales;
use crate::statement::{Param, Statement};
use crate::stock::{self, LocationInfo, Posting, Taken};
use crate::{Engine, SQLITE_PRAGMAS};

/// The database file a `sqlite:` URL names; in-memory databases cannot be shared by the
/// writer's connections and are refused.
fn sqlite_path(url: &str) -> std::result::Result<&str, String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(":memory:") {
        return Err(
            "SQLite en memoria no está soportado: indique un archivo (sqlite://almacen.db)".into(),
        );
    }
    Ok(path)
}

fn connect(path: &str) -> std::result::Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("no se pudo abrir {path}: {e}"))?;
    conn.execute_batch(SQLITE_PRAGMAS)
        .map_err(|e| format!("no se pudo configurar SQLite: {e}"))?;
    Ok(conn)
}

/// Opens the writer's own connection to the database file a `sqlite:` URL names.
pub(crate) fn open(url: &str) -> std::result::Result<Connection, String> {
    let conn = connect(sqlite_path(url)?)?;
    conn.execute_batch(WRITER_PRAGMAS)
        .map_err(|e| format!("no se pudo configurar SQLite: {e}"))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The writer connections never checkpoint: copying the WAL back into the database (and its
/// fsync) would stall every queued ticket. [`Checkpointer`] does it beside them.
pub(crate) const WRITER_PRAGMAS: &str = "PRAGMA wal_autocheckpoint = 0;";

/// Checkpoints the WAL from its own thread and connection while the writer keeps writing;
/// stops when dropped.
pub(crate) struct Checkpointer {
    _stop: std::sync::mpsc::Sender<()>,
}

/// WAL frames (4 KiB pages) above which the checkpointer briefly waits for the writer to
/// restart the log, so that the file cannot grow without bound under constant load.
const WAL_RESTART_FRAMES: i64 = 25_000;

impl Checkpointer {
    pub(crate) fn start(url: &str) -> std::result::Result<Checkpointer, String> {
        let conn = connect(sqlite_path(url)?)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("almacen-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(std::time::Duration::from_millis(250))
                {
                    let frames = checkpoint(&conn, "PASSIVE");
                    if frames > WAL_RESTART_FRAMES {
                        checkpoint(&conn, "RESTART");
                    }
                }
                checkpoint(&conn, "PASSIVE");
            })
            .map_err(|e| format!("no se pudo iniciar el checkpoint de SQLite: {e}"))?;
        Ok(Checkpointer { _stop: stop })
    }
}

/// Runs one checkpoint; the WAL's size in frames before it (0 when it failed, which is logged).
fn checkpoint(conn: &Connection, mode: &str) -> i64 {
    let sql = format!("PRAGMA wal_checkpoint({mode})");
    match conn.query_row(&sql, [], |r| r.get::<_, i64>(1)) {
        Ok(frames) => frames,
        Err(e) => {
            tracing::warn!(error = %e, mode, "SQLite checkpoint failed");
            0
        }
    }
}

/// Same mapping as [`crate::db_error`]: busy is a 503 to retry, a unique violation a 409.
pub(crate) fn sqlite_error(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match e.sqlite_error() {
        Some(f) if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Unavailable(format!("base de datos ocupada ({})", f.extended_code))
        }
        // SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE.
        Some(f) if f.extended_code == 1555 || f.extended_code == 2067 => {
            Error::conflict("duplicate", None, "ya existe un registro con esos datos")
        }
        _ => Error::Internal(format!("error de base de datos: {e}")),
    }
}

fn prepared<'c>(
    conn: &'c Connection,
    statement: &Statement,
) -> Result<rusqlite::CachedStatement<'c>> {
    use std::fmt::Write;
    let mut prepared = conn.prepare_cached(&statement.sql).map_err(sqlite_error)?;
    let mut name = String::with_capacity(8);
    for (i, param) in statement.params.iter().enumerate() {
        // `$n` names are numbered by first appearance, not by n: look each one up.
        name.clear();
        let _ = write!(name, "${}", i + 1);
        let Some(index) = prepared.parameter_index(&name).map_err(sqlite_error)? else {
            continue;
        };
        match param {
            Param::Int(v) => prepared.raw_bind_parameter(index, v),
            Param::Text(v) => prepared.raw_bind_parameter(index, v),
        }
        .map_err(sqlite_error)?;
    }
    Ok(prepared)
}

/// Runs a statement that returns no rows; the number of rows it changed.
fn execute(conn: &Connection, statement: &Statement) -> Result<u64> {
    let changed = prepared(conn, statement)?
        .raw_execute()
        .map_err(sqlite_error)?;
    Ok(changed as u64)
}

/// Runs a statement to completion (a `RETURNING` write changes rows as it steps) and maps its rows.
fn query<T>(
    conn: &Connection,
    statement: &Statement,
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut prepared = prepared(conn, statement)?;
    let mut rows = prepared.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(sqlite_error)? {
        out.push(map(row).map_err(sqlite_error)?);
    }
    Ok(out)
}

fn taken_rows(conn: &Connection, statement: &Statement, qty: Qty) -> Result<Option<Taken>> {
    let rows = query(conn, statement, |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
    })?;
    rows.into_iter()
        .next()
        .map(|(lot, on_hand, expiry)| Taken::from_row(lot, on_hand, expiry, qty))
        .transpose()
}

/// [`stock::take_stock`] without a named lot, on the direct connection.
fn take_stock(
    conn: &Connection,
    p: &Posting<'_>,
    qty: Qty,
) -> Result<std::result::Result<Vec<Taken>, Qty>> {
    if let Some(t) = taken_rows(conn, &p.take_first_expiring_statement(qty), qty)? {
        return Ok(Ok(vec![t]));
    }
    let balances = query(
        conn,
        &stock::lots_statement(Engine::Sqlite, p.product.id, p.location.id),
        |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get::<_, i64>(2)?)),
    )?
    .into_iter()
    .map(|(lot, expiry, on_hand)| stock::lot_balance(lot, expiry, on_hand))
    .collect::<Result<Vec<_>>>()?;
    let takes = match stock::plan_takes(&balances, None, qty) {
        Ok(t) => t,
        Err(available) => return Ok(Err(available)),
    };
    let mut out = Vec::with_capacity(takes.len());
    for (lot, q) in takes {
        match taken_rows(conn, &p.take_lot_statement(&lot, q), q)? {
            Some(t) => out.push(t),
            None => return Ok(Err(Qty::ZERO)),
        }
    }
    Ok(Ok(out))
}

/// The ticket: the same steps, in the same order, as `sales::post_sale_tx`.
pub(crate) fn post_sale(
    conn: &Connection,
    meta: &WriteMeta,
    new: &NewSale,
    location: &LocationInfo,
) -> Result<Sale> {
    let inserted = query(conn, &sales::sale_insert_statement(meta, new), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    let Some(&(sale_id, location_id)) = inserted.first() else {
        let exists = query(conn, &sales::shift_exists_statement(new.shift), |r| {
            r.get::<_, i64>(0)
        })?;
        return Err(sales::shift_not_open(new.shift, !exists.is_empty()));
    };
    let sale = sales::sale_record(sale_id, location_id, meta, new, location)?;
    if let Some(record) = idempotency::record_statement(meta, &sale)? {
        idempotency::recorded(execute(conn, &record)?)?;
    }
    execute(conn, &sales::sale_lines_statement(sale_id, new))?;
    execute(conn, &sales::sale_payments_statement(sale_id, new))?;

    let document = sales::sale_document(sale_id);
    let mut taken: Vec<(i64, Money, Taken)> = Vec::with_capacity(new.lines.len());
    let mut shortages: Vec<Shortage> = Vec::new();
    for i in sales::lines_in_lock_order(new) {
        let line = &new.lines[i];
        let product = sales::line_product(line);
        let posting = sales::sale_posting(meta, &product, location, &document, line.unit_cost);
        match take_stock(conn, &posting, line.quantity)? {
            Ok(ts) => taken.extend(ts.into_iter().map(|t| (line.product_id, line.unit_cost, t))),
            Err(available) => shortages.push(sales::shortage(new, i, location, available)),
        }
    }
    if !shortages.is_empty() {
        shortages.sort_by_key(|s| s.line);
        return Err(Error::InsufficientStock(shortages));
    }
    if let Some(ledger) = stock::record_taken_statement(
        meta,
        location.id,
        MovementKind::Sale,
        Some(&document),
        &taken,
    ) {
        execute(conn, &ledger)?;
    }
    Ok(sale)
}
