//! Compras: purchase orders (list with status filter and CSV, detail, new order by SKU or
//! barcode, send, cancel) and receiving goods against an order with lots and expiry.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use app::page::PageRequest;
use app::purchasing::{ItemInput, PurchaseOrder, PurchaseOrderInput, ReceiptInput};
use domain::auth::Permission;
use domain::purchasing::PoStatus;

use super::Paging;
use super::forms::{Errors, Fields, Input, ar_decimal, field_error, line_field};
use crate::csv::Csv;
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Submitted, Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/compras", get(list))
        .route("/compras.csv", get(export))
        .route("/compras/ordenes/nueva", get(new_form))
        .route("/compras/ordenes", post(create))
        .route("/compras/ordenes/{id}", get(detail))
        .route("/compras/ordenes/{id}/enviar", post(send))
        .route("/compras/ordenes/{id}/cancelar", post(cancel))
        .route("/compras/ordenes/{id}/recibir", post(receive))
}

pub const EN: &[(&str, &str)] = &[
    ("Órdenes de compra", "Purchase orders"),
    ("Nueva orden de compra", "New purchase order"),
    ("Orden de compra", "Purchase order"),
    ("Proveedor", "Supplier"),
    ("Destino", "Destination"),
    ("Líneas", "Lines"),
    ("Todos los estados", "All statuses"),
    ("Borrador", "Draft"),
    ("Enviada", "Sent"),
    ("Recibida en parte", "Partly received"),
    ("Recibida", "Received"),
    ("Cancelada", "Cancelled"),
    ("Filtrar", "Filter"),
    ("Crear orden", "Create order"),
    ("SKU o código de barras", "SKU or barcode"),
    ("Costo unitario sin IVA", "Unit cost before VAT"),
    ("Costo unitario", "Unit cost"),
    ("Notas", "Notes"),
    ("Agregar línea", "Add line"),
    ("Pedido", "Ordered"),
    ("Recibido", "Received"),
    ("Marcar como enviada", "Mark as sent"),
    ("Cancelar orden", "Cancel order"),
    ("Recibir mercadería", "Receive goods"),
    ("Remito", "Delivery note"),
    ("A recibir", "To receive"),
    ("Vencimiento", "Expiry"),
    ("Registrar recepción", "Post receipt"),
    ("Recepción registrada.", "Receipt posted."),
    ("Orden creada.", "Order created."),
    ("Orden enviada.", "Order sent."),
    ("Orden cancelada.", "Order cancelled."),
    ("Creada", "Created"),
    ("Facturas de proveedores", "Supplier invoices"),
    ("Elija un proveedor.", "Choose a supplier."),
    ("Revise los datos marcados.", "Check the fields marked."),
    (
        "Permitir recibir más de lo pedido",
        "Allow receiving more than ordered",
    ),
    ("No hay órdenes.", "No orders."),
];

const PAGE_SIZE: u32 = 50;

pub fn status_label(s: PoStatus) -> &'static str {
    match s {
        PoStatus::Draft => "Borrador",
        PoStatus::Sent => "Enviada",
        PoStatus::PartiallyReceived => "Recibida en parte",
        PoStatus::Received => "Recibida",
        PoStatus::Cancelled => "Cancelada",
    }
}

fn status_badge(s: PoStatus) -> &'static str {
    match s {
        PoStatus::Draft => "",
        PoStatus::Sent | PoStatus::PartiallyReceived => "warn",
        PoStatus::Received => "ok",
        PoStatus::Cancelled => "bad",
    }
}

const STATUSES: &[PoStatus] = &[
    PoStatus::Draft,
    PoStatus::Sent,
    PoStatus::PartiallyReceived,
    PoStatus::Received,
    PoStatus::Cancelled,
];

/// Supplier names by id and location codes, for lists and the order form.
pub struct Directory {
    pub suppliers: Vec<(i64, String)>,
    pub locations: Vec<(String, String)>,
}

impl Directory {
    pub async fn load(state: &WebState, viewer: &Viewer) -> Result<Directory, PageError> {
        let t = viewer.t;
        let p = &viewer.principal;
        let suppliers = state
            .app
            .suppliers(p, PageRequest::first(app::page::MAX_LIMIT))
            .await
            .map_err(|e| PageError::from_app(e, t))?
            .items
            .into_iter()
            .filter(|s| s.active)
            .map(|s| (s.id, s.name))
            .collect();
        let locations = state
            .app
            .locations(p, PageRequest::first(app::page::MAX_LIMIT))
            .await
            .map_err(|e| PageError::from_app(e, t))?
            .items
            .into_iter()
            .filter(|l| l.active)
            .map(|l| (l.code, l.name))
            .collect();
        Ok(Directory {
            suppliers,
            locations,
        })
    }

