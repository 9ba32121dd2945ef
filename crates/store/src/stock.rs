//! The stock ledger: append-only movements and the on-hand projection (product × location × lot),
//! always written together. Reads that precede a decrement lock their rows on PostgreSQL in
//! (product, location, lot) order; every decrement is also guarded (`on_hand >= qty`), so stock
//! never goes negative whatever the interleaving.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use app::catalog::ProductRef;
use app::error::FieldContext;
use app::error::Shortage;
use app::page::{Page, PageRequest};
use app::sales::{SaleItem, SaleItemRef};
use app::stock::{
    LedgerDiscrepancy, LedgerReport, LineChange, Movement, MovementFilter, MovementLine,
    StockLevel, StockLimitRow, TransferRequest,
};
use app::{Error, Result, WriteMeta, Written};
use chrono::NaiveDate;
use domain::catalog::UnitOfMeasure;
use domain::ledger::{self, LotBalance, MovementKind};
use domain::{Money, Qty};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool};

use crate::idempotency;
use crate::rows::{date, date_text, db_error, get, instant, parsed};
use crate::statement::Statement;
use crate::{Engine, SqlStore};

#[derive(Clone, Debug)]
pub(crate) struct ProductInfo {
    pub(crate) id: i64,
    pub(crate) sku: String,
    pub(crate) unit: UnitOfMeasure,
    pub(crate) cost: Money,
    /// Units per scanned barcode (1 unless the barcode is a pack).
    pub(crate) pack: i64,
}

#[derive(Clone, Debug)]
pub(crate) struct LocationInfo {
    pub(crate) id: i64,
    pub(crate) code: String,
}

/// Product and location lookups of the write path, remembered for a few seconds: ids, SKUs
/// and location codes never change, and a cost edited meanwhile only affects the default unit
/// cost of movements posted in that window. Product writes of this node clear it at once.
#[derive(Default)]
pub(crate) struct ResolveCache {
    products: RwLock<HashMap<ProductKey, (ProductInfo, Instant)>>,
    locations: RwLock<HashMap<String, i64>>,
    sale_items: RwLock<HashMap<String, (SaleItem, Instant)>>,
    shift_locations: RwLock<HashMap<i64, LocationInfo>>,
}

fn sale_item_key(r: &SaleItemRef) -> String {
    match r {
        SaleItemRef::Product(ProductRef::Id(i)) => format!("id:{i}"),
        SaleItemRef::Product(ProductRef::Sku(s)) => format!("sku:{s}"),
        SaleItemRef::Product(ProductRef::Barcode(g)) => format!("barcode:{g}"),
        SaleItemRef::ScaleItem(plu) => format!("plu:{plu}"),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ProductKey {
    Id(i64),
    Sku(String),
    Barcode(String),
}

const PRODUCT_TTL: Duration = Duration::from_secs(5);

impl ResolveCache {
    pub(crate) fn forget_products(&self) {
        if let Ok(mut m) = self.products.write() {
            m.clear();
        }
        if let Ok(mut m) = self.sale_items.write() {
            m.clear();
        }
    }

    pub(crate) fn shift_location(&self, shift: i64) -> Option<LocationInfo> {
        self.shift_locations.read().ok()?.get(&shift).cloned()
    }

    pub(crate) fn put_shift_location(&self, shift: i64, location: LocationInfo) {
        if let Ok(mut m) = self.shift_locations.write() {
            if m.len() > 100_000 {
                m.clear();
            }
            m.insert(shift, location);
        }
    }

    pub(crate) fn sale_item(&self, r: &SaleItemRef) -> Option<SaleItem> {
        let m = self.sale_items.read().ok()?;
        m.get(&sale_item_key(r))
            .filter(|(_, at)| at.elapsed() < PRODUCT_TTL)
            .map(|(i, _)| i.clone())
    }

    pub(crate) fn put_sale_item(&self, r: &SaleItemRef, item: SaleItem) {
        if let Ok(mut m) = self.sale_items.write() {
            if m.len() > 100_000 {
                m.clear();
            }
            m.insert(sale_item_key(r), (item, Instant::now()));
        }
    }
}

pub(crate) async fn resolve_product(
    store: &SqlStore,
    r: &ProductRef,
    field: &str,
) -> Result<ProductInfo> {
    let key = match r {
        ProductRef::Id(id) => ProductKey::Id(*id),
        ProductRef::Sku(s) => ProductKey::Sku(s.as_str().to_owned()),
        ProductRef::Barcode(g) => ProductKey::Barcode(g.as_str().to_owned()),
    };
    if let Some(hit) = store.resolve_cache.products.read().ok().and_then(|m| {
        m.get(&key)
            .filter(|(_, at)| at.elapsed() < PRODUCT_TTL)
            .map(|(p, _)| p.clone())
    }) {
        return Ok(hit);
    }
    let pool = &store.pool;
    let row = match r {
        ProductRef::Id(id) => {
            sqlx::query("SELECT id, sku, unit, cost, 1 AS pack FROM products WHERE id = $1")
                .bind(*id)
                .fetch_optional(pool)
                .await
        }
        ProductRef::Sku(sku) => {
            sqlx::query("SELECT id, sku, unit, cost, 1 AS pack FROM products WHERE sku = $1")
                .bind(sku.as_str())
                .fetch_optional(pool)
                .await
        }
        ProductRef::Barcode(code) => {
            sqlx::query(
                "SELECT p.id, p.sku, p.unit, p.cost, b.pack FROM product_barcodes b \
                 JOIN products p ON p.id = b.product_id WHERE b.code = $1",
            )
            .bind(code.as_str())
            .fetch_optional(pool)
            .await
        }
    }
    .map_err(db_error)?;
    let row = row
        .ok_or_else(|| Error::unknown(field, format!("el producto {} no existe", r.describe())))?;
    let info = ProductInfo {
        id: get(&row, "id")?,
        sku: get(&row, "sku")?,
        unit: parsed("unit", UnitOfMeasure::parse(&get::<String>(&row, "unit")?))?,
        cost: Money::from_minor(get(&row, "cost")?),
        pack: get(&row, "pack")?,
    };
    if let Ok(mut m) = store.resolve_cache.products.write() {
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(key, (info.clone(), Instant::now()));
    }
    Ok(info)
}

pub(crate) async fn resolve_location(
    store: &SqlStore,
    meta: &WriteMeta,
    code: &str,
    field: &str,
) -> Result<LocationInfo> {
    let cached = store
        .resolve_cache
        .locations
        .read()
        .ok()
        .and_then(|m| m.get(code).copied());
    let id = match cached {
        Some(id) => id,
        None => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM locations WHERE code = $1")
                .bind(code)
                .fetch_optional(&store.pool)
                .await
                .map_err(db_error)?;
            let id =
                id.ok_or_else(|| Error::unknown(field, format!("la ubicación {code} no existe")))?;
            if let Ok(mut m) = store.resolve_cache.locations.write() {
                m.insert(code.to_owned(), id);
            }
            id
        }
    };
    meta.actor.require_location(id, code)?;
    Ok(LocationInfo {
        id,
        code: code.to_owned(),
    })
}

/// Everything a movement row records besides its quantities.
pub(crate) struct Posting<'a> {
    pub(crate) meta: &'a WriteMeta,
    pub(crate) product: &'a ProductInfo,
    pub(crate) location: &'a LocationInfo,
    pub(crate) kind: MovementKind,
    pub(crate) unit_cost: Money,
    pub(crate) reason: Option<&'a str>,
    pub(crate) document: Option<&'a str>,
}

