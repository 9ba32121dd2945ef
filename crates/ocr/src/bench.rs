//! Accuracy and speed over generated invoices: exact match per field and per degradation,
//! QR-covered fields separately, and invoices per second.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use domain::Cuit;
use serde::Serialize;

use crate::Scanner;
use crate::synth::{self, Degradation, Fonts, Spec};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub ok: u64,
    pub total: u64,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.ok += u64::from(ok);
    }

    /// Per-mille, so the report needs no floating point for what it compares.
    pub fn permille(&self) -> u64 {
        (self.ok * 1000).checked_div(self.total).unwrap_or(0)
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub invoices: usize,
    pub failed_scans: usize,
    pub threads: usize,
    pub seconds_wall: f64,
    pub seconds_cpu_per_invoice: f64,
    pub per_field: BTreeMap<String, Tally>,
    pub per_degradation: BTreeMap<String, Tally>,
    pub qr_fields_with_qr: Tally,
    pub clean: Tally,
    pub degraded: Tally,
}

/// One invoice's spec, its field scores (None when the scan failed) and scan seconds.
type Outcome = (Spec, Option<Vec<(String, bool, bool)>>, f64);

/// Generates `count` invoices from `seed` and reads them on `threads` threads.
pub fn run(scanner: &Scanner, fonts: &Fonts, count: usize, seed: u64, threads: usize) -> Report {
    let specs = synth::specs(count, seed);
    let receiver = scanner
        .our_cuit
        .clone()
        .or_else(|| Cuit::parse("33-69345023-9").ok());
    let Some(receiver) = receiver else {
        return Report::default();
    };
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(spec) = specs.get(i) else { break };
                    let sample = synth::sample(spec, fonts, &receiver);
                    let t = Instant::now();
                    let scored = scanner
                        .scan(&sample.bytes)
                        .ok()
                        .map(|ex| synth::score(&sample.truth, &ex.data));
                    let secs = t.elapsed().as_secs_f64();
                    if let Ok(mut r) = results.lock() {
                        r.push((spec.clone(), scored, secs));
                    }
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let results = results.into_inner().unwrap_or_default();
    let mut report = Report {
        invoices: results.len(),
        threads,
        seconds_wall: wall,
        ..Report::default()
    };
    let mut scan_secs = 0.0;
    for (spec, scored, secs) in results {
        scan_secs += secs;
        let deg = spec.degradation.as_str().to_owned();
        let Some(fields) = scored else {
            report.failed_scans += 1;
            continue;
        };
        for (name, qr_covered, ok) in fields {
            report.per_field.entry(name).or_default().add(ok);
            report
                .per_degradation
                .entry(deg.clone())
                .or_default()
                .add(ok);
            if spec.degradation == Degradation::Clean {
                report.clean.add(ok);
            } else {
                report.degraded.add(ok);
            }
            if spec.qr && qr_covered {
                report.qr_fields_with_qr.add(ok);
            }
        }
    }
    report.seconds_cpu_per_invoice = scan_secs / report.invoices.max(1) as f64;
    report
}

fn pct(t: &Tally) -> String {
    let p = t.permille();
    format!("{:>3}.{}% ({}/{})", p / 10, p % 10, t.ok, t.total)
}

/// The report as a plain-text table.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "invoices: {}  failed scans: {}  threads: {}  wall: {:.1} s  throughput: {:.2} invoices/s  per invoice (one thread): {:.2} s\n\n",
        r.invoices,
        r.failed_scans,
        r.threads,
        r.seconds_wall,
        r.invoices as f64 / r.seconds_wall.max(1e-9),
        r.seconds_cpu_per_invoice
    ));
    out.push_str("field                  exact\n");
    for (k, t) in &r.per_field {
        out.push_str(&format!("{k:<22} {}\n", pct(t)));
    }
    out.push_str("\ndegradation            exact\n");
    for (k, t) in &r.per_degradation {
        out.push_str(&format!("{k:<22} {}\n", pct(t)));
    }
    out.push_str(&format!("\nclean                  {}\n", pct(&r.clean)));
    out.push_str(&format!("degraded               {}\n", pct(&r.degraded)));
    out.push_str(&format!(
        "QR fields (QR present) {}\n",
        pct(&r.qr_fields_with_qr)
    ));
    out
}
