//! Catalog vocabularies: IVA rates, units of measure, location kinds and IVA conditions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::money::Money;
use crate::qty::Qty;
use crate::support;

/// Longest echo of a rejected value kept in a message, so a huge input can't bloat a response.
const MAX_ECHO: usize = 40;

/// A value outside a closed vocabulary, or a quantity the unit of measure can't hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("{what}: «{value}» no es un valor válido; valores permitidos: {allowed}")]
    UnknownValue {
        what: &'static str,
        value: String,
        allowed: String,
    },
    #[error("la cantidad {} no es entera; este producto se maneja por unidad", .qty.format_ar())]
    WholeUnitsOnly { qty: Qty },
}

impl CatalogError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            CatalogError::UnknownValue { .. } => "unknown_value",
            CatalogError::WholeUnitsOnly { .. } => "whole_units_only",
        }
    }

    pub(crate) fn unknown<'a>(
        what: &'static str,
        value: &str,
        allowed: impl Iterator<Item = &'a str>,
    ) -> CatalogError {
        CatalogError::UnknownValue {
            what,
            value: value.chars().take(MAX_ECHO).collect(),
            allowed: allowed.collect::<Vec<_>>().join(", "),
        }
    }
}

/// IVA rate of a product. Serialized as the percentage ("0", "10.5", "21", "27") because that
/// is how it is printed on invoices and typed by users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VatRate {
    /// 0 %: exempt goods.
    Zero,
    /// 10.5 %: basic foods such as meat, fruit and vegetables.
    Reduced,
    /// 21 %: the general rate.
    General,
    /// 27 %: utilities sold to businesses.
    Increased,
}

impl VatRate {
    pub const ALL: &'static [VatRate] = &[
        VatRate::Zero,
        VatRate::Reduced,
        VatRate::General,
        VatRate::Increased,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            VatRate::Zero => "0",
            VatRate::Reduced => "10.5",
            VatRate::General => "21",
            VatRate::Increased => "27",
        }
    }

    /// The rate in hundredths of a percent (21 % → 2100), for integer arithmetic.
    pub const fn basis_points(self) -> i64 {
        match self {
            VatRate::Zero => 0,
            VatRate::Reduced => 1050,
            VatRate::General => 2100,
            VatRate::Increased => 2700,
        }
    }

    /// Accepts the percentage with '.' or ',' and optional trailing zeros or '%':
    /// "10.5", "10,5", "21.0", "0.00", "27 %".
    pub fn parse(s: &str) -> Result<VatRate, CatalogError> {
        let trimmed = s.trim();
        let number = trimmed.trim_end_matches('%').replace(',', ".");
        support::parse_fixed(&number, 2)
            .ok()
            .and_then(|bp| Self::ALL.iter().copied().find(|r| r.basis_points() == bp))
            .ok_or_else(|| {
                CatalogError::unknown(
                    "Alícuota de IVA",
                    trimmed,
                    Self::ALL.iter().map(|r| r.as_str()),
                )
            })
    }

    /// Splits an IVA-included amount into (net, IVA). The net is rounded half away from zero
    /// to the centavo and the IVA is the remainder, so `net + iva == gross` exactly and the
    /// invoice always adds up.
    pub fn split_gross(self, gross: Money) -> (Money, Money) {
        let bp = i128::from(self.basis_points());
        let net = support::div_round_half_away(i128::from(gross.minor()) * 10_000, 10_000 + bp);
        // |net| <= |gross| because the divisor is at least 10 000, so this never falls back.
        let net = i64::try_from(net).unwrap_or(gross.minor());
        let net = Money::from_minor(net);
        (net, gross - net)
    }
}

impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VatRate {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for VatRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VatRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, VatRate::parse)
    }
}

str_enum! {
    /// How a product is counted and sold.
    pub enum UnitOfMeasure ("Unidad de medida") {
        /// Whole pieces.
        Unit = "unit",
        /// Kilograms; quantities in grams.
        Kg = "kg",
        /// Litres; quantities in millilitres.
        L = "l",
    }
}

impl UnitOfMeasure {
    /// Whether quantities may have decimals (weighed or measured goods).
    pub const fn allows_fraction(self) -> bool {
        !matches!(self, UnitOfMeasure::Unit)
    }

    /// Rejects fractional quantities for products sold by the unit.
    pub fn check_qty(self, q: Qty) -> Result<(), CatalogError> {
        if self.allows_fraction() || q.is_whole() {
            Ok(())
        } else {
            Err(CatalogError::WholeUnitsOnly { qty: q })
        }
    }
}

str_enum! {
    /// Where stock lives.
    pub enum LocationKind ("Tipo de ubicación") {
        Warehouse = "warehouse",
        Store = "store",
    }
}

str_enum! {
    /// A customer's or supplier's standing before AFIP; decides the invoice letter.
    pub enum VatCondition ("Condición frente al IVA") {
        ResponsableInscripto = "responsable_inscripto",
        Monotributo = "monotributo",
        Exento = "exento",
        ConsumidorFinal = "consumidor_final",
    }
}

