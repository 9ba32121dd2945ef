//! Caja (POS): choose the till, open and close its shift, and sell with a barcode scanner.
//!
//! The selling screen is driven by `static/pos.js`: it keeps the ticket in progress in
//! sessionStorage, asks `/caja/cotizar` to price it as lines are scanned (the same pricing as
//! the sale, nothing written), and posts the ticket to the JSON API with an Idempotency-Key.
//! The ticket shown and printed afterwards comes from `/caja/ticket/{id}`. Every fragment is
//! rendered here by askama, so product names are escaped on the server.

use askama::Template;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use app::catalog::Location;
use app::sales::{CloseShiftInput, SaleLineInput, Shift, ShiftInput};
use domain::Money;
use domain::auth::Permission;
use domain::sale::PaymentMethod;

use crate::error::PageError;
use crate::layout::Chrome;
use crate::session::{Submitted, same_origin, same_secret};
use crate::{Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/caja", get(till))
        .route("/caja/abrir", post(open))
        .route("/caja/turno/{id}", get(shift_page_get))
        .route("/caja/turno/{id}/cerrar", post(close))
        .route("/caja/cotizar", post(quote))
        .route("/caja/ticket/{id}", get(ticket))
}

pub const EN: &[(&str, &str)] = &[
    (
        "Sin conexión con el servidor: no se pudo agregar. Reintente.",
        "No connection to the server: the code was not added. Try again.",
    ),
    ("Código", "Code"),
    ("Línea quitada.", "Line removed."),
    (
        "Monto inválido: escriba, por ejemplo, 1.234,50.",
        "Invalid amount: type, for example, 1,234.50.",
    ),
    (
        "Con tarjeta o transferencia no se puede pagar más de lo que resta.",
        "Cards and transfers cannot pay more than what remains.",
    ),
    ("Falta cobrar", "Still to collect:"),
    ("Solo el efectivo da vuelto.", "Only cash gives change."),
    ("Confirmando…", "Confirming…"),
    (
        "Sin conexión: no sabemos si la venta se registró. Reintente con F2; no se cobrará dos veces.",
        "No connection: the sale may or may not be recorded. Retry with F2; it will never be charged twice.",
    ),
    ("Venta", "Sale"),
    ("registrada.", "recorded."),
    ("Abrir caja", "Open till"),
    ("Abrir turno", "Open shift"),
    ("Agregar pago", "Add payment"),
    ("Atajos de teclado", "Keyboard shortcuts"),
    ("Caja número", "Till number"),
    ("Cajero/a", "Cashier"),
    ("Cerrar turno", "Close shift"),
    ("Cobrar", "Pay"),
    ("Código o cantidad*código", "Code or quantity*code"),
    ("Confirmar venta", "Confirm sale"),
    ("Contado", "Counted"),
    ("Crédito", "Credit card"),
    ("Descuento", "Discount"),
    ("Diferencia", "Difference"),
    ("Débito", "Debit card"),
    ("Efectivo", "Cash"),
    ("Efectivo contado", "Counted cash"),
    (
        "Elija la ubicación de la caja.",
        "Choose the till's location.",
    ),
    ("Esperado", "Expected"),
    ("Fondo inicial", "Opening float"),
    ("Imprimir", "Print"),
    ("Medio de pago", "Payment method"),
    ("Monto", "Amount"),
    ("Neto", "Net"),
    (
        "No hay ubicaciones habilitadas para su usuario.",
        "Your user has no locations enabled.",
    ),
    ("Nueva venta", "New sale"),
    ("Pagado", "Paid"),
    ("Pagos", "Payments"),
    ("Quitar línea seleccionada", "Remove the selected line"),
    ("Resta", "Remaining"),
    ("Seleccionar línea", "Select a line"),
    ("Subtotal", "Subtotal"),
    ("Ticket", "Ticket"),
    (
        "Ticket vacío: escanee un producto.",
        "Empty ticket: scan a product.",
    ),
    ("Tickets", "Tickets"),
    ("Transferencia / QR", "Transfer / QR"),
    ("Turno", "Shift"),
    ("Turno cerrado", "Shift closed"),
    ("Turno abierto", "Shift open"),
    ("Ubicación", "Location"),
    ("Unitario", "Unit price"),
    ("Ver turno y cerrar", "See shift and close"),
    ("Volver al ticket", "Back to the ticket"),
    ("Vuelto", "Change"),
    (
        "agrega el código escaneado; con el código vacío, cobrar",
        "adds the scanned code; with an empty code, pay",
    ),
    (
        "cobrar; en el cobro, confirmar la venta",
        "pay; when paying, confirm the sale",
    ),
    (
        "en el cobro, quita el último pago",
        "when paying, removes the last payment",
    ),
    (
        "volver al escaneo / vaciar el código",
        "back to scanning / clear the code",
    ),
    ("imprimir el último ticket", "print the last ticket"),
    (
        "vender N unidades (o kg: 0,5*código)",
        "sell N units (or kg: 0.5*code)",
    ),
    (
        "No tiene permiso para operar en esa ubicación.",
        "You may not operate at that location.",
    ),
    (
        "Indique un monto válido, por ejemplo 20.000,00.",
        "Enter a valid amount, e.g. 20,000.00.",
    ),
];

