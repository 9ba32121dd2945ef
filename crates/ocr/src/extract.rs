//! Field extraction from lines of text: AFIP's printed labels ("Punto de Venta:", "CAE N°:",
//! "Importe Total:") and the line-item table, with per-field confidence and source. The QR,
//! when decoded, overrides what it covers and the text is cross-checked against it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use domain::catalog::{VatCondition, VatRate};
use domain::invoice::qr::AfipQr;
use domain::invoice::{
    Cae, InvoiceData, InvoiceLine, Letter, VatAmount, VoucherNumber, VoucherType, parse_ar_money,
    parse_ar_qty,
};
use domain::{Cuit, Money};
use regex::Regex;
use serde::Serialize;

use crate::Source;
use crate::text::Line;

/// One extracted value, as text, with how sure we are and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    pub value: String,
    /// 0..=100.
    pub confidence: u8,
    pub source: Source,
}

/// An item line with the confidence of its weakest part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExtractedLine {
    #[serde(flatten)]
    pub line: InvoiceLine,
    pub confidence: u8,
    pub source: Source,
}

/// A field the QR states and the text contradicts: the QR wins, the reviewer is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    pub field: String,
    pub qr: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Extracted {
    pub data: InvoiceData,
    pub fields: BTreeMap<String, Field>,
    pub lines: Vec<ExtractedLine>,
    pub qr_mismatches: Vec<Mismatch>,
}

fn re(pattern: &str) -> Regex {
    // Patterns are literals of this module; a typo is caught by the unit tests.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
}

const AMOUNT: &str = r"-?\$?\s?(?:\d{1,3}(?:\.\d{3})+|\d+),\d{2}";
static RE_AMOUNT: LazyLock<Regex> = LazyLock::new(|| re(&format!("^{AMOUNT}$")));
static RE_CODE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bc?c.d(?:igo)?\.?\s*(?:n.\s*)?:?\s*0*(\d{1,3})\b"));
static RE_LETTER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:factura|nota de d.bito|nota de cr.dito)\s+([ABCM])\b"));
static RE_POS: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:punto de venta|pto\.?\s*vta\.?)\s*:?\s*(\d{1,5})\b"));
static RE_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:comp\.?\s*nro|n.mero)\s*:?\s*(\d{1,8})\b"));
static RE_POS_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bN\S{0,2}\s*(\d{4,5})\s*-\s*(\d{8})\b"));
static RE_DATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bfecha(?: de emisi.n)?\s*:?\s*(\d{2}/\d{2}/\d{4})"));
static RE_CUIT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bc\.?u\.?[i1l]\.?t\.?\s*(?:n.)?\s*:?\s*(\d{2}-?\d{8}-?\d)\b"));
static RE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^raz.n social\s*:?\s*(.+?)(?:\s+(?:punto de venta|pto\.? vta|fecha|cuit).*)?$")
});
static RE_CONDITION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:condici.n frente al iva\s*:?\s*)?(?:iva\s+)?(responsable inscripto|monotributo|exento|consumidor final)\b",
    )
});
static RE_CAE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bc\.?a\.?e\.?\s*(?:n\S{0,2})?\s*:?\s*(\d{14})\b"));
static RE_CAE_DUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bv(?:to|encimiento)\.?\s*(?:de\s*)?(?:del\s*)?c\.?a\.?e\.?\s*:?\s*(\d{2}/\d{2}/\d{4})",
    )
});
static RE_NET: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\bneto(?: gravado)?\s*(\d{{1,2}}(?:[.,]\d)?)\s*%\s*:?\s*({AMOUNT})"
    ))
});
static RE_VAT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\biva\s*(\d{{1,2}}(?:[.,]\d)?)\s*%\s*:?\s*({AMOUNT})"
    ))
});
static RE_NO_GRAVADO: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\bno gravado\s*:?\s*({AMOUNT})")));
static RE_EXENTO: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\bimporte exento\s*:?\s*({AMOUNT})")));
static RE_PERC_VAT: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(?:percepci.n|perc\.)\s*(?:de\s+)?iva\s*:?\s*({AMOUNT})"
    ))
});
static RE_PERC_IIBB: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(?:percepci.n|perc\.)\s*(?:de\s+)?(?:iibb|ingresos brutos)\s*:?\s*({AMOUNT})"
    ))
});
static RE_TOTAL: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"(?i)\b(?:importe\s+)?total\s*:?\s*({AMOUNT})")));
static RE_LOST_COMMA: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\$?\d{1,3}(?:\.\d{3})*\.\d{3})(\d{2})$"));
static RE_TABLE_HEAD: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:cantidad\b|cant\.).*\b(?:subtotal|importe)\b"));
static RE_TABLE_END: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^(?:neto|importe|subtotal|iva\s|percepci|perc\.|total|otros tributos|cae|c\.a\.e)")
});

