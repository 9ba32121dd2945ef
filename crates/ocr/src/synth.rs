//! Synthetic AFIP invoices with known ground truth, for accuracy runs and tests: two layouts,
//! Debian's DejaVu fonts, letters A/B/C, 1–30 lines, with or without the QR, and the
//! degradations a phone or scanner adds (rotation, blur, noise, JPEG, low dpi).

use std::path::Path;

use ab_glyph::{FontVec, PxScale};
use chrono::{Duration, NaiveDate};
use domain::catalog::{VatCondition, VatRate};
use domain::invoice::qr::AfipQr;
use domain::invoice::{
    Cae, InvoiceData, InvoiceLine, Letter, VatAmount, VoucherNumber, VoucherType, format_ar_amount,
};
use domain::{Cuit, Money, Qty};
use image::{GrayImage, Luma};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// Where Debian's fonts-dejavu-core puts its TTFs.
pub const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
const FONT_FILES: [&str; 3] = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf"];
const BOLD_FILE: &str = "DejaVuSans-Bold.ttf";

/// The regular faces (one per "font" choice) and a bold face for headings.
pub struct Fonts {
    pub regular: Vec<(String, FontVec)>,
    pub bold: FontVec,
}

impl Fonts {
    pub fn load(dir: &Path) -> Result<Fonts, String> {
        let read = |f: &str| {
            let bytes = std::fs::read(dir.join(f)).map_err(|e| format!("{f}: {e}"))?;
            FontVec::try_from_vec(bytes).map_err(|e| format!("{f}: {e}"))
        };
        let mut regular = Vec::new();
        for f in FONT_FILES {
            regular.push((f.trim_end_matches(".ttf").to_owned(), read(f)?));
        }
        Ok(Fonts {
            regular,
            bold: read(BOLD_FILE)?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Degradation {
    Clean,
    Rotated,
    Blurred,
    Noisy,
    Jpeg,
    LowDpi,
}

impl Degradation {
    pub const ALL: [Degradation; 6] = [
        Degradation::Clean,
        Degradation::Rotated,
        Degradation::Blurred,
        Degradation::Noisy,
        Degradation::Jpeg,
        Degradation::LowDpi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Degradation::Clean => "clean",
            Degradation::Rotated => "rotated",
            Degradation::Blurred => "blurred",
            Degradation::Noisy => "noisy",
            Degradation::Jpeg => "jpeg",
            Degradation::LowDpi => "low_dpi",
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub seed: u64,
    pub layout: u8,
    pub font: usize,
    pub letter: Letter,
    pub lines: usize,
    pub qr: bool,
    pub degradation: Degradation,
}

/// A generated invoice: the file's bytes and what it says.
pub struct Sample {
    pub spec: Spec,
    pub truth: InvoiceData,
    pub bytes: Vec<u8>,
}

/// A balanced set: half the invoices clean, the other half rotating through the five
/// degradations (so a run of N has N/2 clean pages to measure the ≥ 98 % target on, not N/6);
/// letters, layouts and fonts random, half with QR.
pub fn specs(count: usize, seed: u64) -> Vec<Spec> {
    let mut rng = StdRng::seed_from_u64(seed);
    let degraded = &Degradation::ALL[1..];
    (0..count)
        .map(|i| Spec {
            seed: rng.random(),
            layout: rng.random_range(0..2),
            font: rng.random_range(0..FONT_FILES.len()),
            letter: [Letter::A, Letter::B, Letter::C][rng.random_range(0..3)],
            lines: rng.random_range(1..=30),
            qr: rng.random_bool(0.5),
            degradation: if i % 2 == 0 {
                Degradation::Clean
            } else {
                degraded[(i / 2) % degraded.len()]
            },
        })
        .collect()
}

const ISSUERS: [&str; 8] = [
    "Distribuidora Sur SA",
    "Mayorista El Ceibo SRL",
    "Lacteos del Oeste SA",
    "Almacen Mayorista Norte SRL",
    "Bebidas La Pampa SA",
    "Panificadora San Jose SRL",
    "Limpieza Total SA",
    "Frigorifico Los Alamos SA",
];

const PRODUCTS: [(&str, &str); 24] = [
    ("7790070410123", "Yerba Mate Suave 1 kg"),
    ("YM500", "Yerba Mate 500 g"),
    ("7790580123457", "Aceite Girasol 900 ml"),
    ("AZ1000", "Azucar Comun 1 kg"),
    ("7791234000017", "Fideos Tirabuzon 500 g"),
    ("AR1000", "Arroz Largo Fino 1 kg"),
    ("LE1000", "Leche Entera Sachet 1 L"),
    ("7790895000010", "Galletitas Dulces 300 g"),
    ("HA1000", "Harina de Trigo 000"),
    ("CA0250", "Cafe Molido 250 g"),
    ("TE0050", "Te en Saquitos x 50"),
    ("7798085680123", "Mermelada Durazno 454 g"),
    ("DL0400", "Dulce de Leche 400 g"),
    ("QR0500", "Queso Rallado 150 g"),
    ("AG2000", "Agua Mineral 2 L"),
    ("GA1500", "Gaseosa Cola 1,5 L"),
    ("JA0400", "Jabon en Polvo 400 g"),
    ("LV0750", "Lavandina 1 L"),
    ("PH0004", "Papel Higienico x 4"),
    ("7790040123456", "Sal Fina 500 g"),
    ("PU0520", "Pure de Tomate 520 g"),
    ("AT0170", "Atun al Natural 170 g"),
    ("LE0410", "Lentejas Secas 400 g"),
    ("VI0750", "Vino Tinto Malbec 750 ml"),
];

fn random_cuit(rng: &mut StdRng, prefix: &str) -> Cuit {
    loop {
        let body = format!("{prefix}{:08}", rng.random_range(10_000_000..99_999_999u32));
        if let Some(dv) = domain::cuit::check_digit(&body)
            && let Ok(c) = Cuit::parse(&format!("{body}{dv}"))
        {
            return c;
        }
    }
}

fn round_bp(amount: Money, bp: i64) -> Money {
    let n = i128::from(amount.minor()) * i128::from(bp);
    let q = n / 10_000;
    let r = n % 10_000;
    let q = if 2 * r.abs() >= 10_000 {
        q + n.signum()
    } else {
        q
    };
    Money::from_minor(i64::try_from(q).unwrap_or(0))
}

/// The invoice's content, consistent by construction (every check passes).
pub fn truth(spec: &Spec, receiver: &Cuit) -> InvoiceData {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let letter = spec.letter;
    let issuer_name = ISSUERS[rng.random_range(0..ISSUERS.len())].to_owned();
    let issuer_cuit = random_cuit(&mut rng, if letter == Letter::C { "20" } else { "30" });
    let date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default()
        + Duration::days(rng.random_range(0..300));
    let rates = [
        VatRate::General,
        VatRate::Reduced,
        VatRate::General,
        VatRate::Increased,
    ];
    let mut lines = Vec::new();
    for _ in 0..spec.lines.clamp(1, 30) {
        let (code, desc) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
        let quantity = Qty::units(rng.random_range(1..=24));
        let unit_price = Money::from_minor(rng.random_range(5_000..2_000_000));
        let discount_bp = [0, 0, 0, 500, 1000][rng.random_range(0..5)];
        let vat_rate = letter
            .discriminates_vat()
            .then(|| rates[rng.random_range(0..rates.len())]);
        let mut l = InvoiceLine {
            code: (spec.layout == 0 || rng.random_bool(0.7)).then(|| code.to_owned()),
            description: desc.to_owned(),
            quantity,
            unit_price,
            discount_bp,
            subtotal: Money::ZERO,
            vat_rate,
        };
        l.subtotal = l.computed_subtotal().unwrap_or(Money::ZERO);
        lines.push(l);
    }
    let mut vat = Vec::new();
    for r in VatRate::ALL {
        let net: Money = lines
            .iter()
            .filter(|l| l.vat_rate == Some(*r))
            .map(|l| l.subtotal)
            .sum();
        if !net.is_zero() {
            vat.push(VatAmount {
                rate: *r,
                net,
                vat: round_bp(net, r.basis_points()),
            });
        }
    }
    let base: Money = lines.iter().map(|l| l.subtotal).sum();
    let perception_iibb = if letter != Letter::C && rng.random_bool(0.4) {
        round_bp(base, 300)
    } else {
        Money::ZERO
    };
    let perception_vat = if letter == Letter::A && rng.random_bool(0.3) {
        round_bp(base, 150)
    } else {
        Money::ZERO
    };
    let vat_total: Money = vat.iter().map(|v| v.vat).sum();
    let total = base + vat_total + perception_iibb + perception_vat;
    let cae = format!("7{:013}", rng.random_range(0..9_999_999_999_999u64));
    InvoiceData {
        voucher_type: Some(VoucherType::invoice(letter)),
        number: VoucherNumber::new(rng.random_range(1..=20), rng.random_range(1..=99_999)).ok(),
        issue_date: Some(date),
        issuer_cuit: Some(issuer_cuit),
        issuer_name: Some(issuer_name),
        issuer_vat_condition: Some(if letter == Letter::C {
            VatCondition::Monotributo
        } else {
            VatCondition::ResponsableInscripto
        }),
        receiver_cuit: Some(receiver.clone()),
        cae: Cae::parse(&cae).ok(),
        cae_due: Some(date + Duration::days(10)),
        lines,
        vat,
        no_gravado: Money::ZERO,
        exento: Money::ZERO,
        perception_vat,
        perception_iibb,
        total: Some(total),
    }
}

/// The QR an issuer would print for this invoice.
pub fn qr_for(d: &InvoiceData) -> Option<AfipQr> {
    Some(AfipQr {
        version: 1,
        date: d.issue_date?,
        issuer_cuit: d.issuer_cuit.clone()?,
        voucher_type: d.voucher_type?,
        number: d.number?,
        total: d.total?,
        currency: "PES".into(),
        exchange_rate: "1".into(),
        receiver_doc_type: Some(80),
        receiver_doc: d.receiver_cuit.as_ref()?.as_str().parse().ok(),
        auth_type: "E".into(),
        cae: d.cae.clone()?,
    })
}

struct Canvas<'a> {
    img: GrayImage,
    dpi: f32,
    font: &'a FontVec,
    bold: &'a FontVec,
}

const INK: Luma<u8> = Luma([20]);

impl Canvas<'_> {
    fn px(&self, inches: f32) -> i32 {
        (inches * self.dpi).round() as i32
    }

    fn scale(&self, pt: f32) -> PxScale {
        PxScale::from(pt * self.dpi / 72.0)
    }

    fn text(&mut self, x: f32, y: f32, pt: f32, bold: bool, s: &str) {
        let font = if bold { self.bold } else { self.font };
        let (x, y, scale) = (self.px(x), self.px(y), self.scale(pt));
        draw_text_mut(&mut self.img, INK, x, y, scale, font, s);
    }

    /// Right-aligned at `x`.
    fn text_r(&mut self, x: f32, y: f32, pt: f32, s: &str) {
        let (w, _) = text_size(self.scale(pt), self.font, s);
        let (x, y) = (self.px(x) - w as i32, self.px(y));
        let scale = self.scale(pt);
        draw_text_mut(&mut self.img, INK, x, y, scale, self.font, s);
    }

    fn rule(&mut self, y: f32) {
        let (x0, y0, w) = (self.px(0.3), self.px(y), self.px(7.67) as u32);
        draw_filled_rect_mut(&mut self.img, Rect::at(x0, y0).of_size(w, 2), INK);
    }

    fn qr(&mut self, x: f32, y: f32, url: &str) {
        let Ok(code) = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M) else {
            return;
        };
        let module = ((self.dpi / 40.0).round() as u32).max(3);
        let width = code.width();
        let (x0, y0) = (self.px(x), self.px(y));
        for (i, c) in code.to_colors().iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (cx, cy) = ((i % width) as i32, (i / width) as i32);
                draw_filled_rect_mut(
                    &mut self.img,
                    Rect::at(x0 + cx * module as i32, y0 + cy * module as i32)
                        .of_size(module, module),
                    Luma([0]),
                );
            }
        }
    }
}

