//! Supplier invoices: scan jobs (OCR through the [`InvoiceReader`] port, in a bounded worker
//! pool with a timeout), drafts the user corrects, confirmation that posts the receipt and
//! records the purchase for the IVA book, product matching, and the Libro IVA Digital export.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use domain::auth::Permission;
use domain::catalog::{VatCondition, VatRate};
use domain::invoice::libro_iva::{self, BookFiles, PurchaseEntry, SaleEntry};
use domain::invoice::{
    Cae, Check, InvoiceData, InvoiceLine, VatAmount, VoucherNumber, VoucherType, parse_ar_money,
};
use domain::{Cuit, Gtin, Money, Qty};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::{ProductQuery, location_code, lot_and_expiry, optional_text, search_key};
use crate::error::{Error, FieldContext, Result};
use crate::page::PageRequest;
use crate::purchasing::{NewItem, NewReceipt, ProductRefKey};
use crate::write::{Principal, WriteMeta, Written};

/// Reads an invoice file (the OCR adapter implements it; tests use a fake).
pub trait InvoiceReader: Send + Sync + 'static {
    /// False when the OCR engine is not installed: scanning is refused, manual entry works.
    fn available(&self) -> bool;
    fn read(&self, bytes: &[u8]) -> std::result::Result<ReadInvoice, ReadFailure>;
}

/// What a reader found.
#[derive(Clone, Debug)]
pub struct ReadInvoice {
    pub data: InvoiceData,
    /// The reader's full report (fields, confidences, sources, checks), kept verbatim.
    pub extraction: serde_json::Value,
    pub raw_text: String,
    /// Page 1 as a PNG, when the file is one a browser cannot show (PDF, TIFF): kept for the
    /// review screen.
    pub page_image: Option<Vec<u8>>,
}

#[derive(Clone, Debug)]
pub struct ReadFailure {
    pub rule: String,
    pub detail: String,
}