    pub fn supplier(&self, id: i64) -> String {
        self.suppliers
            .iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| format!("#{id}"), |(_, n)| n.clone())
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub estado: String,
    /// A message after a redirect: "creada", "recibida", ...
    #[serde(default)]
    pub ok: String,
    #[serde(flatten)]
    pub paging: Paging,
}

impl ListQuery {
    fn status(&self) -> Option<PoStatus> {
        PoStatus::parse(&self.estado).ok()
    }

    fn with_cursor(&self, cursor: &str) -> String {
        serde_urlencoded::to_string([("estado", self.estado.as_str()), ("cursor", cursor)])
            .unwrap_or_default()
    }
}

pub struct OrderRow {
    pub id: i64,
    pub supplier: String,
    pub location: String,
    pub status: &'static str,
    pub badge: &'static str,
    pub lines: usize,
    pub total: String,
    pub created: String,
}

impl OrderRow {
    fn of(po: &PurchaseOrder, dir: &Directory, t: crate::Tr) -> OrderRow {
        OrderRow {
            id: po.id,
            supplier: dir.supplier(po.supplier_id),
            location: po.location.clone(),
            status: t.s(status_label(po.status)),
            badge: status_badge(po.status),
            lines: po.lines.len(),
            total: format::money(po.total),
            created: format::date_time(po.created_at),
        }
    }
}

#[derive(Template)]
#[template(path = "backoffice/orders.html")]
struct ListPage {
    chrome: Chrome,
    estado: String,
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<OrderRow>,
    next: Option<String>,
    export: String,
}

async fn list(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let page = state
        .app
        .purchase_orders_by_status(&viewer.principal, q.status(), q.paging.request(PAGE_SIZE))
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let dir = Directory::load(&state, &viewer).await?;
    let rows = page
        .items
        .iter()
        .map(|p| OrderRow::of(p, &dir, t))
        .collect();
    Ok(render(
        &ListPage {
            chrome: viewer.chrome("/compras", "Compras"),
            estado: q.estado.clone(),
            statuses: STATUSES
                .iter()
                .map(|s| (s.as_str(), t.s(status_label(*s))))
                .collect(),
            rows,
            next: page.next_cursor.as_deref().map(|c| q.with_cursor(c)),
            export: format!("/compras.csv?{}", q.with_cursor("")),
        },
        t,
    ))
}

async fn export(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let dir = Directory::load(&state, &viewer).await?;
    let mut csv = Csv::new(
        "ordenes-de-compra",
        &[
            t.s("Orden de compra"),
            t.s("Proveedor"),
            t.s("Destino"),
            t.s("Estado"),
            t.s("Líneas"),
            t.s("Total"),
            t.s("Creada"),
        ],
    );
    super::export_all(
        t,
        |request| {
            state
                .app
                .purchase_orders_by_status(&viewer.principal, q.status(), request)
        },
        |po| {
            let r = OrderRow::of(po, &dir, t);
            csv.row([
                r.id.to_string().as_str(),
                &r.supplier,
                &r.location,
                r.status,
                r.lines.to_string().as_str(),
                r.total.trim_start_matches("$ "),
                &r.created,
            ]);
        },
    )
    .await?;
    Ok(csv.into_response())
}

// ---------------------------------------------------------------- new order

pub struct LineInputs {
    pub code: Input,
    pub quantity: Input,
    pub unit_cost: Input,
}

#[derive(Template)]
#[template(path = "backoffice/order_new.html")]
struct NewPage {
    chrome: Chrome,
    suppliers: Vec<(String, String)>,
    locations: Vec<(String, String)>,
    supplier: Input,
    location: Input,
    notes: Input,
    lines: Vec<LineInputs>,
    others: Vec<String>,
}

/// Rows the new-order form shows at first; the script adds more.
const EMPTY_ROWS: usize = 5;

fn new_page(viewer: &Viewer, dir: Directory, f: &Fields, errors: &Errors) -> NewPage {
    let rows = f.rows("code").max(EMPTY_ROWS);
    let lines = (0..rows)
        .map(|i| LineInputs {
            code: Input::new(format!("code_{i}"), f.row("code", i), errors),
            quantity: Input::new(format!("quantity_{i}"), f.row("quantity", i), errors),
            unit_cost: Input::new(format!("unit_cost_{i}"), f.row("unit_cost", i), errors),
        })
        .collect();
    NewPage {
        chrome: viewer.chrome("/compras", "Nueva orden de compra"),
        suppliers: dir
            .suppliers
            .into_iter()
            .map(|(id, n)| (id.to_string(), n))
            .collect(),
        locations: dir.locations,
        supplier: Input::new("supplier_id", f.get("supplier_id"), errors),
        location: Input::new("location", f.get("location"), errors),
        notes: Input::new("notes", f.get("notes"), errors),
        lines,
        others: errors.others(&[
            "supplier_id",
            "location",
            "notes",
            "code_*",
            "quantity_*",
            "unit_cost_*",
        ]),
    }
}

