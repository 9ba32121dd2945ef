//! Qty: quantities in thousandths of the unit of measure, strict parsing and formatting.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::support::{self, FixedError};

/// A quantity in thousandths of its unit of measure: exact for grams and millilitres, and
/// for whole units (1 unit = 1000).
///
/// `+`, `-` and unary `-` behave like `i64` (panic on overflow in debug builds, never
/// saturate); stock quantities are nowhere near ±9.2 × 10^15 units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(i64);

/// Why a quantity was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QtyError {
    #[error("la cantidad está vacía")]
    Empty,
    #[error(
        "la cantidad no tiene un formato válido; use dígitos y punto decimal, por ejemplo 1.25"
    )]
    Format,
    #[error("la cantidad admite como máximo 3 decimales")]
    TooManyDecimals,
    #[error("la cantidad está fuera del rango permitido")]
    Range,
}

impl QtyError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            QtyError::Empty => "empty",
            QtyError::Format => "format",
            QtyError::TooManyDecimals => "too_many_decimals",
            QtyError::Range => "range",
        }
    }
}

fn from_fixed(e: FixedError) -> QtyError {
    match e {
        FixedError::Empty => QtyError::Empty,
        FixedError::Format => QtyError::Format,
        FixedError::TooManyDecimals => QtyError::TooManyDecimals,
        FixedError::Range => QtyError::Range,
    }
}

impl Qty {
    pub const ZERO: Qty = Qty(0);

    /// Builds from thousandths (the database and arithmetic form).
    pub const fn from_milli(milli: i64) -> Qty {
        Qty(milli)
    }

    /// The quantity in thousandths.
    pub const fn milli(self) -> i64 {
        self.0
    }

    /// `n` whole units.
    pub const fn units(n: i64) -> Qty {
        Qty(n * 1000)
    }

    /// Parses "10", "1.25", "-3", "0.001": at most 3 decimals, no '+', grouping or exponent;
    /// surrounding whitespace is trimmed. The magnitude is capped at `i64::MAX` thousandths.
    pub fn parse(s: &str) -> Result<Qty, QtyError> {
        support::parse_fixed(s, 3).map(Qty).map_err(from_fixed)
    }

    /// True when there is no fractional part (required for products sold by the unit).
    pub const fn is_whole(self) -> bool {
        self.0 % 1000 == 0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Absolute value (same overflow behaviour as `i64::abs`).
    pub const fn abs(self) -> Qty {
        Qty(self.0.abs())
    }

    pub fn checked_add(self, rhs: Qty) -> Option<Qty> {
        self.0.checked_add(rhs.0).map(Qty)
    }

    pub fn checked_sub(self, rhs: Qty) -> Option<Qty> {
        self.0.checked_sub(rhs.0).map(Qty)
    }

    /// es-AR reading form, trailing zeros trimmed: "1.234,5", "1,25", "10".
    pub fn format_ar(self) -> String {
        let (negative, whole, frac) = support::split(self.0, 3);
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        out.push_str(&support::group_thousands(whole));
        if frac != 0 {
            out.push(',');
            out.push_str(&support::trimmed_fraction(frac, 3));
        }
        out
    }

    /// es-AR with exactly 3 decimals, for weights and volumes on labels ("1,250 kg").
    pub fn format_ar_fixed3(self) -> String {
        let (negative, whole, frac) = support::split(self.0, 3);
        let sign = if negative { "-" } else { "" };
        format!("{sign}{},{frac:03}", support::group_thousands(whole))
    }
}

/// The API form, minimal: "10", "1.25", "-0.5", "0.001".
impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (negative, whole, frac) = support::split(self.0, 3);
        let sign = if negative { "-" } else { "" };
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{}", support::trimmed_fraction(frac, 3))
        }
    }
}

impl FromStr for Qty {
    type Err = QtyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Add for Qty {
    type Output = Qty;

    fn add(self, rhs: Qty) -> Qty {
        Qty(self.0 + rhs.0)
    }
}

impl Sub for Qty {
    type Output = Qty;

    fn sub(self, rhs: Qty) -> Qty {
        Qty(self.0 - rhs.0)
    }
}

impl AddAssign for Qty {
    fn add_assign(&mut self, rhs: Qty) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Qty {
    fn sub_assign(&mut self, rhs: Qty) {
        self.0 -= rhs.0;
    }
}

impl Neg for Qty {
    type Output = Qty;

