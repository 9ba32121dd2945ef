//! Demand forecasting: per-series method selection by rolling-origin backtest, point
//! forecasts and prediction intervals from the backtest's own errors.
//!
//! Statistics run in `f64` (never money); quantities enter and leave as [`Qty`]. A history is
//! one value per period, `None` where the period is censored (the product had no stock, so
//! zero sales say nothing about demand). Nothing here returns NaN: an empty, one-sale or
//! all-zero history yields zeros with a zero-width interval.

mod calendar;
mod models;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::qty::Qty;
use calendar::WithCalendar;
pub use calendar::{holidays, is_aguinaldo_month, is_holiday};
use models::{Model, clean};

str_enum! {
    /// The forecasting methods a series may be assigned.
    pub enum Method ("Método de pronóstico") {
        /// Same day last week (same period last cycle).
        SeasonalNaive = "seasonal_naive",
        /// Mean of the last four weeks (eight periods on weekly data).
        MovingAverage = "moving_average",
        /// Additive Holt-Winters without trend, ETS(A,N,A), weekly seasonality.
        EtsAdditive = "ets_additive",
        /// Additive Holt-Winters with a damped trend, ETS(A,Ad,A).
        EtsDamped = "ets_damped",
        /// Croston's method for intermittent demand.
        Croston = "croston",
        /// Syntetos–Boylan approximation: Croston without its upward bias.
        Sba = "sba",
        /// Teunter–Syntetos–Babai: intermittent demand that may become obsolete.
        Tsb = "tsb",
    }
}

/// How far apart the periods of a history are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Frequency {
    /// Periods per seasonal cycle: a week of days, a year of weeks.
    pub fn period(self) -> usize {
        match self {
            Frequency::Daily => 7,
            Frequency::Weekly => 52,
        }
    }

    /// Days between consecutive periods.
    pub fn days(self) -> u64 {
        match self {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
        }
    }

    fn window(self) -> usize {
        match self {
            Frequency::Daily => 28,
            Frequency::Weekly => 8,
        }
    }
}

/// Backtest and forecast settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Periods to forecast (and to score at each backtest origin).
    pub horizon: usize,
    /// How many rolling origins the backtest uses at most.
    pub origins: usize,
    /// Periods between consecutive origins.
    pub origin_step: usize,
    /// Central coverage of the prediction interval, in (0, 1).
    pub coverage: f64,
    /// Try the Argentine calendar layer on daily series and keep it where it helps.
    pub calendar: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            horizon: 28,
            origins: 12,
            origin_step: 7,
            coverage: 0.9,
            calendar: true,
        }
    }
}

/// One period's forecast, in units of the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForecastPoint {
    pub date: NaiveDate,
    pub point: Qty,
    pub lower: Qty,
    pub upper: Qty,
}

/// A method's backtest totals on one series (or summed over many).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Σ |actual − forecast| over the scored periods.
    pub abs_error: f64,
    /// Σ actual over the same periods.
    pub actual: f64,
    /// How many periods were scored (censored ones are not).
    pub periods: u64,
    /// MASE, when the series has a non-zero naive scale.
    pub mase: Option<f64>,
}

impl Score {
    /// Weighted absolute percentage error, `None` when nothing sold in the scored periods.
    pub fn wape(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.abs_error / self.actual)
    }

    fn mae(&self) -> f64 {
        if self.periods == 0 {
            0.0
        } else {
            self.abs_error / self.periods as f64
        }
    }
}

/// What the forecaster concluded for one series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesForecast {
    /// Each method's backtest score, in [`Method::ALL`] order.
    pub scores: Vec<(Method, Score)>,
    /// The method with the lowest backtest error (the default when there was no backtest).
    pub method: Method,
    /// Whether the calendar layer improved the backtest and was kept.
    pub calendar: bool,
    /// Out-of-sample score of the selection itself: at each origin, the method that had
    /// done best on the origins whose windows had already closed.
    pub selection: Score,
    /// Each method's score on the same origins as `selection` (those with a closed window
    /// before them; all origins when none has), so the two compare like with like.
    pub holdout: Vec<(Method, Score)>,
    /// Standard deviation of the one-period forecast error, for safety stock (units).
    pub error_sd: f64,
    /// The forecast, one point per period from the period after the history.
    pub points: Vec<ForecastPoint>,
}

