//! Pricing rules: cost-plus markup with most-specific-wins precedence, the minimum-margin
//! guard (margin on the net, prices include IVA), shelf rounding applied last, and inflation
//! projection with daily compounding. Integer centavos and exact decimals only, never floats.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::*;
use rust_decimal::{Decimal, MathematicalOps};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::VatRate;
use crate::money::Money;
use crate::support::{self, FixedError};

/// Why a pricing value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error(
        "el porcentaje no tiene un formato válido; use dígitos y punto decimal, por ejemplo 35.5"
    )]
    Format,
    #[error("el porcentaje admite como máximo {0} decimales")]
    TooManyDecimals(u32),
    #[error("el porcentaje debe estar entre {min} % y {max} %")]
    Range { min: i64, max: i64 },
    #[error("el recargo da un margen menor que el mínimo exigido")]
    BelowFloor,
    #[error("la proyección excede el rango de importes")]
    Overflow,
}

impl PricingError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            PricingError::Format => "format",
            PricingError::TooManyDecimals(_) => "too_many_decimals",
            PricingError::Range { .. } => "range",
            PricingError::BelowFloor => "below_margin_floor",
            PricingError::Overflow => "overflow",
        }
    }
}

fn parse_percent(s: &str, decimals: u32, min: i64, max: i64) -> Result<i64, PricingError> {
    let scale = 10i64.pow(decimals);
    let v = support::parse_fixed(s, decimals).map_err(|e| match e {
        FixedError::TooManyDecimals => PricingError::TooManyDecimals(decimals),
        FixedError::Range => PricingError::Range { min, max },
        FixedError::Empty | FixedError::Format => PricingError::Format,
    })?;
    if v < min * scale || v > max * scale {
        return Err(PricingError::Range { min, max });
    }
    Ok(v)
}

fn format_fixed(v: i64, decimals: u32) -> String {
    let (negative, whole, frac) = support::split(v, decimals);
    let sign = if negative { "-" } else { "" };
    let frac = support::trimmed_fraction(frac, decimals);
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// A percentage with two decimals held as basis points (35.5 % = 3550), for markups, margins
/// and bulk increases. The wire form is the percentage as a decimal string ("35.5").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Percent(i64);

impl Percent {
    pub const ZERO: Percent = Percent(0);

    pub const fn from_bp(bp: i64) -> Percent {
        Percent(bp)
    }

    pub const fn bp(self) -> i64 {
        self.0
    }

    /// Parses "35", "35.5", "-10.25" within `min..=max` percent.
    pub fn parse_within(s: &str, min: i64, max: i64) -> Result<Percent, PricingError> {
        parse_percent(s, 2, min, max).map(Percent)
    }

    /// A markup: −99.99 % (never a zero or negative price) up to +1000 %.
    pub fn parse_markup(s: &str) -> Result<Percent, PricingError> {
        let p = Self::parse_within(s, -100, 1000)?;
        if p.0 <= -10_000 {
            return Err(PricingError::Range {
                min: -100,
                max: 1000,
            });
        }
        Ok(p)
    }

    /// A margin floor on the net: 0 up to 99.99 %.
    pub fn parse_margin(s: &str) -> Result<Percent, PricingError> {
        let p = Self::parse_within(s, 0, 100)?;
        if p.0 >= 10_000 {
            return Err(PricingError::Range { min: 0, max: 100 });
        }
        Ok(p)
    }

    /// `amount × (1 + self)`, rounded half away from zero to the centavo.
    pub fn apply(self, amount: Money) -> Money {
        Money::from_minor(support::saturate_i64(support::div_round_half_away(
            i128::from(amount.minor()) * i128::from(10_000 + self.0),
            10_000,
        )))
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_fixed(self.0, 2))
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(d, |s| Percent::parse_within(s, -100, 1000))
    }
}

