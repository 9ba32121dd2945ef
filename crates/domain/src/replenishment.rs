//! Replenishment: from a daily demand forecast and its error to a suggested order per product
//! and location, with the reasoning spelled out.
//!
//! Periodic review with a reorder point: every review the inventory position (on hand + on
//! order + in transit) is compared with the reorder point (demand over the lead time plus
//! safety stock); at or below it, order up to the demand over lead time plus review period
//! plus safety stock. Safety stock is `z × σ × √(L + R)`, σ being the forecast's own error per
//! day. Quantities leave as [`Qty`] (rounded up to the thousandth), money as [`Money`].

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::forecast::{SeriesForecast, normal_quantile, to_units};
use crate::money::Money;
use crate::qty::Qty;

/// Why replenishment input was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplenishmentError {
    #[error("el nivel de servicio debe ser mayor que 0 % y menor que 100 %")]
    ServiceLevel,
}

impl ReplenishmentError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            ReplenishmentError::ServiceLevel => "service_level_range",
        }
    }
}

/// Probability of not running out during a replenishment cycle, as a percentage strictly
/// between 0 and 100 (100 % would need infinite stock).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct ServiceLevel(f64);

impl ServiceLevel {
    pub fn new(percent: f64) -> Result<ServiceLevel, ReplenishmentError> {
        if percent.is_finite() && percent > 0.0 && percent < 100.0 {
            Ok(ServiceLevel(percent))
        } else {
            Err(ReplenishmentError::ServiceLevel)
        }
    }

    pub fn percent(self) -> f64 {
        self.0
    }

    /// The standard normal quantile for the level (1.645 at 95 %).
    pub fn z(self) -> f64 {
        normal_quantile(self.0 / 100.0)
    }
}

impl Default for ServiceLevel {
    fn default() -> Self {
        ServiceLevel(95.0)
    }
}

impl TryFrom<f64> for ServiceLevel {
    type Error = ReplenishmentError;
    fn try_from(v: f64) -> Result<Self, Self::Error> {
        ServiceLevel::new(v)
    }
}

impl From<ServiceLevel> for f64 {
    fn from(s: ServiceLevel) -> f64 {
        s.0
    }
}

/// Expected monthly price rise versus the monthly cost of holding stock, in basis points
/// (1 % = 100): when prices rise faster than holding costs, buy `extra_days` more cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyAhead {
    pub monthly_price_rise_bp: i64,
    pub monthly_holding_bp: i64,
    /// The bound: at most this many extra days of demand.
    pub max_extra_days: u32,
}

/// How a product × location is replenished.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Days from ordering to having the goods (0: same day).
    pub lead_time_days: u32,
    /// Days between reviews (0: continuous review).
    pub review_period_days: u32,
    pub service_level: ServiceLevel,
    /// Orders are whole packs of this size (zero or negative: no rounding).
    pub pack_size: Qty,
    /// The supplier's minimum per line.
    pub min_order: Qty,
    pub buy_ahead: Option<BuyAhead>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lead_time_days: 7,
            review_period_days: 7,
            service_level: ServiceLevel::default(),
            pack_size: Qty::units(1),
            min_order: Qty::ZERO,
            buy_ahead: None,
        }
    }
}

/// Where stock stands now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub on_hand: Qty,
    /// Ordered on open purchase orders and not yet received.
    pub on_order: Qty,
    /// Moving between locations towards this one.
    pub in_transit: Qty,
}

impl Position {
    pub fn total(&self) -> Qty {
        Qty::from_milli(
            self.on_hand
                .milli()
                .saturating_add(self.on_order.milli())
                .saturating_add(self.in_transit.milli()),
        )
    }
}

/// Expected demand per day from today, and the forecast's error per day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Demand {
    pub daily: Vec<f64>,
    pub error_sd: f64,
}

impl Demand {
    pub fn from_forecast(f: &SeriesForecast) -> Demand {
        Demand {
            daily: f.points.iter().map(|p| to_units(p.point)).collect(),
            error_sd: f.error_sd,
        }
    }

    /// Mean per day (0 without a forecast).
    pub fn mean(&self) -> f64 {
        let finite = self.daily.iter().filter(|v| v.is_finite() && **v > 0.0);
        let total: f64 = finite.sum();
        if self.daily.is_empty() {
            0.0
        } else {
            total / self.daily.len() as f64
        }
    }

    /// Demand over the next `days`, continuing past the forecast at its mean.
    pub fn over(&self, days: u32) -> f64 {
        let days = days as usize;
        let known: f64 = self
            .daily
            .iter()
            .take(days)
            .filter(|v| v.is_finite() && **v > 0.0)
            .sum();
        let beyond = days.saturating_sub(self.daily.len()) as f64;
        known + beyond * self.mean()
    }

