//! Product detail: stock per location and lot, recent movements, price history and the
//! forecast chart (inline SVG: sales history and the forecast with its band).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::NaiveDate;

use domain::Qty;
use domain::auth::Permission;
use domain::catalog::UnitOfMeasure;
use domain::ledger::MovementKind;

use super::Paging;
use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new().route("/productos/{id}", get(detail))
}

pub const EN: &[(&str, &str)] = &[
    ("Ajuste", "Adjustment"),
    ("Conteo", "Count"),
    ("Devolución", "Return"),
    ("Egreso", "Issue"),
    ("Historial de precios", "Price history"),
    ("Lote", "Lot"),
    ("Motivo", "Reason"),
    ("Movimientos recientes", "Recent movements"),
    ("Origen", "Source"),
    ("Producto", "Product"),
    ("Pronóstico de ventas", "Sales forecast"),
    ("Recepción", "Receipt"),
    ("Sin lote", "No lot"),
    ("Sin movimientos.", "No movements."),
    ("Sin stock registrado.", "No stock recorded."),
    ("Stock por lote", "Stock per lot"),
    ("Stock por ubicación", "Stock per location"),
    ("Tipo", "Type"),
    ("Transferencia entrante", "Transfer in"),
    ("Transferencia saliente", "Transfer out"),
    ("Ubicación", "Location"),
    ("Unidad", "Unit"),
    ("Vence", "Expires"),
    ("Venta", "Sale"),
    ("Vendido", "Sold"),
    ("Pronóstico", "Forecast"),
    ("Intervalo", "Interval"),
    ("Después", "After"),
];

pub struct LocationStock {
    pub location: String,
    pub on_hand: String,
}

pub struct LotStock {
    pub location: String,
    pub lot: String,
    /// `LOC1:LOT-A`, or `LOC1:` for stock without a lot: the tests find cells by it.
    pub key: String,
    pub expiry: String,
    pub on_hand: String,
}

pub struct MovementRow {
    pub date: String,
    pub location: String,
    pub kind: &'static str,
    pub lot: String,
    pub quantity: String,
    pub after: String,
    pub user: String,
    pub document: String,
}

pub struct PriceRow {
    pub date: String,
    pub price: String,
    pub cost: String,
    pub actor: String,
    pub reason: String,
}

/// The forecast chart, already laid out in SVG coordinates.
pub struct Chart {
    pub width: i64,
    pub height: i64,
    /// Points of the sales history polyline, "x,y x,y …".
    pub history: String,
    /// Points of the forecast polyline.
    pub forecast: String,
    /// Polygon of the prediction interval.
    pub band: String,
    /// x of the first forecast day, where the divider line goes.
    pub split_x: i64,
    pub y_max: String,
    pub from: String,
    pub to: String,
    pub location: String,
    pub method: String,
}

#[derive(Template)]
#[template(path = "product/detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: i64,
    sku: String,
    name: String,
    category: String,
    brand: String,
    barcodes: String,
    unit: &'static str,
    price: String,
    cost: String,
    vat: String,
    locations: Vec<LocationStock>,
    lots: Vec<LotStock>,
    total: String,
    movements: Vec<MovementRow>,
    next_movements: Option<String>,
    prices: Vec<PriceRow>,
    charts: Vec<Chart>,
}

const MOVEMENTS_PAGE: u32 = 50;
const PRICES_SHOWN: u32 = 20;
const HISTORY_DAYS: u32 = 56;

fn kind_label(k: MovementKind) -> &'static str {
    match k {
        MovementKind::Receipt => "Recepción",
        MovementKind::Issue => "Egreso",
        MovementKind::Adjustment => "Ajuste",
        MovementKind::TransferOut => "Transferencia saliente",
        MovementKind::TransferIn => "Transferencia entrante",
        MovementKind::Count => "Conteo",
        MovementKind::Sale => "Venta",
        MovementKind::Return => "Devolución",
    }
}

fn unit_label(u: UnitOfMeasure) -> &'static str {
    match u {
        UnitOfMeasure::Unit => "Unidad",
        UnitOfMeasure::Kg => "kg",
        UnitOfMeasure::L => "l",
    }
}

