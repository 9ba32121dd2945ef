//! Reposición: what to buy per location from the latest forecast (quantities, days of cover,
//! the reasoning), the run it came from, running the forecast, turning a supplier's
//! suggestions into a draft purchase order, and the CSV export.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use app::forecast::{SuggestionOrderInput, SuggestionQuery, Suggestions};
use domain::auth::Permission;

use super::forms::capitalise;
use crate::csv::Csv;
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Submitted, Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/reposicion", get(index))
        .route("/reposicion.csv", get(export))
        .route("/reposicion/pronostico", post(run))
        .route("/reposicion/proveedores/{id}/orden", post(order))
}

pub const EN: &[(&str, &str)] = &[
    ("Todas las ubicaciones", "All locations"),
    ("Nivel de servicio %", "Service level %"),
    ("Días entre compras", "Days between purchases"),
    ("Presupuesto", "Budget"),
    ("Ver sugerencias", "Show suggestions"),
    ("Último pronóstico", "Latest forecast"),
    (
        "Todavía no se ejecutó ningún pronóstico.",
        "No forecast has run yet.",
    ),
    ("Ejecutar pronóstico ahora", "Run the forecast now"),
    ("Pronóstico ejecutado.", "Forecast run."),
    ("Series", "Series"),
    ("Historia", "History"),
    ("Horizonte", "Horizon"),
    ("días", "days"),
    ("Sugerido", "Suggested"),
    ("En mano", "On hand"),
    ("Pedido abierto", "On order"),
    ("Venta diaria", "Daily sales"),
    ("Días de cobertura", "Days of cover"),
    ("Punto de pedido", "Reorder point"),
    ("Crear orden de compra", "Create purchase order"),
    ("Sin proveedor", "No supplier"),
    ("No hay nada para reponer.", "Nothing to replenish."),
    ("Orden de compra creada", "Purchase order created"),
    (
        "Elija una ubicación para crear la orden.",
        "Choose a location to create the order.",
    ),
];

const PAGE_SIZE: usize = 50;

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub service_level: String,
    #[serde(default)]
    pub review: String,
    #[serde(default)]
    pub budget: String,
    #[serde(default)]
    pub pagina: usize,
    #[serde(default)]
    pub ok: String,
}

impl Filters {
    fn query(&self) -> SuggestionQuery {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        SuggestionQuery {
            service_level: opt(&self.service_level).and_then(|s| s.replace(',', ".").parse().ok()),
            review_period_days: opt(&self.review).and_then(|s| s.parse().ok()),
            budget: opt(&self.budget).map(|b| super::forms::ar_decimal(&b)),
            location: opt(&self.location),
            ..SuggestionQuery::default()
        }
    }

    fn link(&self, page: usize) -> String {
        let page = page.to_string();
        serde_urlencoded::to_string([
            ("location", self.location.as_str()),
            ("service_level", self.service_level.as_str()),
            ("review", self.review.as_str()),
            ("budget", self.budget.as_str()),
            ("pagina", page.as_str()),
        ])
        .unwrap_or_default()
    }
}

pub struct Row {
    pub supplier: String,
    pub sku: String,
    pub product_id: i64,
    pub name: String,
    pub location: String,
    pub quantity: String,
    pub on_hand: String,
    pub on_order: String,
    pub daily: String,
    pub cover: String,
    pub reorder_point: String,
    pub cost: String,
    pub reason: String,
}

pub struct Group {
    pub supplier_id: Option<i64>,
    pub supplier: String,
    pub total: String,
    pub lines: usize,
}

#[derive(Template)]
#[template(path = "backoffice/replenishment.html")]
struct Page {
    chrome: Chrome,
    f: Filters,
    locations: Vec<(String, String)>,
    run: Option<String>,
    can_run: bool,
    can_order: bool,
    notice: Option<String>,
    error: Option<String>,
    groups: Vec<Group>,
    rows: Vec<Row>,
    prev: Option<String>,
    next: Option<String>,
    export: String,
}

fn cover(days: Option<f64>) -> String {
    match days {
        Some(d) if d.is_finite() => format!("{:.1}", d).replace('.', ","),
        _ => "∞".into(),
    }
}

fn rows_of(s: &Suggestions, t: crate::Tr) -> Vec<Row> {
    s.groups
        .iter()
        .flat_map(|g| {
            let supplier = g
                .supplier
                .clone()
                .unwrap_or_else(|| t.s("Sin proveedor").to_owned());
            g.lines.iter().map(move |l| Row {
                supplier: supplier.clone(),
                sku: l.sku.clone(),
                product_id: l.product_id,
                name: l.name.clone(),
                location: l.location.clone(),
                quantity: l.quantity.format_ar(),
                on_hand: l.on_hand.format_ar(),
                on_order: l.on_order.format_ar(),
                daily: l.daily_forecast.format_ar(),
                cover: cover(l.days_of_cover),
                reorder_point: l.reorder_point.format_ar(),
                cost: format::money(l.cost),
                reason: l.reason.clone(),
            })
        })
        .collect()
}

