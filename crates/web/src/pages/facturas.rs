//! Supplier invoices: upload a file to be read (the job page refreshes until the draft is
//! ready), the review screen (the invoice beside the fields read, each with its confidence and
//! source; lines with their products; the checks), corrections, confirmation, and the Libro
//! IVA Digital downloads of a month.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use app::catalog::ProductQuery;
use app::invoices::{ConfirmInput, InvoiceInput, LineProduct, LotInput, SupplierInvoice};
use app::page::PageRequest;
use domain::Money;
use domain::auth::Permission;

use super::Paging;
use super::compras::{Directory, item_ref};
use super::forms::{Errors, Fields, Input, capitalise, field_error, line_field};
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Submitted, Viewer, WebState, format, render};

/// Largest invoice file the upload form takes (the app applies its configured limit too).
const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/compras/facturas", get(list))
        .route(
            "/compras/facturas/subir",
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/compras/facturas/lecturas/{id}", get(job))
        .route("/compras/facturas/{id}", get(review))
        .route("/compras/facturas/{id}/archivo", get(original))
        .route("/compras/facturas/{id}/imagen", get(image))
        .route("/compras/facturas/{id}/corregir", post(correct))
        .route("/compras/facturas/{id}/confirmar", post(confirm))
        .route("/compras/libro-iva", get(libro_iva))
}

pub const EN: &[(&str, &str)] = &[
    ("Subir factura", "Upload invoice"),
    (
        "Archivo (JPEG, PNG, TIFF o PDF)",
        "File (JPEG, PNG, TIFF or PDF)",
    ),
    ("Leer factura", "Read invoice"),
    ("Borradores", "Drafts"),
    ("Registradas", "Posted"),
    ("Comprobante", "Voucher"),
    ("Emisor", "Issuer"),
    ("Escaneada", "Scanned"),
    ("Manual", "Manual"),
    ("Registrada", "Posted"),
    ("No hay facturas.", "No invoices."),
    ("Libro IVA Digital", "VAT book (Libro IVA Digital)"),
    ("Período", "Period"),
    ("Libro", "Book"),
    ("Ventas", "Sales"),
    ("Comprobantes", "Vouchers"),
    ("Alícuotas", "Rates"),
    ("Descargar", "Download"),
    ("Leyendo la factura…", "Reading the invoice…"),
    (
        "Esta página se actualiza sola.",
        "This page refreshes by itself.",
    ),
    ("La lectura falló", "Reading failed"),
    ("Factura de proveedor", "Supplier invoice"),
    ("Revisión de factura", "Invoice review"),
    ("Imagen de la factura", "Invoice image"),
    (
        "Descargar el archivo original",
        "Download the original file",
    ),
    (
        "Factura cargada a mano: no hay imagen.",
        "Invoice typed in by hand: no image.",
    ),
    ("Datos leídos", "Fields read"),
    ("Campo", "Field"),
    ("Valor", "Value"),
    ("Confianza", "Confidence"),
    ("Fuente", "Source"),
    ("Código de comprobante", "Voucher code"),
    ("Punto de venta", "Point of sale"),
    ("Número", "Number"),
    ("Fecha de emisión", "Issue date"),
    ("CUIT del emisor", "Issuer CUIT"),
    ("Razón social del emisor", "Issuer name"),
    ("CUIT del receptor", "Receiver CUIT"),
    ("CAE", "CAE"),
    ("Vencimiento del CAE", "CAE due date"),
    ("No gravado", "Not taxed"),
    ("Exento", "Exempt"),
    ("Percepción de IVA", "VAT perception"),
    ("Percepción de IIBB", "Gross income perception"),
    ("Guardar correcciones", "Save corrections"),
    ("Correcciones guardadas.", "Corrections saved."),
    ("Controles", "Checks"),
    ("Correcto", "OK"),
    ("Precio unitario", "Unit price"),
    ("Sin asociar", "Not matched"),
    ("Asociar a (SKU o código)", "Match to (SKU or code)"),
    ("Confirmar y registrar", "Confirm and post"),
    (
        "Factura registrada: la mercadería entró al stock.",
        "Invoice posted: the goods are in stock.",
    ),
    ("Orden de compra (opcional)", "Purchase order (optional)"),
    (
        "No hay un producto con ese SKU o código de barras.",
        "No product has that SKU or barcode.",
    ),
    (
        "Adjunte el archivo de la factura.",
        "Attach the invoice file.",
    ),
    ("Diferencias con el QR", "Differences with the QR"),
    ("Confianza baja", "Low confidence"),
    ("Escriba solo números.", "Type digits only."),
    ("Texto", "Text"),
];