str_enum! {
    /// How a computed shelf price (IVA included) is rounded, always upwards so rounding never
    /// eats margin.
    pub enum Rounding ("Redondeo") {
        /// To the centavo (no shelf rounding).
        Centavo = "centavo",
        /// Up to a multiple of 0.50.
        HalfPeso = "half_peso",
        /// Up to a whole peso.
        Peso = "peso",
        /// Up to a multiple of 10 pesos.
        TenPesos = "ten_pesos",
        /// Up to a multiple of 100 pesos.
        HundredPesos = "hundred_pesos",
        /// Up to the next price ending in .99.
        NinetyNine = "ninety_nine",
    }
}

impl Rounding {
    /// Applies the rule to a non-negative price; negative prices are returned unchanged.
    pub fn apply(self, price: Money) -> Money {
        let c = price.minor();
        if c < 0 {
            return price;
        }
        let up_to = |step: i64| c.saturating_add(step - 1) / step * step;
        Money::from_minor(match self {
            Rounding::Centavo => c,
            Rounding::HalfPeso => up_to(50),
            Rounding::Peso => up_to(100),
            Rounding::TenPesos => up_to(1_000),
            Rounding::HundredPesos => up_to(10_000),
            Rounding::NinetyNine => c - c.rem_euclid(100) + 99,
        })
    }
}

/// Where a rule applies; a more specific scope wins (product > supplier > category).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleScope {
    Category,
    Supplier,
    Product,
}

impl RuleScope {
    pub const ALL: &'static [RuleScope] =
        &[RuleScope::Category, RuleScope::Supplier, RuleScope::Product];

    pub const fn as_str(self) -> &'static str {
        match self {
            RuleScope::Category => "category",
            RuleScope::Supplier => "supplier",
            RuleScope::Product => "product",
        }
    }

    pub fn parse(s: &str) -> Option<RuleScope> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// One configured rule; every part is optional so a product rule can, say, set only the
/// markup and inherit the category's rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RuleParts {
    pub markup: Option<Percent>,
    pub min_margin: Option<Percent>,
    pub rounding: Option<Rounding>,
}

impl RuleParts {
    /// Refuses a markup whose own margin on the net is below the rule's floor.
    pub fn validate(&self) -> Result<(), PricingError> {
        if let (Some(m), Some(floor)) = (self.markup, self.min_margin)
            && !meets_floor_markup(m, floor)
        {
            return Err(PricingError::BelowFloor);
        }
        Ok(())
    }
}

/// Whether markup `m` keeps a margin on the net of at least `floor`:
/// `m / (1 + m) ≥ floor` ⇔ `m ≥ floor × (1 + m)`.
fn meets_floor_markup(m: Percent, floor: Percent) -> bool {
    let (m, f) = (i128::from(m.0), i128::from(floor.0));
    m * 10_000 >= f * (10_000 + m)
}

/// The effective rule of a product: each part from the most specific rule that sets it.
pub fn resolve(
    product: Option<&RuleParts>,
    supplier: Option<&RuleParts>,
    category: Option<&RuleParts>,
) -> RuleParts {
    let chain = [product, supplier, category];
    RuleParts {
        markup: chain.iter().flatten().find_map(|r| r.markup),
        min_margin: chain.iter().flatten().find_map(|r| r.min_margin),
        rounding: chain.iter().flatten().find_map(|r| r.rounding),
    }
}

/// A computed shelf price with what the preview shows about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Before shelf rounding, IVA included.
    pub unrounded: Money,
    /// The shelf price, IVA included.
    pub price: Money,
    pub rounding: Rounding,
    /// Margin on the net, in basis points, rounded half away from zero; `None` at price 0.
    pub margin: Option<Percent>,
    pub below_floor: bool,
}

/// Margin on the net of a gross price: `(net − cost) / net` with `net = gross / (1 + IVA)`.
pub fn margin_on_net(cost: Money, price: Money, vat: VatRate) -> Option<Percent> {
    if !price.is_positive() {
        return None;
    }
    let v = i128::from(10_000 + vat.basis_points());
    // margin = 1 − cost × (1 + IVA) / price, in basis points.
    let lost =
        support::div_round_half_away(i128::from(cost.minor()) * v, i128::from(price.minor()));
    Some(Percent(support::saturate_i64(10_000 - lost)))
}

