//! Seasonal critical-stock thresholds: a per-mille factor by southern-hemisphere season.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::qty::Qty;
use crate::support;

/// A factor in thousandths (1.3 → 1300), so thresholds stay integer arithmetic.
pub type Permille = i64;

/// Multipliers applied to a product's minimum stock by season (Argentina: summer is
/// December–February), because demand for drinks, ice cream or heaters swings with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeasonalFactors {
    /// December–February.
    pub summer: Permille,
    /// March–May.
    pub autumn: Permille,
    /// June–August.
    pub winter: Permille,
    /// September–November.
    pub spring: Permille,
}

impl Default for SeasonalFactors {
    fn default() -> Self {
        SeasonalFactors {
            summer: 1300,
            autumn: 1000,
            winter: 800,
            spring: 1100,
        }
    }
}

impl SeasonalFactors {
    /// The factor in force on `date`.
    pub fn factor_for(&self, date: NaiveDate) -> Permille {
        match date.month() {
            12 | 1 | 2 => self.summer,
            3..=5 => self.autumn,
            6..=8 => self.winter,
            _ => self.spring,
        }
    }

    /// `min_stock × factor`, rounded half up to the thousandth (i128 inside, so no overflow
    /// mid-way; a result beyond the i64 range is clamped).
    pub fn threshold(&self, min_stock: Qty, date: NaiveDate) -> Qty {
        let scaled = i128::from(min_stock.milli()) * i128::from(self.factor_for(date));
        Qty::from_milli(support::saturate_i64(support::div_round_half_away(
            scaled, 1000,
        )))
    }
}

/// Stock is critical when it is at or below a positive threshold; a zero threshold means the
/// product is not tracked for replenishment.
pub fn is_critical(on_hand: Qty, threshold: Qty) -> bool {
    threshold.is_positive() && on_hand <= threshold
}

/// How much is missing to reach the threshold; never negative.
pub fn deficit(on_hand: Qty, threshold: Qty) -> Qty {
    let missing = i128::from(threshold.milli()) - i128::from(on_hand.milli());
    Qty::from_milli(support::saturate_i64(missing.max(0)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn factors_by_month() {
        let f = SeasonalFactors::default();
        assert_eq!(f.factor_for(d(2026, 1, 15)), 1300);
        assert_eq!(f.factor_for(d(2026, 7, 1)), 800);
        let by_month: Vec<Permille> = (1..=12).map(|m| f.factor_for(d(2026, m, 1))).collect();
        assert_eq!(
            by_month,
            [
                1300, 1300, 1000, 1000, 1000, 800, 800, 800, 1100, 1100, 1100, 1300
            ]
        );
    }

    #[test]
    fn thresholds_round_half_up() {
        let f = SeasonalFactors::default();
        assert_eq!(f.threshold(Qty::units(10), d(2026, 1, 15)), Qty::units(13));
        assert_eq!(f.threshold(Qty::units(10), d(2026, 7, 1)), Qty::units(8));
        // 0,005 × 1,1 = 0,0055 → 0,006 ; 0,001 × 1,3 = 0,0013 → 0,001
        assert_eq!(
            f.threshold(Qty::from_milli(5), d(2026, 10, 1)),
            Qty::from_milli(6)
        );
        assert_eq!(
            f.threshold(Qty::from_milli(1), d(2026, 1, 1)),
            Qty::from_milli(1)
        );
        assert_eq!(f.threshold(Qty::ZERO, d(2026, 1, 1)), Qty::ZERO);
    }

    #[test]
    fn criticality_and_deficit() {
        let t = Qty::units(13);
        assert!(is_critical(Qty::units(13), t));
        assert!(is_critical(Qty::units(-1), t));
        assert!(!is_critical(Qty::from_milli(13_001), t));
        assert!(!is_critical(Qty::ZERO, Qty::ZERO));
        assert_eq!(deficit(Qty::units(10), t), Qty::units(3));
        assert_eq!(deficit(Qty::units(20), t), Qty::ZERO);
        assert_eq!(deficit(Qty::units(-2), t), Qty::units(15));
    }
}
