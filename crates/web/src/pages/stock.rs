//! Stock: levels per location, critical stock with deficits, the movement log, transfers and
//! counts (a count works on a phone: its scanner types the code and Enter, each scan adds a
//! line or adds one to it). A user limited to some locations sees and acts only there.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;

use app::catalog::{Location, ProductQuery};
use app::page::PageRequest;
use app::stock::{
    CriticalQuery, CriticalStock, LevelQuery, MovementInput, MovementQuery, TransferInput,
};
use domain::auth::Permission;
use domain::catalog::UnitOfMeasure;
use domain::ledger::MovementKind;

use super::Paging;
use crate::csv::Csv;
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Submitted, Tr, Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/stock", get(levels))
        .route("/stock.csv", get(levels_csv))
        .route("/stock/criticos", get(critical))
        .route("/stock/criticos.csv", get(critical_csv))
        .route("/stock/movimientos", get(movements))
        .route("/stock/movimientos.csv", get(movements_csv))
        .route("/stock/transferencias", get(transfer_form).post(transfer))
        .route("/stock/conteos", get(count_form).post(count))
}

const PAGE_SIZE: u32 = 50;

pub const EN: &[(&str, &str)] = &[
    ("Agregar", "Add"),
    ("Ajuste", "Adjustment"),
    (
        "Cantidades por código, una línea cada una: «código cantidad».",
        "Quantities by code, one per line: “code quantity”.",
    ),
    ("Conteo", "Count"),
    ("Conteo registrado", "Count recorded"),
    ("Conteos", "Counts"),
    ("Contado", "Counted"),
    ("Críticos", "Critical"),
    ("Déficit", "Deficit"),
    ("productos en stock crítico", "products at critical stock"),
    ("Desde", "From"),
    ("Destino", "To"),
    ("Devolución", "Return"),
    ("Después", "After"),
    ("Egreso", "Issue"),
    ("Escanear código", "Scan code"),
    ("Hasta", "Until"),
    ("Ingreso", "Receipt"),
    ("Líneas", "Lines"),
    ("Lote", "Lot"),
    ("Mínimo", "Minimum"),
    ("Niveles", "Levels"),
    (
        "No hay productos en stock crítico.",
        "No products at critical stock.",
    ),
    ("Origen", "From"),
    ("Registrar conteo", "Record count"),
    ("Registrar transferencia", "Record transfer"),
    ("Stock crítico", "Critical stock"),
    ("Tipo", "Kind"),
    ("Todas las ubicaciones", "All locations"),
    ("Todos los tipos", "All kinds"),
    ("Transferencia entrante", "Transfer in"),
    ("Transferencia saliente", "Transfer out"),
    ("Transferencia registrada", "Transfer recorded"),
    ("Transferencias", "Transfers"),
    ("Ubicación", "Location"),
    ("Umbral", "Threshold"),
    ("Vence", "Expires"),
    ("Venta", "Sale"),
    ("Movimientos de stock", "Stock movements"),
    ("En stock", "On hand"),
    ("Filtrar", "Filter"),
    ("Producto (SKU o código)", "Product (SKU or barcode)"),
];

fn kind_label(k: MovementKind) -> &'static str {
    match k {
        MovementKind::Receipt => "Ingreso",
        MovementKind::Issue => "Egreso",
        MovementKind::Adjustment => "Ajuste",
        MovementKind::TransferOut => "Transferencia saliente",
        MovementKind::TransferIn => "Transferencia entrante",
        MovementKind::Count => "Conteo",
        MovementKind::Sale => "Venta",
        _ => "Devolución",
    }
}

const KINDS: &[MovementKind] = &[
    MovementKind::Receipt,
    MovementKind::Issue,
    MovementKind::Adjustment,
    MovementKind::TransferOut,
    MovementKind::TransferIn,
    MovementKind::Count,
    MovementKind::Sale,
    MovementKind::Return,
];

// ---------------------------------------------------------------- shared

/// The locations the viewer may see, in code order.
async fn my_locations(state: &WebState, viewer: &Viewer) -> Result<Vec<Location>, PageError> {
    let all = state
        .app
        .locations(&viewer.principal, PageRequest::first(app::page::MAX_LIMIT))
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(all
        .items
        .into_iter()
        .filter(|l| viewer.principal.may_act_on(l.id))
        .collect())
}

