//! Pronóstico: the nightly (and on-demand) demand forecast per product × location from the
//! sale movements of the ledger, and the replenishment suggestions built on the latest run,
//! grouped by supplier, one of which can become a draft purchase order.
//!
//! Demand is counted in units sold (never pesos, so inflation does not distort it). A day that
//! ended with no stock is censored: what sold that day says less than what was wanted.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use domain::auth::Permission;
use domain::forecast::{Config, ForecastPoint, Forecaster, Frequency, Method, Score};
use domain::replenishment::{self, Demand, Policy, Position, ServiceLevel, Suggestion};
use domain::{Money, Qty};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::App;
use crate::error::{Error, FieldContext, Result};
use crate::purchasing::{ItemInput, PurchaseOrder, PurchaseOrderInput};
use crate::write::{Principal, WriteMeta, Written};

/// Argentina keeps UTC−3 all year: a sale belongs to the shop's local day.
pub const LOCAL_OFFSET_MICROS: i64 = -3 * 3_600_000_000;
const DAY_MICROS: i64 = 86_400_000_000;

/// How the forecast runs and what replenishment assumes by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForecastSettings {
    /// Days ahead.
    pub horizon_days: u32,
    /// Days of sales history read (two years catch a yearly season twice).
    pub history_days: u32,
    /// Days between purchase reviews.
    pub review_period_days: u32,
    /// Service level in basis points (9500 = 95 %).
    pub service_level_bp: u32,
    /// Try national holidays and aguinaldo months where the backtest says they help.
    pub calendar: bool,
}

impl Default for ForecastSettings {
    fn default() -> Self {
        ForecastSettings {
            horizon_days: 28,
            history_days: 730,
            review_period_days: 7,
            service_level_bp: 9500,
            calendar: true,
        }
    }
}

/// The local day (days since 1970-01-01) of an instant.
pub fn local_day(micros: i64) -> i64 {
    (micros + LOCAL_OFFSET_MICROS).div_euclid(DAY_MICROS)
}

fn day_date(day: i64) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    u64::try_from(day)
        .ok()
        .and_then(|d| epoch.checked_add_days(Days::new(d)))
        .unwrap_or(epoch)
}

/// Net ledger change and units sold of one product × location on one local day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemandDay {
    pub product_id: i64,
    pub location_id: i64,
    pub day: i64,
    /// Σ quantity of every movement (thousandths).
    pub net: i64,
    /// Units sold (thousandths, positive).
    pub sold: i64,
}

/// Stock of a product × location before the history window opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningBalance {
    pub product_id: i64,
    pub location_id: i64,
    pub on_hand: i64,
}

/// One series' result as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSeries {
    pub product_id: i64,
    pub location_id: i64,
    pub method: Method,
    pub calendar: bool,
    /// Forecast error per day (thousandths of a unit).
    pub error_sd: i64,
    pub scores: Vec<(Method, Score)>,
    pub points: Vec<ForecastPoint>,
}

/// A past ledger line for [`App::append_history`]: a receipt (positive) or a sale (negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryLine {
    pub product_id: i64,
    pub location_id: i64,
    pub kind: domain::ledger::MovementKind,
    /// Signed, thousandths.
    pub quantity: i64,
    pub unit_cost: Money,
    pub created_at: i64,
    pub document: String,
}

/// Written when a run finishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinishedRun {
    pub ok: bool,
    pub series: Vec<StoredSeries>,
    pub method_mix: BTreeMap<String, i64>,
    pub accuracy: serde_json::Value,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewForecastRun {
    pub history_from: NaiveDate,
    pub history_to: NaiveDate,
    pub horizon: i64,
    pub actor: String,
    pub now: i64,
}

/// A forecast run: when, over what history, and which methods the series chose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ForecastRun {
    pub id: i64,
    /// running | done | failed
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub history_from: NaiveDate,
    pub history_to: NaiveDate,
    pub horizon: i64,
    pub series: i64,
    /// Series per selected method ("+calendar" when the holiday layer was kept).
    pub method_mix: BTreeMap<String, i64>,
    /// Pooled WAPE and mean MASE per method and for the selection.
    #[schema(value_type = Object)]
    pub accuracy: serde_json::Value,
    pub detail: String,
}

