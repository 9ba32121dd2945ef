//! Supplier invoices as AFIP defines them: voucher types (letter ↔ AFIP code), point of sale
//! and number, Argentine number formats, the invoice's figures and the checks that prove they
//! add up. Extraction (OCR, QR, text layer) lives outside the domain; this module only judges
//! values, so a typed-in invoice and a scanned one are checked by the same rules.

pub mod libro_iva;
pub mod qr;

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::{VatCondition, VatRate};
use crate::cuit::Cuit;
use crate::money::{Money, MoneyError};
use crate::qty::{Qty, QtyError};
use crate::support;

/// Why an invoice value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("la letra del comprobante debe ser A, B, C o M")]
    Letter,
    #[error(
        "el código de comprobante AFIP {0} no es una factura, nota de débito o de crédito A, B, C o M"
    )]
    VoucherCode(u32),
    #[error("el punto de venta debe estar entre 1 y 99999")]
    PointOfSale,
    #[error("el número de comprobante debe estar entre 1 y 99999999")]
    Number,
    #[error("el número de comprobante debe tener la forma 00001-00012345")]
    NumberFormat,
    #[error("el importe no tiene formato argentino, por ejemplo 1.234,56")]
    Amount,
    #[error("el CAE debe tener 14 dígitos")]
    Cae,
    #[error("el código QR no es de AFIP: {0}")]
    Qr(String),
}

impl InvoiceError {
    /// Stable machine slug of the broken rule, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            InvoiceError::Letter => "letter",
            InvoiceError::VoucherCode(_) => "voucher_code",
            InvoiceError::PointOfSale => "point_of_sale",
            InvoiceError::Number => "number",
            InvoiceError::NumberFormat => "number_format",
            InvoiceError::Amount => "format",
            InvoiceError::Cae => "cae",
            InvoiceError::Qr(_) => "qr",
        }
    }
}

str_enum! {
    /// The invoice letter, which follows the issuer's and receiver's IVA conditions.
    pub enum Letter ("Letra del comprobante") {
        /// Registered issuer to registered receiver: IVA discriminated.
        A = "A",
        /// Registered issuer to final consumer or exempt: IVA included, not discriminated.
        B = "B",
        /// Monotributo or exempt issuer: no IVA at all.
        C = "C",
        /// Registered issuer under AFIP watch: like A, with withholding.
        M = "M",
    }
}

impl Letter {
    /// Whether an invoice of this letter must show IVA apart from the net.
    pub const fn discriminates_vat(self) -> bool {
        matches!(self, Letter::A | Letter::M)
    }

    const fn base_code(self) -> u32 {
        match self {
            Letter::A => 1,
            Letter::B => 6,
            Letter::C => 11,
            Letter::M => 51,
        }
    }
}

str_enum! {
    /// What the voucher does: charge (invoice, debit note) or give back (credit note).
    pub enum VoucherKind ("Clase de comprobante") {
        Invoice = "factura",
        DebitNote = "nota_debito",
        CreditNote = "nota_credito",
    }
}

impl VoucherKind {
    const fn offset(self) -> u32 {
        match self {
            VoucherKind::Invoice => 0,
            VoucherKind::DebitNote => 1,
            VoucherKind::CreditNote => 2,
        }
    }

    pub const fn label_es(self) -> &'static str {
        match self {
            VoucherKind::Invoice => "Factura",
            VoucherKind::DebitNote => "Nota de Débito",
            VoucherKind::CreditNote => "Nota de Crédito",
        }
    }
}

/// An AFIP voucher type: letter plus kind, with its code in AFIP's table (factura A = 1,
/// B = 6, C = 11, M = 51; debit note +1, credit note +2). In JSON:
/// `{"code": 1, "letter": "A", "kind": "factura"}`; only `code` is read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VoucherType {
    pub letter: Letter,
    pub kind: VoucherKind,
}

impl VoucherType {
    pub const fn invoice(letter: Letter) -> VoucherType {
        VoucherType {
            letter,
            kind: VoucherKind::Invoice,
        }
    }