/// The location a list shows: the one asked for if allowed; a limited user who asked for none
/// gets their first location, since "all" would include others.
fn pick_location(
    viewer: &Viewer,
    mine: &[Location],
    asked: &str,
) -> Result<Option<String>, PageError> {
    let asked = asked.trim();
    if asked.is_empty() {
        return Ok(if viewer.principal.locations.is_some() {
            mine.first().map(|l| l.code.clone())
        } else {
            None
        });
    }
    if mine.iter().any(|l| l.code.eq_ignore_ascii_case(asked))
        || viewer.principal.locations.is_none()
    {
        Ok(Some(asked.to_uppercase()))
    } else {
        Err(PageError::from_app(
            app::Error::Forbidden(format!("sin permiso para la ubicación {asked}")),
            viewer.t,
        ))
    }
}

/// The first product a query finds.
async fn first_product(
    state: &WebState,
    viewer: &Viewer,
    query: ProductQuery,
) -> Result<Option<i64>, PageError> {
    let page = state
        .app
        .products(&viewer.principal, query, PageRequest::first(1))
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(page.items.first().map(|p| p.id))
}

/// The product with exactly this SKU or barcode, each looked up on its own index.
async fn product_with_code(
    state: &WebState,
    viewer: &Viewer,
    code: &str,
) -> Result<Option<i64>, PageError> {
    let by_sku = ProductQuery {
        sku: Some(code.to_owned()),
        ..Default::default()
    };
    if let Some(id) = first_product(state, viewer, by_sku).await? {
        return Ok(Some(id));
    }
    if !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    let by_barcode = ProductQuery {
        barcode: Some(code.to_owned()),
        ..Default::default()
    };
    first_product(state, viewer, by_barcode).await
}

/// The product a filter names by SKU, barcode or name: an exact code first, then the first
/// text match (which has to read the catalogue).
async fn find_product(
    state: &WebState,
    viewer: &Viewer,
    q: &str,
) -> Result<Option<i64>, PageError> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(None);
    }
    if let Some(id) = product_with_code(state, viewer, q).await? {
        return Ok(Some(id));
    }
    let by_text = ProductQuery {
        q: Some(q.to_owned()),
        ..Default::default()
    };
    // Nothing matches: a product id no row has, so the table is empty rather than unfiltered.
    Ok(Some(
        first_product(state, viewer, by_text).await?.unwrap_or(-1),
    ))
}

fn qs(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(
        pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default()
}

// ---------------------------------------------------------------- levels

#[derive(Clone, Debug, Default, Deserialize)]
pub struct LevelFilter {
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub q: String,
    #[serde(flatten)]
    pub paging: Paging,
}

pub struct LevelRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    pub lot: String,
    pub expiry: String,
    pub on_hand: String,
}

#[derive(Template)]
#[template(path = "stock/levels.html")]
struct LevelsPage {
    chrome: Chrome,
    all_locations: bool,
    filter: LevelFilter,
    location: String,
    locations: Vec<Location>,
    rows: Vec<LevelRow>,
    next: Option<String>,
    export: String,
}

async fn level_query(
    state: &WebState,
    viewer: &Viewer,
    f: &LevelFilter,
) -> Result<(Vec<Location>, Option<String>, LevelQuery), PageError> {
    viewer.require(Permission::StockRead)?;
    let mine = my_locations(state, viewer).await?;
    let location = pick_location(viewer, &mine, &f.location)?;
    let product_id = find_product(state, viewer, &f.q).await?;
    Ok((
        mine,
        location.clone(),
        LevelQuery {
            product_id,
            location,
        },
    ))
}

fn level_row(l: &app::stock::StockLevel) -> LevelRow {
    LevelRow {
        product_id: l.product_id,
        sku: l.sku.clone(),
        name: l.name.clone(),
        location: l.location.clone(),
        lot: l.lot.clone().unwrap_or_default(),
        expiry: l.expiry.map(format::date).unwrap_or_default(),
        on_hand: format::qty(l.on_hand, l.unit),
    }
}

