//! Invoice text, as a PDF text layer or OCR gives it: extracting the fields never panics, and
//! an AFIP QR URL either decodes or is refused.
#![no_main]

use domain::invoice::qr::AfipQr;
use libfuzzer_sys::fuzz_target;
use ocr::Source;
use ocr::text::Line;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<Line> = text
        .lines()
        .map(|l| Line::from_text(l, Source::TextLayer, 90))
        .collect();
    let qr = AfipQr::parse_url(text).ok();
    let _ = ocr::extract::extract(&lines, qr.as_ref());
});