    fn neg(self) -> Qty {
        Qty(-self.0)
    }
}

impl Sum for Qty {
    fn sum<I: Iterator<Item = Qty>>(iter: I) -> Qty {
        iter.fold(Qty::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Qty> for Qty {
    fn sum<I: Iterator<Item = &'a Qty>>(iter: I) -> Qty {
        iter.copied().sum()
    }
}

/// Serialized as the minimal decimal string so JSON clients never round through floats.
impl Serialize for Qty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Qty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, Qty::parse)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_displays() {
        assert_eq!(Qty::parse("1.25").unwrap().to_string(), "1.25");
        assert_eq!(Qty::parse("10"), Ok(Qty::units(10)));
        assert_eq!(Qty::parse("-3"), Ok(Qty::from_milli(-3_000)));
        assert_eq!(Qty::parse("0.001"), Ok(Qty::from_milli(1)));
        assert_eq!(Qty::from_milli(-500).to_string(), "-0.5");
        assert_eq!(Qty::from_milli(1).to_string(), "0.001");
        assert_eq!(Qty::units(10).to_string(), "10");
        assert_eq!(Qty::ZERO.to_string(), "0");
    }

    #[test]
    fn rejects_with_rules() {
        let rule = |s: &str| Qty::parse(s).unwrap_err().rule();
        assert_eq!(rule("1.2345"), "too_many_decimals");
        assert_eq!(rule("1,5"), "format");
        assert_eq!(rule("+2"), "format");
        assert_eq!(rule("2kg"), "format");
        assert_eq!(rule(""), "empty");
        assert_eq!(rule("99999999999999999"), "range");
    }

    #[test]
    fn formats_for_argentina() {
        assert_eq!(Qty::from_milli(1_250).format_ar(), "1,25");
        assert_eq!(Qty::from_milli(1_234_500).format_ar(), "1.234,5");
        assert_eq!(Qty::units(10).format_ar(), "10");
        assert_eq!(Qty::from_milli(-1_500).format_ar(), "-1,5");
        assert_eq!(Qty::from_milli(1_250).format_ar_fixed3(), "1,250");
        assert_eq!(Qty::from_milli(5).format_ar_fixed3(), "0,005");
        assert_eq!(Qty::from_milli(-1_234_000).format_ar_fixed3(), "-1.234,000");
    }

    #[test]
    fn predicates_and_arithmetic() {
        assert!(Qty::units(3).is_whole());
        assert!(!Qty::from_milli(3_001).is_whole());
        assert!(Qty::from_milli(-1).is_negative());
        assert!(Qty::from_milli(1).is_positive());
        assert!(!Qty::ZERO.is_positive() && !Qty::ZERO.is_negative());
        assert_eq!(Qty::from_milli(-7).abs(), Qty::from_milli(7));
        let a = Qty::from_milli(1_500);
        assert_eq!(a + a - Qty::units(1), Qty::units(2));
        assert_eq!(-a, Qty::from_milli(-1_500));
        assert_eq!([a, a].iter().sum::<Qty>(), Qty::units(3));
        assert_eq!(a.min(Qty::units(1)), Qty::units(1));
        assert_eq!(Qty::from_milli(i64::MAX).checked_add(a), None);
        assert_eq!(Qty::from_milli(i64::MIN).checked_sub(a), None);
    }

    #[test]
    fn serde_goes_through_parse() {
        assert_eq!(
            crate::support::de_str::<Qty>("0.250").unwrap(),
            Qty::from_milli(250)
        );
        assert!(crate::support::de_str::<Qty>("0.2501").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(v in (i64::MIN + 1)..=i64::MAX) {
            let q = Qty::from_milli(v);
            prop_assert_eq!(Qty::parse(&q.to_string()), Ok(q));
        }

        #[test]
        fn format_ar_is_well_formed(v in -1_000_000_000_000_000i64..1_000_000_000_000_000) {
            let q = Qty::from_milli(v);
            for s in [q.format_ar(), q.format_ar_fixed3()] {
                if let Some(comma) = s.find(',') {
                    prop_assert!(!s[comma..].contains('.'));
                }
                let api = s.replace('.', "").replace(',', ".");
                prop_assert_eq!(Qty::parse(&api), Ok(q));
            }
        }
    }
}
