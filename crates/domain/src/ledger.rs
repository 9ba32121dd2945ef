//! Stock ledger rules: movement kinds, signed quantities, count differences and FEFO picking.

use std::cmp::Ordering;

use chrono::NaiveDate;

use crate::qty::Qty;
use crate::support;

str_enum! {
    /// What a stock movement records; decides the sign of its quantity.
    pub enum MovementKind ("Tipo de movimiento") {
        /// Goods received from a supplier (+).
        Receipt = "receipt",
        /// Goods taken out for any non-sale reason: waste, internal use (−).
        Issue = "issue",
        /// Manual correction with an explicit sign (±).
        Adjustment = "adjustment",
        /// Leaving this location towards another (−).
        TransferOut = "transfer_out",
        /// Arriving from another location (+).
        TransferIn = "transfer_in",
        /// Physical count; recorded as the difference against the books (±).
        Count = "count",
        /// Sold at the point of sale (−).
        Sale = "sale",
        /// Returned by a customer (+).
        Return = "return",
    }
}

impl MovementKind {
    /// For messages: the kind with its Spanish article.
    fn with_article(self) -> &'static str {
        match self {
            MovementKind::Receipt => "una recepción",
            MovementKind::Issue => "un egreso",
            MovementKind::Adjustment => "un ajuste",
            MovementKind::TransferOut => "una transferencia saliente",
            MovementKind::TransferIn => "una transferencia entrante",
            MovementKind::Count => "un conteo",
            MovementKind::Sale => "una venta",
            MovementKind::Return => "una devolución",
        }
    }
}

/// Why a movement quantity was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("la cantidad del movimiento no puede ser cero")]
    Zero,
    #[error("{} debe tener cantidad positiva", .kind.with_article())]
    Sign { kind: MovementKind },
    #[error("un conteo se registra con la cantidad contada, no con una diferencia")]
    CountNeedsCountedQuantity,
    #[error("la cantidad contada no puede ser negativa")]
    NegativeCount,
}

impl LedgerError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            LedgerError::Zero => "zero",
            LedgerError::Sign { .. } => "sign",
            LedgerError::CountNeedsCountedQuantity => "count_needs_counted_quantity",
            LedgerError::NegativeCount => "negative",
        }
    }
}

/// The ledger delta for a client request. Clients always send the amount moved (5 for an
/// issue of 5) and the kind decides the sign; only adjustments carry their own sign.
pub fn signed_quantity(kind: MovementKind, requested: Qty) -> Result<Qty, LedgerError> {
    use MovementKind as K;
    if kind == K::Count {
        return Err(LedgerError::CountNeedsCountedQuantity);
    }
    if requested.is_zero() {
        return Err(LedgerError::Zero);
    }
    match kind {
        K::Adjustment => Ok(requested),
        K::Receipt | K::TransferIn | K::Return if requested.is_positive() => Ok(requested),
        K::Issue | K::TransferOut | K::Sale if requested.is_positive() => Ok(-requested),
        _ => Err(LedgerError::Sign { kind }),
    }
}

/// The ledger delta of a physical count: `counted − on_hand` (zero when the books were right).
pub fn count_difference(on_hand: Qty, counted: Qty) -> Result<Qty, LedgerError> {
    if counted.is_negative() {
        return Err(LedgerError::NegativeCount);
    }
    Ok(counted - on_hand)
}

/// Stock of one lot at one location; `lot` is "" for stock without lot tracking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotBalance {
    pub lot: String,
    pub expiry: Option<NaiveDate>,
    pub on_hand: Qty,
}

/// A positive amount to take from one lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotTake {
    pub lot: String,
    pub expiry: Option<NaiveDate>,
    pub qty: Qty,
}

/// Not enough stock across all lots; nothing was allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stock insuficiente: se necesitan {} y hay {} disponibles", .wanted.format_ar(), .available.format_ar())]
pub struct Shortfall {
    pub wanted: Qty,
    pub available: Qty,
}

impl Shortfall {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        "insufficient_stock"
    }
}

/// First-expired-first-out order: dated lots by expiry, undated lots last, ties by lot code.
fn fefo_order(a: &LotBalance, b: &LotBalance) -> Ordering {
    a.expiry
        .is_none()
        .cmp(&b.expiry.is_none())
        .then(a.expiry.cmp(&b.expiry))
        .then_with(|| a.lot.cmp(&b.lot))
}