impl SeriesForecast {
    /// Mean forecast per period over the horizon, in units (0 when there is none).
    pub fn mean_per_period(&self) -> f64 {
        if self.points.is_empty() {
            return 0.0;
        }
        let total: i64 = self.points.iter().map(|p| p.point.milli()).sum();
        clean(total as f64 / 1000.0 / self.points.len() as f64)
    }
}

/// Units (f64) to a quantity, rounded to the thousandth; never negative.
pub fn to_qty(units: f64) -> Qty {
    let milli = (clean(units) * 1000.0).round();
    Qty::from_milli(if milli >= i64::MAX as f64 {
        i64::MAX
    } else {
        milli as i64
    })
}

/// A quantity in units for the statistics.
pub fn to_units(q: Qty) -> f64 {
    q.milli() as f64 / 1000.0
}

/// Reusable state for forecasting many series in a row (one per thread), so that the
/// per-series work allocates only its result.
#[derive(Debug)]
pub struct Forecaster {
    config: Config,
    ys: Vec<Option<f64>>,
    buf: Vec<f64>,
    /// Signed errors (actual − forecast), per method × origin × step; `None` when censored.
    errors: Vec<Option<f64>>,
}

/// Which origins a history of `n` periods allows, and the horizon they are scored over.
struct Plan {
    origins: Vec<usize>,
    horizon: usize,
}

