//! Hostile or useless files end in a typed error or a low-confidence result, never a crash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::{GrayImage, Luma};
use ocr::{ScanError, Scanner};

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

#[test]
fn unknown_types_and_oversized_files_are_refused() {
    let s = Scanner::default();
    assert_eq!(
        s.scan(b"hello, not an invoice").unwrap_err().rule(),
        "unsupported_type"
    );
    assert_eq!(
        s.scan(b"PK\x03\x04zipzipzip").unwrap_err().rule(),
        "unsupported_type"
    );
    let mut small = Scanner::default();
    small.limits.max_bytes = 10;
    assert_eq!(
        small.scan(b"%PDF-1.4 more than ten bytes").unwrap_err(),
        ScanError::TooLarge { max: 10 }
    );
}

#[test]
fn corrupt_image_is_a_clear_error() {
    let s = Scanner::default();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(b"garbage garbage garbage");
    assert_eq!(s.scan(&png).unwrap_err().rule(), "corrupt_image");
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 1, 2, 3];
    assert_eq!(s.scan(&jpeg).unwrap_err().rule(), "corrupt_image");
}

/// A PNG that claims 30 000 × 30 000 pixels (a decompression bomb's header) is refused
/// before anything is inflated.
#[test]
fn decompression_bomb_is_refused_before_decoding() {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&30_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    let err = Scanner::default().scan(&png).unwrap_err();
    assert_eq!(
        err,
        ScanError::TooManyPixels {
            width: 30_000,
            height: 30_000
        }
    );
}

fn pdf_with_pages(n: usize) -> Vec<u8> {
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        String::new(),
    ];
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", i + 3)).collect();
    objects[1] = format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" "));
    for _ in 0..n {
        objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_owned());
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
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
fn a_200_page_pdf_is_refused() {
    let err = Scanner::default().scan(&pdf_with_pages(200)).unwrap_err();
    assert_eq!(err, ScanError::TooManyPages { pages: 200, max: 5 });
    assert!(err.to_string().contains("200 páginas"));
}

#[test]
fn a_broken_pdf_is_a_clear_error() {
    let err = Scanner::default()
        .scan(b"%PDF-1.4\nthis is not really a pdf")
        .unwrap_err();
    assert_eq!(err.rule(), "corrupt_pdf", "{err}");
}

#[test]
fn a_photo_that_is_no_invoice_gives_a_low_confidence_draft() {
    let img = GrayImage::from_fn(600, 400, |x, y| Luma([((x * 7 + y * 13) % 256) as u8]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let ex = Scanner::default().scan(&png).unwrap();
    assert_eq!(ex.confidence, 0);
    assert!(ex.checks.iter().any(|c| c.rule == "required" && !c.ok));
    assert!(ex.data.total.is_none());
}

#[test]
fn missing_tesseract_is_reported_as_such() {
    let s = Scanner {
        tesseract: "/nonexistent/tesseract".into(),
        ..Scanner::default()
    };
    assert!(!s.ocr_available());
    let img = GrayImage::from_pixel(200, 100, Luma([255]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let err = s.scan(&png).unwrap_err();
    assert_eq!(err, ScanError::ToolMissing("tesseract"));
    assert!(err.to_string().contains("a mano"));
}
