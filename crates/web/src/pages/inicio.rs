//! Inicio: the owner's morning look. Sales today, this week and this month against the same
//! span before, average ticket, gross margin, stock figures, daily and category charts (inline
//! SVG), alerts and the background agents. Sales come from the daily rollup plus its live tail
//! (see `app::dashboard`), so a view costs the same on ten tickets or ten million.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use app::dashboard::{DASHBOARD_DAYS, DailySales, cost_of_milli};
use domain::Money;
use domain::auth::Permission;

use crate::error::PageError;
use crate::layout::Chrome;
use crate::{Tr, Viewer, WebState, format, render};

pub fn routes() -> Router<WebState> {
    Router::new().route("/", get(page))
}

pub const EN: &[(&str, &str)] = &[
    ("Agentes", "Agents"),
    ("Alertas abiertas", "Open alerts"),
    ("Anterior:", "Before:"),
    ("actualizado", "updated"),
    ("Críticos", "Critical"),
    ("Este mes", "This month"),
    ("Esta semana", "This week"),
    ("Hoy", "Today"),
    ("hace", "for"),
    ("recién", "just now"),
    ("Lotes por vencer (30 días)", "Lots expiring (30 days)"),
    ("Margen bruto del mes", "Gross margin this month"),
    ("No hay alertas abiertas.", "No open alerts."),
    ("Próxima", "Next"),
    ("Sin datos", "No data"),
    ("Sin stock", "Out of stock"),
    ("Ticket promedio del mes", "Average ticket this month"),
    ("Última", "Last"),
    ("Valor del stock al costo", "Stock value at cost"),
    ("Ventas diarias, 30 días", "Daily sales, 30 days"),
    ("Ventas diarias, 90 días", "Daily sales, 90 days"),
    (
        "Ventas por categoría del mes",
        "Sales by category this month",
    ),
    ("Ventas", "Sales"),
    ("en curso", "running"),
    ("correcto", "succeeded"),
    ("falló", "failed"),
    ("nunca", "never"),
];

#[derive(Clone, Debug, Default, Deserialize)]
pub struct InicioQuery {
    /// Only the live panel, for the script that refreshes it.
    #[serde(default)]
    pub parcial: Option<u8>,
}

/// Sales of a span of days and of the span just before it.
pub struct PeriodCard {
    pub label: &'static str,
    pub total: String,
    pub previous: String,
    pub change: String,
    /// "up", "down" or "flat", for the colour class.
    pub trend: &'static str,
}

pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub title: String,
}

pub struct Chart {
    pub title: &'static str,
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    pub max: String,
}

pub struct CategoryBar {
    pub name: String,
    pub total: String,
    pub width: i64,
}

pub struct AlertRow {
    pub severity: String,
    pub title: String,
    pub body: String,
    pub at: String,
}

pub struct AgentRow {
    pub name: String,
    pub last: String,
    pub next: String,
    pub status: &'static str,
    pub class: &'static str,
}

pub struct Money3 {
    pub avg_ticket: String,
    pub margin: String,
    pub margin_pct: String,
}

pub struct StockCard {
    pub value: Option<String>,
    pub critical: String,
    pub out_of_stock: String,
    pub expiring: String,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "inicio/page.html")]
struct Page {
    chrome: Chrome,
    /// The panel rendered by its own (escaping) template.
    panel_html: String,
}

#[derive(Template)]
#[template(path = "inicio/panel.html")]
pub struct Panel {
    pub t: Tr,
    pub periods: Vec<PeriodCard>,
    pub money: Option<Money3>,
    pub stock: Option<StockCard>,
    pub charts: Vec<Chart>,
    pub categories: Vec<CategoryBar>,
    pub alerts: Option<Vec<AlertRow>>,
    pub agents: Option<Vec<AgentRow>>,
}

/// Inclusive day ranges of a period and the same span before it.
pub struct Spans {
    pub day: (NaiveDate, NaiveDate, NaiveDate, NaiveDate),
    pub week: (NaiveDate, NaiveDate, NaiveDate, NaiveDate),
    pub month: (NaiveDate, NaiveDate, NaiveDate, NaiveDate),
}

impl Spans {
    /// Today against yesterday; Monday..today against the same weekdays a week before; the
    /// 1st..today against the same days of the previous month (cut at its last day).
    pub fn of(today: NaiveDate) -> Spans {
        let d = chrono::Duration::days;
        let yesterday = today - d(1);
        let monday = today - d(i64::from(today.weekday().num_days_from_monday()));
        let first = today.with_day(1).unwrap_or(today);
        let prev_last = first - d(1);
        let prev_first = prev_last.with_day(1).unwrap_or(prev_last);
        let prev_to = prev_first
            .with_day(today.day())
            .unwrap_or(prev_last)
            .min(prev_last);
        Spans {
            day: (today, today, yesterday, yesterday),
            week: (monday, today, monday - d(7), today - d(7)),
            month: (first, today, prev_first, prev_to),
        }
    }