async fn detail(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(paging): Query<Paging>,
) -> Result<Response, PageError> {
    viewer.require(Permission::CatalogRead)?;
    let t = viewer.t;
    let app = &state.app;
    let who = &viewer.principal;
    let err = |e| PageError::from_app(e, t);
    let p = app.product(who, id).await.map_err(err)?;
    let unit = p.unit;

    let mut locations = Vec::new();
    let mut lots = Vec::new();
    let mut total = Qty::ZERO;
    let mut movements = Vec::new();
    let mut next_movements = None;
    let mut charts = Vec::new();
    if viewer.can(Permission::StockRead) {
        let levels = app.product_stock(who, id).await.map_err(err)?;
        let mut per_location: BTreeMap<String, Qty> = BTreeMap::new();
        for l in &levels {
            let sum = per_location.entry(l.location.clone()).or_insert(Qty::ZERO);
            *sum = sum.checked_add(l.on_hand).unwrap_or(*sum);
            total = total.checked_add(l.on_hand).unwrap_or(total);
            let lot = l.lot.clone().unwrap_or_default();
            lots.push(LotStock {
                key: format!("{}:{lot}", l.location),
                location: l.location.clone(),
                lot,
                expiry: l.expiry.map(format::date).unwrap_or_default(),
                on_hand: format::qty(l.on_hand, unit),
            });
        }
        lots.sort_by(|a, b| (&a.location, &a.lot).cmp(&(&b.location, &b.lot)));
        locations = per_location
            .into_iter()
            .map(|(location, q)| LocationStock {
                location,
                on_hand: format::qty(q, unit),
            })
            .collect();

        let page = app
            .product_movements(who, id, paging.request(MOVEMENTS_PAGE))
            .await
            .map_err(err)?;
        movements = page
            .items
            .iter()
            .map(|m| MovementRow {
                date: format::date_time(m.created_at),
                location: m.location.clone(),
                kind: t.s(kind_label(m.kind)),
                lot: m.lot.clone().unwrap_or_default(),
                quantity: format::qty(m.quantity, unit),
                after: format::qty(m.after, unit),
                user: m.user.clone(),
                document: m.document.clone().unwrap_or_default(),
            })
            .collect();
        next_movements = page.next_cursor;

        // A product never forecast (or no run yet) simply has no chart.
        if let Ok(f) = app.product_forecast(who, id).await {
            let history = app
                // One day more than drawn: the forecast may start today or tomorrow.
                .product_sales_history(who, id, HISTORY_DAYS + 1)
                .await
                .map_err(err)?;
            let codes = app
                .locations(who, app::page::PageRequest::first(app::page::MAX_LIMIT))
                .await
                .map_err(err)?
                .items;
            for lf in f.locations.iter().filter(|l| !l.points.is_empty()) {
                let code = codes
                    .iter()
                    .find(|c| c.id == lf.location_id)
                    .map(|c| c.code.clone())
                    .unwrap_or_else(|| lf.location_id.to_string());
                let past: Vec<(NaiveDate, Qty)> = history
                    .iter()
                    .filter(|(c, _, _)| *c == code)
                    .map(|(_, d, q)| (*d, *q))
                    .collect();
                charts.push(chart(&code, &lf.method, &past, &lf.points, unit));
            }
        }
    }

    let prices = app
        .price_history(who, id, app::page::PageRequest::first(PRICES_SHOWN))
        .await
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(|pp| PriceRow {
            date: format::date_time(pp.changed_at),
            price: format::money(pp.price),
            cost: format::money(pp.cost),
            actor: pp.actor,
            reason: pp.reason,
        })
        .collect();

    let page = DetailPage {
        chrome: viewer.chrome("/productos", "Producto"),
        id,
        sku: p.sku,
        name: p.name,
        category: p.category,
        brand: p.brand,
        barcodes: p
            .barcodes
            .iter()
            .map(|b| b.code.as_str())
            .collect::<Vec<_>>()
            .join(" · "),
        unit: t.s(unit_label(unit)),
        price: format::money(p.price),
        cost: format::money(p.cost),
        vat: format!("{} %", p.vat_rate).replace('.', ","),
        locations,
        lots,
        total: format::qty(total, unit),
        movements,
        next_movements,
        prices,
        charts,
    };
    Ok(render(&page, t))
}

const CHART_W: i64 = 640;
const CHART_H: i64 = 200;
const PAD: i64 = 24;

/// Lays out the sales history and the forecast band of one location on one time axis.
fn chart(
    location: &str,
    method: &str,
    past: &[(NaiveDate, Qty)],
    points: &[app::forecast::PointOut],
    unit: UnitOfMeasure,
) -> Chart {
    let first_forecast = points.first().map(|p| p.date).unwrap_or_default();
    let start = first_forecast - chrono::Days::new(u64::from(HISTORY_DAYS));
    let end = points.last().map(|p| p.date).unwrap_or(first_forecast);
    let span = (end - start).num_days().max(1);
    let top = points
        .iter()
        .map(|p| p.upper.milli())
        .chain(past.iter().map(|(_, q)| q.milli()))
        .max()
        .unwrap_or(0)
        .max(1000);
    let x = |d: NaiveDate| PAD + (d - start).num_days() * (CHART_W - 2 * PAD) / span;
    let y = |milli: i64| CHART_H - PAD - milli.max(0) * (CHART_H - 2 * PAD) / top;
    // Every past day is drawn, days without sales at zero.
    let mut history = Vec::new();
    let mut d = start;
    while d < first_forecast {
        let sold = past
            .iter()
            .find(|(day, _)| *day == d)
            .map_or(0, |(_, q)| q.milli());
        history.push(format!("{},{}", x(d), y(sold)));
        d = d.succ_opt().unwrap_or(first_forecast);
    }
    let forecast: Vec<String> = points
        .iter()
        .map(|p| format!("{},{}", x(p.date), y(p.forecast.milli())))
        .collect();
    let band: Vec<String> = points
        .iter()
        .map(|p| format!("{},{}", x(p.date), y(p.upper.milli())))
        .chain(
            points
                .iter()
                .rev()
                .map(|p| format!("{},{}", x(p.date), y(p.lower.milli()))),
        )
        .collect();
    Chart {
        width: CHART_W,
        height: CHART_H,
        history: history.join(" "),
        forecast: forecast.join(" "),
        band: band.join(" "),
        split_x: x(first_forecast),
        y_max: format::qty(Qty::from_milli(top), unit),
        from: format::date(start),
        to: format::date(end),
        location: location.to_owned(),
        method: method.to_owned(),
    }
}