/// The POS script's messages, in the viewer's language (the script holds no text of its own).
const SCRIPT_MESSAGES: &[(&str, &str)] = &[
    (
        "offline_add",
        "Sin conexión con el servidor: no se pudo agregar. Reintente.",
    ),
    ("code", "Código"),
    ("removed", "Línea quitada."),
    ("empty", "Ticket vacío: escanee un producto."),
    (
        "bad_amount",
        "Monto inválido: escriba, por ejemplo, 1.234,50.",
    ),
    (
        "overpay",
        "Con tarjeta o transferencia no se puede pagar más de lo que resta.",
    ),
    ("missing", "Falta cobrar"),
    ("cash_change", "Solo el efectivo da vuelto."),
    ("confirming", "Confirmando…"),
    (
        "offline_sale",
        "Sin conexión: no sabemos si la venta se registró. Reintente con F2; no se cobrará dos veces.",
    ),
    ("sale", "Venta"),
    ("registered", "registrada."),
];

fn script_messages(t: crate::Tr) -> String {
    let map: serde_json::Map<String, serde_json::Value> = SCRIPT_MESSAGES
        .iter()
        .map(|(k, es)| ((*k).to_owned(), serde_json::Value::from(t.s(es))))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Pesos typed the Argentine way ("20.000,50", "$ 1.234") or plainly ("20000.50"), as the
/// API's decimal string. Anything else is passed through for the app to reject by field.
pub fn decimal_input(raw: &str) -> String {
    let s: String = raw
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.contains(',') {
        s.replace('.', "").replace(',', ".")
    } else if s.matches('.').count() > 1 || s.split('.').nth(1).is_some_and(|d| d.len() == 3) {
        // "20.000" is twenty thousand pesos, not twenty with three decimals.
        s.replace('.', "")
    } else {
        s
    }
}

fn method_label(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "Efectivo",
        PaymentMethod::Debit => "Débito",
        PaymentMethod::Credit => "Crédito",
        PaymentMethod::Transfer => "Transferencia / QR",
    }
}

/// The active locations this user may sell at.
async fn usable_locations(state: &WebState, viewer: &Viewer) -> Result<Vec<Location>, PageError> {
    let t = viewer.t;
    let page = state
        .app
        .locations(
            &viewer.principal,
            app::page::PageRequest::first(app::page::MAX_LIMIT),
        )
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    Ok(page
        .items
        .into_iter()
        .filter(|l| l.active && viewer.principal.may_act_on(l.id))
        .collect())
}

fn refused(t: crate::Tr) -> PageError {
    PageError::new(
        t,
        StatusCode::FORBIDDEN,
        t.s("Sin permiso"),
        t.s("No tiene permiso para operar en esa ubicación."),
    )
}

/// Checks that `code` is one of the user's locations.
async fn usable(state: &WebState, viewer: &Viewer, code: &str) -> Result<Location, PageError> {
    usable_locations(state, viewer)
        .await?
        .into_iter()
        .find(|l| l.code.eq_ignore_ascii_case(code.trim()))
        .ok_or_else(|| refused(viewer.t))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct TillQuery {
    #[serde(default)]
    pub ubicacion: String,
    #[serde(default)]
    pub caja: String,
}

fn till_name(raw: &str) -> String {
    let t = raw.trim();
    if t.is_empty() {
        "1".to_owned()
    } else {
        t.to_owned()
    }
}

#[derive(Template)]
#[template(path = "pos/choose.html")]
struct ChoosePage {
    chrome: Chrome,
    locations: Vec<Location>,
    till: String,
}

#[derive(Template)]
#[template(path = "pos/open.html")]
struct OpenPage {
    chrome: Chrome,
    location: String,
    till: String,
    float: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "pos/sell.html")]