async fn levels(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<LevelFilter>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let (locations, location, q) = level_query(&state, &viewer, &f).await?;
    let page = state
        .app
        .stock_levels(&viewer.principal, q, f.paging.request(PAGE_SIZE))
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let location = location.unwrap_or_default();
    let base = [("location", location.as_str()), ("q", f.q.as_str())];
    let next = page.next_cursor.as_deref().map(|c| {
        let mut p = base.to_vec();
        p.push(("cursor", c));
        qs(&p)
    });
    Ok(render(
        &LevelsPage {
            chrome: viewer.chrome("/stock", "Stock"),
            all_locations: viewer.principal.locations.is_none(),
            rows: page.items.iter().map(level_row).collect(),
            export: format!("/stock.csv?{}", qs(&base)),
            filter: f,
            location,
            locations,
            next,
        },
        t,
    ))
}

async fn levels_csv(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<LevelFilter>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let (_, _, q) = level_query(&state, &viewer, &f).await?;
    let mut csv = Csv::new(
        "stock",
        &[
            "SKU",
            t.s("Nombre"),
            t.s("Ubicación"),
            t.s("Lote"),
            t.s("Vence"),
            t.s("En stock"),
        ],
    );
    super::export_all(
        t,
        |request| {
            state
                .app
                .stock_levels(&viewer.principal, q.clone(), request)
        },
        |l| {
            let r = level_row(l);
            let qty = match l.unit {
                UnitOfMeasure::Unit => l.on_hand.format_ar(),
                _ => l.on_hand.format_ar_fixed3(),
            };
            csv.row([
                r.sku.as_str(),
                &r.name,
                &r.location,
                &r.lot,
                &r.expiry,
                &qty,
            ]);
        },
    )
    .await?;
    Ok(csv.into_response())
}

// ---------------------------------------------------------------- critical

#[derive(Clone, Debug, Default, Deserialize)]
pub struct CriticalFilter {
    #[serde(default)]
    pub location: String,
    /// Page number, from 1; the report is computed whole (it is sorted by deficit).
    #[serde(default)]
    pub pagina: Option<usize>,
}

pub struct CriticalRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    pub min_stock: String,
    pub threshold: String,
    pub on_hand: String,
    pub deficit: String,
}

#[derive(Template)]
#[template(path = "stock/critical.html")]
struct CriticalPage {
    chrome: Chrome,
    location: String,
    locations: Vec<Location>,
    rows: Vec<CriticalRow>,
    total: String,
    next: Option<String>,
    export: String,
}

async fn critical_rows(
    state: &WebState,
    viewer: &Viewer,
    f: &CriticalFilter,
    window: Option<(u32, u32)>,
) -> Result<(Vec<Location>, String, u64, Vec<CriticalStock>), PageError> {
    viewer.require(Permission::StockRead)?;
    let mine = my_locations(state, viewer).await?;
    let location = if f.location.trim().is_empty() {
        None
    } else {
        pick_location(viewer, &mine, &f.location)?
    };
    let q = CriticalQuery {
        location: location.clone(),
        date: None,
    };
    let app_error = |e| PageError::from_app(e, viewer.t);
    // The database pages the report, except for a user limited to several stores who asked
    // for none: their rows are picked from the whole report here.
    let (total, rows) = match window {
        Some((offset, limit)) if location.is_some() || viewer.principal.locations.is_none() => {
            state
                .app
                .critical_stock_page(&viewer.principal, q, offset, limit)
                .await
                .map_err(app_error)?
        }
        _ => {
            let rows: Vec<CriticalStock> = state
                .app
                .critical_stock(&viewer.principal, q)
                .await
                .map_err(app_error)?
                .into_iter()
                .filter(|r| mine.iter().any(|l| l.code == r.location))
                .collect();
            let total = rows.len() as u64;
            let rows = match window {
                Some((offset, limit)) => rows
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect(),
                None => rows,
            };
            (total, rows)
        }
    };
    Ok((mine, location.unwrap_or_default(), total, rows))
}

/// Formats one report row; only the rows a page shows are formatted.
fn critical_row(r: CriticalStock) -> CriticalRow {
    CriticalRow {
        product_id: r.product_id,
        sku: r.sku,
        name: r.name,
        location: r.location,
        min_stock: r.min_stock.format_ar(),
        threshold: r.threshold.format_ar(),
        on_hand: r.on_hand.format_ar(),
        deficit: r.deficit.format_ar(),
    }
}

