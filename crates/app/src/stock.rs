//! Depósito's stock ledger: movements, transfers, counts, levels, critical stock and the integrity check.

use chrono::{DateTime, NaiveDate, Utc};
use domain::auth::Permission;
use domain::catalog::UnitOfMeasure;
use domain::ledger::{self, MovementKind};
use domain::{Money, Qty};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::catalog::{ProductRef, location_code, lot_and_expiry, optional_text};
use crate::error::{Error, FieldContext, Result};
use crate::page::{Page, PageRequest};
use crate::write::{Principal, WriteMeta, Written};

// ---------------------------------------------------------------- read models

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub location: String,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    #[schema(value_type = String, example = "receipt")]
    pub kind: MovementKind,
    /// Signed: positive enters the location, negative leaves it.
    #[schema(value_type = String, example = "-2")]
    pub quantity: Qty,
    /// On hand of the same product, location and lot before and after this movement.
    #[schema(value_type = String, example = "10")]
    pub before: Qty,
    #[schema(value_type = String, example = "8")]
    pub after: Qty,
    #[schema(value_type = String, example = "1850.00")]
    pub unit_cost: Money,
    pub reason: Option<String>,
    /// The source document, e.g. `transfer:42`, `remito:0001-00001234`.
    pub document: Option<String>,
    pub user: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockLevel {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    #[schema(value_type = String, example = "12")]
    pub on_hand: Qty,
    #[schema(value_type = String, example = "unit")]
    pub unit: UnitOfMeasure,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CriticalStock {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    #[schema(value_type = String)]
    pub min_stock: Qty,
    /// Seasonal factor of the date, e.g. `1.300` in summer.
    pub seasonal_factor: String,
    /// min_stock × factor: at or below this the product is critical.
    #[schema(value_type = String)]
    pub threshold: Qty,
    #[schema(value_type = String)]
    pub on_hand: Qty,
    #[schema(value_type = String)]
    pub deficit: Qty,
}

/// What the store returns for the critical-stock report before the seasonal rule is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockLimitRow {
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub location: String,
    pub min_stock: Qty,
    pub on_hand: Qty,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerDiscrepancy {
    pub product_id: i64,
    pub sku: String,
    pub location: String,
    pub lot: Option<String>,
    /// The movement whose chain is broken, when the problem is in the ledger itself.
    pub movement_id: Option<i64>,
    #[schema(value_type = String)]
    pub projected: Qty,
    #[schema(value_type = String)]
    pub ledger: Qty,
    pub problem: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LedgerReport {
    pub ok: bool,
    pub movements_checked: i64,
    pub levels_checked: i64,
    pub discrepancies: Vec<LedgerDiscrepancy>,
}

// ---------------------------------------------------------------- inputs

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    /// receipt | issue | adjustment | count | return. Transfers have their own endpoint; sales come from tickets.
    #[schema(example = "receipt")]
    pub kind: String,
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    /// Location code.
    #[schema(example = "DEP")]
    pub location: String,
    /// Positive for receipts and issues (the sign follows the kind); signed for adjustments; the counted quantity for counts.
    #[schema(example = "12")]
    pub quantity: String,
    #[serde(default)]
    pub lot: Option<String>,
    /// YYYY-MM-DD
    #[serde(default)]
    #[schema(example = "2027-03-31")]
    pub expiry: Option<String>,
    #[serde(default)]
    pub unit_cost: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub document: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementBatchInput {
    /// All of them are written, or none.
    pub movements: Vec<MovementInput>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub barcode: Option<String>,
    #[schema(example = "DEP")]
    pub from: String,
    #[schema(example = "S01")]
    pub to: String,
    #[schema(example = "24")]
    pub quantity: String,
    /// Move one lot only; otherwise lots leave first-expiry-first-out and keep their codes.
    #[serde(default)]
    pub lot: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a line asks of the ledger once its sign rule has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineChange {
    /// A signed change of the given kind (before pack multiplication).
    Delta { kind: MovementKind, quantity: Qty },
    /// Sets the counted quantity of the lot (or of the whole location when no lot is given).
    Count { counted: Qty },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovementLine {
    pub product: ProductRef,
    pub location: String,
    pub change: LineChange,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub unit_cost: Option<Money>,
    pub reason: Option<String>,
    pub document: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferRequest {
    pub product: ProductRef,
    pub from: String,
    pub to: String,
    pub quantity: Qty,
    pub lot: Option<String>,
    pub reason: Option<String>,
}

fn field_of(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

impl MovementInput {
    /// `prefix` names the line in a batch (`movements[3]`) so errors point at it.
    pub fn parse(self, prefix: &str) -> Result<MovementLine> {
        let f = |n: &str| field_of(prefix, n);
        let kind = MovementKind::parse(&self.kind).field(&f("kind"))?;
        let quantity = Qty::parse(&self.quantity).field(&f("quantity"))?;
        let change = match kind {
            MovementKind::Count => LineChange::Count {
                counted: ledger::count_difference(Qty::ZERO, quantity)
                    .field(&f("quantity"))
                    .map(|_| quantity)?,
            },
            MovementKind::TransferIn | MovementKind::TransferOut => {
                return Err(Error::invalid(
                    f("kind"),
                    "use_transfers",
                    "las transferencias se registran en /api/v1/stock/transfers",
                ));
            }
            MovementKind::Sale => {
                return Err(Error::invalid(
                    f("kind"),
                    "use_sales",
                    "las ventas se registran con tickets de venta",
                ));
            }
            _ => LineChange::Delta {
                kind,
                quantity: ledger::signed_quantity(kind, quantity).field(&f("quantity"))?,
            },
        };
        let product = ProductRef::from_fields(
            self.product_id,
            self.sku.as_deref(),
            self.barcode.as_deref(),
        )
        .map_err(|e| e.under(prefix))?;
        let (lot, expiry) = lot_and_expiry(f, self.lot.as_deref(), self.expiry.as_deref())?;
        Ok(MovementLine {
            product,
            location: location_code(&f("location"), &self.location)?,
            change,
            lot,
            expiry,
            unit_cost: match self.unit_cost.as_deref() {
                None | Some("") => None,
                Some(c) => Some(Money::parse_non_negative(c).field(&f("unit_cost"))?),
            },
            reason: optional_text(&f("reason"), self.reason.as_deref(), 500)?,
            document: optional_text(&f("document"), self.document.as_deref(), 120)?,
        })
    }
}

impl TransferInput {
    pub fn parse(self) -> Result<TransferRequest> {
        let quantity = Qty::parse(&self.quantity).field("quantity")?;
        if !quantity.is_positive() {
            return Err(Error::invalid(
                "quantity",
                "positive",
                "la cantidad a transferir debe ser positiva",
            ));
        }
        let from = location_code("from", &self.from)?;
        let to = location_code("to", &self.to)?;
        if from == to {
            return Err(Error::invalid(
                "to",
                "distinct",
                "el origen y el destino deben ser distintos",
            ));
        }
        Ok(TransferRequest {
            product: ProductRef::from_fields(
                self.product_id,
                self.sku.as_deref(),
                self.barcode.as_deref(),
            )?,
            from,
            to,
            quantity,
            lot: optional_text("lot", self.lot.as_deref(), 64)?,
            reason: optional_text("reason", self.reason.as_deref(), 500)?,
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LevelQuery {
    pub product_id: Option<i64>,
    /// Location code.
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementQuery {
    pub product_id: Option<i64>,
    pub location: Option<String>,
    pub kind: Option<String>,
    /// Only movements at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only movements before this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// A movement query whose codes have been checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MovementFilter {
    pub product_id: Option<i64>,
    pub location: Option<String>,
    pub kind: Option<MovementKind>,
    pub since_micros: Option<i64>,
    pub until_micros: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CriticalQuery {
    pub location: Option<String>,
    /// Evaluate the seasonal factor at this date (default today).
    pub date: Option<NaiveDate>,
}

// ---------------------------------------------------------------- use cases

/// The most lines one batch may carry: large enough for a remito, small enough to keep transactions short.
pub const MAX_BATCH_LINES: usize = 1000;

impl App {
    pub async fn post_movements(
        &self,
        actor: &Principal,
        inputs: Vec<MovementInput>,
        batch: bool,
        meta: WriteMeta,
    ) -> Result<Written<Vec<Movement>>> {
        if inputs.is_empty() {
            return Err(Error::invalid(
                "movements",
                "required",
                "el lote no tiene movimientos",
            ));
        }
        if inputs.len() > MAX_BATCH_LINES {
            return Err(Error::invalid(
                "movements",
                "length",
                format!("un lote admite hasta {MAX_BATCH_LINES} movimientos"),
            ));
        }
        let mut lines = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let prefix = if batch {
                format!("movements[{i}]")
            } else {
                String::new()
            };
            let line = input.parse(&prefix)?;
            let needed = match line.change {
                LineChange::Count { .. } => Permission::StockCount,
                _ => Permission::StockWrite,
            };
            actor.require(needed)?;
            lines.push(line);
        }
        let written = self.store.post_movements(&meta, lines).await?;
        if !written.replayed {
            crate::telemetry::movements_posted(written.value.iter().map(|m| m.kind));
        }
        Ok(written)
    }

    pub async fn transfer(
        &self,
        actor: &Principal,
        input: TransferInput,
        meta: WriteMeta,
    ) -> Result<Written<Vec<Movement>>> {
        actor.require(Permission::StockWrite)?;
        let req = input.parse()?;
        let written = self.store.post_transfer(&meta, req).await?;
        if !written.replayed {
            crate::telemetry::movements_posted(written.value.iter().map(|m| m.kind));
        }
        Ok(written)
    }

    pub async fn stock_levels(
        &self,
        actor: &Principal,
        q: LevelQuery,
        page: PageRequest,
    ) -> Result<Page<StockLevel>> {
        actor.require(Permission::StockRead)?;
        let location = q
            .location
            .as_deref()
            .map(|l| location_code("code", l))
            .transpose()?;
        self.store
            .stock_levels(q.product_id, location.as_deref(), page)
            .await
    }

    /// A product's stock per location and lot (the product page).
    pub async fn product_stock(
        &self,
        actor: &Principal,
        product_id: i64,
    ) -> Result<Vec<StockLevel>> {
        actor.require(Permission::StockRead)?;
        self.store.product_stock(product_id).await
    }

    /// A product's movements, newest first (the product page's list).
    pub async fn product_movements(
        &self,
        actor: &Principal,
        product_id: i64,
        page: PageRequest,
    ) -> Result<Page<Movement>> {
        actor.require(Permission::StockRead)?;
        self.store.product_movements(product_id, page).await
    }

    pub async fn movements(
        &self,
        actor: &Principal,
        q: MovementQuery,
        page: PageRequest,
    ) -> Result<Page<Movement>> {
        actor.require(Permission::StockRead)?;
        let mut filter = MovementFilter {
            product_id: q.product_id,
            location: q
                .location
                .as_deref()
                .map(|l| location_code("code", l))
                .transpose()?,
            kind: q
                .kind
                .as_deref()
                .map(MovementKind::parse)
                .transpose()
                .field("kind")?,
            since_micros: q.since.map(|d| d.timestamp_micros()),
            until_micros: q.until.map(|d| d.timestamp_micros()),
        };
        // The log says who sold and moved what: a caller limited to some locations reads only
        // theirs, and must name one when there are several.
        match (self.visible_location_codes(actor).await?, &filter.location) {
            (None, _) => {}
            (Some(_), Some(code)) => self.require_visible_location(actor, code).await?,
            (Some(codes), None) => match codes.as_slice() {
                [only] => filter.location = Some(only.clone()),
                _ => {
                    return Err(Error::invalid(
                        "location",
                        "required",
                        "indique la ubicación: su usuario está limitado a algunas ubicaciones",
                    ));
                }
            },
        }
        self.store.list_movements(&filter, page).await
    }

    pub async fn critical_stock(
        &self,
        actor: &Principal,
        q: CriticalQuery,
    ) -> Result<Vec<CriticalStock>> {
        Ok(self.critical_stock_window(actor, q, None).await?.1)
    }

    /// One page of the critical-stock report and how many rows it has in all.
    pub async fn critical_stock_page(
        &self,
        actor: &Principal,
        q: CriticalQuery,
        offset: u32,
        limit: u32,
    ) -> Result<(u64, Vec<CriticalStock>)> {
        self.critical_stock_window(actor, q, Some((i64::from(offset), i64::from(limit))))
            .await
    }

    async fn critical_stock_window(
        &self,
        actor: &Principal,
        q: CriticalQuery,
        window: Option<(i64, i64)>,
    ) -> Result<(u64, Vec<CriticalStock>)> {
        actor.require(Permission::StockRead)?;
        let location = q
            .location
            .as_deref()
            .map(|l| location_code("code", l))
            .transpose()?;
        let date = q.date.unwrap_or_else(|| self.clock.today());
        let factor = self.settings.seasonal.factor_for(date);
        // The store selects and orders by the same rule (in SQL); the figures shown are the
        // domain's own.
        let (total, rows) = self
            .store
            .critical_rows(location.as_deref(), factor, window)
            .await?;
        let seasonal_factor = Qty::from_milli(factor).to_string();
        let out = rows
            .into_iter()
            .map(|r| {
                let threshold = self.settings.seasonal.threshold(r.min_stock, date);
                CriticalStock {
                    deficit: domain::season::deficit(r.on_hand, threshold),
                    seasonal_factor: seasonal_factor.clone(),
                    product_id: r.product_id,
                    sku: r.sku,
                    name: r.name,
                    location: r.location,
                    min_stock: r.min_stock,
                    threshold,
                    on_hand: r.on_hand,
                }
            })
            .collect();
        Ok((u64::try_from(total).unwrap_or(0), out))
    }

    pub async fn check_ledger(&self, actor: &Principal) -> Result<LedgerReport> {
        actor.require(Permission::AdminTools)?;
        self.store.check_ledger().await
    }
}
