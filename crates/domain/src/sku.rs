//! Sku: the shop's own product code, normalised to upper case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::support;

/// Longest SKU accepted; fits labels and receipt lines.
pub const MAX_LEN: usize = 32;

/// A product code of 1–32 characters from A–Z, 0–9, '-' and '_'.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

/// Why a SKU was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SkuError {
    #[error("el SKU está vacío")]
    Empty,
    #[error("el SKU tiene {len} caracteres; el máximo es 32")]
    Length { len: usize },
    #[error("el SKU solo admite letras A–Z sin acentos, dígitos, '-' y '_'")]
    Charset,
}

impl SkuError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            SkuError::Empty => "empty",
            SkuError::Length { .. } => "length",
            SkuError::Charset => "charset",
        }
    }
}

const fn allowed(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_'
}

impl Sku {
    /// Trims and upper-cases (ASCII) the input, then checks length and charset, so "alm-1 "
    /// and "ALM-1" are the same SKU.
    pub fn parse(s: &str) -> Result<Sku, SkuError> {
        let code = s.trim().to_ascii_uppercase();
        let len = code.chars().count();
        if len == 0 {
            return Err(SkuError::Empty);
        }
        if len > MAX_LEN {
            return Err(SkuError::Length { len });
        }
        if !code.chars().all(allowed) {
            return Err(SkuError::Charset);
        }
        Ok(Sku(code))
    }

    /// A sequential SKU: upper-cased prefix + `n` zero-padded to 6 digits ("ALM", 123 →
    /// "ALM000123"). Infallible so callers can mint codes freely: characters outside the
    /// charset are dropped from the prefix, and the prefix is cut so the result fits 32.
    pub fn generated(prefix: &str, n: u64) -> Sku {
        let number = format!("{n:06}");
        let room = MAX_LEN.saturating_sub(number.len());
        let prefix: String = prefix
            .trim()
            .chars()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| allowed(*c))
            .take(room)
            .collect();
        Sku(format!("{prefix}{number}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Sku {
    type Err = SkuError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Sku {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sku {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, Sku::parse)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalises() {
        assert_eq!(Sku::parse(" alm-001_b ").unwrap().as_str(), "ALM-001_B");
        assert_eq!(Sku::parse("A").unwrap().to_string(), "A");
        assert!(Sku::parse(&"X".repeat(32)).is_ok());
    }

    #[test]
    fn rejects_with_rules() {
        let rule = |s: &str| Sku::parse(s).unwrap_err().rule();
        assert_eq!(rule(""), "empty");
        assert_eq!(rule("   "), "empty");
        assert_eq!(rule(&"X".repeat(33)), "length");
        assert_eq!(rule("ALM 1"), "charset");
        assert_eq!(rule("AÑO-1"), "charset");
        assert_eq!(rule("a.b"), "charset");
    }

    #[test]
    fn generated_codes() {
        assert_eq!(Sku::generated("ALM", 123).as_str(), "ALM000123");
        assert_eq!(Sku::generated("alm", 1_234_567).as_str(), "ALM1234567");
        assert_eq!(Sku::generated("", 0).as_str(), "000000");
        assert_eq!(Sku::generated("a ñ-b", 7).as_str(), "A-B000007");
        let long = Sku::generated(&"P".repeat(40), u64::MAX);
        assert_eq!(long.as_str().len(), MAX_LEN);
        assert!(long.as_str().ends_with(&u64::MAX.to_string()));
    }

    #[test]
    fn serde_goes_through_parse() {
        assert_eq!(
            crate::support::de_str::<Sku>("abc").unwrap().as_str(),
            "ABC"
        );
        assert!(crate::support::de_str::<Sku>("a b").is_err());
    }

    proptest! {
        #[test]
        fn generated_always_parses(prefix in ".{0,40}", n in any::<u64>()) {
            let sku = Sku::generated(&prefix, n);
            prop_assert_eq!(Sku::parse(sku.as_str()), Ok(sku.clone()));
        }
    }
}