/// Whether a gross price keeps at least `floor` margin on the net (exact comparison).
pub fn meets_floor(cost: Money, price: Money, vat: VatRate, floor: Percent) -> bool {
    // (net − cost) / net ≥ f ⇔ price × (1 − f) ≥ cost × (1 + IVA)
    let v = i128::from(10_000 + vat.basis_points());
    i128::from(price.minor()) * i128::from(10_000 - floor.0) >= i128::from(cost.minor()) * v
}

/// Finishes a gross price: shelf rounding last, then the margin and floor check.
pub fn finish(cost: Money, unrounded: Money, vat: VatRate, rule: &RuleParts) -> Quote {
    let rounding = rule.rounding.unwrap_or(Rounding::Centavo);
    let price = rounding.apply(unrounded);
    Quote {
        unrounded,
        price,
        rounding,
        margin: margin_on_net(cost, price, vat),
        below_floor: rule
            .min_margin
            .is_some_and(|f| !meets_floor(cost, price, vat, f)),
    }
}

/// The price by the rules: `cost × (1 + markup) × (1 + IVA)`, rounded half away to the
/// centavo, then the shelf rounding. `None` when no rule sets a markup.
pub fn cost_plus(cost: Money, vat: VatRate, rule: &RuleParts) -> Option<Quote> {
    let markup = rule.markup?;
    let gross = support::div_round_half_away(
        i128::from(cost.minor())
            * i128::from(10_000 + markup.0)
            * i128::from(10_000 + vat.basis_points()),
        100_000_000,
    );
    Some(finish(
        cost,
        Money::from_minor(support::saturate_i64(gross)),
        vat,
        rule,
    ))
}

/// The price after a cost change: by the rules when a markup applies, else the old price
/// scaled like the cost (keeping the product's current markup), then the shelf rounding.
pub fn reprice(
    old_cost: Money,
    old_price: Money,
    new_cost: Money,
    vat: VatRate,
    rule: &RuleParts,
) -> Quote {
    if let Some(q) = cost_plus(new_cost, vat, rule) {
        return q;
    }
    let unrounded = if old_cost.is_positive() {
        Money::from_minor(support::saturate_i64(support::div_round_half_away(
            i128::from(old_price.minor()) * i128::from(new_cost.minor()),
            i128::from(old_cost.minor()),
        )))
    } else {
        old_price
    };
    if unrounded == old_price {
        // Nothing moved: keep the shelf price as it is rather than re-round it.
        return Quote {
            unrounded,
            price: old_price,
            rounding: Rounding::Centavo,
            margin: margin_on_net(new_cost, old_price, vat),
            below_floor: rule
                .min_margin
                .is_some_and(|f| !meets_floor(new_cost, old_price, vat, f)),
        };
    }
    finish(new_cost, unrounded, vat, rule)
}

/// A monthly inflation rate (CPI change), −50 % … +100 % with up to 4 decimals, held as
/// millionths (4.5 % = 45 000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthlyRate(i64);

impl MonthlyRate {
    pub fn parse(s: &str) -> Result<MonthlyRate, PricingError> {
        parse_percent(s, 4, -50, 100).map(MonthlyRate)
    }

    /// From the stored millionths; out-of-range values are refused like parsed ones.
    pub fn from_ppm(ppm: i64) -> Result<MonthlyRate, PricingError> {
        if !(-500_000..=1_000_000).contains(&ppm) {
            return Err(PricingError::Range { min: -50, max: 100 });
        }
        Ok(MonthlyRate(ppm))
    }

    pub const fn ppm(self) -> i64 {
        self.0
    }

    fn factor(self) -> Decimal {
        Decimal::ONE + Decimal::new(self.0, 6)
    }
}

impl fmt::Display for MonthlyRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_fixed(self.0, 4))
    }
}

impl Serialize for MonthlyRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for MonthlyRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(d, MonthlyRate::parse)
    }
}

/// The conventional month length of daily compounding (365.25 / 12, rounded).
pub fn days_per_month() -> Decimal {
    Decimal::new(3044, 2)
}

/// `amount × (1 + rate)^(days / 30.44)`, rounded half away from zero to the centavo.
pub fn project(amount: Money, rate: MonthlyRate, days: i64) -> Result<Money, PricingError> {
    project_by_months(amount, &[(rate, days)])
}

