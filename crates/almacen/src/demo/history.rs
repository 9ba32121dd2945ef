//! A year of daily sales history per product and store for `--demo`, so the forecast and the
//! purchase suggestions have something to say from the first minute.
//!
//! Each store sells around the catalogue's typical daily demand, shaped by the day of the
//! week (Friday and Saturday busy, Sunday quiet), a gentle per-product trend, the summer
//! factor (drinks and ice cream peak in January), a few promotion weeks a year, and
//! Poisson noise (so slow movers sell on some days only). The shop replenishes from its
//! supplier when stock runs low; now and then a delivery is late and the product runs out,
//! so the sales on those days are what was on the shelf, not what was wanted. Every line is
//! a real ledger movement: receipts balance the sales.

use chrono::{Datelike, Days, NaiveDate};
use domain::ledger::MovementKind;
use domain::{Money, Qty};

use app::forecast::HistoryLine;

use super::DemoProduct;
use crate::forecast::Rng;

/// Busy Fridays and Saturdays, quiet Sundays (Monday first).
const WEEKDAY: [f64; 7] = [0.9, 0.9, 0.95, 1.0, 1.2, 1.35, 0.7];
const HOUR_MICROS: i64 = 3_600_000_000;

/// What the history needs to know about one product.
pub struct HistoryProduct<'a> {
    pub id: i64,
    pub demo: &'a DemoProduct,
    pub cost: Money,
    pub lead_time_days: u32,
}

fn parse(s: &str) -> f64 {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// Local noon-ish instants: deliveries arrive at 09:00, the day's sales are booked at 20:00
/// (Argentina, UTC−3).
fn at(day: NaiveDate, local_hour: i64) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |d| d.and_utc().timestamp_micros())
        + (local_hour + 3) * HOUR_MICROS
}

