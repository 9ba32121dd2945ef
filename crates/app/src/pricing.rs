//! Pricing under inflation: markup rules, price history, the monthly inflation index and bulk
//! price updates (preview, then an atomic apply that refuses a stale preview).
//!
//! The plan of an update is a pure function of a [`PricingSnapshot`], so the store re-runs it
//! inside the apply transaction and compares its token with the preview's.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::Money;
use domain::auth::Permission;
use domain::catalog::{UnitOfMeasure, VatRate};
use domain::pricing::{self as rules, MonthlyRate, Percent, Rounding, RuleParts, RuleScope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::App;
use crate::catalog::text;
use crate::error::{Error, FieldContext, Result};
use crate::page::{Page, PageRequest};
use crate::write::{Principal, WriteMeta};

// ---------------------------------------------------------------- rules

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceRule {
    pub id: i64,
    #[schema(value_type = String, example = "category")]
    pub scope: RuleScope,
    /// The category, supplier or product id the rule applies to.
    pub target_id: i64,
    /// Markup over the net cost, in percent.
    #[schema(value_type = Option<String>, example = "35")]
    pub markup: Option<Percent>,
    /// Lowest margin on the net (price without IVA) a price may leave, in percent.
    #[schema(value_type = Option<String>, example = "20")]
    pub min_margin: Option<Percent>,
    #[schema(value_type = Option<String>, example = "ten_pesos")]
    pub rounding: Option<Rounding>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl PriceRule {
    pub fn parts(&self) -> RuleParts {
        RuleParts {
            markup: self.markup,
            min_margin: self.min_margin,
            rounding: self.rounding,
        }
    }
}

/// Creates or replaces the rule of one category, supplier or product.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceRuleInput {
    /// `category`, `supplier` or `product`.
    #[schema(example = "category")]
    pub scope: String,
    pub target_id: i64,
    #[serde(default)]
    #[schema(example = "35")]
    pub markup: Option<String>,
    #[serde(default)]
    #[schema(example = "20")]
    pub min_margin: Option<String>,
    /// `centavo`, `half_peso`, `peso`, `ten_pesos`, `hundred_pesos` or `ninety_nine`.
    #[serde(default)]
    #[schema(example = "ten_pesos")]
    pub rounding: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPriceRule {
    pub scope: RuleScope,
    pub target_id: i64,
    pub markup: Option<Percent>,
    pub min_margin: Option<Percent>,
    pub rounding: Option<Rounding>,
}

impl PriceRuleInput {
    pub fn parse(self) -> Result<NewPriceRule> {
        let scope = RuleScope::parse(&self.scope).ok_or_else(|| {
            Error::invalid(
                "scope",
                "unknown_value",
                "el alcance debe ser category, supplier o product",
            )
        })?;
        let markup = self
            .markup
            .as_deref()
            .map(Percent::parse_markup)
            .transpose()
            .field("markup")?;
        let min_margin = self
            .min_margin
            .as_deref()
            .map(Percent::parse_margin)
            .transpose()
            .field("min_margin")?;
        let rounding = self
            .rounding
            .as_deref()
            .map(Rounding::parse)
            .transpose()
            .field("rounding")?;
        if markup.is_none() && min_margin.is_none() && rounding.is_none() {
            return Err(Error::invalid(
                "markup",
                "required",
                "indique al menos el recargo, el margen mínimo o el redondeo",
            ));
        }
        let parts = RuleParts {
            markup,
            min_margin,
            rounding,
        };
        parts.validate().field("markup")?;
        Ok(NewPriceRule {
            scope,
            target_id: self.target_id,
            markup,
            min_margin,
            rounding,
        })
    }
}

// ---------------------------------------------------------------- history

/// One shelf price a product had, from `changed_at` until the next one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricePoint {
    pub id: i64,
    pub product_id: i64,
    #[schema(value_type = String)]
    pub price: Money,
    #[schema(value_type = String)]
    pub cost: Money,
    pub changed_at: DateTime<Utc>,
    pub actor: String,
    pub reason: String,
    /// `initial`, `product`, `price_update` or `supplier_list`.
    pub source: String,
    pub update_id: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriceAtQuery {
    /// The shop day (YYYY-MM-DD): the price in force at its close. Default: now.
    pub date: Option<NaiveDate>,
}

/// Where a recorded price change came from, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChangeNote {
    pub reason: String,
    pub source: &'static str,
}

// ---------------------------------------------------------------- inflation

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InflationRate {
    /// YYYY-MM.
    #[schema(example = "2026-01")]
    pub month: String,
    /// Monthly CPI change in percent.
    #[schema(value_type = String, example = "4.5")]
    pub rate: MonthlyRate,
    /// `manual` or `csv`.
    pub source: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InflationRateInput {
    /// Monthly CPI change in percent, −50 … 100, up to 4 decimals.
    #[schema(example = "4.5")]
    pub rate: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInflationRate {
    pub month: String,
    pub rate: MonthlyRate,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CellError {
    /// 1-based line in the file, counting the header as line 1.
    pub line: u64,
    /// The column as named in the file's header (or its letter in a sheet).
    pub column: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InflationImport {
    pub saved: Vec<InflationRate>,
    pub errors: Vec<CellError>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectionQuery {
    /// Amount to project, e.g. "1000.00".
    pub amount: String,
    /// First day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Day the amount is projected to.
    pub to: NaiveDate,
    /// A flat monthly rate in percent; without it the stored monthly index is used.
    pub rate: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Projection {
    #[schema(value_type = String)]
    pub amount: Money,
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[schema(value_type = String)]
    pub projected: Money,
}

/// Pricing settings of the shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PricingSettings {
    /// A receipt line costing more than the previous cost by over this percentage proposes a
    /// repricing of the product.
    pub receipt_rise_threshold: Percent,
}

impl Default for PricingSettings {
    fn default() -> Self {
        PricingSettings {
            receipt_rise_threshold: Percent::from_bp(500),
        }
    }
}

/// "YYYY-MM" or "MM/YYYY" → "YYYY-MM".
pub fn parse_month(raw: &str) -> Option<String> {
    let s = raw.trim();
    let (y, m) = if let Some((y, m)) = s.split_once('-') {
        (y, m)
    } else if let Some((m, y)) = s.split_once('/') {
        (y, m)
    } else {
        return None;
    };
    let (y, m): (i32, u32) = (y.trim().parse().ok()?, m.trim().parse().ok()?);
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    Some(format!("{y:04}-{m:02}"))
}

fn month_key(month: &str) -> Option<(i32, u32)> {
    let (y, m) = month.split_once('-')?;
    Some((y.parse().ok()?, m.parse().ok()?))
}

// ---------------------------------------------------------------- bulk updates

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriceUpdateKind {
    /// Raise (or lower) costs or prices by a percentage.
    Raise,
    /// Project each cost by the monthly CPI from the product's last price change to today.
    Reindex,
    /// Price every product by the rules at its current cost.
    Reprice,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RaiseTarget {
    /// Raise the replacement cost and reprice by the rules.
    #[default]
    Cost,
    /// Raise the shelf price directly (then round).
    Price,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceUpdateInput {
    pub kind: PriceUpdateKind,
    /// For `raise`: the percentage, −90 … 500.
    #[serde(default)]
    #[schema(example = "8.5")]
    pub percent: Option<String>,
    /// For `raise`: whether the cost (default) or the price moves.
    #[serde(default)]
    pub target: Option<RaiseTarget>,
    /// Only products of this supplier.
    #[serde(default)]
    pub supplier_id: Option<i64>,
    /// Only products of this category.
    #[serde(default)]
    pub category_id: Option<i64>,
    /// Only these products (up to 10 000).
    #[serde(default)]
    pub product_ids: Option<Vec<i64>>,
    /// Recorded in every product's price history.
    #[schema(example = "Lista de precios de marzo")]
    pub reason: String,
    /// How many changed lines the preview returns (default 100, at most 5 000).
    #[serde(default)]
    pub lines_limit: Option<u32>,
}

/// Which active products an update touches; empty filters mean all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub supplier_id: Option<i64>,
    pub category_id: Option<i64>,
    pub product_ids: Option<Vec<i64>>,
}

/// What an update does to each selected product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpdateAction {
    Raise {
        percent: Percent,
        target: RaiseTarget,
    },
    Reindex,
    Reprice,
    /// New costs from a supplier price list, repriced by the rules.
    SetCosts(Vec<(i64, Money)>),
    /// Costs already moved (by a receipt) from these earlier costs: reprice at the current cost.
    CostRose(Vec<(i64, Money)>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceUpdateRequest {
    pub action: UpdateAction,
    pub selection: Selection,
    pub reason: String,
    /// `price_update` or `supplier_list`.
    pub source: String,
}

impl PriceUpdateInput {
    fn parse(self) -> Result<(PriceUpdateRequest, usize)> {
        let action = match self.kind {
            PriceUpdateKind::Raise => {
                let raw = self.percent.as_deref().ok_or_else(|| {
                    Error::invalid("percent", "required", "indique el porcentaje de aumento")
                })?;
                UpdateAction::Raise {
                    percent: Percent::parse_within(raw, -90, 500).field("percent")?,
                    target: self.target.unwrap_or_default(),
                }
            }
            PriceUpdateKind::Reindex => UpdateAction::Reindex,
            PriceUpdateKind::Reprice => UpdateAction::Reprice,
        };
        if self.kind != PriceUpdateKind::Raise && (self.percent.is_some() || self.target.is_some())
        {
            return Err(Error::invalid(
                "percent",
                "raise_only",
                "el porcentaje se indica sólo en los aumentos (kind = raise)",
            ));
        }
        if self
            .product_ids
            .as_ref()
            .is_some_and(|ids| ids.is_empty() || ids.len() > 10_000)
        {
            return Err(Error::invalid(
                "product_ids",
                "length",
                "indique entre 1 y 10000 productos",
            ));
        }
        let limit = self.lines_limit.unwrap_or(100);
        if limit > 5_000 {
            return Err(Error::invalid(
                "lines_limit",
                "range",
                "lines_limit debe estar entre 0 y 5000",
            ));
        }
        Ok((
            PriceUpdateRequest {
                action,
                selection: Selection {
                    supplier_id: self.supplier_id,
                    category_id: self.category_id,
                    product_ids: self.product_ids,
                },
                reason: text("reason", &self.reason, 3, 200)?,
                source: "price_update".into(),
            },
            limit as usize,
        ))
    }
}

/// One selected product as the store has it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub category_id: i64,
    pub supplier_id: Option<i64>,
    pub unit: UnitOfMeasure,
    pub cost: Money,
    pub price: Money,
    pub vat: VatRate,
    /// When its shelf price last changed (micros), for re-indexing.
    pub last_change: i64,
}

/// Everything a plan reads, loaded in one transaction.
#[derive(Clone, Debug, Default)]
pub struct PricingSnapshot {
    pub rows: Vec<CandidateRow>,
    pub rules: Vec<PriceRule>,
    pub rates: Vec<(String, MonthlyRate)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanLine {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    #[schema(value_type = String)]
    pub old_cost: Money,
    #[schema(value_type = String)]
    pub new_cost: Money,
    #[schema(value_type = String)]
    pub old_price: Money,
    /// Before shelf rounding.
    #[schema(value_type = String)]
    pub unrounded_price: Money,
    #[schema(value_type = String)]
    pub new_price: Money,
    /// Margin on the net at the new price and cost, in percent.
    #[schema(value_type = Option<String>)]
    pub margin: Option<Percent>,
    #[schema(value_type = String, example = "ten_pesos")]
    pub rounding: Rounding,
    /// The new price leaves less than the rule's minimum margin.
    pub below_floor: bool,
}

/// The changed lines of an update, most specific rule first, in product id order.
pub fn plan(
    req: &PriceUpdateRequest,
    snap: &PricingSnapshot,
    today: NaiveDate,
) -> Result<Vec<PlanLine>> {
    let mut by_scope: HashMap<(RuleScope, i64), RuleParts> = HashMap::new();
    for r in &snap.rules {
        by_scope.insert((r.scope, r.target_id), r.parts());
    }
    let rates: HashMap<(i32, u32), MonthlyRate> = snap
        .rates
        .iter()
        .filter_map(|(m, r)| month_key(m).map(|k| (k, *r)))
        .collect();
    let given: HashMap<i64, Money> = match &req.action {
        UpdateAction::SetCosts(c) | UpdateAction::CostRose(c) => c.iter().copied().collect(),
        _ => HashMap::new(),
    };
    // Products last repriced on the same day share one compounding factor.
    let mut factors: HashMap<NaiveDate, Vec<(MonthlyRate, i64)>> = HashMap::new();
    let mut out = Vec::new();
    for row in &snap.rows {
        let rule = rules::resolve(
            by_scope.get(&(RuleScope::Product, row.product_id)),
            row.supplier_id
                .and_then(|s| by_scope.get(&(RuleScope::Supplier, s))),
            by_scope.get(&(RuleScope::Category, row.category_id)),
        );
        let (new_cost, quote) = match &req.action {
            UpdateAction::Raise {
                percent,
                target: RaiseTarget::Price,
            } => {
                let unrounded = percent.apply(row.price);
                (row.cost, rules::finish(row.cost, unrounded, row.vat, &rule))
            }
            UpdateAction::CostRose(_) => {
                let before = given.get(&row.product_id).copied().unwrap_or(row.cost);
                (
                    row.cost,
                    rules::reprice(before, row.price, row.cost, row.vat, &rule),
                )
            }
            action => {
                let new_cost = match action {
                    UpdateAction::Raise { percent, .. } => percent.apply(row.cost),
                    UpdateAction::Reindex => {
                        let since = shop_date(row.last_change);
                        let spans = factors.entry(since).or_insert_with(|| {
                            rules::spans_between(since, today, |y, m| rates.get(&(y, m)).copied())
                        });
                        rules::project_by_months(row.cost, spans).field("rate")?
                    }
                    UpdateAction::SetCosts(_) => {
                        given.get(&row.product_id).copied().unwrap_or(row.cost)
                    }
                    UpdateAction::Reprice | UpdateAction::CostRose(_) => row.cost,
                };
                (
                    new_cost,
                    rules::reprice(row.cost, row.price, new_cost, row.vat, &rule),
                )
            }
        };
        if new_cost == row.cost && quote.price == row.price {
            continue;
        }
        out.push(PlanLine {
            product_id: row.product_id,
            sku: row.sku.clone(),
            name: row.name.clone(),
            old_cost: row.cost,
            new_cost,
            old_price: row.price,
            unrounded_price: quote.unrounded,
            new_price: quote.price,
            margin: quote.margin,
            rounding: quote.rounding,
            below_floor: quote.below_floor,
        });
    }
    Ok(out)
}

/// The shop day of an instant (Argentina, UTC−3).
pub fn shop_date(micros: i64) -> NaiveDate {
    (crate::clock_instant(micros) - chrono::Duration::hours(3)).date_naive()
}

/// Fingerprint of a plan: the same request over the same prices, costs and rules gives the
/// same token, and any change in between gives another.
pub fn plan_token(req: &PriceUpdateRequest, lines: &[PlanLine]) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(req).unwrap_or_default());
    for l in lines {
        for v in [
            l.product_id,
            l.old_cost.minor(),
            l.new_cost.minor(),
            l.old_price.minor(),
            l.new_price.minor(),
        ] {
            h.update(v.to_le_bytes());
        }
    }
    hex::encode(&h.finalize()[..16])
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PricePreview {
    /// Apply with `POST /api/v1/price-updates/{id}/apply` and this token.
    pub id: i64,
    pub token: String,
    pub reason: String,
    /// Products whose cost or price changes.
    pub changes: usize,
    /// Of those, how many would fall below their margin floor.
    pub below_floor: usize,
    /// The first changed lines (see `lines_limit`).
    pub lines: Vec<PlanLine>,
    /// The lines below the margin floor (at most 1000).
    pub below_floor_lines: Vec<PlanLine>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyInput {
    /// The preview's token; a different one means prices moved since the preview.
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceUpdateApplied {
    pub id: i64,
    /// Products whose cost or price changed.
    pub changed: usize,
    pub below_floor: usize,
    pub applied_at: DateTime<Utc>,
}

/// Builds the preview answer from a plan.
pub fn preview_of(
    id: i64,
    token: String,
    reason: String,
    lines: Vec<PlanLine>,
    limit: usize,
) -> PricePreview {
    let below: Vec<PlanLine> = lines.iter().filter(|l| l.below_floor).cloned().collect();
    PricePreview {
        id,
        token,
        reason,
        changes: lines.len(),
        below_floor: below.len(),
        below_floor_lines: below.into_iter().take(1000).collect(),
        lines: lines.into_iter().take(limit).collect(),
    }
}

impl App {
    pub async fn price_rules(&self, actor: &Principal) -> Result<Vec<PriceRule>> {
        actor.require(Permission::CatalogRead)?;
        self.store.list_price_rules().await
    }

    pub async fn save_price_rule(
        &self,
        actor: &Principal,
        input: PriceRuleInput,
        meta: WriteMeta,
    ) -> Result<PriceRule> {
        actor.require(Permission::PricingWrite)?;
        let new = input.parse()?;
        self.store.save_price_rule(&meta, new).await
    }

    pub async fn delete_price_rule(
        &self,
        actor: &Principal,
        id: i64,
        meta: WriteMeta,
    ) -> Result<()> {
        actor.require(Permission::PricingWrite)?;
        self.store.delete_price_rule(&meta, id).await
    }

    pub async fn price_history(
        &self,
        actor: &Principal,
        product_id: i64,
        page: PageRequest,
    ) -> Result<Page<PricePoint>> {
        actor.require(Permission::CatalogRead)?;
        self.product(actor, product_id).await?;
        self.store.price_history(product_id, page).await
    }

    /// The price in force at the close of a shop day (or now).
    pub async fn price_at(
        &self,
        actor: &Principal,
        product_id: i64,
        q: PriceAtQuery,
    ) -> Result<PricePoint> {
        actor.require(Permission::CatalogRead)?;
        let at = match q.date {
            Some(d) => crate::reports::day_start_micros(d.succ_opt().unwrap_or(d)) - 1,
            None => self.clock.now_micros(),
        };
        self.store
            .price_at(product_id, at)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "precio del producto",
                key: format!("{product_id} a esa fecha"),
            })
    }

    pub async fn inflation_rates(&self, actor: &Principal) -> Result<Vec<InflationRate>> {
        actor.require(Permission::CatalogRead)?;
        self.store.list_inflation_rates().await
    }

    pub async fn save_inflation_rate(
        &self,
        actor: &Principal,
        month: &str,
        input: InflationRateInput,
        meta: WriteMeta,
    ) -> Result<InflationRate> {
        actor.require(Permission::PricingWrite)?;
        let month = parse_month(month).ok_or_else(|| {
            Error::invalid("month", "format", "el mes debe tener la forma AAAA-MM")
        })?;
        let rate = MonthlyRate::parse(&input.rate).field("rate")?;
        let mut saved = self
            .store
            .save_inflation_rates(
                &meta,
                vec![NewInflationRate {
                    month,
                    rate,
                    source: "manual".into(),
                }],
            )
            .await?;
        saved
            .pop()
            .ok_or_else(|| Error::internal("la tasa guardada no volvió"))
    }

    /// Imports `month,rate` rows (the official CPI series); malformed rows are reported by
    /// line and column and not saved, the others are saved together.
    pub async fn import_inflation_rates(
        &self,
        actor: &Principal,
        data: &[u8],
        meta: WriteMeta,
    ) -> Result<InflationImport> {
        actor.require(Permission::PricingWrite)?;
        let table = crate::price_lists::read_csv(data)?;
        let col = |names: &[&str]| {
            table
                .headers
                .iter()
                .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
        };
        let month_col = col(&["month", "mes", "periodo", "período"]).ok_or_else(|| {
            Error::invalid("file", "missing_column", "falta la columna «mes» (month)")
        })?;
        let rate_col =
            col(&["rate", "tasa", "variacion", "variación", "ipc"]).ok_or_else(|| {
                Error::invalid("file", "missing_column", "falta la columna «tasa» (rate)")
            })?;
        let mut new = Vec::new();
        let mut errors = Vec::new();
        for (line, cells) in &table.rows {
            let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
            let Some(month) = parse_month(cell(month_col)) else {
                errors.push(CellError {
                    line: *line,
                    column: table.headers[month_col].clone(),
                    reason: "el mes debe tener la forma AAAA-MM o MM/AAAA".into(),
                });
                continue;
            };
            match MonthlyRate::parse(&cell(rate_col).replace(',', ".")) {
                Ok(rate) => new.push(NewInflationRate {
                    month,
                    rate,
                    source: "csv".into(),
                }),
                Err(e) => errors.push(CellError {
                    line: *line,
                    column: table.headers[rate_col].clone(),
                    reason: e.to_string(),
                }),
            }
        }
        let saved = if new.is_empty() {
            Vec::new()
        } else {
            self.store.save_inflation_rates(&meta, new).await?
        };
        Ok(InflationImport { saved, errors })
    }

    pub async fn project_cost(&self, actor: &Principal, q: ProjectionQuery) -> Result<Projection> {
        actor.require(Permission::CatalogRead)?;
        let amount = Money::parse_non_negative(&q.amount).field("amount")?;
        if q.to < q.from {
            return Err(Error::invalid(
                "to",
                "range",
                "la fecha final es anterior a la inicial",
            ));
        }
        let spans = match q.rate.as_deref() {
            Some(r) => {
                let rate = MonthlyRate::parse(r).field("rate")?;
                vec![(rate, (q.to - q.from).num_days())]
            }
            None => {
                let rates: HashMap<(i32, u32), MonthlyRate> = self
                    .store
                    .list_inflation_rates()
                    .await?
                    .into_iter()
                    .filter_map(|r| month_key(&r.month).map(|k| (k, r.rate)))
                    .collect();
                rules::spans_between(q.from, q.to, |y, m| rates.get(&(y, m)).copied())
            }
        };
        Ok(Projection {
            amount,
            from: q.from,
            to: q.to,
            projected: rules::project_by_months(amount, &spans).field("rate")?,
        })
    }

    pub async fn preview_price_update(
        &self,
        actor: &Principal,
        input: PriceUpdateInput,
        meta: WriteMeta,
    ) -> Result<PricePreview> {
        actor.require(Permission::PricingWrite)?;
        let (req, limit) = input.parse()?;
        self.preview_request(req, limit, &meta).await
    }

    pub(crate) async fn preview_request(
        &self,
        req: PriceUpdateRequest,
        limit: usize,
        meta: &WriteMeta,
    ) -> Result<PricePreview> {
        let snap = self
            .store
            .pricing_snapshot(&req.selection, matches!(req.action, UpdateAction::Reindex))
            .await?;
        let today = shop_date(meta.now);
        let lines = plan(&req, &snap, today)?;
        let token = plan_token(&req, &lines);
        let id = self
            .store
            .create_price_update(meta, &req, &token, lines.len())
            .await?;
        Ok(preview_of(id, token, req.reason, lines, limit))
    }

    pub async fn apply_price_update(
        &self,
        actor: &Principal,
        id: i64,
        input: ApplyInput,
        meta: WriteMeta,
    ) -> Result<PriceUpdateApplied> {
        actor.require(Permission::PricingWrite)?;
        let token = input.token.trim();
        if token.is_empty() {
            return Err(Error::invalid(
                "token",
                "required",
                "indique el token de la vista previa",
            ));
        }
        self.store.apply_price_update(&meta, id, token).await
    }

    /// Receipt lines whose cost rose more than the threshold over the previous cost get a
    /// previewed repricing (nothing is applied until someone applies it).
    pub(crate) async fn propose_repricing(
        &self,
        receipt: &crate::purchasing::Receipt,
        meta: &WriteMeta,
    ) -> Result<Option<PricePreview>> {
        let threshold = self.settings.pricing.receipt_rise_threshold;
        let mut rose: Vec<(i64, Money)> = Vec::new();
        for l in &receipt.lines {
            let limit = threshold.apply(l.previous_cost);
            if l.previous_cost.is_positive()
                && l.unit_cost > limit
                && !rose.iter().any(|(id, _)| *id == l.product_id)
            {
                rose.push((l.product_id, l.previous_cost));
            }
        }
        if rose.is_empty() {
            return Ok(None);
        }
        rose.sort_by_key(|(id, _)| *id);
        let req = PriceUpdateRequest {
            selection: Selection {
                product_ids: Some(rose.iter().map(|(id, _)| *id).collect()),
                ..Selection::default()
            },
            action: UpdateAction::CostRose(rose),
            reason: format!("Aumento de costo en la recepción {}", receipt.id),
            source: "price_update".into(),
        };
        let preview = self.preview_request(req, 1000, meta).await?;
        Ok((preview.changes > 0).then_some(preview))
    }

    /// The scheduled monthly re-index: previews and applies a CPI update of every product.
    pub async fn monthly_reindex(&self) -> Result<String> {
        let actor = Principal::system();
        let meta = self.meta(&actor, None);
        let today = self.clock.today();
        let req = PriceUpdateRequest {
            action: UpdateAction::Reindex,
            selection: Selection::default(),
            reason: format!(
                "Actualización mensual por IPC {:02}/{}",
                today.month(),
                today.year()
            ),
            source: "price_update".into(),
        };
        let preview = self.preview_request(req, 0, &meta).await?;
        if preview.changes == 0 {
            return Ok("sin cambios de precios".into());
        }
        let done = self
            .store
            .apply_price_update(&meta, preview.id, &preview.token)
            .await?;
        Ok(format!(
            "{} precios actualizados, {} bajo el margen mínimo",
            done.changed, done.below_floor
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row(id: i64, category: i64, supplier: Option<i64>, cost: i64, price: i64) -> CandidateRow {
        CandidateRow {
            product_id: id,
            sku: format!("P-{id}"),
            name: format!("Producto {id}"),
            category_id: category,
            supplier_id: supplier,
            unit: UnitOfMeasure::Unit,
            cost: Money::from_minor(cost),
            price: Money::from_minor(price),
            vat: VatRate::General,
            last_change: 0,
        }
    }

    fn rule(scope: RuleScope, target: i64, markup: &str, rounding: Option<Rounding>) -> PriceRule {
        PriceRule {
            id: 0,
            scope,
            target_id: target,
            markup: Some(Percent::parse_markup(markup).unwrap()),
            min_margin: None,
            rounding,
            updated_by: "t".into(),
            updated_at: DateTime::default(),
        }
    }

    #[test]
    fn plan_uses_the_most_specific_rule_and_skips_unchanged() {
        let snap = PricingSnapshot {
            rows: vec![
                row(1, 10, Some(5), 100_000, 0),
                row(2, 10, None, 100_000, 0),
                row(3, 10, Some(5), 100_000, 0),
                row(4, 11, None, 100_000, 150_000),
            ],
            rules: vec![
                rule(RuleScope::Category, 10, "30", Some(Rounding::TenPesos)),
                rule(RuleScope::Supplier, 5, "40", None),
                rule(RuleScope::Product, 3, "50", None),
            ],
            rates: vec![],
        };
        let req = PriceUpdateRequest {
            action: UpdateAction::Reprice,
            selection: Selection::default(),
            reason: "x".into(),
            source: "price_update".into(),
        };
        let lines = plan(&req, &snap, NaiveDate::default()).unwrap();
        let prices: Vec<(i64, i64)> = lines
            .iter()
            .map(|l| (l.product_id, l.new_price.minor()))
            .collect();
        // 1000 × 1.40 × 1.21 = 1694 → 1700 (category rounding); 1.30 → 1573 → 1580; 1.50 → 1815 → 1820.
        assert_eq!(prices, [(1, 170_000), (2, 158_000), (3, 182_000)]);
        // Same plan, same token; another price, another token.
        let t1 = plan_token(&req, &lines);
        assert_eq!(
            t1,
            plan_token(&req, &plan(&req, &snap, NaiveDate::default()).unwrap())
        );
        let mut moved = snap.clone();
        moved.rows[0].price = Money::from_minor(1);
        assert_ne!(
            t1,
            plan_token(&req, &plan(&req, &moved, NaiveDate::default()).unwrap())
        );
    }

    #[test]
    fn months() {
        assert_eq!(parse_month("2026-01").as_deref(), Some("2026-01"));
        assert_eq!(parse_month("3/2026").as_deref(), Some("2026-03"));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("enero"), None);
    }
}
