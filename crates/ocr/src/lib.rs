//! Reads supplier invoices from files: the AFIP QR first (ground truth for what it covers),
//! then a PDF's text layer when it has one, else the page images through clean-up and
//! Tesseract. Returns every field with a confidence and its source, plus the domain's checks.
//!
//! The external tools (poppler's `pdfinfo`/`pdftotext`/`pdftoppm`, `tesseract`) run as child
//! processes with timeouts; hostile inputs (huge images, decompression bombs, 200-page PDFs)
//! are refused with a typed error before any heavy work.

pub mod bench;
pub mod extract;
pub mod prep;
pub mod qr;
pub mod synth;
pub mod text;

mod pdf;
mod tesseract;
mod tools;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use domain::Cuit;
use domain::invoice::qr::AfipQr;
use domain::invoice::{Check, InvoiceData};
use image::{GrayImage, ImageReader};
use serde::{Deserialize, Serialize};

pub use extract::{ExtractedLine, Field, Mismatch};
pub use text::Line;

/// Where a value was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Qr,
    TextLayer,
    Ocr,
    Manual,
}

/// The file kinds accepted, recognised by their first bytes (never by name or header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Pdf,
    Png,
    Jpeg,
    Tiff,
}

impl FileKind {
    pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
        if bytes.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(FileKind::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
            Some(FileKind::Tiff)
        } else {
            None
        }
    }
}

/// Why a file could not be read. The messages reach the reviewer (es-AR).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("el archivo supera el tamaño máximo de {max} bytes")]
    TooLarge { max: u64 },
    #[error("el archivo no es JPEG, PNG, TIFF ni PDF")]
    UnsupportedType,
    #[error("la imagen está dañada o no se puede leer: {0}")]
    CorruptImage(String),
    #[error("la imagen es demasiado grande ({width}×{height} píxeles)")]
    TooManyPixels { width: u32, height: u32 },
    #[error("el PDF tiene {pages} páginas; se aceptan hasta {max}")]
    TooManyPages { pages: u32, max: u32 },
    #[error("el PDF está dañado o no se puede leer: {0}")]
    CorruptPdf(String),
    #[error("{0} no está instalado en el servidor; cargue la factura a mano")]
    ToolMissing(&'static str),
    #[error("{0} tardó demasiado y se canceló")]
    Timeout(&'static str),
    #[error("{tool} falló: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("no se pudo usar un archivo temporal: {0}")]
    Io(String),
}

impl ScanError {
    /// Stable slug for problem+json and job status.
    pub fn rule(&self) -> &'static str {
        match self {
            ScanError::TooLarge { .. } => "too_large",
            ScanError::UnsupportedType => "unsupported_type",
            ScanError::CorruptImage(_) => "corrupt_image",
            ScanError::TooManyPixels { .. } => "too_many_pixels",
            ScanError::TooManyPages { .. } => "too_many_pages",
            ScanError::CorruptPdf(_) => "corrupt_pdf",
            ScanError::ToolMissing(_) => "ocr_unavailable",
            ScanError::Timeout(_) => "timeout",
            ScanError::Tool { .. } => "tool_failed",
            ScanError::Io(_) => "io",
        }
    }
}

/// Bounds on what one scan may cost.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_pages: u32,
    /// Largest decoded image, in pixels (a 300 dpi A4 page is ~8.7 Mpx).
    pub max_pixels: u64,
    /// Per tool invocation.
    pub tool_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 20 * 1024 * 1024,
            max_pages: 5,
            max_pixels: 60_000_000,
            tool_timeout: Duration::from_secs(60),
        }
    }
}

/// How to scan: tools, language, limits, clean-up steps.
#[derive(Clone, Debug)]
pub struct Scanner {
    pub tesseract: PathBuf,
    pub poppler_dir: Option<PathBuf>,
    pub lang: String,
    pub limits: Limits,
    pub steps: prep::Steps,
    /// The shop's CUIT, for the "receiver is us" check.
    pub our_cuit: Option<Cuit>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            tesseract: PathBuf::from("tesseract"),
            poppler_dir: None,
            lang: "spa".into(),
            limits: Limits::default(),
            steps: prep::Steps::default(),
            our_cuit: None,
        }
    }
}

/// How the text was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    TextLayer,
    Ocr,
}

