//! `almacen forecast evaluate|predict` on any long-format history file, and `almacen bench
//! forecast` on generated data: the same backtest and selection the nightly run uses, in
//! parallel across series.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use domain::Qty;
use domain::forecast::{AccuracyTable, Config, Forecaster, Frequency, Method, SeriesForecast};
use rayon::prelude::*;
use serde::Serialize;

/// One series of a history file, periods filled in (a missing date sold nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct FileSeries {
    pub id: String,
    pub start: NaiveDate,
    pub frequency: Frequency,
    pub values: Vec<Option<Qty>>,
}

/// Reads `series_id,date,quantity` (header required, any column order, extra columns
/// ignored). Dates are YYYY-MM-DD; an empty quantity marks a censored period (out of stock).
/// A series whose dates are all a multiple of 7 days apart is weekly, otherwise daily.
pub fn read_history(path: &Path) -> anyhow::Result<Vec<FileSeries>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("leyendo {}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| -> anyhow::Result<usize> {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .with_context(|| {
                format!("falta la columna {name} (se esperan series_id,date,quantity)")
            })
    };
    let (c_id, c_date, c_qty) = (col("series_id")?, col("date")?, col("quantity")?);
    let mut raw: BTreeMap<String, BTreeMap<NaiveDate, Option<Qty>>> = BTreeMap::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("línea {line}"))?;
        let field = |c: usize| rec.get(c).unwrap_or("");
        let id = field(c_id);
        if id.is_empty() {
            bail!("línea {line}: series_id: está vacío");
        }
        let date = NaiveDate::parse_from_str(field(c_date), "%Y-%m-%d")
            .map_err(|_| anyhow::anyhow!("línea {line}: date: use AAAA-MM-DD"))?;
        let qty = match field(c_qty) {
            "" => None,
            q => {
                let q =
                    Qty::parse(q).map_err(|e| anyhow::anyhow!("línea {line}: quantity: {e}"))?;
                if q.is_negative() {
                    bail!("línea {line}: quantity: no puede ser negativa");
                }
                Some(q)
            }
        };
        let slot = raw
            .entry(id.to_owned())
            .or_default()
            .entry(date)
            .or_insert(None);
        *slot = match (*slot, qty) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
    let mut out = Vec::with_capacity(raw.len());
    for (id, days) in raw {
        let (Some((&first, _)), Some((&last, _))) = (days.first_key_value(), days.last_key_value())
        else {
            continue;
        };
        let weekly = days.len() > 1 && days.keys().all(|d| (*d - first).num_days() % 7 == 0);
        let frequency = if weekly {
            Frequency::Weekly
        } else {
            Frequency::Daily
        };
        let step = frequency.days() as i64;
        let n = usize::try_from((last - first).num_days() / step + 1).unwrap_or(0);
        let mut values = vec![Some(Qty::ZERO); n];
        for (d, q) in days {
            let i = usize::try_from((d - first).num_days() / step).unwrap_or(0);
            if let Some(slot) = values.get_mut(i) {
                *slot = q;
            }
        }
        out.push(FileSeries {
            id,
            start: first,
            frequency,
            values,
        });
    }
    Ok(out)
}

fn config(horizon: usize) -> Config {
    Config {
        horizon: horizon.max(1),
        ..Config::default()
    }
}

fn forecast_all(series: &[FileSeries], horizon: usize) -> Vec<SeriesForecast> {
    series
        .par_iter()
        .map_init(
            || Forecaster::new(config(horizon)),
            |fc, s| fc.run(s.start, s.frequency, &s.values),
        )
        .collect()
}

#[derive(Debug, Serialize)]
pub struct MethodAccuracy {
    pub method: String,
    pub wape: Option<f64>,
    pub mase: Option<f64>,
    pub selected: u64,
}

#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub series: u64,
    pub horizon: usize,
    pub methods: Vec<MethodAccuracy>,
    /// The automatic per-series selection, scored out of sample.
    pub selection: MethodAccuracy,
    pub with_calendar: u64,
}

impl Evaluation {
    pub fn from_table(t: &AccuracyTable, horizon: usize) -> Evaluation {
        Evaluation {
            series: t.series,
            horizon,
            methods: Method::ALL
                .iter()
                .zip(&t.methods)
                .zip(&t.selected)
                .map(|((m, row), (_, n))| MethodAccuracy {
                    method: m.as_str().to_owned(),
                    wape: row.wape(),
                    mase: row.mase(),
                    selected: *n,
                })
                .collect(),
            selection: MethodAccuracy {
                method: "selection".to_owned(),
                wape: t.selection.wape(),
                mase: t.selection.mase(),
                selected: t.series,
            },
            with_calendar: t.with_calendar,
        }
    }
}

/// Backtests every series of the file and sums the accuracy table.
pub fn evaluate(path: &Path, horizon: usize) -> anyhow::Result<(AccuracyTable, Evaluation)> {
    let series = read_history(path)?;
    let table = forecast_all(&series, horizon)
        .iter()
        .fold(AccuracyTable::new(), |mut t, f| {
            t.add(f);
            t
        });
    let eval = Evaluation::from_table(&table, horizon);
    Ok((table, eval))
}