fn date_ar(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn rate_ar(r: VatRate) -> String {
    r.as_str().replace('.', ",")
}

fn qty_ar(q: Qty) -> String {
    format_ar_amount(Money::from_minor(q.milli() / 10))
}

/// Draws the invoice at `dpi`.
pub fn render(d: &InvoiceData, spec: &Spec, fonts: &Fonts, dpi: u32) -> GrayImage {
    let body_lines = d.lines.len() as f32;
    // Header (≤ 4.1 in), table rows, footer (≤ 9 rows), CAE block and a QR of up to ~2 in:
    // the page grows so that a long invoice never loses its QR off the bottom edge.
    let height_in = (9.8 + body_lines * 0.2).max(11.69);
    let dpi_f = dpi as f32;
    let img = GrayImage::from_pixel(
        (8.27 * dpi_f) as u32,
        (height_in * dpi_f) as u32,
        Luma([255]),
    );
    let font = &fonts.regular[spec.font % fonts.regular.len()].1;
    let mut c = Canvas {
        img,
        dpi: dpi_f,
        font,
        bold: &fonts.bold,
    };
    let letter = d.voucher_type.map(|t| t.letter).unwrap_or(Letter::B);
    let code = d.voucher_type.map(|t| t.code()).unwrap_or(0);
    let number = d
        .number
        .unwrap_or_else(|| VoucherNumber::new(1, 1).unwrap_or_else(|_| unreachable!()));
    let issuer = d.issuer_name.clone().unwrap_or_default();
    let issuer_cuit = d.issuer_cuit.clone();
    let receiver = d.receiver_cuit.clone();
    let condition = d.issuer_vat_condition.map(|c| c.label_es()).unwrap_or("");
    let body = 9.0;
    let mut y;
    if spec.layout == 0 {
        c.text(3.7, 0.35, 10.0, true, "ORIGINAL");
        c.text(0.4, 0.75, 15.0, true, &issuer);
        let (bx, by) = (c.px(3.85), c.px(0.65));
        let side = c.px(0.6) as u32;
        draw_hollow_rect_mut(&mut c.img, Rect::at(bx, by).of_size(side, side), INK);
        c.text(3.98, 0.66, 26.0, true, letter.as_str());
        c.text(3.8, 1.3, 8.0, false, &format!("COD. {code:02}"));
        c.text(5.2, 0.75, 15.0, true, "FACTURA");
        c.text(0.4, 1.6, body, false, &format!("Razón Social: {issuer}"));
        c.text(
            4.6,
            1.6,
            body,
            false,
            &format!(
                "Punto de Venta: {:05}   Comp. Nro: {:08}",
                number.point_of_sale(),
                number.number()
            ),
        );
        c.text(
            0.4,
            1.85,
            body,
            false,
            "Domicilio Comercial: Av. Rivadavia 1234 - CABA",
        );
        c.text(
            4.6,
            1.85,
            body,
            false,
            &format!("Fecha de Emisión: {}", date_ar(d.issue_date)),
        );
        c.text(
            0.4,
            2.1,
            body,
            false,
            &format!("Condición frente al IVA: IVA {condition}"),
        );
        c.text(
            4.6,
            2.1,
            body,
            false,
            &format!(
                "CUIT: {}",
                issuer_cuit.as_ref().map(|c| c.as_str()).unwrap_or("")
            ),
        );
        c.text(4.6, 2.35, body, false, "Ingresos Brutos: 901-123456-7");
        c.rule(2.7);
        c.text(
            0.4,
            2.85,
            body,
            false,
            &format!(
                "CUIT: {}   Apellido y Nombre / Razón Social: Almacén de Barrio SRL",
                receiver.as_ref().map(|c| c.as_str()).unwrap_or("")
            ),
        );
        c.text(
            0.4,
            3.1,
            body,
            false,
            "Condición frente al IVA: IVA Responsable Inscripto",
        );
        c.text(
            0.4,
            3.35,
            body,
            false,
            "Condición de venta: Cuenta Corriente",
        );
        c.rule(3.65);
        y = 3.8;
    } else {
        c.text(0.4, 0.4, 15.0, true, &issuer);
        c.text(
            4.6,
            0.4,
            13.0,
            true,
            &format!(
                "FACTURA {}   N° {:04}-{:08}",
                letter.as_str(),
                number.point_of_sale(),
                number.number()
            ),
        );
        c.text(4.6, 0.75, body, false, &format!("Cód. {code:03}"));
        c.text(
            0.4,
            0.9,
            body,
            false,
            &format!(
                "C.U.I.T.: {}",
                issuer_cuit.map(|c| c.to_string()).unwrap_or_default()
            ),
        );
        c.text(
            4.6,
            1.0,
            body,
            false,
            &format!("Fecha: {}", date_ar(d.issue_date)),
        );
        c.text(0.4, 1.15, body, false, &format!("IVA {condition}"));
        c.text(0.4, 1.4, body, false, "San Martin 455 - Rosario - Santa Fe");
        c.rule(1.75);
        c.text(
            0.4,
            1.9,
            body,
            false,
            &format!(
                "Cliente: Almacén de Barrio SRL   C.U.I.T.: {}",
                receiver.map(|c| c.to_string()).unwrap_or_default()
            ),
        );
        c.rule(2.25);
        y = 2.4;
    }

    // Item table.
    let table = 8.5;
    let a = letter.discriminates_vat();
    c.text(0.35, y, table, true, "");
    let head = if spec.layout == 0 {
        if a {
            "Código   Producto / Servicio      Cantidad  U. Medida  Precio Unit.  % Bonif   Subtotal   Alícuota IVA   Subtotal c/IVA"
        } else {
            "Código   Producto / Servicio      Cantidad  U. Medida  Precio Unit.  % Bonif   Subtotal"
        }
    } else if a {
        "Código   Descripción                     Cant.          P. Unitario   Bonif. %    Importe    IVA     Importe c/IVA"
    } else {
        "Código   Descripción                     Cant.          P. Unitario   Bonif. %    Importe"
    };
    c.text(0.35, y, table, false, head);
    y += 0.3;
    for l in &d.lines {
        if let Some(code) = &l.code {
            c.text(0.35, y, table, false, code);
        }
        c.text(1.35, y, table, false, &l.description);
        c.text_r(3.95, y, table, &qty_ar(l.quantity));
        if spec.layout == 0 {
            c.text(4.05, y, table, false, "unidades");
        }
        c.text_r(5.45, y, table, &format_ar_amount(l.unit_price));
        c.text_r(
            5.95,
            y,
            table,
            &format_ar_amount(Money::from_minor(l.discount_bp)),
        );
        c.text_r(6.85, y, table, &format_ar_amount(l.subtotal));
        if let Some(r) = l.vat_rate {
            c.text(6.98, y, table, false, &format!("{}%", rate_ar(r)));
            let with_vat = l.subtotal + round_bp(l.subtotal, r.basis_points());
            c.text_r(7.95, y, table, &format_ar_amount(with_vat));
        }
        y += 0.2;
    }
    y += 0.1;
    c.rule(y);
    y += 0.2;

    // Footer.
    let amount = |m: Money| format!("$ {}", format_ar_amount(m));
    let mut footer: Vec<(String, Money)> = Vec::new();
    if a {
        for v in &d.vat {
            let label = if spec.layout == 0 {
                "Neto Gravado"
            } else {
                "Neto"
            };
            footer.push((format!("{label} {}%:", rate_ar(v.rate)), v.net));
        }
        for v in &d.vat {
            footer.push((format!("IVA {}%:", rate_ar(v.rate)), v.vat));
        }
    } else {
        footer.push(("Subtotal:".into(), d.lines.iter().map(|l| l.subtotal).sum()));
    }
    let (pv, pi) = if spec.layout == 0 {
        ("Percepción IVA:", "Percepción IIBB:")
    } else {
        ("Perc. IVA:", "Perc. IIBB:")
    };
    if !d.perception_vat.is_zero() {
        footer.push((pv.into(), d.perception_vat));
    }
    if !d.perception_iibb.is_zero() {
        footer.push((pi.into(), d.perception_iibb));
    }
    let total_label = if spec.layout == 0 {
        "Importe Total:"
    } else {
        "TOTAL:"
    };
    footer.push((total_label.into(), d.total.unwrap_or(Money::ZERO)));
    for (label, m) in footer {
        c.text(4.6, y, body, false, &label);
        c.text_r(7.9, y, body, &amount(m));
        y += 0.25;
    }
    y += 0.2;
    c.rule(y);
    y += 0.15;
    if spec.qr
        && let Some(q) = qr_for(d)
    {
        c.qr(0.4, y, &q.to_url());
    }
    let cae = d.cae.as_ref().map(|c| c.to_string()).unwrap_or_default();
    if spec.layout == 0 {
        c.text(4.6, y + 0.1, body, false, &format!("CAE N°: {cae}"));
        c.text(
            4.6,
            y + 0.35,
            body,
            false,
            &format!("Fecha de Vto. de CAE: {}", date_ar(d.cae_due)),
        );
    } else {
        c.text(4.6, y + 0.1, body, false, &format!("C.A.E.: {cae}"));
        c.text(
            4.6,
            y + 0.35,
            body,
            false,
            &format!("Vto. C.A.E.: {}", date_ar(d.cae_due)),
        );
    }
    c.img
}

/// Renders and degrades one sample; the bytes are PNG, or JPEG for the JPEG degradation.
pub fn sample(spec: &Spec, fonts: &Fonts, receiver: &Cuit) -> Sample {
    let truth = truth(spec, receiver);
    let mut rng = StdRng::seed_from_u64(spec.seed ^ 0x5eed);
    let dpi = match spec.degradation {
        Degradation::LowDpi => 150,
        Degradation::Clean => 300,
        _ => [200, 250, 300][rng.random_range(0..3)],
    };
    let mut img = render(&truth, spec, fonts, dpi);
    let mut jpeg_quality = None;
    match spec.degradation {
        Degradation::Clean | Degradation::LowDpi => {}
        Degradation::Rotated => {
            let deg: f32 =
                rng.random_range(1.0..3.0) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            img = imageproc::geometric_transformations::rotate_about_center(
                &img,
                deg.to_radians(),
                imageproc::geometric_transformations::Interpolation::Bilinear,
                imageproc::geometric_transformations::Border::Constant(Luma([255])),
            );
        }
        Degradation::Blurred => {
            img = imageproc::filter::gaussian_blur_f32(
                &img,
                rng.random_range(0.6..1.1) * dpi as f32 / 300.0,
            );
        }
        Degradation::Noisy => {
            img = imageproc::noise::gaussian_noise(&img, 0.0, 18.0, rng.random());
            img = imageproc::noise::salt_and_pepper_noise(&img, 0.002, rng.random());
        }
        Degradation::Jpeg => jpeg_quality = Some(rng.random_range(30..50u8)),
    }
    let mut bytes = Vec::new();
    let written = match jpeg_quality {
        Some(q) => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q)
            .encode_image(&img)
            .is_ok(),
        None => img
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .is_ok(),
    };
    if !written {
        bytes.clear();
    }
    Sample {
        spec: spec.clone(),
        truth,
        bytes,
    }
}