/// What replenishment needs for one forecast series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplenishmentRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location_id: i64,
    pub location: String,
    pub supplier_id: Option<i64>,
    pub supplier: Option<String>,
    pub lead_time_days: i64,
    pub unit_cost: Money,
    /// The largest pack among the product's barcodes (units per box), 1 without any.
    pub pack: Qty,
    pub on_hand: Qty,
    /// Ordered on draft, sent or partially received orders and not yet received.
    pub on_order: Qty,
    pub error_sd: i64,
    pub points: Vec<ForecastPoint>,
}

/// One method's backtest accuracy on a series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MethodScore {
    pub method: String,
    pub wape: Option<f64>,
    pub mase: Option<f64>,
    pub periods: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PointOut {
    pub date: NaiveDate,
    #[schema(value_type = String)]
    pub forecast: Qty,
    #[schema(value_type = String)]
    pub lower: Qty,
    #[schema(value_type = String)]
    pub upper: Qty,
}

/// A product's forecast at one location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LocationForecast {
    pub location_id: i64,
    pub method: String,
    pub calendar: bool,
    /// Standard deviation of the daily forecast error.
    #[schema(value_type = String)]
    pub error_sd: Qty,
    pub scores: Vec<MethodScore>,
    pub points: Vec<PointOut>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductForecast {
    pub product_id: i64,
    pub run_id: i64,
    pub run_finished_at: Option<DateTime<Utc>>,
    pub locations: Vec<LocationForecast>,
}

/// Query of the suggestions: defaults come from the settings.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestionQuery {
    /// Percentage strictly between 0 and 100 (default 95).
    pub service_level: Option<f64>,
    /// Days between purchase reviews (default 7).
    pub review_period_days: Option<u32>,
    /// Spend at most this (pesos), most urgent lines first.
    pub budget: Option<String>,
    /// Only this location code.
    pub location: Option<String>,
    /// Expected monthly price rise in basis points (400 = 4 %): when it exceeds the holding
    /// cost, cover `max_buy_ahead_days` more.
    pub monthly_price_rise_bp: Option<i64>,
    /// Monthly cost of holding stock in basis points (default 200 = 2 %).
    pub monthly_holding_bp: Option<i64>,
    /// The bound on buying ahead, in days (default 14).
    pub max_buy_ahead_days: Option<u32>,
}

/// One suggested line, with its reasoning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SuggestionLine {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    #[schema(value_type = String)]
    pub quantity: Qty,
    #[schema(value_type = String)]
    pub unit_cost: Money,
    #[schema(value_type = String)]
    pub cost: Money,
    #[schema(value_type = String)]
    pub daily_forecast: Qty,
    #[schema(value_type = String)]
    pub lead_time_demand: Qty,
    #[schema(value_type = String)]
    pub safety_stock: Qty,
    #[schema(value_type = String)]
    pub reorder_point: Qty,
    #[schema(value_type = String)]
    pub order_up_to: Qty,
    #[schema(value_type = String)]
    pub on_hand: Qty,
    #[schema(value_type = String)]
    pub on_order: Qty,
    #[schema(value_type = String)]
    pub in_transit: Qty,
    pub lead_time_days: i64,
    pub days_of_cover: Option<f64>,
    pub reason: String,
}

/// The suggestions to one supplier (`supplier_id` null: products without a supplier).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupplierGroup {
    pub supplier_id: Option<i64>,
    pub supplier: Option<String>,
    #[schema(value_type = String)]
    pub total: Money,
    pub lines: Vec<SuggestionLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Suggestions {
    pub run_id: i64,
    pub service_level: f64,
    pub review_period_days: u32,
    pub groups: Vec<SupplierGroup>,
}

/// Turns a supplier's suggestions for one location into a draft purchase order.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestionOrderInput {
    /// Location code the goods go to.
    pub location: String,
    #[serde(default)]
    pub service_level: Option<f64>,
    #[serde(default)]
    pub review_period_days: Option<u32>,
    #[serde(default)]
    pub budget: Option<String>,
}

/// One product × location's daily units sold from `start`, `None` where censored.
pub struct DemandSeries {
    pub product_id: i64,
    pub location_id: i64,
    pub start: NaiveDate,
    pub values: Vec<Option<Qty>>,
}

