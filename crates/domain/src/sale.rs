//! Point-of-sale rules: ticket maths with discounts and IVA, payments and change, refunds,
//! and the price- or weight-embedded EAN-13 labels printed by shop scales.
//!
//! Argentine consumer prices include IVA, so every amount here is IVA-included and the net/IVA
//! split is derived per line with [`VatRate::split_gross`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::VatRate;
use crate::gtin::{Gtin, GtinKind};
use crate::money::Money;
use crate::qty::Qty;
use crate::support::{self, FixedError};

/// Longest echo of a rejected input kept in a message, so a huge input can't bloat a response.
const MAX_ECHO: usize = 40;

/// 100 % in basis points.
const FULL_BP: i64 = 10_000;

/// Why a ticket, payment, refund or scale label was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleError {
    #[error(
        "el descuento «{input}» no tiene un formato válido; use un porcentaje como 10% o 10,5% \
         o un importe como 150.00"
    )]
    Format { input: String },
    #[error("el descuento debe ser un porcentaje entre 0 % y 100 % o un importe no negativo")]
    DiscountRange,
    #[error("el precio unitario no puede ser negativo ({})", .price.format_ar())]
    NegativePrice { price: Money },
    #[error("los importes de la operación están fuera del rango permitido")]
    Overflow,
    #[error(
        "el descuento de {} supera el importe de {} sobre el que se aplica",
        .discount.format_ar(),
        .base.format_ar()
    )]
    DiscountExceeds { discount: Money, base: Money },
    #[error("la venta no tiene renglones")]
    Empty,
    #[error("la cantidad debe ser mayor que cero (se indicó {})", .qty.format_ar())]
    Quantity { qty: Qty },
    #[error("cada pago debe ser mayor que cero (se indicó {})", .amount.format_ar())]
    Amount { amount: Money },
    #[error("el total a cobrar no puede ser negativo ({})", .total.format_ar())]
    NegativeTotal { total: Money },
    #[error(
        "faltan {} para cubrir el total de {}",
        .missing.format_ar(),
        .total.format_ar()
    )]
    PaymentsShort { missing: Money, total: Money },
    #[error(
        "los pagos superan el total en {} pero solo el efectivo da vuelto y se entregaron {} en \
         efectivo",
        .change.format_ar(),
        .cash.format_ar()
    )]
    OverpaidNonCash { change: Money, cash: Money },
    #[error(
        "se quieren devolver {} pero quedan {} sin devolver",
        .returning.format_ar(),
        .remaining.format_ar()
    )]
    ReturnExceeds { returning: Qty, remaining: Qty },
    #[error(
        "lo ya reintegrado ({}) no puede ser negativo ni superar el total del renglón ({})",
        .refunded.format_ar(),
        .line_total.format_ar()
    )]
    RefundedBefore { refunded: Money, line_total: Money },
    #[error("regla de balanza inválida: {reason}")]
    ScaleRule { reason: &'static str },
    #[error("{what} debe estar entre 0 y {max} (se indicó {value})")]
    ScaleValue {
        what: &'static str,
        value: i64,
        max: i64,
    },
}

impl SaleError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            SaleError::Format { .. } => "format",
            SaleError::DiscountRange
            | SaleError::NegativePrice { .. }
            | SaleError::Overflow
            | SaleError::NegativeTotal { .. }
            | SaleError::RefundedBefore { .. }
            | SaleError::ScaleValue { .. } => "range",
            SaleError::DiscountExceeds { .. } => "discount_exceeds",
            SaleError::Empty => "empty",
            SaleError::Quantity { .. } => "quantity",
            SaleError::Amount { .. } => "amount",
            SaleError::PaymentsShort { .. } => "payments_short",
            SaleError::OverpaidNonCash { .. } => "overpaid_non_cash",
            SaleError::ReturnExceeds { .. } => "return_exceeds",
            SaleError::ScaleRule { .. } => "scale_rule",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Discounts and ticket pricing
// ---------------------------------------------------------------------------------------------

/// A discount on a line or on the whole ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discount {
    /// Basis points of the amount, 0..=10000 (10.5 % = 1050).
    Percent(i64),
    /// A fixed amount, at most the amount it applies to.
    Amount(Money),
}

impl Discount {
    /// Parses what a cashier types: "10%", "10.5%", "10,5 %" are percentages (at most 2
    /// decimals); "150", "150.00", "150,5" and "$ 150" are amounts. Negative values and more
    /// than 100 % are rule "range"; anything else is rule "format".
    pub fn parse(s: &str) -> Result<Discount, SaleError> {
        let trimmed = s.trim();
        let format = || SaleError::Format {
            input: trimmed.chars().take(MAX_ECHO).collect(),
        };
        let classify = |e: FixedError| match e {
            FixedError::Range => SaleError::DiscountRange,
            FixedError::Empty | FixedError::Format | FixedError::TooManyDecimals => format(),
        };
        if let Some(number) = trimmed.strip_suffix('%') {
            let number = number.trim_end().replace(',', ".");
            let bp = support::parse_fixed(&number, 2).map_err(classify)?;
            let d = Discount::Percent(bp);
            d.check()?;
            Ok(d)
        } else {
            let number = trimmed
                .strip_prefix('$')
                .map_or(trimmed, str::trim_start)
                .replace(',', ".");
            let minor = support::parse_fixed(&number, 2).map_err(classify)?;
            let d = Discount::Amount(Money::from_minor(minor));
            d.check()?;
            Ok(d)
        }
    }

    fn check(self) -> Result<(), SaleError> {
        let ok = match self {
            Discount::Percent(bp) => (0..=FULL_BP).contains(&bp),
            Discount::Amount(m) => !m.is_negative(),
        };
        if ok {
            Ok(())
        } else {
            Err(SaleError::DiscountRange)
        }
    }

    /// The amount taken off a non-negative `base`: a percentage rounded half away from zero
    /// to the centavo, or the fixed amount if it does not exceed `base`.
    fn amount_off(self, base: Money) -> Result<Money, SaleError> {
        self.check()?;
        match self {
            Discount::Percent(bp) => {
                let off = support::div_round_half_away(
                    i128::from(base.minor()) * i128::from(bp),
                    i128::from(FULL_BP),
                );
                // bp <= 100 %, so |off| <= |base| and the conversion cannot fail.
                Ok(Money::from_minor(support::saturate_i64(off)))
            }
            Discount::Amount(amount) if amount > base => Err(SaleError::DiscountExceeds {
                discount: amount,
                base,
            }),
            Discount::Amount(amount) => Ok(amount),
        }
    }
}

