//! Argentine formats for everything a page shows: $ 1.234,56 · 28/11/2026 · 1,250 kg.
//!
//! Pages hand templates strings already formatted here, so one rule serves every page and CSV.

use chrono::{DateTime, NaiveDate, Utc};
use domain::catalog::UnitOfMeasure;
use domain::{Money, Qty};

/// The shop's clock: Argentina keeps UTC−3 all year.
const SHOP_OFFSET_HOURS: i64 = 3;

pub fn money(m: Money) -> String {
    m.format_ar()
}

/// A quantity as the shop reads it: pieces bare ("12"), weights and volumes with three
/// decimals and their unit ("1,250 kg").
pub fn qty(q: Qty, unit: UnitOfMeasure) -> String {
    match unit {
        UnitOfMeasure::Unit => q.format_ar(),
        UnitOfMeasure::Kg => format!("{} kg", q.format_ar_fixed3()),
        UnitOfMeasure::L => format!("{} l", q.format_ar_fixed3()),
    }
}

pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

pub fn shop_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t - chrono::Duration::hours(SHOP_OFFSET_HOURS)
}

/// Day and time in the shop's clock: "28/11/2026 14:05".
pub fn date_time(t: DateTime<Utc>) -> String {
    shop_time(t).format("%d/%m/%Y %H:%M").to_string()
}

/// The shop's calendar day of an instant.
pub fn shop_day(t: DateTime<Utc>) -> NaiveDate {
    shop_time(t).date_naive()
}

/// An integer with thousands dots: 12.345.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A percentage with one decimal and a comma: "12,5 %". `per_mille` is tenths of a percent.
pub fn percent_tenths(per_mille: i64) -> String {
    let sign = if per_mille < 0 { "-" } else { "" };
    let v = per_mille.unsigned_abs();
    format!("{sign}{},{} %", v / 10, v % 10)
}

/// Change of `now` against `before` in tenths of a percent; `None` when there is no base.
pub fn change_tenths(now: i64, before: i64) -> Option<i64> {
    if before == 0 {
        return None;
    }
    let diff = i128::from(now) - i128::from(before);
    i64::try_from(diff * 1000 / i128::from(before).abs()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_argentine_usage() {
        assert_eq!(money(Money::from_minor(123_456)), "$ 1.234,56");
        assert_eq!(count(1_234_567), "1.234.567");
        assert_eq!(count(-1_000), "-1.000");
        assert_eq!(count(999), "999");
        assert_eq!(percent_tenths(125), "12,5 %");
        assert_eq!(percent_tenths(-5), "-0,5 %");
        assert_eq!(change_tenths(110, 100), Some(100));
        assert_eq!(change_tenths(5, 0), None);
        let d = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
        assert_eq!(date(d), "28/11/2026");
        let t = DateTime::parse_from_rfc3339("2026-11-28T02:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(date_time(t), "27/11/2026 23:30");
        assert_eq!(
            shop_day(t),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default()
        );
    }

    #[test]
    fn quantities_carry_their_unit() {
        let q = Qty::parse("1.25").unwrap_or_default();
        assert_eq!(qty(q, UnitOfMeasure::Kg), "1,250 kg");
        assert_eq!(
            qty(Qty::parse("12").unwrap_or_default(), UnitOfMeasure::Unit),
            "12"
        );
    }
}
