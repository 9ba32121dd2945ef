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
    pub clean_invoices: usize,
    pub degraded_invoices: usize,
    pub failed_scans: usize,
    pub threads: usize,
    /// Reading only: the invoices are generated before the clock starts.
    pub seconds_wall: f64,
    /// Mean wall time of one scan on its thread.
    pub seconds_per_invoice: f64,
    /// CPU seconds (this process and its Tesseract children) spent reading, per invoice; None
    /// where the OS does not say. Its inverse is invoices per second per core, whatever else
    /// the machine is doing.
    pub cpu_seconds_per_invoice: Option<f64>,
    /// Mean wall milliseconds per invoice in each pipeline stage.
    pub stage_ms_per_invoice: BTreeMap<String, f64>,
    pub per_field: BTreeMap<String, Tally>,
    pub per_degradation: BTreeMap<String, Tally>,
    pub qr_fields_with_qr: Tally,
    pub clean: Tally,
    pub degraded: Tally,
}

/// One invoice's spec, its field scores and stage times (None when the scan failed) and scan
/// seconds.
type Outcome = (Spec, Option<(Vec<(String, bool, bool)>, Stages)>, f64);
type Stages = BTreeMap<&'static str, u64>;

/// CPU seconds used so far by this process and its waited-for children (Tesseract), from
/// `/proc/self/stat` (utime, stime, cutime, cstime in clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f
        .get(11..15)?
        .iter()
        .map(|t| t.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `f` over `items` on `threads` threads, results in input order.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut all) = results.lock() {
                        all.push((i, r));
                    }
                }
            });
        }
    });
    let mut all = results.into_inner().unwrap_or_default();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Generates `count` invoices from `seed` (half clean, half degraded) and reads them on
/// `threads` threads. Only the reading is timed; the extraction never sees the truth, which
/// is used for scoring only.
pub fn run(scanner: &Scanner, fonts: &Fonts, count: usize, seed: u64, threads: usize) -> Report {
    let specs = synth::specs(count, seed);
    let receiver = scanner
        .our_cuit
        .clone()
        .or_else(|| Cuit::parse("33-69345023-9").ok());
    let Some(receiver) = receiver else {
        return Report::default();
    };
    let samples = parallel(&specs, threads, |spec| {
        synth::sample(spec, fonts, &receiver)
    });
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let results: Vec<Outcome> = parallel(&samples, threads, |sample| {
        let t = Instant::now();
        let scanned = scanner.scan(&sample.bytes);
        let secs = t.elapsed().as_secs_f64();
        let scored = scanned
            .ok()
            .map(|ex| (synth::score(&sample.truth, &ex.data), ex.stage_ms));
        (sample.spec.clone(), scored, secs)
    });
    let wall = started.elapsed().as_secs_f64();
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let mut report = Report {
        invoices: results.len(),
        threads,
        seconds_wall: wall,
        ..Report::default()
    };
    let mut scan_secs = 0.0;
    for (spec, scored, secs) in results {
        scan_secs += secs;
        if spec.degradation == Degradation::Clean {
            report.clean_invoices += 1;
        } else {
            report.degraded_invoices += 1;
        }
        let deg = spec.degradation.as_str().to_owned();
        let Some((fields, stages)) = scored else {
            report.failed_scans += 1;
            continue;
        };
        for (stage, ms) in stages {
            *report
                .stage_ms_per_invoice
                .entry(stage.to_owned())
                .or_default() += ms as f64;
        }
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
    let n = report.invoices.max(1) as f64;
    report.seconds_per_invoice = scan_secs / n;
    report.cpu_seconds_per_invoice = cpu.map(|c| c / n);
    for ms in report.stage_ms_per_invoice.values_mut() {
        *ms /= n;
    }
    report
}

/// Writes the generated set to `dir` (`factura-NNN.png|jpg` with `factura-NNN.json`, its
/// known content), so any set can be read again with `almacen invoices scan` or by hand.
pub fn save(
    dir: &std::path::Path,
    fonts: &Fonts,
    count: usize,
    seed: u64,
    receiver: &Cuit,
) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let specs = synth::specs(count, seed);
    for (i, spec) in specs.iter().enumerate() {
        let sample = synth::sample(spec, fonts, receiver);
        let ext = match crate::FileKind::sniff(&sample.bytes) {
            Some(crate::FileKind::Jpeg) => "jpg",
            Some(crate::FileKind::Tiff) => "tif",
            Some(crate::FileKind::Pdf) => "pdf",
            _ => "png",
        };
        std::fs::write(dir.join(format!("factura-{i:03}.{ext}")), &sample.bytes)?;
        let truth = serde_json::json!({
            "degradation": spec.degradation.as_str(),
            "qr": spec.qr,
            "truth": sample.truth,
        });
        std::fs::write(
            dir.join(format!("factura-{i:03}.json")),
            serde_json::to_vec_pretty(&truth).map_err(std::io::Error::other)?,
        )?;
    }
    Ok(specs.len())
}

fn pct(t: &Tally) -> String {
    let p = t.permille();
    format!("{:>3}.{}% ({}/{})", p / 10, p % 10, t.ok, t.total)
}

/// The report as a plain-text table.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "invoices: {} ({} clean, {} degraded)  failed scans: {}  threads: {}\n\
         wall: {:.1} s  throughput: {:.2} invoices/s ({:.2} per thread)  per invoice on its thread: {:.2} s\n",
        r.invoices,
        r.clean_invoices,
        r.degraded_invoices,
        r.failed_scans,
        r.threads,
        r.seconds_wall,
        r.invoices as f64 / r.seconds_wall.max(1e-9),
        r.invoices as f64 / r.seconds_wall.max(1e-9) / r.threads.max(1) as f64,
        r.seconds_per_invoice
    ));
    if let Some(c) = r.cpu_seconds_per_invoice {
        out.push_str(&format!(
            "CPU per invoice (with Tesseract): {c:.2} s = {:.2} invoices/s per core\n",
            1.0 / c.max(1e-9)
        ));
    }
    if !r.stage_ms_per_invoice.is_empty() {
        let stages: Vec<String> = r
            .stage_ms_per_invoice
            .iter()
            .map(|(k, ms)| format!("{k} {ms:.0}"))
            .collect();
        out.push_str(&format!(
            "wall ms per invoice by stage: {}\n",
            stages.join(", ")
        ));
    }
    out.push('\n');
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
