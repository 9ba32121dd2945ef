//! Finding and decoding the AFIP QR in a page image (pure Rust, rqrr).

use domain::invoice::qr::AfipQr;
use image::GrayImage;

/// The first QR on the page that decodes to a valid AFIP payload, plus the raw text of any
/// other QR found (kept for the reviewer).
pub fn find(img: &GrayImage) -> (Option<AfipQr>, Vec<String>) {
    let mut others = Vec::new();
    // Try the page as is, then halved (big modules on high-dpi scans decode better smaller).
    for scale in [1u32, 2] {
        let (w, h) = (img.width() / scale, img.height() / scale);
        if w == 0 || h == 0 {
            continue;
        }
        let small;
        let src = if scale == 1 {
            img
        } else {
            small = image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle);
            &small
        };
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
            src.width() as usize,
            src.height() as usize,
            |x, y| src.get_pixel(x as u32, y as u32).0[0],
        );
        for grid in prepared.detect_grids() {
            if let Ok((_, text)) = grid.decode() {
                match AfipQr::parse_url(&text) {
                    Ok(qr) => return (Some(qr), others),
                    Err(_) => others.push(text.chars().take(500).collect()),
                }
            }
        }
    }
    (None, others)
}
