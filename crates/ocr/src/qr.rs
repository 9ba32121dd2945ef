//! Finding and decoding the AFIP QR in a page image (pure Rust, rqrr).

use domain::invoice::qr::AfipQr;
use image::GrayImage;

/// What the page's QR codes hold and where they are.
#[derive(Debug, Default)]
pub struct Found {
    /// The first QR that decodes to a valid AFIP payload.
    pub afip: Option<AfipQr>,
    /// The raw text of any other QR (kept for the reviewer).
    pub others: Vec<String>,
    /// Bounding boxes `(x0, y0, x1, y1)` of every QR detected, in page pixels: OCR skips
    /// them (Tesseract reading a QR's modules costs time and yields garbage words).
    pub regions: Vec<(u32, u32, u32, u32)>,
}

/// Scans the page for QR codes.
pub fn find(img: &GrayImage) -> Found {
    let mut found = Found::default();
    // A big page is tried halved first: preparing rqrr's image costs in proportion to the
    // pixels, and the modules of a ≥ 200 dpi QR are still ≥ 2 px wide at half size. The full
    // size is the fallback (small scans, small modules).
    // A 300 dpi page's modules are ≥ 3 px halved: the full size adds nothing but time.
    let scales: &[u32] = match img.width() {
        w if w >= 2400 => &[2],
        w if w >= 1600 => &[2, 1],
        _ => &[1],
    };
    for &scale in scales {
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
            let b = grid.bounds;
            let xs = b.iter().map(|p| p.x.max(0) as u32 * scale);
            let ys = b.iter().map(|p| p.y.max(0) as u32 * scale);
            let (x0, x1) = (xs.clone().min(), xs.max());
            let (y0, y1) = (ys.clone().min(), ys.max());
            if let (Some(x0), Some(x1), Some(y0), Some(y1)) = (x0, x1, y0, y1) {
                found.regions.push((x0, y0, x1, y1));
            }
            if let Ok((_, text)) = grid.decode() {
                match AfipQr::parse_url(&text) {
                    Ok(qr) if found.afip.is_none() => found.afip = Some(qr),
                    Ok(_) => {}
                    Err(_) => found.others.push(text.chars().take(500).collect()),
                }
            }
        }
        if found.afip.is_some() {
            break;
        }
        // Not found at this scale: what the next scale finds replaces it.
        if scale != 1 {
            found = Found::default();
        }
    }
    found
}