    /// The code AFIP uses in the QR, web services and the Libro IVA.
    pub const fn code(self) -> u32 {
        self.letter.base_code() + self.kind.offset()
    }

    pub fn from_code(code: u32) -> Result<VoucherType, InvoiceError> {
        for letter in Letter::ALL {
            for kind in VoucherKind::ALL {
                let t = VoucherType {
                    letter: *letter,
                    kind: *kind,
                };
                if t.code() == code {
                    return Ok(t);
                }
            }
        }
        Err(InvoiceError::VoucherCode(code))
    }
}

impl Serialize for VoucherType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = serializer.serialize_struct("VoucherType", 3)?;
        st.serialize_field("code", &self.code())?;
        st.serialize_field("letter", self.letter.as_str())?;
        st.serialize_field("kind", self.kind.as_str())?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for VoucherType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            code: u32,
        }
        let w = Wire::deserialize(deserializer)?;
        VoucherType::from_code(w.code).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for VoucherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.label_es(), self.letter)
    }
}

/// Point of sale and voucher number, printed "00003-00001234".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VoucherNumber {
    point_of_sale: u32,
    number: u32,
}

impl VoucherNumber {
    pub fn new(point_of_sale: u32, number: u32) -> Result<VoucherNumber, InvoiceError> {
        if !(1..=99_999).contains(&point_of_sale) {
            return Err(InvoiceError::PointOfSale);
        }
        if !(1..=99_999_999).contains(&number) {
            return Err(InvoiceError::Number);
        }
        Ok(VoucherNumber {
            point_of_sale,
            number,
        })
    }

    /// Accepts "00003-00001234", "0003-00001234" and "3-1234" (also with a space or '/').
    pub fn parse(s: &str) -> Result<VoucherNumber, InvoiceError> {
        let s = s.trim();
        let (pos, num) = s
            .split_once(['-', ' ', '/'])
            .ok_or(InvoiceError::NumberFormat)?;
        let digits = |t: &str, max: usize| {
            let t = t.trim();
            if t.is_empty() || t.len() > max || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InvoiceError::NumberFormat);
            }
            t.parse::<u32>().map_err(|_| InvoiceError::NumberFormat)
        };
        VoucherNumber::new(digits(pos, 5)?, digits(num, 8)?)
    }

    pub const fn point_of_sale(self) -> u32 {
        self.point_of_sale
    }

    pub const fn number(self) -> u32 {
        self.number
    }
}

impl fmt::Display for VoucherNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05}-{:08}", self.point_of_sale, self.number)
    }
}

impl Serialize for VoucherNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VoucherNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, VoucherNumber::parse)
    }
}

/// A CAE (or CAEA): the 14-digit authorisation AFIP gives each electronic voucher.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cae(String);

