//! Libro IVA Digital (RG 4597): the purchases and sales books as AFIP's fixed-width text files
//! (one "comprobantes" file and one "alícuotas" file per book, CRLF line ends, ASCII), plus a
//! semicolon CSV a person can open. Pure formatting: the caller supplies the period's vouchers.

use chrono::NaiveDate;
use serde::Serialize;

use super::{VatAmount, VoucherType, format_ar_amount};
use crate::catalog::VatRate;
use crate::cuit::Cuit;
use crate::money::Money;

/// AFIP document codes used in the books.
pub const DOC_CUIT: u32 = 80;
pub const DOC_CONSUMER: u32 = 99;

/// AFIP voucher code for a POS "tique" to a final consumer.
pub const TIQUE: u32 = 83;

/// A posted supplier voucher (one line of the purchases book).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurchaseEntry {
    pub date: NaiveDate,
    pub voucher_type: VoucherType,
    pub point_of_sale: u32,
    pub number: u32,
    pub seller_cuit: Cuit,
    pub seller_name: String,
    pub total: Money,
    pub no_gravado: Money,
    pub exento: Money,
    pub perception_vat: Money,
    pub perception_iibb: Money,
    pub vat: Vec<VatAmount>,
}

/// A sales voucher (one line of the sales book).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SaleEntry {
    pub date: NaiveDate,
    pub voucher_code: u32,
    pub point_of_sale: u32,
    pub number: u32,
    pub buyer_doc_type: u32,
    pub buyer_doc: u64,
    pub buyer_name: String,
    pub total: Money,
    pub no_gravado: Money,
    pub exento: Money,
    pub vat: Vec<VatAmount>,
}

/// The three files of one book.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BookFiles {
    pub comprobantes: String,
    pub alicuotas: String,
    pub csv: String,
}

/// AFIP's alícuota code for a rate.
pub const fn rate_code(rate: VatRate) -> u32 {
    match rate {
        VatRate::Zero => 3,
        VatRate::Reduced => 4,
        VatRate::General => 5,
        VatRate::Increased => 6,
    }
}

/// Amounts: 13 integer digits and 2 decimals without a point; negatives lead with '-'.
fn amount(m: Money) -> String {
    if m.is_negative() {
        format!("-{:014}", m.minor().unsigned_abs())
    } else {
        format!("{:015}", m.minor())
    }
}

fn num(n: u64, width: usize) -> String {
    format!("{n:0width$}")
}

/// Names: upper case, accents folded to ASCII, padded or cut to the width.
fn name(s: &str, width: usize) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            'á' | 'Á' | 'à' | 'À' | 'ä' | 'Ä' => 'A',
            'é' | 'É' | 'è' | 'È' | 'ë' | 'Ë' => 'E',
            'í' | 'Í' | 'ì' | 'Ì' | 'ï' | 'Ï' => 'I',
            'ó' | 'Ó' | 'ò' | 'Ò' | 'ö' | 'Ö' => 'O',
            'ú' | 'Ú' | 'ù' | 'Ù' | 'ü' | 'Ü' => 'U',
            'ñ' | 'Ñ' => 'N',
            c if c.is_ascii() && !c.is_ascii_control() => c.to_ascii_uppercase(),
            _ => ' ',
        })
        .take(width)
        .collect();
    format!("{folded:<width$}")
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

const PESOS: &str = "PES";
const RATE_ONE: &str = "0001000000";
/// Código de operación: "0" = no corresponde (ordinary taxed operation).
const NO_SPECIAL_OPERATION: &str = "0";
const CRLF: &str = "\r\n";

/// Rates to list: letters that do not discriminate IVA list none; a discriminating voucher
/// with no taxed amount lists one 0 % line, as AFIP requires at least one.
fn purchase_rates(e: &PurchaseEntry) -> Vec<VatAmount> {
    if !e.voucher_type.letter.discriminates_vat() {
        return Vec::new();
    }
    if e.vat.is_empty() {
        return vec![VatAmount {
            rate: VatRate::Zero,
            net: Money::ZERO,
            vat: Money::ZERO,
        }];
    }
    e.vat.clone()
}