impl VatCondition {
    /// The name as printed on invoices.
    pub const fn label_es(self) -> &'static str {
        match self {
            VatCondition::ResponsableInscripto => "Responsable Inscripto",
            VatCondition::Monotributo => "Monotributo",
            VatCondition::Exento => "Exento",
            VatCondition::ConsumidorFinal => "Consumidor Final",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::support::de_str;
    use proptest::prelude::*;

    #[test]
    fn vat_rate_parsing() {
        for (s, r) in [
            ("0", VatRate::Zero),
            ("0.00", VatRate::Zero),
            ("10.5", VatRate::Reduced),
            ("10,5", VatRate::Reduced),
            ("10.50", VatRate::Reduced),
            ("21", VatRate::General),
            ("21.0", VatRate::General),
            (" 27 % ", VatRate::Increased),
        ] {
            assert_eq!(VatRate::parse(s), Ok(r), "{s}");
        }
        let err = VatRate::parse("19").unwrap_err();
        assert_eq!(err.rule(), "unknown_value");
        assert_eq!(
            err.to_string(),
            "Alícuota de IVA: «19» no es un valor válido; valores permitidos: 0, 10.5, 21, 27"
        );
        assert!(VatRate::parse("").is_err());
        assert!(VatRate::parse("21.000").is_err());
        for r in VatRate::ALL {
            assert_eq!(VatRate::parse(r.as_str()), Ok(*r));
            assert_eq!(de_str::<VatRate>(r.as_str()).unwrap(), *r);
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(
            VatRate::ALL
                .iter()
                .map(|r| r.basis_points())
                .collect::<Vec<_>>(),
            [0, 1050, 2100, 2700]
        );
    }

    #[test]
    fn split_gross_examples() {
        // $ 121,00 at 21 % → $ 100,00 + $ 21,00
        assert_eq!(
            VatRate::General.split_gross(Money::from_minor(12_100)),
            (Money::from_minor(10_000), Money::from_minor(2_100))
        );
        // $ 1,00 at 21 %: 0,8264… → 0,83 net, 0,17 IVA
        assert_eq!(
            VatRate::General.split_gross(Money::from_minor(100)),
            (Money::from_minor(83), Money::from_minor(17))
        );
        // Refunds mirror sales.
        assert_eq!(
            VatRate::General.split_gross(Money::from_minor(-100)),
            (Money::from_minor(-83), Money::from_minor(-17))
        );
        assert_eq!(
            VatRate::Zero.split_gross(Money::from_minor(999)),
            (Money::from_minor(999), Money::ZERO)
        );
    }

    #[test]
    fn unit_of_measure() {
        assert!(!UnitOfMeasure::Unit.allows_fraction());
        assert!(UnitOfMeasure::Kg.allows_fraction());
        assert!(UnitOfMeasure::L.allows_fraction());
        assert_eq!(UnitOfMeasure::Unit.check_qty(Qty::units(3)), Ok(()));
        let err = UnitOfMeasure::Unit
            .check_qty(Qty::from_milli(1_500))
            .unwrap_err();
        assert_eq!(err.rule(), "whole_units_only");
        assert_eq!(
            err.to_string(),
            "la cantidad 1,5 no es entera; este producto se maneja por unidad"
        );
        assert_eq!(UnitOfMeasure::Kg.check_qty(Qty::from_milli(1_500)), Ok(()));
    }

    #[test]
    fn string_enums_agree_with_serde() {
        for u in UnitOfMeasure::ALL {
            assert_eq!(UnitOfMeasure::parse(u.as_str()), Ok(*u));
            assert_eq!(de_str::<UnitOfMeasure>(u.as_str()).unwrap(), *u);
        }
        for k in LocationKind::ALL {
            assert_eq!(LocationKind::parse(k.as_str()), Ok(*k));
            assert_eq!(de_str::<LocationKind>(k.as_str()).unwrap(), *k);
        }
        for c in VatCondition::ALL {
            assert_eq!(VatCondition::parse(c.as_str()), Ok(*c));
            assert_eq!(de_str::<VatCondition>(c.as_str()).unwrap(), *c);
        }
        assert_eq!(UnitOfMeasure::parse(" KG "), Ok(UnitOfMeasure::Kg));
        assert_eq!("l".parse::<UnitOfMeasure>(), Ok(UnitOfMeasure::L));
        assert_eq!(VatCondition::ConsumidorFinal.label_es(), "Consumidor Final");
        assert_eq!(
            VatCondition::ResponsableInscripto.to_string(),
            "responsable_inscripto"
        );
        let err = LocationKind::parse("garage").unwrap_err();
        assert_eq!(err.rule(), "unknown_value");
        assert!(err.to_string().contains("warehouse, store"));
    }

    proptest! {
        #[test]
        fn split_gross_adds_up(
            gross in -10_000_000_000_000i64..10_000_000_000_000,
            rate in prop::sample::select(VatRate::ALL.to_vec()),
        ) {
            let (net, vat) = rate.split_gross(Money::from_minor(gross));
            prop_assert_eq!(net + vat, Money::from_minor(gross));
            // vat ≈ gross·bp/(10000+bp) within one centavo (in fact within half).
            let bp = i128::from(rate.basis_points());
            let exact_times_divisor = i128::from(gross) * bp;
            let got_times_divisor = i128::from(vat.minor()) * (10_000 + bp);
            prop_assert!((got_times_divisor - exact_times_divisor).abs() <= 10_000 + bp);
            prop_assert!(2 * (got_times_divisor - exact_times_divisor).abs() <= 10_000 + bp);
        }
    }
}
