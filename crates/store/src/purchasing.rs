//! Purchase orders and receiving: a receipt posts its movements, advances its order and moves
//! each product's weighted average cost, all in one transaction.

use std::sync::Arc;

use app::catalog::ProductRef;
use app::page::{Page, PageRequest};
use app::purchasing::{
    NewPurchaseOrder, NewReceipt, ProductRefKey, PurchaseOrder, PurchaseOrderLine, Receipt,
    ReceiptLine,
};
use app::{Error, Result, WriteMeta, Written};
use domain::ledger::MovementKind;
use domain::purchasing::{self as rules, PoStatus};
use domain::{Gtin, Money, Qty, Sku};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe};

use crate::audit::{self, Change};
use crate::catalog::record_cost;
use crate::idempotency;
use crate::rows::{date_text, db_error, get, instant, parsed};
use crate::stock::{LocationInfo, Posting, ProductInfo, resolve_location, resolve_product};
use crate::{Engine, SqlStore};

pub(crate) async fn resolve_items(
    store: &SqlStore,
    keys: &[ProductRefKey],
) -> Result<Vec<ProductInfo>> {
    let mut out = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let field = format!("lines[{i}].product_id");
        let r = match k {
            ProductRefKey::Id(id) => ProductRef::Id(*id),
            ProductRefKey::Sku(s) => ProductRef::Sku(
                Sku::parse(s)
                    .map_err(|e| Error::invalid(field.clone(), e.rule(), e.to_string()))?,
            ),
            ProductRefKey::Barcode(b) => ProductRef::Barcode(
                Gtin::parse(b)
                    .map_err(|e| Error::invalid(field.clone(), e.rule(), e.to_string()))?,
            ),
        };
        out.push(resolve_product(store, &r, &field).await?);
    }
    Ok(out)
}

async fn supplier_exists(conn: &mut AnyConnection, id: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM suppliers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_error)?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::unknown("supplier_id", format!("el proveedor {id} no existe")))
}

async fn load_order(
    conn: &mut AnyConnection,
    id: i64,
    lock: &str,
) -> Result<Option<(PurchaseOrder, i64)>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT po.id, po.supplier_id, po.location_id, l.code, po.status, po.notes, po.created_by, po.created_at, po.updated_at \
         FROM purchase_orders po JOIN locations l ON l.id = po.location_id WHERE po.id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?;
    let Some(r) = row else { return Ok(None) };
    let lines: Vec<(i64, i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT pl.line_no, pl.product_id, p.sku, pl.quantity, pl.received, pl.unit_cost FROM purchase_order_lines pl \
         JOIN products p ON p.id = pl.product_id WHERE pl.po_id = $1 ORDER BY pl.line_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let lines: Vec<PurchaseOrderLine> = lines
        .into_iter()
        .map(|(line, product_id, sku, q, rcv, cost)| PurchaseOrderLine {
            line,
            product_id,
            sku,
            quantity: Qty::from_milli(q),
            received: Qty::from_milli(rcv),
            unit_cost: Money::from_minor(cost),
        })
        .collect();
    let total = lines
        .iter()
        .map(|l| l.unit_cost.times_qty(l.quantity))
        .sum();
    Ok(Some((
        PurchaseOrder {
            id,
            supplier_id: get(&r, "supplier_id")?,
            location: get(&r, "code")?,
            status: parsed("status", PoStatus::parse(&get::<String>(&r, "status")?))?,
            notes: get(&r, "notes")?,
            lines,
            total,
            created_by: get(&r, "created_by")?,
            created_at: instant(get(&r, "created_at")?),
            updated_at: instant(get(&r, "updated_at")?),
        },
        get(&r, "location_id")?,
    )))
}

pub(crate) async fn get_purchase_order(pool: &AnyPool, id: i64) -> Result<Option<PurchaseOrder>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    Ok(load_order(&mut conn, id, "").await?.map(|(po, _)| po))
}

pub(crate) async fn list_purchase_orders(
    pool: &AnyPool,
    page: PageRequest,
) -> Result<Page<PurchaseOrder>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM purchase_orders WHERE ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2",
    )
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some((po, _)) = load_order(&mut conn, id, "").await? {
            items.push(po);
        }
    }
    Ok(Page::from_rows(items, page, |p| p.id))
}