/// Writes `series_id,date,method,forecast,lower,upper` for every series of the file.
pub fn predict(path: &Path, horizon: usize, out: &mut dyn Write) -> anyhow::Result<usize> {
    let series = read_history(path)?;
    let forecasts = forecast_all(&series, horizon);
    writeln!(out, "series_id,date,method,forecast,lower,upper")?;
    let mut rows = 0;
    for (s, f) in series.iter().zip(&forecasts) {
        let method = if f.calendar {
            format!("{}+calendar", f.method)
        } else {
            f.method.to_string()
        };
        for p in &f.points {
            writeln!(
                out,
                "{},{},{},{},{},{}",
                csv_field(&s.id),
                p.date,
                method,
                p.point,
                p.lower,
                p.upper
            )?;
            rows += 1;
        }
    }
    Ok(rows)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A small deterministic generator (SplitMix64), so the benchmark data are the same on every
/// run and need no download.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Poisson draw (Knuth for small means, a rounded normal above 30).
    pub fn poisson(&mut self, mean: f64) -> u64 {
        if mean.is_nan() || mean <= 0.0 {
            return 0;
        }
        if mean > 30.0 {
            let u1 = self.unit().max(1e-12);
            let u2 = self.unit();
            let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            return (mean + z * mean.sqrt()).round().max(0.0) as u64;
        }
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }
}

/// Generated daily demand for series `index`: a mix of regular sellers (weekly pattern,
/// trend, yearly seasonality, promotions), intermittent slow movers and lumpy items, with
/// stock-out runs censored. Independent of the methods: the shapes come from retail
/// practice, not from what any method fits best.
pub fn generated_series(index: u64, days: usize, start: NaiveDate, out: &mut Vec<Option<Qty>>) {
    let mut rng = Rng::new(index.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);
    out.clear();
    let kind = rng.unit();
    let base = 0.2 + rng.unit() * 40.0;
    let trend = (rng.unit() - 0.5) * 0.002;
    let summer = if rng.unit() < 0.3 {
        rng.unit() * 0.8
    } else {
        0.0
    };
    let weekday: [f64; 7] = std::array::from_fn(|_| 0.7 + rng.unit() * 0.6);
    let p_demand = 0.02 + rng.unit() * 0.3;
    let mut stockout_left = 0u32;
    let mut promo_left = 0u32;
    for t in 0..days {
        let date = start + Days::new(t as u64);
        if stockout_left == 0 && rng.unit() < 0.004 {
            stockout_left = 1 + (rng.unit() * 10.0) as u32;
        }
        if promo_left == 0 && rng.unit() < 0.005 {
            promo_left = 7;
        }
        let censored = stockout_left > 0;
        stockout_left = stockout_left.saturating_sub(1);
        let promo = if promo_left > 0 { 1.6 } else { 1.0 };
        promo_left = promo_left.saturating_sub(1);
        let doy = f64::from(chrono::Datelike::ordinal(&date));
        // Southern summer peaks in mid January.
        let season = 1.0 + summer * (2.0 * std::f64::consts::PI * (doy - 15.0) / 365.25).cos();
        let level = (1.0 + trend * t as f64).max(0.05);
        let units = if kind < 0.55 {
            rng.poisson(base * level * season * weekday[t % 7] * promo)
        } else if kind < 0.9 {
            if rng.unit() < p_demand * season * promo {
                1 + rng.poisson(1.5)
            } else {
                0
            }
        } else if rng.unit() < p_demand * 0.3 {
            1 + rng.poisson(base)
        } else {
            0
        };
        out.push((!censored).then(|| Qty::units(i64::try_from(units).unwrap_or(i64::MAX))));
    }
}