/// Compounds `amount` day by day over spans of `(monthly rate, days)`:
/// `amount × Π (1 + rate)^(days / 30.44)`, in decimals, rounded to the centavo once at the end.
pub fn project_by_months(
    amount: Money,
    spans: &[(MonthlyRate, i64)],
) -> Result<Money, PricingError> {
    let mut factor = Decimal::ONE;
    for &(rate, days) in spans {
        if days == 0 || rate.0 == 0 {
            continue;
        }
        let exponent = Decimal::from(days)
            .checked_div(days_per_month())
            .ok_or(PricingError::Overflow)?;
        let step = rate
            .factor()
            .checked_powd(exponent)
            .ok_or(PricingError::Overflow)?;
        factor = factor.checked_mul(step).ok_or(PricingError::Overflow)?;
    }
    let value = Decimal::new(amount.minor(), 2)
        .checked_mul(factor)
        .ok_or(PricingError::Overflow)?
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let minor = (value * Decimal::ONE_HUNDRED)
        .to_i64()
        .ok_or(PricingError::Overflow)?;
    Ok(Money::from_minor(minor))
}

/// Splits `[from, to)` into the days that fall in each calendar month, with that month's
/// rate from `rate_of(year, month)` (a month without a published rate counts as 0 %).
pub fn spans_between(
    from: NaiveDate,
    to: NaiveDate,
    rate_of: impl Fn(i32, u32) -> Option<MonthlyRate>,
) -> Vec<(MonthlyRate, i64)> {
    let mut out = Vec::new();
    let mut day = from;
    while day < to {
        let next_month = if day.month() == 12 {
            NaiveDate::from_ymd_opt(day.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(day.year(), day.month() + 1, 1)
        };
        let end = next_month.map_or(to, |n| n.min(to));
        let days = (end - day).num_days();
        let rate = rate_of(day.year(), day.month()).unwrap_or(MonthlyRate(0));
        out.push((rate, days));
        day = end;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    fn pct(s: &str) -> Percent {
        Percent::parse_within(s, -100, 1000).unwrap()
    }

    fn rule(markup: Option<&str>, floor: Option<&str>, rounding: Option<Rounding>) -> RuleParts {
        RuleParts {
            markup: markup.map(pct),
            min_margin: floor.map(pct),
            rounding,
        }
    }

    #[test]
    fn inflation_vectors() {
        let r = MonthlyRate::parse("4.5").unwrap();
        assert_eq!(project(m(100_000), r, 30).unwrap(), m(104_434));
        assert_eq!(project(m(10_000), r, 365).unwrap(), m(16_952));
        // A full conventional month is exactly the monthly rate.
        assert_eq!(
            project_by_months(m(100_000), &[(r, 0)]).unwrap(),
            m(100_000)
        );
        let ten = MonthlyRate::parse("10").unwrap();
        assert_eq!(project(m(100_000), ten, 0).unwrap(), m(100_000));
        // Deflation shrinks.
        let minus = MonthlyRate::parse("-2").unwrap();
        assert!(project(m(100_000), minus, 30).unwrap() < m(100_000));
    }

    #[test]
    fn rate_bounds() {
        assert_eq!(MonthlyRate::parse("-50").unwrap().ppm(), -500_000);
        assert_eq!(MonthlyRate::parse("100").unwrap().ppm(), 1_000_000);
        assert_eq!(MonthlyRate::parse("4.5").unwrap().to_string(), "4.5");
        assert_eq!(MonthlyRate::parse("2.1234").unwrap().ppm(), 21_234);
        for bad in ["-50.01", "100.0001", "101", "-60"] {
            assert_eq!(
                MonthlyRate::parse(bad).unwrap_err().rule(),
                "range",
                "{bad}"
            );
        }
        assert_eq!(
            MonthlyRate::parse("1.23456").unwrap_err().rule(),
            "too_many_decimals"
        );
        assert_eq!(MonthlyRate::parse("4,5").unwrap_err().rule(), "format");
        assert!(MonthlyRate::from_ppm(1_000_001).is_err());
    }

    #[test]
    fn spans_follow_calendar_months() {
        let d = |y, mo, da| NaiveDate::from_ymd_opt(y, mo, da).unwrap();
        let rates = |y: i32, mo: u32| match (y, mo) {
            (2026, 1) => Some(MonthlyRate::parse("2").unwrap()),
            (2026, 2) => Some(MonthlyRate::parse("3").unwrap()),
            _ => None,
        };
        let spans = spans_between(d(2026, 1, 20), d(2026, 3, 5), rates);
        assert_eq!(
            spans,
            vec![
                (MonthlyRate(20_000), 12),
                (MonthlyRate(30_000), 28),
                (MonthlyRate(0), 4)
            ]
        );
        assert!(spans_between(d(2026, 3, 5), d(2026, 3, 5), rates).is_empty());
    }

    #[test]
    fn rounding_rules() {
        let cases = [
            (Rounding::Centavo, 123_420, 123_420),
            (Rounding::HalfPeso, 123_420, 123_450),
            (Rounding::HalfPeso, 123_450, 123_450),
            (Rounding::HalfPeso, 123_451, 123_500),
            (Rounding::Peso, 123_401, 123_500),
            (Rounding::Peso, 123_400, 123_400),
            (Rounding::TenPesos, 123_420, 124_000),
            (Rounding::TenPesos, 124_000, 124_000),
            (Rounding::HundredPesos, 123_420, 130_000),
            (Rounding::HundredPesos, 120_001, 130_000),
            (Rounding::NinetyNine, 123_420, 123_499),
            (Rounding::NinetyNine, 123_499, 123_499),
            (Rounding::NinetyNine, 123_500, 123_599),
            (Rounding::NinetyNine, 0, 99),
        ];
        for (r, from, to) in cases {
            assert_eq!(r.apply(m(from)), m(to), "{r} {from}");
        }
        assert_eq!(Rounding::parse("ten_pesos").unwrap(), Rounding::TenPesos);
        assert!(Rounding::parse("five").is_err());
    }

    #[test]
    fn cost_plus_vectors() {
        // 1000 net × 1.40 × 1.21 = 1694.00
        let r = rule(Some("40"), None, None);
        let q = cost_plus(m(100_000), VatRate::General, &r).unwrap();
        assert_eq!(q.price, m(169_400));
        // margin on the net: (1400 − 1000) / 1400 = 28.57 %
        assert_eq!(q.margin.unwrap().to_string(), "28.57");
        // 10.5 % IVA: 853.17 × 1.355 × 1.105 = 1277.4333 → 1277.43, to 10 pesos → 1280.
        let r = rule(Some("35.5"), None, Some(Rounding::TenPesos));
        let q = cost_plus(m(85_317), VatRate::Reduced, &r).unwrap();
        assert_eq!(q.unrounded, m(127_743));
        assert_eq!(q.price, m(128_000));
        assert_eq!(q.rounding, Rounding::TenPesos);
        // No markup anywhere → no rule price.
        assert!(cost_plus(m(100), VatRate::General, &RuleParts::default()).is_none());
    }

    #[test]
    fn most_specific_wins() {
        let category = rule(Some("30"), Some("20"), Some(Rounding::TenPesos));
        let supplier = rule(Some("35"), None, None);
        let product = rule(Some("50"), None, None);
        let r = resolve(Some(&product), Some(&supplier), Some(&category));
        assert_eq!(r.markup, Some(pct("50")));
        // Parts a specific rule leaves out come from the next one.
        assert_eq!(r.min_margin, Some(pct("20")));
        assert_eq!(r.rounding, Some(Rounding::TenPesos));
        let r = resolve(None, Some(&supplier), Some(&category));
        assert_eq!(r.markup, Some(pct("35")));
        let r = resolve(None, None, Some(&category));
        assert_eq!(r.markup, Some(pct("30")));
        assert_eq!(resolve(None, None, None), RuleParts::default());
    }

    #[test]
    fn margin_floor() {
        // Markup 20 % gives 16.67 % on the net: below a 20 % floor, above 15 %.
        assert_eq!(
            rule(Some("20"), Some("20"), None).validate(),
            Err(PricingError::BelowFloor)
        );
        assert!(rule(Some("25"), Some("20"), None).validate().is_ok());
        assert!(rule(Some("-5"), Some("0"), None).validate().is_err());
        assert!(rule(Some("20"), Some("15"), None).validate().is_ok());
        // Price 1210 on cost 1000 at 21 % IVA: net 1000, margin 0.
        assert!(meets_floor(
            m(100_000),
            m(121_000),
            VatRate::General,
            Percent::ZERO
        ));
        assert!(!meets_floor(
            m(100_000),
            m(120_999),
            VatRate::General,
            Percent::ZERO
        ));
        let q = finish(
            m(100_000),
            m(130_000),
            VatRate::General,
            &rule(None, Some("10"), None),
        );
        // net 1074.38 → margin 6.92 % < 10 %
        assert!(q.below_floor);
        assert_eq!(q.margin.unwrap().to_string(), "6.92");
    }

    #[test]
    fn reprice_without_markup_keeps_the_ratio() {
        let q = reprice(
            m(100_000),
            m(150_000),
            m(110_000),
            VatRate::General,
            &rule(None, None, Some(Rounding::Peso)),
        );
        assert_eq!(q.price, m(165_000));
        let q = reprice(
            m(100_000),
            m(150_050),
            m(100_000),
            VatRate::General,
            &rule(None, None, Some(Rounding::TenPesos)),
        );
        assert_eq!(q.price, m(150_050), "no change, no re-rounding");
    }

    #[test]
    fn percent_parsing() {
        assert_eq!(Percent::parse_markup("35.5").unwrap().bp(), 3550);
        assert_eq!(Percent::parse_markup("-100").unwrap_err().rule(), "range");
        assert_eq!(
            Percent::parse_markup("1000.01").unwrap_err().rule(),
            "range"
        );
        assert_eq!(Percent::parse_margin("100").unwrap_err().rule(), "range");
        assert_eq!(Percent::parse_margin("-1").unwrap_err().rule(), "range");
        assert_eq!(
            Percent::parse_margin("1.234").unwrap_err().rule(),
            "too_many_decimals"
        );
        assert_eq!(pct("10").apply(m(12_345)), m(13_580));
        assert_eq!(Percent::from_bp(-1050).to_string(), "-10.5");
    }

    proptest! {
        #[test]
        fn rounding_never_lowers_and_stays_close(c in 0i64..10_000_000_000, k in 0usize..6) {
            let r = Rounding::ALL[k];
            let out = r.apply(m(c)).minor();
            prop_assert!(out >= c);
            let step = match r {
                Rounding::Centavo => 1,
                Rounding::HalfPeso => 50,
                Rounding::Peso => 100,
                Rounding::TenPesos => 1_000,
                Rounding::HundredPesos => 10_000,
                Rounding::NinetyNine => 100,
            };
            prop_assert!(out - c < step);
            prop_assert_eq!(r.apply(m(out)).minor(), out, "idempotent");
        }

        #[test]
        fn floor_check_agrees_with_markup(markup in 0i64..50_000, floor in 0i64..9_999) {
            let r = RuleParts { markup: Some(Percent(markup)), min_margin: Some(Percent(floor)), rounding: None };
            let ok = r.validate().is_ok();
            // The rule's own price at a large cost meets the floor iff the markup does
            // (up to the centavo rounding of the price).
            let q = cost_plus(m(1_000_000_000), VatRate::Zero, &r).unwrap();
            if ok { prop_assert!(!q.below_floor); }
        }

        #[test]
        fn projection_is_monotonic(amount in 0i64..100_000_000, ppm in 0i64..1_000_000, d1 in 0i64..400, d2 in 0i64..400) {
            let rate = MonthlyRate(ppm);
            let (a, b) = (d1.min(d2), d1.max(d2));
            let pa = project(m(amount), rate, a).unwrap();
            let pb = project(m(amount), rate, b).unwrap();
            prop_assert!(pa <= pb);
            prop_assert!(pa >= m(amount));
        }
    }
}
