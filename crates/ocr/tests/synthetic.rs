//! End-to-end reading of generated invoices (needs Tesseract, poppler and fonts-dejavu-core,
//! which scripts/test.sh installs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use domain::Cuit;
use domain::invoice::Letter;
use ocr::synth::{self, Degradation, Fonts, Spec};
use ocr::{Method, Scanner, Source};

fn ours() -> Cuit {
    Cuit::parse("33-69345023-9").unwrap()
}

fn scanner() -> Scanner {
    Scanner {
        our_cuit: Some(ours()),
        ..Scanner::default()
    }
}

fn spec(seed: u64, layout: u8, letter: Letter, lines: usize, qr: bool) -> Spec {
    Spec {
        seed,
        layout,
        font: 0,
        letter,
        lines,
        qr,
        degradation: Degradation::Clean,
    }
}

#[test]
fn clean_invoices_read_every_field() {
    let fonts = Fonts::load(Path::new(synth::FONT_DIR)).expect("fonts-dejavu-core");
    let s = scanner();
    for (i, (layout, letter, lines, qr)) in [
        (0, Letter::A, 3, true),
        (1, Letter::A, 1, false),
        (0, Letter::B, 5, false),
        (1, Letter::C, 12, true),
    ]
    .into_iter()
    .enumerate()
    {
        let sp = spec(40 + i as u64, layout, letter, lines, qr);
        let sample = synth::sample(&sp, &fonts, &ours());
        let ex = s.scan(&sample.bytes).unwrap();
        let scored = synth::score(&sample.truth, &ex.data);
        // Header and footer fields must all be exact; in item lines OCR still misreads some
        // characters ("520 g" as "520 y", codes), so up to 10 % of line fields may differ.
        let wrong: Vec<_> = scored
            .iter()
            .filter(|(name, _, ok)| !ok && !name.starts_with("line_"))
            .collect();
        let line_fields = scored
            .iter()
            .filter(|(n, _, _)| n.starts_with("line_"))
            .count();
        let line_wrong = scored
            .iter()
            .filter(|(n, _, ok)| n.starts_with("line_") && !ok)
            .count();
        assert!(
            line_wrong * 10 <= line_fields,
            "{sp:?}: {line_wrong}/{line_fields} line fields wrong {scored:?} {}",
            ex.raw_text
        );
        assert!(
            wrong.is_empty(),
            "{sp:?}: wrong {wrong:?}\ntruth {:#?}\ngot {:#?}\ntext:\n{}",
            sample.truth,
            ex.data,
            ex.raw_text
        );
        assert_eq!(ex.method, Method::Ocr);
        assert!(ex.checks.iter().all(|c| c.ok), "{:?}", ex.checks);
        if qr {
            let qr = ex.qr.as_ref().expect("QR decoded");
            assert_eq!(Some(qr.total), sample.truth.total);
            assert_eq!(ex.fields["total"].source, Source::Qr);
            assert_eq!(ex.fields["total"].confidence, 100);
        } else {
            assert!(ex.qr.is_none());
            assert_eq!(ex.fields["total"].source, Source::Ocr);
        }
    }
}

/// Prints the accuracy table for a small generated set (`cargo test -- --ignored --nocapture`).
#[test]
#[ignore = "slow: an accuracy run, use almacen bench ocr"]
fn accuracy_table() {
    let fonts = Fonts::load(Path::new(synth::FONT_DIR)).unwrap();
    let n = std::env::var("OCR_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let r = ocr::bench::run(&scanner(), &fonts, n, 7, 2);
    println!("{}", ocr::bench::table(&r));
}

/// Writes generated samples to `OCR_SAVE_DIR` for inspection (`-- --ignored`).
#[test]
#[ignore = "manual: writes sample files"]
fn save_samples() {
    let Ok(dir) = std::env::var("OCR_SAVE_DIR") else {
        return;
    };
    let fonts = Fonts::load(Path::new(synth::FONT_DIR)).unwrap();
    for (i, sp) in synth::specs(12, 7).iter().enumerate() {
        let s = synth::sample(sp, &fonts, &ours());
        std::fs::write(
            format!(
                "{dir}/{i:02}-{:?}-{:?}-f{}-l{}.img",
                sp.degradation, sp.letter, sp.font, sp.layout
            ),
            &s.bytes,
        )
        .unwrap();
    }
}

/// Prints, for every generated invoice with a wrong field, the wrong fields, the expected and
/// extracted lines and the OCR text (`OCR_N`, `OCR_SEED`; `-- --ignored --nocapture`).
#[test]
#[ignore = "manual: a diagnosis aid"]
fn show_failures() {
    let fonts = Fonts::load(Path::new(synth::FONT_DIR)).unwrap();
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(d)
    };
    let only_clean = std::env::var("OCR_CLEAN").is_ok();
    let s = scanner();
    for sp in synth::specs(env("OCR_N", 24) as usize, env("OCR_SEED", 1)) {
        if only_clean && sp.degradation != Degradation::Clean {
            continue;
        }
        let sample = synth::sample(&sp, &fonts, &ours());
        let ex = s.scan(&sample.bytes).unwrap();
        let scored = synth::score(&sample.truth, &ex.data);
        let wrong: Vec<_> = scored.iter().filter(|(_, _, ok)| !ok).collect();
        if wrong.is_empty() {
            continue;
        }
        println!("=== {sp:?}\nwrong: {wrong:?}");
        let pairs = synth::align_lines(&sample.truth.lines, &ex.data.lines);
        for (t, p) in sample.truth.lines.iter().zip(&pairs) {
            let g = p.and_then(|j| ex.data.lines.get(j));
            if g != Some(t) {
                println!("  want {t:?}\n  got  {g:?}");
            }
        }
        println!("--- text\n{}", ex.raw_text);
    }
}