/// Builds the daily series of every product × location from the ledger aggregates: units
/// sold per day, `None` for days that ended without stock. A series starts when the product
/// first had stock (or a movement) at the location.
pub fn demand_series(
    from_day: i64,
    to_day: i64,
    opening: &[OpeningBalance],
    days: &[DemandDay],
) -> Vec<DemandSeries> {
    let mut open: HashMap<(i64, i64), i64> = HashMap::new();
    for o in opening {
        open.insert((o.product_id, o.location_id), o.on_hand);
    }
    let mut by_key: BTreeMap<(i64, i64), Vec<&DemandDay>> = BTreeMap::new();
    for d in days.iter().filter(|d| d.day >= from_day && d.day <= to_day) {
        by_key
            .entry((d.product_id, d.location_id))
            .or_default()
            .push(d);
    }
    for (&key, &bal) in &open {
        if bal > 0 {
            by_key.entry(key).or_default();
        }
    }
    let mut out = Vec::with_capacity(by_key.len());
    for (key, mut rows) in by_key {
        rows.sort_by_key(|d| d.day);
        let opening = open.get(&key).copied().unwrap_or(0);
        let first = if opening > 0 {
            from_day
        } else {
            match rows.first() {
                Some(d) => d.day,
                None => continue,
            }
        };
        let mut balance = opening;
        let mut values = Vec::with_capacity(usize::try_from(to_day - first + 1).unwrap_or(0));
        let mut it = rows.iter().peekable();
        for day in first..=to_day {
            let mut sold = 0;
            while let Some(d) = it.next_if(|d| d.day == day) {
                balance += d.net;
                sold += d.sold;
            }
            values.push((balance > 0).then_some(Qty::from_milli(sold.max(0))));
        }
        out.push(DemandSeries {
            product_id: key.0,
            location_id: key.1,
            start: day_date(first),
            values,
        });
    }
    out
}

fn scores_out(scores: &[(Method, Score)]) -> Vec<MethodScore> {
    scores
        .iter()
        .map(|(m, s)| MethodScore {
            method: m.as_str().to_owned(),
            wape: s.wape(),
            mase: s.mase,
            periods: s.periods,
        })
        .collect()
}

fn service_level(v: Option<f64>, settings: &ForecastSettings) -> Result<ServiceLevel> {
    let pct = v.unwrap_or(f64::from(settings.service_level_bp) / 100.0);
    ServiceLevel::new(pct).map_err(|e| Error::invalid("service_level", e.rule(), e.to_string()))
}

impl App {
    /// Runs the forecast now over the sales history and stores it; the previous run stays
    /// the latest until this one is written whole.
    pub async fn run_forecast(&self, actor: &Principal) -> Result<ForecastRun> {
        actor.require(Permission::PurchasingWrite)?;
        let s = self.settings.forecast.clone();
        let now = self.clock.now_micros();
        let to_day = local_day(now) - 1;
        let from_day = to_day - i64::from(s.history_days.max(1)) + 1;
        let run_id = self
            .store
            .start_forecast_run(NewForecastRun {
                history_from: day_date(from_day),
                history_to: day_date(to_day),
                horizon: i64::from(s.horizon_days),
                actor: actor.label.clone(),
                now,
            })
            .await?;
        let from_micros = from_day * DAY_MICROS - LOCAL_OFFSET_MICROS;
        let outcome = match self.store.demand_history(from_micros).await {
            Ok((opening, days)) => {
                let settings = s.clone();
                tokio::task::spawn_blocking(move || {
                    forecast_all(&settings, from_day, to_day, &opening, &days)
                })
                .await
                .unwrap_or_else(|e| FinishedRun {
                    ok: false,
                    series: Vec::new(),
                    method_mix: BTreeMap::new(),
                    accuracy: serde_json::Value::Null,
                    detail: format!("el cálculo falló: {e}"),
                })
            }
            Err(e) => FinishedRun {
                ok: false,
                series: Vec::new(),
                method_mix: BTreeMap::new(),
                accuracy: serde_json::Value::Null,
                detail: e.to_string(),
            },
        };
        let ok = outcome.ok;
        let detail = outcome.detail.clone();
        let stored = self
            .store
            .finish_forecast_run(run_id, outcome, self.clock.now_micros())
            .await;
        crate::telemetry::forecast_job(ok && stored.is_ok());
        stored?;
        if !ok {
            return Err(Error::internal(detail));
        }
        self.store
            .get_forecast_run(run_id)
            .await?
            .ok_or_else(|| Error::internal("la corrida de pronóstico no quedó guardada"))
    }

    /// The latest finished run.
    pub async fn latest_forecast_run(&self, actor: &Principal) -> Result<ForecastRun> {
        actor.require(Permission::StockRead)?;
        self.store.latest_forecast_run().await?.ok_or_else(no_run)
    }