    pub fn earliest(&self) -> NaiveDate {
        self.week.2.min(self.month.2)
    }
}

/// Totals of the rows whose day falls in `from..=to`.
#[derive(Default, Clone, Copy)]
pub struct Sum {
    pub tickets: i64,
    pub total: i64,
    pub net: i64,
    pub cost_milli: i64,
}

pub fn sum(rows: &[DailySales], from: NaiveDate, to: NaiveDate) -> Sum {
    rows.iter()
        .filter(|r| r.day >= from && r.day <= to)
        .fold(Sum::default(), |a, r| Sum {
            tickets: a.tickets + r.tickets,
            total: a.total + r.total,
            net: a.net + r.net,
            cost_milli: a.cost_milli + r.cost_milli,
        })
}

fn period(
    label: &'static str,
    rows: &[DailySales],
    span: (NaiveDate, NaiveDate, NaiveDate, NaiveDate),
) -> PeriodCard {
    let now = sum(rows, span.0, span.1).total;
    let before = sum(rows, span.2, span.3).total;
    let change = format::change_tenths(now, before);
    PeriodCard {
        label,
        total: format::money(Money::from_minor(now)),
        previous: format::money(Money::from_minor(before)),
        change: change.map_or_else(
            || "—".to_owned(),
            |c| {
                let s = format::percent_tenths(c);
                if c > 0 { format!("+{s}") } else { s }
            },
        ),
        trend: match change {
            Some(c) if c > 0 => "up",
            Some(c) if c < 0 => "down",
            _ => "flat",
        },
    }
}

fn daily_chart(title: &'static str, rows: &[DailySales], today: NaiveDate, days: i64) -> Chart {
    let from = today - chrono::Duration::days(days - 1);
    let mut totals = vec![0i64; days as usize];
    for r in rows.iter().filter(|r| r.day >= from && r.day <= today) {
        let i = (r.day - from).num_days() as usize;
        if let Some(t) = totals.get_mut(i) {
            *t += r.total;
        }
    }
    let (width, height) = (days * 8, 120i64);
    let top = totals.iter().copied().max().unwrap_or(0);
    let max = top.max(1);
    let bars = totals
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let h = ((i128::from((*t).max(0)) * i128::from(height - 4)) / i128::from(max)) as i64;
            let day = from + chrono::Duration::days(i as i64);
            Bar {
                x: i as i64 * 8,
                y: height - h,
                w: 6,
                h,
                title: format!(
                    "{} · {}",
                    format::date(day),
                    format::money(Money::from_minor(*t))
                ),
            }
        })
        .collect();
    Chart {
        title,
        width,
        height,
        bars,
        max: format::money(Money::from_minor(top)),
    }
}

fn category_bars(rows: &[DailySales], from: NaiveDate, to: NaiveDate) -> Vec<CategoryBar> {
    let mut by: std::collections::BTreeMap<&str, i64> = Default::default();
    for r in rows.iter().filter(|r| r.day >= from && r.day <= to) {
        *by.entry(r.category.as_str()).or_default() += r.total;
    }
    let mut v: Vec<(&str, i64)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.truncate(12);
    let max = v.first().map_or(1, |x| x.1.max(1));
    v.into_iter()
        .map(|(name, total)| CategoryBar {
            name: name.to_owned(),
            total: format::money(Money::from_minor(total)),
            width: ((i128::from(total.max(0)) * 100) / i128::from(max)) as i64,
        })
        .collect()
}

fn ago(t: Tr, then: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let mins = (now - then).num_minutes().max(0);
    if mins < 1 {
        format!("{} {}", t.s("actualizado"), t.s("recién"))
    } else if mins < 120 {
        format!("{} {} {mins} min", t.s("actualizado"), t.s("hace"))
    } else {
        format!("{} {}", t.s("actualizado"), format::date_time(then))
    }
}