impl Posting<'_> {
    pub(crate) async fn insert(
        &self,
        conn: &mut AnyConnection,
        lot: &str,
        expiry: Option<NaiveDate>,
        quantity: Qty,
        after: Qty,
    ) -> Result<Movement> {
        let before = after - quantity;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO stock_movements (product_id, location_id, lot, expiry, kind, quantity, before_qty, after_qty, unit_cost, \
             reason, document, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(self.product.id)
        .bind(self.location.id)
        .bind(lot)
        .bind(date_text(expiry))
        .bind(self.kind.as_str())
        .bind(quantity.milli())
        .bind(before.milli())
        .bind(after.milli())
        .bind(self.unit_cost.minor())
        .bind(self.reason)
        .bind(self.document)
        .bind(&self.meta.actor.label)
        .bind(self.meta.now)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        Ok(Movement {
            id,
            product_id: self.product.id,
            sku: self.product.sku.clone(),
            location: self.location.code.clone(),
            lot: (!lot.is_empty()).then(|| lot.to_owned()),
            expiry,
            kind: self.kind,
            quantity,
            before,
            after,
            unit_cost: self.unit_cost,
            reason: self.reason.map(str::to_owned),
            document: self.document.map(str::to_owned),
            user: self.meta.actor.label.clone(),
            created_at: instant(self.meta.now),
        })
    }

    /// Adds stock to one lot, creating its row on first receipt.
    pub(crate) async fn add(
        &self,
        conn: &mut AnyConnection,
        lot: &str,
        expiry: Option<NaiveDate>,
        qty: Qty,
    ) -> Result<Movement> {
        let (on_hand, stored_expiry): (i64, Option<String>) = sqlx::query_as(
            "INSERT INTO stock_levels (product_id, location_id, lot, expiry, on_hand, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (product_id, location_id, lot) DO UPDATE SET on_hand = stock_levels.on_hand + excluded.on_hand, \
             expiry = COALESCE(stock_levels.expiry, excluded.expiry), updated_at = excluded.updated_at RETURNING on_hand, expiry",
        )
        .bind(self.product.id)
        .bind(self.location.id)
        .bind(lot)
        .bind(date_text(expiry))
        .bind(qty.milli())
        .bind(self.meta.now)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let stored_expiry = date(stored_expiry)?;
        if expiry.is_some() && stored_expiry != expiry {
            return Err(Error::invalid(
                "expiry",
                "lot_expiry_mismatch",
                format!(
                    "el lote {lot} ya tiene vencimiento {}",
                    stored_expiry
                        .map(|d| d.format("%d/%m/%Y").to_string())
                        .unwrap_or_default()
                ),
            ));
        }
        self.insert(conn, lot, stored_expiry, qty, Qty::from_milli(on_hand))
            .await
    }

    /// The common case in one statement: the first-expiring lot holds the whole quantity.
    /// No row sends the caller to the general path (several lots, or not enough stock).
    pub(crate) fn take_first_expiring_statement(&self, qty: Qty) -> Statement {
        Statement::new(
            "UPDATE stock_levels SET on_hand = on_hand - $1, updated_at = $2 \
             WHERE product_id = $3 AND location_id = $4 AND on_hand >= $1 AND lot = ( \
               SELECT lot FROM stock_levels WHERE product_id = $3 AND location_id = $4 AND on_hand > 0 \
               ORDER BY expiry IS NULL, expiry, lot LIMIT 1) \
             RETURNING lot, on_hand, expiry",
        )
        .bind(qty.milli())
        .bind(self.meta.now)
        .bind(self.product.id)
        .bind(self.location.id)
    }

    /// Takes stock from one lot; no row when the lot does not hold enough.
    pub(crate) fn take_lot_statement(&self, lot: &str, qty: Qty) -> Statement {
        Statement::new(
            "UPDATE stock_levels SET on_hand = on_hand - $1, updated_at = $2 \
             WHERE product_id = $3 AND location_id = $4 AND lot = $5 AND on_hand >= $1 RETURNING lot, on_hand, expiry",
        )
        .bind(qty.milli())
        .bind(self.meta.now)
        .bind(self.product.id)
        .bind(self.location.id)
        .bind(lot)
    }

    async fn take_first_expiring(
        &self,
        conn: &mut AnyConnection,
        qty: Qty,
    ) -> Result<Option<Taken>> {
        let row: Option<(String, i64, Option<String>)> = self
            .take_first_expiring_statement(qty)
            .query_as()
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        row.map(|(lot, on_hand, expiry)| Taken::from_row(lot, on_hand, expiry, qty))
            .transpose()
    }

    async fn take(&self, conn: &mut AnyConnection, lot: &str, qty: Qty) -> Result<Option<Taken>> {
        let row: Option<(String, i64, Option<String>)> = self
            .take_lot_statement(lot, qty)
            .query_as()
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_error)?;
        row.map(|(lot, on_hand, expiry)| Taken::from_row(lot, on_hand, expiry, qty))
            .transpose()
    }
}