/// Everything one scan found.
#[derive(Clone, Debug, Serialize)]
pub struct Extraction {
    /// Page 1 as a PNG a browser can show, for files it cannot (PDF, TIFF): the rasterised page
    /// the reader worked from. Not part of the report.
    #[serde(skip)]
    pub page_image: Option<Vec<u8>>,
    pub kind: FileKind,
    pub method: Method,
    pub pages: u32,
    pub data: InvoiceData,
    pub fields: std::collections::BTreeMap<String, Field>,
    pub lines: Vec<ExtractedLine>,
    pub qr: Option<AfipQr>,
    pub qr_mismatches: Vec<Mismatch>,
    pub checks: Vec<Check>,
    /// Lowest field confidence (0 when a required field is missing).
    pub confidence: u8,
    /// Degrees the page was rotated back.
    pub skew_degrees: f32,
    pub raw_text: String,
    pub warnings: Vec<String>,
    pub elapsed_ms: u64,
    /// Where the time went: milliseconds per stage (decode, qr, prepare, write, tesseract,
    /// extract), wall clock.
    pub stage_ms: std::collections::BTreeMap<&'static str, u64>,
}

/// Wall-clock milliseconds per pipeline stage, for `bench ocr` and the scan output.
struct Stages {
    last: Instant,
    ms: std::collections::BTreeMap<&'static str, u64>,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            last: Instant::now(),
            ms: std::collections::BTreeMap::new(),
        }
    }
}

impl Stages {
    /// Charges the time since the previous mark to `stage`.
    fn mark(&mut self, stage: &'static str) {
        let now = Instant::now();
        let ms = u64::try_from((now - self.last).as_millis()).unwrap_or(u64::MAX);
        *self.ms.entry(stage).or_default() += ms;
        self.last = now;
    }
}

impl Scanner {
    /// Whether OCR can run at all here (Tesseract installed).
    pub fn ocr_available(&self) -> bool {
        tools::available(&self.tesseract)
    }

    fn tool(&self, name: &str) -> PathBuf {
        match &self.poppler_dir {
            Some(d) => d.join(name),
            None => PathBuf::from(name),
        }
    }

