//! Cuit: Argentine tax id (CUIT/CUIL) with AFIP type prefix and check digit verified.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::support;

/// Type prefixes AFIP assigns: 20/23/24/27 people, 30/33/34 companies.
const PREFIXES: [&str; 7] = ["20", "23", "24", "27", "30", "33", "34"];

/// Check-digit weights over the first 10 digits (AFIP modulo 11).
const WEIGHTS: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A valid CUIT, stored as its 11 digits without separators.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cuit(String);

/// Why a CUIT was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CuitError {
    #[error("la CUIT debe tener 11 dígitos, por ejemplo 30-71234567-8")]
    Format,
    #[error(
        "la CUIT no puede empezar con {prefix}; los prefijos válidos son 20, 23, 24, 27, 30, 33 y 34"
    )]
    Prefix { prefix: String },
    #[error("el dígito verificador de la CUIT no es válido")]
    CheckDigit,
}

impl CuitError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            CuitError::Format => "format",
            CuitError::Prefix { .. } => "prefix",
            CuitError::CheckDigit => "check_digit",
        }
    }
}

/// The AFIP check digit for the first 10 digits, or `None` when the input is not 10 ASCII
/// digits or the modulo-11 remainder gives 10 (no valid CUIT has that body).
pub fn check_digit(first10: &str) -> Option<u8> {
    if first10.len() != 10 || !first10.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first10
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        dv => u8::try_from(dv).ok(),
    }
}

impl Cuit {
    /// Accepts "30-71234567-8", "30712345678" or "30 71234567 8" (dashes, spaces and dots are
    /// ignored) and checks length, type prefix and check digit, in that order.
    pub fn parse(s: &str) -> Result<Cuit, CuitError> {
        let digits: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '.'))
            .collect();
        if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CuitError::Format);
        }
        let (body, last) = digits.split_at(10);
        let prefix = &body[..2];
        if !PREFIXES.contains(&prefix) {
            return Err(CuitError::Prefix {
                prefix: prefix.to_owned(),
            });
        }
        let expected = check_digit(body).ok_or(CuitError::CheckDigit)?;
        if last.as_bytes() != [b'0' + expected] {
            return Err(CuitError::CheckDigit);
        }
        Ok(Cuit(digits))
    }

    /// The 11 digits, without separators (database form).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The customary form "30-71234567-8".
impl fmt::Display for Cuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, rest) = self.0.split_at(2);
        let (number, dv) = rest.split_at(8);
        write!(f, "{prefix}-{number}-{dv}")
    }
}

impl FromStr for Cuit {
    type Err = CuitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Cuit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cuit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, Cuit::parse)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// All three vectors from the brief were re-computed with the weights above and are valid.
    const GOOD: [&str; 3] = ["33-69345023-9", "30-50001091-2", "20-17254359-7"];

    #[test]
    fn known_good_vectors() {
        for s in GOOD {
            let c = Cuit::parse(s).unwrap();
            assert_eq!(c.to_string(), s);
            assert_eq!(c.as_str(), s.replace('-', ""));
        }
        assert_eq!(check_digit("3369345023"), Some(9));
        assert_eq!(check_digit("3050001091"), Some(2));
        assert_eq!(check_digit("2017254359"), Some(7));
    }

    #[test]
    fn accepts_separators() {
        let expected = Cuit::parse("33693450239").unwrap();
        for s in [
            "33-69345023-9",
            "33 69345023 9",
            "33.69345023.9",
            "  33-69345023-9\t",
        ] {
            assert_eq!(Cuit::parse(s).unwrap(), expected);
        }
    }

    #[test]
    fn known_bad_vectors() {
        let rule = |s: &str| Cuit::parse(s).unwrap_err().rule();
        assert_eq!(rule("33-69345023-8"), "check_digit");
        assert_eq!(rule("30-50001091-3"), "check_digit");
        assert_eq!(rule("3369345023"), "format");
        assert_eq!(rule("336934502399"), "format");
        assert_eq!(rule("33-6934502A-9"), "format");
        assert_eq!(rule(""), "format");
        assert_eq!(rule("99-69345023-9"), "prefix");
        assert_eq!(
            Cuit::parse("99-69345023-9"),
            Err(CuitError::Prefix {
                prefix: "99".into()
            })
        );
    }

    #[test]
    fn remainder_one_has_no_check_digit() {
        // 20-00000001-?: sum = 10+2 = 12, 12 % 11 = 1, dv would be 10 → no valid CUIT.
        assert_eq!(check_digit("2000000001"), None);
        assert_eq!(check_digit("200000000"), None);
        assert_eq!(check_digit("20000000a1"), None);
        for d in 0..10 {
            assert_eq!(
                Cuit::parse(&format!("2000000001{d}")).unwrap_err().rule(),
                "check_digit"
            );
        }
    }

    #[test]
    fn serde_goes_through_parse() {
        let c: Cuit = crate::support::de_str("30500010912").unwrap();
        assert_eq!(c.to_string(), "30-50001091-2");
        assert!(crate::support::de_str::<Cuit>("30-50001091-3").is_err());
    }

    proptest! {
        #[test]
        fn only_the_right_check_digit_parses(
            prefix in prop::sample::select(PREFIXES.to_vec()),
            number in 0u32..100_000_000,
        ) {
            let body = format!("{prefix}{number:08}");
            if let Some(dv) = check_digit(&body) {
                let cuit = Cuit::parse(&format!("{body}{dv}")).unwrap();
                prop_assert_eq!(Cuit::parse(&cuit.to_string()), Ok(cuit.clone()));
                prop_assert_eq!(cuit.as_str(), format!("{body}{dv}"));
                for other in (0..10u8).filter(|d| *d != dv) {
                    prop_assert_eq!(
                        Cuit::parse(&format!("{body}{other}")),
                        Err(CuitError::CheckDigit)
                    );
                }
            } else {
                for d in 0..10u8 {
                    let candidate = format!("{body}{d}");
                    prop_assert!(Cuit::parse(&candidate).is_err());
                }
            }
        }
    }
}