/// OCR misreads inside numbers: O for 0, l/I/| for 1. Only tokens that are mostly digits are
/// touched, so words stay words.
fn fix_numeric(token: &str) -> String {
    let digits = token.bytes().filter(u8::is_ascii_digit).count();
    let allowed = token
        .chars()
        .all(|c| c.is_ascii_digit() || ".,$%-OoIl|".contains(c));
    if !(digits >= 2 && allowed) {
        return token.to_owned();
    }
    let fixed: String = token
        .chars()
        .map(|c| match c {
            'O' | 'o' => '0',
            'I' | 'l' | '|' => '1',
            c => c,
        })
        .collect();
    fix_separators(&fixed)
}

/// "14,215,92" or "14.215.92": OCR swapped a separator. The last one before exactly two
/// digits is the decimal comma, every earlier one a thousands dot.
fn fix_separators(token: &str) -> String {
    // "11.91411": the decimal comma was lost after a thousands group (five digits follow
    // the last dot, which a thousands dot never has).
    if let Some(m) = RE_LOST_COMMA.captures(token)
        && let (Some(int), Some(cents)) = (m.get(1), m.get(2))
    {
        return format!("{},{}", int.as_str(), cents.as_str());
    }
    let seps: Vec<usize> = token.match_indices(['.', ',']).map(|(i, _)| i).collect();
    let Some(&last) = seps.last() else {
        return token.to_owned();
    };
    let tail = &token[last + 1..];
    let two_decimals = tail.len() == 2 && tail.bytes().all(|b| b.is_ascii_digit());
    if seps.len() < 2 || !two_decimals {
        return token.to_owned();
    }
    token
        .char_indices()
        .map(|(i, c)| match c {
            '.' | ',' if i == last => ',',
            '.' | ',' => '.',
            c => c,
        })
        .collect()
}

/// Product codes: an 'O' touching a digit is a zero ("PUO520" → "PU0520").
fn fix_code(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let near_digit = |j: Option<usize>| {
                j.and_then(|j| chars.get(j))
                    .is_some_and(char::is_ascii_digit)
            };
            if *c == 'O' && (near_digit(i.checked_sub(1)) || near_digit(Some(i + 1))) {
                '0'
            } else {
                *c
            }
        })
        .collect()
}

/// A line rebuilt with numeric fixes, keeping word confidences.
fn normalise(line: &Line) -> Line {
    let mut out = Line::default();
    for w in &line.words {
        let mut w = w.clone();
        w.text = fix_numeric(&w.text);
        out.push(w);
    }
    out
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%d/%m/%Y").ok()
}

fn rate(s: &str) -> Option<VatRate> {
    VatRate::parse(s).ok()
}

/// A printed rate in an item row, tolerating one extra OCR digit ("10,55%" is 10,5 %): the
/// only rates that exist are 0, 10,5, 21 and 27, so a known prefix decides.
fn row_rate(s: &str) -> Option<VatRate> {
    rate(s).or_else(|| {
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        match digits.as_str() {
            d if d.starts_with("105") => Some(VatRate::Reduced),
            d if d.len() == 3 && d.starts_with("21") => Some(VatRate::General),
            d if d.len() == 3 && d.starts_with("27") => Some(VatRate::Increased),
            _ => None,
        }
    })
}

/// `(value, confidence, source)` of a capture group in a line.
fn capture(line: &Line, re: &Regex, group: usize) -> Option<(String, u8, Source)> {
    let caps = re.captures(line.text())?;
    let m = caps.get(group)?;
    Some((
        m.as_str().to_owned(),
        line.confidence_of(m.start(), m.end()),
        line.source(),
    ))
}