#[derive(Deserialize, Default)]
struct Prefill {
    #[serde(default)]
    supplier_id: String,
    #[serde(default)]
    location: String,
}

async fn new_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(pre): Query<Prefill>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let dir = Directory::load(&state, &viewer).await?;
    let f = Fields::new(vec![
        ("supplier_id".into(), pre.supplier_id),
        ("location".into(), pre.location),
    ]);
    Ok(render(
        &new_page(&viewer, dir, &f, &Errors::default()),
        viewer.t,
    ))
}

/// An SKU or a barcode as the product reference of a line: digits of barcode length are
/// barcodes, anything else an SKU.
pub fn item_ref(code: &str) -> (Option<String>, Option<String>) {
    let digits = code.chars().all(|c| c.is_ascii_digit());
    if digits && matches!(code.len(), 8 | 12 | 13 | 14) {
        (None, Some(code.to_owned()))
    } else {
        (Some(code.to_owned()), None)
    }
}

async fn create(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let mut errors = Errors::default();
    let supplier_id = f.get("supplier_id").parse::<i64>().ok();
    if supplier_id.is_none() {
        errors.set("supplier_id", t.s("Elija un proveedor."));
    }
    // Rows left empty are skipped; `rows[i]` is the form row of line i.
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for i in 0..f.rows("code") {
        if f.row("code", i).is_empty() && f.row("quantity", i).is_empty() {
            continue;
        }
        let (sku, barcode) = item_ref(f.row("code", i));
        rows.push(i);
        lines.push(ItemInput {
            product_id: None,
            sku,
            barcode,
            quantity: ar_decimal(f.row("quantity", i)),
            unit_cost: Some(ar_decimal(f.row("unit_cost", i))),
            lot: None,
            expiry: None,
        });
    }
    let result = match supplier_id {
        None => None,
        Some(supplier_id) => {
            let input = PurchaseOrderInput {
                supplier_id,
                location: f.get("location").to_owned(),
                lines,
                notes: f.opt("notes"),
            };
            let meta = state.app.meta(&viewer.principal, None);
            Some(
                state
                    .app
                    .create_purchase_order(&viewer.principal, input, meta)
                    .await,
            )
        }
    };
    match result {
        Some(Ok(w)) => {
            Ok(Redirect::to(&format!("/compras/ordenes/{}?ok=creada", w.value.id)).into_response())
        }
        Some(Err(e)) => {
            let more = field_error(e, t, |path| rename_line(path, &rows, "code"))?;
            errors.merge(more);
            again(&state, &viewer, &f, &errors).await
        }
        None => again(&state, &viewer, &f, &errors).await,
    }
}

async fn again(
    state: &WebState,
    viewer: &Viewer,
    f: &Fields,
    errors: &Errors,
) -> Result<Response, PageError> {
    let dir = Directory::load(state, viewer).await?;
    let mut res = render(&new_page(viewer, dir, f, errors), viewer.t);
    *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
}

/// `lines[2].quantity` → `quantity_<form row of line 2>`; a bad product reference goes to
/// the row's `ref_field`.
pub fn rename_line(path: &str, rows: &[usize], ref_field: &str) -> String {
    match line_field(path) {
        Some((i, rest)) => {
            let row = rows.get(i).copied().unwrap_or(i);
            let name = match rest {
                "" | "sku" | "barcode" | "product_id" => ref_field,
                other => other,
            };
            format!("{name}_{row}")
        }
        None if path == "lines" => format!("{ref_field}_0"),
        None => path.to_owned(),
    }
}

// ---------------------------------------------------------------- detail and receiving

pub struct DetailLine {
    pub line: i64,
    pub product_id: i64,
    pub sku: String,
    pub ordered: String,
    pub received: String,
    pub cost: String,
    pub quantity: Input,
    pub lot: Input,
    pub expiry: Input,
}

#[derive(Template)]
#[template(path = "backoffice/order.html")]
struct DetailPage {
    chrome: Chrome,
    id: i64,
    supplier: String,
    location: String,
    status: &'static str,
    badge: &'static str,
    notes: String,
    total: String,
    created: String,
    created_by: String,
    lines: Vec<DetailLine>,
    can_send: bool,
    can_cancel: bool,
    can_receive: bool,
    remito: Input,
    notice: Option<&'static str>,
    others: Vec<String>,
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    #[serde(default)]
    ok: String,
}

fn notice(ok: &str) -> Option<&'static str> {
    match ok {
        "creada" => Some("Orden creada."),
        "enviada" => Some("Orden enviada."),
        "cancelada" => Some("Orden cancelada."),
        "recibida" => Some("Recepción registrada."),
        _ => None,
    }
}

