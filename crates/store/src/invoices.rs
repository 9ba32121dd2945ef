//! Supplier invoices: scan jobs, drafts with their corrections, posting (receipt + invoice +
//! remembered mappings in one transaction) and the queries behind the Libro IVA.

use std::sync::Arc;

use app::invoices::{
    InvoicePosting, JobError, LineMatch, NewInvoiceDraft, PostedPurchase, SaleVatRow, ScanJob,
    SupplierInvoice,
};
use app::purchasing::ProductRefKey;
use app::{Error, Result, WriteMeta, Written};
use domain::invoice::{InvoiceData, VoucherType};
use domain::{Cuit, Money};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe};

use crate::SqlStore;
use crate::audit::{self, Change};
use crate::catalog::{SUPPLIER_COLUMNS, supplier_from};
use crate::idempotency;
use crate::purchasing::{post_receipt_tx, resolve_items};
use crate::rows::{db_error, get, instant};
use crate::stock::resolve_location;

const JOB_COLUMNS: &str = "id, status, file_kind, file_bytes, invoice_id, error_rule, error_detail, created_at, finished_at";

fn job_from(r: &AnyRow) -> Result<ScanJob> {
    let rule: Option<String> = get(r, "error_rule")?;
    let detail: Option<String> = get(r, "error_detail")?;
    Ok(ScanJob {
        id: get(r, "id")?,
        status: get(r, "status")?,
        file_kind: get(r, "file_kind")?,
        file_bytes: get(r, "file_bytes")?,
        invoice_id: get(r, "invoice_id")?,
        error: rule.map(|rule| JobError {
            rule,
            detail: detail.unwrap_or_default(),
        }),
        created_at: instant(get(r, "created_at")?),
        finished_at: get::<Option<i64>>(r, "finished_at")?.map(instant),
    })
}

const INVOICE_COLUMNS: &str = "id, status, origin, supplier_id, data, matches, extraction, raw_text, corrections, \
     purchase_order_id, receipt_id, created_by, created_at, updated_at, posted_at";

fn json<T: serde::de::DeserializeOwned>(col: &str, raw: &str) -> Result<T> {
    serde_json::from_str(raw).map_err(|e| Error::Internal(format!("columna {col}: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Internal(format!("JSON: {e}")))
}

fn invoice_from(r: &AnyRow) -> Result<SupplierInvoice> {
    let extraction: Option<String> = get(r, "extraction")?;
    Ok(SupplierInvoice {
        id: get(r, "id")?,
        status: get(r, "status")?,
        origin: get(r, "origin")?,
        supplier_id: get(r, "supplier_id")?,
        data: json("data", &get::<String>(r, "data")?)?,
        matches: json("matches", &get::<String>(r, "matches")?)?,
        checks: Vec::new(),
        extraction: extraction.map(|e| json("extraction", &e)).transpose()?,
        raw_text: get(r, "raw_text")?,
        corrections: json("corrections", &get::<String>(r, "corrections")?)?,
        purchase_order_id: get(r, "purchase_order_id")?,
        receipt_id: get(r, "receipt_id")?,
        created_by: get(r, "created_by")?,
        created_at: instant(get(r, "created_at")?),
        updated_at: instant(get(r, "updated_at")?),
        posted_at: get::<Option<i64>>(r, "posted_at")?.map(instant),
    })
}

/// The indexed key columns of an invoice, from its data.
fn key_columns(d: &InvoiceData) -> (Option<String>, Option<i64>, Option<i64>, Option<i64>) {
    (
        d.issuer_cuit.as_ref().map(|c| c.as_str().to_owned()),
        d.voucher_type.map(|t| i64::from(t.code())),
        d.number.map(|n| i64::from(n.point_of_sale())),
        d.number.map(|n| i64::from(n.number())),
    )
}

pub(crate) async fn supplier_by_cuit(
    pool: &AnyPool,
    cuit: &Cuit,
) -> Result<Option<app::catalog::Supplier>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {SUPPLIER_COLUMNS} FROM suppliers WHERE cuit = $1"
    )))
    .bind(cuit.as_str())
    .fetch_optional(pool)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(supplier_from)
    .transpose()
}

pub(crate) async fn create_scan_job(
    store: &SqlStore,
    meta: &WriteMeta,
    file_kind: &str,
    file_bytes: i64,
) -> Result<Written<ScanJob>> {
    let owned_meta = meta.clone();
    let kind = file_kind.to_owned();
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, kind) = (owned_meta.clone(), kind.clone());
                Box::pin(async move {
                    let row = sqlx::query(AssertSqlSafe(format!(
                        "INSERT INTO invoice_scan_jobs (status, file_kind, file_bytes, actor, created_at) \
                         VALUES ('queued', $1, $2, $3, $4) RETURNING {JOB_COLUMNS}"
                    )))
                    .bind(&kind)
                    .bind(file_bytes)
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                    let job = job_from(&row)?;
                    idempotency::record(conn, &meta, &job).await?;
                    Ok(job)
                })
            }),
        )
        .await
}