/// Field-by-field exact comparison of an extraction with the truth: `(field, qr_covered, ok)`.
pub fn score(truth: &InvoiceData, got: &InvoiceData) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut push = |name: &str, qr: bool, ok: bool| out.push((name.to_owned(), qr, ok));
    push("voucher_type", true, truth.voucher_type == got.voucher_type);
    push(
        "point_of_sale",
        true,
        truth.number.map(|n| n.point_of_sale()) == got.number.map(|n| n.point_of_sale()),
    );
    push(
        "number",
        true,
        truth.number.map(|n| n.number()) == got.number.map(|n| n.number()),
    );
    push("issue_date", true, truth.issue_date == got.issue_date);
    push("issuer_cuit", true, truth.issuer_cuit == got.issuer_cuit);
    push("cae", true, truth.cae == got.cae);
    push("total", true, truth.total == got.total);
    push("issuer_name", false, truth.issuer_name == got.issuer_name);
    push(
        "issuer_vat_condition",
        false,
        truth.issuer_vat_condition == got.issuer_vat_condition,
    );
    push(
        "receiver_cuit",
        false,
        truth.receiver_cuit == got.receiver_cuit,
    );
    push("cae_due", false, truth.cae_due == got.cae_due);
    for v in &truth.vat {
        let g = got.vat.iter().find(|x| x.rate == v.rate);
        push("net_per_rate", false, g.map(|x| x.net) == Some(v.net));
        push("vat_per_rate", false, g.map(|x| x.vat) == Some(v.vat));
    }
    push(
        "perception_vat",
        false,
        truth.perception_vat == got.perception_vat,
    );
    push(
        "perception_iibb",
        false,
        truth.perception_iibb == got.perception_iibb,
    );
    // Lines are scored by content, not position: each expected line is paired with the
    // extracted line that agrees with it best (order kept), so one dropped or split row costs
    // its own fields and not every later row's.
    let pairs = align_lines(&truth.lines, &got.lines);
    let mut matched = vec![false; got.lines.len()];
    for (t, g) in truth.lines.iter().zip(&pairs) {
        let g = g.and_then(|j| {
            if let Some(m) = matched.get_mut(j) {
                *m = true;
            }
            got.lines.get(j)
        });
        for (name, ok) in line_fields(t, g) {
            push(name, false, ok);
        }
    }
    // Every extracted line that matches no expected line is an error too.
    for _ in matched.iter().filter(|m| !**m) {
        push("line_extra", false, false);
    }
    out.push((
        "line_count".into(),
        false,
        truth.lines.len() == got.lines.len(),
    ));
    out
}

