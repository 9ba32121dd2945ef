//! Supplier invoice routes: scan upload and its job, drafts (manual or scanned), corrections,
//! confirmation, and the Libro IVA Digital export.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use domain::invoice::libro_iva::BookFiles;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use app::IdempotencyKey;
use app::invoices::{ConfirmInput, InvoiceInput, ScanJob, SupplierInvoice};

use crate::ApiState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, Auth, IDEMPOTENCY_HEADER, Idempotent, fingerprint};
use crate::routes::created;

/// Largest invoice file accepted by the upload (the app applies its configured limit too).
pub const MAX_UPLOAD_BYTES: usize = 25 * 1024 * 1024;

/// The multipart form of a scan upload.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ScanUpload {
    /// JPEG, PNG, TIFF or PDF (recognised by content, not by name).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn bad_form(detail: impl Into<String>) -> ApiError {
    ApiError::from(app::Error::invalid("file", "multipart", detail.into()))
}

/// Uploads an invoice to be read (QR, text layer or OCR); returns the job to poll. Nothing is
/// posted: the result becomes a draft for review.
#[utoipa::path(post, path = "/api/v1/supplier-invoices/scan", tag = "purchasing", security(("bearer" = [])),
    request_body(content = ScanUpload, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 202, body = ScanJob), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn scan(
    State(s): State<ApiState>,
    Auth(p): Auth,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let mut form = form.map_err(|e| {
        bad_form(format!(
            "envíe el archivo como multipart/form-data en el campo file ({})",
            e.body_text()
        ))
    })?;
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| bad_form(format!("formulario inválido: {}", e.body_text())))?
    {
        if field.name() == Some("file") {
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::from(app::Error::invalid(
                        "file",
                        "too_large",
                        format!("el archivo supera {} MB", MAX_UPLOAD_BYTES / 1024 / 1024),
                    ))
                } else {
                    bad_form(format!("no se pudo leer el archivo: {}", e.body_text()))
                }
            })?;
            file = Some(bytes);
        }
    }
    let Some(bytes) = file else {
        return Err(
            app::Error::invalid("file", "required", "adjunte el archivo en el campo file").into(),
        );
    };
    let key = match headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(v) => Some(IdempotencyKey::parse(
            v.to_str().unwrap_or_default(),
            fingerprint(&method, uri.path(), &bytes),
        )?),
    };
    let meta = s.app.meta(&p, key);
    let written = s.app.submit_scan(&p, bytes.to_vec(), meta).await?;
    let mut res = (StatusCode::ACCEPTED, Json(written.value)).into_response();
    if written.replayed {
        res.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

#[utoipa::path(get, path = "/api/v1/supplier-invoices/jobs/{id}", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ScanJob), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn job(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ScanJob>> {
    Ok(Json(s.app.scan_job(&p, id).await?))
}

/// Creates a draft typed in by hand (works without OCR).
#[utoipa::path(post, path = "/api/v1/supplier-invoices", tag = "purchasing", security(("bearer" = [])), request_body = InvoiceInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    responses((status = 201, body = SupplierInvoice), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(s): State<ApiState>,
    Auth(p): Auth,
    req: Idempotent<InvoiceInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    Ok(created(
        s.app.create_invoice_draft(&p, req.body, meta).await?,
    ))
}

/// A draft or posted invoice with its checks, the scanner's report and the corrections.
#[utoipa::path(get, path = "/api/v1/supplier-invoices/{id}", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = SupplierInvoice), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<SupplierInvoice>> {
    Ok(Json(s.app.supplier_invoice(&p, id).await?))
}

/// Corrects a draft: the fields present replace the current ones; lines may be tied to products.
#[utoipa::path(patch, path = "/api/v1/supplier-invoices/{id}", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = InvoiceInput,
    responses((status = 200, body = SupplierInvoice), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn correct(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    req: Idempotent<InvoiceInput>,
) -> ApiResult<Json<SupplierInvoice>> {
    let meta = s.app.meta(&p, req.key);
    Ok(Json(s.app.correct_invoice(&p, id, req.body, meta).await?))
}

/// Posts the invoice: receipt (stock, average cost), PO link, IVA book. A voucher already
/// posted (same supplier, type, point of sale and number) is a 409.
#[utoipa::path(post, path = "/api/v1/supplier-invoices/{id}/confirm", tag = "purchasing", security(("bearer" = [])), params(("id" = i64, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry")),
    request_body = ConfirmInput,
    responses((status = 200, body = SupplierInvoice), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm(
    State(s): State<ApiState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    req: Idempotent<ConfirmInput>,
) -> ApiResult<Response> {
    let meta = s.app.meta(&p, req.key);
    let w = s.app.confirm_invoice(&p, id, req.body, meta).await?;
    let mut res = Json(w.value).into_response();
    if w.replayed {
        res.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LibroIvaQuery {
    /// Month, AAAA-MM.
    pub period: String,
    /// purchases or sales.
    pub book: String,
    /// comprobantes, alicuotas or csv: that file as text; omitted, all three as JSON.
    pub file: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LibroIvaFiles {
    /// Fixed-width voucher file (CRLF).
    comprobantes: String,
    /// Fixed-width rates file (CRLF).
    alicuotas: String,
    /// Readable CSV (`;`, es-AR numbers).
    csv: String,
}

/// Libro IVA Digital (AFIP, RG 4597) for a month: purchases from posted supplier invoices,
/// sales from POS tickets.
#[utoipa::path(get, path = "/api/v1/reports/libro-iva", tag = "reports", security(("bearer" = [])), params(LibroIvaQuery),
    responses((status = 200, body = LibroIvaFiles), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn libro_iva(
    State(s): State<ApiState>,
    Auth(p): Auth,
    ApiQuery(q): ApiQuery<LibroIvaQuery>,
) -> ApiResult<Response> {
    let files: BookFiles = s.app.libro_iva(&p, &q.period, &q.book).await?;
    let (body, kind) = match q.file.as_deref() {
        None => return Ok(Json(files).into_response()),
        Some("comprobantes") => (files.comprobantes, "text/plain; charset=us-ascii"),
        Some("alicuotas") => (files.alicuotas, "text/plain; charset=us-ascii"),
        Some("csv") => (files.csv, "text/csv; charset=utf-8"),
        Some(_) => {
            return Err(app::Error::invalid(
                "file",
                "one_of",
                "file debe ser comprobantes, alicuotas o csv",
            )
            .into());
        }
    };
    Ok(([(header::CONTENT_TYPE, kind)], body).into_response())
}