/// Ledger rows for stock already taken, many products in one statement (ids are not returned).
pub(crate) async fn record_taken(
    conn: &mut AnyConnection,
    meta: &WriteMeta,
    location_id: i64,
    kind: MovementKind,
    document: Option<&str>,
    rows: &[(i64, Money, Taken)],
) -> Result<()> {
    if let Some(statement) = record_taken_statement(meta, location_id, kind, document, rows) {
        statement
            .query()
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// PostgreSQL: a ticket's stock in one statement — every product taken from its first-expiring
/// lot when that lot holds the quantity, with the ledger rows written by the same statement —
/// so the hot rows stay locked for one round trip and the COMMIT, not one per line.
/// `items` are `(product, quantity, unit cost)` in product order, one per product; the rows
/// returned (`product_id, lot, on_hand, expiry`) name those taken, the rest need the general path.
pub(crate) fn take_sold_statement(
    meta: &WriteMeta,
    location_id: i64,
    document: &str,
    items: &[(i64, Qty, Money)],
) -> Statement {
    let values: Vec<String> = (0..items.len())
        .map(|i| {
            let first = 6 + i * 3;
            format!(
                "(${first}::BIGINT, ${}::BIGINT, ${}::BIGINT)",
                first + 1,
                first + 2
            )
        })
        .collect();
    let mut statement = Statement::new(format!(
        "WITH v (product_id, qty, unit_cost) AS (VALUES {}), \
         taken AS (UPDATE stock_levels s SET on_hand = s.on_hand - v.qty, updated_at = $2 FROM v \
           WHERE s.product_id = v.product_id AND s.location_id = $1 AND s.on_hand >= v.qty AND s.lot = ( \
             SELECT l.lot FROM stock_levels l WHERE l.product_id = v.product_id AND l.location_id = $1 AND l.on_hand > 0 \
             ORDER BY l.expiry IS NULL, l.expiry, l.lot LIMIT 1) \
           RETURNING s.product_id, s.lot, s.expiry, s.on_hand, v.qty, v.unit_cost), \
         ledger AS (INSERT INTO stock_movements (product_id, location_id, lot, expiry, kind, quantity, before_qty, \
           after_qty, unit_cost, reason, document, actor, created_at) \
           SELECT product_id, $1, lot, expiry, $5, -qty, on_hand + qty, on_hand, unit_cost, NULL, $3, $4, $2 \
           FROM taken ORDER BY product_id) \
         SELECT product_id, lot, on_hand, expiry FROM taken",
        values.join(", ")
    ))
    .bind(location_id)
    .bind(meta.now)
    .bind(document)
    .bind(meta.actor.label.clone())
    .bind(MovementKind::Sale.as_str());
    for (product_id, qty, unit_cost) in items {
        statement.push(*product_id);
        statement.push(qty.milli());
        statement.push(unit_cost.minor());
    }
    statement
}

/// The INSERT of [`record_taken`]; `None` when nothing was taken.
pub(crate) fn record_taken_statement(
    meta: &WriteMeta,
    location_id: i64,
    kind: MovementKind,
    document: Option<&str>,
    rows: &[(i64, Money, Taken)],
) -> Option<Statement> {
    if rows.is_empty() {
        return None;
    }
    let cols = [
        "product_id",
        "location_id",
        "lot",
        "expiry",
        "kind",
        "quantity",
        "before_qty",
        "after_qty",
        "unit_cost",
        "reason",
        "document",
        "actor",
        "created_at",
    ];
    let mut statement = Statement::new(crate::sales::multi_values(
        "stock_movements",
        &cols,
        rows.len(),
    ));
    for (product_id, unit_cost, t) in rows {
        statement.push(*product_id);
        statement.push(location_id);
        statement.push(t.lot.clone());
        statement.push(date_text(t.expiry));
        statement.push(kind.as_str());
        statement.push(-t.qty.milli());
        statement.push((t.after + t.qty).milli());
        statement.push(t.after.milli());
        statement.push(unit_cost.minor());
        statement.push(None::<String>);
        statement.push(document);
        statement.push(meta.actor.label.clone());
        statement.push(meta.now);
    }
    Some(statement)
}

/// Stock taken from one lot, before its ledger row is written.
#[derive(Clone, Debug)]
pub(crate) struct Taken {
    pub(crate) lot: String,
    pub(crate) expiry: Option<NaiveDate>,
    /// Positive amount taken.
    pub(crate) qty: Qty,
    pub(crate) after: Qty,
}

impl Taken {
    /// From a `RETURNING lot, on_hand, expiry` row of a decrement by `qty`.
    pub(crate) fn from_row(
        lot: String,
        on_hand: i64,
        expiry: Option<String>,
        qty: Qty,
    ) -> Result<Taken> {
        Ok(Taken {
            lot,
            expiry: date(expiry)?,
            qty,
            after: Qty::from_milli(on_hand),
        })
    }
}

/// The lots of a product at a location, locked for the rest of the transaction on PostgreSQL.
pub(crate) async fn lots(
    conn: &mut AnyConnection,
    engine: Engine,
    product_id: i64,
    location_id: i64,
) -> Result<Vec<LotBalance>> {
    let rows: Vec<(String, Option<String>, i64)> = lots_statement(engine, product_id, location_id)
        .query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    rows.into_iter()
        .map(|(lot, expiry, on_hand)| lot_balance(lot, expiry, on_hand))
        .collect()
}

/// `lot, expiry, on_hand` of every lot of a product at a location, in lot order.
pub(crate) fn lots_statement(engine: Engine, product_id: i64, location_id: i64) -> Statement {
    Statement::new(format!(
        "SELECT lot, expiry, on_hand FROM stock_levels WHERE product_id = $1 AND location_id = $2 ORDER BY lot{}",
        engine.for_update()
    ))
    .bind(product_id)
    .bind(location_id)
}

pub(crate) fn lot_balance(lot: String, expiry: Option<String>, on_hand: i64) -> Result<LotBalance> {
    Ok(LotBalance {
        lot,
        expiry: date(expiry)?,
        on_hand: Qty::from_milli(on_hand),
    })
}

pub(crate) enum LineOutcome {
    Posted(Vec<Movement>),
    Short(Qty),
}

/// Takes `qty` from one named lot or, without a lot, first-expiry-first-out across lots;
/// `Err(available)` when there is not enough. Ledger rows are the caller's to write.
pub(crate) async fn take_stock(
    conn: &mut AnyConnection,
    engine: Engine,
    p: &Posting<'_>,
    lot: Option<&str>,
    qty: Qty,
) -> Result<std::result::Result<Vec<Taken>, Qty>> {
    if lot.is_none()
        && let Some(t) = p.take_first_expiring(conn, qty).await?
    {
        return Ok(Ok(vec![t]));
    }
    let balances = lots(conn, engine, p.product.id, p.location.id).await?;
    let takes = match plan_takes(&balances, lot, qty) {
        Ok(t) => t,
        Err(available) => return Ok(Err(available)),
    };
    let mut out = Vec::with_capacity(takes.len());
    for (lot, q) in takes {
        match p.take(conn, &lot, q).await? {
            Some(t) => out.push(t),
            // Only reachable if the projection changed under a lock we hold: fail safe.
            None => return Ok(Err(Qty::ZERO)),
        }
    }
    Ok(Ok(out))
}

/// Which lots give `qty`: the named one, or first-expiry-first-out; `Err(available)` when short.
pub(crate) fn plan_takes(
    balances: &[LotBalance],
    lot: Option<&str>,
    qty: Qty,
) -> std::result::Result<Vec<(String, Qty)>, Qty> {
    match lot {
        Some(lot) => {
            let available = balances
                .iter()
                .find(|b| b.lot == lot)
                .map_or(Qty::ZERO, |b| b.on_hand);
            if available < qty {
                return Err(available);
            }
            Ok(vec![(lot.to_owned(), qty)])
        }
        None => ledger::allocate_fefo(balances, qty)
            .map(|t| t.into_iter().map(|t| (t.lot, t.qty)).collect())
            .map_err(|short| short.available),
    }
}

/// Removes stock and writes one ledger row per lot touched.
pub(crate) async fn remove(
    conn: &mut AnyConnection,
    engine: Engine,
    p: &Posting<'_>,
    lot: Option<&str>,
    qty: Qty,
) -> Result<LineOutcome> {
    match take_stock(conn, engine, p, lot, qty).await? {
        Err(available) => Ok(LineOutcome::Short(available)),
        Ok(taken) => {
            let mut out = Vec::with_capacity(taken.len());
            for t in taken {
                out.push(p.insert(conn, &t.lot, t.expiry, -t.qty, t.after).await?);
            }
            Ok(LineOutcome::Posted(out))
        }
    }
}

struct ResolvedLine {
    index: usize,
    line: MovementLine,
    product: ProductInfo,
    location: LocationInfo,
}

async fn apply_line(
    conn: &mut AnyConnection,
    engine: Engine,
    meta: &WriteMeta,
    r: &ResolvedLine,
) -> Result<LineOutcome> {
    let line = &r.line;
    let kind = match line.change {
        LineChange::Delta { kind, .. } => kind,
        LineChange::Count { .. } => MovementKind::Count,
    };
    let p = Posting {
        meta,
        product: &r.product,
        location: &r.location,
        kind,
        unit_cost: line.unit_cost.unwrap_or(r.product.cost),
        reason: line.reason.as_deref(),
        document: line.document.as_deref(),
    };
    let lot = line.lot.as_deref();
    match line.change {
        LineChange::Delta { quantity, .. } => {
            let quantity = Qty::from_milli(quantity.milli() * r.product.pack);
            if quantity.is_positive() {
                Ok(LineOutcome::Posted(vec![
                    p.add(conn, lot.unwrap_or(""), line.expiry, quantity)
                        .await?,
                ]))
            } else {
                remove(conn, engine, &p, lot, -quantity).await
            }
        }
        LineChange::Count { counted } => {
            let balances = lots(conn, engine, r.product.id, r.location.id).await?;
            let on_hand: Qty = match lot {
                Some(l) => balances
                    .iter()
                    .filter(|b| b.lot == l)
                    .map(|b| b.on_hand)
                    .sum(),
                None => balances.iter().map(|b| b.on_hand).sum(),
            };
            let diff = ledger::count_difference(on_hand, counted).field("quantity")?;
            if diff.is_positive() {
                Ok(LineOutcome::Posted(vec![
                    p.add(conn, lot.unwrap_or(""), line.expiry, diff).await?,
                ]))
            } else if diff.is_negative() {
                remove(conn, engine, &p, lot, -diff).await
            } else {
                // A count that matches still leaves a dated record in the ledger.
                let lot = lot.unwrap_or("");
                let current = balances.iter().find(|b| b.lot == lot);
                let after = current.map_or(Qty::ZERO, |b| b.on_hand);
                let expiry = current.and_then(|b| b.expiry);
                Ok(LineOutcome::Posted(vec![
                    p.insert(conn, lot, expiry, Qty::ZERO, after).await?,
                ]))
            }
        }
    }
}

/// Resolves product and location of every line on the read pool, before the write, so the
/// single SQLite writer spends its time on the ledger only. Ids never change, so reading them
/// outside the transaction is safe.
async fn resolve_lines(
    store: &SqlStore,
    meta: &WriteMeta,
    lines: &[MovementLine],
) -> Result<Vec<ResolvedLine>> {
    let single = lines.len() == 1;
    let name = |i: usize, f: &str| {
        if single {
            f.to_owned()
        } else {
            format!("movements[{i}].{f}")
        }
    };
    let mut resolved = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let product =
            resolve_product(store, &line.product, &name(index, line.product.field())).await?;
        let location =
            resolve_location(store, meta, &line.location, &name(index, "location")).await?;
        let qty = match line.change {
            LineChange::Delta { quantity, .. } => quantity,
            LineChange::Count { counted } => counted,
        };
        product
            .unit
            .check_qty(qty)
            .map_err(|e| Error::invalid(name(index, "quantity"), e.rule(), e.to_string()))?;
        resolved.push(ResolvedLine {
            index,
            line: line.clone(),
            product,
            location,
        });
    }
    // One lock order for every transaction: no deadlocks between concurrent batches.
    resolved.sort_by_key(|r| (r.product.id, r.location.id));
    Ok(resolved)
}

pub(crate) async fn post_movements(
    store: &SqlStore,
    meta: &WriteMeta,
    lines: Vec<MovementLine>,
) -> Result<Written<Vec<Movement>>> {
    let resolved = Arc::new(resolve_lines(store, meta, &lines).await?);
    let owned_meta = meta.clone();
    let engine = store.engine;
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, resolved) = (owned_meta.clone(), resolved.clone());
                Box::pin(async move {
                    let mut posted: Vec<(usize, Vec<Movement>)> =
                        Vec::with_capacity(resolved.len());
                    let mut shortages = Vec::new();
                    for r in resolved.iter() {
                        match apply_line(conn, engine, &meta, r).await? {
                            LineOutcome::Posted(ms) => posted.push((r.index, ms)),
                            LineOutcome::Short(available) => shortages.push(Shortage {
                                line: r.index,
                                product_id: r.product.id,
                                sku: r.product.sku.clone(),
                                location: r.location.code.clone(),
                                lot: r.line.lot.clone(),
                                requested: match r.line.change {
                                    LineChange::Delta { quantity, .. } => {
                                        Qty::from_milli(-quantity.milli() * r.product.pack)
                                    }
                                    LineChange::Count { counted } => counted,
                                },
                                available,
                            }),
                        }
                    }
                    if !shortages.is_empty() {
                        shortages.sort_by_key(|s| s.line);
                        return Err(Error::InsufficientStock(shortages));
                    }
                    posted.sort_by_key(|(i, _)| *i);
                    let movements: Vec<Movement> =
                        posted.into_iter().flat_map(|(_, ms)| ms).collect();
                    // Each movement row is audited by a trigger in the same transaction.
                    idempotency::record(conn, &meta, &movements).await?;
                    Ok(movements)
                })
            }),
        )
        .await
}