    /// A product's forecast per location from the latest finished run.
    /// Units of a product sold per location and shop day over the last `days` days, for the
    /// forecast chart's history: (location code, day, quantity), oldest first.
    pub async fn product_sales_history(
        &self,
        actor: &Principal,
        product_id: i64,
        days: u32,
    ) -> Result<Vec<(String, NaiveDate, Qty)>> {
        actor.require(Permission::StockRead)?;
        let now = self.clock.now_micros();
        let to_day = (now + LOCAL_OFFSET_MICROS).div_euclid(DAY_MICROS);
        let from_micros = (to_day - i64::from(days) + 1) * DAY_MICROS - LOCAL_OFFSET_MICROS;
        let rows = self
            .store
            .product_daily_sales(product_id, from_micros)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(code, day, sold)| (code, day_date(day), Qty::from_milli(sold)))
            .collect())
    }

    pub async fn product_forecast(
        &self,
        actor: &Principal,
        product_id: i64,
    ) -> Result<ProductForecast> {
        actor.require(Permission::StockRead)?;
        if self.store.get_product(product_id).await?.is_none() {
            return Err(Error::NotFound {
                entity: "producto",
                key: product_id.to_string(),
            });
        }
        let run = self.store.latest_forecast_run().await?.ok_or_else(no_run)?;
        let series = self.store.forecast_series(run.id, product_id).await?;
        Ok(ProductForecast {
            product_id,
            run_id: run.id,
            run_finished_at: run.finished_at,
            locations: series
                .into_iter()
                .map(|s| LocationForecast {
                    location_id: s.location_id,
                    method: s.method.as_str().to_owned(),
                    calendar: s.calendar,
                    error_sd: Qty::from_milli(s.error_sd),
                    scores: scores_out(&s.scores),
                    points: s
                        .points
                        .iter()
                        .map(|p| PointOut {
                            date: p.date,
                            forecast: p.point,
                            lower: p.lower,
                            upper: p.upper,
                        })
                        .collect(),
                })
                .collect(),
        })
    }

    /// Suggested orders from the latest run, grouped by supplier, only lines to order.
    pub async fn replenishment_suggestions(
        &self,
        actor: &Principal,
        q: SuggestionQuery,
    ) -> Result<Suggestions> {
        actor.require(Permission::StockRead)?;
        let level = service_level(q.service_level, &self.settings.forecast)?;
        let review = q
            .review_period_days
            .unwrap_or(self.settings.forecast.review_period_days);
        if review > 365 {
            return Err(Error::invalid(
                "review_period_days",
                "range",
                "el período de revisión va de 0 a 365 días",
            ));
        }
        let budget = q
            .budget
            .as_deref()
            .map(Money::parse_non_negative)
            .transpose()
            .field("budget")?;
        let buy_ahead = match q.monthly_price_rise_bp {
            None => None,
            Some(rise) => {
                let holding = q.monthly_holding_bp.unwrap_or(200);
                let days = q.max_buy_ahead_days.unwrap_or(14);
                if !(0..=100_000).contains(&rise) || !(0..=100_000).contains(&holding) {
                    return Err(Error::invalid(
                        "monthly_price_rise_bp",
                        "range",
                        "las tasas mensuales van de 0 a 100000 puntos básicos",
                    ));
                }
                if days > 90 {
                    return Err(Error::invalid(
                        "max_buy_ahead_days",
                        "range",
                        "se compra por adelantado como máximo 90 días",
                    ));
                }
                Some(replenishment::BuyAhead {
                    monthly_price_rise_bp: rise,
                    monthly_holding_bp: holding,
                    max_extra_days: days,
                })
            }
        };
        let location = match q.location.as_deref() {
            Some(l) => Some(crate::catalog::location_code("location", l)?),
            None => None,
        };
        let run = self.store.latest_forecast_run().await?.ok_or_else(no_run)?;
        let rows = self.store.replenishment_rows(run.id).await?;
        let lines: Vec<(Suggestion, Policy, ReplenishmentRow)> = rows
            .into_iter()
            .filter(|r| location.as_deref().is_none_or(|l| r.location == l))
            .map(|r| {
                let policy = Policy {
                    lead_time_days: u32::try_from(r.lead_time_days.clamp(0, 365)).unwrap_or(0),
                    review_period_days: review,
                    service_level: level,
                    pack_size: r.pack,
                    min_order: Qty::ZERO,
                    buy_ahead,
                };
                let demand = Demand {
                    daily: r
                        .points
                        .iter()
                        .map(|p| domain::forecast::to_units(p.point))
                        .collect(),
                    error_sd: r.error_sd as f64 / 1000.0,
                };
                let position = Position {
                    on_hand: r.on_hand,
                    on_order: r.on_order,
                    in_transit: Qty::ZERO,
                };
                let s = replenishment::suggest(&demand, &policy, position, r.unit_cost);
                (s, policy, r)
            })
            .filter(|(s, _, _)| s.quantity.is_positive())
            .collect();
        let lines: Vec<(Suggestion, ReplenishmentRow)> = match budget {
            Some(budget) => replenishment::within_budget(lines, budget)
                .into_iter()
                .filter(|(s, _)| s.quantity.is_positive())
                .collect(),
            None => lines.into_iter().map(|(s, _, r)| (s, r)).collect(),
        };
        let mut groups: BTreeMap<Option<i64>, SupplierGroup> = BTreeMap::new();
        for (s, r) in lines {
            let g = groups
                .entry(r.supplier_id)
                .or_insert_with(|| SupplierGroup {
                    supplier_id: r.supplier_id,
                    supplier: r.supplier.clone(),
                    total: Money::from_minor(0),
                    lines: Vec::new(),
                });
            g.total = g.total.checked_add(s.cost).unwrap_or(g.total);
            g.lines.push(SuggestionLine {
                product_id: r.product_id,
                sku: r.sku,
                name: r.name,
                location: r.location,
                quantity: s.quantity,
                unit_cost: s.unit_cost,
                cost: s.cost,
                daily_forecast: s.daily_forecast,
                lead_time_demand: s.lead_time_demand,
                safety_stock: s.safety_stock,
                reorder_point: s.reorder_point,
                order_up_to: s.order_up_to,
                on_hand: s.position.on_hand,
                on_order: s.position.on_order,
                in_transit: s.position.in_transit,
                lead_time_days: r.lead_time_days,
                days_of_cover: s.days_of_cover,
                reason: s.reason,
            });
        }
        Ok(Suggestions {
            run_id: run.id,
            service_level: level.percent(),
            review_period_days: review,
            groups: groups.into_values().collect(),
        })
    }

    /// One supplier's suggested lines for one location, as a draft purchase order through
    /// the purchasing use case (so its rules and idempotency apply).
    pub async fn order_suggestions(
        &self,
        actor: &Principal,
        supplier_id: i64,
        input: SuggestionOrderInput,
        meta: WriteMeta,
    ) -> Result<Written<PurchaseOrder>> {
        actor.require(Permission::PurchasingWrite)?;
        if let Some(done) = self.store.replayed_purchase_order(&meta).await? {
            return Ok(done);
        }
        let location = crate::catalog::location_code("location", &input.location)?;
        if self.store.get_supplier(supplier_id).await?.is_none() {
            return Err(Error::NotFound {
                entity: "proveedor",
                key: supplier_id.to_string(),
            });
        }
        let suggestions = self
            .replenishment_suggestions(
                actor,
                SuggestionQuery {
                    service_level: input.service_level,
                    review_period_days: input.review_period_days,
                    budget: input.budget,
                    location: Some(location.clone()),
                    ..SuggestionQuery::default()
                },
            )
            .await?;
        let Some(group) = suggestions
            .groups
            .into_iter()
            .find(|g| g.supplier_id == Some(supplier_id))
        else {
            return Err(Error::invalid(
                "supplier",
                "nothing_to_order",
                "no hay sugerencias de compra para ese proveedor en esa sucursal",
            ));
        };
        let lines = group
            .lines
            .iter()
            .map(|l| ItemInput {
                product_id: Some(l.product_id),
                sku: None,
                barcode: None,
                quantity: l.quantity.to_string(),
                unit_cost: Some(l.unit_cost.to_string()),
                lot: None,
                expiry: None,
            })
            .collect();
        self.create_purchase_order(
            actor,
            PurchaseOrderInput {
                supplier_id,
                location,
                lines,
                notes: Some(format!(
                    "Sugerido por el pronóstico #{} (nivel de servicio {} %)",
                    suggestions.run_id, suggestions.service_level
                )),
            },
            meta,
        )
        .await
    }
}