/// Confidence under this is highlighted for the reviewer.
const LOW_CONFIDENCE: u64 = 80;

fn status_label(s: &str) -> &'static str {
    if s == "posted" {
        "Registrada"
    } else {
        "Borrador"
    }
}

fn source_label(s: &str) -> &'static str {
    match s {
        "qr" => "QR",
        "text_layer" => "Texto del PDF",
        "ocr" => "OCR",
        "manual" => "Manual",
        _ => "—",
    }
}

fn voucher(inv: &SupplierInvoice) -> String {
    match (inv.data.voucher_type, inv.data.number) {
        (Some(t), Some(n)) => format!("{t} {n}"),
        (Some(t), None) => t.to_string(),
        (None, Some(n)) => n.to_string(),
        (None, None) => "—".into(),
    }
}

// ---------------------------------------------------------------- list, upload, books

pub struct InvoiceRow {
    pub id: i64,
    pub voucher: String,
    pub date: String,
    pub issuer: String,
    pub total: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub origin: &'static str,
}

#[derive(Template)]
#[template(path = "backoffice/invoices.html")]
struct ListPage {
    chrome: Chrome,
    estado: String,
    rows: Vec<InvoiceRow>,
    next: Option<String>,
    file_error: Option<String>,
    period: Input,
    book: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    estado: String,
    #[serde(flatten)]
    paging: Paging,
}

async fn list_page(
    state: &WebState,
    viewer: &Viewer,
    q: &ListQuery,
    errors: &Errors,
    period: &str,
    book: &str,
) -> Result<ListPage, PageError> {
    let t = viewer.t;
    let status = match q.estado.as_str() {
        "draft" | "posted" => Some(q.estado.as_str()),
        _ => None,
    };
    let page = state
        .app
        .supplier_invoices(&viewer.principal, status, q.paging.request(50))
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let rows = page
        .items
        .iter()
        .map(|i| InvoiceRow {
            id: i.id,
            voucher: voucher(i),
            date: i.data.issue_date.map(format::date).unwrap_or_default(),
            issuer: i.data.issuer_name.clone().unwrap_or_default(),
            total: i.data.total.map(format::money).unwrap_or_default(),
            status: t.s(status_label(&i.status)),
            badge: if i.status == "posted" { "ok" } else { "warn" },
            origin: if i.origin == "scan" {
                t.s("Escaneada")
            } else {
                t.s("Manual")
            },
        })
        .collect();
    let next = page.next_cursor.as_deref().map(|c| {
        serde_urlencoded::to_string([("estado", q.estado.as_str()), ("cursor", c)])
            .unwrap_or_default()
    });
    let default_period = format::shop_day(chrono::Utc::now())
        .format("%Y-%m")
        .to_string();
    Ok(ListPage {
        chrome: viewer.chrome("/compras", "Facturas de proveedores"),
        estado: q.estado.clone(),
        rows,
        next,
        file_error: errors.get("file").map(str::to_owned),
        period: Input::new(
            "period",
            if period.is_empty() {
                default_period.as_str()
            } else {
                period
            },
            errors,
        ),
        book: book.to_owned(),
    })
}

async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let page = list_page(&state, &viewer, &q, &Errors::default(), "", "purchases").await?;
    Ok(render(&page, viewer.t))
}

async fn upload(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let mut form = form.map_err(|e| PageError::bad_form(t, &e.body_text()))?;
    let mut csrf = String::new();
    let mut bytes = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| PageError::bad_form(t, &e.body_text()))?
    {
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                let b = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        PageError::too_large(t)
                    } else {
                        PageError::bad_form(t, &e.body_text())
                    }
                })?;
                bytes = Some(b);
            }
            _ => {}
        }
    }
    // The token is checked before anything is read or stored.
    viewer.check_form(&headers, &csrf)?;
    viewer.require(Permission::PurchasingWrite)?;
    let mut errors = Errors::default();
    match bytes.filter(|b| !b.is_empty()) {
        None => errors.set("file", t.s("Adjunte el archivo de la factura.")),
        Some(b) => {
            let meta = state.app.meta(&viewer.principal, None);
            match state
                .app
                .submit_scan(&viewer.principal, b.to_vec(), meta)
                .await
            {
                Ok(w) => {
                    return Ok(
                        Redirect::to(&format!("/compras/facturas/lecturas/{}", w.value.id))
                            .into_response(),
                    );
                }
                Err(app::Error::NotInstalled(why)) => errors.set("file", capitalise(&why)),
                Err(e) => errors = field_error(e, t, |_| "file".to_owned())?,
            }
        }
    }
    let page = list_page(
        &state,
        &viewer,
        &ListQuery::default(),
        &errors,
        "",
        "purchases",
    )
    .await?;
    let mut res = render(&page, t);
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

