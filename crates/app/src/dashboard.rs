//! Tablero's figures for Inicio: sales per shop day and category from a rollup kept up to a
//! watermark plus a live tail, and stock figures from a snapshot the `dashboard` agent refreshes.
//!
//! Sales are never summed ticket by ticket on a page view: the store folds settled tickets and
//! returns into `sales_daily` (incrementally, on a schedule) and adds only the rows after the
//! watermarks when a page asks. The result equals [`App::sales_summary`] for the same days.

use chrono::{DateTime, NaiveDate, Utc};
use domain::Money;
use domain::auth::Permission;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::error::Result;
use crate::page::PageRequest;
use crate::write::Principal;

/// Tickets younger than this are left to the live tail: a slow transaction on another node may
/// still commit a lower ticket id, which a watermark moved past it would miss.
pub const SETTLE_MICROS: i64 = 120_000_000;

/// Days of sales Inicio needs: 90 for the long chart, which covers the previous month too.
pub const DASHBOARD_DAYS: i64 = 90;

/// Expiring lots within this many days count on Inicio.
pub const EXPIRY_DAYS: i64 = 30;

/// One shop day × location × category of sales, net of returns.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailySales {
    pub day: NaiveDate,
    pub location_id: i64,
    pub category: String,
    /// Each ticket counts once, under its first line's category.
    pub tickets: i64,
    pub quantity_milli: i64,
    pub total: i64,
    pub net: i64,
    /// Unit cost × quantity in thousandths of a centavo; round once per sum.
    pub cost_milli: i64,
}

/// Stock figures of one location as last computed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockSnapshotRow {
    pub location_id: i64,
    pub stock_value: i64,
    pub critical: i64,
    pub out_of_stock: i64,
    pub expiring: i64,
    pub computed_at: i64,
}

/// Stock figures summed over the locations a user may see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockFigures {
    pub stock_value: Money,
    pub critical: i64,
    pub out_of_stock: i64,
    pub expiring: i64,
    pub computed_at: Option<DateTime<Utc>>,
}

/// Cheap markers of change, polled once per node for the live updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveMarks {
    pub last_sale: i64,
    pub last_return: i64,
    pub last_alert: i64,
    pub open_alerts: i64,
    pub snapshot_at: i64,
}

/// Shop day number (days since 1970-01-01 in UTC−3) of an instant in microseconds.
pub fn shop_day_number(micros: i64) -> i64 {
    (micros - 3 * 3_600_000_000).div_euclid(86_400_000_000)
}

pub fn day_number(d: NaiveDate) -> i64 {
    d.signed_duration_since(NaiveDate::default()).num_days()
}

pub fn day_of_number(n: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(n)
}

/// Rounds a sum of thousandths of a centavo to centavos, half away from zero.
pub fn cost_of_milli(milli: i64) -> Money {
    let r = if milli >= 0 {
        (milli + 500) / 1000
    } else {
        (milli - 500) / 1000
    };
    Money::from_minor(r)
}

impl App {
    /// Sales per day, location and category for the days `from..=to`, limited to the locations
    /// the user may act on.
    pub async fn daily_sales(
        &self,
        actor: &Principal,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailySales>> {
        actor.require(Permission::ReportsRead)?;
        let rows = self
            .store
            .daily_sales(day_number(from), day_number(to) + 1)
            .await?;
        Ok(rows
            .into_iter()
            .filter(|r| actor.may_act_on(r.location_id))
            .collect())
    }

    /// Folds settled tickets and returns into the rollup; what the `dashboard` agent runs.
    pub async fn refresh_sales_rollup(&self) -> Result<(u64, u64)> {
        let now = self.clock.now_micros();
        self.store
            .refresh_sales_rollup(now - SETTLE_MICROS, now)
            .await
    }

    /// Recomputes the stock figures of every location and stores them with the time.
    pub async fn refresh_stock_snapshot(&self) -> Result<Vec<StockSnapshotRow>> {
        let sys = Principal::system();
        let now = self.clock.now_micros();
        let locations = self
            .store
            .list_locations(PageRequest::first(crate::page::MAX_LIMIT))
            .await?
            .items;
        let id_of = |code: &str| locations.iter().find(|l| l.code == code).map(|l| l.id);
        let mut rows: Vec<StockSnapshotRow> = locations
            .iter()
            .map(|l| StockSnapshotRow {
                location_id: l.id,
                computed_at: now,
                ..Default::default()
            })
            .collect();
        let values = self.store.stock_value_now().await?;
        for (location_id, value) in values {
            if let Some(r) = rows.iter_mut().find(|r| r.location_id == location_id) {
                r.stock_value = value;
            }
        }
        for c in self
            .critical_stock(&sys, crate::stock::CriticalQuery::default())
            .await?
        {
            if let Some(r) =
                id_of(&c.location).and_then(|id| rows.iter_mut().find(|r| r.location_id == id))
            {
                r.critical += 1;
                if !c.on_hand.is_positive() {
                    r.out_of_stock += 1;
                }
            }
        }
        let until = self.clock.today() + chrono::Duration::days(EXPIRY_DAYS);
        for lot in self.store.expiring_lots(until).await? {
            if let Some(r) =
                id_of(&lot.location).and_then(|id| rows.iter_mut().find(|r| r.location_id == id))
            {
                r.expiring += 1;
            }
        }
        self.store.save_stock_snapshot(rows.clone()).await?;
        Ok(rows)
    }

    /// The stock figures of the user's locations; computed now if no snapshot exists yet.
    pub async fn stock_figures(&self, actor: &Principal) -> Result<StockFigures> {
        actor.require(Permission::StockRead)?;
        let mut rows = self.store.stock_snapshot().await?;
        if rows.is_empty() {
            rows = self.refresh_stock_snapshot().await?;
        }
        let mut out = StockFigures::default();
        let mut value = 0i64;
        for r in rows.iter().filter(|r| actor.may_act_on(r.location_id)) {
            value += r.stock_value;
            out.critical += r.critical;
            out.out_of_stock += r.out_of_stock;
            out.expiring += r.expiring;
            out.computed_at = Some(
                out.computed_at
                    .map_or(crate::clock_instant(r.computed_at), |t| {
                        t.min(crate::clock_instant(r.computed_at))
                    }),
            );
        }
        out.stock_value = Money::from_minor(value);
        Ok(out)
    }

    /// What changed since the last poll; the node's one live-update loop calls this.
    pub async fn live_marks(&self) -> Result<LiveMarks> {
        self.store.live_marks().await
    }

    /// The `dashboard` agent: rollup then snapshot.
    pub async fn refresh_dashboard(&self) -> Result<String> {
        let (sales, returns) = self.refresh_sales_rollup().await?;
        let rows = self.refresh_stock_snapshot().await?;
        Ok(format!(
            "{sales} tickets y {returns} devoluciones consolidados; stock de {} ubicaciones",
            rows.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_days_start_at_three_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
        let start = crate::reports::day_start_micros(d);
        assert_eq!(shop_day_number(start), day_number(d));
        assert_eq!(shop_day_number(start - 1), day_number(d) - 1);
        assert_eq!(day_of_number(day_number(d)), d);
        assert_eq!(cost_of_milli(1500), Money::from_minor(2));
        assert_eq!(cost_of_milli(-1500), Money::from_minor(-2));
        assert_eq!(cost_of_milli(1499), Money::from_minor(1));
    }
}
