//! poppler-utils: page count, text layer and rasterisation, each bounded in time and size.

use std::path::Path;
use std::process::Command;

use crate::{Limits, ScanError, tools};

pub(crate) fn page_count(pdfinfo: &Path, pdf: &Path, limits: &Limits) -> Result<u32, ScanError> {
    let out = pdf.with_extension("info");
    let mut cmd = Command::new("sh");
    // pdfinfo writes to stdout only; redirect inside a shell so `tools::run` keeps its shape.
    cmd.arg("-c")
        .arg("\"$0\" \"$1\" > \"$2\"")
        .arg(pdfinfo)
        .arg(pdf)
        .arg(&out);
    tools::run(cmd, "pdfinfo", limits.tool_timeout).map_err(|e| match e {
        ScanError::Tool { detail, .. } => ScanError::CorruptPdf(detail),
        e => e,
    })?;
    let info = std::fs::read_to_string(&out).map_err(|e| ScanError::Io(e.to_string()))?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| ScanError::CorruptPdf("sin cantidad de páginas".into()))
}

pub(crate) fn text_layer(
    pdftotext: &Path,
    pdf: &Path,
    limits: &Limits,
) -> Result<String, ScanError> {
    let out = pdf.with_extension("txt");
    let mut cmd = Command::new(pdftotext);
    cmd.args(["-layout", "-enc", "UTF-8", "-l"])
        .arg(limits.max_pages.to_string())
        .arg(pdf)
        .arg(&out);
    tools::run(cmd, "pdftotext", limits.tool_timeout).map_err(|e| match e {
        ScanError::Tool { detail, .. } => ScanError::CorruptPdf(detail),
        e => e,
    })?;
    let bytes = std::fs::read(&out).map_err(|e| ScanError::Io(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One page as PNG bytes at `dpi`, refusing page sizes that would exceed the pixel limit.
pub(crate) fn rasterise(
    pdftoppm: &Path,
    pdf: &Path,
    page: u32,
    dpi: u32,
    limits: &Limits,
) -> Result<Vec<u8>, ScanError> {
    let base = pdf.with_file_name(format!("page-{page}-{dpi}"));
    let mut cmd = Command::new(pdftoppm);
    // -scale-to fixes the longer side to an A4 page's at this dpi, so a poster-sized page
    // cannot allocate gigabytes.
    let long_side = u64::from(dpi) * 117 / 10;
    cmd.args(["-png", "-gray", "-singlefile", "-r"])
        .arg(dpi.to_string())
        .args(["-f", &page.to_string(), "-l", &page.to_string()])
        .args(["-scale-to", &long_side.to_string()])
        .arg(pdf)
        .arg(&base);
    tools::run(cmd, "pdftoppm", limits.tool_timeout).map_err(|e| match e {
        ScanError::Tool { detail, .. } => ScanError::CorruptPdf(detail),
        e => e,
    })?;
    std::fs::read(base.with_extension("png")).map_err(|e| ScanError::Io(e.to_string()))
}
