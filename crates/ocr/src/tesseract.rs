//! Tesseract's TSV output: one row per word with its box and confidence, grouped into lines.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::text::{Line, Word};
use crate::{ScanError, Source, tools};

/// OCRs one image file into text lines, with Tesseract's own word confidences.
pub(crate) fn ocr(
    program: &Path,
    lang: &str,
    image: &Path,
    timeout: Duration,
) -> Result<Vec<Line>, ScanError> {
    let dir = image.parent().unwrap_or(Path::new("."));
    let base = dir.join("ocr");
    let mut cmd = Command::new(program);
    // Tesseract's OpenMP threads spin while they wait: on a page this small they more than
    // double the CPU spent. Parallelism comes from the worker pool, one page per core.
    cmd.env("OMP_THREAD_LIMIT", "1");
    cmd.arg(image)
        .arg(&base)
        .args(["-l", lang, "--psm", "6", "--dpi", "300"])
        // No dictionary correction: codes like "DL0400" are not Spanish words.
        .args(["-c", "load_system_dawg=0", "-c", "load_freq_dawg=0"])
        // Printed invoices have no white-on-black text; re-reading every doubtful word
        // inverted only costs time.
        .args(["-c", "tessedit_do_invert=0", "tsv"]);
    tools::run(cmd, "tesseract", timeout)?;
    let tsv = std::fs::read_to_string(base.with_extension("tsv")).map_err(|e| ScanError::Tool {
        tool: "tesseract",
        detail: e.to_string(),
    })?;
    Ok(parse_tsv(&tsv))
}

/// Groups word rows (level 5) by block, paragraph and line, in reading order.
pub(crate) fn parse_tsv(tsv: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    let mut current: Option<(u32, u32, u32, u32)> = None;
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let key = |i: usize| cols[i].parse::<u32>().unwrap_or(0);
        let id = (key(1), key(2), key(3), key(4));
        let text = cols[11].trim();
        if text.is_empty() {
            continue;
        }
        // Confidence is a float 0..100 or -1; only its integer part matters here.
        let conf = cols[10]
            .split('.')
            .next()
            .and_then(|c| c.parse::<i32>().ok())
            .unwrap_or(0)
            .clamp(0, 100) as u8;
        if current != Some(id) {
            lines.push(Line::default());
            current = Some(id);
        }
        if let Some(line) = lines.last_mut() {
            line.push(Word {
                text: text.to_owned(),
                confidence: conf,
                source: Source::Ocr,
            });
        }
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn words_group_into_lines_with_confidences() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t\n\
5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t96.5\tCUIT:\n\
5\t1\t1\t1\t1\t2\t70\t10\t90\t20\t91.2\t30500010912\n\
5\t1\t1\t1\t2\t1\t10\t40\t50\t20\t40\tTotal\n";
        let lines = parse_tsv(tsv);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text(), "CUIT: 30500010912");
        assert_eq!(lines[0].words[1].confidence, 91);
        assert_eq!(lines[1].text(), "Total");
    }
}