/// Scanning knobs (config `[settings.invoices]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceSettings {
    /// The shop's CUIT: invoices must be addressed to it.
    pub shop_cuit: Option<String>,
    /// Point of sale the POS tickets are reported under in the sales book.
    pub pos_point_of_sale: u32,
    /// Scans running at once (each runs one Tesseract).
    pub scan_workers: usize,
    pub scan_timeout_secs: u64,
    pub max_upload_bytes: u64,
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        InvoiceSettings {
            shop_cuit: None,
            pos_point_of_sale: 1,
            scan_workers: 2,
            scan_timeout_secs: 120,
            max_upload_bytes: 20 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JobError {
    pub rule: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScanJob {
    pub id: i64,
    /// queued, running, done, failed.
    pub status: String,
    pub file_kind: String,
    pub file_bytes: i64,
    /// The draft created from the scan (when done).
    pub invoice_id: Option<i64>,
    pub error: Option<JobError>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// How a line was tied to a product; `None` product means unmatched (flagged for review).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineMatch {
    pub product_id: Option<i64>,
    /// barcode, supplier_code, remembered, fuzzy or manual.
    pub how: Option<String>,
    /// Similarity 0..100 for fuzzy matches.
    pub score: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupplierInvoice {
    pub id: i64,
    /// draft or posted.
    pub status: String,
    /// scan or manual.
    pub origin: String,
    pub supplier_id: Option<i64>,
    /// The invoice's values (amounts as decimal strings).
    #[schema(value_type = Object)]
    pub data: InvoiceData,
    pub matches: Vec<LineMatch>,
    #[schema(value_type = Vec<Object>)]
    pub checks: Vec<Check>,
    /// The scanner's report: every field with confidence and source (QR, text layer, OCR).
    #[schema(value_type = Option<Object>)]
    pub extraction: Option<serde_json::Value>,
    pub raw_text: String,
    #[schema(value_type = Vec<Object>)]
    pub corrections: Vec<serde_json::Value>,
    pub purchase_order_id: Option<i64>,
    pub receipt_id: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
}

/// A new draft as the store keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewInvoiceDraft {
    pub origin: String,
    pub data: InvoiceData,
    pub matches: Vec<LineMatch>,
    pub extraction: Option<serde_json::Value>,
    pub raw_text: String,
}

/// What confirming writes in one transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoicePosting {
    pub invoice_id: i64,
    pub supplier_id: i64,
    pub receipt: NewReceipt,
    /// (supplier, line key, product) to remember for the next invoice.
    pub mappings: Vec<(String, i64)>,
}

/// One purchase line of the IVA book period.
#[derive(Clone, Debug, PartialEq)]
pub struct PostedPurchase {
    pub invoice: SupplierInvoice,
    pub supplier_name: String,
}

/// IVA of one rate of one ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleVatRow {
    pub sale_id: i64,
    pub created_at: i64,
    pub total: Money,
    pub vat_bp: i64,
    pub net: Money,
    pub vat: Money,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLineInput {
    #[serde(default)]
    pub code: Option<String>,
    pub description: String,
    #[schema(example = "12")]
    pub quantity: String,
    #[schema(example = "1850.00")]
    pub unit_price: String,
    /// Percentage, e.g. "10" or "10.5".
    #[serde(default)]
    pub discount: Option<String>,
    pub subtotal: String,
    #[serde(default)]
    #[schema(example = "21")]
    pub vat_rate: Option<String>,
    /// Ties the line to a product by hand.
    #[serde(default)]
    pub product_id: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VatInput {
    #[schema(example = "21")]
    pub rate: String,
    pub net: String,
    pub vat: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineProduct {
    /// 0-based line index.
    pub line: usize,
    pub product_id: i64,
}

/// A manual draft, or the corrections to a draft: fields present replace the current ones.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    /// AFIP voucher code: 1 factura A, 6 B, 11 C, 51 M (+1 debit note, +2 credit note).
    #[serde(default)]
    pub voucher_code: Option<u32>,
    #[serde(default)]
    pub point_of_sale: Option<u32>,
    #[serde(default)]
    pub number: Option<u32>,
    #[serde(default)]
    #[schema(example = "2026-03-05")]
    pub issue_date: Option<String>,
    #[serde(default)]
    pub issuer_cuit: Option<String>,
    #[serde(default)]
    pub issuer_name: Option<String>,
    #[serde(default)]
    pub issuer_vat_condition: Option<String>,
    #[serde(default)]
    pub receiver_cuit: Option<String>,
    #[serde(default)]
    pub cae: Option<String>,
    #[serde(default)]
    pub cae_due: Option<String>,
    #[serde(default)]
    pub lines: Option<Vec<InvoiceLineInput>>,
    #[serde(default)]
    pub vat: Option<Vec<VatInput>>,
    #[serde(default)]
    pub no_gravado: Option<String>,
    #[serde(default)]
    pub exento: Option<String>,
    #[serde(default)]
    pub perception_vat: Option<String>,
    #[serde(default)]
    pub perception_iibb: Option<String>,
    #[serde(default)]
    pub total: Option<String>,
    /// Ties lines to products without retyping them.
    #[serde(default)]
    pub line_products: Option<Vec<LineProduct>>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotInput {
    pub line: usize,
    pub lot: String,
    #[serde(default)]
    pub expiry: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmInput {
    /// Location code the goods enter.
    pub location: String,
    /// Receive against this order; omitted, an open order of the supplier that lists every
    /// invoiced product at this location is linked when there is one.
    #[serde(default)]
    pub purchase_order_id: Option<i64>,
    #[serde(default)]
    pub lots: Vec<LotInput>,
}

fn money(field: &str, s: &str) -> Result<Money> {
    // Accept both the API form (1234.56) and the printed one (1.234,56).
    Money::parse(s).or_else(|_| parse_ar_money(s)).field(field)
}

fn date(field: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s.trim(), "%d/%m/%Y"))
        .map_err(|_| Error::invalid(field, "date_format", "la fecha debe ser AAAA-MM-DD"))
}

fn parse_line(i: usize, l: &InvoiceLineInput) -> Result<InvoiceLine> {
    let f = |n: &str| format!("lines[{i}].{n}");
    let quantity = Qty::parse(&l.quantity)
        .or_else(|_| domain::invoice::parse_ar_qty(&l.quantity))
        .field(&f("quantity"))?;
    if !quantity.is_positive() {
        return Err(Error::invalid(
            f("quantity"),
            "positive",
            "la cantidad debe ser mayor que cero",
        ));
    }
    let discount_bp = match l.discount.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(d) => {
            let bp = money(&f("discount"), &d.replace('%', ""))?.minor();
            if !(0..=10_000).contains(&bp) {
                return Err(Error::invalid(
                    f("discount"),
                    "range",
                    "la bonificación va de 0 a 100 %",
                ));
            }
            bp
        }
    };
    Ok(InvoiceLine {
        code: optional_text(&f("code"), l.code.as_deref(), 40)?,
        description: crate::catalog::text(&f("description"), &l.description, 1, 200)?,
        quantity,
        unit_price: money(&f("unit_price"), &l.unit_price)?,
        discount_bp,
        subtotal: money(&f("subtotal"), &l.subtotal)?,
        vat_rate: l
            .vat_rate
            .as_deref()
            .map(VatRate::parse)
            .transpose()
            .field(&f("vat_rate"))?,
    })
}

/// Applies the fields present in `input` to `d`; returns the names of the fields changed.
fn apply(d: &mut InvoiceData, input: &InvoiceInput) -> Result<Vec<&'static str>> {
    let mut changed = Vec::new();
    if let Some(code) = input.voucher_code {
        d.voucher_type = Some(VoucherType::from_code(code).field("voucher_code")?);
        changed.push("voucher_code");
    }
    if input.point_of_sale.is_some() || input.number.is_some() {
        let pos = input
            .point_of_sale
            .or(d.number.map(|n| n.point_of_sale()))
            .unwrap_or(0);
        let num = input.number.or(d.number.map(|n| n.number())).unwrap_or(0);
        let field = if input.number.is_some() {
            "number"
        } else {
            "point_of_sale"
        };
        d.number = Some(VoucherNumber::new(pos, num).field(field)?);
        changed.push(field);
    }
    if let Some(s) = &input.issue_date {
        d.issue_date = Some(date("issue_date", s)?);
        changed.push("issue_date");
    }
    if let Some(s) = &input.issuer_cuit {
        d.issuer_cuit = Some(Cuit::parse(s).field("issuer_cuit")?);
        changed.push("issuer_cuit");
    }
    if let Some(s) = &input.issuer_name {
        d.issuer_name = optional_text("issuer_name", Some(s), 200)?;
        changed.push("issuer_name");
    }
    if let Some(s) = &input.issuer_vat_condition {
        d.issuer_vat_condition = Some(VatCondition::parse(s).field("issuer_vat_condition")?);
        changed.push("issuer_vat_condition");
    }
    if let Some(s) = &input.receiver_cuit {
        d.receiver_cuit = Some(Cuit::parse(s).field("receiver_cuit")?);
        changed.push("receiver_cuit");
    }
    if let Some(s) = &input.cae {
        d.cae = Some(Cae::parse(s).field("cae")?);
        changed.push("cae");
    }
    if let Some(s) = &input.cae_due {
        d.cae_due = Some(date("cae_due", s)?);
        changed.push("cae_due");
    }
    if let Some(lines) = &input.lines {
        if lines.len() > 500 {
            return Err(Error::invalid(
                "lines",
                "length",
                "hasta 500 líneas por factura",
            ));
        }
        d.lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| parse_line(i, l))
            .collect::<Result<_>>()?;
        changed.push("lines");
    }
    if let Some(vat) = &input.vat {
        let mut out = Vec::new();
        for (i, v) in vat.iter().enumerate() {
            let f = |n: &str| format!("vat[{i}].{n}");
            out.push(VatAmount {
                rate: VatRate::parse(&v.rate).field(&f("rate"))?,
                net: money(&f("net"), &v.net)?,
                vat: money(&f("vat"), &v.vat)?,
            });
        }
        d.vat = out;
        changed.push("vat");
    }
    for (name, value, slot) in [
        ("no_gravado", &input.no_gravado, &mut d.no_gravado),
        ("exento", &input.exento, &mut d.exento),
        (
            "perception_vat",
            &input.perception_vat,
            &mut d.perception_vat,
        ),
        (
            "perception_iibb",
            &input.perception_iibb,
            &mut d.perception_iibb,
        ),
    ] {
        if let Some(s) = value {
            *slot = money(name, s)?;
            changed.push(name);
        }
    }
    if let Some(s) = &input.total {
        d.total = Some(money("total", s)?);
        changed.push("total");
    }
    Ok(changed)
}