/// The purchases book (LIBRO_IVA_DIGITAL_COMPRAS_CBTE / _ALICUOTAS) for the given vouchers,
/// in the order given.
pub fn purchases_book(entries: &[PurchaseEntry]) -> BookFiles {
    let mut cbte = String::new();
    let mut alic = String::new();
    let mut csv = String::from(
        "Fecha;Tipo;Punto de venta;Número;CUIT vendedor;Vendedor;Neto gravado;IVA;No gravado;Exento;Percepciones IVA;Percepciones IIBB;Total\r\n",
    );
    for e in entries {
        let rates = purchase_rates(e);
        let credit: Money = rates.iter().map(|r| r.vat).sum();
        let code = e.voucher_type.code();
        let seller = e.seller_cuit.as_str().parse::<u64>().unwrap_or(0);
        let fields = [
            date(e.date),
            num(code.into(), 3),
            num(e.point_of_sale.into(), 5),
            num(e.number.into(), 20),
            name("", 16),
            num(DOC_CUIT.into(), 2),
            num(seller, 20),
            name(&e.seller_name, 30),
            amount(e.total),
            amount(e.no_gravado),
            amount(e.exento),
            amount(e.perception_vat),
            amount(Money::ZERO),
            amount(e.perception_iibb),
            amount(Money::ZERO),
            amount(Money::ZERO),
            PESOS.to_owned(),
            RATE_ONE.to_owned(),
            num(rates.len() as u64, 1),
            NO_SPECIAL_OPERATION.to_owned(),
            amount(credit),
            amount(Money::ZERO),
            num(0, 11),
            name("", 30),
            amount(Money::ZERO),
        ];
        cbte.push_str(&fields.concat());
        cbte.push_str(CRLF);
        for r in &rates {
            let fields = [
                num(code.into(), 3),
                num(e.point_of_sale.into(), 5),
                num(e.number.into(), 20),
                num(DOC_CUIT.into(), 2),
                num(seller, 20),
                amount(r.net),
                num(rate_code(r.rate).into(), 4),
                amount(r.vat),
            ];
            alic.push_str(&fields.concat());
            alic.push_str(CRLF);
        }
        let net: Money = e.vat.iter().map(|v| v.net).sum();
        let vat: Money = e.vat.iter().map(|v| v.vat).sum();
        csv.push_str(&format!(
            "{};{};{:05};{:08};{};{};{};{};{};{};{};{};{}\r\n",
            e.date.format("%d/%m/%Y"),
            e.voucher_type,
            e.point_of_sale,
            e.number,
            e.seller_cuit,
            e.seller_name.replace(';', ","),
            format_ar_amount(net),
            format_ar_amount(vat),
            format_ar_amount(e.no_gravado),
            format_ar_amount(e.exento),
            format_ar_amount(e.perception_vat),
            format_ar_amount(e.perception_iibb),
            format_ar_amount(e.total),
        ));
    }
    BookFiles {
        comprobantes: cbte,
        alicuotas: alic,
        csv,
    }
}

/// The sales book (LIBRO_IVA_DIGITAL_VENTAS_CBTE / _ALICUOTAS) for the given vouchers.
pub fn sales_book(entries: &[SaleEntry]) -> BookFiles {
    let mut cbte = String::new();
    let mut alic = String::new();
    let mut csv = String::from(
        "Fecha;Tipo;Punto de venta;Número;Documento comprador;Comprador;Neto gravado;IVA;No gravado;Exento;Total\r\n",
    );
    for e in entries {
        let rates = if e.vat.is_empty() {
            vec![VatAmount {
                rate: VatRate::Zero,
                net: Money::ZERO,
                vat: Money::ZERO,
            }]
        } else {
            e.vat.clone()
        };
        let fields = [
            date(e.date),
            num(e.voucher_code.into(), 3),
            num(e.point_of_sale.into(), 5),
            num(e.number.into(), 20),
            num(e.number.into(), 20),
            num(e.buyer_doc_type.into(), 2),
            num(e.buyer_doc, 20),
            name(&e.buyer_name, 30),
            amount(e.total),
            amount(e.no_gravado),
            amount(Money::ZERO),
            amount(e.exento),
            amount(Money::ZERO),
            amount(Money::ZERO),
            amount(Money::ZERO),
            amount(Money::ZERO),
            PESOS.to_owned(),
            RATE_ONE.to_owned(),
            num(rates.len() as u64, 1),
            NO_SPECIAL_OPERATION.to_owned(),
            amount(Money::ZERO),
            num(0, 8),
        ];
        cbte.push_str(&fields.concat());
        cbte.push_str(CRLF);
        for r in &rates {
            let fields = [
                num(e.voucher_code.into(), 3),
                num(e.point_of_sale.into(), 5),
                num(e.number.into(), 20),
                amount(r.net),
                num(rate_code(r.rate).into(), 4),
                amount(r.vat),
            ];
            alic.push_str(&fields.concat());
            alic.push_str(CRLF);
        }
        let net: Money = e.vat.iter().map(|v| v.net).sum();
        let vat: Money = e.vat.iter().map(|v| v.vat).sum();
        csv.push_str(&format!(
            "{};{:03};{:05};{:08};{};{};{};{};{};{};{}\r\n",
            e.date.format("%d/%m/%Y"),
            e.voucher_code,
            e.point_of_sale,
            e.number,
            e.buyer_doc,
            e.buyer_name.replace(';', ","),
            format_ar_amount(net),
            format_ar_amount(vat),
            format_ar_amount(e.no_gravado),
            format_ar_amount(e.exento),
            format_ar_amount(e.total),
        ));
    }
    BookFiles {
        comprobantes: cbte,
        alicuotas: alic,
        csv,
    }
}