/// The history of `days` days ending yesterday (`today` − 1) for every product at every store.
pub fn lines(
    products: &[HistoryProduct<'_>],
    stores: &[i64],
    today: NaiveDate,
    days: u32,
) -> Vec<HistoryLine> {
    let mut out = Vec::new();
    let Some(first) = today.checked_sub_days(Days::new(u64::from(days))) else {
        return out;
    };
    for (i, p) in products.iter().enumerate() {
        for (s, &store) in stores.iter().enumerate() {
            let seed = (i as u64) << 8 | s as u64;
            simulate(p, store, s, first, days, seed, &mut out);
        }
    }
    out
}

fn simulate(
    p: &HistoryProduct<'_>,
    store: i64,
    store_index: usize,
    first: NaiveDate,
    days: u32,
    seed: u64,
    out: &mut Vec<HistoryLine>,
) {
    let mut rng = Rng::new(seed.wrapping_mul(0x9E37_79B9) ^ 0xA1A1);
    let whole = p.demo.unit == "unit";
    // The second store is smaller.
    let size = if store_index == 0 { 1.0 } else { 0.7 };
    let base = parse(p.demo.daily_demand) * size;
    let summer = parse(p.demo.summer_factor).max(0.1);
    let trend = (rng.unit() - 0.5) * 0.4 / f64::from(days.max(1));
    let lead = i64::from(p.lead_time_days.clamp(1, 10));
    // Order when stock covers less than lead time + 3 days; bring two weeks.
    let reorder_at = base * (lead as f64 + 3.0);
    let order_size = (base * 14.0).max(1.0);
    let mut on_hand = 0i64;
    let mut pipeline: Vec<(i64, i64)> = Vec::new(); // (arrival day, milli)
    let mut promo_left = 0u32;
    let doc = format!("historial-demo-{}", p.id);
    let to_milli = |units: f64| -> i64 {
        if whole {
            (units.ceil().max(1.0) as i64) * 1000
        } else {
            ((units * 4.0).ceil().max(1.0) as i64) * 250
        }
    };
    for d in 0..i64::from(days) {
        let Some(day) = first.checked_add_days(Days::new(d as u64)) else {
            break;
        };
        // Deliveries due today, then the opening stock on day one.
        let mut arrived = 0;
        pipeline.retain(|&(when, q)| {
            if when == d {
                arrived += q;
                false
            } else {
                true
            }
        });
        if d == 0 {
            arrived += to_milli(base * 20.0);
        }
        if arrived > 0 {
            on_hand += arrived;
            out.push(HistoryLine {
                product_id: p.id,
                location_id: store,
                kind: MovementKind::Receipt,
                quantity: arrived,
                unit_cost: p.cost,
                created_at: at(day, 9),
                document: doc.clone(),
            });
        }

        if promo_left == 0 && rng.unit() < 3.0 / 365.0 {
            promo_left = 7;
        }
        let promo = if promo_left > 0 { 1.7 } else { 1.0 };
        promo_left = promo_left.saturating_sub(1);
        let doy = f64::from(day.ordinal());
        let warm = (1.0 + (2.0 * std::f64::consts::PI * (doy - 15.0) / 365.25).cos()) / 2.0;
        let season = 1.0 + (summer - 1.0) * warm * warm;
        let weekday = WEEKDAY[day.weekday().num_days_from_monday() as usize];
        let level = (1.0 + trend * d as f64).max(0.1);
        let mean = base * season * weekday * promo * level;
        let wanted = if whole {
            rng.poisson(mean) as i64 * 1000
        } else {
            rng.poisson(mean * 4.0) as i64 * 250
        };
        let sold = wanted.min(on_hand);
        if sold > 0 {
            on_hand -= sold;
            out.push(HistoryLine {
                product_id: p.id,
                location_id: store,
                kind: MovementKind::Sale,
                quantity: -sold,
                unit_cost: p.cost,
                created_at: at(day, 20),
                document: doc.clone(),
            });
        }

        let coming: i64 = pipeline.iter().map(|(_, q)| q).sum();
        if pipeline.is_empty() && ((on_hand + coming) as f64) / 1000.0 <= reorder_at {
            // One delivery in thirty comes a week late.
            let late = if rng.unit() < 1.0 / 30.0 { 7 } else { 0 };
            pipeline.push((d + lead + late, to_milli(order_size)));
        }
    }
}

/// Whole units of stock a history left at a store, for the demo's summary.
pub fn units(lines: &[HistoryLine]) -> Qty {
    Qty::from_milli(lines.iter().map(|l| l.quantity).sum())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::demo::PRODUCTS;

    #[test]
    fn history_balances_and_has_stock_outs_and_seasons() {
        let products: Vec<HistoryProduct<'_>> = PRODUCTS
            .iter()
            .enumerate()
            .map(|(i, demo)| HistoryProduct {
                id: i as i64 + 1,
                demo,
                cost: Money::from_minor(10_000),
                lead_time_days: 5,
            })
            .collect();
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let lines = lines(&products, &[1, 2], today, 365);
        // Never negative per product × store, in time order.
        let mut sorted = lines.clone();
        sorted.sort_by_key(|l| l.created_at);
        let mut bal = std::collections::HashMap::new();
        for l in &sorted {
            let b = bal.entry((l.product_id, l.location_id)).or_insert(0i64);
            *b += l.quantity;
            assert!(*b >= 0);
        }
        assert!(units(&lines).is_positive());
        let first = at(today - Days::new(365), 0);
        let last = at(today, 0);
        assert!(
            lines
                .iter()
                .all(|l| l.created_at > first && l.created_at < last)
        );
        // A drink sells more in January than in July.
        let drink = PRODUCTS
            .iter()
            .position(|p| parse(p.summer_factor) >= 1.5)
            .unwrap() as i64
            + 1;
        let month = |m: u32| -> i64 {
            lines
                .iter()
                .filter(|l| l.product_id == drink && l.kind == MovementKind::Sale)
                .filter(|l| {
                    chrono::DateTime::from_timestamp_micros(l.created_at)
                        .unwrap()
                        .month()
                        == m
                })
                .map(|l| -l.quantity)
                .sum()
        };
        assert!(month(1) > month(7), "{} vs {}", month(1), month(7));
    }
}