/// The kind under which the page image of a PDF or TIFF scan is kept.
pub const PAGE_IMAGE: &str = "page_png";

/// What the file is, from its first bytes; anything else is refused before any work.
pub fn sniff_kind(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpeg")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("tiff")
    } else {
        None
    }
}

/// Words of a description for fuzzy matching.
fn tokens(s: &str) -> Vec<String> {
    let mut t: Vec<String> = search_key(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    t.sort();
    t.dedup();
    t
}

/// Jaccard similarity of the word sets, 0..100.
fn similarity(a: &[String], b: &[String]) -> i64 {
    let common = a.iter().filter(|w| b.contains(w)).count();
    let union = a.len() + b.len() - common;
    (common * 100).checked_div(union).unwrap_or(0) as i64
}

/// The key a line is remembered by for a supplier: its code, else its description.
fn line_key(l: &InvoiceLine) -> String {
    match &l.code {
        Some(c) => format!("code:{c}"),
        None => format!("desc:{}", tokens(&l.description).join(" ")),
    }
}

/// Fuzzy matches below this similarity are left unmatched.
const FUZZY_MIN: i64 = 50;

/// Net cost per unit: the line subtotal (after discount) over its quantity.
fn unit_cost(l: &InvoiceLine) -> Money {
    let q = i128::from(l.quantity.milli());
    if q == 0 {
        return Money::ZERO;
    }
    let n = i128::from(l.subtotal.minor()) * 1000;
    let r = n / q + i128::from(2 * (n % q).abs() >= q) * n.signum();
    Money::from_minor(i64::try_from(r).unwrap_or(0))
}

impl App {
    fn our_cuit(&self) -> Option<Cuit> {
        self.settings
            .invoices
            .shop_cuit
            .as_deref()
            .and_then(|c| Cuit::parse(c).ok())
    }

    /// Fills the checks the API shows with every invoice.
    fn with_checks(&self, mut inv: SupplierInvoice) -> SupplierInvoice {
        inv.checks = inv.data.checks(self.our_cuit().as_ref());
        inv
    }

    /// Ties each line to a product: barcode, supplier code (our SKU), remembered mapping, then
    /// fuzzy description. Lines that match nothing stay unmatched.
    pub async fn match_lines(&self, data: &InvoiceData) -> Result<Vec<LineMatch>> {
        let supplier = match &data.issuer_cuit {
            Some(c) => self.store.supplier_by_cuit(c).await?,
            None => None,
        };
        let mut out = Vec::with_capacity(data.lines.len());
        for l in &data.lines {
            out.push(self.match_line(l, supplier.as_ref().map(|s| s.id)).await?);
        }
        Ok(out)
    }

    async fn match_line(&self, l: &InvoiceLine, supplier: Option<i64>) -> Result<LineMatch> {
        let found = |id: i64, how: &str| LineMatch {
            product_id: Some(id),
            how: Some(how.to_owned()),
            score: None,
        };
        let one = PageRequest::first(1);
        if let Some(code) = &l.code {
            if let Ok(g) = Gtin::parse(code) {
                let q = ProductQuery {
                    barcode: Some(g.as_str().to_owned()),
                    ..ProductQuery::default()
                };
                if let Some(p) = self.store.search_products(&q, one).await?.items.first() {
                    return Ok(found(p.id, "barcode"));
                }
            }
            if let Ok(sku) = domain::Sku::parse(code) {
                let q = ProductQuery {
                    sku: Some(sku.as_str().to_owned()),
                    ..ProductQuery::default()
                };
                if let Some(p) = self.store.search_products(&q, one).await?.items.first()
                    && (p.supplier_id.is_none() || p.supplier_id == supplier)
                {
                    return Ok(found(p.id, "supplier_code"));
                }
            }
        }
        if let Some(s) = supplier
            && let Some(id) = self.store.remembered_product(s, &line_key(l)).await?
        {
            return Ok(found(id, "remembered"));
        }
        let words = tokens(&l.description);
        let Some(longest) = words.iter().max_by_key(|w| w.len()) else {
            return Ok(LineMatch::default());
        };
        let q = ProductQuery {
            q: Some(longest.clone()),
            active: Some(true),
            ..ProductQuery::default()
        };
        let candidates = self
            .store
            .search_products(&q, PageRequest::first(50))
            .await?;
        let mut scored: Vec<(i64, i64)> = candidates
            .items
            .iter()
            .map(|p| (similarity(&words, &tokens(&p.name)), p.id))
            .collect();
        scored.sort_by(|a, b| b.cmp(a));
        match scored.as_slice() {
            [(best, id), rest @ ..]
                if *best >= FUZZY_MIN && rest.first().is_none_or(|(s, _)| s < best) =>
            {
                Ok(LineMatch {
                    product_id: Some(*id),
                    how: Some("fuzzy".into()),
                    score: Some(*best),
                })
            }
            _ => Ok(LineMatch::default()),
        }
    }

    /// Queues a file for reading; the job's status tells when the draft is ready.
    pub async fn submit_scan(
        self: &Arc<Self>,
        actor: &Principal,
        bytes: Vec<u8>,
        meta: WriteMeta,
    ) -> Result<Written<ScanJob>> {
        actor.require(Permission::PurchasingWrite)?;
        let max = self.settings.invoices.max_upload_bytes;
        if bytes.len() as u64 > max {
            return Err(Error::invalid(
                "file",
                "too_large",
                format!("el archivo supera el máximo de {} MB", max / 1024 / 1024),
            ));
        }
        let Some(kind) = sniff_kind(&bytes) else {
            return Err(Error::invalid(
                "file",
                "unsupported_type",
                "el archivo debe ser JPEG, PNG, TIFF o PDF",
            ));
        };
        let reader = match &self.invoice_reader {
            Some(r) if r.available() => r.clone(),
            _ => {
                return Err(Error::NotInstalled(
                    "el reconocimiento de facturas (Tesseract) no está instalado en el servidor; cargue la factura a mano".into(),
                ));
            }
        };
        let written = self
            .store
            .create_scan_job(&meta, kind, bytes.len() as i64)
            .await?;
        if !written.replayed {
            // Kept for the review screen, which shows the invoice beside what was read.
            self.store
                .save_scan_file(written.value.id, kind, bytes.clone())
                .await?;
            let app = Arc::clone(self);
            let job_id = written.value.id;
            let actor = actor.clone();
            tokio::spawn(async move {
                app.run_scan(job_id, reader, bytes, actor).await;
            });
        }
        Ok(written)
    }

    /// One job: waits for a worker slot, reads the file off the async runtime with a timeout,
    /// and turns the result into a draft. Any failure fails this job only.
    async fn run_scan(
        self: Arc<Self>,
        job_id: i64,
        reader: Arc<dyn InvoiceReader>,
        bytes: Vec<u8>,
        actor: Principal,
    ) {
        let _permit = self.scan_permits.acquire().await;
        let now = self.clock.now_micros();
        if let Err(e) = self.store.start_scan_job(job_id, now).await {
            tracing::warn!(job_id, error = %e, "scan job could not start");
        }
        let timeout = Duration::from_secs(self.settings.invoices.scan_timeout_secs.max(1));
        let read = tokio::time::timeout(
            timeout,
            tokio::task::spawn_blocking(move || reader.read(&bytes)),
        )
        .await;
        let outcome = match read {
            Err(_) => Err(JobError {
                rule: "timeout".into(),
                detail: format!("la lectura superó {} s", timeout.as_secs()),
            }),
            Ok(Err(join)) => Err(JobError {
                rule: "crashed".into(),
                detail: format!("la lectura falló: {join}"),
            }),
            Ok(Ok(Err(f))) => Err(JobError {
                rule: f.rule,
                detail: f.detail,
            }),
            Ok(Ok(Ok(mut found))) => {
                if let Some(png) = found.page_image.take()
                    && let Err(e) = self.store.save_scan_file(job_id, PAGE_IMAGE, png).await
                {
                    tracing::warn!(job_id, error = %e, "page image not stored");
                }
                self.draft_from_scan(&actor, found)
                    .await
                    .map_err(|e| JobError {
                        rule: "draft".into(),
                        detail: e.to_string(),
                    })
            }
        };
        let now = self.clock.now_micros();
        crate::telemetry::ocr_job(outcome.is_ok());
        let (invoice_id, error) = match outcome {
            Ok(id) => (Some(id), None),
            Err(e) => (None, Some(e)),
        };
        if let Err(e) = self
            .store
            .finish_scan_job(job_id, invoice_id, error, now)
            .await
        {
            tracing::warn!(job_id, error = %e, "scan job result not stored");
        }
    }

    async fn draft_from_scan(&self, actor: &Principal, found: ReadInvoice) -> Result<i64> {
        let matches = self.match_lines(&found.data).await?;
        let meta = self.meta(actor, None);
        let new = NewInvoiceDraft {
            origin: "scan".into(),
            data: found.data,
            matches,
            extraction: Some(found.extraction),
            raw_text: found.raw_text,
        };
        Ok(self.store.create_invoice_draft(&meta, new).await?.value.id)
    }

    pub async fn scan_job(&self, actor: &Principal, id: i64) -> Result<ScanJob> {
        actor.require(Permission::PurchasingWrite)?;
        self.store
            .get_scan_job(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "lectura de factura",
                key: id.to_string(),
            })
    }

    /// A draft typed in by hand (works without OCR).
    pub async fn create_invoice_draft(
        &self,
        actor: &Principal,
        input: InvoiceInput,
        meta: WriteMeta,
    ) -> Result<Written<SupplierInvoice>> {
        actor.require(Permission::PurchasingWrite)?;
        let mut data = InvoiceData::default();
        apply(&mut data, &input)?;
        let mut matches = self.match_lines(&data).await?;
        manual_matches(&mut matches, &data, &input)?;
        let new = NewInvoiceDraft {
            origin: "manual".into(),
            data,
            matches,
            extraction: None,
            raw_text: String::new(),
        };
        let mut w = self.store.create_invoice_draft(&meta, new).await?;
        w.value = self.with_checks(w.value);
        Ok(w)
    }

    pub async fn supplier_invoice(&self, actor: &Principal, id: i64) -> Result<SupplierInvoice> {
        actor.require(Permission::PurchasingWrite)?;
        let inv = self
            .store
            .get_supplier_invoice(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "factura de proveedor",
                key: id.to_string(),
            })?;
        Ok(self.with_checks(inv))
    }

    /// Invoices newest first, optionally only drafts or only posted ones.
    pub async fn supplier_invoices(
        &self,
        actor: &Principal,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<crate::page::Page<SupplierInvoice>> {
        actor.require(Permission::PurchasingWrite)?;
        let status = match status {
            None | Some("") => None,
            Some(s @ ("draft" | "posted")) => Some(s),
            Some(_) => {
                return Err(Error::invalid(
                    "status",
                    "one_of",
                    "el estado debe ser draft o posted",
                ));
            }
        };
        let mut page = self.store.list_supplier_invoices(status, page).await?;
        page.items = page
            .items
            .into_iter()
            .map(|i| self.with_checks(i))
            .collect();
        Ok(page)
    }

    /// A file of a scanned invoice: the original upload (kind jpeg, png, tiff or pdf), or with
    /// `page_image` what a browser can show: the page the reader rasterised for a PDF or TIFF
    /// (kind png), else the original.
    pub async fn invoice_file(
        &self,
        actor: &Principal,
        id: i64,
        page_image: bool,
    ) -> Result<(String, Vec<u8>)> {
        actor.require(Permission::PurchasingWrite)?;
        let page = if page_image {
            self.store
                .invoice_file(id, true)
                .await?
                .map(|(_, bytes)| ("png".to_owned(), bytes))
        } else {
            None
        };
        let file = match page {
            Some(f) => Some(f),
            None => self.store.invoice_file(id, false).await?,
        };
        file.ok_or_else(|| Error::NotFound {
            entity: "archivo de la factura",
            key: id.to_string(),
        })
    }

    /// Corrects a draft; each correction is kept with who made it and what changed.
    pub async fn correct_invoice(
        &self,
        actor: &Principal,
        id: i64,
        input: InvoiceInput,
        meta: WriteMeta,
    ) -> Result<SupplierInvoice> {
        let inv = self.supplier_invoice(actor, id).await?;
        if inv.status != "draft" {
            return Err(Error::conflict(
                "already_posted",
                None,
                format!("la factura {id} ya está registrada y no se puede corregir"),
            ));
        }
        let mut data = inv.data.clone();
        let changed = apply(&mut data, &input)?;
        let mut matches = if changed.contains(&"lines") || changed.contains(&"issuer_cuit") {
            self.match_lines(&data).await?
        } else {
            inv.matches.clone()
        };
        matches.resize(data.lines.len(), LineMatch::default());
        manual_matches(&mut matches, &data, &input)?;
        let correction = serde_json::json!({
            "at": crate::clock_instant(meta.now),
            "by": meta.actor.label,
            "fields": changed,
            "before": inv.data,
        });
        let updated = self
            .store
            .update_invoice_draft(&meta, id, data, matches, correction)
            .await?;
        Ok(self.with_checks(updated))
    }

    /// Posts the invoice: the receipt (stock and average cost), the PO link, the mappings to
    /// remember and the purchase for the IVA book, in one transaction.
    pub async fn confirm_invoice(
        &self,
        actor: &Principal,
        id: i64,
        input: ConfirmInput,
        meta: WriteMeta,
    ) -> Result<Written<SupplierInvoice>> {
        actor.require(Permission::PurchasingWrite)?;
        let inv = self.supplier_invoice(actor, id).await?;
        if inv.status != "draft" {
            if meta.idempotency.is_some() {
                // A retry: the store replays the first confirmation, or refuses a new one.
                let posting = InvoicePosting {
                    invoice_id: id,
                    supplier_id: inv.supplier_id.unwrap_or_default(),
                    receipt: NewReceipt {
                        purchase_order_id: None,
                        supplier_id: None,
                        location: location_code("location", &input.location)?,
                        remito: None,
                        allow_over_receipt: false,
                        lines: Vec::new(),
                    },
                    mappings: Vec::new(),
                };
                let mut w = self.store.post_supplier_invoice(&meta, posting).await?;
                w.value = self.with_checks(w.value);
                return Ok(w);
            }
            return Err(Error::conflict(
                "already_posted",
                None,
                format!("la factura {id} ya está registrada"),
            ));
        }
        if let Some(c) = inv.checks.iter().find(|c| !c.ok) {
            let rule = match c.rule.as_str() {
                "required" => "required",
                "totals" => "totals",
                "lines" => "lines",
                "letter_vat" => "letter_vat",
                _ => "receiver",
            };
            return Err(Error::invalid("checks", rule, c.detail.clone()));
        }
        let d = &inv.data;
        let (Some(cuit), Some(vt), Some(number)) = (&d.issuer_cuit, d.voucher_type, d.number)
        else {
            return Err(Error::invalid(
                "checks",
                "required",
                "faltan datos obligatorios",
            ));
        };
        let supplier = self.store.supplier_by_cuit(cuit).await?.ok_or_else(|| {
            Error::unknown(
                "issuer_cuit",
                format!("no hay un proveedor con CUIT {cuit}; dé de alta el proveedor primero"),
            )
        })?;
        if let Some(other) = self
            .store
            .posted_invoice_id(cuit, vt.code(), number.point_of_sale(), number.number())
            .await?
        {
            return Err(duplicate(other, vt, number));
        }
        let location = location_code("location", &input.location)?;
        let mut lines = Vec::with_capacity(d.lines.len());
        let mut mappings = Vec::new();
        for (i, l) in d.lines.iter().enumerate() {
            let m = inv.matches.get(i).cloned().unwrap_or_default();
            let Some(product_id) = m.product_id else {
                return Err(Error::invalid(
                    format!("lines[{i}].product_id"),
                    "unmatched",
                    format!(
                        "la línea {} ({}) no está asociada a un producto",
                        i + 1,
                        l.description
                    ),
                ));
            };
            let lot = input.lots.iter().find(|x| x.line == i);
            let (lot, expiry) = lot_and_expiry(
                |n| format!("lots[{i}].{n}"),
                lot.map(|x| x.lot.as_str()),
                lot.and_then(|x| x.expiry.as_deref()),
            )?;
            lines.push(NewItem {
                product: ProductRefKey::Id(product_id),
                quantity: l.quantity,
                unit_cost: Some(unit_cost(l)),
                lot,
                expiry,
            });
            mappings.push((line_key(l), product_id));
        }
        if lines.is_empty() {
            return Err(Error::invalid(
                "lines",
                "required",
                "la factura no tiene líneas para recibir",
            ));
        }
        let purchase_order_id = match input.purchase_order_id {
            Some(po) => Some(po),
            None => self.matching_order(supplier.id, &location, &lines).await?,
        };
        let posting = InvoicePosting {
            invoice_id: id,
            supplier_id: supplier.id,
            receipt: NewReceipt {
                purchase_order_id,
                supplier_id: Some(supplier.id),
                location,
                remito: Some(format!("{} {}", vt, number)),
                allow_over_receipt: true,
                lines,
            },
            mappings,
        };
        let mut w = self.store.post_supplier_invoice(&meta, posting).await?;
        w.value = self.with_checks(w.value);
        Ok(w)
    }

    /// The oldest open order of the supplier at the location that lists every product.
    async fn matching_order(
        &self,
        supplier_id: i64,
        location: &str,
        lines: &[NewItem],
    ) -> Result<Option<i64>> {
        let orders = self
            .store
            .list_purchase_orders(PageRequest::first(200))
            .await?;
        let mut fits: Vec<i64> = orders
            .items
            .iter()
            .filter(|po| {
                po.supplier_id == supplier_id
                    && po.location == location
                    && po.status.accepts_receipts()
                    && lines.iter().all(|l| {
                        matches!(l.product, ProductRefKey::Id(p) if po.lines.iter().any(|x| x.product_id == p))
                    })
            })
            .map(|po| po.id)
            .collect();
        fits.sort_unstable();
        Ok(fits.first().copied())
    }

    /// Libro IVA Digital for a month ("2026-03"): purchases from posted invoices, sales from
    /// POS tickets.
    pub async fn libro_iva(
        &self,
        actor: &Principal,
        period: &str,
        book: &str,
    ) -> Result<BookFiles> {
        actor.require(Permission::ReportsRead)?;
        let start = NaiveDate::parse_from_str(&format!("{}-01", period.trim()), "%Y-%m-%d")
            .map_err(|_| Error::invalid("period", "format", "el período debe ser AAAA-MM"))?;
        let end = start
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| Error::invalid("period", "range", "período fuera de rango"))?;
        match book {
            "purchases" => {
                let rows = self.store.posted_invoices(start, end).await?;
                let mut entries = Vec::with_capacity(rows.len());
                for r in rows {
                    let d = &r.invoice.data;
                    let (Some(date), Some(vt), Some(n), Some(cuit), Some(total)) = (
                        d.issue_date,
                        d.voucher_type,
                        d.number,
                        d.issuer_cuit.clone(),
                        d.total,
                    ) else {
                        continue;
                    };
                    entries.push(PurchaseEntry {
                        date,
                        voucher_type: vt,
                        point_of_sale: n.point_of_sale(),
                        number: n.number(),
                        seller_cuit: cuit,
                        seller_name: r.supplier_name,
                        total,
                        no_gravado: d.no_gravado,
                        exento: d.exento,
                        perception_vat: d.perception_vat,
                        perception_iibb: d.perception_iibb,
                        vat: d.vat.clone(),
                    });
                }
                Ok(libro_iva::purchases_book(&entries))
            }
            "sales" => {
                let from = art_midnight_micros(start);
                let to = art_midnight_micros(end);
                let rows = self.store.sales_vat(from, to).await?;
                Ok(libro_iva::sales_book(&sales_entries(
                    &rows,
                    self.settings.invoices.pos_point_of_sale,
                )))
            }
            _ => Err(Error::invalid(
                "book",
                "one_of",
                "el libro debe ser purchases o sales",
            )),
        }
    }
}