    /// Decodes an image with hard limits on dimensions and allocation (decompression bombs).
    pub fn decode_image(&self, bytes: &[u8]) -> Result<GrayImage, ScanError> {
        let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ScanError::CorruptImage(e.to_string()))?;
        let mut limits = image::Limits::default();
        let side = 30_000;
        limits.max_image_width = Some(side);
        limits.max_image_height = Some(side);
        limits.max_alloc = Some(self.limits.max_pixels.saturating_mul(4));
        reader.limits(limits);
        let (w, h) = reader
            .into_dimensions()
            .map_err(|e| ScanError::CorruptImage(e.to_string()))?;
        if u64::from(w) * u64::from(h) > self.limits.max_pixels {
            return Err(ScanError::TooManyPixels {
                width: w,
                height: h,
            });
        }
        let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| ScanError::CorruptImage(e.to_string()))?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(side);
        limits.max_image_height = Some(side);
        limits.max_alloc = Some(self.limits.max_pixels.saturating_mul(4));
        reader.limits(limits);
        let img = reader.decode().map_err(|e| match e {
            image::ImageError::Limits(_) => ScanError::TooManyPixels {
                width: w,
                height: h,
            },
            e => ScanError::CorruptImage(e.to_string()),
        })?;
        Ok(img.into_luma8())
    }

    /// Scans one file's bytes.
    pub fn scan(&self, bytes: &[u8]) -> Result<Extraction, ScanError> {
        let started = Instant::now();
        let mut stages = Stages::default();
        if bytes.len() as u64 > self.limits.max_bytes {
            return Err(ScanError::TooLarge {
                max: self.limits.max_bytes,
            });
        }
        let kind = FileKind::sniff(bytes).ok_or(ScanError::UnsupportedType)?;
        let mut warnings = Vec::new();
        let mut page_image = None;
        let (lines, pages, images, method) = match kind {
            FileKind::Pdf => {
                let dir = tempdir()?;
                let path = dir.path().join("in.pdf");
                std::fs::write(&path, bytes).map_err(|e| ScanError::Io(e.to_string()))?;
                let pages = pdf::page_count(&self.tool("pdfinfo"), &path, &self.limits)?;
                if pages > self.limits.max_pages {
                    return Err(ScanError::TooManyPages {
                        pages,
                        max: self.limits.max_pages,
                    });
                }
                let text = pdf::text_layer(&self.tool("pdftotext"), &path, &self.limits)?;
                // The QR still comes from the picture, so page 1 is rasterised either way.
                let first = pdf::rasterise(&self.tool("pdftoppm"), &path, 1, 150, &self.limits)?;
                let page1 = self.decode_image(&first)?;
                page_image = Some(first);
                if text.chars().filter(|c| c.is_alphanumeric()).count() > 40 {
                    let lines: Vec<Line> = text
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| Line::from_text(l, Source::TextLayer, 99))
                        .collect();
                    (lines, pages, vec![page1], Method::TextLayer)
                } else {
                    let mut images = Vec::new();
                    for p in 1..=pages {
                        let png =
                            pdf::rasterise(&self.tool("pdftoppm"), &path, p, 300, &self.limits)?;
                        images.push(self.decode_image(&png)?);
                    }
                    (Vec::new(), pages, images, Method::Ocr)
                }
            }
            _ => {
                let img = self.decode_image(bytes)?;
                if kind == FileKind::Tiff {
                    let mut png = std::io::Cursor::new(Vec::new());
                    if img.write_to(&mut png, image::ImageFormat::Png).is_ok() {
                        page_image = Some(png.into_inner());
                    }
                }
                (Vec::new(), 1, vec![img], Method::Ocr)
            }
        };

        stages.mark("decode");
        let mut qr = None;
        let mut qr_regions = Vec::new();
        for (i, img) in images.iter().enumerate() {
            let found = qr::find(img);
            for o in found.others {
                warnings.push(format!("código QR que no es de AFIP: {o}"));
            }
            qr_regions.push((i, found.regions));
            if found.afip.is_some() {
                qr = found.afip;
                break;
            }
        }
        stages.mark("qr");

        let mut skew = 0.0;
        let lines = if method == Method::Ocr {
            let dir = tempdir()?;
            let mut all = Vec::new();
            for (i, img) in images.iter().enumerate() {
                let regions = qr_regions
                    .iter()
                    .find(|(p, _)| *p == i)
                    .map(|(_, r)| r.as_slice())
                    .unwrap_or_default();
                let blanked;
                let img = if regions.is_empty() {
                    img
                } else {
                    blanked = prep::blank(img, regions);
                    &blanked
                };
                let (clean, angle) = prep::prepare(img, self.steps);
                if i == 0 {
                    skew = angle;
                }
                stages.mark("prepare");
                let path = dir.path().join(format!("page{i}.pgm"));
                prep::write_pgm(&clean, &path).map_err(|e| ScanError::Io(e.to_string()))?;
                stages.mark("write");
                all.extend(tesseract::ocr(
                    &self.tesseract,
                    &self.lang,
                    &path,
                    self.limits.tool_timeout,
                )?);
                stages.mark("tesseract");
            }
            all
        } else {
            lines
        };

        let ex = extract::extract(&lines, qr.as_ref());
        stages.mark("extract");
        let checks = ex.data.checks(self.our_cuit.as_ref());
        if ex.fields.is_empty() {
            warnings.push("no se reconoció ningún dato de factura en el archivo".into());
        }
        let required = [
            "voucher_code",
            "point_of_sale",
            "number",
            "issue_date",
            "issuer_cuit",
            "total",
        ];
        let confidence = required
            .iter()
            .map(|f| ex.fields.get(*f).map(|f| f.confidence).unwrap_or(0))
            .chain(ex.lines.iter().map(|l| l.confidence))
            .min()
            .unwrap_or(0);
        Ok(Extraction {
            page_image,
            kind,
            method,
            pages,
            data: ex.data,
            fields: ex.fields,
            lines: ex.lines,
            qr,
            qr_mismatches: ex.qr_mismatches,
            checks,
            confidence,
            skew_degrees: skew,
            raw_text: text::raw_text(&lines),
            warnings,
            elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            stage_ms: stages.ms,
        })
    }
}

fn tempdir() -> Result<tempfile::TempDir, ScanError> {
    tempfile::Builder::new()
        .prefix("almacen-ocr-")
        .tempdir()
        .map_err(|e| ScanError::Io(e.to_string()))
}