#[derive(Debug, Serialize)]
pub struct BenchForecastReport {
    pub series: u64,
    pub days: usize,
    pub horizon: usize,
    pub threads: usize,
    pub seconds: f64,
    pub series_per_sec: f64,
    pub peak_memory_mib: Option<f64>,
    pub accuracy: Evaluation,
    #[serde(skip)]
    pub table: AccuracyTable,
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Generates `series` histories of `days` days and runs the full backtest and selection on
/// each, in parallel, holding one history per thread at a time.
pub fn bench(series: u64, days: usize, horizon: usize) -> BenchForecastReport {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
    let began = Instant::now();
    let table = (0..series)
        .into_par_iter()
        .map_init(
            || (Forecaster::new(config(horizon)), Vec::with_capacity(days)),
            |(fc, buf), i| {
                generated_series(i, days, start, buf);
                fc.run(start, Frequency::Daily, buf)
            },
        )
        .fold(AccuracyTable::new, |mut t, f| {
            t.add(&f);
            t
        })
        .reduce(AccuracyTable::new, AccuracyTable::merge);
    let seconds = began.elapsed().as_secs_f64();
    BenchForecastReport {
        series,
        days,
        horizon,
        threads: rayon::current_num_threads(),
        seconds,
        series_per_sec: if seconds > 0.0 {
            series as f64 / seconds
        } else {
            0.0
        },
        peak_memory_mib: peak_memory_mib(),
        accuracy: Evaluation::from_table(&table, horizon),
        table,
    }
}

impl BenchForecastReport {
    pub fn print(&self) {
        println!(
            "forecast: {} series × {} días, horizonte {}, {} hilos",
            self.series, self.days, self.horizon, self.threads
        );
        println!(
            "tiempo: {:.2} s ({:.0} series/s), memoria pico: {}",
            self.seconds,
            self.series_per_sec,
            self.peak_memory_mib
                .map_or("—".to_owned(), |m| format!("{m:.1} MiB"))
        );
        print!("{}", self.table.render());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write(content: &str) -> tempfile_path::TempPath {
        tempfile_path::TempPath::new(content)
    }

    /// A tiny self-deleting temporary file (the crate has no tempfile dependency).
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn new(content: &str) -> TempPath {
                let p = std::env::temp_dir().join(format!(
                    "almacen-forecast-{}-{}.csv",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::write(&p, content).unwrap();
                TempPath(p)
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    #[test]
    fn reads_daily_and_weekly_series_filling_gaps() {
        let f = write(
            "date,series_id,quantity\n\
             2025-01-01,a,3\n2025-01-03,a,1.5\n2025-01-04,a,\n\
             2025-01-06,w,10\n2025-01-20,w,4\n2025-01-06,w,2\n",
        );
        let s = read_history(&f.0).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].id, "a");
        assert_eq!(s[0].frequency, Frequency::Daily);
        assert_eq!(
            s[0].values,
            vec![
                Some(Qty::units(3)),
                Some(Qty::ZERO),
                Some(Qty::from_milli(1500)),
                None
            ]
        );
        assert_eq!(s[1].frequency, Frequency::Weekly);
        assert_eq!(
            s[1].values,
            vec![Some(Qty::units(12)), Some(Qty::ZERO), Some(Qty::units(4))]
        );
    }

    #[test]
    fn bad_lines_name_line_and_field() {
        let f = write("series_id,date,quantity\na,2025-13-01,1\n");
        let e = read_history(&f.0).unwrap_err().to_string();
        assert_eq!(e, "línea 2: date: use AAAA-MM-DD");
        let f = write("series_id,date,quantity\na,2025-01-01,-1\n");
        let e = read_history(&f.0).unwrap_err().to_string();
        assert_eq!(e, "línea 2: quantity: no puede ser negativa");
        let f = write("id,date,quantity\n");
        assert!(
            read_history(&f.0)
                .unwrap_err()
                .to_string()
                .contains("series_id")
        );
    }

    #[test]
    fn evaluate_and_predict_a_constant_series() {
        let mut csv = "series_id,date,quantity\n".to_owned();
        let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        for i in 0..100 {
            csv.push_str(&format!("s1,{},7\n", start + Days::new(i)));
        }
        let f = write(&csv);
        let (_, eval) = evaluate(&f.0, 14).unwrap();
        assert_eq!(eval.series, 1);
        assert_eq!(eval.methods[0].method, "seasonal_naive");
        assert_eq!(eval.methods[0].wape, Some(0.0));
        // SBA is 5 % low on a constant series.
        assert!((eval.methods[5].wape.unwrap() - 0.05).abs() < 1e-9);
        assert_eq!(eval.selection.wape, Some(0.0));
        let mut out = Vec::new();
        let rows = predict(&f.0, 3, &mut out).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "series_id,date,method,forecast,lower,upper\n\
             s1,2025-04-11,seasonal_naive,7,7,7\n\
             s1,2025-04-12,seasonal_naive,7,7,7\n\
             s1,2025-04-13,seasonal_naive,7,7,7\n"
        );
    }

    #[test]
    fn generated_series_are_deterministic_and_censored_sometimes() {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        generated_series(42, 730, start, &mut a);
        generated_series(42, 730, start, &mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), 730);
        let censored: usize = (0..200)
            .map(|i| {
                generated_series(i, 730, start, &mut a);
                a.iter().filter(|v| v.is_none()).count()
            })
            .sum();
        assert!(censored > 0);
    }

    #[test]
    fn small_bench_reports_every_method() {
        let r = bench(50, 200, 28);
        assert_eq!(r.series, 50);
        assert_eq!(r.accuracy.methods.len(), Method::ALL.len());
        assert_eq!(
            r.accuracy.methods.iter().map(|m| m.selected).sum::<u64>(),
            50
        );
        assert!(
            r.accuracy
                .selection
                .wape
                .is_some_and(|w| w.is_finite() && w > 0.0)
        );
        assert!(r.peak_memory_mib.is_some_and(|m| m > 0.0));
    }
}