struct SellPage {
    chrome: Chrome,
    shift: i64,
    location: String,
    till: String,
    methods: Vec<(&'static str, &'static str)>,
    /// JSON of the script's messages.
    messages: String,
}

async fn till(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<TillQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::SalesWrite)?;
    let t = viewer.t;
    let till = till_name(&q.caja);
    let location = if q.ubicacion.trim().is_empty() {
        let mut all = usable_locations(&state, &viewer).await?;
        if all.len() != 1 {
            let page = ChoosePage {
                chrome: viewer.chrome("/caja", "Caja"),
                locations: all,
                till,
            };
            return Ok(render(&page, t));
        }
        all.remove(0)
    } else {
        usable(&state, &viewer, &q.ubicacion).await?
    };
    let shift = state
        .app
        .current_shift(&viewer.principal, &location.code, &till)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    match shift {
        None => Ok(render(
            &OpenPage {
                chrome: viewer.chrome("/caja", "Caja"),
                location: location.code,
                till,
                float: String::new(),
                error: None,
            },
            t,
        )),
        Some(shift) => Ok(render(
            &SellPage {
                chrome: viewer.chrome("/caja", "Caja"),
                shift: shift.id,
                location: shift.location,
                till: shift.till,
                methods: [
                    PaymentMethod::Cash,
                    PaymentMethod::Debit,
                    PaymentMethod::Credit,
                    PaymentMethod::Transfer,
                ]
                .into_iter()
                .map(|m| (m.as_str(), t.s(method_label(m))))
                .collect(),
                messages: script_messages(t),
            },
            t,
        )),
    }
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    ubicacion: String,
    #[serde(default)]
    caja: String,
    #[serde(default)]
    fondo: String,
}

async fn open(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<OpenForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::SalesWrite)?;
    let t = viewer.t;
    let location = usable(&state, &viewer, &form.ubicacion).await?;
    let till = till_name(&form.caja);
    let input = ShiftInput {
        location: location.code.clone(),
        till: till.clone(),
        opening_float: decimal_input(&form.fondo),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state.app.open_shift(&viewer.principal, input, meta).await {
        Ok(_) => {
            let q = serde_urlencoded::to_string([("ubicacion", &location.code), ("caja", &till)])
                .unwrap_or_default();
            Ok(Redirect::to(&format!("/caja?{q}")).into_response())
        }
        Err(app::Error::Invalid { field, .. }) if field == "opening_float" => {
            let mut res = render(
                &OpenPage {
                    chrome: viewer.chrome("/caja", "Caja"),
                    location: location.code,
                    till,
                    float: form.fondo,
                    error: Some(
                        t.s("Indique un monto válido, por ejemplo 20.000,00.")
                            .to_owned(),
                    ),
                },
                t,
            );
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(PageError::from_app(e, t)),
    }
}

pub struct AmountRow {
    pub method: &'static str,
    pub expected: String,
    pub counted: String,
    pub difference: String,
    pub short: bool,
}

#[derive(Template)]
#[template(path = "pos/shift.html")]
struct ShiftPage {
    chrome: Chrome,
    id: i64,
    location: String,
    till: String,
    open: bool,
    opened: String,
    closed: String,
    opening_float: String,
    tickets: String,
    rows: Vec<AmountRow>,
    /// The closing form: counted amounts typed so far, the error next to the field at fault.
    fields: Vec<CloseField>,
}

pub struct CloseField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<&'static str>,
}

fn shift_rows(s: &Shift, t: crate::Tr) -> Vec<AmountRow> {
    s.expected
        .iter()
        .map(|e| {
            let find = |list: &[app::sales::MethodAmount]| {
                list.iter().find(|m| m.method == e.method).map(|m| m.amount)
            };
            let diff = find(&s.difference);
            AmountRow {
                method: t.s(method_label(e.method)),
                expected: format::money(e.amount),
                counted: find(&s.counted).map(format::money).unwrap_or_default(),
                difference: diff.map(format::money).unwrap_or_default(),
                short: diff.is_some_and(|d| d.minor() < 0),
            }
        })
        .collect()
}