pub(crate) async fn create_purchase_order(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewPurchaseOrder,
) -> Result<Written<PurchaseOrder>> {
    let location = resolve_location(store, meta, &new.location, "location").await?;
    let keys: Vec<ProductRefKey> = new.lines.iter().map(|l| l.product.clone()).collect();
    let products = resolve_items(store, &keys).await?;
    let owned_meta = meta.clone();
    let parts = Arc::new((new, location, products));
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, parts) = (owned_meta.clone(), parts.clone());
                Box::pin(async move {
                    let (new, location, products) = &*parts;
                    supplier_exists(conn, new.supplier_id).await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO purchase_orders (supplier_id, location_id, status, notes, created_by, created_at, updated_at) \
                         VALUES ($1, $2, 'draft', $3, $4, $5, $5) RETURNING id",
                    )
                    .bind(new.supplier_id)
                    .bind(location.id)
                    .bind(&new.notes)
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                    for (i, (line, product)) in new.lines.iter().zip(products).enumerate() {
                        sqlx::query(
                            "INSERT INTO purchase_order_lines (po_id, line_no, product_id, quantity, received, unit_cost) VALUES ($1, $2, $3, $4, 0, $5)",
                        )
                        .bind(id)
                        .bind(i as i64 + 1)
                        .bind(product.id)
                        .bind(line.quantity.milli())
                        .bind(line.unit_cost.unwrap_or(product.cost).minor())
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?;
                    }
                    let (po, _) = load_order(conn, id, "").await?.ok_or_else(|| Error::internal("orden recién creada no encontrada"))?;
                    audit::record(conn, &meta, Change::<(), _> {
                        action: "purchase_order.create",
                        entity: "purchase_order",
                        entity_id: Some(id.to_string()),
                        before: None,
                        after: Some(&po),
                    })
                    .await?;
                    idempotency::record(conn, &meta, &po).await?;
                    Ok(po)
                })
            }),
        )
        .await
}

pub(crate) async fn set_purchase_order_status(
    store: &SqlStore,
    meta: &WriteMeta,
    id: i64,
    to: PoStatus,
) -> Result<PurchaseOrder> {
    let meta = meta.clone();
    let engine = store.engine;
    store
        .write(Arc::new(move |conn| {
            let meta = meta.clone();
            Box::pin(async move {
                let (po, location_id) = load_order(conn, id, engine.for_update())
                    .await?
                    .ok_or_else(|| Error::NotFound {
                        entity: "orden de compra",
                        key: id.to_string(),
                    })?;
                meta.actor.require_location(location_id, &po.location)?;
                if !po.status.can_become(to) {
                    return Err(Error::conflict(
                        "invalid_transition",
                        Some("status"),
                        format!(
                            "una orden {} no puede pasar a {}",
                            po.status.as_str(),
                            to.as_str()
                        ),
                    ));
                }
                sqlx::query(
                    "UPDATE purchase_orders SET status = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(to.as_str())
                .bind(meta.now)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                let (after, _) = load_order(conn, id, "")
                    .await?
                    .ok_or_else(|| Error::internal("orden no encontrada"))?;
                audit::record(
                    conn,
                    &meta,
                    Change {
                        action: "purchase_order.status",
                        entity: "purchase_order",
                        entity_id: Some(id.to_string()),
                        before: Some(&po),
                        after: Some(&after),
                    },
                )
                .await?;
                Ok(after)
            })
        }))
        .await
}

pub(crate) async fn post_receipt(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewReceipt,
) -> Result<Written<Receipt>> {
    let location = resolve_location(store, meta, &new.location, "location").await?;
    let keys: Vec<ProductRefKey> = new.lines.iter().map(|l| l.product.clone()).collect();
    let products = resolve_items(store, &keys).await?;
    let owned_meta = meta.clone();
    let engine = store.engine;
    let parts = Arc::new((new, location, products));
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, parts) = (owned_meta.clone(), parts.clone());
                Box::pin(async move {
                    let (new, location, products) = &*parts;
                    post_receipt_tx(conn, engine, &meta, new, location, products).await
                })
            }),
        )
        .await
}