pub(crate) async fn start_scan_job(store: &SqlStore, id: i64) -> Result<()> {
    store
        .write(Arc::new(move |conn| {
            Box::pin(async move {
                sqlx::query("UPDATE invoice_scan_jobs SET status = 'running' WHERE id = $1 AND status = 'queued'")
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn finish_scan_job(
    store: &SqlStore,
    id: i64,
    invoice_id: Option<i64>,
    error: Option<JobError>,
    now: i64,
) -> Result<()> {
    let error = Arc::new(error);
    store
        .write(Arc::new(move |conn| {
            let error = error.clone();
            Box::pin(async move {
                let status = if error.is_some() { "failed" } else { "done" };
                sqlx::query(
                    "UPDATE invoice_scan_jobs SET status = $1, invoice_id = $2, error_rule = $3, error_detail = $4, finished_at = $5 WHERE id = $6",
                )
                .bind(status)
                .bind(invoice_id)
                .bind(error.as_ref().as_ref().map(|e| e.rule.clone()))
                .bind(error.as_ref().as_ref().map(|e| e.detail.clone()))
                .bind(now)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

pub(crate) async fn get_scan_job(pool: &AnyPool, id: i64) -> Result<Option<ScanJob>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM invoice_scan_jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(job_from)
    .transpose()
}

pub(crate) async fn create_invoice_draft(
    store: &SqlStore,
    meta: &WriteMeta,
    new: NewInvoiceDraft,
) -> Result<Written<SupplierInvoice>> {
    let owned_meta = meta.clone();
    let data = to_json(&new.data)?;
    let matches = to_json(&new.matches)?;
    let extraction = new.extraction.as_ref().map(to_json).transpose()?;
    let parts = Arc::new((new, data, matches, extraction));
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, parts) = (owned_meta.clone(), parts.clone());
                Box::pin(async move {
                    let (new, data, matches, extraction) = &*parts;
                    let (cuit, code, pos, num) = key_columns(&new.data);
                    let row = sqlx::query(AssertSqlSafe(format!(
                        "INSERT INTO supplier_invoices (status, origin, issuer_cuit, voucher_code, point_of_sale, number, \
                         issue_date, total, data, matches, extraction, raw_text, created_by, created_at, updated_at) \
                         VALUES ('draft', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING {INVOICE_COLUMNS}"
                    )))
                    .bind(&new.origin)
                    .bind(cuit)
                    .bind(code)
                    .bind(pos)
                    .bind(num)
                    .bind(new.data.issue_date.map(|d| d.to_string()))
                    .bind(new.data.total.map(Money::minor))
                    .bind(data)
                    .bind(matches)
                    .bind(extraction.as_deref())
                    .bind(&new.raw_text)
                    .bind(&meta.actor.label)
                    .bind(meta.now)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_error)?;
                    let inv = invoice_from(&row)?;
                    audit::record(conn, &meta, Change::<(), _> {
                        action: "supplier_invoice.draft",
                        entity: "supplier_invoice",
                        entity_id: Some(inv.id.to_string()),
                        before: None,
                        after: Some(&inv.data),
                    })
                    .await?;
                    idempotency::record(conn, &meta, &inv).await?;
                    Ok(inv)
                })
            }),
        )
        .await
}

async fn load_invoice(conn: &mut AnyConnection, id: i64, lock: &str) -> Result<SupplierInvoice> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {INVOICE_COLUMNS} FROM supplier_invoices WHERE id = $1{lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)?
    .ok_or_else(|| Error::NotFound {
        entity: "factura de proveedor",
        key: id.to_string(),
    })?;
    invoice_from(&row)
}

pub(crate) async fn get_supplier_invoice(
    pool: &AnyPool,
    id: i64,
) -> Result<Option<SupplierInvoice>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {INVOICE_COLUMNS} FROM supplier_invoices WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?
    .as_ref()
    .map(invoice_from)
    .transpose()
}

pub(crate) async fn update_invoice_draft(
    store: &SqlStore,
    meta: &WriteMeta,
    id: i64,
    data: InvoiceData,
    matches: Vec<LineMatch>,
    correction: serde_json::Value,
) -> Result<SupplierInvoice> {
    let owned_meta = meta.clone();
    let engine = store.engine;
    let parts = Arc::new((data, matches, correction));
    store
        .write(Arc::new(move |conn| {
            let (meta, parts) = (owned_meta.clone(), parts.clone());
            Box::pin(async move {
                let (data, matches, correction) = &*parts;
                let before = load_invoice(conn, id, engine.for_update()).await?;
                if before.status != "draft" {
                    return Err(Error::conflict(
                        "already_posted",
                        None,
                        format!("la factura {id} ya está registrada y no se puede corregir"),
                    ));
                }
                let mut corrections = before.corrections.clone();
                corrections.push(correction.clone());
                let (cuit, code, pos, num) = key_columns(data);
                sqlx::query(
                    "UPDATE supplier_invoices SET issuer_cuit = $1, voucher_code = $2, point_of_sale = $3, number = $4, \
                     issue_date = $5, total = $6, data = $7, matches = $8, corrections = $9, updated_at = $10 WHERE id = $11",
                )
                .bind(cuit)
                .bind(code)
                .bind(pos)
                .bind(num)
                .bind(data.issue_date.map(|d| d.to_string()))
                .bind(data.total.map(Money::minor))
                .bind(to_json(data)?)
                .bind(to_json(matches)?)
                .bind(to_json(&corrections)?)
                .bind(meta.now)
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                let after = load_invoice(conn, id, "").await?;
                audit::record(conn, &meta, Change {
                    action: "supplier_invoice.correct",
                    entity: "supplier_invoice",
                    entity_id: Some(id.to_string()),
                    before: Some(&before.data),
                    after: Some(&after.data),
                })
                .await?;
                Ok(after)
            })
        }))
        .await
}

async fn posted_id(
    conn: &mut AnyConnection,
    cuit: &str,
    code: i64,
    pos: i64,
    num: i64,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM supplier_invoices WHERE status = 'posted' AND issuer_cuit = $1 AND voucher_code = $2 \
         AND point_of_sale = $3 AND number = $4",
    )
    .bind(cuit)
    .bind(code)
    .bind(pos)
    .bind(num)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_error)
}

pub(crate) async fn posted_invoice_id(
    pool: &AnyPool,
    issuer: &Cuit,
    code: u32,
    pos: u32,
    num: u32,
) -> Result<Option<i64>> {
    let mut conn = pool.acquire().await.map_err(db_error)?;
    posted_id(
        &mut conn,
        issuer.as_str(),
        code.into(),
        pos.into(),
        num.into(),
    )
    .await
}

pub(crate) async fn post_supplier_invoice(
    store: &SqlStore,
    meta: &WriteMeta,
    posting: InvoicePosting,
) -> Result<Written<SupplierInvoice>> {
    let location = resolve_location(store, meta, &posting.receipt.location, "location").await?;
    let keys: Vec<ProductRefKey> = posting
        .receipt
        .lines
        .iter()
        .map(|l| l.product.clone())
        .collect();
    let products = resolve_items(store, &keys).await?;
    let owned_meta = meta.clone();
    let engine = store.engine;
    let parts = Arc::new((posting, location, products));
    store
        .write_idempotent(
            meta,
            Arc::new(move |conn| {
                let (meta, parts) = (owned_meta.clone(), parts.clone());
                Box::pin(async move {
                    let (posting, location, products) = &*parts;
                    let id = posting.invoice_id;
                    let before = load_invoice(conn, id, engine.for_update()).await?;
                    if before.status != "draft" {
                        return Err(Error::conflict(
                            "already_posted",
                            None,
                            format!("la factura {id} ya está registrada"),
                        ));
                    }
                    let (cuit, code, pos, num) = key_columns(&before.data);
                    if let (Some(cuit), Some(code), Some(pos), Some(num)) = (&cuit, code, pos, num)
                        && let Some(other) = posted_id(conn, cuit, code, pos, num).await?
                        && let (Some(vt), Some(n)) = (
                            VoucherType::from_code(u32::try_from(code).unwrap_or(0)).ok(),
                            before.data.number,
                        )
                    {
                        return Err(app::invoices::duplicate(other, vt, n));
                    }
                    // The receipt is part of this write: the idempotency key records the invoice.
                    let receipt_meta = WriteMeta {
                        idempotency: None,
                        ..meta.clone()
                    };
                    let receipt = post_receipt_tx(
                        conn,
                        engine,
                        &receipt_meta,
                        &posting.receipt,
                        location,
                        products,
                    )
                    .await?;
                    sqlx::query(
                        "UPDATE supplier_invoices SET status = 'posted', supplier_id = $1, purchase_order_id = $2, \
                         receipt_id = $3, posted_at = $4, updated_at = $4 WHERE id = $5",
                    )
                    .bind(posting.supplier_id)
                    .bind(receipt.purchase_order_id)
                    .bind(receipt.id)
                    .bind(meta.now)
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                    for (key, product) in &posting.mappings {
                        sqlx::query(
                            "INSERT INTO supplier_product_codes (supplier_id, code, product_id, updated_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (supplier_id, code) DO UPDATE SET product_id = excluded.product_id, updated_at = excluded.updated_at",
                        )
                        .bind(posting.supplier_id)
                        .bind(key)
                        .bind(product)
                        .bind(meta.now)
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?;
                    }
                    let after = load_invoice(conn, id, "").await?;
                    audit::record(conn, &meta, Change {
                        action: "supplier_invoice.post",
                        entity: "supplier_invoice",
                        entity_id: Some(id.to_string()),
                        before: Some(&before.status),
                        after: Some(&after.status),
                    })
                    .await?;
                    idempotency::record(conn, &meta, &after).await?;
                    Ok(after)
                })
            }),
        )
        .await
}

pub(crate) async fn remembered_product(
    pool: &AnyPool,
    supplier_id: i64,
    key: &str,
) -> Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT product_id FROM supplier_product_codes WHERE supplier_id = $1 AND code = $2",
    )
    .bind(supplier_id)
    .bind(key)
    .fetch_optional(pool)
    .await
    .map_err(db_error)
}

