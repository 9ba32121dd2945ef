//! Shelf labels: an A4 PDF with the name, the es-AR price, the price per kg or litre, the
//! EAN-13 drawn as bars and the date. Built with the PDF base fonts, so it needs nothing at
//! run time (no font files, no network).

use chrono::NaiveDate;
use domain::auth::Permission;
use domain::catalog::UnitOfMeasure;
use domain::{Gtin, Money};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::App;
use crate::error::{Error, Result};
use crate::write::{Principal, WriteMeta};

/// Page and grid, in PDF points (1/72 in): A4 with 3 × 7 labels.
pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 842.0;
pub const COLUMNS: usize = 3;
pub const ROWS: usize = 7;
pub const MARGIN_X: f32 = 12.5;
pub const MARGIN_Y: f32 = 15.5;
pub const LABEL_W: f32 = 190.0;
pub const LABEL_H: f32 = 115.8;
/// Width of one EAN-13 module (bar unit); 1.3 pt is about 0.46 mm, within the standard's range.
const MODULE: f32 = 1.3;
const BAR_H: f32 = 40.0;

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelRequest {
    /// Print these products (up to 2 000).
    #[serde(default)]
    pub product_ids: Option<Vec<i64>>,
    /// Print every active product whose price changed since the last recorded print.
    #[serde(default)]
    pub changed_since_last_print: bool,
}

/// What a label shows of one product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelItem {
    pub product_id: i64,
    pub name: String,
    pub unit: UnitOfMeasure,
    pub price: Money,
    /// The first EAN-13 among its barcodes.
    pub ean13: Option<String>,
}

/// The PDF and how many labels it holds.
pub struct ShelfLabels {
    pub pdf: Vec<u8>,
    pub count: usize,
}

/// The 95 modules of an EAN-13 (true = bar), from its 13 digits.
pub fn ean13_modules(code: &str) -> Option<Vec<bool>> {
    const L: [&str; 10] = [
        "0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011",
        "0110111", "0001011",
    ];
    const G: [&str; 10] = [
        "0100111", "0110011", "0011011", "0100001", "0011101", "0111001", "0000101", "0010001",
        "0001001", "0010111",
    ];
    const R: [&str; 10] = [
        "1110010", "1100110", "1101100", "1000010", "1011100", "1001110", "1010000", "1000100",
        "1001000", "1110100",
    ];
    const PARITY: [&str; 10] = [
        "LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLG", "LGLGLG", "LGLGGL",
        "LGGLGL",
    ];
    let digits: Vec<usize> = code
        .bytes()
        .map(|b| b.is_ascii_digit().then(|| usize::from(b - b'0')))
        .collect::<Option<_>>()?;
    if digits.len() != 13 {
        return None;
    }
    let mut bits = String::with_capacity(95);
    bits.push_str("101");
    for (i, parity) in PARITY[digits[0]].chars().enumerate() {
        let d = digits[1 + i];
        bits.push_str(if parity == 'L' { L[d] } else { G[d] });
    }
    bits.push_str("01010");
    for d in &digits[7..13] {
        bits.push_str(R[*d]);
    }
    bits.push_str("101");
    Some(bits.chars().map(|c| c == '1').collect())
}

/// WinAnsi bytes for the base fonts; characters outside Latin-1 print as '?'.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn text(c: &mut Content, font: &[u8], size: f32, x: f32, y: f32, s: &str) {
    let bytes = win_ansi(s);
    c.begin_text();
    c.set_font(Name(font), size);
    c.next_line(x, y);
    c.show(Str(&bytes));
    c.end_text();
}

/// Top-left corner (x, y from the bottom) of label `i` on its page.
pub fn label_origin(i: usize) -> (f32, f32) {
    let slot = i % (COLUMNS * ROWS);
    let (col, row) = (slot % COLUMNS, slot / COLUMNS);
    (
        MARGIN_X + col as f32 * (LABEL_W + 5.0),
        PAGE_H - MARGIN_Y - row as f32 * LABEL_H,
    )
}

