//! Purchasing rules: purchase-order lifecycle and weighted average cost on receipt.

use crate::money::Money;
use crate::qty::Qty;
use crate::support;

str_enum! {
    /// Where a purchase order stands.
    pub enum PoStatus ("Estado de la orden de compra") {
        /// Being prepared; not yet sent to the supplier.
        Draft = "draft",
        /// Sent to the supplier; waiting for goods.
        Sent = "sent",
        /// Some goods arrived, not all.
        PartiallyReceived = "partially_received",
        /// Everything ordered arrived (final).
        Received = "received",
        /// Called off (final).
        Cancelled = "cancelled",
    }
}

impl PoStatus {
    /// Whether an order in this status may move to `next`: draft → sent | cancelled;
    /// sent → partially_received | received | cancelled; partially_received →
    /// partially_received | received | cancelled; received and cancelled are final.
    pub fn can_become(self, next: PoStatus) -> bool {
        use PoStatus as S;
        matches!(
            (self, next),
            (S::Draft, S::Sent | S::Cancelled)
                | (
                    S::Sent | S::PartiallyReceived,
                    S::PartiallyReceived | S::Received | S::Cancelled
                )
        )
    }

    /// Whether goods may be received against the order (sent or partially received).
    pub fn accepts_receipts(self) -> bool {
        matches!(self, PoStatus::Sent | PoStatus::PartiallyReceived)
    }
}

/// The status after a receipt, from each line's `(ordered, received so far)`: Received when
/// every line has received at least what was ordered, PartiallyReceived when anything was
/// received, else Sent. An order without lines stays Sent.
pub fn status_after_receipt(lines: &[(Qty, Qty)]) -> PoStatus {
    if lines.is_empty() {
        return PoStatus::Sent;
    }
    if lines.iter().all(|(ordered, received)| received >= ordered) {
        PoStatus::Received
    } else if lines.iter().any(|(_, received)| received.is_positive()) {
        PoStatus::PartiallyReceived
    } else {
        PoStatus::Sent
    }
}