/// One ticket line as entered at the till; `unit_price` includes IVA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInput {
    pub unit_price: Money,
    pub quantity: Qty,
    pub vat_rate: VatRate,
    pub discount: Option<Discount>,
}

/// A priced line: `total = gross − line_discount − ticket_discount` and `net + vat = total`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    pub gross: Money,
    pub line_discount: Money,
    /// This line's share of the ticket discount.
    pub ticket_discount: Money,
    pub total: Money,
    pub net: Money,
    pub vat: Money,
    /// Serialized as the percentage string ("21", "10.5").
    pub vat_rate: VatRate,
}

/// Net and IVA of all lines at one rate, as printed on the invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VatBreakdown {
    pub rate: VatRate,
    pub net: Money,
    pub vat: Money,
}

/// A priced ticket; every total is the exact sum of its parts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PricedTicket {
    pub lines: Vec<PricedLine>,
    /// Σ gross.
    pub subtotal: Money,
    /// Σ (line discount + ticket discount share).
    pub discount: Money,
    /// Σ line totals = subtotal − discount.
    pub total: Money,
    /// One entry per rate present, by rate ascending.
    pub vat: Vec<VatBreakdown>,
}

impl PricedTicket {
    /// The total discount in basis points of the subtotal, rounded up, so a limit check
    /// ("cashiers may give at most 10 %") cannot be fooled by rounding. 0 for a zero subtotal.
    pub fn discount_bp(&self) -> i64 {
        let subtotal = i128::from(self.subtotal.minor());
        let discount = i128::from(self.discount.minor());
        if subtotal <= 0 || discount <= 0 {
            return 0;
        }
        let scaled = discount * i128::from(FULL_BP);
        support::saturate_i64((scaled + subtotal - 1) / subtotal)
    }
}

/// Splits `total` (0 ≤ total ≤ Σ weights, weights ≥ 0) proportionally to `weights` with the
/// largest-remainder method: every share is floored, then the centavos left over go one each
/// to the largest remainders, ties to the earlier line. The shares add up to `total` exactly
/// and none exceeds its weight.
fn allocate(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if total <= 0 || sum <= 0 {
        return vec![0; weights.len()];
    }
    let total = i128::from(total);
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let exact = total * i128::from(w);
        shares.push(exact / sum);
        remainders.push((exact % sum, i));
    }
    let leftover = total - shares.iter().sum::<i128>();
    // Largest remainder first; equal remainders keep line order (the sort is stable).
    remainders.sort_by_key(|&(remainder, _)| std::cmp::Reverse(remainder));
    let leftover = usize::try_from(leftover).unwrap_or(0);
    for &(_, i) in remainders.iter().take(leftover) {
        shares[i] += 1;
    }
    shares.into_iter().map(support::saturate_i64).collect()
}

