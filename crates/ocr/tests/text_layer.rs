//! A PDF with a text layer is read directly (pdftotext), without OCR.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use domain::Money;
use domain::invoice::{Letter, VoucherType};
use ocr::{Method, Scanner, Source};

/// A one-page PDF printing `lines` in Helvetica (WinAnsi), as invoicing software does.
fn text_pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = b"BT /F1 10 Tf 14 TL 40 800 Td\n".to_vec();
    for l in lines {
        content.push(b'(');
        for c in l.chars() {
            match c {
                '(' | ')' | '\\' => {
                    content.push(b'\\');
                    content.push(c as u8);
                }
                // WinAnsi matches Latin-1 for the accented letters used here.
                c => content.push(u8::try_from(u32::from(c)).unwrap_or(b'?')),
            }
        }
        content.extend_from_slice(b") Tj T*\n");
    }
    content.extend_from_slice(b"ET\n");
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>".to_vec(),
        [
            format!("<< /Length {} >>\nstream\n", content.len()).into_bytes(),
            content,
            b"endstream".to_vec(),
        ]
        .concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn text_layer_pdf_is_read_without_ocr() {
    let pdf = text_pdf(&[
        "ORIGINAL",
        "Distribuidora Sur SA        A        FACTURA",
        "COD. 01",
        "Razón Social: Distribuidora Sur SA      Punto de Venta: 00003   Comp. Nro: 00001234",
        "Fecha de Emisión: 05/03/2026",
        "Condición frente al IVA: IVA Responsable Inscripto      CUIT: 30500010912",
        "CUIT: 33693450239   Apellido y Nombre / Razón Social: Almacén de Barrio SRL",
        "Código  Producto / Servicio  Cantidad  U. Medida  Precio Unit.  % Bonif  Subtotal  Alícuota IVA  Subtotal c/IVA",
        "YM1000  Yerba Mate 1 kg  10,00  unidades  1.000,00  0,00  10.000,00  21%  12.100,00",
        "Neto Gravado 21%: $ 10.000,00",
        "IVA 21%: $ 2.100,00",
        "Importe Total: $ 12.100,00",
        "CAE N°: 76123456789012",
        "Fecha de Vto. de CAE: 15/03/2026",
    ]);
    let s = Scanner {
        our_cuit: domain::Cuit::parse("33-69345023-9").ok(),
        ..Scanner::default()
    };
    let ex = s.scan(&pdf).unwrap();
    assert_eq!(ex.method, Method::TextLayer);
    assert_eq!(ex.pages, 1);
    assert_eq!(ex.data.voucher_type, Some(VoucherType::invoice(Letter::A)));
    assert_eq!(ex.data.number.unwrap().to_string(), "00003-00001234");
    assert_eq!(ex.data.issuer_name.as_deref(), Some("Distribuidora Sur SA"));
    assert_eq!(ex.data.total, Some(Money::from_minor(1_210_000)));
    assert_eq!(ex.data.lines.len(), 1);
    assert_eq!(ex.data.lines[0].code.as_deref(), Some("YM1000"));
    assert_eq!(ex.fields["total"].source, Source::TextLayer);
    assert!(ex.checks.iter().all(|c| c.ok), "{:?}", ex.checks);
    // Page 1 as the PNG the reader rasterised, for the review screen (browsers show no PDF in
    // an <img>); it stays out of the JSON report.
    let png = ex.page_image.as_deref().unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(
        serde_json::to_value(&ex)
            .unwrap()
            .get("page_image")
            .is_none()
    );
}