async fn critical(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<CriticalFilter>,
) -> Result<Response, PageError> {
    let page = u32::try_from(f.pagina.unwrap_or(1).max(1)).unwrap_or(u32::MAX);
    let skip = (page - 1).saturating_mul(PAGE_SIZE);
    let (locations, location, total, rows) =
        critical_rows(&state, &viewer, &f, Some((skip, PAGE_SIZE))).await?;
    let next = (total > u64::from(skip) + u64::from(PAGE_SIZE))
        .then(|| qs(&[("location", &location), ("pagina", &(page + 1).to_string())]));
    let total = format::count(i64::try_from(total).unwrap_or(i64::MAX));
    let rows: Vec<CriticalRow> = rows.into_iter().map(critical_row).collect();
    Ok(render(
        &CriticalPage {
            chrome: viewer.chrome("/stock", "Stock crítico"),
            export: format!("/stock/criticos.csv?{}", qs(&[("location", &location)])),
            location,
            locations,
            rows,
            total,
            next,
        },
        viewer.t,
    ))
}

async fn critical_csv(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<CriticalFilter>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let (_, _, _, rows) = critical_rows(&state, &viewer, &f, None).await?;
    let mut csv = Csv::new(
        "stock-critico",
        &[
            "SKU",
            t.s("Nombre"),
            t.s("Ubicación"),
            t.s("Mínimo"),
            t.s("Umbral"),
            t.s("En stock"),
            t.s("Déficit"),
        ],
    );
    for r in rows.into_iter().map(critical_row) {
        csv.row([
            r.sku.as_str(),
            &r.name,
            &r.location,
            &r.min_stock,
            &r.threshold,
            &r.on_hand,
            &r.deficit,
        ]);
    }
    Ok(csv.into_response())
}

// ---------------------------------------------------------------- movements

#[derive(Clone, Debug, Default, Deserialize)]
pub struct MovementFilterForm {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub kind: String,
    /// DD/MM/AAAA, shop calendar.
    #[serde(default)]
    pub desde: String,
    #[serde(default)]
    pub hasta: String,
    #[serde(flatten)]
    pub paging: Paging,
}

pub struct MovementRow {
    pub id: i64,
    pub at: String,
    pub sku: String,
    pub location: String,
    pub kind: &'static str,
    pub quantity: String,
    pub after: String,
    pub lot: String,
    pub document: String,
    pub user: String,
}

pub struct KindOption {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "stock/movements.html")]
struct MovementsPage {
    chrome: Chrome,
    all_locations: bool,
    filter: MovementFilterForm,
    location: String,
    locations: Vec<Location>,
    kinds: Vec<KindOption>,
    errors: Vec<(&'static str, String)>,
    rows: Vec<MovementRow>,
    next: Option<String>,
    export: String,
}

impl MovementsPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// Parses a DD/MM/AAAA date; `Err` carries the Spanish message for the field.
pub fn parse_date_ar(s: &str) -> Result<Option<NaiveDate>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%d/%m/%Y")
        .map(Some)
        .map_err(|_| {
            format!("«{s}» no es una fecha válida; use DD/MM/AAAA, por ejemplo 28/11/2026")
        })
}

