//! Crate-private helpers shared by the value types: fixed-point text, rounding, serde-as-string.

use std::fmt::Display;

use serde::{Deserialize, Deserializer};

/// Why a fixed-point string was rejected; each caller maps it to its own typed error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FixedError {
    Empty,
    Format,
    TooManyDecimals,
    Range,
}

/// Parses `[-]D+[.D+]` (ASCII digits only, surrounding whitespace trimmed) into
/// `value × 10^scale`.
///
/// Strict on purpose (no '+', exponent, grouping or bare ".5") so every accepted string has one
/// meaning. The magnitude is capped at `i64::MAX`, so negating a parsed value never overflows.
pub(crate) fn parse_fixed(input: &str, scale: u32) -> Result<i64, FixedError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(FixedError::Empty);
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((int_part, frac)) => (int_part, Some(frac)),
        None => (body, None),
    };
    if !is_digits(int_part) {
        return Err(FixedError::Format);
    }
    let frac = match frac_part {
        Some(f) if is_digits(f) => f,
        Some(_) => return Err(FixedError::Format),
        None => "",
    };
    let scale = scale as usize;
    if frac.len() > scale {
        return Err(FixedError::TooManyDecimals);
    }
    let padding = std::iter::repeat_n(b'0', scale - frac.len());
    let mut magnitude: i128 = 0;
    for b in int_part.bytes().chain(frac.bytes()).chain(padding) {
        magnitude = magnitude * 10 + i128::from(b - b'0');
        if magnitude > i128::from(i64::MAX) {
            return Err(FixedError::Range);
        }
    }
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| FixedError::Range)
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Splits a scaled value into (is_negative, whole part, fractional part).
pub(crate) fn split(value: i64, scale: u32) -> (bool, u64, u64) {
    let unit = 10u64.pow(scale);
    let abs = value.unsigned_abs();
    (value < 0, abs / unit, abs % unit)
}

/// The fractional digits zero-padded to `scale`, then with trailing zeros removed.
pub(crate) fn trimmed_fraction(frac: u64, scale: u32) -> String {
    let width = scale as usize;
    format!("{frac:0width$}").trim_end_matches('0').to_owned()
}

/// Groups a whole number in thousands with '.', as written in Argentina ("1.234.567").
pub(crate) fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let len = digits.len();
    let mut out = String::with_capacity(len + len / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `n / d` rounded half away from zero (so a refund rounds like the sale it mirrors).
/// `d` must be positive.
pub(crate) fn div_round_half_away(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d { q + n.signum() } else { q }
}

/// Clamps to the i64 range; used only where overflow would need absurd inputs.
pub(crate) fn saturate_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Deserializes a string and runs it through the type's parsing constructor, so JSON can
/// never smuggle in a value the constructor would reject.
pub(crate) fn deserialize_parsed<'de, D, T, E>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    E: Display,
{
    let s = String::deserialize(deserializer)?;
    parse(&s).map_err(serde::de::Error::custom)
}

/// Test helper: deserializes `T` from a bare string without pulling in a JSON crate.
#[cfg(test)]
pub(crate) fn de_str<T: serde::de::DeserializeOwned>(
    s: &str,
) -> Result<T, serde::de::value::Error> {
    use serde::de::IntoDeserializer;
    let d: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = s.into_deserializer();
    T::deserialize(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_parsing() {
        assert_eq!(parse_fixed("1234.56", 2), Ok(123_456));
        assert_eq!(parse_fixed(" -0.5 ", 2), Ok(-50));
        assert_eq!(parse_fixed("-0", 2), Ok(0));
        assert_eq!(parse_fixed("", 2), Err(FixedError::Empty));
        assert_eq!(parse_fixed("   ", 2), Err(FixedError::Empty));
        for junk in [
            "-", "+1", ".5", "5.", "1e3", "1,5", "1 000", "1.2.3", "--1", "١٢",
        ] {
            assert_eq!(parse_fixed(junk, 2), Err(FixedError::Format), "{junk}");
        }
        assert_eq!(parse_fixed("1.234", 2), Err(FixedError::TooManyDecimals));
        assert_eq!(parse_fixed("92233720368547758.07", 2), Ok(i64::MAX));
        assert_eq!(
            parse_fixed("92233720368547758.08", 2),
            Err(FixedError::Range)
        );
        assert_eq!(
            parse_fixed("-92233720368547758.08", 2),
            Err(FixedError::Range)
        );
        assert_eq!(parse_fixed("0000000000000000000000001", 0), Ok(1));
    }

    #[test]
    fn grouping_and_rounding() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1.000");
        assert_eq!(group_thousands(1_234_567), "1.234.567");
        assert_eq!(div_round_half_away(5, 10), 1);
        assert_eq!(div_round_half_away(-5, 10), -1);
        assert_eq!(div_round_half_away(4, 10), 0);
        assert_eq!(div_round_half_away(-14, 10), -1);
        assert_eq!(div_round_half_away(-15, 10), -2);
        assert_eq!(div_round_half_away(20, 10), 2);
    }
}