/// Argentina keeps UTC−3 all year (no DST since 2009).
const ART_OFFSET_SECS: i64 = 3 * 3600;

fn art_midnight_micros(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map(|t| (t.and_utc().timestamp() + ART_OFFSET_SECS) * 1_000_000)
        .unwrap_or(0)
}

fn art_date(micros: i64) -> NaiveDate {
    crate::clock_instant(micros - ART_OFFSET_SECS * 1_000_000).date_naive()
}

/// One sales-book entry per ticket (AFIP "tique", final consumer), its IVA per rate.
pub fn sales_entries(rows: &[SaleVatRow], point_of_sale: u32) -> Vec<SaleEntry> {
    let mut out: Vec<SaleEntry> = Vec::new();
    for r in rows {
        let rate = VatRate::ALL
            .iter()
            .copied()
            .find(|x| x.basis_points() == r.vat_bp)
            .unwrap_or(VatRate::General);
        let same = out.last().is_some_and(|e| i64::from(e.number) == r.sale_id);
        if !same {
            out.push(SaleEntry {
                date: art_date(r.created_at),
                voucher_code: libro_iva::TIQUE,
                point_of_sale,
                number: u32::try_from(r.sale_id).unwrap_or(0),
                buyer_doc_type: libro_iva::DOC_CONSUMER,
                buyer_doc: 0,
                buyer_name: "Consumidor Final".into(),
                total: r.total,
                no_gravado: Money::ZERO,
                exento: Money::ZERO,
                vat: Vec::new(),
            });
        }
        if let Some(e) = out.last_mut() {
            match e.vat.iter_mut().find(|v| v.rate == rate) {
                Some(v) => {
                    v.net += r.net;
                    v.vat += r.vat;
                }
                None => e.vat.push(VatAmount {
                    rate,
                    net: r.net,
                    vat: r.vat,
                }),
            }
        }
    }
    out
}