struct MovementPlan {
    locations: Vec<Location>,
    location: String,
    query: MovementQuery,
    errors: Vec<(&'static str, String)>,
}

async fn movement_plan(
    state: &WebState,
    viewer: &Viewer,
    f: &MovementFilterForm,
) -> Result<MovementPlan, PageError> {
    viewer.require(Permission::StockRead)?;
    let mine = my_locations(state, viewer).await?;
    let location = pick_location(viewer, &mine, &f.location)?;
    let product_id = find_product(state, viewer, &f.q).await?;
    let mut errors = Vec::new();
    let since = parse_date_ar(&f.desde).unwrap_or_else(|e| {
        errors.push(("desde", e));
        None
    });
    let until = parse_date_ar(&f.hasta).unwrap_or_else(|e| {
        errors.push(("hasta", e));
        None
    });
    if let (Some(a), Some(b)) = (since, until)
        && b < a
    {
        errors.push(("hasta", "la fecha «hasta» es anterior a «desde»".to_owned()));
    }
    let kind = KINDS
        .iter()
        .find(|k| k.as_str() == f.kind)
        .map(|k| k.as_str().to_owned());
    let micros = |d: NaiveDate| app::clock_instant(app::reports::day_start_micros(d));
    Ok(MovementPlan {
        locations: mine,
        location: location.clone().unwrap_or_default(),
        query: MovementQuery {
            product_id,
            location,
            kind,
            since: since.map(micros),
            until: until.and_then(|d| d.succ_opt()).map(micros),
        },
        errors,
    })
}

fn movement_row(m: &app::stock::Movement) -> MovementRow {
    MovementRow {
        id: m.id,
        at: format::date_time(m.created_at),
        sku: m.sku.clone(),
        location: m.location.clone(),
        kind: kind_label(m.kind),
        quantity: m.quantity.format_ar(),
        after: m.after.format_ar(),
        lot: m.lot.clone().unwrap_or_default(),
        document: m.document.clone().unwrap_or_default(),
        user: m.user.clone(),
    }
}

async fn movements(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<MovementFilterForm>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let plan = movement_plan(&state, &viewer, &f).await?;
    let (rows, next_cursor) = if plan.errors.is_empty() {
        let page = state
            .app
            .movements(
                &viewer.principal,
                plan.query.clone(),
                f.paging.request(PAGE_SIZE),
            )
            .await
            .map_err(|e| PageError::from_app(e, t))?;
        (
            page.items.iter().map(movement_row).collect(),
            page.next_cursor,
        )
    } else {
        (Vec::new(), None)
    };
    let base = [
        ("q", f.q.as_str()),
        ("location", plan.location.as_str()),
        ("kind", f.kind.as_str()),
        ("desde", f.desde.as_str()),
        ("hasta", f.hasta.as_str()),
    ];
    let next = next_cursor.as_deref().map(|c| {
        let mut p = base.to_vec();
        p.push(("cursor", c));
        qs(&p)
    });
    let failed = !plan.errors.is_empty();
    let mut res = render(
        &MovementsPage {
            chrome: viewer.chrome("/stock", "Movimientos de stock"),
            all_locations: viewer.principal.locations.is_none(),
            export: format!("/stock/movimientos.csv?{}", qs(&base)),
            kinds: KINDS
                .iter()
                .map(|k| KindOption {
                    value: k.as_str(),
                    label: t.s(kind_label(*k)),
                })
                .collect(),
            location: plan.location,
            locations: plan.locations,
            errors: plan.errors,
            filter: f,
            rows,
            next,
        },
        t,
    );
    if failed {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(res)
}

async fn movements_csv(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<MovementFilterForm>,
) -> Result<Response, PageError> {
    let t = viewer.t;
    let plan = movement_plan(&state, &viewer, &f).await?;
    if let Some((_, e)) = plan.errors.first() {
        return Err(PageError::new(
            t,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            t.s("Dato inválido"),
            e.clone(),
        ));
    }
    let mut csv = Csv::new(
        "movimientos",
        &[
            "ID",
            t.s("Fecha"),
            "SKU",
            t.s("Ubicación"),
            t.s("Tipo"),
            t.s("Cantidad"),
            t.s("Después"),
            t.s("Lote"),
            "Documento",
            t.s("Usuario"),
        ],
    );
    super::export_all(
        t,
        |request| {
            state
                .app
                .movements(&viewer.principal, plan.query.clone(), request)
        },
        |m| {
            let r = movement_row(m);
            let id = r.id.to_string();
            csv.row([
                id.as_str(),
                &r.at,
                &r.sku,
                &r.location,
                t.s(r.kind),
                &r.quantity,
                &r.after,
                &r.lot,
                &r.document,
                &r.user,
            ]);
        },
    )
    .await?;
    Ok(csv.into_response())
}

// ---------------------------------------------------------------- transfer and count forms

#[derive(Clone, Debug, Default, Deserialize)]
pub struct LinesForm {
    #[serde(default)]
    pub origen: String,
    #[serde(default)]
    pub destino: String,
    #[serde(default)]
    pub location: String,
    /// One line per product: "código cantidad" (or "código;cantidad"); a bare code counts 1.
    #[serde(default)]
    pub lineas: String,
    #[serde(default)]
    pub ok: Option<String>,
}

#[derive(Template)]
#[template(path = "stock/lines_form.html")]
struct LinesPage {
    chrome: Chrome,
    /// "transfer" or "count".
    mode: &'static str,
    action: &'static str,
    form: LinesForm,
    locations: Vec<Location>,
    errors: Vec<(&'static str, String)>,
    done: Option<String>,
}

impl LinesPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// A line of the form: the code (SKU or barcode) and the quantity text.
pub fn parse_lines(text: &str) -> Result<Vec<(usize, String, String)>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line
            .split(|c: char| c == ';' || c == '\t' || c.is_whitespace())
            .filter(|p| !p.is_empty());
        let code = parts.next().unwrap_or_default().to_owned();
        let qty = parts.next().unwrap_or("1").replace(',', ".");
        if parts.next().is_some() {
            return Err(format!(
                "línea {}: escriba «código cantidad», sin más datos",
                i + 1
            ));
        }
        out.push((i + 1, code, qty));
    }
    if out.is_empty() {
        return Err("agregue al menos una línea con código y cantidad".to_owned());
    }
    Ok(out)
}

fn lines_page(
    viewer: &Viewer,
    mode: &'static str,
    form: LinesForm,
    locations: Vec<Location>,
    errors: Vec<(&'static str, String)>,
) -> Response {
    let (action, title) = if mode == "transfer" {
        ("/stock/transferencias", "Transferencias")
    } else {
        ("/stock/conteos", "Conteos")
    };
    let done = form
        .ok
        .as_deref()
        .and_then(|n| n.parse::<i64>().ok())
        .map(|n| {
            let what = if mode == "transfer" {
                viewer.t.s("Transferencia registrada")
            } else {
                viewer.t.s("Conteo registrado")
            };
            format!(
                "{what}: {} {}",
                format::count(n),
                viewer.t.s("Movimientos").to_lowercase()
            )
        });
    let failed = !errors.is_empty();
    let mut res = render(
        &LinesPage {
            chrome: viewer.chrome("/stock", title),
            mode,
            action,
            form,
            locations,
            errors,
            done,
        },
        viewer.t,
    );
    if failed {
        *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    res
}

async fn transfer_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(form): Query<LinesForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::StockWrite)?;
    let locations = my_locations(&state, &viewer).await?;
    Ok(lines_page(&viewer, "transfer", form, locations, Vec::new()))
}

async fn count_form(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(form): Query<LinesForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::StockCount)?;
    let locations = my_locations(&state, &viewer).await?;
    Ok(lines_page(&viewer, "count", form, locations, Vec::new()))
}