/// Weighted average unit cost after receiving `received` at `cost` onto `on_hand` valued at
/// `current` (company-wide stock): `(on_hand × current + received × cost) / (on_hand +
/// received)`, in i128 and rounded half away from zero to the centavo.
///
/// With nothing (or negative stock) on hand the new cost is `cost`; a non-positive `received`
/// leaves `current` unchanged.
pub fn weighted_average_cost(on_hand: Qty, current: Money, received: Qty, cost: Money) -> Money {
    if !on_hand.is_positive() {
        return cost;
    }
    if !received.is_positive() {
        return current;
    }
    let (oh, rc) = (i128::from(on_hand.milli()), i128::from(received.milli()));
    let value = oh * i128::from(current.minor()) + rc * i128::from(cost.minor());
    // A weighted mean lies between `current` and `cost`, so it always fits in i64.
    Money::from_minor(support::saturate_i64(support::div_round_half_away(
        value,
        oh + rc,
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::support::de_str;
    use proptest::prelude::*;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    #[test]
    fn transitions() {
        use PoStatus as S;
        let allowed = [
            (S::Draft, S::Sent),
            (S::Draft, S::Cancelled),
            (S::Sent, S::PartiallyReceived),
            (S::Sent, S::Received),
            (S::Sent, S::Cancelled),
            (S::PartiallyReceived, S::PartiallyReceived),
            (S::PartiallyReceived, S::Received),
            (S::PartiallyReceived, S::Cancelled),
        ];
        for &from in S::ALL {
            for &to in S::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
        let accepting: Vec<_> = S::ALL
            .iter()
            .copied()
            .filter(|s| s.accepts_receipts())
            .collect();
        assert_eq!(accepting, [S::Sent, S::PartiallyReceived]);
    }

    #[test]
    fn wire_names() {
        let names: Vec<_> = PoStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "draft",
                "sent",
                "partially_received",
                "received",
                "cancelled"
            ]
        );
        for s in PoStatus::ALL {
            assert_eq!(PoStatus::parse(s.as_str()), Ok(*s));
            assert_eq!(de_str::<PoStatus>(s.as_str()).unwrap(), *s);
        }
        assert_eq!(PoStatus::parse("open").unwrap_err().rule(), "unknown_value");
    }

    #[test]
    fn status_after_receipts() {
        let u = Qty::units;
        assert_eq!(
            status_after_receipt(&[(u(10), u(0)), (u(5), u(0))]),
            PoStatus::Sent
        );
        assert_eq!(
            status_after_receipt(&[(u(10), u(4)), (u(5), u(0))]),
            PoStatus::PartiallyReceived
        );
        assert_eq!(
            status_after_receipt(&[(u(10), u(10)), (u(5), u(4))]),
            PoStatus::PartiallyReceived
        );
        assert_eq!(
            status_after_receipt(&[(u(10), u(10)), (u(5), u(5))]),
            PoStatus::Received
        );
        // Over-delivery still closes the order.
        assert_eq!(
            status_after_receipt(&[(u(10), u(12)), (u(5), u(5))]),
            PoStatus::Received
        );
        assert_eq!(
            status_after_receipt(&[(Qty::from_milli(1_500), Qty::from_milli(1_499))]),
            PoStatus::PartiallyReceived
        );
        assert_eq!(status_after_receipt(&[]), PoStatus::Sent);
    }

    #[test]
    fn weighted_average_examples() {
        // 10 @ 100.00 + 10 @ 120.00 → 110.00
        assert_eq!(
            weighted_average_cost(Qty::units(10), m(10_000), Qty::units(10), m(12_000)),
            m(11_000)
        );
        // Nothing (or negative stock) on hand → the new cost.
        assert_eq!(
            weighted_average_cost(Qty::ZERO, m(10_000), Qty::units(5), m(12_345)),
            m(12_345)
        );
        assert_eq!(
            weighted_average_cost(Qty::units(-3), m(10_000), Qty::units(5), m(12_345)),
            m(12_345)
        );
        // Nothing received → unchanged.
        assert_eq!(
            weighted_average_cost(Qty::units(3), m(10_000), Qty::ZERO, m(12_345)),
            m(10_000)
        );
        // 1 @ 10.00 + 1 @ 10.01 = 10.005 → 10.01 (half away from zero).
        assert_eq!(
            weighted_average_cost(Qty::units(1), m(1_000), Qty::units(1), m(1_001)),
            m(1_001)
        );
        // 3 @ 10.00 + 1 @ 10.01 = 10.0025 → 10.00.
        assert_eq!(
            weighted_average_cost(Qty::units(3), m(1_000), Qty::units(1), m(1_001)),
            m(1_000)
        );
        // 2,5 kg @ 1.000,00 + 0,750 kg @ 1.300,00 = 3.475,00 / 3,25 = 1.069,2307… → 1.069,23.
        assert_eq!(
            weighted_average_cost(
                Qty::from_milli(2_500),
                m(100_000),
                Qty::from_milli(750),
                m(130_000)
            ),
            m(106_923)
        );
    }

    proptest! {
        #[test]
        fn average_lies_between_the_costs(
            on_hand in 1i64..1_000_000_000,
            current in 0i64..1_000_000_000,
            received in 1i64..1_000_000_000,
            cost in 0i64..1_000_000_000,
        ) {
            let avg = weighted_average_cost(
                Qty::from_milli(on_hand),
                m(current),
                Qty::from_milli(received),
                m(cost),
            );
            prop_assert!(avg >= m(current.min(cost)) && avg <= m(current.max(cost)));
            // Within half a centavo of the exact value.
            let total = i128::from(on_hand) + i128::from(received);
            let exact = i128::from(on_hand) * i128::from(current) + i128::from(received) * i128::from(cost);
            prop_assert!(2 * (i128::from(avg.minor()) * total - exact).abs() <= total);
        }

        #[test]
        fn status_is_consistent(
            lines in prop::collection::vec((0i64..10_000, 0i64..10_000), 1..6),
        ) {
            let lines: Vec<(Qty, Qty)> = lines
                .into_iter()
                .map(|(o, r)| (Qty::from_milli(o), Qty::from_milli(r)))
                .collect();
            let status = status_after_receipt(&lines);
            prop_assert!(status.accepts_receipts() || status == PoStatus::Received);
            prop_assert!(PoStatus::Sent.can_become(status) || status == PoStatus::Sent);
        }
    }
}