/// Prices a ticket. Line gross = unit price × quantity rounded to the centavo; the line
/// discount comes off the gross; the ticket discount applies to the sum of what is left and
/// is spread over the lines proportionally (largest remainder); each line total is split into
/// net and IVA at its rate.
pub fn price_ticket(
    lines: &[LineInput],
    ticket_discount: Option<Discount>,
) -> Result<PricedTicket, SaleError> {
    if lines.is_empty() {
        return Err(SaleError::Empty);
    }
    let mut staged = Vec::with_capacity(lines.len());
    let mut subtotal = Money::ZERO;
    for line in lines {
        if !line.quantity.is_positive() {
            return Err(SaleError::Quantity { qty: line.quantity });
        }
        if line.unit_price.is_negative() {
            return Err(SaleError::NegativePrice {
                price: line.unit_price,
            });
        }
        let gross = line
            .unit_price
            .checked_times_qty(line.quantity)
            .ok_or(SaleError::Overflow)?;
        subtotal = subtotal.checked_add(gross).ok_or(SaleError::Overflow)?;
        let line_discount = match line.discount {
            Some(d) => d.amount_off(gross)?,
            None => Money::ZERO,
        };
        staged.push((gross, line_discount));
    }
    // 0 <= line discount <= gross, so every base is non-negative and their sum <= subtotal.
    let bases: Vec<i64> = staged.iter().map(|(g, d)| (*g - *d).minor()).collect();
    let base_total = Money::from_minor(bases.iter().sum());
    let ticket_off = match ticket_discount {
        Some(d) => d.amount_off(base_total)?,
        None => Money::ZERO,
    };
    let shares = allocate(ticket_off.minor(), &bases);

    let mut priced = Vec::with_capacity(lines.len());
    let mut by_rate: BTreeMap<VatRate, (Money, Money)> = BTreeMap::new();
    for ((line, (gross, line_discount)), share) in lines.iter().zip(staged).zip(shares) {
        let ticket_discount = Money::from_minor(share);
        let total = gross - line_discount - ticket_discount;
        let (net, vat) = line.vat_rate.split_gross(total);
        let entry = by_rate
            .entry(line.vat_rate)
            .or_insert((Money::ZERO, Money::ZERO));
        entry.0 += net;
        entry.1 += vat;
        priced.push(PricedLine {
            gross,
            line_discount,
            ticket_discount,
            total,
            net,
            vat,
            vat_rate: line.vat_rate,
        });
    }
    let total: Money = priced.iter().map(|l| l.total).sum();
    Ok(PricedTicket {
        lines: priced,
        subtotal,
        discount: subtotal - total,
        total,
        vat: by_rate
            .into_iter()
            .map(|(rate, (net, vat))| VatBreakdown { rate, net, vat })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Payments and refunds
// ---------------------------------------------------------------------------------------------

str_enum! {
    /// How a customer pays.
    pub enum PaymentMethod ("Medio de pago") {
        /// Notes and coins; the only method that gives change.
        Cash = "cash",
        Debit = "debit",
        Credit = "credit",
        /// Bank transfer, including QR wallets (Mercado Pago, MODO).
        Transfer = "transfer",
    }
}

/// One payment towards a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub method: PaymentMethod,
    pub amount: Money,
}

/// What was tendered and the change handed back; `paid − change` is the ticket total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Settlement {
    pub paid: Money,
    pub change: Money,
}

/// Checks the payments against a ticket total: every amount must be positive (rule "amount"),
/// they must cover the total (rule "payments_short", saying how much is missing), and the
/// change `Σ − total` must not exceed the cash given, because only cash gives change (rule
/// "overpaid_non_cash"). A negative total is rule "range".
pub fn settle(total: Money, payments: &[Payment]) -> Result<Settlement, SaleError> {
    if total.is_negative() {
        return Err(SaleError::NegativeTotal { total });
    }
    let mut paid = Money::ZERO;
    let mut cash = Money::ZERO;
    for p in payments {
        if !p.amount.is_positive() {
            return Err(SaleError::Amount { amount: p.amount });
        }
        paid = paid.checked_add(p.amount).ok_or(SaleError::Overflow)?;
        if p.method == PaymentMethod::Cash {
            // Cash is part of `paid`, which did not overflow.
            cash += p.amount;
        }
    }
    if paid < total {
        return Err(SaleError::PaymentsShort {
            missing: total - paid,
            total,
        });
    }
    let change = paid - total;
    if change > cash {
        return Err(SaleError::OverpaidNonCash { change, cash });
    }
    Ok(Settlement { paid, change })
}

/// The refund for returning `returning` units of a line sold as `sold` units for
/// `line_total`, after `returned_before` units were already refunded `refunded_before`.
///
/// Proportional and rounded half away from zero on the cumulative quantity
/// (`round(line_total × (returned_before + returning) / sold) − refunded_before`, clamped to
/// what is left), so partial refunds never drift; returning the rest refunds exactly what is
/// left. A line therefore never refunds more or less than it charged.
///
/// Rules: `returning ≤ 0`, `sold ≤ 0` or `returned_before < 0` → "quantity"; `returning >
/// sold − returned_before` → "return_exceeds"; `refunded_before` outside `0..=line_total` →
/// "range".
pub fn refund_amount(
    line_total: Money,
    sold: Qty,
    returned_before: Qty,
    refunded_before: Money,
    returning: Qty,
) -> Result<Money, SaleError> {
    for qty in [returning, sold] {
        if !qty.is_positive() {
            return Err(SaleError::Quantity { qty });
        }
    }
    if returned_before.is_negative() {
        return Err(SaleError::Quantity {
            qty: returned_before,
        });
    }
    if refunded_before.is_negative() || refunded_before > line_total {
        return Err(SaleError::RefundedBefore {
            refunded: refunded_before,
            line_total,
        });
    }
    // sold > 0 and returned_before >= 0, so this cannot overflow.
    let remaining = sold - returned_before;
    if returning > remaining {
        return Err(SaleError::ReturnExceeds {
            returning,
            remaining: remaining.max(Qty::ZERO),
        });
    }
    let left = line_total - refunded_before;
    if returning == remaining {
        return Ok(left);
    }
    let returned_after = i128::from(returned_before.milli()) + i128::from(returning.milli());
    let target = support::div_round_half_away(
        i128::from(line_total.minor()) * returned_after,
        i128::from(sold.milli()),
    );
    let refund = (target - i128::from(refunded_before.minor())).clamp(0, i128::from(left.minor()));
    Ok(Money::from_minor(support::saturate_i64(refund)))
}

// ---------------------------------------------------------------------------------------------
// Scale labels
// ---------------------------------------------------------------------------------------------

/// What the value digits of a scale label hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ScaleValue {
    /// The weight in grams.
    Weight,
    /// The price with `decimals` decimals (0..=2; 0 = whole pesos).
    Price { decimals: u8 },
}

/// How one in-store prefix is laid out: 2 prefix digits, `item_digits` item code, the value
/// in the digits left before the check digit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleRule {
    /// 20..=29 (GS1 in-store range).
    pub prefix: u8,
    /// 4 or 5.
    pub item_digits: u8,
    pub value: ScaleValue,
}

impl ScaleRule {
    /// Checks the rule is usable: prefix 20..=29, 4 or 5 item digits, at most 2 price
    /// decimals (rule "scale_rule").
    pub fn validate(&self) -> Result<(), SaleError> {
        self.value_digits().map(|_| ())
    }

    /// How many digits the value takes (10 − item digits), after validating the rule.
    fn value_digits(&self) -> Result<u32, SaleError> {
        if !(20..=29).contains(&self.prefix) {
            return Err(SaleError::ScaleRule {
                reason: "el prefijo debe estar entre 20 y 29",
            });
        }
        if !matches!(self.item_digits, 4 | 5) {
            return Err(SaleError::ScaleRule {
                reason: "el código de artículo debe tener 4 o 5 dígitos",
            });
        }
        if let ScaleValue::Price { decimals } = self.value
            && decimals > 2
        {
            return Err(SaleError::ScaleRule {
                reason: "el precio admite como máximo 2 decimales",
            });
        }
        Ok(10 - u32::from(self.item_digits))
    }

    /// Centavos per unit of the value digits (for prices).
    fn price_factor(decimals: u8) -> i64 {
        10i64.pow(2u32.saturating_sub(u32::from(decimals)))
    }
}

/// The scale label layouts configured for a shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleFormat {
    pub rules: Vec<ScaleRule>,
}

impl Default for ScaleFormat {
    /// Prefix 20: 5-digit item + weight in grams; prefix 21: 5-digit item + price in whole
    /// pesos.
    fn default() -> Self {
        ScaleFormat {
            rules: vec![
                ScaleRule {
                    prefix: 20,
                    item_digits: 5,
                    value: ScaleValue::Weight,
                },
                ScaleRule {
                    prefix: 21,
                    item_digits: 5,
                    value: ScaleValue::Price { decimals: 0 },
                },
            ],
        }
    }
}

/// What a scale label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleReading {
    /// `quantity` in kg (grams exact).
    Weight {
        item: u32,
        quantity: Qty,
    },
    Price {
        item: u32,
        amount: Money,
    },
}