async fn load_shift(state: &WebState, viewer: &Viewer, id: i64) -> Result<Shift, PageError> {
    let t = viewer.t;
    let shift = state
        .app
        .shift(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    usable(state, viewer, &shift.location).await?;
    Ok(shift)
}

fn shift_page(viewer: &Viewer, s: Shift, form: CloseForm, error: Option<&str>) -> ShiftPage {
    let t = viewer.t;
    ShiftPage {
        chrome: viewer.chrome("/caja", "Turno"),
        id: s.id,
        rows: shift_rows(&s, t),
        location: s.location,
        till: s.till,
        open: s.status == "open",
        opened: format!("{} · {}", format::date_time(s.opened_at), s.opened_by),
        closed: match (s.closed_at, s.closed_by) {
            (Some(at), Some(by)) => format!("{} · {by}", format::date_time(at)),
            _ => String::new(),
        },
        opening_float: format::money(s.opening_float),
        tickets: format::count(s.tickets),
        fields: [
            ("efectivo", "Efectivo contado", form.efectivo),
            ("debito", "Débito", form.debito),
            ("credito", "Crédito", form.credito),
            ("transferencia", "Transferencia / QR", form.transferencia),
        ]
        .into_iter()
        .map(|(name, label, value)| CloseField {
            name,
            label: t.s(label),
            value,
            error: (error == Some(name))
                .then_some(t.s("Indique un monto válido, por ejemplo 20.000,00.")),
        })
        .collect(),
    }
}

async fn shift_page_get(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require(Permission::SalesWrite)?;
    let s = load_shift(&state, &viewer, id).await?;
    Ok(render(
        &shift_page(&viewer, s, CloseForm::default(), None),
        viewer.t,
    ))
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    pub efectivo: String,
    #[serde(default)]
    pub debito: String,
    #[serde(default)]
    pub credito: String,
    #[serde(default)]
    pub transferencia: String,
}

fn optional(raw: &str) -> Option<String> {
    let r = raw.trim();
    (!r.is_empty()).then(|| decimal_input(r))
}

async fn close(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Submitted { viewer, form }: Submitted<CloseForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::SalesWrite)?;
    let t = viewer.t;
    let shift = load_shift(&state, &viewer, id).await?;
    let input = CloseShiftInput {
        cash: decimal_input(&form.efectivo),
        debit: optional(&form.debito),
        credit: optional(&form.credito),
        transfer: optional(&form.transferencia),
    };
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .close_shift(&viewer.principal, id, input, meta)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/caja/turno/{id}")).into_response()),
        Err(app::Error::Invalid { field, .. }) => {
            let name = match field.as_str() {
                "debit" => "debito",
                "credit" => "credito",
                "transfer" => "transferencia",
                _ => "efectivo",
            };
            let mut res = render(&shift_page(&viewer, shift, form, Some(name)), t);
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(PageError::from_app(e, t)),
    }
}

// ---------------------------------------------------------------- the running ticket

#[derive(Deserialize)]
pub struct QuoteRequest {
    pub lines: Vec<SaleLineInput>,
    #[serde(default)]
    pub discount: Option<String>,
}

pub struct QuoteRow {
    pub name: String,
    pub sku: String,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
}

pub struct VatRow {
    pub rate: String,
    pub net: String,
    pub vat: String,
}

#[derive(Template)]
#[template(path = "pos/lines.html")]
struct LinesFragment {
    t: crate::Tr,
    rows: Vec<QuoteRow>,
    subtotal: String,
    discount: Option<String>,
    total: String,
    vat: Vec<VatRow>,
}

fn vat_rows(vat: &[app::sales::VatLine]) -> Vec<VatRow> {
    vat.iter()
        .map(|v| VatRow {
            rate: format!("{} %", v.rate).replace('.', ","),
            net: format::money(v.net),
            vat: format::money(v.vat),
        })
        .collect()
}