impl Cae {
    pub fn parse(s: &str) -> Result<Cae, InvoiceError> {
        let s = s.trim();
        if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Cae(s.to_owned()))
        } else {
            Err(InvoiceError::Cae)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Cae {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Cae {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Cae {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        support::deserialize_parsed(deserializer, Cae::parse)
    }
}

/// Turns an Argentine-format number ("1.234,56", "-1.234", "$ 12,5") into the canonical
/// "1234.56" form, or `None`. Grouping dots must split exact groups of three, so "1.23,4" and
/// "1,234.56" (US form) are rejected rather than misread.
fn ar_to_canonical(s: &str) -> Option<String> {
    let s = s.trim();
    let s = s.strip_prefix('$').unwrap_or(s).trim_start();
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s),
    };
    let body = body.strip_prefix('$').unwrap_or(body).trim_start();
    let (int_part, frac) = match body.split_once(',') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let groups: Vec<&str> = int_part.split('.').collect();
    let digits = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    if !groups.iter().all(|g| digits(g)) {
        return None;
    }
    if groups.len() > 1 && (groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3)) {
        return None;
    }
    let mut out = String::with_capacity(body.len() + 1);
    if negative {
        out.push('-');
    }
    out.extend(groups);
    if let Some(f) = frac {
        if !digits(f) {
            return None;
        }
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

/// Parses an amount as printed on Argentine invoices: "1.234,56", "1234,56", "$ 1.234,56",
/// "-0,50", "1.234" (whole pesos). Exact: at most 2 decimals, never through floating point.
pub fn parse_ar_money(s: &str) -> Result<Money, MoneyError> {
    if s.trim().is_empty() {
        return Err(MoneyError::Empty);
    }
    let canonical = ar_to_canonical(s).ok_or(MoneyError::Format)?;
    Money::parse(&canonical)
}

/// Parses a quantity as printed on Argentine invoices ("1.000", "2,500", "12,00"): dots group
/// thousands, the comma is the decimal mark, at most 3 decimals.
pub fn parse_ar_qty(s: &str) -> Result<Qty, QtyError> {
    if s.trim().is_empty() {
        return Err(QtyError::Empty);
    }
    let canonical = ar_to_canonical(s).ok_or(QtyError::Format)?;
    // Invoices print quantities as "12,00"; extra zero decimals beyond 3 carry no meaning.
    let canonical = match canonical.split_once('.') {
        Some((i, f)) if f.len() > 3 && f[3..].bytes().all(|b| b == b'0') => {
            format!("{i}.{}", &f[..3])
        }
        _ => canonical,
    };
    Qty::parse(&canonical)
}

/// "1.234,56" without the currency sign, as amounts are printed in invoice columns.
pub fn format_ar_amount(m: Money) -> String {
    let (negative, whole, cents) = support::split(m.minor(), 2);
    let sign = if negative { "-" } else { "" };
    format!("{sign}{},{cents:02}", support::group_thousands(whole))
}

/// One line of an invoice as printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// The supplier's product code (or a barcode) when the invoice shows one.
    pub code: Option<String>,
    pub description: String,
    pub quantity: Qty,
    /// Net of IVA on A/M invoices, IVA included on B and C.
    pub unit_price: Money,
    /// Discount percentage in hundredths (10,50 % → 1050).
    pub discount_bp: i64,
    pub subtotal: Money,
    /// Printed on A/M invoices only.
    pub vat_rate: Option<VatRate>,
}

impl InvoiceLine {
    /// quantity × unit price less the discount, rounded half away from zero to the centavo.
    pub fn computed_subtotal(&self) -> Option<Money> {
        let gross = self.unit_price.checked_times_qty(self.quantity)?;
        let kept = i128::from(gross.minor()) * i128::from(10_000 - self.discount_bp);
        let minor = support::div_round_half_away(kept, 10_000);
        i64::try_from(minor).ok().map(Money::from_minor)
    }
}

/// Net taxed amount and its IVA for one rate, as in the invoice's footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VatAmount {
    pub rate: VatRate,
    pub net: Money,
    pub vat: Money,
}

/// Every figure of a supplier invoice. Optional where a scan may fail to find it; the checks
/// report what is missing instead of guessing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceData {
    pub voucher_type: Option<VoucherType>,
    pub number: Option<VoucherNumber>,
    pub issue_date: Option<NaiveDate>,
    pub issuer_cuit: Option<Cuit>,
    pub issuer_name: Option<String>,
    pub issuer_vat_condition: Option<VatCondition>,
    pub receiver_cuit: Option<Cuit>,
    pub cae: Option<Cae>,
    pub cae_due: Option<NaiveDate>,
    pub lines: Vec<InvoiceLine>,
    /// Neto gravado and IVA per rate (A/M only).
    pub vat: Vec<VatAmount>,
    pub no_gravado: Money,
    pub exento: Money,
    pub perception_vat: Money,
    pub perception_iibb: Money,
    pub total: Option<Money>,
}

/// The outcome of one rule over an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable slug: "totals", "lines", "letter_vat", "receiver", "required".
    pub rule: String,
    pub ok: bool,
    /// Spanish explanation for the reviewer (empty when ok).
    pub detail: String,
}