/// Picks `wanted` from the lots with positive stock, earliest expiry first, so what expires
/// soonest leaves the shelf first. All or nothing: if the lots can't cover `wanted`, returns
/// the [`Shortfall`]. A non-positive `wanted` needs nothing and yields no takes.
pub fn allocate_fefo(lots: &[LotBalance], wanted: Qty) -> Result<Vec<LotTake>, Shortfall> {
    if !wanted.is_positive() {
        return Ok(Vec::new());
    }
    let mut eligible: Vec<&LotBalance> = lots.iter().filter(|l| l.on_hand.is_positive()).collect();
    let available: i128 = eligible.iter().map(|l| i128::from(l.on_hand.milli())).sum();
    if available < i128::from(wanted.milli()) {
        return Err(Shortfall {
            wanted,
            available: Qty::from_milli(support::saturate_i64(available)),
        });
    }
    eligible.sort_by(|a, b| fefo_order(a, b));
    let mut remaining = wanted;
    let mut takes = Vec::new();
    for lot in eligible {
        if !remaining.is_positive() {
            break;
        }
        let qty = remaining.min(lot.on_hand);
        takes.push(LotTake {
            lot: lot.lot.clone(),
            expiry: lot.expiry,
            qty,
        });
        remaining -= qty;
    }
    Ok(takes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    fn lot(code: &str, expiry: Option<NaiveDate>, milli: i64) -> LotBalance {
        LotBalance {
            lot: code.to_owned(),
            expiry,
            on_hand: Qty::from_milli(milli),
        }
    }

    #[test]
    fn signs_follow_the_kind() {
        let five = Qty::units(5);
        assert_eq!(signed_quantity(MovementKind::Receipt, five), Ok(five));
        assert_eq!(signed_quantity(MovementKind::TransferIn, five), Ok(five));
        assert_eq!(signed_quantity(MovementKind::Return, five), Ok(five));
        assert_eq!(signed_quantity(MovementKind::Issue, five), Ok(-five));
        assert_eq!(signed_quantity(MovementKind::TransferOut, five), Ok(-five));
        assert_eq!(signed_quantity(MovementKind::Sale, five), Ok(-five));
        assert_eq!(signed_quantity(MovementKind::Adjustment, five), Ok(five));
        assert_eq!(signed_quantity(MovementKind::Adjustment, -five), Ok(-five));
    }

    #[test]
    fn rejects_bad_quantities() {
        let err = signed_quantity(MovementKind::Receipt, Qty::units(-5)).unwrap_err();
        assert_eq!(err.rule(), "sign");
        assert_eq!(
            err.to_string(),
            "una recepción debe tener cantidad positiva"
        );
        assert_eq!(
            signed_quantity(MovementKind::Issue, Qty::units(-5))
                .unwrap_err()
                .rule(),
            "sign"
        );
        for kind in MovementKind::ALL
            .iter()
            .filter(|k| **k != MovementKind::Count)
        {
            assert_eq!(signed_quantity(*kind, Qty::ZERO), Err(LedgerError::Zero));
        }
        assert_eq!(
            signed_quantity(MovementKind::Count, Qty::units(3))
                .unwrap_err()
                .rule(),
            "count_needs_counted_quantity"
        );
    }

    #[test]
    fn count_differences() {
        assert_eq!(
            count_difference(Qty::units(10), Qty::units(7)),
            Ok(Qty::units(-3))
        );
        assert_eq!(
            count_difference(Qty::units(10), Qty::units(12)),
            Ok(Qty::units(2))
        );
        assert_eq!(
            count_difference(Qty::units(4), Qty::units(4)),
            Ok(Qty::ZERO)
        );
        assert_eq!(
            count_difference(Qty::units(-2), Qty::ZERO),
            Ok(Qty::units(2))
        );
        assert_eq!(
            count_difference(Qty::units(1), Qty::from_milli(-1))
                .unwrap_err()
                .rule(),
            "negative"
        );
    }

    #[test]
    fn movement_kinds_agree_with_serde() {
        for k in MovementKind::ALL {
            assert_eq!(MovementKind::parse(k.as_str()), Ok(*k));
            assert_eq!(
                crate::support::de_str::<MovementKind>(k.as_str()).unwrap(),
                *k
            );
        }
        assert_eq!(MovementKind::ALL.len(), 8);
        assert_eq!(
            MovementKind::parse("transfer_out"),
            Ok(MovementKind::TransferOut)
        );
        assert_eq!(
            MovementKind::parse("robo").unwrap_err().rule(),
            "unknown_value"
        );
    }

    #[test]
    fn fefo_over_two_lots() {
        let lots = [
            lot("B", date(2026, 3, 1), 4_000),
            lot("A", date(2026, 2, 1), 3_000),
        ];
        let takes = allocate_fefo(&lots, Qty::units(5)).unwrap();
        assert_eq!(
            takes,
            vec![
                LotTake {
                    lot: "A".into(),
                    expiry: date(2026, 2, 1),
                    qty: Qty::units(3)
                },
                LotTake {
                    lot: "B".into(),
                    expiry: date(2026, 3, 1),
                    qty: Qty::units(2)
                },
            ]
        );
    }

    #[test]
    fn fefo_ordering_and_edges() {
        let lots = [
            lot("", None, 10_000),
            lot("Z", date(2026, 5, 1), 1_000),
            lot("Y", date(2026, 5, 1), 1_000),
            lot("X", date(2026, 1, 1), 0),
            lot("W", date(2025, 1, 1), -2_000),
        ];
        let takes = allocate_fefo(&lots, Qty::units(3)).unwrap();
        let order: Vec<_> = takes.iter().map(|t| (t.lot.as_str(), t.qty)).collect();
        assert_eq!(
            order,
            [
                ("Y", Qty::units(1)),
                ("Z", Qty::units(1)),
                ("", Qty::units(1))
            ]
        );
        assert_eq!(allocate_fefo(&lots, Qty::ZERO), Ok(vec![]));
        assert_eq!(allocate_fefo(&lots, Qty::units(-1)), Ok(vec![]));
        let short = allocate_fefo(&lots, Qty::units(13)).unwrap_err();
        assert_eq!(
            short,
            Shortfall {
                wanted: Qty::units(13),
                available: Qty::units(12)
            }
        );
        assert_eq!(short.rule(), "insufficient_stock");
        assert_eq!(
            short.to_string(),
            "stock insuficiente: se necesitan 13 y hay 12 disponibles"
        );
        assert_eq!(
            allocate_fefo(&[], Qty::units(1)).unwrap_err().available,
            Qty::ZERO
        );
    }

    fn lots_strategy() -> impl Strategy<Value = Vec<LotBalance>> {
        prop::collection::vec((prop::option::of(0u32..6), -2_000i64..10_000), 0..8).prop_map(
            |specs| {
                specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (day, milli))| LotBalance {
                        // Codes in reverse of index so input order and code order differ.
                        lot: format!("L{:02}", 99 - i),
                        expiry: day.and_then(|d| NaiveDate::from_ymd_opt(2026, 1, 1 + d)),
                        on_hand: Qty::from_milli(milli),
                    })
                    .collect()
            },
        )
    }

    proptest! {
        #[test]
        fn fefo_properties(lots in lots_strategy(), wanted_milli in 1i64..40_000) {
            let wanted = Qty::from_milli(wanted_milli);
            let available: Qty = lots.iter().filter(|l| l.on_hand.is_positive()).map(|l| l.on_hand).sum();
            match allocate_fefo(&lots, wanted) {
                Err(short) => {
                    prop_assert!(available < wanted);
                    prop_assert_eq!(short, Shortfall { wanted, available });
                }
                Ok(takes) => {
                    prop_assert!(available >= wanted);
                    prop_assert_eq!(takes.iter().map(|t| t.qty).sum::<Qty>(), wanted);
                    for t in &takes {
                        let source = lots.iter().find(|l| l.lot == t.lot).unwrap();
                        prop_assert!(t.qty.is_positive());
                        prop_assert!(t.qty <= source.on_hand, "over-took lot {}", t.lot);
                        prop_assert_eq!(t.expiry, source.expiry);
                    }
                    // Takes come out in FEFO order…
                    for pair in takes.windows(2) {
                        let key = |t: &LotTake| (t.expiry.is_none(), t.expiry, t.lot.clone());
                        prop_assert!(key(&pair[0]) < key(&pair[1]));
                    }
                    // …and no lot that expires earlier is left with stock while a later one is used.
                    let last = takes.last().unwrap();
                    let last_key = (last.expiry.is_none(), last.expiry, last.lot.clone());
                    for l in lots.iter().filter(|l| l.on_hand.is_positive()) {
                        let key = (l.expiry.is_none(), l.expiry, l.lot.clone());
                        let taken = takes.iter().find(|t| t.lot == l.lot).map(|t| t.qty);
                        if key < last_key {
                            prop_assert_eq!(taken, Some(l.on_hand));
                        } else if key > last_key {
                            prop_assert_eq!(taken, None);
                        }
                    }
                }
            }
        }
    }
}