pub(crate) async fn post_receipt_tx(
    conn: &mut AnyConnection,
    engine: Engine,
    meta: &WriteMeta,
    new: &NewReceipt,
    location: &LocationInfo,
    products: &[ProductInfo],
) -> Result<Receipt> {
    let mut order = match new.purchase_order_id {
        None => None,
        Some(id) => {
            let (po, location_id) = load_order(conn, id, engine.for_update())
                .await?
                .ok_or_else(|| {
                    Error::unknown(
                        "purchase_order_id",
                        format!("la orden de compra {id} no existe"),
                    )
                })?;
            if !po.status.accepts_receipts() {
                let (code, why) = match po.status {
                    PoStatus::Cancelled => ("po_cancelled", "está cancelada"),
                    PoStatus::Draft => ("po_not_sent", "todavía no se envió al proveedor"),
                    _ => ("po_received", "ya se recibió completa"),
                };
                if !(po.status == PoStatus::Received && new.allow_over_receipt) {
                    return Err(Error::conflict(
                        code,
                        Some("purchase_order_id"),
                        format!("la orden de compra {id} {why}"),
                    ));
                }
            }
            if location_id != location.id {
                return Err(Error::invalid(
                    "location",
                    "matches_order",
                    format!("la orden de compra {id} se recibe en {}", po.location),
                ));
            }
            if new.supplier_id.is_some_and(|s| s != po.supplier_id) {
                return Err(Error::invalid(
                    "supplier_id",
                    "matches_order",
                    "el proveedor no es el de la orden de compra",
                ));
            }
            Some(po)
        }
    };
    let supplier_id = order.as_ref().map(|po| po.supplier_id).or(new.supplier_id);
    if let Some(s) = supplier_id {
        supplier_exists(conn, s).await?;
    }
    let receipt_id: i64 = sqlx::query_scalar(
        "INSERT INTO receipts (po_id, supplier_id, location_id, remito, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.purchase_order_id)
    .bind(supplier_id)
    .bind(location.id)
    .bind(new.remito.as_deref())
    .bind(&meta.actor.label)
    .bind(meta.now)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    let document = format!("receipt:{receipt_id}");
    let mut lines = Vec::with_capacity(new.lines.len());
    for (i, (item, product)) in new.lines.iter().zip(products).enumerate() {
        let quantity = Qty::from_milli(item.quantity.milli() * product.pack);
        product
            .unit
            .check_qty(quantity)
            .map_err(|e| Error::invalid(format!("lines[{i}].quantity"), e.rule(), e.to_string()))?;
        // Match the order line of this product that still expects goods, else the first one.
        let po_line = match order.as_mut() {
            None => None,
            Some(po) => {
                let candidates: Vec<usize> = po
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.product_id == product.id)
                    .map(|(k, _)| k)
                    .collect();
                let pick = candidates
                    .iter()
                    .copied()
                    .find(|k| po.lines[*k].received < po.lines[*k].quantity)
                    .or(candidates.first().copied());
                match pick {
                    Some(k) => {
                        let l = &mut po.lines[k];
                        let after = l.received + quantity;
                        if after > l.quantity && !new.allow_over_receipt {
                            return Err(Error::conflict(
                                "over_receipt",
                                Some(&format!("lines[{i}].quantity")),
                                format!(
                                    "{}: se pidieron {}, ya se recibieron {} y llegan {}; marque allow_over_receipt para aceptar el excedente",
                                    l.sku, l.quantity, l.received, quantity
                                ),
                            ));
                        }
                        l.received = after;
                        Some((l.line, l.unit_cost))
                    }
                    None if new.allow_over_receipt => None,
                    None => {
                        return Err(Error::conflict(
                            "not_on_order",
                            Some(&format!("lines[{i}].product_id")),
                            format!("{} no está en la orden de compra", product.sku),
                        ));
                    }
                }
            }
        };
        let unit_cost = item
            .unit_cost
            .or(po_line.map(|(_, c)| c))
            .unwrap_or(product.cost);
        // Company-wide weighted average: the product row is locked so concurrent receipts queue.
        let current: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT cost FROM products WHERE id = $1{}",
            engine.for_update()
        )))
        .bind(product.id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        let on_hand: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(on_hand), 0) AS BIGINT) FROM stock_levels WHERE product_id = $1")
            .bind(product.id)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_error)?;
        let average = rules::weighted_average_cost(
            Qty::from_milli(on_hand),
            Money::from_minor(current),
            quantity,
            unit_cost,
        );
        if average.minor() != current {
            sqlx::query("UPDATE products SET cost = $1, updated_at = $2 WHERE id = $3")
                .bind(average.minor())
                .bind(meta.now)
                .bind(product.id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            record_cost(conn, product.id, average, meta.now, "receipt").await?;
        }
        let posting = Posting {
            meta,
            product,
            location,
            kind: MovementKind::Receipt,
            unit_cost,
            reason: None,
            document: Some(&document),
        };
        let m = posting
            .add(
                conn,
                item.lot.as_deref().unwrap_or(""),
                item.expiry,
                quantity,
            )
            .await?;
        if let Some((line_no, _)) = po_line {
            sqlx::query("UPDATE purchase_order_lines SET received = received + $1 WHERE po_id = $2 AND line_no = $3")
                .bind(quantity.milli())
                .bind(new.purchase_order_id)
                .bind(line_no)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
        }
        sqlx::query(
            "INSERT INTO receipt_lines (receipt_id, line_no, product_id, quantity, unit_cost, lot, expiry, po_line_no) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(receipt_id)
        .bind(i as i64 + 1)
        .bind(product.id)
        .bind(quantity.milli())
        .bind(unit_cost.minor())
        .bind(item.lot.as_deref().unwrap_or(""))
        .bind(date_text(m.expiry))
        .bind(po_line.map(|(l, _)| l))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
        lines.push(ReceiptLine {
            line: i as i64 + 1,
            product_id: product.id,
            sku: product.sku.clone(),
            quantity,
            unit_cost,
            lot: m.lot.clone(),
            expiry: m.expiry,
            average_cost: average,
            previous_cost: Money::from_minor(current),
        });
    }
    let status = match &order {
        None => None,
        Some(po) => {
            let progress: Vec<(Qty, Qty)> =
                po.lines.iter().map(|l| (l.quantity, l.received)).collect();
            let status = rules::status_after_receipt(&progress);
            sqlx::query("UPDATE purchase_orders SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(meta.now)
                .bind(po.id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            Some(status)
        }
    };
    let receipt = Receipt {
        id: receipt_id,
        purchase_order_id: new.purchase_order_id,
        purchase_order_status: status,
        supplier_id,
        location: location.code.clone(),
        remito: new.remito.clone(),
        lines,
        created_at: instant(meta.now),
        repricing: None,
    };
    audit::record(
        conn,
        meta,
        Change::<(), _> {
            action: "receipt.create",
            entity: "receipt",
            entity_id: Some(receipt_id.to_string()),
            before: None,
            after: Some(&receipt),
        },
    )
    .await?;
    idempotency::record(conn, meta, &receipt).await?;
    Ok(receipt)
}

/// Orders newest first, optionally of one status, with their lines: two statements per page
/// whatever its size (the list pages must not issue one query per order).
pub(crate) async fn list_purchase_orders_by_status(
    pool: &AnyPool,
    status: Option<PoStatus>,
    page: PageRequest,
) -> Result<Page<PurchaseOrder>> {
    let status = status.map(|s| s.as_str()).unwrap_or("");
    let filter = "FROM purchase_orders WHERE ($1 = 0 OR id < $1) AND ($2 = '' OR status = $2) \
                  ORDER BY id DESC LIMIT $3";
    let mut conn = pool.acquire().await.map_err(db_error)?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT po.id, po.supplier_id, l.code, po.status, po.notes, po.created_by, po.created_at, po.updated_at \
         FROM purchase_orders po JOIN locations l ON l.id = po.location_id \
         WHERE po.id IN (SELECT id {filter}) ORDER BY po.id DESC"
    )))
    .bind(page.after)
    .bind(status)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let lines: Vec<(i64, i64, i64, String, i64, i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT pl.po_id, pl.line_no, pl.product_id, p.sku, pl.quantity, pl.received, pl.unit_cost \
         FROM purchase_order_lines pl JOIN products p ON p.id = pl.product_id \
         WHERE pl.po_id IN (SELECT id {filter}) ORDER BY pl.po_id, pl.line_no"
    )))
    .bind(page.after)
    .bind(status)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = get(r, "id")?;
        let lines: Vec<PurchaseOrderLine> = lines
            .iter()
            .filter(|l| l.0 == id)
            .map(
                |(_, line, product_id, sku, q, rcv, cost)| PurchaseOrderLine {
                    line: *line,
                    product_id: *product_id,
                    sku: sku.clone(),
                    quantity: Qty::from_milli(*q),
                    received: Qty::from_milli(*rcv),
                    unit_cost: Money::from_minor(*cost),
                },
            )
            .collect();
        let total = lines
            .iter()
            .map(|l| l.unit_cost.times_qty(l.quantity))
            .sum();
        items.push(PurchaseOrder {
            id,
            supplier_id: get(r, "supplier_id")?,
            location: get(r, "code")?,
            status: parsed("status", PoStatus::parse(&get::<String>(r, "status")?))?,
            notes: get(r, "notes")?,
            lines,
            total,
            created_by: get(r, "created_by")?,
            created_at: instant(get(r, "created_at")?),
            updated_at: instant(get(r, "updated_at")?),
        });
    }
    Ok(Page::from_rows(items, page, |p| p.id))
}