impl Check {
    fn new(rule: &str, ok: bool, detail: impl FnOnce() -> String) -> Check {
        Check {
            rule: rule.to_owned(),
            ok,
            detail: if ok { String::new() } else { detail() },
        }
    }
}

/// The tolerance AFIP's own rounding allows between the footer's parts and the total.
const TOLERANCE: Money = Money::from_minor(1);

fn close(a: Money, b: Money) -> bool {
    (a.minor() - b.minor()).abs() <= TOLERANCE.minor()
}

impl InvoiceData {
    pub fn net_taxed(&self) -> Money {
        self.vat.iter().map(|v| v.net).sum()
    }

    pub fn vat_total(&self) -> Money {
        self.vat.iter().map(|v| v.vat).sum()
    }

    pub fn perceptions(&self) -> Money {
        self.perception_vat + self.perception_iibb
    }

    /// Runs every rule; `our_cuit` is the shop's CUIT (the receiver check is skipped without it).
    pub fn checks(&self, our_cuit: Option<&Cuit>) -> Vec<Check> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        if self.voucher_type.is_none() {
            missing.push("tipo de comprobante");
        }
        if self.number.is_none() {
            missing.push("punto de venta y número");
        }
        if self.issue_date.is_none() {
            missing.push("fecha de emisión");
        }
        if self.issuer_cuit.is_none() {
            missing.push("CUIT del emisor");
        }
        if self.total.is_none() {
            missing.push("importe total");
        }
        out.push(Check::new("required", missing.is_empty(), || {
            format!("faltan: {}", missing.join(", "))
        }));

        if let Some(total) = self.total {
            let letter = self.voucher_type.map(|t| t.letter);
            let parts = self.net_taxed()
                + self.vat_total()
                + self.perceptions()
                + self.no_gravado
                + self.exento;
            // B and C invoices print no net/IVA footer: the lines (IVA included) carry the sum.
            let parts = if self.vat.is_empty() && !letter.is_some_and(Letter::discriminates_vat) {
                self.lines.iter().map(|l| l.subtotal).sum::<Money>() + self.perceptions()
            } else {
                parts
            };
            out.push(Check::new("totals", close(parts, total), || {
                format!(
                    "neto + IVA + percepciones + no gravado + exento = {} y el total dice {}",
                    format_ar_amount(parts),
                    format_ar_amount(total)
                )
            }));
        }

        let bad_lines: Vec<String> = self
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.computed_subtotal().is_some_and(|c| close(c, l.subtotal)))
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        let mut lines_ok = bad_lines.is_empty();
        let mut detail = format!(
            "cantidad × precio − bonificación no da el subtotal en las líneas {}",
            bad_lines.join(", ")
        );
        if lines_ok && !self.lines.is_empty() && !self.vat.is_empty() {
            let lines: Money = self.lines.iter().map(|l| l.subtotal).sum();
            let footer = self.net_taxed() + self.no_gravado + self.exento;
            if !close(lines, footer) {
                lines_ok = false;
                detail = format!(
                    "las líneas suman {} y el neto del pie {}",
                    format_ar_amount(lines),
                    format_ar_amount(footer)
                );
            }
        }
        out.push(Check::new("lines", lines_ok, || detail));

        if let Some(t) = self.voucher_type {
            let has_vat = !self.vat_total().is_zero();
            let ok = match t.letter {
                Letter::A | Letter::M => has_vat || self.net_taxed().is_zero(),
                Letter::C => !has_vat,
                Letter::B => true,
            };
            out.push(Check::new("letter_vat", ok, || match t.letter {
                Letter::C => "un comprobante C no puede discriminar IVA".to_owned(),
                _ => format!("un comprobante {} debe discriminar el IVA", t.letter),
            }));
        }

        if let Some(ours) = our_cuit {
            let ok = self.receiver_cuit.as_ref() == Some(ours);
            out.push(Check::new("receiver", ok, || match &self.receiver_cuit {
                Some(c) => format!("el comprobante está a nombre de la CUIT {c}, no de {ours}"),
                None => "no se encontró la CUIT del receptor".to_owned(),
            }));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