/// The seven scored fields of an item line; all wrong when the line was not read at all.
fn line_fields(t: &InvoiceLine, g: Option<&InvoiceLine>) -> [(&'static str, bool); 7] {
    [
        ("line_code", g.map(|g| &g.code) == Some(&t.code)),
        (
            "line_description",
            g.map(|g| &g.description) == Some(&t.description),
        ),
        ("line_quantity", g.map(|g| g.quantity) == Some(t.quantity)),
        (
            "line_unit_price",
            g.map(|g| g.unit_price) == Some(t.unit_price),
        ),
        (
            "line_discount",
            g.map(|g| g.discount_bp) == Some(t.discount_bp),
        ),
        ("line_subtotal", g.map(|g| g.subtotal) == Some(t.subtotal)),
        ("line_vat_rate", g.map(|g| g.vat_rate) == Some(t.vat_rate)),
    ]
}

/// For each expected line, the index of the extracted line it is paired with: the
/// order-preserving alignment that maximises the number of equal fields (Needleman–Wunsch
/// with free gaps). A pair that agrees on no field is no pair.
pub fn align_lines(truth: &[InvoiceLine], got: &[InvoiceLine]) -> Vec<Option<usize>> {
    let (n, m) = (truth.len(), got.len());
    let agree = |i: usize, j: usize| {
        line_fields(&truth[i], Some(&got[j]))
            .iter()
            .filter(|(_, ok)| *ok)
            .count()
    };
    // best[i][j]: most equal fields aligning truth[..i] with got[..j].
    let mut best = vec![vec![0usize; m + 1]; n + 1];
    for i in 1..=n {
        for j in 1..=m {
            let a = agree(i - 1, j - 1);
            let diag = if a > 0 { best[i - 1][j - 1] + a } else { 0 };
            best[i][j] = diag.max(best[i - 1][j]).max(best[i][j - 1]);
        }
    }
    let mut pairs = vec![None; n];
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let a = agree(i - 1, j - 1);
        if a > 0 && best[i][j] == best[i - 1][j - 1] + a {
            pairs[i - 1] = Some(j - 1);
            i -= 1;
            j -= 1;
        } else if best[i][j] == best[i - 1][j] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(desc: &str, units: i64, price: i64) -> InvoiceLine {
        InvoiceLine {
            code: None,
            description: desc.to_owned(),
            quantity: Qty::units(units),
            unit_price: Money::from_minor(price),
            discount_bp: 0,
            subtotal: Money::from_minor(price * units),
            vat_rate: None,
        }
    }

    fn wrong(scored: &[(String, bool, bool)]) -> Vec<&str> {
        scored
            .iter()
            .filter(|(_, _, ok)| !ok)
            .map(|(n, _, _)| n.as_str())
            .collect()
    }

    #[test]
    fn a_dropped_row_costs_only_its_own_fields() {
        let truth = InvoiceData {
            lines: vec![
                line("Yerba", 1, 100),
                line("Sal", 2, 200),
                line("Te", 3, 300),
            ],
            ..InvoiceData::default()
        };
        let mut got = truth.clone();
        got.lines.remove(1);
        let scored = score(&truth, &got);
        // Seven fields of the missing row, and the line count.
        assert_eq!(wrong(&scored).len(), 8, "{scored:?}");
        assert!(!wrong(&scored).contains(&"line_extra"));
    }

    #[test]
    fn extra_and_misread_rows_are_errors() {
        let truth = InvoiceData {
            lines: vec![line("Yerba", 1, 100), line("Sal", 2, 200)],
            ..InvoiceData::default()
        };
        let mut got = truth.clone();
        got.lines[1].description = "5al".into();
        got.lines.insert(1, line("ruido", 9, 9));
        let scored = score(&truth, &got);
        assert_eq!(
            wrong(&scored),
            ["line_description", "line_extra", "line_count"]
        );
        assert_eq!(align_lines(&truth.lines, &got.lines), [Some(0), Some(2)]);
    }
}
