//! Gtin: GS1 barcodes (EAN-13, EAN-8, UPC-A) with the mod-10 check digit verified.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::support;

/// Which symbology the digits belong to; follows from the length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GtinKind {
    /// 13 digits: the usual retail barcode in Argentina (prefix 779).
    Ean13,
    /// 8 digits: small packages.
    Ean8,
    /// 12 digits: US/Canada products.
    UpcA,
}

impl GtinKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            GtinKind::Ean13 => "ean13",
            GtinKind::Ean8 => "ean8",
            GtinKind::UpcA => "upc_a",
        }
    }

    const fn from_len(len: usize) -> Option<GtinKind> {
        match len {
            13 => Some(GtinKind::Ean13),
            8 => Some(GtinKind::Ean8),
            12 => Some(GtinKind::UpcA),
            _ => None,
        }
    }
}

/// A barcode whose length and check digit are valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin {
    digits: String,
    kind: GtinKind,
}

/// Why a barcode was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    #[error("el código de barras solo admite dígitos")]
    Format,
    #[error("el código de barras debe tener {expected} dígitos (tiene {len})")]
    Length { len: usize, expected: &'static str },
    #[error("el dígito verificador del código de barras no es válido")]
    CheckDigit,
}

impl GtinError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            GtinError::Format => "format",
            GtinError::Length { .. } => "length",
            GtinError::CheckDigit => "check_digit",
        }
    }
}

/// The GS1 check digit for `body` (every digit but the last): weights 3, 1, 3, … from the
/// right. `None` when `body` is empty or not all ASCII digits.
pub fn compute_check_digit(body: &str) -> Option<u8> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum = body.bytes().rev().enumerate().fold(0u8, |acc, (i, b)| {
        let weight = if i % 2 == 0 { 3 } else { 1 };
        (acc + (b - b'0') * weight) % 10
    });
    Some((10 - sum) % 10)
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

impl Gtin {
    /// Accepts 8, 12 or 13 digits (surrounding whitespace trimmed) with a valid check digit.
    pub fn parse(s: &str) -> Result<Gtin, GtinError> {
        let digits = s.trim();
        if !all_digits(digits) {
            return Err(GtinError::Format);
        }
        let kind = GtinKind::from_len(digits.len()).ok_or(GtinError::Length {
            len: digits.len(),
            expected: "8, 12 o 13",
        })?;
        let (body, last) = digits.split_at(digits.len() - 1);
        match compute_check_digit(body) {
            Some(dv) if last.as_bytes() == [b'0' + dv] => Ok(Gtin {
                digits: digits.to_owned(),
                kind,
            }),
            _ => Err(GtinError::CheckDigit),
        }
    }

    /// Completes a 7, 11 or 12 digit body with its check digit (to mint in-store barcodes).
    pub fn from_body(body: &str) -> Result<Gtin, GtinError> {
        let body = body.trim();
        if !all_digits(body) {
            return Err(GtinError::Format);
        }
        if !matches!(body.len(), 7 | 11 | 12) {
            return Err(GtinError::Length {
                len: body.len(),
                expected: "7, 11 o 12",
            });
        }
        let dv = compute_check_digit(body).ok_or(GtinError::Format)?;
        Gtin::parse(&format!("{body}{dv}"))
    }

    /// The digits, check digit included.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn kind(&self) -> GtinKind {
        self.kind
    }

    /// True for an EAN-13 whose first two digits fall in `prefixes` (GS1 reserves 20..=29
    /// for in-store use, e.g. price- or weight-embedded scale labels).
    pub fn is_scale_prefix(&self, prefixes: RangeInclusive<u8>) -> bool {
        if self.kind != GtinKind::Ean13 {
            return false;
        }
        self.digits
            .get(..2)
            .and_then(|p| p.parse::<u8>().ok())
            .is_some_and(|p| prefixes.contains(&p))
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl FromStr for Gtin {
    type Err = GtinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Gtin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.digits)
    }
}