struct Builder {
    out: Extracted,
}

impl Builder {
    fn set(&mut self, name: &str, value: String, confidence: u8, source: Source) {
        self.out.fields.insert(
            name.to_owned(),
            Field {
                value,
                confidence,
                source,
            },
        );
    }

    fn first<T>(
        &mut self,
        lines: &[Line],
        name: &str,
        re: &Regex,
        parse: impl Fn(&str) -> Option<T>,
        display: impl Fn(&T) -> String,
    ) -> Option<T> {
        for l in lines {
            if let Some((raw, conf, src)) = capture(l, re, 1)
                && let Some(v) = parse(&raw)
            {
                self.set(name, display(&v), conf, src);
                return Some(v);
            }
        }
        None
    }
}

/// Reads every field from the lines; `qr` (already validated) overrides what it covers.
pub fn extract(lines: &[Line], qr: Option<&AfipQr>) -> Extracted {
    let lines: Vec<Line> = lines.iter().map(normalise).collect();
    let mut b = Builder {
        out: Extracted::default(),
    };
    let mut d = InvoiceData::default();

    // Voucher type: the code box ("COD. 01") is more reliable than the word "FACTURA A".
    let code = b.first(
        &lines,
        "voucher_code",
        &RE_CODE,
        |s| {
            s.parse::<u32>()
                .ok()
                .and_then(|c| VoucherType::from_code(c).ok())
        },
        |t| t.code().to_string(),
    );
    let letter = b.first(
        &lines,
        "letter",
        &RE_LETTER,
        |s| Letter::parse(s).ok(),
        |l| l.as_str().to_owned(),
    );
    d.voucher_type = code.or(letter.map(VoucherType::invoice));
    if let (Some(t), None) = (code, letter) {
        let f = b.out.fields.get("voucher_code").cloned();
        if let Some(f) = f {
            b.set(
                "letter",
                t.letter.as_str().to_owned(),
                f.confidence,
                f.source,
            );
        }
    }

    let mut pos = b.first(
        &lines,
        "point_of_sale",
        &RE_POS,
        |s| s.parse::<u32>().ok(),
        |v| format!("{v:05}"),
    );
    let mut num = b.first(
        &lines,
        "number",
        &RE_NUMBER,
        |s| s.parse::<u32>().ok(),
        |v| format!("{v:08}"),
    );
    if pos.is_none() || num.is_none() {
        for l in &lines {
            if let Some(caps) = RE_POS_NUMBER.captures(l.text())
                && let (Some(p), Some(n)) = (caps.get(1), caps.get(2))
            {
                let conf = l.confidence_of(p.start(), n.end());
                pos = p.as_str().parse().ok();
                num = n.as_str().parse().ok();
                if let (Some(p), Some(n)) = (pos, num) {
                    b.set("point_of_sale", format!("{p:05}"), conf, l.source());
                    b.set("number", format!("{n:08}"), conf, l.source());
                }
                break;
            }
        }
    }
    d.number = match (pos, num) {
        (Some(p), Some(n)) => VoucherNumber::new(p, n).ok(),
        _ => None,
    };

    d.issue_date = b.first(&lines, "issue_date", &RE_DATE, date, |v| v.to_string());

    // CUITs: the issuer's comes first (header), the receiver's is the next different one.
    let mut cuits: Vec<(Cuit, u8, Source)> = Vec::new();
    for l in &lines {
        for caps in RE_CUIT.captures_iter(l.text()) {
            if let Some(m) = caps.get(1)
                && let Ok(c) = Cuit::parse(m.as_str())
                && !cuits.iter().any(|(x, _, _)| *x == c)
            {
                cuits.push((c, l.confidence_of(m.start(), m.end()), l.source()));
            }
        }
    }
    if let Some((c, conf, src)) = cuits.first().cloned() {
        b.set("issuer_cuit", c.to_string(), conf, src);
        d.issuer_cuit = Some(c);
    }
    if let Some((c, conf, src)) = cuits.get(1).cloned() {
        b.set("receiver_cuit", c.to_string(), conf, src);
        d.receiver_cuit = Some(c);
    }

    d.issuer_name = b.first(
        &lines,
        "issuer_name",
        &RE_NAME,
        |s| Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        |s| s.clone(),
    );
    if d.issuer_name.is_none() {
        // Layouts without the label print the name near the top, alone or left of the
        // voucher title.
        for l in lines.iter().take(6) {
            let t = l.text();
            let upper = t.to_uppercase();
            let cut = ["FACTURA", "NOTA DE"]
                .iter()
                .filter_map(|k| upper.find(k))
                .min()
                .unwrap_or(t.len());
            let Some(name) = t.get(..cut).map(str::trim) else {
                continue;
            };
            let upper_name = name.to_uppercase();
            if name.chars().filter(|c| c.is_alphabetic()).count() >= 4
                && !name.contains(':')
                && !["ORIGINAL", "COD", "CÓD"]
                    .iter()
                    .any(|k| upper_name.contains(k))
            {
                let conf = l.confidence_of(0, name.len());
                b.set("issuer_name", name.to_owned(), conf, l.source());
                d.issuer_name = Some(name.to_owned());
                break;
            }
        }
    }
    d.issuer_vat_condition = b.first(
        &lines,
        "issuer_vat_condition",
        &RE_CONDITION,
        |s| {
            VatCondition::ALL
                .iter()
                .copied()
                .find(|c| c.label_es().eq_ignore_ascii_case(s))
        },
        |c| c.as_str().to_owned(),
    );
    d.cae = b.first(
        &lines,
        "cae",
        &RE_CAE,
        |s| Cae::parse(s).ok(),
        |c| c.to_string(),
    );
    d.cae_due = b.first(&lines, "cae_due", &RE_CAE_DUE, date, |v| v.to_string());

    // Footer.
    let money = |s: &str| parse_ar_money(&s.replace(['$', ' '], "")).ok();
    let mut nets: BTreeMap<VatRate, (Money, u8, Source)> = BTreeMap::new();
    let mut vats: BTreeMap<VatRate, (Money, u8, Source)> = BTreeMap::new();
    for l in &lines {
        for (re, map) in [(&*RE_NET, &mut nets), (&*RE_VAT, &mut vats)] {
            if let Some(caps) = re.captures(l.text())
                && let (Some(r), Some(a)) = (caps.get(1), caps.get(2))
                && let (Some(r), Some(v)) = (rate(r.as_str()), money(a.as_str()))
            {
                map.entry(r)
                    .or_insert((v, l.confidence_of(a.start(), a.end()), l.source()));
            }
        }
    }
    for (r, (v, conf, src)) in &vats {
        let (net, nconf, nsrc) = nets.get(r).copied().unwrap_or((Money::ZERO, 0, *src));
        if v.is_zero() && net.is_zero() {
            continue;
        }
        b.set(&format!("net_{}", r.as_str()), net.to_string(), nconf, nsrc);
        b.set(&format!("vat_{}", r.as_str()), v.to_string(), *conf, *src);
        d.vat.push(VatAmount {
            rate: *r,
            net,
            vat: *v,
        });
    }
    let mut amount = |name: &str, re: &Regex| {
        b.first(&lines, name, re, money, |m| m.to_string())
            .unwrap_or(Money::ZERO)
    };
    d.no_gravado = amount("no_gravado", &RE_NO_GRAVADO);
    d.exento = amount("exento", &RE_EXENTO);
    d.perception_vat = amount("perception_vat", &RE_PERC_VAT);
    d.perception_iibb = amount("perception_iibb", &RE_PERC_IIBB);
    d.total = b.first(&lines, "total", &RE_TOTAL, money, |m| m.to_string());

    b.out.lines = item_lines(&lines);
    d.lines = b.out.lines.iter().map(|l| l.line.clone()).collect();

    if let Some(qr) = qr {
        apply_qr(&mut b, &mut d, qr);
    }
    b.out.data = d;
    b.out
}