impl Forecaster {
    pub fn new(config: Config) -> Forecaster {
        let config = Config {
            horizon: config.horizon.max(1),
            origin_step: config.origin_step.max(1),
            coverage: if config.coverage.is_finite() && config.coverage > 0.0 {
                config.coverage.min(0.999)
            } else {
                0.9
            },
            ..config
        };
        Forecaster {
            config,
            ys: Vec::new(),
            buf: Vec::new(),
            errors: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn plan(&self, n: usize, period: usize) -> Plan {
        let min_train = 2 * period;
        let horizon = self.config.horizon.min(n.saturating_sub(min_train));
        let mut origins = Vec::new();
        if horizon == 0 {
            return Plan { origins, horizon };
        }
        let last = n - horizon;
        for k in 0..self.config.origins {
            let Some(o) = last.checked_sub(k * self.config.origin_step) else {
                break;
            };
            if o < min_train {
                break;
            }
            origins.push(o);
        }
        origins.reverse();
        Plan { origins, horizon }
    }

    /// Backtests every method on `history` (first period on `start`), selects one, and
    /// forecasts `config.horizon` periods after the history.
    pub fn run(
        &mut self,
        start: NaiveDate,
        frequency: Frequency,
        history: &[Option<Qty>],
    ) -> SeriesForecast {
        self.ys.clear();
        self.ys
            .extend(history.iter().map(|q| q.map(|q| to_units(q).max(0.0))));
        let ys = std::mem::take(&mut self.ys);
        let out = self.run_units(start, frequency, &ys);
        self.ys = ys;
        out
    }

    fn run_units(
        &mut self,
        start: NaiveDate,
        frequency: Frequency,
        ys: &[Option<f64>],
    ) -> SeriesForecast {
        let period = frequency.period();
        let window = frequency.window();
        let plan = self.plan(ys.len(), period);
        let (k, h) = (plan.origins.len(), plan.horizon);
        let methods = Method::ALL;
        self.errors.clear();
        self.errors.resize(methods.len() * k * h, None);
        self.buf.resize(self.config.horizon.max(h), 0.0);

        let mut models: Vec<Model> = methods
            .iter()
            .map(|&m| Model::new(m, period, window))
            .collect();
        let mut next_origin = 0;
        for (t, &y) in ys.iter().enumerate() {
            if next_origin < k && plan.origins[next_origin] == t {
                for (mi, model) in models.iter().enumerate() {
                    let row = (mi * k + next_origin) * h;
                    backtest_window(
                        |out| model.forecast(out),
                        &ys[t..t + h],
                        &mut self.buf[..h],
                        &mut self.errors[row..row + h],
                    );
                }
                next_origin += 1;
            }
            for model in &mut models {
                model.observe(y);
            }
        }

        let scale = mase_scale(ys, plan.origins.last().copied().unwrap_or(ys.len()), period);
        let scores: Vec<(Method, Score)> = methods
            .iter()
            .enumerate()
            .map(|(mi, &m)| {
                let rows = &self.errors[mi * k * h..(mi + 1) * k * h];
                (m, score(rows, ys, &plan, scale))
            })
            .collect();

        let default = default_method(ys);
        let method = if k == 0 {
            default
        } else {
            scores
                .iter()
                .min_by(|a, b| a.1.abs_error.total_cmp(&b.1.abs_error))
                .map(|s| s.0)
                .unwrap_or(default)
        };
        let (selection, holdout) = self.selection_score(ys, &plan, scale, default);
        let mi = methods.iter().position(|&m| m == method).unwrap_or(0);
        let mut residuals: Vec<Option<f64>> = self.errors[mi * k * h..(mi + 1) * k * h].to_vec();

        // The calendar layer, kept only where the backtest improves.
        let mut chosen = Chosen::Plain(models.swap_remove(mi));
        if self.config.calendar && frequency == Frequency::Daily && k > 0 {
            let mut layered = WithCalendar::new(Model::new(method, period, window), start);
            let mut cal_errors = vec![None; k * h];
            let mut next_origin = 0;
            for (t, &y) in ys.iter().enumerate() {
                if next_origin < k && plan.origins[next_origin] == t {
                    let row = next_origin * h;
                    backtest_window(
                        |out| layered.forecast(out),
                        &ys[t..t + h],
                        &mut self.buf[..h],
                        &mut cal_errors[row..row + h],
                    );
                    next_origin += 1;
                }
                layered.observe(y);
            }
            let with = score(&cal_errors, ys, &plan, scale);
            let without = scores[mi].1;
            if with.abs_error < CALENDAR_GAIN * without.abs_error {
                chosen = Chosen::Calendar(Box::new(layered));
                residuals = cal_errors;
            }
        }

        let horizon = self.config.horizon;
        let points_units = &mut self.buf[..horizon];
        match &chosen {
            Chosen::Plain(m) => m.forecast(points_units),
            Chosen::Calendar(m) => m.forecast(points_units),
        }
        let error_sd = error_sd(&residuals, ys);
        let (lo, hi) = (
            (1.0 - self.config.coverage) / 2.0,
            1.0 - (1.0 - self.config.coverage) / 2.0,
        );
        let bands = Bands::new(&residuals, k, h, lo, hi, error_sd, self.config.coverage);
        let step = frequency.days();
        let points = points_units
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let (qlo, qhi) = bands.at(i);
                let offset = (ys.len() as u64 + i as u64) * step;
                ForecastPoint {
                    date: start
                        .checked_add_days(Days::new(offset))
                        .unwrap_or(NaiveDate::MAX),
                    point: to_qty(p),
                    lower: to_qty(p + qlo.min(0.0)).min(to_qty(p)),
                    upper: to_qty(p + qhi.max(0.0)).max(to_qty(p)),
                }
            })
            .collect();
        SeriesForecast {
            scores,
            method,
            calendar: matches!(chosen, Chosen::Calendar(_)),
            selection,
            holdout,
            error_sd,
            points,
        }
    }