pub(crate) async fn post_transfer(
    store: &SqlStore,
    meta: &WriteMeta,
    req: TransferRequest,
) -> Result<Written<Vec<Movement>>> {
    let product = resolve_product(store, &req.product, req.product.field()).await?;
    let from = resolve_location(store, meta, &req.from, "from").await?;
    let to = resolve_location(store, meta, &req.to, "to").await?;
    let quantity = Qty::from_milli(req.quantity.milli() * product.pack);
    product
        .unit
        .check_qty(quantity)
        .map_err(|e| Error::invalid("quantity", e.rule(), e.to_string()))?;
    let owned_meta = meta.clone();
    let engine = store.engine;
    let parts = Arc::new((product, from, to, req));
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, parts) = (owned_meta.clone(), parts.clone());
                Box::pin(async move {
                    let (product, from, to, req) = &*parts;
                    // Lock both ends in location order before touching either.
                    let (first, second) = if from.id < to.id { (from, to) } else { (to, from) };
                    lots(conn, engine, product.id, first.id).await?;
                    lots(conn, engine, product.id, second.id).await?;
                    let transfer_id: i64 = sqlx::query_scalar(
                        "INSERT INTO stock_transfers (product_id, from_location_id, to_location_id, quantity, actor, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(product.id)
                    .bind(from.id)
                    .bind(to.id)
                    .bind(quantity.milli())
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                    let document = format!("transfer:{transfer_id}");
                    let out = Posting {
                        meta: &meta,
                        product,
                        location: from,
                        kind: MovementKind::TransferOut,
                        unit_cost: product.cost,
                        reason: req.reason.as_deref(),
                        document: Some(&document),
                    };
                    let taken = match remove(conn, engine, &out, req.lot.as_deref(), quantity).await? {
                        LineOutcome::Posted(ms) => ms,
                        LineOutcome::Short(available) => {
                            return Err(Error::InsufficientStock(vec![Shortage {
                                line: 0,
                                product_id: product.id,
                                sku: product.sku.clone(),
                                location: from.code.clone(),
                                lot: req.lot.clone(),
                                requested: quantity,
                                available,
                            }]));
                        }
                    };
                    let into = Posting {
                        location: to,
                        kind: MovementKind::TransferIn,
                        ..out
                    };
                    let mut movements = Vec::with_capacity(taken.len() * 2);
                    for m in taken {
                        let arrived = into.add(conn, m.lot.as_deref().unwrap_or(""), m.expiry, -m.quantity).await?;
                        movements.push(m);
                        movements.push(arrived);
                    }
                    idempotency::record(conn, &meta, &movements).await?;
                    Ok(movements)
                })
            }),
        )
        .await
}

