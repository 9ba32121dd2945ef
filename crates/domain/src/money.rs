//! Money: peso amounts in integer centavos, strict parsing, API and es-AR formatting.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::qty::Qty;
use crate::support::{self, FixedError};

/// An amount of pesos held as integer centavos, so sums and comparisons are exact.
///
/// `+`, `-` and unary `-` behave like `i64` (panic on overflow in debug builds, never
/// saturate): ±92 quadrillion pesos cannot be reached at retail magnitudes. Use
/// `checked_add`/`checked_sub` where inputs are untrusted aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Why an amount was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("el importe está vacío")]
    Empty,
    #[error(
        "el importe no tiene un formato válido; use dígitos y punto decimal, por ejemplo 1234.56"
    )]
    Format,
    #[error("el importe admite como máximo 2 decimales")]
    TooManyDecimals,
    #[error("el importe está fuera del rango permitido")]
    Range,
    #[error("el importe no puede ser negativo")]
    Negative,
}

impl MoneyError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            MoneyError::Empty => "empty",
            MoneyError::Format => "format",
            MoneyError::TooManyDecimals => "too_many_decimals",
            MoneyError::Range => "range",
            MoneyError::Negative => "negative",
        }
    }
}

fn from_fixed(e: FixedError) -> MoneyError {
    match e {
        FixedError::Empty => MoneyError::Empty,
        FixedError::Format => MoneyError::Format,
        FixedError::TooManyDecimals => MoneyError::TooManyDecimals,
        FixedError::Range => MoneyError::Range,
    }
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Builds from centavos (the database and arithmetic form).
    pub const fn from_minor(minor: i64) -> Money {
        Money(minor)
    }

    /// The amount in centavos.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// Parses the API form: "1234.56", "1234.5", "1234", "-3.10".
    ///
    /// At most 2 decimals, no '+', thousands separators or exponent; surrounding whitespace is
    /// trimmed. The magnitude is capped at `i64::MAX` centavos so negation is always safe.
    pub fn parse(s: &str) -> Result<Money, MoneyError> {
        support::parse_fixed(s, 2).map(Money).map_err(from_fixed)
    }

    /// Like [`Money::parse`] but rejects negative amounts (prices, costs).
    pub fn parse_non_negative(s: &str) -> Result<Money, MoneyError> {
        let m = Self::parse(s)?;
        if m.is_negative() {
            return Err(MoneyError::Negative);
        }
        Ok(m)
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn checked_add(self, rhs: Money) -> Option<Money> {
        self.0.checked_add(rhs.0).map(Money)
    }

    pub fn checked_sub(self, rhs: Money) -> Option<Money> {
        self.0.checked_sub(rhs.0).map(Money)
    }

    pub fn checked_neg(self) -> Option<Money> {
        self.0.checked_neg().map(Money)
    }

    /// How people read prices in Argentina: "$ 1.234,56", "$ 0,50", "-$ 1.234,56".
    pub fn format_ar(self) -> String {
        let (negative, whole, cents) = support::split(self.0, 2);
        let sign = if negative { "-" } else { "" };
        format!("{sign}$ {},{cents:02}", support::group_thousands(whole))
    }

    /// Unit price × quantity (thousandths), rounded half away from zero to the centavo;
    /// `None` only if the result leaves the i64 range.
    pub fn checked_times_qty(self, q: Qty) -> Option<Money> {
        let exact = i128::from(self.0) * i128::from(q.milli());
        i64::try_from(support::div_round_half_away(exact, 1000))
            .ok()
            .map(Money)
    }

    /// Unit price × quantity (thousandths), rounded half away from zero to the centavo.
    /// Computed in i128 so the intermediate product cannot overflow.
    ///
    /// # Panics
    /// Like integer `*`, if the result exceeds the i64 range (impossible at retail magnitudes).
    pub fn times_qty(self, q: Qty) -> Money {
        match self.checked_times_qty(q) {
            Some(m) => m,
            None => panic!("desbordamiento al multiplicar {self} por {q}"),
        }
    }
}

/// The API form: always 2 decimals, '.' as separator, no grouping ("1234.56", "-3.10").
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (negative, whole, cents) = support::split(self.0, 2);
        let sign = if negative { "-" } else { "" };
        write!(f, "{sign}{whole}.{cents:02}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Add for Money {
    type Output = Money;

    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;

    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

/// Serialized as the decimal string so JSON clients never round through floats.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, Money::parse)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_api_forms() {
        assert_eq!(Money::parse("1234.56"), Ok(Money::from_minor(123_456)));
        assert_eq!(Money::parse("1234.5"), Ok(Money::from_minor(123_450)));
        assert_eq!(Money::parse("1234"), Ok(Money::from_minor(123_400)));
        assert_eq!(Money::parse("-3.10"), Ok(Money::from_minor(-310)));
        assert_eq!(Money::parse("0.5"), Ok(Money::from_minor(50)));
        assert_eq!(Money::parse("  7.00\n"), Ok(Money::from_minor(700)));
    }

    #[test]
    fn rejects_with_rules() {
        let rule = |s: &str| Money::parse(s).unwrap_err().rule();
        assert_eq!(rule("1234.567"), "too_many_decimals");
        assert_eq!(Money::parse("1234.567"), Err(MoneyError::TooManyDecimals));
        assert_eq!(rule(""), "empty");
        assert_eq!(rule("+1.00"), "format");
        assert_eq!(rule("1.234,56"), "format");
        assert_eq!(rule("1,234.56"), "format");
        assert_eq!(rule("1e3"), "format");
        assert_eq!(rule("abc"), "format");
        assert_eq!(rule("99999999999999999999"), "range");
        assert_eq!(
            Money::parse_non_negative("-0.01").unwrap_err().rule(),
            "negative"
        );
        assert_eq!(Money::parse_non_negative("0"), Ok(Money::ZERO));
    }

    #[test]
    fn displays_api_form() {
        assert_eq!(Money::from_minor(123_456).to_string(), "1234.56");
        assert_eq!(Money::from_minor(-310).to_string(), "-3.10");
        assert_eq!(Money::from_minor(-5).to_string(), "-0.05");
        assert_eq!(Money::ZERO.to_string(), "0.00");
    }

    #[test]
    fn formats_for_argentina() {
        assert_eq!(Money::from_minor(123_456).format_ar(), "$ 1.234,56");
        assert_eq!(Money::from_minor(50).format_ar(), "$ 0,50");
        assert_eq!(Money::from_minor(-123_456).format_ar(), "-$ 1.234,56");
        assert_eq!(
            Money::from_minor(12_345_678_900).format_ar(),
            "$ 123.456.789,00"
        );
        assert_eq!(Money::ZERO.format_ar(), "$ 0,00");
    }

    #[test]
    fn arithmetic() {
        let a = Money::from_minor(150);
        let b = Money::from_minor(-40);
        assert_eq!(a + b, Money::from_minor(110));
        assert_eq!(a - b, Money::from_minor(190));
        assert_eq!(-a, Money::from_minor(-150));
        assert_eq!([a, b, a].iter().sum::<Money>(), Money::from_minor(260));
        assert_eq!(
            vec![a, b].into_iter().sum::<Money>(),
            Money::from_minor(110)
        );
        assert_eq!(Money::from_minor(i64::MAX).checked_add(a), None);
        assert_eq!(Money::from_minor(i64::MIN).checked_sub(a), None);
        assert_eq!(a.checked_sub(a), Some(Money::ZERO));
    }

    #[test]
    fn times_qty_rounds_half_away_from_zero() {
        // $ 1.000,00/kg × 1,250 kg = $ 1.250,00
        let per_kg = Money::from_minor(100_000);
        assert_eq!(
            per_kg.times_qty(Qty::from_milli(1_250)),
            Money::from_minor(125_000)
        );
        // 0,15 × 0,5 = 0,075 → 0,08 ; and mirrored for a refund
        let p = Money::from_minor(15);
        assert_eq!(p.times_qty(Qty::from_milli(500)), Money::from_minor(8));
        assert_eq!(p.times_qty(Qty::from_milli(-500)), Money::from_minor(-8));
        // 0,15 × 0,333 = 0,04995 → 0,05 ; 0,01 × 0,4 = 0,004 → 0,00
        assert_eq!(p.times_qty(Qty::from_milli(333)), Money::from_minor(5));
        assert_eq!(
            Money::from_minor(1).times_qty(Qty::from_milli(400)),
            Money::ZERO
        );
        assert_eq!(p.times_qty(Qty::units(3)), Money::from_minor(45));
        assert_eq!(
            Money::from_minor(i64::MAX).checked_times_qty(Qty::units(2)),
            None
        );
    }

    #[test]
    fn serde_goes_through_parse() {
        assert_eq!(
            crate::support::de_str::<Money>("12.30").unwrap(),
            Money::from_minor(1_230)
        );
        assert!(crate::support::de_str::<Money>("12.345").is_err());
        assert!(crate::support::de_str::<Money>("+1").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(v in (i64::MIN + 1)..=i64::MAX) {
            let m = Money::from_minor(v);
            prop_assert_eq!(Money::parse(&m.to_string()), Ok(m));
        }

        #[test]
        fn format_ar_is_well_formed(v in -1_000_000_000_000_000i64..1_000_000_000_000_000) {
            let s = Money::from_minor(v).format_ar();
            let comma = s.find(',').unwrap();
            prop_assert!(!s[comma..].contains('.'));
            prop_assert_eq!(s.len() - comma, 3);
            // Reading it back the Argentine way gives the same amount.
            let api = s.replace("$ ", "").replace('.', "").replace(',', ".");
            prop_assert_eq!(Money::parse(&api), Ok(Money::from_minor(v)));
        }
    }
}