    /// At each origin, use the method with the lowest error over the origins whose whole
    /// window ended before it, and score that; every method is scored on the same origins.
    /// Without any such origin, the default method is scored on all of them.
    fn selection_score(
        &self,
        ys: &[Option<f64>],
        plan: &Plan,
        scale: Option<f64>,
        default: Method,
    ) -> (Score, Vec<(Method, Score)>) {
        let (k, h) = (plan.origins.len(), plan.horizon);
        let methods = Method::ALL;
        let abs_of = |mi: usize, o: usize| -> f64 {
            let row = (mi * k + o) * h;
            self.errors[row..row + h]
                .iter()
                .flatten()
                .map(|e| e.abs())
                .sum()
        };
        let closed_before = |o: usize| -> Vec<usize> {
            (0..o)
                .filter(|&j| plan.origins[j] + h <= plan.origins[o])
                .collect()
        };
        let evaluated: Vec<usize> = (0..k).filter(|&o| !closed_before(o).is_empty()).collect();
        let evaluated = if evaluated.is_empty() {
            (0..k).collect()
        } else {
            evaluated
        };
        let add = |total: &mut Score, mi: usize, o: usize| {
            let row = (mi * k + o) * h;
            let t = plan.origins[o];
            for (e, y) in self.errors[row..row + h].iter().zip(&ys[t..t + h]) {
                if let (Some(e), Some(y)) = (e, y) {
                    total.abs_error += e.abs();
                    total.actual += y;
                    total.periods += 1;
                }
            }
        };
        let mut total = Score::default();
        let mut holdout: Vec<(Method, Score)> =
            methods.iter().map(|&m| (m, Score::default())).collect();
        for &o in &evaluated {
            let closed = closed_before(o);
            let mi = if closed.is_empty() {
                methods.iter().position(|&m| m == default).unwrap_or(0)
            } else {
                (0..methods.len())
                    .min_by(|&a, &b| {
                        let ea: f64 = closed.iter().map(|&j| abs_of(a, j)).sum();
                        let eb: f64 = closed.iter().map(|&j| abs_of(b, j)).sum();
                        ea.total_cmp(&eb)
                    })
                    .unwrap_or(0)
            };
            add(&mut total, mi, o);
            for (m, score) in holdout.iter_mut().enumerate() {
                add(&mut score.1, m, o);
            }
        }
        total.mase = mase(total, scale);
        for (_, score) in &mut holdout {
            score.mase = mase(*score, scale);
        }
        (total, holdout)
    }
}

/// The calendar layer must cut the backtest error by at least 2 % to be kept: a smaller gain
/// on a few holidays is as likely noise as an effect.
const CALENDAR_GAIN: f64 = 0.98;

enum Chosen {
    Plain(Model),
    Calendar(Box<WithCalendar>),
}

/// Forecasts one window and records the signed errors against the actuals.
fn backtest_window(
    forecast: impl Fn(&mut [f64]),
    actual: &[Option<f64>],
    buf: &mut [f64],
    errors: &mut [Option<f64>],
) {
    forecast(buf);
    for ((e, a), f) in errors.iter_mut().zip(actual).zip(buf.iter()) {
        *e = a.map(|a| a - f);
    }
}

fn score(errors: &[Option<f64>], ys: &[Option<f64>], plan: &Plan, scale: Option<f64>) -> Score {
    let h = plan.horizon;
    let mut s = Score::default();
    for (o, &t) in plan.origins.iter().enumerate() {
        for (e, y) in errors[o * h..(o + 1) * h].iter().zip(&ys[t..t + h]) {
            if let (Some(e), Some(y)) = (e, y) {
                s.abs_error += e.abs();
                s.actual += y;
                s.periods += 1;
            }
        }
    }
    s.mase = mase(s, scale);
    s
}

fn mase(s: Score, scale: Option<f64>) -> Option<f64> {
    if s.periods == 0 {
        return None;
    }
    match scale {
        Some(scale) => Some(s.mae() / scale),
        // A constant history: a perfect forecast scores 0, any error is unscaled.
        None => (s.abs_error == 0.0).then_some(0.0),
    }
}