pub(crate) async fn posted_invoices(
    pool: &AnyPool,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<PostedPurchase>> {
    let cols: String = INVOICE_COLUMNS
        .split(", ")
        .map(|c| format!("i.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {cols}, s.name AS supplier_name FROM supplier_invoices i JOIN suppliers s ON s.id = i.supplier_id \
         WHERE i.status = 'posted' AND i.issue_date >= $1 AND i.issue_date < $2 ORDER BY i.issue_date, i.id"
    )))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(PostedPurchase {
                invoice: invoice_from(r)?,
                supplier_name: get(r, "supplier_name")?,
            })
        })
        .collect()
}

pub(crate) async fn sales_vat(pool: &AnyPool, from: i64, to: i64) -> Result<Vec<SaleVatRow>> {
    let rows = sqlx::query(
        "SELECT s.id, s.created_at, s.total, l.vat_bp, CAST(SUM(l.net) AS BIGINT) AS net, CAST(SUM(l.vat) AS BIGINT) AS vat \
         FROM sales s JOIN sale_lines l ON l.sale_id = s.id \
         WHERE s.status = 'completed' AND s.created_at >= $1 AND s.created_at < $2 \
         GROUP BY s.id, s.created_at, s.total, l.vat_bp ORDER BY s.id, l.vat_bp",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|r| {
            Ok(SaleVatRow {
                sale_id: get(r, "id")?,
                created_at: get(r, "created_at")?,
                total: Money::from_minor(get(r, "total")?),
                vat_bp: get(r, "vat_bp")?,
                net: Money::from_minor(get(r, "net")?),
                vat: Money::from_minor(get(r, "vat")?),
            })
        })
        .collect()
}