    fn sd(&self) -> f64 {
        if self.error_sd.is_finite() && self.error_sd > 0.0 {
            self.error_sd
        } else {
            0.0
        }
    }
}

/// A suggested order line and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Mean forecast demand per day.
    pub daily_forecast: Qty,
    pub lead_time_demand: Qty,
    pub safety_stock: Qty,
    pub reorder_point: Qty,
    pub order_up_to: Qty,
    pub position: Position,
    pub inventory_position: Qty,
    /// Extra days covered because prices rise faster than holding costs.
    pub buy_ahead_days: u32,
    /// What to order (zero: nothing now).
    pub quantity: Qty,
    /// Inventory position over daily demand; `None` without demand.
    pub days_of_cover: Option<f64>,
    pub unit_cost: Money,
    pub cost: Money,
    /// In Spanish, for the buyer.
    pub reason: String,
}

/// Rounds up to the thousandth, never below zero.
fn ceil_qty(units: f64) -> Qty {
    if !units.is_finite() || units <= 0.0 {
        return Qty::ZERO;
    }
    let milli = (units * 1000.0 - 1e-6).ceil();
    Qty::from_milli(if milli >= i64::MAX as f64 {
        i64::MAX
    } else {
        milli as i64
    })
}

/// Up to the next multiple of `pack` (no rounding for a non-positive pack).
fn to_packs(q: Qty, pack: Qty) -> Qty {
    if !pack.is_positive() || !q.is_positive() {
        return q.max(Qty::ZERO);
    }
    let (q, p) = (q.milli(), pack.milli());
    // Both positive here, so this is the ceiling division.
    Qty::from_milli(((q - 1) / p + 1).saturating_mul(p))
}

/// The suggestion for one product × location.
pub fn suggest(
    demand: &Demand,
    policy: &Policy,
    position: Position,
    unit_cost: Money,
) -> Suggestion {
    let lead = policy.lead_time_days;
    let cover = lead.saturating_add(policy.review_period_days);
    let z = policy.service_level.z();
    let safety = z * demand.sd() * f64::from(cover).sqrt();
    let buy_ahead_days = match policy.buy_ahead {
        Some(b) if b.monthly_price_rise_bp > b.monthly_holding_bp.max(0) => b.max_extra_days,
        _ => 0,
    };
    let daily = demand.mean();
    let lead_time_demand = ceil_qty(demand.over(lead));
    let safety_stock = ceil_qty(safety);
    let reorder_point = ceil_qty(demand.over(lead) + safety);
    let order_up_to = ceil_qty(demand.over(cover.saturating_add(buy_ahead_days)) + safety);
    let inventory_position = position.total();
    let days_of_cover = (daily > 0.0).then(|| {
        let d = to_units(inventory_position) / daily;
        (d * 10.0).round() / 10.0
    });

    let f = |q: Qty| q.format_ar();
    let (quantity, reason) = if !order_up_to.is_positive() {
        (
            Qty::ZERO,
            "sin demanda prevista: no hace falta pedir".to_owned(),
        )
    } else if inventory_position > reorder_point {
        (
            Qty::ZERO,
            format!(
                "la posición ({}) supera el punto de pedido ({}): no hace falta pedir",
                f(inventory_position),
                f(reorder_point)
            ),
        )
    } else {
        let raw = Qty::from_milli(
            order_up_to
                .milli()
                .saturating_sub(inventory_position.milli()),
        );
        let packed = to_packs(raw, policy.pack_size);
        let q = if packed < policy.min_order {
            to_packs(policy.min_order, policy.pack_size)
        } else {
            packed
        };
        let mut why = format!(
            "la posición ({} = {} en depósito + {} pedidos + {} en tránsito) no supera el punto \
             de pedido ({} = {} de demanda en {} días de entrega + {} de seguridad); se pide \
             hasta {} ({} días de entrega + {} de revisión)",
            f(inventory_position),
            f(position.on_hand),
            f(position.on_order),
            f(position.in_transit),
            f(reorder_point),
            f(lead_time_demand),
            lead,
            f(safety_stock),
            f(order_up_to),
            lead,
            policy.review_period_days,
        );
        if buy_ahead_days > 0 {
            why.push_str(&format!(
                " y {buy_ahead_days} días más porque los precios suben más que el costo de \
                 mantener stock"
            ));
        }
        if q != raw {
            why.push_str(&format!(
                "; {} redondeado a {} (bulto de {}, mínimo {})",
                f(raw),
                f(q),
                f(policy.pack_size),
                f(policy.min_order)
            ));
        }
        (q, why)
    };
    Suggestion {
        daily_forecast: ceil_qty(daily),
        lead_time_demand,
        safety_stock,
        reorder_point,
        order_up_to,
        position,
        inventory_position,
        buy_ahead_days,
        quantity,
        days_of_cover,
        unit_cost,
        cost: unit_cost
            .checked_times_qty(quantity)
            .unwrap_or(Money::from_minor(i64::MAX)),
        reason,
    }
}