impl App {
    /// Bulk past sales and receipts (demo data, migrations from another system): only
    /// receipts and sales, each with the right sign, in time order per product × location.
    pub async fn append_history(&self, actor: &Principal, lines: Vec<HistoryLine>) -> Result<u64> {
        use domain::ledger::MovementKind as K;
        actor.require(Permission::AdminTools)?;
        for (i, l) in lines.iter().enumerate() {
            let ok = match l.kind {
                K::Receipt => l.quantity > 0,
                K::Sale => l.quantity < 0,
                _ => false,
            };
            if !ok {
                return Err(Error::invalid(
                    format!("lines[{i}].quantity"),
                    "sign",
                    "el historial admite recepciones positivas y ventas negativas",
                ));
            }
        }
        self.store.append_history(lines).await
    }
}

fn no_run() -> Error {
    Error::NotFound {
        entity: "pronóstico",
        key: "todavía no se ejecutó ninguno".to_owned(),
    }
}

/// The CPU part of a run: every series through the domain forecaster.
fn forecast_all(
    s: &ForecastSettings,
    from_day: i64,
    to_day: i64,
    opening: &[OpeningBalance],
    days: &[DemandDay],
) -> FinishedRun {
    let mut fc = Forecaster::new(Config {
        horizon: usize::try_from(s.horizon_days.max(1)).unwrap_or(28),
        calendar: s.calendar,
        ..Config::default()
    });
    let mut table = domain::forecast::AccuracyTable::new();
    let mut mix: BTreeMap<String, i64> = BTreeMap::new();
    let series: Vec<StoredSeries> = demand_series(from_day, to_day, opening, days)
        .into_iter()
        .map(|d| {
            let f = fc.run(d.start, Frequency::Daily, &d.values);
            table.add(&f);
            let label = if f.calendar {
                format!("{}+calendar", f.method)
            } else {
                f.method.to_string()
            };
            *mix.entry(label).or_default() += 1;
            StoredSeries {
                product_id: d.product_id,
                location_id: d.location_id,
                method: f.method,
                calendar: f.calendar,
                error_sd: domain::forecast::to_qty(f.error_sd).milli(),
                scores: f.scores,
                points: f.points,
            }
        })
        .collect();
    let accuracy = serde_json::json!({
        "methods": Method::ALL.iter().zip(&table.methods).map(|(m, r)| serde_json::json!({
            "method": m.as_str(), "wape": r.wape(), "mase": r.mase(),
        })).collect::<Vec<_>>(),
        "selection": {"wape": table.selection.wape(), "mase": table.selection.mase()},
    });
    FinishedRun {
        ok: true,
        detail: format!("{} series", series.len()),
        series,
        method_mix: mix,
        accuracy,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(product_id: i64, day: i64, net: i64, sold: i64) -> DemandDay {
        DemandDay {
            product_id,
            location_id: 1,
            day,
            net,
            sold,
        }
    }

    #[test]
    fn local_days_follow_argentina() {
        // 2025-01-02 02:00 UTC is still 1 January in Buenos Aires.
        let micros = chrono::NaiveDate::from_ymd_opt(2025, 1, 2)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        assert_eq!(
            day_date(local_day(micros)),
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
        );
    }

    #[test]
    fn series_start_with_stock_and_censor_sold_out_days() {
        // Product 1: received 5 on day 10, sold 2 on day 11, 3 on day 12 (sold out), nothing
        // on day 13, 10 received and 1 sold on day 14.
        let days = vec![
            d(1, 10, 5000, 0),
            d(1, 11, -2000, 2000),
            d(1, 12, -3000, 3000),
            d(1, 14, 9000, 1000),
        ];
        let out = demand_series(5, 14, &[], &days);
        assert_eq!(out.len(), 1);
        let s = &out[0];
        assert_eq!((s.product_id, s.location_id), (1, 1));
        assert_eq!(s.start, day_date(10));
        assert_eq!(
            s.values,
            vec![
                Some(Qty::ZERO),
                Some(Qty::units(2)),
                None,
                None,
                Some(Qty::units(1))
            ]
        );
        // With an opening balance the series starts with the window.
        let opening = [OpeningBalance {
            product_id: 2,
            location_id: 1,
            on_hand: 4000,
        }];
        let out = demand_series(5, 7, &opening, &[]);
        assert_eq!(out[0].values, vec![Some(Qty::ZERO); 3]);
    }
}