fn detail_page(
    viewer: &Viewer,
    po: &PurchaseOrder,
    dir: &Directory,
    f: Option<&Fields>,
    errors: &Errors,
    ok: &str,
) -> DetailPage {
    let t = viewer.t;
    let lines = po
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let pending = if l.quantity > l.received {
                l.quantity - l.received
            } else {
                domain::Qty::ZERO
            };
            let value = |name: &str, default: String| match f {
                Some(f) => f.row(name, i).to_owned(),
                None => default,
            };
            DetailLine {
                line: l.line,
                product_id: l.product_id,
                sku: l.sku.clone(),
                ordered: l.quantity.format_ar(),
                received: l.received.format_ar(),
                cost: format::money(l.unit_cost),
                quantity: Input::new(
                    format!("quantity_{i}"),
                    value("quantity", pending.format_ar()),
                    errors,
                ),
                lot: Input::new(format!("lot_{i}"), value("lot", String::new()), errors),
                expiry: Input::new(
                    format!("expiry_{i}"),
                    value("expiry", String::new()),
                    errors,
                ),
            }
        })
        .collect();
    DetailPage {
        chrome: viewer.chrome("/compras", "Orden de compra"),
        id: po.id,
        supplier: dir.supplier(po.supplier_id),
        location: po.location.clone(),
        status: t.s(status_label(po.status)),
        badge: status_badge(po.status),
        notes: po.notes.clone(),
        total: format::money(po.total),
        created: format::date_time(po.created_at),
        created_by: po.created_by.clone(),
        lines,
        can_send: po.status.can_become(PoStatus::Sent),
        can_cancel: po.status.can_become(PoStatus::Cancelled),
        can_receive: po.status.accepts_receipts(),
        remito: Input::new("remito", f.map(|f| f.get("remito")).unwrap_or(""), errors),
        notice: notice(ok).map(|n| t.s(n)),
        others: errors.others(&["remito", "quantity_*", "lot_*", "expiry_*"]),
    }
}

async fn detail(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let po = state
        .app
        .purchase_order(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let dir = Directory::load(&state, &viewer).await?;
    Ok(render(
        &detail_page(&viewer, &po, &dir, None, &Errors::default(), &q.ok),
        t,
    ))
}

async fn set_status(
    state: WebState,
    viewer: Viewer,
    id: i64,
    to: PoStatus,
    ok: &str,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let meta = state.app.meta(&viewer.principal, None);
    state
        .app
        .set_purchase_order_status(&viewer.principal, id, to, meta)
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(Redirect::to(&format!("/compras/ordenes/{id}?ok={ok}")).into_response())
}

async fn send(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, .. }: Submitted<crate::session::NoFields>,
) -> Result<Response, PageError> {
    set_status(state, viewer, id, PoStatus::Sent, "enviada").await
}

async fn cancel(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, .. }: Submitted<crate::session::NoFields>,
) -> Result<Response, PageError> {
    set_status(state, viewer, id, PoStatus::Cancelled, "cancelada").await
}

async fn receive(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, form }: Submitted<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    let f = Fields::new(form);
    let po = state
        .app
        .purchase_order(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for (i, l) in po.lines.iter().enumerate() {
        let q = ar_decimal(f.row("quantity", i));
        if q.is_empty() || q.trim_start_matches(['0', '.']).is_empty() {
            continue;
        }
        rows.push(i);
        lines.push(ItemInput {
            product_id: Some(l.product_id),
            sku: None,
            barcode: None,
            quantity: q,
            unit_cost: None,
            lot: f.opt(&format!("lot_{i}")),
            expiry: f.opt(&format!("expiry_{i}")),
        });
    }
    let input = ReceiptInput {
        purchase_order_id: Some(id),
        supplier_id: Some(po.supplier_id),
        location: po.location.clone(),
        remito: f.opt("remito"),
        allow_over_receipt: f.get("allow_over_receipt") == "1",
        lines,
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state.app.receive(&viewer.principal, input, meta).await {
        Ok(_) => Ok(Redirect::to(&format!("/compras/ordenes/{id}?ok=recibida")).into_response()),
        Err(app::Error::Conflict { message, .. }) => {
            let mut errors = Errors::default();
            errors.set("general", super::forms::capitalise(&message));
            let dir = Directory::load(&state, &viewer).await?;
            let mut res = render(&detail_page(&viewer, &po, &dir, Some(&f), &errors, ""), t);
            *res.status_mut() = axum::http::StatusCode::CONFLICT;
            Ok(res)
        }
        Err(e) => {
            let errors = field_error(e, t, |path| rename_line(path, &rows, "quantity"))?;
            let dir = Directory::load(&state, &viewer).await?;
            let mut res = render(&detail_page(&viewer, &po, &dir, Some(&f), &errors, ""), t);
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
    }
}