/// In-sample mean absolute error of the seasonal naive forecast (the lag-1 naive when that is
/// zero or unavailable) over `ys[..end]`; `None` when both are zero.
fn mase_scale(ys: &[Option<f64>], end: usize, period: usize) -> Option<f64> {
    let train = &ys[..end.min(ys.len())];
    let naive = |lag: usize| -> Option<f64> {
        let (mut sum, mut n) = (0.0, 0u64);
        for i in lag..train.len() {
            if let (Some(a), Some(b)) = (train[i], train[i - lag]) {
                sum += (a - b).abs();
                n += 1;
            }
        }
        (n > 0 && sum > 0.0).then(|| sum / n as f64)
    };
    naive(period).or_else(|| naive(1))
}

/// Intermittent histories (more than half the observed periods without a sale) start with
/// SBA; the rest with the moving average.
fn default_method(ys: &[Option<f64>]) -> Method {
    let observed = ys.iter().flatten().count();
    let zeros = ys.iter().flatten().filter(|&&y| y <= 0.0).count();
    if observed > 0 && zeros * 2 > observed {
        Method::Sba
    } else {
        Method::MovingAverage
    }
}

/// Root mean square of the backtest errors; without a backtest, the standard deviation of the
/// observed history (zero for none or one observation).
fn error_sd(residuals: &[Option<f64>], ys: &[Option<f64>]) -> f64 {
    let (sum_sq, n) = residuals
        .iter()
        .flatten()
        .fold((0.0, 0u64), |(s, n), e| (s + e * e, n + 1));
    if n > 0 {
        return clean((sum_sq / n as f64).sqrt());
    }
    let obs: Vec<f64> = ys.iter().flatten().copied().collect();
    if obs.len() < 2 {
        return 0.0;
    }
    let mean = obs.iter().sum::<f64>() / obs.len() as f64;
    let var = obs.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / (obs.len() - 1) as f64;
    clean(var.sqrt())
}

/// Empirical error quantiles per week of lead (errors at steps 0–6, 7–13, …) from the
/// backtest; a normal band from `sd` where there are fewer than 8 errors to read them from.
struct Bands {
    per_week: Vec<(f64, f64)>,
}

const MIN_ERRORS: usize = 8;

impl Bands {
    fn new(
        residuals: &[Option<f64>],
        k: usize,
        h: usize,
        lo: f64,
        hi: f64,
        sd: f64,
        coverage: f64,
    ) -> Bands {
        let z = normal_quantile(0.5 + coverage / 2.0);
        let normal = (-z * sd, z * sd);
        let weeks = h.div_ceil(7).max(1);
        let mut per_week = Vec::with_capacity(weeks);
        let mut bucket = Vec::new();
        for w in 0..weeks {
            bucket.clear();
            for o in 0..k {
                let row = &residuals[o * h..(o + 1) * h];
                let end = ((w + 1) * 7).min(h);
                bucket.extend(row[w * 7..end].iter().flatten().copied());
            }
            per_week.push(if bucket.len() >= MIN_ERRORS {
                bucket.sort_unstable_by(f64::total_cmp);
                (quantile(&bucket, lo), quantile(&bucket, hi))
            } else {
                normal
            });
        }
        Bands { per_week }
    }

    fn at(&self, step: usize) -> (f64, f64) {
        let w = (step / 7).min(self.per_week.len().saturating_sub(1));
        let (lo, hi) = self.per_week.get(w).copied().unwrap_or((0.0, 0.0));
        (
            if lo.is_finite() { lo } else { 0.0 },
            if hi.is_finite() { hi } else { 0.0 },
        )
    }
}

/// Linear-interpolated quantile of sorted, non-empty data.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + (sorted[j] - sorted[i]) * (pos - i as f64)
}