/// Reads a scale label. `None` when the code is not an EAN-13 or no valid rule has its
/// prefix (the first valid rule with the prefix wins). The check digit was already verified
/// when the [`Gtin`] was built.
pub fn decode_scale(code: &Gtin, format: &ScaleFormat) -> Option<ScaleReading> {
    if code.kind() != GtinKind::Ean13 {
        return None;
    }
    let digits = code.as_str();
    let prefix: u8 = digits.get(..2)?.parse().ok()?;
    let (rule, _) = format
        .rules
        .iter()
        .filter(|r| r.prefix == prefix)
        .find_map(|r| r.value_digits().ok().map(|d| (r, d)))?;
    let item_end = 2 + usize::from(rule.item_digits);
    let item: u32 = digits.get(2..item_end)?.parse().ok()?;
    let value: i64 = digits.get(item_end..12)?.parse().ok()?;
    Some(match rule.value {
        ScaleValue::Weight => ScaleReading::Weight {
            item,
            quantity: Qty::from_milli(value),
        },
        ScaleValue::Price { decimals } => ScaleReading::Price {
            item,
            amount: Money::from_minor(value * ScaleRule::price_factor(decimals)),
        },
    })
}

/// Builds a scale label (for tests and label printing): `Gtin::from_body` of prefix, item and
/// value, each zero-padded to its width. `value` is grams for weights, or the price in units
/// of the rule's last decimal. Invalid rule → "scale_rule"; item or value not fitting → "range".
pub fn encode_scale(rule: &ScaleRule, item: u32, value: i64) -> Result<Gtin, SaleError> {
    let value_digits = rule.value_digits()?;
    let item_width = usize::from(rule.item_digits);
    let item_max = 10i64.pow(u32::from(rule.item_digits)) - 1;
    if i64::from(item) > item_max {
        return Err(SaleError::ScaleValue {
            what: "el código de artículo",
            value: i64::from(item),
            max: item_max,
        });
    }
    let value_max = 10i64.pow(value_digits) - 1;
    if !(0..=value_max).contains(&value) {
        return Err(SaleError::ScaleValue {
            what: "el valor de la etiqueta",
            value,
            max: value_max,
        });
    }
    let value_width = value_digits as usize;
    let body = format!("{:02}{item:0item_width$}{value:0value_width$}", rule.prefix);
    Gtin::from_body(&body).map_err(|_| SaleError::ScaleRule {
        reason: "no se pudo armar el código",
    })
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

    fn line(price: i64, qty_milli: i64, rate: VatRate, discount: Option<Discount>) -> LineInput {
        LineInput {
            unit_price: m(price),
            quantity: Qty::from_milli(qty_milli),
            vat_rate: rate,
            discount,
        }
    }

    #[test]
    fn discount_parsing() {
        for (s, d) in [
            ("10%", Discount::Percent(1_000)),
            ("10.5%", Discount::Percent(1_050)),
            ("10,5 %", Discount::Percent(1_050)),
            (" 0% ", Discount::Percent(0)),
            ("100%", Discount::Percent(10_000)),
            ("150", Discount::Amount(m(15_000))),
            ("150.00", Discount::Amount(m(15_000))),
            ("150,5", Discount::Amount(m(15_050))),
            ("$ 150", Discount::Amount(m(15_000))),
            ("0", Discount::Amount(Money::ZERO)),
        ] {
            assert_eq!(Discount::parse(s), Ok(d), "{s}");
        }
        let rule = |s: &str| Discount::parse(s).unwrap_err().rule();
        assert_eq!(rule("-5%"), "range");
        assert_eq!(rule("100.01%"), "range");
        assert_eq!(rule("-150"), "range");
        assert_eq!(rule("99999999999999999999"), "range");
        for junk in [
            "", "%", "abc", "10%%", "10.555%", "1.234,56", "10 % off", "1e3",
        ] {
            assert_eq!(rule(junk), "format", "{junk}");
        }
        assert_eq!(
            Discount::parse("diez").unwrap_err().to_string(),
            "el descuento «diez» no tiene un formato válido; use un porcentaje como 10% o 10,5% \
             o un importe como 150.00"
        );
    }

    /// 3 × $ 1.299,90 at 21 % + 0,750 kg × $ 8.990,00 at 10,5 %, 10 % off the ticket.
    ///
    /// gross A = 3 × 1299.90            = 3899.70
    /// gross B = 0.750 × 8990.00        = 6742.50
    /// subtotal = base                  = 10642.20
    /// ticket discount 10 % of 10642.20 = 1064.22 (exact)
    /// shares: A 1064.22 × 3899.70 / 10642.20 = 389.97 exact, B 674.25 exact (no remainders)
    /// total A = 3899.70 − 389.97 = 3509.73; total B = 6742.50 − 674.25 = 6068.25
    /// total = 9577.98 = 10642.20 − 1064.22
    /// A net = 3509.73 / 1.21  = 2900.6033… → 2900.60, IVA 609.13
    /// B net = 6068.25 / 1.105 = 5491.6289… → 5491.63, IVA 576.62
    /// discount_bp = 1064.22 / 10642.20 = exactly 10 % → 1000
    #[test]
    fn mixed_rates_with_ticket_percent() {
        let t = price_ticket(
            &[
                line(129_990, 3_000, VatRate::General, None),
                line(899_000, 750, VatRate::Reduced, None),
            ],
            Some(Discount::Percent(1_000)),
        )
        .unwrap();
        let a = &t.lines[0];
        let b = &t.lines[1];
        assert_eq!((a.gross, b.gross), (m(389_970), m(674_250)));
        assert_eq!(
            (a.line_discount, b.line_discount),
            (Money::ZERO, Money::ZERO)
        );
        assert_eq!(
            (a.ticket_discount, b.ticket_discount),
            (m(38_997), m(67_425))
        );
        assert_eq!((a.total, b.total), (m(350_973), m(606_825)));
        assert_eq!((a.net, a.vat), (m(290_060), m(60_913)));
        assert_eq!((b.net, b.vat), (m(549_163), m(57_662)));
        assert_eq!(
            (a.vat_rate, b.vat_rate),
            (VatRate::General, VatRate::Reduced)
        );
        assert_eq!(t.subtotal, m(1_064_220));
        assert_eq!(t.discount, m(106_422));
        assert_eq!(t.total, m(957_798));
        assert_eq!(t.discount_bp(), 1_000);
        // Breakdown by rate ascending: 10.5 % first.
        assert_eq!(
            t.vat,
            vec![
                VatBreakdown {
                    rate: VatRate::Reduced,
                    net: m(549_163),
                    vat: m(57_662)
                },
                VatBreakdown {
                    rate: VatRate::General,
                    net: m(290_060),
                    vat: m(60_913)
                },
            ]
        );
    }

    /// Line discounts plus a ticket percentage that leaves remainders.
    ///
    /// A: 1 × 10.00 at 21 %, 5 % off   → gross 10.00, line discount 0.50, base 9.50
    /// B: 1 × 3.33 at 10.5 %, $ 0.33 off → gross 3.33, line discount 0.33, base 3.00
    /// C: 2 × 2.25 at 0 %               → gross 4.50, base 4.50
    /// base 17.00; 7.5 % = 1.275 → 1.28 (half away from zero)
    /// exact shares (centavos): A 128×950/1700 = 71.529, B 22.588, C 33.882
    /// floors 71 + 22 + 33 = 126, 2 left → C (.882) then B (.588): A 71, B 23, C 34
    /// totals: A 10.00 − 0.50 − 0.71 = 8.79; B 3.33 − 0.33 − 0.23 = 2.77; C 4.50 − 0.34 = 4.16
    /// total 15.72 = subtotal 17.83 − discount 2.11 (0.50 + 0.33 + 1.28)
    /// A net 8.79 / 1.21 = 7.2645 → 7.26, IVA 1.53; B net 2.77 / 1.105 = 2.5068 → 2.51, IVA 0.26
    /// discount_bp = 211 / 1783 = 11.834 % → rounded up 1184
    #[test]
    fn line_discounts_and_largest_remainder() {
        let t = price_ticket(
            &[
                line(1_000, 1_000, VatRate::General, Some(Discount::Percent(500))),
                line(333, 1_000, VatRate::Reduced, Some(Discount::Amount(m(33)))),
                line(225, 2_000, VatRate::Zero, None),
            ],
            Some(Discount::Percent(750)),
        )
        .unwrap();
        let got: Vec<_> = t
            .lines
            .iter()
            .map(|l| {
                (
                    l.gross.minor(),
                    l.line_discount.minor(),
                    l.ticket_discount.minor(),
                    l.total.minor(),
                    l.net.minor(),
                    l.vat.minor(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1_000, 50, 71, 879, 726, 153),
                (333, 33, 23, 277, 251, 26),
                (450, 0, 34, 416, 416, 0),
            ]
        );
        assert_eq!(
            (t.subtotal, t.discount, t.total),
            (m(1_783), m(211), m(1_572))
        );
        assert_eq!(t.discount_bp(), 1_184);
        let rates: Vec<_> = t.vat.iter().map(|b| b.rate).collect();
        assert_eq!(rates, [VatRate::Zero, VatRate::Reduced, VatRate::General]);
    }

    /// $ 100 off three equal lines of $ 500: 33.333… each → floors 33.33 × 3 = 99.99, the
    /// left-over centavo goes to the first line (equal remainders, earlier line wins).
    #[test]
    fn amount_ticket_discount_over_equal_lines() {
        let lines = vec![line(50_000, 1_000, VatRate::General, None); 3];
        let t = price_ticket(&lines, Some(Discount::Amount(m(10_000)))).unwrap();
        let shares: Vec<_> = t.lines.iter().map(|l| l.ticket_discount.minor()).collect();
        assert_eq!(shares, [3_334, 3_333, 3_333]);
        assert_eq!(t.discount, m(10_000));
        assert_eq!(t.total, m(140_000));
        // 100 / 1500 = 6.666…% → rounded up so a 6.66 % limit rejects it.
        assert_eq!(t.discount_bp(), 667);

        // Three lines of $ 33,33 add up to $ 99,99: $ 100 off is more than the ticket.
        let small = vec![line(3_333, 1_000, VatRate::General, None); 3];
        let err = price_ticket(&small, Some(Discount::Amount(m(10_000)))).unwrap_err();
        assert_eq!(err.rule(), "discount_exceeds");
        assert_eq!(
            err.to_string(),
            "el descuento de $ 100,00 supera el importe de $ 99,99 sobre el que se aplica"
        );
        // $ 99,99 off them is exactly $ 33,33 each and a zero ticket.
        let t = price_ticket(&small, Some(Discount::Amount(m(9_999)))).unwrap();
        assert!(t.lines.iter().all(|l| l.ticket_discount == m(3_333)));
        assert_eq!(t.total, Money::ZERO);
        assert_eq!(t.discount_bp(), 10_000);
    }

    #[test]
    fn ticket_rejections() {
        let rule = |lines: &[LineInput], d| price_ticket(lines, d).unwrap_err().rule();
        assert_eq!(rule(&[], None), "empty");
        assert_eq!(
            rule(&[line(100, 0, VatRate::General, None)], None),
            "quantity"
        );
        assert_eq!(
            rule(&[line(100, -1, VatRate::General, None)], None),
            "quantity"
        );
        assert_eq!(
            rule(&[line(-100, 1_000, VatRate::General, None)], None),
            "range"
        );
        assert_eq!(
            rule(&[line(i64::MAX, 2_000, VatRate::General, None)], None),
            "range"
        );
        assert_eq!(
            rule(
                &[
                    line(i64::MAX / 2 + 1, 1_000, VatRate::General, None),
                    line(i64::MAX / 2 + 1, 1_000, VatRate::General, None)
                ],
                None
            ),
            "range"
        );
        let one = |d| [line(1_000, 1_000, VatRate::General, Some(d))];
        assert_eq!(
            rule(&one(Discount::Amount(m(1_001))), None),
            "discount_exceeds"
        );
        assert_eq!(rule(&one(Discount::Amount(m(-1))), None), "range");
        assert_eq!(rule(&one(Discount::Percent(10_001)), None), "range");
        assert_eq!(rule(&one(Discount::Percent(-1)), None), "range");
        let plain = [line(1_000, 1_000, VatRate::General, None)];
        assert_eq!(rule(&plain, Some(Discount::Percent(-1))), "range");
        assert_eq!(
            rule(&plain, Some(Discount::Amount(m(1_001)))),
            "discount_exceeds"
        );
        // A whole line given away is fine.
        let t = price_ticket(&one(Discount::Amount(m(1_000))), None).unwrap();
        assert_eq!(t.total, Money::ZERO);
        let t = price_ticket(&plain, Some(Discount::Percent(10_000))).unwrap();
        assert_eq!((t.total, t.discount_bp()), (Money::ZERO, 10_000));
    }

    #[test]
    fn settle_examples() {
        let pay = |method, minor| Payment {
            method,
            amount: m(minor),
        };
        // $ 957,98 paid with a $ 1.000 note: $ 42,02 change.
        assert_eq!(
            settle(m(95_798), &[pay(PaymentMethod::Cash, 100_000)]),
            Ok(Settlement {
                paid: m(100_000),
                change: m(4_202)
            })
        );
        // Split: $ 500 cash + $ 457,98 debit, exact.
        assert_eq!(
            settle(
                m(95_798),
                &[
                    pay(PaymentMethod::Cash, 50_000),
                    pay(PaymentMethod::Debit, 45_798)
                ]
            ),
            Ok(Settlement {
                paid: m(95_798),
                change: Money::ZERO
            })
        );
        // Split with change from the cash part: $ 500 debit + $ 500 cash → $ 42,02 change.
        assert_eq!(
            settle(
                m(95_798),
                &[
                    pay(PaymentMethod::Debit, 50_000),
                    pay(PaymentMethod::Cash, 50_000)
                ]
            ),
            Ok(Settlement {
                paid: m(100_000),
                change: m(4_202)
            })
        );
        // Short by $ 1.234,56.
        let err = settle(m(223_456), &[pay(PaymentMethod::Transfer, 100_000)]).unwrap_err();
        assert_eq!(err.rule(), "payments_short");
        assert_eq!(
            err,
            SaleError::PaymentsShort {
                missing: m(123_456),
                total: m(223_456)
            }
        );
        assert_eq!(
            err.to_string(),
            "faltan $ 1.234,56 para cubrir el total de $ 2.234,56"
        );
        assert_eq!(settle(m(100), &[]).unwrap_err().rule(), "payments_short");
        // Overpaid by debit: no one can hand back change from a card.
        let err = settle(m(95_798), &[pay(PaymentMethod::Debit, 100_000)]).unwrap_err();
        assert_eq!(err.rule(), "overpaid_non_cash");
        // $ 959 credit + $ 1 cash: $ 2,02 change but only $ 1 in cash.
        assert_eq!(
            settle(
                m(95_798),
                &[
                    pay(PaymentMethod::Credit, 95_900),
                    pay(PaymentMethod::Cash, 100)
                ]
            )
            .unwrap_err()
            .rule(),
            "overpaid_non_cash"
        );
        assert_eq!(
            settle(m(100), &[pay(PaymentMethod::Cash, 0)])
                .unwrap_err()
                .rule(),
            "amount"
        );
        assert_eq!(
            settle(m(100), &[pay(PaymentMethod::Cash, -100)])
                .unwrap_err()
                .rule(),
            "amount"
        );
        assert_eq!(settle(m(-1), &[]).unwrap_err().rule(), "range");
        assert_eq!(
            settle(Money::ZERO, &[]),
            Ok(Settlement {
                paid: Money::ZERO,
                change: Money::ZERO
            })
        );
    }

    #[test]
    fn payment_methods() {
        for p in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(p.as_str()), Ok(*p));
            assert_eq!(de_str::<PaymentMethod>(p.as_str()).unwrap(), *p);
        }
        assert_eq!(PaymentMethod::Transfer.to_string(), "transfer");
        assert_eq!(
            PaymentMethod::parse("qr").unwrap_err().rule(),
            "unknown_value"
        );
    }

    #[test]
    fn refund_partial_then_rest() {
        // A line of 3 units for $ 100,00 (after discounts).
        let total = m(10_000);
        let sold = Qty::units(3);
        // 1 of 3: 33,333… → 33,33.
        let first = refund_amount(total, sold, Qty::ZERO, Money::ZERO, Qty::units(1)).unwrap();
        assert_eq!(first, m(3_333));
        // 2 of 3 cumulative: 66,666… → 66,67, so this one refunds 33,34.
        let second = refund_amount(total, sold, Qty::units(1), first, Qty::units(1)).unwrap();
        assert_eq!(second, m(3_334));
        // The rest refunds exactly what is left.
        let third =
            refund_amount(total, sold, Qty::units(2), first + second, Qty::units(1)).unwrap();
        assert_eq!(third, m(3_333));
        assert_eq!(first + second + third, total);

        // 10 units for $ 0,15: each unit 0,015 would round up to 0,02 and overshoot; the
        // cumulative rounding keeps the sum right.
        let (total, sold) = (m(15), Qty::units(10));
        let mut refunded = Money::ZERO;
        for i in 0..10 {
            refunded += refund_amount(total, sold, Qty::units(i), refunded, Qty::units(1)).unwrap();
            assert!(refunded <= total);
        }
        assert_eq!(refunded, total);

        // Returning everything at once.
        assert_eq!(
            refund_amount(
                m(957_798),
                Qty::from_milli(750),
                Qty::ZERO,
                Money::ZERO,
                Qty::from_milli(750)
            ),
            Ok(m(957_798))
        );
    }

    #[test]
    fn refund_rejections() {
        let total = m(10_000);
        let sold = Qty::units(3);
        let err = refund_amount(total, sold, Qty::units(2), m(6_667), Qty::units(2)).unwrap_err();
        assert_eq!(err.rule(), "return_exceeds");
        assert_eq!(
            err.to_string(),
            "se quieren devolver 2 pero quedan 1 sin devolver"
        );
        assert_eq!(
            refund_amount(total, sold, Qty::units(3), total, Qty::units(1))
                .unwrap_err()
                .rule(),
            "return_exceeds"
        );
        let rule = |rb: i64, rf: i64, r: i64| {
            refund_amount(total, sold, Qty::from_milli(rb), m(rf), Qty::from_milli(r))
                .unwrap_err()
                .rule()
        };
        assert_eq!(rule(0, 0, 0), "quantity");
        assert_eq!(rule(0, 0, -1_000), "quantity");
        assert_eq!(rule(-1_000, 0, 1_000), "quantity");
        assert_eq!(rule(0, -1, 1_000), "range");
        assert_eq!(rule(0, 10_001, 1_000), "range");
        assert_eq!(
            refund_amount(total, Qty::ZERO, Qty::ZERO, Money::ZERO, Qty::units(1))
                .unwrap_err()
                .rule(),
            "quantity"
        );
    }

    #[test]
    fn scale_weight_label() {
        let format = ScaleFormat::default();
        let rule = &format.rules[0];
        let code = encode_scale(rule, 1_234, 1_250).unwrap();
        // 20 | 01234 | 01250 | check digit 8 (Σ 3,1,3… from the right = 32).
        assert_eq!(code.as_str(), "2001234012508");
        assert_eq!(Gtin::parse(code.as_str()), Ok(code.clone()));
        assert_eq!(
            decode_scale(&code, &format),
            Some(ScaleReading::Weight {
                item: 1_234,
                quantity: Qty::from_milli(1_250)
            })
        );
    }

    #[test]
    fn scale_price_labels() {
        let format = ScaleFormat::default();
        let code = encode_scale(&format.rules[1], 4_321, 1_500).unwrap();
        assert_eq!(code.as_str(), "2104321015007");
        assert!(Gtin::parse("2104321015007").is_ok());
        assert_eq!(
            decode_scale(&code, &format),
            Some(ScaleReading::Price {
                item: 4_321,
                amount: m(150_000)
            })
        );
        // A 4-digit item leaves 6 digits: $ 1.234,56 with 2 decimals.
        let cents = ScaleRule {
            prefix: 22,
            item_digits: 4,
            value: ScaleValue::Price { decimals: 2 },
        };
        let code = encode_scale(&cents, 987, 123_456).unwrap();
        assert!(code.as_str().starts_with("220987123456"));
        let custom = ScaleFormat {
            rules: vec![cents.clone()],
        };
        assert_eq!(
            decode_scale(&code, &custom),
            Some(ScaleReading::Price {
                item: 987,
                amount: m(123_456)
            })
        );
        // With 1 decimal the same digits mean $ 12.345,60.
        let tenths = ScaleFormat {
            rules: vec![ScaleRule {
                value: ScaleValue::Price { decimals: 1 },
                ..cents
            }],
        };
        assert_eq!(
            decode_scale(&code, &tenths),
            Some(ScaleReading::Price {
                item: 987,
                amount: m(1_234_560)
            })
        );
    }

    #[test]
    fn scale_unknown_or_not_scale() {
        let format = ScaleFormat::default();
        // Prefix 23 has no rule.
        let code = Gtin::from_body("230123401250").unwrap();
        assert_eq!(decode_scale(&code, &format), None);
        // A regular Argentine product.
        assert_eq!(
            decode_scale(&Gtin::parse("7790895000997").unwrap(), &format),
            None
        );
        // EAN-8 and UPC-A starting with 20 are not scale labels.
        assert_eq!(
            decode_scale(&Gtin::from_body("2012345").unwrap(), &format),
            None
        );
        assert_eq!(
            decode_scale(&Gtin::from_body("20123450125").unwrap(), &format),
            None
        );
        // A misconfigured rule outside the in-store range is ignored.
        let bad = ScaleFormat {
            rules: vec![ScaleRule {
                prefix: 77,
                item_digits: 5,
                value: ScaleValue::Weight,
            }],
        };
        assert_eq!(
            decode_scale(&Gtin::parse("7790895000997").unwrap(), &bad),
            None
        );
    }

    #[test]
    fn scale_encode_rejections() {
        let weight = ScaleFormat::default().rules[0].clone();
        assert_eq!(
            encode_scale(&weight, 100_000, 1).unwrap_err().rule(),
            "range"
        );
        assert_eq!(
            encode_scale(&weight, 1, 100_000).unwrap_err().rule(),
            "range"
        );
        assert_eq!(encode_scale(&weight, 1, -1).unwrap_err().rule(), "range");
        assert_eq!(
            encode_scale(&weight, 1, 100_000).unwrap_err().to_string(),
            "el valor de la etiqueta debe estar entre 0 y 99999 (se indicó 100000)"
        );
        let rule = |prefix, item_digits, value| {
            let r = ScaleRule {
                prefix,
                item_digits,
                value,
            };
            assert_eq!(r.validate().unwrap_err().rule(), "scale_rule");
            encode_scale(&r, 1, 1).unwrap_err().rule()
        };
        assert_eq!(rule(19, 5, ScaleValue::Weight), "scale_rule");
        assert_eq!(rule(30, 5, ScaleValue::Weight), "scale_rule");
        assert_eq!(rule(20, 6, ScaleValue::Weight), "scale_rule");
        assert_eq!(rule(20, 3, ScaleValue::Weight), "scale_rule");
        assert_eq!(rule(20, 5, ScaleValue::Price { decimals: 3 }), "scale_rule");
        assert_eq!(weight.validate(), Ok(()));
    }

    #[test]
    fn scale_value_is_tagged_by_kind() {
        use serde::de::value::{Error, MapDeserializer};
        let read = |kind: &str| {
            let de: MapDeserializer<'_, _, Error> =
                MapDeserializer::new(vec![("kind", kind.to_owned())].into_iter());
            ScaleValue::deserialize(de)
        };
        assert_eq!(read("weight").unwrap(), ScaleValue::Weight);
        assert!(read("volume").is_err());
    }

    fn rates() -> impl Strategy<Value = VatRate> {
        prop::sample::select(VatRate::ALL.to_vec())
    }

    /// (unit price, quantity, rate, discount kind 0 none / 1 percent / 2 amount, parameter
    /// in basis points: the percentage, or the fraction of the gross for an amount).
    fn raw_line() -> impl Strategy<Value = (i64, i64, VatRate, u8, i64)> {
        (
            0i64..10_000_000,
            1i64..50_000,
            rates(),
            0u8..3,
            0i64..=10_000,
        )
    }

    fn build_line((price, qty, rate, kind, param): (i64, i64, VatRate, u8, i64)) -> LineInput {
        let gross = m(price).times_qty(Qty::from_milli(qty));
        let discount = match kind {
            1 => Some(Discount::Percent(param)),
            2 => Some(Discount::Amount(m(gross.minor() * param / 10_000))),
            _ => None,
        };
        line(price, qty, rate, discount)
    }

    proptest! {
        #[test]
        fn tickets_add_up(
            raw in prop::collection::vec(raw_line(), 1..8),
            ticket_kind in 0u8..3,
            ticket_param in 0i64..=10_000,
        ) {
            let lines: Vec<LineInput> = raw.into_iter().map(build_line).collect();
            let plain = price_ticket(&lines, None).unwrap();
            let base = plain.total;
            let ticket_discount = match ticket_kind {
                1 => Some(Discount::Percent(ticket_param)),
                2 => Some(Discount::Amount(m(base.minor() * ticket_param / 10_000))),
                _ => None,
            };
            let t = price_ticket(&lines, ticket_discount).unwrap();
            let line_totals: Money = t.lines.iter().map(|l| l.total).sum();
            prop_assert_eq!(line_totals, t.total);
            prop_assert_eq!(t.total, t.subtotal - t.discount);
            prop_assert_eq!(t.subtotal, t.lines.iter().map(|l| l.gross).sum::<Money>());
            let breakdown: Money = t.vat.iter().map(|b| b.net + b.vat).sum();
            prop_assert_eq!(breakdown, t.total);
            prop_assert!(t.vat.windows(2).all(|w| w[0].rate < w[1].rate));
            for (l, p) in t.lines.iter().zip(&plain.lines) {
                prop_assert!(!l.total.is_negative());
                prop_assert!(!l.ticket_discount.is_negative());
                prop_assert_eq!(l.net + l.vat, l.total);
                prop_assert_eq!(l.line_discount, p.line_discount);
                prop_assert_eq!(l.gross - l.line_discount, p.total);
            }
            let shares: Money = t.lines.iter().map(|l| l.ticket_discount).sum();
            let expected = match ticket_discount {
                Some(Discount::Percent(bp)) => m(support::saturate_i64(
                    support::div_round_half_away(
                        i128::from(base.minor()) * i128::from(bp),
                        10_000,
                    ),
                )),
                Some(Discount::Amount(a)) => a,
                None => Money::ZERO,
            };
            prop_assert_eq!(shares, expected);
            // Each share is within one centavo of its exact proportional value.
            if base.is_positive() {
                for (l, p) in t.lines.iter().zip(&plain.lines) {
                    let exact = i128::from(expected.minor()) * i128::from(p.total.minor());
                    let got = i128::from(l.ticket_discount.minor()) * i128::from(base.minor());
                    prop_assert!((got - exact).abs() < i128::from(base.minor()));
                }
            }
            // The rounded-up percentage never understates the discount.
            let bp = i128::from(t.discount_bp());
            prop_assert!(bp * i128::from(t.subtotal.minor()) >= i128::from(t.discount.minor()) * 10_000);
            prop_assert!(bp <= 10_000);
        }

        #[test]
        fn settle_balances(
            total in 0i64..10_000_000,
            raw in prop::collection::vec(
                (prop::sample::select(PaymentMethod::ALL.to_vec()), 1i64..10_000_000),
                0..5,
            ),
        ) {
            let payments: Vec<Payment> = raw
                .into_iter()
                .map(|(method, a)| Payment { method, amount: m(a) })
                .collect();
            let sum: Money = payments.iter().map(|p| p.amount).sum();
            let cash: Money = payments
                .iter()
                .filter(|p| p.method == PaymentMethod::Cash)
                .map(|p| p.amount)
                .sum();
            match settle(m(total), &payments) {
                Ok(s) => {
                    prop_assert_eq!(s.paid - s.change, m(total));
                    prop_assert_eq!(s.paid, sum);
                    prop_assert!(!s.change.is_negative() && s.change <= cash);
                }
                Err(e) if sum < m(total) => prop_assert_eq!(e.rule(), "payments_short"),
                Err(e) => {
                    prop_assert_eq!(e.rule(), "overpaid_non_cash");
                    prop_assert!(sum - m(total) > cash);
                }
            }
        }

        #[test]
        fn refunds_in_chunks_add_up(
            line_total in 0i64..1_000_000_000,
            sold in 1i64..100_000,
            chunks in prop::collection::vec(1i64..20_000, 1..30),
        ) {
            let (total, sold) = (m(line_total), Qty::from_milli(sold));
            let mut returned = Qty::ZERO;
            let mut refunded = Money::ZERO;
            for chunk in chunks.into_iter().chain(std::iter::once(i64::MAX)) {
                let remaining = sold - returned;
                if remaining.is_zero() {
                    break;
                }
                let returning = Qty::from_milli(chunk).min(remaining);
                let r = refund_amount(total, sold, returned, refunded, returning).unwrap();
                prop_assert!(!r.is_negative());
                returned += returning;
                refunded += r;
                prop_assert!(refunded <= total);
            }
            prop_assert_eq!(returned, sold);
            prop_assert_eq!(refunded, total);
        }

        #[test]
        fn scale_round_trip(
            prefix in 20u8..=29,
            five in any::<bool>(),
            decimals in prop::option::of(0u8..=2),
            item_seed in any::<u32>(),
            value_seed in 0i64..1_000_000,
        ) {
            let item_digits = if five { 5 } else { 4 };
            let value = match decimals {
                None => ScaleValue::Weight,
                Some(decimals) => ScaleValue::Price { decimals },
            };
            let rule = ScaleRule { prefix, item_digits, value };
            let item = item_seed % 10u32.pow(u32::from(item_digits));
            let value = value_seed % 10i64.pow(10 - u32::from(item_digits));
            let code = encode_scale(&rule, item, value).unwrap();
            prop_assert_eq!(Gtin::parse(code.as_str()), Ok(code.clone()));
            prop_assert!(code.is_scale_prefix(20..=29));
            let expected = match rule.value {
                ScaleValue::Weight => ScaleReading::Weight { item, quantity: Qty::from_milli(value) },
                ScaleValue::Price { decimals } => ScaleReading::Price {
                    item,
                    amount: m(value * 10i64.pow(2 - u32::from(decimals))),
                },
            };
            let format = ScaleFormat { rules: vec![rule] };
            prop_assert_eq!(decode_scale(&code, &format), Some(expected));
        }
    }
}