/// Maps an application error to the form field it concerns, in Spanish.
fn field_error(
    e: app::Error,
    line: Option<usize>,
    t: Tr,
) -> Result<(&'static str, String), PageError> {
    let on_line = |m: String| match line {
        Some(n) => format!("línea {n}: {m}"),
        None => m,
    };
    match e {
        app::Error::Invalid { field, message, .. }
        | app::Error::UnknownReference { field, message } => {
            let f = field.rsplit('.').next().unwrap_or("");
            Ok(match f {
                "from" => ("origen", message),
                "to" => ("destino", message),
                "location" | "code" => ("location", message),
                _ => ("lineas", on_line(message)),
            })
        }
        app::Error::NotFound { entity, key } => {
            Ok(("lineas", on_line(format!("{entity} {key} no existe"))))
        }
        e @ app::Error::InsufficientStock(_) => Ok(("lineas", on_line(e.to_string()))),
        app::Error::Forbidden(m) => Ok(("location", m)),
        e => Err(PageError::from_app(e, t)),
    }
}

/// Whether a product has exactly this SKU or barcode.
async fn product_exists(state: &WebState, viewer: &Viewer, code: &str) -> Result<bool, PageError> {
    Ok(product_with_code(state, viewer, code).await?.is_some())
}

fn product_by_code(code: &str) -> (Option<String>, Option<String>) {
    // Barcodes are digits (EAN/UPC); anything else is a SKU.
    if code.len() >= 8 && code.chars().all(|c| c.is_ascii_digit()) {
        (None, Some(code.to_owned()))
    } else {
        (Some(code.to_owned()), None)
    }
}