/// Inverse standard normal CDF (Acklam's rational approximation, relative error < 1.2e-9),
/// for `p` in (0, 1); clamped just inside.
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = if p.is_finite() {
        p.clamp(1e-12, 1.0 - 1e-12)
    } else {
        0.5
    };
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Accuracy summed over many series: pooled WAPE and mean MASE per method and for the
/// selection, on the same held-out origins, and how often each method was selected.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracyTable {
    pub series: u64,
    pub methods: Vec<AccuracyRow>,
    pub selection: AccuracyRow,
    /// How many series selected each method, in [`Method::ALL`] order.
    pub selected: Vec<(Method, u64)>,
    /// How many series kept the calendar layer.
    pub with_calendar: u64,
}

/// One line of the accuracy table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccuracyRow {
    pub abs_error: f64,
    pub actual: f64,
    pub mase_sum: f64,
    pub mase_series: u64,
}

impl AccuracyRow {
    fn add(&mut self, s: &Score) {
        self.abs_error += s.abs_error;
        self.actual += s.actual;
        if let Some(m) = s.mase {
            self.mase_sum += m;
            self.mase_series += 1;
        }
    }

    fn merge(&mut self, o: &AccuracyRow) {
        self.abs_error += o.abs_error;
        self.actual += o.actual;
        self.mase_sum += o.mase_sum;
        self.mase_series += o.mase_series;
    }

    /// Σ|error| / Σ actual over all series (`None` when nothing sold).
    pub fn wape(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.abs_error / self.actual)
    }

    /// Mean MASE over the series where it is defined.
    pub fn mase(&self) -> Option<f64> {
        (self.mase_series > 0).then(|| self.mase_sum / self.mase_series as f64)
    }
}

impl AccuracyTable {
    pub fn new() -> AccuracyTable {
        AccuracyTable {
            series: 0,
            methods: vec![AccuracyRow::default(); Method::ALL.len()],
            selection: AccuracyRow::default(),
            selected: Method::ALL.iter().map(|&m| (m, 0)).collect(),
            with_calendar: 0,
        }
    }

    pub fn add(&mut self, f: &SeriesForecast) {
        if self.methods.len() != Method::ALL.len() {
            *self = AccuracyTable::new();
        }
        self.series += 1;
        for (row, (_, s)) in self.methods.iter_mut().zip(&f.holdout) {
            row.add(s);
        }
        self.selection.add(&f.selection);
        if let Some(c) = self.selected.iter_mut().find(|(m, _)| *m == f.method) {
            c.1 += 1;
        }
        self.with_calendar += u64::from(f.calendar);
    }

    pub fn merge(mut self, o: AccuracyTable) -> AccuracyTable {
        if o.series == 0 {
            return self;
        }
        if self.series == 0 {
            return o;
        }
        self.series += o.series;
        for (a, b) in self.methods.iter_mut().zip(&o.methods) {
            a.merge(b);
        }
        self.selection.merge(&o.selection);
        for (a, b) in self.selected.iter_mut().zip(&o.selected) {
            a.1 += b.1;
        }
        self.with_calendar += o.with_calendar;
        self
    }

    /// A plain-text table: method, WAPE, MASE, times selected.
    pub fn render(&self) -> String {
        let pct = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.1} %", v * 100.0));
        let num = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.3}"));
        let mut out = format!(
            "{:<16} {:>9} {:>8} {:>10}\n",
            "método", "WAPE", "MASE", "elegido"
        );
        for ((m, row), (_, n)) in Method::ALL.iter().zip(&self.methods).zip(&self.selected) {
            out.push_str(&format!(
                "{:<16} {:>9} {:>8} {:>10}\n",
                m.as_str(),
                pct(row.wape()),
                num(row.mase()),
                n
            ));
        }
        out.push_str(&format!(
            "{:<16} {:>9} {:>8} {:>10}\n",
            "selección",
            pct(self.selection.wape()),
            num(self.selection.mase()),
            self.series
        ));
        out.push_str(&format!(
            "series: {}, con calendario: {}\n",
            self.series, self.with_calendar
        ));
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