/// The QR is AFIP's own record of the voucher: its fields replace the text's, and every
/// disagreement is listed so a misread (or a tampered invoice) is visible.
fn apply_qr(b: &mut Builder, d: &mut InvoiceData, qr: &AfipQr) {
    let take = |b: &mut Builder, name: &str, qr_value: String| {
        if let Some(f) = b.out.fields.get(name)
            && f.value != qr_value
        {
            b.out.qr_mismatches.push(Mismatch {
                field: name.to_owned(),
                qr: qr_value.clone(),
                text: f.value.clone(),
            });
        }
        b.set(name, qr_value, 100, Source::Qr);
    };
    take(b, "voucher_code", qr.voucher_type.code().to_string());
    take(b, "letter", qr.voucher_type.letter.as_str().to_owned());
    take(
        b,
        "point_of_sale",
        format!("{:05}", qr.number.point_of_sale()),
    );
    take(b, "number", format!("{:08}", qr.number.number()));
    take(b, "issue_date", qr.date.to_string());
    take(b, "issuer_cuit", qr.issuer_cuit.to_string());
    take(b, "cae", qr.cae.to_string());
    take(b, "total", qr.total.to_string());
    d.voucher_type = Some(qr.voucher_type);
    d.number = Some(qr.number);
    d.issue_date = Some(qr.date);
    d.issuer_cuit = Some(qr.issuer_cuit.clone());
    d.cae = Some(qr.cae.clone());
    d.total = Some(qr.total);
    if let Some(r) = qr.receiver_cuit() {
        take(b, "receiver_cuit", r.to_string());
        d.receiver_cuit = Some(r);
    }
}