#[derive(Template)]
#[template(path = "backoffice/invoice_job.html")]
struct JobPage {
    chrome: Chrome,
    id: i64,
    status: String,
    error: Option<String>,
}

async fn job(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let j = state
        .app
        .scan_job(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    if let (Some(inv), "done") = (j.invoice_id, j.status.as_str()) {
        return Ok(Redirect::to(&format!("/compras/facturas/{inv}")).into_response());
    }
    Ok(render(
        &JobPage {
            chrome: viewer.chrome("/compras", "Factura de proveedor"),
            id,
            status: j.status.clone(),
            error: j.error.map(|e| capitalise(&e.detail)),
        },
        t,
    ))
}

#[derive(Deserialize)]
struct BookQuery {
    #[serde(default)]
    period: String,
    #[serde(default)]
    book: String,
    #[serde(default)]
    file: String,
}

async fn libro_iva(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<BookQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    match state
        .app
        .libro_iva(&viewer.principal, &q.period, &q.book)
        .await
    {
        Ok(files) => {
            let book = if q.book == "sales" {
                "ventas"
            } else {
                "compras"
            };
            let period = q.period.replace('-', "");
            let (body, kind, name) = match q.file.as_str() {
                "alicuotas" => (
                    files.alicuotas,
                    "text/plain; charset=us-ascii",
                    format!("libro-iva-{book}-alicuotas-{period}.txt"),
                ),
                "csv" => (
                    files.csv,
                    "text/csv; charset=utf-8",
                    format!("libro-iva-{book}-{period}.csv"),
                ),
                _ => (
                    files.comprobantes,
                    "text/plain; charset=us-ascii",
                    format!("libro-iva-{book}-comprobantes-{period}.txt"),
                ),
            };
            let mut res = body.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(res)
        }
        Err(e) => {
            let errors = field_error(e, t, |_| "period".to_owned())?;
            let page = list_page(
                &state,
                &viewer,
                &ListQuery::default(),
                &errors,
                &q.period,
                &q.book,
            )
            .await?;
            let mut res = render(&page, t);
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}

// ---------------------------------------------------------------- the review screen

/// An editable field of the invoice with what the scanner said about it.
pub struct FieldView {
    pub input: Input,
    pub label: &'static str,
    pub kind: &'static str,
    pub confidence: Option<u64>,
    pub source: &'static str,
    pub low: bool,
}

pub struct LineView {
    pub n: usize,
    pub code: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub subtotal: String,
    pub confidence: Option<u64>,
    pub source: &'static str,
    pub low: bool,
    pub product: Option<(i64, String)>,
    pub how: String,
    pub picker: Input,
    pub lot: Input,
    pub expiry: Input,
}

pub struct CheckView {
    pub rule: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "backoffice/invoice.html")]
struct ReviewPage {
    chrome: Chrome,
    id: i64,
    draft: bool,
    status: &'static str,
    voucher: String,
    image: Option<&'static str>,
    fields: Vec<FieldView>,
    lines: Vec<LineView>,
    checks: Vec<CheckView>,
    mismatches: Vec<(String, String, String)>,
    locations: Vec<(String, String)>,
    location: Input,
    purchase_order: Input,
    receipt_id: Option<i64>,
    notice: Option<&'static str>,
    others: Vec<String>,
}

/// The editable fields: form name, label, input type.
const FIELDS: &[(&str, &str, &str)] = &[
    ("voucher_code", "Código de comprobante", "text"),
    ("point_of_sale", "Punto de venta", "text"),
    ("number", "Número", "text"),
    ("issue_date", "Fecha de emisión", "date"),
    ("issuer_cuit", "CUIT del emisor", "text"),
    ("issuer_name", "Razón social del emisor", "text"),
    ("receiver_cuit", "CUIT del receptor", "text"),
    ("cae", "CAE", "text"),
    ("cae_due", "Vencimiento del CAE", "date"),
    ("no_gravado", "No gravado", "text"),
    ("exento", "Exento", "text"),
    ("perception_vat", "Percepción de IVA", "text"),
    ("perception_iibb", "Percepción de IIBB", "text"),
    ("total", "Total", "text"),
];

/// An amount as the form shows it: "1.234,56".
fn amount(m: Money) -> String {
    format::money(m).replacen("$ ", "", 1)
}

/// The current value of an editable field, as the form shows it.
fn current(inv: &SupplierInvoice, name: &str) -> String {
    let d = &inv.data;
    match name {
        "voucher_code" => d.voucher_type.map(|t| t.code().to_string()),
        "point_of_sale" => d.number.map(|n| n.point_of_sale().to_string()),
        "number" => d.number.map(|n| n.number().to_string()),
        "issue_date" => d.issue_date.map(|x| x.to_string()),
        "issuer_cuit" => d.issuer_cuit.as_ref().map(ToString::to_string),
        "issuer_name" => d.issuer_name.clone(),
        "receiver_cuit" => d.receiver_cuit.as_ref().map(ToString::to_string),
        "cae" => d.cae.as_ref().map(ToString::to_string),
        "cae_due" => d.cae_due.map(|x| x.to_string()),
        "no_gravado" => Some(amount(d.no_gravado)),
        "exento" => Some(amount(d.exento)),
        "perception_vat" => Some(amount(d.perception_vat)),
        "perception_iibb" => Some(amount(d.perception_iibb)),
        "total" => d.total.map(amount),
        _ => None,
    }
    .unwrap_or_default()
}

fn scanned(extraction: Option<&Value>, name: &str) -> (Option<u64>, &'static str) {
    let f = extraction
        .and_then(|e| e.get("fields"))
        .and_then(|f| f.get(name));
    (
        f.and_then(|f| f.get("confidence")).and_then(Value::as_u64),
        f.and_then(|f| f.get("source"))
            .and_then(Value::as_str)
            .map_or("—", source_label),
    )
}

struct ReviewState<'a> {
    form: Option<&'a Fields>,
    errors: &'a Errors,
    notice: Option<&'static str>,
}

async fn review_page(
    state: &WebState,
    viewer: &Viewer,
    inv: &SupplierInvoice,
    rs: ReviewState<'_>,
) -> Result<ReviewPage, PageError> {
    let t = viewer.t;
    let errors = rs.errors;
    let value = |name: &str, default: String| match rs.form {
        Some(f) => f.get(name).to_owned(),
        None => default,
    };
    let extraction = inv.extraction.as_ref();
    let fields = FIELDS
        .iter()
        .map(|(name, label, kind)| {
            let (confidence, source) = scanned(extraction, name);
            FieldView {
                input: Input::new(*name, value(name, current(inv, name)), errors),
                label: t.s(label),
                kind,
                confidence,
                source: t.s(source),
                low: confidence.is_some_and(|c| c < LOW_CONFIDENCE),
            }
        })
        .collect();
    let mut lines = Vec::with_capacity(inv.data.lines.len());
    for (i, l) in inv.data.lines.iter().enumerate() {
        let m = inv.matches.get(i).cloned().unwrap_or_default();
        let product = match m.product_id {
            Some(pid) => match state.app.product(&viewer.principal, pid).await {
                Ok(p) => Some((p.id, format!("{} · {}", p.sku, p.name))),
                Err(app::Error::NotFound { .. }) => Some((pid, format!("#{pid}"))),
                Err(e) => return Err(PageError::from_app(e, t)),
            },
            None => None,
        };
        let ex = extraction
            .and_then(|e| e.get("lines"))
            .and_then(|l| l.get(i));
        let confidence = ex.and_then(|x| x.get("confidence")).and_then(Value::as_u64);
        let source = ex
            .and_then(|x| x.get("source"))
            .and_then(Value::as_str)
            .map_or("—", source_label);
        lines.push(LineView {
            n: i + 1,
            code: l.code.clone().unwrap_or_default(),
            description: l.description.clone(),
            quantity: l.quantity.format_ar(),
            unit_price: format::money(l.unit_price),
            subtotal: format::money(l.subtotal),
            confidence,
            source: t.s(source),
            low: confidence.is_some_and(|c| c < LOW_CONFIDENCE),
            product,
            how: m.how.clone().unwrap_or_default(),
            picker: Input::new(
                format!("product_{i}"),
                value(&format!("product_{i}"), String::new()),
                errors,
            ),
            lot: Input::new(
                format!("lot_{i}"),
                value(&format!("lot_{i}"), String::new()),
                errors,
            ),
            expiry: Input::new(
                format!("expiry_{i}"),
                value(&format!("expiry_{i}"), String::new()),
                errors,
            ),
        });
    }
    let checks = inv
        .checks
        .iter()
        .map(|c| CheckView {
            rule: c.rule.clone(),
            ok: c.ok,
            detail: if c.ok {
                t.s("Correcto").to_owned()
            } else {
                c.detail.clone()
            },
        })
        .collect();
    let mismatches = extraction
        .and_then(|e| e.get("qr_mismatches"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| {
                    let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    (s("field"), s("qr"), s("text"))
                })
                .collect()
        })
        .unwrap_or_default();
    let image = (inv.origin == "scan").then_some("scan");
    let dir = Directory::load(state, viewer).await?;
    let mut known: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
    known.extend([
        "location",
        "purchase_order_id",
        "product_*",
        "lot_*",
        "expiry_*",
    ]);
    Ok(ReviewPage {
        chrome: viewer.chrome("/compras", "Revisión de factura"),
        id: inv.id,
        draft: inv.status == "draft",
        status: t.s(status_label(&inv.status)),
        voucher: voucher(inv),
        image,
        fields,
        lines,
        checks,
        mismatches,
        location: Input::new(
            "location",
            value(
                "location",
                dir.locations
                    .first()
                    .map(|(c, _)| c.clone())
                    .unwrap_or_default(),
            ),
            errors,
        ),
        locations: dir.locations,
        purchase_order: Input::new(
            "purchase_order_id",
            value(
                "purchase_order_id",
                inv.purchase_order_id
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            ),
            errors,
        ),
        receipt_id: inv.receipt_id,
        notice: rs.notice.map(|n| t.s(n)),
        others: errors.others(&known),
    })
}