/// Keeps suggestions within `budget`, most urgent first (fewest days of cover; no demand
/// last): a line that does not fit whole shrinks to the packs that fit (not below the
/// minimum), else waits. Returns the suggestions in priority order, each with the caller's
/// `tag` (what the line is about).
pub fn within_budget<T>(
    mut lines: Vec<(Suggestion, Policy, T)>,
    budget: Money,
) -> Vec<(Suggestion, T)> {
    lines.sort_by(|a, b| match (a.0.days_of_cover, b.0.days_of_cover) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    });
    let mut left = budget.minor().max(0);
    let mut out = Vec::with_capacity(lines.len());
    for (mut s, policy, tag) in lines {
        if s.quantity.is_positive() {
            if s.cost.minor() > left {
                let affordable = shrink(&s, &policy, left);
                let before = s.quantity;
                s.quantity = affordable;
                s.cost = s
                    .unit_cost
                    .checked_times_qty(affordable)
                    .unwrap_or(Money::from_minor(0));
                s.reason.push_str(&if affordable.is_positive() {
                    format!(
                        "; reducido de {} a {} por presupuesto",
                        before.format_ar(),
                        affordable.format_ar()
                    )
                } else {
                    "; queda para después: no alcanza el presupuesto".to_owned()
                });
            }
            left -= s.cost.minor();
        }
        out.push((s, tag));
    }
    out
}

