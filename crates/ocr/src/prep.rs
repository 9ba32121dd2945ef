//! Scan clean-up before OCR: grayscale, scale to ~300 dpi, deskew, binarise, despeckle. Each
//! step can be switched off so `almacen bench ocr` can measure what it buys.

use image::{GrayImage, imageops::FilterType};
use imageproc::contrast::{ThresholdType, otsu_level, threshold};
use imageproc::filter::median_filter;
use imageproc::geometric_transformations::{Interpolation, rotate_about_center};
use serde::{Deserialize, Serialize};

/// Which clean-up steps run. Measured on the synthetic set (`almacen bench ocr`): our Otsu
/// binarisation before Tesseract cost accuracy on clean pages (Tesseract binarises better
/// itself), so it is off by default; the median despeckle is worth its time only on noisy
/// scans, so by default it runs when the page looks noisy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Steps {
    pub deskew: bool,
    pub binarise: bool,
    /// Always despeckle.
    pub despeckle: bool,
    /// Despeckle when the background is noisy.
    pub auto_despeckle: bool,
}

impl Default for Steps {
    fn default() -> Self {
        Steps {
            deskew: true,
            binarise: false,
            despeckle: false,
            auto_despeckle: true,
        }
    }
}

/// Share (per mille) of light-grey pixels: paper is white and ink dark, so a page with many
/// 200–245 values has sensor or scanner noise on its background.
pub fn noise_permille(img: &GrayImage) -> u32 {
    let mut grey = 0u64;
    let mut n = 0u64;
    for p in img.as_raw().iter().step_by(7) {
        n += 1;
        grey += u64::from((200..=245).contains(p));
    }
    (grey * 1000).checked_div(n).unwrap_or(0) as u32
}

/// Above this share of light grey the page is treated as noisy.
const NOISY_PERMILLE: u32 = 150;

/// Target width for an A4 page at ~300 dpi; small scans are enlarged so glyphs reach the
/// x-height Tesseract reads best.
const TARGET_WIDTH: u32 = 2480;
const MIN_WIDTH: u32 = 1900;

pub fn prepare(img: &GrayImage, steps: Steps) -> (GrayImage, f32) {
    let mut img = if img.width() < MIN_WIDTH && img.width() > 0 {
        let h = u64::from(img.height()) * u64::from(TARGET_WIDTH) / u64::from(img.width());
        image::imageops::resize(
            img,
            TARGET_WIDTH,
            h.min(20_000) as u32,
            FilterType::Triangle,
        )
    } else {
        img.clone()
    };
    let mut angle = 0.0;
    if steps.deskew {
        angle = skew_angle(&img);
        if angle.abs() > 0.1 {
            img = rotate_about_center(
                &img,
                -angle.to_radians(),
                Interpolation::Bilinear,
                imageproc::geometric_transformations::Border::Constant(image::Luma([255])),
            );
        }
    }
    if steps.despeckle || (steps.auto_despeckle && noise_permille(&img) > NOISY_PERMILLE) {
        img = median_filter(&img, 1, 1);
    }
    if steps.binarise {
        let level = otsu_level(&img);
        img = threshold(&img, level, ThresholdType::Binary);
    }
    (img, angle)
}

/// The page's skew in degrees (−4..4): the angle whose horizontal projection of dark pixels
/// is most peaked (text rows line up). Measured on a downscaled copy for speed.
pub fn skew_angle(img: &GrayImage) -> f32 {
    let w = 800u32.min(img.width().max(1));
    let h = (u64::from(img.height()) * u64::from(w) / u64::from(img.width().max(1))).max(1) as u32;
    let small = image::imageops::resize(img, w, h, FilterType::Triangle);
    let level = otsu_level(&small);
    let dark: Vec<(f32, f32)> = small
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0[0] < level)
        .map(|(x, y, _)| (x as f32, y as f32))
        .collect();
    if dark.is_empty() {
        return 0.0;
    }
    let score = |deg: f32| {
        let t = deg.to_radians().tan();
        let mut rows = vec![0u32; (h as usize) * 2 + 1];
        for (x, y) in &dark {
            let r = (y - x * t).round() as i64 + i64::from(h) / 2;
            if let Some(c) = usize::try_from(r).ok().and_then(|r| rows.get_mut(r)) {
                *c += 1;
            }
        }
        rows.iter()
            .map(|c| u64::from(*c) * u64::from(*c))
            .sum::<u64>()
    };
    let mut best = (0.0f32, score(0.0));
    let mut deg = -4.0f32;
    while deg <= 4.0 {
        let s = score(deg);
        if s > best.1 {
            best = (deg, s);
        }
        deg += 0.25;
    }
    // Refine around the coarse peak.
    let coarse = best.0;
    let mut deg = coarse - 0.25;
    while deg <= coarse + 0.25 {
        let s = score(deg);
        if s > best.1 {
            best = (deg, s);
        }
        deg += 0.05;
    }
    best.0
}

/// A copy of the page with the given boxes (and a margin) painted white: the QR codes, which
/// OCR would only turn into garbage words, slowly.
pub fn blank(img: &GrayImage, regions: &[(u32, u32, u32, u32)]) -> GrayImage {
    let mut out = img.clone();
    let margin = (img.width() / 100).max(4);
    for &(x0, y0, x1, y1) in regions {
        let (x0, y0) = (x0.saturating_sub(margin), y0.saturating_sub(margin));
        let x1 = x1.saturating_add(margin).min(img.width());
        let y1 = y1.saturating_add(margin).min(img.height());
        for y in y0..y1 {
            for x in x0..x1 {
                out.put_pixel(x, y, image::Luma([255]));
            }
        }
    }
    out
}

/// Writes the page as binary PGM: Tesseract (Leptonica) reads it as is, and it costs no
/// compression (a PNG of a 300 dpi page takes longer to encode than to OCR a few lines).
pub fn write_pgm(img: &GrayImage, path: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(f, "P5\n{} {}\n255\n", img.width(), img.height())?;
    f.write_all(img.as_raw())?;
    f.flush()
}