/// Keeps the uploaded file of a scan job, for the review screen to show beside the fields.
pub(crate) async fn save_scan_file(
    store: &SqlStore,
    job_id: i64,
    file_kind: &str,
    content: Vec<u8>,
) -> Result<()> {
    let parts = Arc::new((file_kind.to_owned(), content));
    store
        .write(Arc::new(move |conn| {
            let parts = parts.clone();
            Box::pin(async move {
                let (kind, content) = &*parts;
                sqlx::query(
                    "INSERT INTO invoice_scan_files (job_id, file_kind, content) VALUES ($1, $2, $3)",
                )
                .bind(job_id)
                .bind(kind.as_str())
                .bind(content.as_slice())
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
                Ok(())
            })
        }))
        .await
}

/// The file an invoice was read from (its kind and bytes), when it came from a scan; or the
/// page image the reader made of it.
pub(crate) async fn invoice_file(
    pool: &AnyPool,
    invoice_id: i64,
    page_image: bool,
) -> Result<Option<(String, Vec<u8>)>> {
    let kind = if page_image { "=" } else { "<>" };
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT f.file_kind, f.content FROM invoice_scan_jobs j \
         JOIN invoice_scan_files f ON f.job_id = j.id \
         WHERE j.invoice_id = $1 AND f.file_kind {kind} $2 ORDER BY j.id LIMIT 1"
    )))
    .bind(invoice_id)
    .bind(app::invoices::PAGE_IMAGE)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    row.map(|r| Ok((get(&r, "file_kind")?, get(&r, "content")?)))
        .transpose()
}

/// Invoices newest first, optionally of one status (draft or posted).
pub(crate) async fn list_supplier_invoices(
    pool: &AnyPool,
    status: Option<&str>,
    page: app::page::PageRequest,
) -> Result<app::page::Page<SupplierInvoice>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {INVOICE_COLUMNS} FROM supplier_invoices \
         WHERE ($1 = 0 OR id < $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT $3"
    )))
    .bind(page.after)
    .bind(status.unwrap_or(""))
    .bind(page.fetch_limit())
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    let items = rows.iter().map(invoice_from).collect::<Result<Vec<_>>>()?;
    Ok(app::page::Page::from_rows(items, page, |i| i.id))
}