#[derive(Deserialize, Default)]
struct ReviewQuery {
    #[serde(default)]
    ok: String,
}

async fn review(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let inv = state
        .app
        .supplier_invoice(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let notice = match q.ok.as_str() {
        "corregida" => Some("Correcciones guardadas."),
        "registrada" => Some("Factura registrada: la mercadería entró al stock."),
        _ => None,
    };
    let rs = ReviewState {
        form: None,
        errors: &Errors::default(),
        notice,
    };
    Ok(render(&review_page(&state, &viewer, &inv, rs).await?, t))
}

/// The uploaded file as sent.
async fn original(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    file(state, viewer, id, false).await
}

/// What the review screen shows: the upload when it is a JPEG or PNG, else page 1 as the
/// reader rasterised it.
async fn image(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    file(state, viewer, id, true).await
}

/// A file of an invoice, only to signed-in users who may review invoices. Images are shown
/// inline; PDF and TIFF (which browsers do not show in an `<img>`) are downloaded.
async fn file(
    state: WebState,
    viewer: Viewer,
    id: i64,
    page_image: bool,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let (kind, bytes) = state
        .app
        .invoice_file(&viewer.principal, id, page_image)
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    let (mime, inline) = match kind.as_str() {
        "png" => ("image/png", true),
        "jpeg" => ("image/jpeg", true),
        "tiff" => ("image/tiff", false),
        "pdf" => ("application/pdf", false),
        _ => ("application/octet-stream", false),
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    let disposition = if inline {
        format!("inline; filename=\"factura-{id}.{kind}\"")
    } else {
        format!("attachment; filename=\"factura-{id}.{kind}\"")
    };
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// A product picked by SKU or barcode.
async fn pick(state: &WebState, viewer: &Viewer, code: &str) -> Result<Option<i64>, PageError> {
    let (sku, barcode) = item_ref(code);
    let q = ProductQuery {
        sku,
        barcode,
        ..ProductQuery::default()
    };
    let page = state
        .app
        .products(&viewer.principal, q, PageRequest::first(1))
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(page.items.first().map(|p| p.id))
}

async fn correct(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let inv = state
        .app
        .supplier_invoice(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    // Only the fields the form carried and the user changed are sent: the rest stay as read.
    let changed = |name: &str| {
        let v = f.get(name);
        (f.has(name) && v != current(&inv, name)).then(|| v.to_owned())
    };
    let mut errors = Errors::default();
    let number = |name: &str, errors: &mut Errors| -> Option<u32> {
        let v = changed(name)?;
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.set(name, t.s("Escriba solo números."));
                None
            }
        }
    };
    let mut input = InvoiceInput {
        voucher_code: number("voucher_code", &mut errors),
        point_of_sale: number("point_of_sale", &mut errors),
        number: number("number", &mut errors),
        issue_date: changed("issue_date"),
        issuer_cuit: changed("issuer_cuit"),
        issuer_name: changed("issuer_name"),
        receiver_cuit: changed("receiver_cuit"),
        cae: changed("cae"),
        cae_due: changed("cae_due"),
        no_gravado: changed("no_gravado"),
        exento: changed("exento"),
        perception_vat: changed("perception_vat"),
        perception_iibb: changed("perception_iibb"),
        total: changed("total"),
        ..InvoiceInput::default()
    };
    // The number and point of sale go together in the voucher number.
    if input.number.is_some() || input.point_of_sale.is_some() {
        let n = inv.data.number;
        input.point_of_sale = input.point_of_sale.or(n.map(|n| n.point_of_sale()));
        input.number = input.number.or(n.map(|n| n.number()));
    }
    let mut picked = Vec::new();
    for i in 0..inv.data.lines.len() {
        let code = f.row("product", i);
        if code.is_empty() {
            continue;
        }
        match pick(&state, &viewer, code).await? {
            Some(product_id) => picked.push(LineProduct {
                line: i,
                product_id,
            }),
            None => errors.set(
                format!("product_{i}"),
                t.s("No hay un producto con ese SKU o código de barras."),
            ),
        }
    }
    if !picked.is_empty() {
        input.line_products = Some(picked);
    }
    if errors.is_empty() {
        let meta = state.app.meta(&viewer.principal, None);
        match state
            .app
            .correct_invoice(&viewer.principal, id, input, meta)
            .await
        {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/compras/facturas/{id}?ok=corregida")).into_response(),
                );
            }
            Err(e) => errors = field_error(e, t, rename)?,
        }
    }
    let rs = ReviewState {
        form: Some(&f),
        errors: &errors,
        notice: None,
    };
    let mut res = render(&review_page(&state, &viewer, &inv, rs).await?, t);
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

/// The use case's field paths as the review form names them.
fn rename(path: &str) -> String {
    if let Some((i, rest)) = line_field(path) {
        return match rest {
            "lot" | "expiry" => format!("{rest}_{i}"),
            _ => format!("product_{i}"),
        };
    }
    match path {
        "voucher_type" | "letter" => "voucher_code".into(),
        "line_products" => "product_0".into(),
        other => other.split('.').next().unwrap_or(other).to_owned(),
    }
}

async fn confirm(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let inv = state
        .app
        .supplier_invoice(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let mut errors = Errors::default();
    let purchase_order_id = match f.get("purchase_order_id") {
        "" => None,
        v => match v.trim_start_matches('#').parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.set("purchase_order_id", t.s("Escriba solo números."));
                None
            }
        },
    };
    let lots = (0..inv.data.lines.len())
        .filter(|i| !f.row("lot", *i).is_empty() || !f.row("expiry", *i).is_empty())
        .map(|i| LotInput {
            line: i,
            lot: f.row("lot", i).to_owned(),
            expiry: f.opt(&format!("expiry_{i}")),
        })
        .collect();
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let input = ConfirmInput {
            location: f.get("location").to_owned(),
            purchase_order_id,
            lots,
        };
        let meta = state.app.meta(&viewer.principal, None);
        match state
            .app
            .confirm_invoice(&viewer.principal, id, input, meta)
            .await
        {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/compras/facturas/{id}?ok=registrada")).into_response(),
                );
            }
            Err(app::Error::Conflict { message, .. }) => {
                // A duplicate voucher or an invoice already posted: the reason, in a 409.
                status = StatusCode::CONFLICT;
                errors.set("general", capitalise(&message));
            }
            Err(e) => errors = field_error(e, t, rename)?,
        }
    }
    let rs = ReviewState {
        form: Some(&f),
        errors: &errors,
        notice: None,
    };
    let mut res = render(&review_page(&state, &viewer, &inv, rs).await?, t);
    *res.status_mut() = status;
    Ok(res)
}