/// The largest whole-pack quantity, at least the minimum, whose cost fits in `left`.
fn shrink(s: &Suggestion, policy: &Policy, left: i64) -> Qty {
    let unit = s.unit_cost.minor();
    if unit <= 0 {
        return s.quantity;
    }
    let step = if policy.pack_size.is_positive() {
        policy.pack_size.milli()
    } else {
        1
    };
    // Cost of `q` milli-units is unit × q / 1000 (rounded half away), so bound q first.
    let mut packs = (i128::from(left) * 1000 / i128::from(unit)) / i128::from(step);
    while packs > 0 {
        let q = Qty::from_milli(i64::try_from(packs * i128::from(step)).unwrap_or(i64::MAX));
        let fits = s
            .unit_cost
            .checked_times_qty(q)
            .is_some_and(|c| c.minor() <= left);
        if fits && q >= policy.min_order && q <= s.quantity {
            return q;
        }
        if q > s.quantity {
            packs = i128::from(s.quantity.milli() / step);
            continue;
        }
        if q < policy.min_order {
            return Qty::ZERO;
        }
        packs -= 1;
    }
    Qty::ZERO
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn constant(per_day: f64, days: usize, sd: f64) -> Demand {
        Demand {
            daily: vec![per_day; days],
            error_sd: sd,
        }
    }

    fn policy() -> Policy {
        Policy {
            lead_time_days: 7,
            review_period_days: 7,
            service_level: ServiceLevel::default(),
            pack_size: Qty::units(12),
            min_order: Qty::units(24),
            buy_ahead: None,
        }
    }

    /// 10 a day, exact forecast, 7 days' lead time and review: reorder point 70, order-up-to
    /// 140; 20 on hand + 30 on order = 50 ≤ 70 → 90, rounded to packs of 12 → 96.
    #[test]
    fn constant_demand_gets_exactly_the_expected_order() {
        let pos = Position {
            on_hand: Qty::units(20),
            on_order: Qty::units(30),
            in_transit: Qty::ZERO,
        };
        let s = suggest(
            &constant(10.0, 28, 0.0),
            &policy(),
            pos,
            Money::from_minor(15_000),
        );
        assert_eq!(s.daily_forecast, Qty::units(10));
        assert_eq!(s.lead_time_demand, Qty::units(70));
        assert_eq!(s.safety_stock, Qty::ZERO);
        assert_eq!(s.reorder_point, Qty::units(70));
        assert_eq!(s.order_up_to, Qty::units(140));
        assert_eq!(s.inventory_position, Qty::units(50));
        assert_eq!(s.quantity, Qty::units(96));
        assert_eq!(s.cost, Money::from_minor(1_440_000));
        assert_eq!(s.days_of_cover, Some(5.0));
        assert!(
            s.reason.contains("20 en depósito + 30 pedidos"),
            "{}",
            s.reason
        );
        assert!(s.reason.contains("90 redondeado a 96"), "{}", s.reason);
    }

    #[test]
    fn safety_stock_from_forecast_error() {
        let pos = Position::default();
        let s = suggest(
            &constant(10.0, 28, 2.0),
            &policy(),
            pos,
            Money::from_minor(100),
        );
        // 1.6448536 × 2 × √14 = 12.309… → 12.31 rounded up to the thousandth.
        let ss = 1.644_853_626_951_472_2 * 2.0 * 14f64.sqrt();
        assert_eq!(s.safety_stock, Qty::from_milli((ss * 1000.0).ceil() as i64));
        assert_eq!(s.safety_stock, Qty::from_milli(12_309));
        assert_eq!(s.reorder_point, Qty::from_milli(82_309));
        // 152.309 → 156 (13 packs).
        assert_eq!(s.quantity, Qty::units(156));
    }

    #[test]
    fn above_the_reorder_point_nothing_is_ordered() {
        let pos = Position {
            on_hand: Qty::units(60),
            on_order: Qty::units(5),
            in_transit: Qty::units(6),
        };
        let s = suggest(
            &constant(10.0, 28, 0.0),
            &policy(),
            pos,
            Money::from_minor(100),
        );
        assert_eq!(s.quantity, Qty::ZERO);
        assert!(
            s.reason.contains("supera el punto de pedido (70)"),
            "{}",
            s.reason
        );
    }

    #[test]
    fn lead_time_zero_and_no_demand_are_sensible() {
        let p = Policy {
            lead_time_days: 0,
            review_period_days: 0,
            ..policy()
        };
        let s = suggest(
            &constant(10.0, 28, 3.0),
            &p,
            Position::default(),
            Money::from_minor(1),
        );
        assert_eq!(s.reorder_point, Qty::ZERO);
        assert_eq!(s.quantity, Qty::ZERO);
        let none = suggest(
            &Demand::default(),
            &policy(),
            Position::default(),
            Money::from_minor(1),
        );
        assert_eq!(none.quantity, Qty::ZERO);
        assert_eq!(none.days_of_cover, None);
        assert!(none.reason.starts_with("sin demanda"));
    }

    #[test]
    fn minimum_order_and_buy_ahead() {
        let p = Policy {
            min_order: Qty::units(100),
            buy_ahead: Some(BuyAhead {
                monthly_price_rise_bp: 400,
                monthly_holding_bp: 150,
                max_extra_days: 10,
            }),
            ..policy()
        };
        let pos = Position {
            on_hand: Qty::units(65),
            ..Position::default()
        };
        let s = suggest(&constant(10.0, 28, 0.0), &p, pos, Money::from_minor(1));
        assert_eq!(s.buy_ahead_days, 10);
        assert_eq!(s.order_up_to, Qty::units(240));
        // 240 − 65 = 175 → 180 in packs of 12.
        assert_eq!(s.quantity, Qty::units(180));
        let p2 = Policy {
            buy_ahead: None,
            ..p
        };
        let small = suggest(
            &constant(1.0, 28, 0.0),
            &p2,
            Position::default(),
            Money::from_minor(1),
        );
        // 14 needed, but the minimum is 100 (→ 108 in packs of 12).
        assert_eq!(small.quantity, Qty::units(108));
    }

    #[test]
    fn service_level_bounds() {
        assert!(ServiceLevel::new(95.0).is_ok());
        for bad in [0.0, -5.0, 100.0, 150.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                ServiceLevel::new(bad),
                Err(ReplenishmentError::ServiceLevel)
            );
        }
        assert!((ServiceLevel::default().z() - 1.644_853_627).abs() < 1e-6);
    }

    #[test]
    fn budget_goes_to_the_least_covered_first() {
        let p = policy();
        let urgent = suggest(
            &constant(10.0, 28, 0.0),
            &p,
            Position {
                on_hand: Qty::units(10),
                ..Position::default()
            },
            Money::from_minor(10_000),
        );
        let later = suggest(
            &constant(10.0, 28, 0.0),
            &p,
            Position {
                on_hand: Qty::units(60),
                ..Position::default()
            },
            Money::from_minor(10_000),
        );
        assert_eq!(urgent.quantity, Qty::units(132));
        assert_eq!(later.quantity, Qty::units(84));
        // $ 15.000: the urgent line ($ 13.200) fits; 18 units' worth is left → one pack of 12
        // is below the minimum of 24, so the other waits.
        let out = within_budget(
            vec![(later.clone(), p, "later"), (urgent.clone(), p, "urgent")],
            Money::from_minor(1_500_000),
        );
        assert_eq!(out[0].1, "urgent");
        assert_eq!(out[0].0.quantity, Qty::units(132));
        assert_eq!(out[1].0.quantity, Qty::ZERO);
        assert!(out[1].0.reason.contains("no alcanza el presupuesto"));
        // $ 16.000: 28 units' worth left → 24 (two packs, the minimum).
        let out = within_budget(
            vec![(later, p, "later"), (urgent, p, "urgent")],
            Money::from_minor(1_600_000),
        );
        assert_eq!(out[1].1, "later");
        assert_eq!(out[1].0.quantity, Qty::units(24));
        assert_eq!(out[1].0.cost, Money::from_minor(240_000));
    }
}