/// Builds the live part of Inicio for what the viewer may see.
pub async fn panel(state: &WebState, viewer: &Viewer) -> Result<Panel, PageError> {
    let t = viewer.t;
    let app = &state.app;
    let err = |e| PageError::from_app(e, t);
    let today = app.clock.today();
    let spans = Spans::of(today);
    let mut out = Panel {
        t,
        periods: Vec::new(),
        money: None,
        stock: None,
        charts: Vec::new(),
        categories: Vec::new(),
        alerts: None,
        agents: None,
    };
    let money = viewer.can(Permission::ReportsRead);
    if money {
        let from = spans
            .earliest()
            .min(today - chrono::Duration::days(DASHBOARD_DAYS - 1));
        let rows = app
            .daily_sales(&viewer.principal, from, today)
            .await
            .map_err(err)?;
        out.periods = vec![
            period("Hoy", &rows, spans.day),
            period("Esta semana", &rows, spans.week),
            period("Este mes", &rows, spans.month),
        ];
        let m = sum(&rows, spans.month.0, spans.month.1);
        let cost = cost_of_milli(m.cost_milli);
        let margin = Money::from_minor(m.net) - cost;
        out.money = Some(Money3 {
            avg_ticket: if m.tickets == 0 {
                "—".to_owned()
            } else {
                format::money(Money::from_minor(m.total / m.tickets))
            },
            margin: format::money(margin),
            margin_pct: if m.net == 0 {
                "—".to_owned()
            } else {
                format::percent_tenths(margin.minor() * 1000 / m.net)
            },
        });
        out.charts = vec![
            daily_chart("Ventas diarias, 30 días", &rows, today, 30),
            daily_chart("Ventas diarias, 90 días", &rows, today, DASHBOARD_DAYS),
        ];
        out.categories = category_bars(&rows, spans.month.0, spans.month.1);
    }
    if viewer.can(Permission::StockRead) {
        let s = app.stock_figures(&viewer.principal).await.map_err(err)?;
        out.stock = Some(StockCard {
            value: money.then(|| format::money(s.stock_value)),
            critical: format::count(s.critical),
            out_of_stock: format::count(s.out_of_stock),
            expiring: format::count(s.expiring),
            updated: s
                .computed_at
                .map_or_else(String::new, |at| ago(t, at, app.clock.now())),
        });
        let alerts = app
            .alerts(&viewer.principal, false, app::page::PageRequest::first(10))
            .await
            .map_err(err)?;
        out.alerts = Some(
            alerts
                .items
                .into_iter()
                .filter(|a| a.resolved_at.is_none())
                .map(|a| AlertRow {
                    severity: a.severity,
                    title: a.title,
                    body: a.body,
                    at: format::date_time(a.created_at),
                })
                .collect(),
        );
        let agents = app
            .agent_statuses(&viewer.principal, &state.agents)
            .await
            .map_err(err)?;
        out.agents = Some(
            agents
                .into_iter()
                .map(|a| {
                    let (status, class) = match a.last_status.as_deref() {
                        Some("succeeded") => (t.s("correcto"), "ok"),
                        Some("failed") => (t.s("falló"), "bad"),
                        Some("running") => (t.s("en curso"), "run"),
                        _ => (t.s("nunca"), "none"),
                    };
                    AgentRow {
                        name: a.name,
                        last: a
                            .last_run_at
                            .map_or_else(|| "—".to_owned(), format::date_time),
                        next: a
                            .next_run_at
                            .map_or_else(|| "—".to_owned(), format::date_time),
                        status,
                        class,
                    }
                })
                .collect(),
        );
    }
    Ok(out)
}

async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<InicioQuery>,
) -> Result<Response, PageError> {
    viewer.require(Permission::CatalogRead)?;
    let t = viewer.t;
    let panel = panel(&state, &viewer).await?;
    if q.parcial.is_some() {
        return Ok(render(&panel, t));
    }
    let panel_html = panel.render().map_err(|e| PageError::internal(t, e))?;
    Ok(render(
        &Page {
            chrome: viewer.chrome("/", "Inicio"),
            panel_html,
        },
        t,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn periods_compare_the_same_span() {
        // Sunday 29/11/2026.
        let s = Spans::of(d(2026, 11, 29));
        assert_eq!(
            s.day,
            (
                d(2026, 11, 29),
                d(2026, 11, 29),
                d(2026, 11, 28),
                d(2026, 11, 28)
            )
        );
        assert_eq!(
            s.week,
            (
                d(2026, 11, 23),
                d(2026, 11, 29),
                d(2026, 11, 16),
                d(2026, 11, 22)
            )
        );
        assert_eq!(
            s.month,
            (
                d(2026, 11, 1),
                d(2026, 11, 29),
                d(2026, 10, 1),
                d(2026, 10, 29)
            )
        );
        // 31 March against February, cut at its last day.
        let s = Spans::of(d(2027, 3, 31));
        assert_eq!(s.month.2, d(2027, 2, 1));
        assert_eq!(s.month.3, d(2027, 2, 28));
    }
}
