//! Negocio's reports: stock valued at cost at any instant, and the sales summary with margin.

use chrono::{DateTime, NaiveDate, Utc};
use domain::auth::Permission;
use domain::{Money, Qty};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::App;
use crate::error::{Error, Result};
use crate::write::Principal;

#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockValueQuery {
    /// Value the stock as it was at this instant (RFC 3339); default now.
    pub at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LocationValue {
    pub location: String,
    #[schema(value_type = String)]
    pub value: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockValue {
    pub at: DateTime<Utc>,
    pub locations: Vec<LocationValue>,
    #[schema(value_type = String)]
    pub total: Money,
}

/// One product's quantity at a location and its cost, both as of the valuation instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuedStock {
    pub location: String,
    pub quantity: Qty,
    pub unit_cost: Money,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SalesGrouping {
    Day,
    Category,
    Product,
    Cashier,
    PaymentMethod,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// First day (inclusive, shop calendar).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    pub group_by: SalesGrouping,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SalesRow {
    pub key: String,
    pub tickets: i64,
    #[schema(value_type = String)]
    pub quantity: Qty,
    /// Sales with IVA, net of returns.
    #[schema(value_type = String)]
    pub total: Money,
    /// Sales without IVA.
    #[schema(value_type = String)]
    pub net: Money,
    /// Cost of the goods sold, at the cost recorded on each line when sold.
    #[schema(value_type = String)]
    pub cost: Money,
    /// net − cost.
    #[schema(value_type = String)]
    pub gross_margin: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SalesSummary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: SalesGrouping,
    pub rows: Vec<SalesRow>,
    #[schema(value_type = String)]
    pub total: Money,
    #[schema(value_type = String)]
    pub gross_margin: Money,
}

/// Shop days start at 00:00 in Argentina (UTC−3).
pub fn day_start_micros(d: NaiveDate) -> i64 {
    d.and_hms_opt(3, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_micros())
}

impl App {
    pub async fn stock_value(&self, actor: &Principal, q: StockValueQuery) -> Result<StockValue> {
        actor.require(Permission::ReportsRead)?;
        let at = q.at.unwrap_or_else(|| self.clock.now());
        let rows = self.store.valued_stock(at.timestamp_micros()).await?;
        let mut by_location: std::collections::BTreeMap<String, i128> = Default::default();
        for r in rows {
            *by_location.entry(r.location).or_default() +=
                i128::from(r.quantity.milli()) * i128::from(r.unit_cost.minor());
        }
        // Quantities are thousandths: round each location once, half away from zero.
        let round = |v: i128| -> i64 { ((v + if v >= 0 { 500 } else { -500 }) / 1000) as i64 };
        let locations: Vec<LocationValue> = by_location
            .into_iter()
            .map(|(location, v)| LocationValue {
                location,
                value: Money::from_minor(round(v)),
            })
            .collect();
        let total = locations.iter().map(|l| l.value).sum();
        Ok(StockValue {
            at,
            locations,
            total,
        })
    }

    pub async fn sales_summary(&self, actor: &Principal, q: SalesQuery) -> Result<SalesSummary> {
        actor.require(Permission::ReportsRead)?;
        if q.to < q.from {
            return Err(Error::invalid(
                "to",
                "range",
                "la fecha final es anterior a la inicial",
            ));
        }
        let from = day_start_micros(q.from);
        let to = day_start_micros(q.to.succ_opt().unwrap_or(q.to));
        let rows = self.store.sales_summary(from, to, q.group_by).await?;
        let total = rows.iter().map(|r| r.total).sum();
        let gross_margin = rows.iter().map(|r| r.gross_margin).sum();
        Ok(SalesSummary {
            from: q.from,
            to: q.to,
            group_by: q.group_by,
            rows,
            total,
            gross_margin,
        })
    }
}