async fn transfer(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<LinesForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::StockWrite)?;
    let t = viewer.t;
    let locations = my_locations(&state, &viewer).await?;
    let mut errors = Vec::new();
    if form.origen.trim().is_empty() {
        errors.push(("origen", "elija la ubicación de origen".to_owned()));
    }
    if form.destino.trim().is_empty() {
        errors.push(("destino", "elija la ubicación de destino".to_owned()));
    }
    let lines = match parse_lines(&form.lineas) {
        Ok(l) => l,
        Err(m) => {
            errors.push(("lineas", m));
            Vec::new()
        }
    };
    let inputs: Vec<(usize, TransferInput)> = lines
        .into_iter()
        .map(|(n, code, quantity)| {
            let (sku, barcode) = product_by_code(&code);
            (
                n,
                TransferInput {
                    product_id: None,
                    sku,
                    barcode,
                    from: form.origen.clone(),
                    to: form.destino.clone(),
                    quantity,
                    lot: None,
                    reason: None,
                },
            )
        })
        .collect();
    if errors.is_empty() {
        // Every line is checked, its product included, before any is written.
        for (n, input) in &inputs {
            if let Err(e) = input.clone().parse() {
                errors.push(field_error(e, Some(*n), t)?);
                break;
            }
            let code = input
                .sku
                .as_deref()
                .or(input.barcode.as_deref())
                .unwrap_or("");
            if !product_exists(&state, &viewer, code).await? {
                errors.push((
                    "lineas",
                    format!("línea {n}: no hay un producto con SKU o código de barras «{code}»"),
                ));
                break;
            }
        }
    }
    if !errors.is_empty() {
        return Ok(lines_page(&viewer, "transfer", form, locations, errors));
    }
    let mut written = 0usize;
    for (n, input) in inputs {
        let meta = state.app.meta(&viewer.principal, None);
        match state.app.transfer(&viewer.principal, input, meta).await {
            Ok(w) => written += w.value.len(),
            Err(e) => {
                let (field, mut message) = field_error(e, Some(n), t)?;
                if written > 0 {
                    message.push_str(&format!(
                        " (las líneas anteriores a la {n} ya se registraron)"
                    ));
                }
                return Ok(lines_page(
                    &viewer,
                    "transfer",
                    form,
                    locations,
                    vec![(field, message)],
                ));
            }
        }
    }
    Ok(Redirect::to(&format!("/stock/transferencias?ok={written}")).into_response())
}

async fn count(
    State(state): State<WebState>,
    Submitted { viewer, form }: Submitted<LinesForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::StockCount)?;
    let t = viewer.t;
    let locations = my_locations(&state, &viewer).await?;
    let mut errors = Vec::new();
    if form.location.trim().is_empty() {
        errors.push(("location", "elija la ubicación contada".to_owned()));
    }
    let lines = match parse_lines(&form.lineas) {
        Ok(l) => l,
        Err(m) => {
            errors.push(("lineas", m));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Ok(lines_page(&viewer, "count", form, locations, errors));
    }
    let numbers: Vec<usize> = lines.iter().map(|(n, _, _)| *n).collect();
    let inputs: Vec<MovementInput> = lines
        .into_iter()
        .map(|(_, code, quantity)| {
            let (sku, barcode) = product_by_code(&code);
            MovementInput {
                kind: MovementKind::Count.as_str().to_owned(),
                product_id: None,
                sku,
                barcode,
                location: form.location.clone(),
                quantity,
                lot: None,
                expiry: None,
                unit_cost: None,
                reason: Some("conteo desde el tablero".to_owned()),
                document: None,
            }
        })
        .collect();
    let meta = state.app.meta(&viewer.principal, None);
    match state
        .app
        .post_movements(&viewer.principal, inputs, true, meta)
        .await
    {
        Ok(w) => Ok(Redirect::to(&format!("/stock/conteos?ok={}", w.value.len())).into_response()),
        Err(e) => {
            // Errors name the line as movements[i]: point at the form's line number.
            let line = match &e {
                app::Error::Invalid { field, .. } | app::Error::UnknownReference { field, .. } => {
                    field
                        .strip_prefix("movements[")
                        .and_then(|r| r.split(']').next())
                        .and_then(|i| i.parse::<usize>().ok())
                        .and_then(|i| numbers.get(i).copied())
                }
                _ => None,
            };
            let err = field_error(e, line, t)?;
            Ok(lines_page(&viewer, "count", form, locations, vec![err]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanned_lines_parse() {
        let l = parse_lines("7790001000011 3\nA-1;2,5\n\n7790001000028\n").unwrap_or_default();
        assert_eq!(
            l,
            vec![
                (1, "7790001000011".to_owned(), "3".to_owned()),
                (2, "A-1".to_owned(), "2.5".to_owned()),
                (4, "7790001000028".to_owned(), "1".to_owned()),
            ]
        );
        assert!(parse_lines("  \n").is_err());
        assert!(parse_lines("A 1 2").is_err());
        assert_eq!(
            parse_date_ar("28/11/2026"),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 28))
        );
        assert!(parse_date_ar("2026-11-28").is_err());
    }
}