/// The item table: rows between the header ("Cantidad … Subtotal") and the footer, read
/// right to left (amounts are at the end, the description is whatever is left).
fn item_lines(lines: &[Line]) -> Vec<ExtractedLine> {
    let Some(start) = lines.iter().position(|l| RE_TABLE_HEAD.is_match(l.text())) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for l in &lines[start + 1..] {
        if RE_TABLE_END.is_match(l.text()) {
            break;
        }
        if let Some(x) = item_line(l) {
            out.push(x);
        }
    }
    out
}

fn item_line(l: &Line) -> Option<ExtractedLine> {
    let words = &l.words;
    let is_amount = |i: usize| words.get(i).is_some_and(|w| RE_AMOUNT.is_match(&w.text));
    let mut end = words.len();
    let mut used = Vec::new();
    // A/M rows end with "21% 1.210,00" (rate and subtotal with IVA); "21 %" also occurs.
    let mut vat_rate = None;
    if end >= 2 && is_amount(end - 1) {
        let r = &words[end - 2].text;
        let (rate_text, width) = if r == "%" && end >= 3 {
            (words[end - 3].text.clone(), 3)
        } else {
            (r.trim_end_matches('%').to_owned(), 2)
        };
        if r.ends_with('%')
            && let Some(found) = row_rate(&rate_text)
        {
            vat_rate = Some(found);
            used.extend(end - width..end);
            end -= width;
        }
    }
    // subtotal, discount %, unit price (right to left).
    if end < 4 || !(is_amount(end - 1) && is_amount(end - 2) && is_amount(end - 3)) {
        return None;
    }
    let subtotal = parse_ar_money(&words[end - 1].text.replace('$', "")).ok()?;
    let discount = parse_ar_money(&words[end - 2].text.replace('$', "")).ok()?;
    let unit_price = parse_ar_money(&words[end - 3].text.replace('$', "")).ok()?;
    used.extend(end - 3..end);
    end -= 3;
    // An optional unit word ("unidades", "kg") before the price, then the quantity.
    if end >= 1 && !words[end - 1].text.chars().any(|c| c.is_ascii_digit()) {
        used.push(end - 1);
        end -= 1;
    }
    let quantity = parse_ar_qty(&words.get(end.checked_sub(1)?)?.text).ok()?;
    used.push(end - 1);
    end -= 1;
    if end == 0 {
        return None;
    }
    let rest = &words[..end];
    // A leading token with digits and no lower-case letters is the product code.
    let first = &rest[0].text;
    let looks_like_code = rest.len() > 1
        && first.chars().any(|c| c.is_ascii_digit())
        && !first.chars().any(char::is_lowercase);
    let desc_from = usize::from(looks_like_code);
    let code = looks_like_code.then(|| fix_code(first));
    // Tokens with no letter or digit before the description are rule or box debris ("—").
    let desc: Vec<&str> = rest[desc_from..]
        .iter()
        .map(|w| w.text.as_str())
        .skip_while(|w| !w.chars().any(char::is_alphanumeric))
        .collect();
    let description = desc
        .iter()
        .enumerate()
        .map(|(k, w)| {
            // A unit after a number: OCR reads a lone "g" as "y" or "gy" ("500 y" is "500 g").
            let after_number =
                k > 0 && desc[k - 1].bytes().all(|b| b.is_ascii_digit() || b == b',');
            if matches!(*w, "y" | "gy" | "yg") && after_number {
                "g"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let confidence = used
        .iter()
        .chain(&(0..end).collect::<Vec<_>>())
        .filter_map(|i| words.get(*i))
        .map(|w| w.confidence)
        .min()
        .unwrap_or(0);
    Some(ExtractedLine {
        line: InvoiceLine {
            code,
            description,
            quantity,
            unit_price,
            discount_bp: discount.minor(),
            subtotal,
            vat_rate,
        },
        confidence,
        source: l.source(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_repairs() {
        assert_eq!(fix_numeric("14,215,92"), "14.215,92");
        assert_eq!(fix_numeric("1.234.56"), "1.234,56");
        assert_eq!(fix_numeric("1.O00,5O"), "1.000,50");
        assert_eq!(fix_numeric("1.000"), "1.000");
        assert_eq!(fix_numeric("IVA"), "IVA");
        assert_eq!(fix_numeric("Il"), "Il");
        let code = |t: &str| {
            RE_CODE
                .captures(t)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned())
        };
        assert_eq!(code("CcoD. 11").as_deref(), Some("11"));
        assert_eq!(code("Cód. 006").as_deref(), Some("6"));
        assert_eq!(fix_numeric("11.91411"), "11.914,11");
        assert_eq!(fix_numeric("1.234.56789"), "1.234.567,89");
        assert_eq!(fix_numeric("91411"), "91411");
        assert_eq!(fix_code("PUO520"), "PU0520");
        assert_eq!(fix_code("OSO"), "OSO");
        assert_eq!(row_rate("10,55"), Some(VatRate::Reduced));
        assert_eq!(row_rate("21"), Some(VatRate::General));
        assert_eq!(row_rate("35"), None);
    }

    #[test]
    fn item_rows_with_and_without_vat_columns() {
        let a = Line::from_text(
            "LE1000 Leche Entera Sachet 1 L 12,00 unidades 19.875,19 10,00 214.652,05 27% 272.608,10",
            Source::Ocr,
            90,
        );
        let x = item_line(&a).unwrap_or_else(|| unreachable!());
        assert_eq!(x.line.code.as_deref(), Some("LE1000"));
        assert_eq!(x.line.description, "Leche Entera Sachet 1 L");
        assert_eq!(x.line.quantity, domain::Qty::units(12));
        assert_eq!(x.line.discount_bp, 1000);
        assert_eq!(x.line.subtotal, Money::from_minor(21_465_205));
        assert_eq!(x.line.vat_rate, Some(VatRate::Increased));
        let b = Line::from_text("Fideos 2,00 150,00 0,00 300,00", Source::TextLayer, 99);
        let x = item_line(&b).unwrap_or_else(|| unreachable!());
        assert_eq!((x.line.code, x.line.description.as_str()), (None, "Fideos"));
        assert_eq!(x.line.vat_rate, None);
        assert!(item_line(&Line::from_text("Importe Total: $ 1,00", Source::Ocr, 90)).is_none());
        // Debris between a long barcode and the description; a "g" read as "yg".
        let c = normalise(&Line::from_text(
            "7791234000017 — Fideos Tirabuzon 500 yg 21,00 unidades 9.017,19 0,00 18.936O99",
            Source::Ocr,
            90,
        ));
        assert!(item_line(&c).is_none(), "18.936O99 is no amount");
        let c = normalise(&Line::from_text(
            "7791234000017 — Fideos Tirabuzon 500 yg 21,00 unidades 9.017,19 0,00 189.36099",
            Source::Ocr,
            90,
        ));
        let x = item_line(&c).unwrap_or_else(|| unreachable!());
        assert_eq!(x.line.description, "Fideos Tirabuzon 500 g");
        assert_eq!(x.line.subtotal, Money::from_minor(18_936_099));
    }
}