// ---------------------------------------------------------------- reads

pub(crate) async fn stock_levels(
    pool: &AnyPool,
    product_id: Option<i64>,
    location: Option<&str>,
    page: PageRequest,
) -> Result<Page<StockLevel>> {
    // Only the filters given become predicates, and the order is the projection's key, so
    // both engines walk the primary key and stop at the page instead of sorting every row.
    let mut conds: Vec<String> = Vec::new();
    if product_id.is_some() {
        conds.push(format!("s.product_id = ${}", conds.len() + 1));
    }
    if location.is_some() {
        conds.push(format!(
            "s.location_id = (SELECT id FROM locations WHERE code = ${})",
            conds.len() + 1
        ));
    }
    let n = conds.len();
    let where_ = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!(
        "SELECT s.product_id, p.sku, p.name, l.code, s.lot, s.expiry, s.on_hand, p.unit FROM stock_levels s \
         JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id \
         {where_} ORDER BY s.product_id, s.location_id, s.lot LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    if let Some(p) = product_id {
        q = q.bind(p);
    }
    if let Some(l) = location {
        q = q.bind(l);
    }
    let rows = q
        .bind(page.fetch_limit())
        .bind(page.after)
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let items = rows.iter().map(level_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_offset_rows(items, page))
}

fn level_from(r: &AnyRow) -> Result<StockLevel> {
    let lot: String = get(r, "lot")?;
    Ok(StockLevel {
        product_id: get(r, "product_id")?,
        sku: get(r, "sku")?,
        name: get(r, "name")?,
        location: get(r, "code")?,
        lot: (!lot.is_empty()).then_some(lot),
        expiry: date(get(r, "expiry")?)?,
        on_hand: Qty::from_milli(get(r, "on_hand")?),
        unit: parsed("unit", UnitOfMeasure::parse(&get::<String>(r, "unit")?))?,
    })
}