async fn index(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Response, PageError> {
    viewer.require(Permission::ReportsRead)?;
    let t = viewer.t;
    let p = &viewer.principal;
    let run = match state.app.latest_forecast_run(p).await {
        Ok(r) => Some(format!(
            "#{} · {} · {} {} · {} {} – {} · {} {} {}",
            r.id,
            r.finished_at
                .map(format::date_time)
                .unwrap_or_else(|| r.status.clone()),
            format::count(r.series),
            t.s("Series").to_lowercase(),
            t.s("Historia"),
            format::date(r.history_from),
            format::date(r.history_to),
            t.s("Horizonte"),
            r.horizon,
            t.s("días"),
        )),
        Err(app::Error::NotFound { .. }) => None,
        Err(e) => return Err(PageError::from_app(e, t)),
    };
    let (suggestions, error) = if run.is_some() {
        match state.app.replenishment_suggestions(p, f.query()).await {
            Ok(s) => (Some(s), None),
            Err(app::Error::Invalid { message, .. }) => (None, Some(capitalise(&message))),
            Err(app::Error::NotFound { .. }) => (None, None),
            Err(e) => return Err(PageError::from_app(e, t)),
        }
    } else {
        (None, None)
    };
    let all = suggestions
        .as_ref()
        .map(|s| rows_of(s, t))
        .unwrap_or_default();
    let groups = suggestions
        .as_ref()
        .map(|s| {
            s.groups
                .iter()
                .map(|g| Group {
                    supplier_id: g.supplier_id,
                    supplier: g
                        .supplier
                        .clone()
                        .unwrap_or_else(|| t.s("Sin proveedor").to_owned()),
                    total: format::money(g.total),
                    lines: g.lines.len(),
                })
                .collect()
        })
        .unwrap_or_default();
    let pages = all.len().div_ceil(PAGE_SIZE);
    let rows = all
        .into_iter()
        .skip(f.pagina * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    let locations = super::compras::Directory::load(&state, &viewer)
        .await?
        .locations;
    let notice =
        f.ok.strip_prefix("orden-")
            .map(|id| format!("{} #{id}.", t.s("Orden de compra creada")))
            .or_else(|| (f.ok == "pronostico").then(|| t.s("Pronóstico ejecutado.").to_owned()));
    Ok(render(
        &Page {
            chrome: viewer.chrome("/reposicion", "Reposición"),
            locations,
            run,
            can_run: viewer.can(Permission::PurchasingWrite),
            can_order: viewer.can(Permission::PurchasingWrite),
            notice,
            error,
            groups,
            rows,
            prev: (f.pagina > 0).then(|| f.link(f.pagina - 1)),
            next: (f.pagina + 1 < pages).then(|| f.link(f.pagina + 1)),
            export: format!("/reposicion.csv?{}", f.link(0)),
            f,
        },
        t,
    ))
}

async fn export(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Result<Response, PageError> {
    viewer.require(Permission::ReportsRead)?;
    let t = viewer.t;
    let s = state
        .app
        .replenishment_suggestions(&viewer.principal, f.query())
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    let mut csv = Csv::new(
        "reposicion",
        &[
            t.s("Proveedor"),
            "SKU",
            t.s("Producto"),
            t.s("Ubicación"),
            t.s("Sugerido"),
            t.s("En mano"),
            t.s("Pedido abierto"),
            t.s("Venta diaria"),
            t.s("Días de cobertura"),
            t.s("Punto de pedido"),
            t.s("Costo"),
            t.s("Motivo"),
        ],
    );
    for r in rows_of(&s, t) {
        csv.row([
            r.supplier.as_str(),
            &r.sku,
            &r.name,
            &r.location,
            &r.quantity,
            &r.on_hand,
            &r.on_order,
            &r.daily,
            &r.cover,
            &r.reorder_point,
            r.cost.trim_start_matches("$ "),
            &r.reason,
        ]);
    }
    Ok(csv.into_response())
}

async fn run(
    State(state): State<WebState>,
    Submitted { viewer, .. }: Submitted<crate::session::NoFields>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    state
        .app
        .run_forecast(&viewer.principal)
        .await
        .map_err(|e| PageError::from_app(e, viewer.t))?;
    Ok(Redirect::to("/reposicion?ok=pronostico").into_response())
}

#[derive(Deserialize)]
struct OrderForm {
    #[serde(default)]
    location: String,
    #[serde(default)]
    service_level: String,
    #[serde(default)]
    review: String,
    #[serde(default)]
    budget: String,
}

async fn order(
    State(state): State<WebState>,
    Path(supplier): Path<i64>,
    Submitted { viewer, form }: Submitted<OrderForm>,
) -> Result<Response, PageError> {
    viewer.require(Permission::PurchasingWrite)?;
    let t = viewer.t;
    if form.location.trim().is_empty() {
        return Err(PageError::new(
            t,
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            t.s("Dato inválido"),
            t.s("Elija una ubicación para crear la orden."),
        ));
    }
    let f = Filters {
        location: form.location.clone(),
        service_level: form.service_level,
        review: form.review,
        budget: form.budget,
        ..Filters::default()
    };
    let q = f.query();
    let input = SuggestionOrderInput {
        location: form.location,
        service_level: q.service_level,
        review_period_days: q.review_period_days,
        budget: q.budget,
    };
    let meta = state.app.meta(&viewer.principal, None);
    let po = state
        .app
        .order_suggestions(&viewer.principal, supplier, input, meta)
        .await
        .map_err(|e| PageError::from_app(e, t))?;
    Ok(Redirect::to(&format!("/compras/ordenes/{}?ok=creada", po.value.id)).into_response())
}