impl<'de> Deserialize<'de> for Gtin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, Gtin::parse)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each vector from the brief was re-computed with the GS1 algorithm and is valid.
    #[test]
    fn known_good_vectors() {
        for (s, kind) in [
            ("7790895000997", GtinKind::Ean13),
            ("4006381333931", GtinKind::Ean13),
            ("73513537", GtinKind::Ean8),
            ("036000291452", GtinKind::UpcA),
        ] {
            let g = Gtin::parse(s).unwrap();
            assert_eq!(g.kind(), kind);
            assert_eq!(g.as_str(), s);
            assert_eq!(g.to_string(), s);
        }
        assert_eq!(compute_check_digit("779089500099"), Some(7));
        assert_eq!(compute_check_digit("400638133393"), Some(1));
        assert_eq!(compute_check_digit("7351353"), Some(7));
        assert_eq!(compute_check_digit("03600029145"), Some(2));
        assert_eq!(
            Gtin::parse(" 7790895000997\n").unwrap().as_str(),
            "7790895000997"
        );
    }

    #[test]
    fn known_bad_vectors() {
        let rule = |s: &str| Gtin::parse(s).unwrap_err().rule();
        assert_eq!(rule("7790895000998"), "check_digit");
        assert_eq!(rule("73513530"), "check_digit");
        assert_eq!(rule("036000291453"), "check_digit");
        assert_eq!(rule("779089500099"), "check_digit"); // 12 digits: read as UPC-A
        assert_eq!(rule("77908950009970"), "length");
        assert_eq!(rule("1234567"), "length");
        assert_eq!(rule(""), "length");
        assert_eq!(rule("77908950009A7"), "format");
        assert_eq!(rule("7790-895000997"), "format");
        assert_eq!(compute_check_digit(""), None);
        assert_eq!(compute_check_digit("12a"), None);
    }

    #[test]
    fn from_body_appends_check_digit() {
        assert_eq!(
            Gtin::from_body("779089500099").unwrap().as_str(),
            "7790895000997"
        );
        assert_eq!(Gtin::from_body("7351353").unwrap().kind(), GtinKind::Ean8);
        assert_eq!(
            Gtin::from_body("03600029145").unwrap().kind(),
            GtinKind::UpcA
        );
        assert_eq!(Gtin::from_body("12345678").unwrap_err().rule(), "length");
        assert_eq!(Gtin::from_body("12x4567").unwrap_err().rule(), "format");
    }

    #[test]
    fn scale_prefix() {
        let scale = Gtin::from_body("201234500150").unwrap();
        assert!(scale.is_scale_prefix(20..=29));
        assert!(!scale.is_scale_prefix(21..=29));
        assert!(
            !Gtin::parse("7790895000997")
                .unwrap()
                .is_scale_prefix(20..=29)
        );
        // An EAN-8 or UPC-A starting with 2 is not a scale label.
        assert!(!Gtin::from_body("2012345").unwrap().is_scale_prefix(20..=29));
        assert!(
            !Gtin::from_body("20123450015")
                .unwrap()
                .is_scale_prefix(20..=29)
        );
    }

    #[test]
    fn serde_goes_through_parse() {
        let g: Gtin = crate::support::de_str("73513537").unwrap();
        assert_eq!(g.kind(), GtinKind::Ean8);
        assert!(crate::support::de_str::<Gtin>("73513538").is_err());
        assert_eq!(
            crate::support::de_str::<GtinKind>("upc_a").unwrap(),
            GtinKind::UpcA
        );
        for k in [GtinKind::Ean13, GtinKind::Ean8, GtinKind::UpcA] {
            assert_eq!(crate::support::de_str::<GtinKind>(k.as_str()).unwrap(), k);
        }
    }

    fn digits(len: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(0u8..10, len)
            .prop_map(|ds| ds.into_iter().map(|d| char::from(b'0' + d)).collect())
    }

    /// GS1 mod 10 detects every single-digit substitution, check digit included.
    fn every_single_digit_error_is_caught(body: &str) -> Result<(), TestCaseError> {
        let gtin = Gtin::from_body(body).unwrap();
        prop_assert_eq!(Gtin::parse(gtin.as_str()), Ok(gtin.clone()));
        let bytes = gtin.as_str().as_bytes();
        for (pos, &original) in bytes.iter().enumerate() {
            for d in b'0'..=b'9' {
                if d == original {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[pos] = d;
                let changed = String::from_utf8(changed).unwrap();
                prop_assert_eq!(Gtin::parse(&changed), Err(GtinError::CheckDigit));
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn ean13_detects_single_digit_errors(body in digits(12)) {
            every_single_digit_error_is_caught(&body)?;
        }

        #[test]
        fn upca_detects_single_digit_errors(body in digits(11)) {
            every_single_digit_error_is_caught(&body)?;
        }

        #[test]
        fn ean8_detects_single_digit_errors(body in digits(7)) {
            every_single_digit_error_is_caught(&body)?;
        }
    }
}