/// Every stock row of one product (per location and lot): a search on the projection's key,
/// where the general listing's "0 means any product" would scan it.
pub(crate) async fn product_stock(pool: &AnyPool, product_id: i64) -> Result<Vec<StockLevel>> {
    let rows = sqlx::query(
        "SELECT s.product_id, p.sku, p.name, l.code, s.lot, s.expiry, s.on_hand, p.unit FROM stock_levels s \
         JOIN products p ON p.id = s.product_id JOIN locations l ON l.id = s.location_id \
         WHERE s.product_id = $1 ORDER BY l.code, s.lot",
    )
    .bind(product_id)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter().map(level_from).collect()
}

const MOVEMENT_SELECT: &str = "SELECT m.id, m.product_id, p.sku, l.code, m.lot, m.expiry, m.kind, m.quantity, m.before_qty, \
     m.after_qty, m.unit_cost, m.reason, m.document, m.actor, m.created_at FROM stock_movements m \
     JOIN products p ON p.id = m.product_id JOIN locations l ON l.id = m.location_id";

fn movement_from(r: &AnyRow) -> Result<Movement> {
    let lot: String = get(r, "lot")?;
    Ok(Movement {
        id: get(r, "id")?,
        product_id: get(r, "product_id")?,
        sku: get(r, "sku")?,
        location: get(r, "code")?,
        lot: (!lot.is_empty()).then_some(lot),
        expiry: date(get(r, "expiry")?)?,
        kind: parsed("kind", MovementKind::parse(&get::<String>(r, "kind")?))?,
        quantity: Qty::from_milli(get(r, "quantity")?),
        before: Qty::from_milli(get(r, "before_qty")?),
        after: Qty::from_milli(get(r, "after_qty")?),
        unit_cost: Money::from_minor(get(r, "unit_cost")?),
        reason: get(r, "reason")?,
        document: get(r, "document")?,
        user: get(r, "actor")?,
        created_at: instant(get(r, "created_at")?),
    })
}

/// Ids and creation times of the ledger rise together except across transactions running at
/// the same instant; a date filter becomes an id window this much wider than the ids its
/// bounds find, and the exact `created_at` test still applies inside it.
const ID_SLACK: i64 = 100_000;

/// The id of the first movement created at or after `at` (by the creation-time index), or of
/// the last one before it when `first` is false.
async fn id_near(pool: &AnyPool, at: i64, first: bool) -> Result<Option<i64>> {
    let sql = if first {
        "SELECT id FROM stock_movements WHERE created_at >= $1 ORDER BY created_at LIMIT 1"
    } else {
        "SELECT id FROM stock_movements WHERE created_at < $1 ORDER BY created_at DESC LIMIT 1"
    };
    sqlx::query_scalar(sql)
        .bind(at)
        .fetch_optional(pool)
        .await
        .map_err(db_error)
}