/// The 409 for a voucher already posted.
pub fn duplicate(existing: i64, vt: VoucherType, number: VoucherNumber) -> Error {
    Error::conflict(
        "duplicate_invoice",
        Some("number"),
        format!("la {vt} {number} de este proveedor ya está registrada (factura {existing})"),
    )
}

fn manual_matches(
    matches: &mut Vec<LineMatch>,
    data: &InvoiceData,
    input: &InvoiceInput,
) -> Result<()> {
    matches.resize(data.lines.len(), LineMatch::default());
    if let Some(lines) = &input.lines {
        for (i, l) in lines.iter().enumerate() {
            if let (Some(p), Some(m)) = (l.product_id, matches.get_mut(i)) {
                *m = LineMatch {
                    product_id: Some(p),
                    how: Some("manual".into()),
                    score: None,
                };
            }
        }
    }
    for lp in input.line_products.iter().flatten() {
        let m = matches.get_mut(lp.line).ok_or_else(|| {
            Error::invalid(
                format!("line_products[{}].line", lp.line),
                "range",
                "esa línea no existe en la factura",
            )
        })?;
        *m = LineMatch {
            product_id: Some(lp.product_id),
            how: Some("manual".into()),
            score: None,
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_similarity_and_keys() {
        let a = tokens("Yerba Mate Suave 1 kg");
        let b = tokens("YERBA MATE suave 1kg");
        assert!(similarity(&a, &a) == 100);
        assert!(similarity(&a, &b) >= 50, "{}", similarity(&a, &b));
        assert_eq!(similarity(&a, &tokens("Lavandina")), 0);
        let l = InvoiceLine {
            code: None,
            description: "Azúcar  Común".into(),
            quantity: Qty::units(3),
            unit_price: Money::from_minor(100),
            discount_bp: 0,
            subtotal: Money::from_minor(1000),
            vat_rate: None,
        };
        assert_eq!(line_key(&l), "desc:azucar comun");
        // 10.00 / 3 = 3.333… → 3.33
        assert_eq!(unit_cost(&l), Money::from_minor(333));
    }

    #[test]
    fn sales_rows_group_per_ticket_and_rate() {
        let row = |sale_id, bp, net, vat| SaleVatRow {
            sale_id,
            created_at: 1_772_900_000_000_000,
            total: Money::from_minor(1000),
            vat_bp: bp,
            net: Money::from_minor(net),
            vat: Money::from_minor(vat),
        };
        let e = sales_entries(
            &[
                row(1, 2100, 100, 21),
                row(1, 2100, 100, 21),
                row(1, 1050, 50, 5),
                row(2, 2100, 10, 2),
            ],
            3,
        );
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].vat.len(), 2);
        assert_eq!(e[0].vat[0].net, Money::from_minor(200));
        assert_eq!(e[1].point_of_sale, 3);
    }
}