/// The line number (0-based) an error's field names, e.g. `lines[2].barcode` → 2.
fn line_of(field: &str) -> Option<usize> {
    field
        .strip_prefix("lines[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

fn json_error(status: StatusCode, message: String, line: Option<usize>) -> Response {
    (status, Json(json!({ "message": message, "line": line }))).into_response()
}

/// Prices the ticket in progress; the POS script posts it as JSON with the page's CSRF token
/// in `x-csrf-token` (nothing is written, but the answer is only for this session's page).
/// A line the shop cannot sell (unknown code, inactive product, bad quantity) answers
/// `{"error": {"message", "line"}}`.
async fn quote(
    State(state): State<WebState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let t = viewer.t;
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !same_origin(&headers) || !same_secret(token, &viewer.csrf) {
        return json_error(
            StatusCode::FORBIDDEN,
            t.s("El formulario no es válido o venció. Vuelva a la página e intente de nuevo.")
                .to_owned(),
            None,
        );
    }
    let req: QuoteRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::BAD_REQUEST, e.to_string(), None),
    };
    if req.lines.is_empty() {
        let page = LinesFragment {
            t,
            rows: Vec::new(),
            subtotal: format::money(Money::ZERO),
            discount: None,
            total: format::money(Money::ZERO),
            vat: Vec::new(),
        };
        return match page.render() {
            Ok(html) => Json(json!({"html": html, "total": "0.00", "total_text": format::money(Money::ZERO), "lines": []})).into_response(),
            Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
        };
    }
    match state
        .app
        .quote_sale(&viewer.principal, &req.lines, req.discount.as_deref())
        .await
    {
        Ok(q) => {
            let page = LinesFragment {
                t,
                rows: q
                    .lines
                    .iter()
                    .map(|l| QuoteRow {
                        name: l.name.clone(),
                        sku: l.sku.clone(),
                        quantity: format::qty(l.quantity, l.unit),
                        unit_price: format::money(l.unit_price),
                        total: format::money(l.total),
                    })
                    .collect(),
                subtotal: format::money(q.subtotal),
                discount: q.discount.is_positive().then(|| format::money(q.discount)),
                total: format::money(q.total),
                vat: vat_rows(&q.vat),
            };
            match page.render() {
                Ok(html) => Json(json!({
                    "html": html,
                    "total": q.total.to_string(),
                    "total_text": format::money(q.total),
                    "lines": q.lines.iter().map(|l| json!({"scale": l.scale})).collect::<Vec<_>>(),
                }))
                .into_response(),
                Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
            }
        }
        Err(
            app::Error::Invalid { field, message, .. }
            | app::Error::UnknownReference { field, message, .. },
        ) => {
            // A code the shop does not sell is an everyday answer at the till, not a failed
            // request: 200 with the refusal, so the browser logs no error for it.
            Json(json!({"error": {"message": message, "line": line_of(&field)}})).into_response()
        }
        Err(e) => {
            let page = PageError::from_app(e, t);
            json_error(page.status, page.detail, None)
        }
    }
}

// ---------------------------------------------------------------- the printed ticket

pub struct TicketLine {
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub total: String,
}

#[derive(Template)]
#[template(path = "pos/ticket.html")]
struct TicketFragment {
    t: crate::Tr,
    id: i64,
    location: String,
    date: String,
    cashier: String,
    lines: Vec<TicketLine>,
    subtotal: String,
    discount: Option<String>,
    total: String,
    vat: Vec<VatRow>,
    payments: Vec<(&'static str, String)>,
    change: String,
}

async fn ticket(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    viewer.require(Permission::SalesWrite)?;
    let t = viewer.t;
    let sale = state
        .app
        .sale(&viewer.principal, id)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    usable(&state, &viewer, &sale.location).await?;
    let page = TicketFragment {
        t,
        id: sale.id,
        location: sale.location.clone(),
        date: format::date_time(sale.created_at),
        cashier: sale.cashier.clone(),
        lines: sale
            .lines
            .iter()
            .map(|l| TicketLine {
                name: l.name.clone(),
                quantity: l.quantity.format_ar(),
                unit_price: format::money(l.unit_price),
                total: format::money(l.total),
            })
            .collect(),
        subtotal: format::money(sale.subtotal),
        discount: sale
            .discount
            .is_positive()
            .then(|| format::money(sale.discount)),
        total: format::money(sale.total),
        vat: vat_rows(&sale.vat),
        payments: sale
            .payments
            .iter()
            .map(|p| (t.s(method_label(p.method)), format::money(p.amount)))
            .collect(),
        change: format::money(sale.change),
    };
    Ok(render(&page, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pesos_typed_the_argentine_way_become_decimals() {
        assert_eq!(decimal_input("20.000,50"), "20000.50");
        assert_eq!(decimal_input("$ 1.234"), "1234");
        assert_eq!(decimal_input("20.000"), "20000");
        assert_eq!(decimal_input("1.000.000"), "1000000");
        assert_eq!(decimal_input("1234.5"), "1234.5");
        assert_eq!(decimal_input(" 150 "), "150");
        assert_eq!(decimal_input("mucho"), "mucho");
    }

    #[test]
    fn errors_name_their_ticket_line() {
        assert_eq!(line_of("lines[3].barcode"), Some(3));
        assert_eq!(line_of("payments[0].amount"), None);
        assert_eq!(line_of("lines"), None);
    }
}