pub(crate) async fn list_movements(
    pool: &AnyPool,
    f: &MovementFilter,
    page: PageRequest,
) -> Result<Page<Movement>> {
    // Newest first; the cursor is the last id seen. Only the filters given become predicates,
    // so the planner walks the (product, location, lot, id) or (location, id) index and never
    // the whole ledger for a rare product or an old date range.
    let mut conds: Vec<String> = Vec::new();
    let mut ints: Vec<i64> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut n = 0usize;
    let int = |conds: &mut Vec<String>, ints: &mut Vec<i64>, expr: &str, v: i64, n: &mut usize| {
        *n += 1;
        conds.push(expr.replace('?', &format!("${n}")));
        ints.push(v);
    };
    if page.after > 0 {
        int(&mut conds, &mut ints, "m.id < ?", page.after, &mut n);
    }
    if let Some(p) = f.product_id {
        int(&mut conds, &mut ints, "m.product_id = ?", p, &mut n);
    }
    if let Some(since) = f.since_micros {
        int(&mut conds, &mut ints, "m.created_at >= ?", since, &mut n);
        match id_near(pool, since, true).await? {
            Some(id) => int(&mut conds, &mut ints, "m.id >= ?", id - ID_SLACK, &mut n),
            None => int(&mut conds, &mut ints, "m.id < ?", 0, &mut n),
        }
    }
    if let Some(until) = f.until_micros {
        int(&mut conds, &mut ints, "m.created_at < ?", until, &mut n);
        match id_near(pool, until, false).await? {
            Some(id) => int(&mut conds, &mut ints, "m.id <= ?", id + ID_SLACK, &mut n),
            None => int(&mut conds, &mut ints, "m.id < ?", 0, &mut n),
        }
    }
    let first_text = n + 1;
    if let Some(l) = &f.location {
        texts.push(l.clone());
        conds.push(format!(
            "m.location_id = (SELECT id FROM locations WHERE code = ${})",
            first_text + texts.len() - 1
        ));
    }
    if let Some(k) = f.kind {
        texts.push(k.as_str().to_owned());
        conds.push(format!("m.kind = ${}", first_text + texts.len() - 1));
        // Spelled out so both planners match the partial indexes that leave sales out.
        if k != MovementKind::Sale {
            conds.push("m.kind <> 'sale'".to_owned());
        }
    }
    let limit_param = first_text + texts.len();
    let where_ = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!("{MOVEMENT_SELECT} {where_} ORDER BY m.id DESC LIMIT ${limit_param}");
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for v in &ints {
        q = q.bind(*v);
    }
    for t in &texts {
        q = q.bind(t.as_str());
    }
    let rows = q
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .await
        .map_err(db_error)?;
    let items = rows.iter().map(movement_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |m| m.id))
}

/// One product's movements, newest first. A plain `product_id = $1` (no "0 means any") lets
/// both engines read only that product's entries of the `(product_id, location_id, lot, id)`
/// key index, so a product page costs the product's own movements, not the ledger's.
pub(crate) async fn product_movements(
    pool: &AnyPool,
    product_id: i64,
    page: PageRequest,
) -> Result<Page<Movement>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{MOVEMENT_SELECT} WHERE m.product_id = $1 AND ($2 = 0 OR m.id < $2) ORDER BY m.id DESC LIMIT $3"
    )))
    .bind(product_id)
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(movement_from).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page, |m| m.id))
}

/// The critical rule of `domain::season` in SQL, so the report can be counted, ordered and
/// paged by the database: threshold = min × factor rounded half up to the thousandth (all
/// terms are non-negative, so integer division truncates as the rule needs), critical when
/// positive and on-hand is at or below it.
const THRESHOLD_SQL: &str = "(sl.min_qty * $1 + 500) / 1000";