/// Renders the labels, 21 to a page; `date` is printed on each.
pub fn render(items: &[LabelItem], date: NaiveDate) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let per_page = COLUMNS * ROWS;
    let pages = items.len().div_ceil(per_page).max(1);
    let page_ids: Vec<Ref> = (0..pages).map(|p| Ref::new(5 + 2 * p as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let date_text = date.format("%d/%m/%Y").to_string();
    for (p, page_id) in page_ids.iter().enumerate() {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(content_id);
        {
            let mut res = page.resources();
            let mut fonts = res.fonts();
            fonts.pair(Name(b"F1"), regular);
            fonts.pair(Name(b"F2"), bold);
        }
        page.finish();
        let mut c = Content::new();
        for (i, item) in items.iter().enumerate().skip(p * per_page).take(per_page) {
            let (x, top) = label_origin(i);
            // A thin frame to cut along.
            c.set_stroke_gray(0.6);
            c.set_line_width(0.5);
            c.rect(x, top - LABEL_H + 2.0, LABEL_W, LABEL_H - 4.0);
            c.stroke();
            c.set_fill_gray(0.0);
            text(
                &mut c,
                b"F1",
                9.0,
                x + 6.0,
                top - 14.0,
                &truncate(&item.name, 38),
            );
            text(
                &mut c,
                b"F2",
                20.0,
                x + 6.0,
                top - 36.0,
                &item.price.format_ar(),
            );
            let per = match item.unit {
                UnitOfMeasure::Kg => Some("kg"),
                UnitOfMeasure::L => Some("litro"),
                UnitOfMeasure::Unit => None,
            };
            if let Some(per) = per {
                text(
                    &mut c,
                    b"F1",
                    8.0,
                    x + 6.0,
                    top - 47.0,
                    &format!("Precio por {per}: {}", item.price.format_ar()),
                );
            }
            text(
                &mut c,
                b"F1",
                7.0,
                x + LABEL_W - 48.0,
                top - 14.0,
                &date_text,
            );
            if let Some(modules) = item.ean13.as_deref().and_then(ean13_modules) {
                // Quiet zone of 11 modules on the left is inside the label's margin.
                let bx = x + 6.0 + 11.0 * MODULE;
                let by = top - LABEL_H + 16.0;
                for (k, on) in modules.iter().enumerate() {
                    if *on {
                        c.rect(bx + k as f32 * MODULE, by, MODULE, BAR_H);
                    }
                }
                c.fill_nonzero();
                if let Some(code) = &item.ean13 {
                    text(&mut c, b"F1", 7.0, bx + 20.0, by - 9.0, code);
                }
            }
        }
        let data = c.finish();
        pdf.stream(content_id, &data);
    }
    pdf.finish()
}

impl App {
    pub async fn shelf_labels(
        &self,
        actor: &Principal,
        req: LabelRequest,
        meta: WriteMeta,
    ) -> Result<ShelfLabels> {
        actor.require(Permission::PricingWrite)?;
        let ids = match (&req.product_ids, req.changed_since_last_print) {
            (Some(_), true) | (None, false) => {
                return Err(Error::invalid(
                    "product_ids",
                    "one_of",
                    "indique product_ids o changed_since_last_print, uno de los dos",
                ));
            }
            (Some(ids), false) => {
                if ids.is_empty() || ids.len() > 2_000 {
                    return Err(Error::invalid(
                        "product_ids",
                        "length",
                        "indique entre 1 y 2000 productos",
                    ));
                }
                ids.clone()
            }
            (None, true) => self.store.prices_changed_since_last_print().await?,
        };
        let items = self.store.label_items(&ids).await?;
        if let Some(pos) = ids
            .iter()
            .position(|id| !items.iter().any(|i| i.product_id == *id))
        {
            return Err(Error::unknown(
                format!("product_ids[{pos}]"),
                format!("el producto {} no existe", ids[pos]),
            ));
        }
        let pdf = render(&items, crate::pricing::shop_date(meta.now));
        self.store.record_label_print(&meta, items.len()).await?;
        Ok(ShelfLabels {
            pdf,
            count: items.len(),
        })
    }
}

/// Keeps the first EAN-13 of a product's barcodes.
pub fn first_ean13<'a>(codes: impl IntoIterator<Item = &'a str>) -> Option<String> {
    codes
        .into_iter()
        .filter_map(|c| Gtin::parse(c).ok())
        .find(|g| g.as_str().len() == 13)
        .map(|g| g.as_str().to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ean13_layout() {
        let m = ean13_modules("7790001000019").unwrap();
        assert_eq!(m.len(), 95);
        // Guards: 101 at both ends and 01010 in the middle.
        assert_eq!(&m[..3], &[true, false, true]);
        assert_eq!(&m[92..], &[true, false, true]);
        assert_eq!(&m[45..50], &[false, true, false, true, false]);
        assert!(ean13_modules("123").is_none());
        assert!(ean13_modules("77900010000a9").is_none());
    }

    #[test]
    fn pdf_has_one_page_per_21_labels() {
        let item = LabelItem {
            product_id: 1,
            name: "Yerba mate 1 kg ñandú".into(),
            unit: UnitOfMeasure::Kg,
            price: Money::from_minor(123_456),
            ean13: Some("7790001000019".into()),
        };
        let pdf = render(
            &vec![item; 22],
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        );
        let s = String::from_utf8_lossy(&pdf);
        assert!(s.starts_with("%PDF-"));
        assert!(s.contains("/Count 2"), "two pages");
    }
}