pub(crate) async fn critical_rows(
    pool: &AnyPool,
    location: Option<&str>,
    factor_permille: i64,
    window: Option<(i64, i64)>,
) -> Result<(i64, Vec<StockLimitRow>)> {
    // Each limit carries its location's on-hand (kept by the stock triggers), so this reads
    // the limits alone; the total comes with the page, from the same pass.
    let mut n = 1;
    let by_location = if location.is_some() {
        n += 1;
        format!("AND sl.location_id = (SELECT id FROM locations WHERE code = ${n})")
    } else {
        String::new()
    };
    let page = match window {
        Some(_) => format!("LIMIT ${} OFFSET ${}", n + 1, n + 2),
        None => String::new(),
    };
    let sql = format!(
        "SELECT p.id, p.sku, p.name, loc.code, sl.min_qty, sl.on_hand, COUNT(*) OVER () AS total \
         FROM stock_limits sl JOIN products p ON p.id = sl.product_id JOIN locations loc ON loc.id = sl.location_id \
         WHERE sl.min_qty > 0 AND p.active = 1 {by_location} \
           AND {THRESHOLD_SQL} > 0 AND sl.on_hand <= {THRESHOLD_SQL} \
         ORDER BY {THRESHOLD_SQL} - sl.on_hand DESC, p.sku, loc.code {page}"
    );
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(factor_permille);
    if let Some(l) = location {
        q = q.bind(l);
    }
    if let Some((offset, limit)) = window {
        q = q.bind(limit).bind(offset);
    }
    let rows = q.fetch_all(pool).await.map_err(db_error)?;
    let total = match rows.first() {
        Some(r) => get(r, "total")?,
        // Past the end of the report the page is empty: count without it.
        None if window.is_some_and(|(offset, _)| offset > 0) => {
            Box::pin(critical_rows(pool, location, factor_permille, Some((0, 1))))
                .await?
                .0
        }
        None => 0,
    };
    let rows = rows
        .iter()
        .map(|r| {
            Ok(StockLimitRow {
                product_id: get(r, "id")?,
                sku: get(r, "sku")?,
                name: get(r, "name")?,
                location: get(r, "code")?,
                min_stock: Qty::from_milli(get(r, "min_qty")?),
                on_hand: Qty::from_milli(get(r, "on_hand")?),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((total, rows))
}

/// Most discrepancies one check lists; the count of rows checked is always complete.
const MAX_REPORTED: i64 = 1000;

pub(crate) async fn check_ledger(pool: &AnyPool) -> Result<LedgerReport> {
    let totals = sqlx::query(AssertSqlSafe(format!(
        "SELECT t.product_id, p.sku, l.code, t.lot, t.projected, t.ledger FROM ( \
           SELECT COALESCE(g.product_id, s.product_id) AS product_id, COALESCE(g.location_id, s.location_id) AS location_id, \
                  COALESCE(g.lot, s.lot) AS lot, COALESCE(s.on_hand, 0) AS projected, COALESCE(g.qty, 0) AS ledger \
           FROM (SELECT product_id, location_id, lot, CAST(SUM(quantity) AS BIGINT) AS qty FROM stock_movements \
                 GROUP BY product_id, location_id, lot) g \
           FULL OUTER JOIN stock_levels s ON s.product_id = g.product_id AND s.location_id = g.location_id AND s.lot = g.lot \
         ) t JOIN products p ON p.id = t.product_id JOIN locations l ON l.id = t.location_id \
         WHERE t.projected <> t.ledger ORDER BY t.product_id, l.code, t.lot LIMIT {MAX_REPORTED}"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let mut discrepancies = Vec::new();
    for r in &totals {
        let lot: String = get(r, "lot")?;
        let projected = Qty::from_milli(get(r, "projected")?);
        let ledger = Qty::from_milli(get(r, "ledger")?);
        discrepancies.push(LedgerDiscrepancy {
            product_id: get(r, "product_id")?,
            sku: get(r, "sku")?,
            location: get(r, "code")?,
            lot: (!lot.is_empty()).then_some(lot),
            movement_id: None,
            projected,
            ledger,
            problem: format!(
                "la proyección dice {projected} pero el libro de movimientos suma {ledger}"
            ),
        });
    }
    let chain = sqlx::query(AssertSqlSafe(format!(
        "SELECT t.id, t.product_id, p.sku, l.code, t.lot, t.before_qty, t.after_qty, t.quantity, t.prev_after FROM ( \
           SELECT m.id, m.product_id, m.location_id, m.lot, m.before_qty, m.after_qty, m.quantity, \
                  LAG(m.after_qty) OVER (PARTITION BY m.product_id, m.location_id, m.lot ORDER BY m.id) AS prev_after \
           FROM stock_movements m) t \
         JOIN products p ON p.id = t.product_id JOIN locations l ON l.id = t.location_id \
         WHERE t.after_qty <> t.before_qty + t.quantity OR t.after_qty < 0 \
            OR (t.prev_after IS NULL AND t.before_qty <> 0) OR (t.prev_after IS NOT NULL AND t.prev_after <> t.before_qty) \
         ORDER BY t.id LIMIT {MAX_REPORTED}"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    for r in &chain {
        let lot: String = get(r, "lot")?;
        let id: i64 = get(r, "id")?;
        let before = Qty::from_milli(get(r, "before_qty")?);
        let after = Qty::from_milli(get(r, "after_qty")?);
        let prev: Option<i64> = get(r, "prev_after")?;
        discrepancies.push(LedgerDiscrepancy {
            product_id: get(r, "product_id")?,
            sku: get(r, "sku")?,
            location: get(r, "code")?,
            lot: (!lot.is_empty()).then_some(lot),
            movement_id: Some(id),
            projected: after,
            ledger: before + Qty::from_milli(get(r, "quantity")?),
            problem: format!(
                "el movimiento {id} no encadena: antes {before}, después {after}, anterior {}",
                prev.map_or("—".to_owned(), |p| Qty::from_milli(p).to_string())
            ),
        });
    }
    // The on-hand each limit carries for the critical-stock report.
    let limits = sqlx::query(AssertSqlSafe(format!(
        "SELECT t.product_id, p.sku, l.code, t.carried, t.projected FROM ( \
           SELECT sl.product_id, sl.location_id, sl.on_hand AS carried, \
                  CAST(COALESCE((SELECT SUM(s.on_hand) FROM stock_levels s \
                     WHERE s.product_id = sl.product_id AND s.location_id = sl.location_id), 0) AS BIGINT) AS projected \
           FROM stock_limits sl) t \
         JOIN products p ON p.id = t.product_id JOIN locations l ON l.id = t.location_id \
         WHERE t.carried <> t.projected ORDER BY t.product_id, l.code LIMIT {MAX_REPORTED}"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    for r in &limits {
        let carried = Qty::from_milli(get(r, "carried")?);
        let projected = Qty::from_milli(get(r, "projected")?);
        discrepancies.push(LedgerDiscrepancy {
            product_id: get(r, "product_id")?,
            sku: get(r, "sku")?,
            location: get(r, "code")?,
            lot: None,
            movement_id: None,
            projected,
            ledger: carried,
            problem: format!(
                "el mínimo de stock lleva {carried} en mano pero la proyección suma {projected}"
            ),
        });
    }
    let movements_checked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stock_movements")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    let levels_checked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stock_levels")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    Ok(LedgerReport {
        ok: discrepancies.is_empty(),
        movements_checked,
        levels_checked,
        discrepancies,
    })
}
