//! Argentine calendar effects: national holidays and the aguinaldo months (the half-yearly
//! bonus is paid in June and December, and shops sell more), as a layer over any method.
//!
//! The layer learns, online and causally, the ratio between what sold on such days and what
//! the underlying method expected; it feeds the method de-adjusted demand and re-applies the
//! ratio to its forecasts. Whether a series keeps the layer is decided by the backtest.

use chrono::{Datelike, Days, NaiveDate, Weekday};

use super::models::{Model, clean};

/// Observations of a kind before its ratio is fully trusted (shrinkage towards 1).
const SHRINK: f64 = 5.0;

/// Non-movable national holidays (month, day).
const FIXED: [(u32, u32); 9] = [
    (1, 1),   // Año Nuevo
    (3, 24),  // Día de la Memoria
    (4, 2),   // Malvinas
    (5, 1),   // Día del Trabajador
    (5, 25),  // Revolución de Mayo
    (6, 20),  // Belgrano
    (7, 9),   // Independencia
    (12, 8),  // Inmaculada Concepción
    (12, 25), // Navidad
];

/// Movable holidays under Ley 27.399 (month, day): on a Tuesday or Wednesday they move to the
/// previous Monday, on a Thursday or Friday to the next Monday.
const MOVABLE: [(u32, u32); 4] = [
    (6, 17),  // Güemes
    (8, 17),  // San Martín
    (10, 12), // Diversidad Cultural
    (11, 20), // Soberanía Nacional
];

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn moved(date: NaiveDate) -> NaiveDate {
    match date.weekday() {
        Weekday::Tue => date - Days::new(1),
        Weekday::Wed => date - Days::new(2),
        Weekday::Thu => date + Days::new(4),
        Weekday::Fri => date + Days::new(3),
        _ => date,
    }
}

/// The national holidays of `year`: fixed, Easter-based (Carnival Monday and Tuesday, Good
/// Friday) and movable ones on their observed day. Bridge days decreed year by year are not
/// included.
pub fn holidays(year: i32) -> Vec<NaiveDate> {
    let mut out: Vec<NaiveDate> = FIXED
        .iter()
        .filter_map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d))
        .collect();
    out.extend(
        MOVABLE
            .iter()
            .filter_map(|&(m, d)| NaiveDate::from_ymd_opt(year, m, d))
            .map(moved),
    );
    if let Some(e) = easter(year) {
        out.extend([e - Days::new(48), e - Days::new(47), e - Days::new(2)]);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `date` is a national holiday.
pub fn is_holiday(date: NaiveDate) -> bool {
    holidays(date.year()).binary_search(&date).is_ok()
}

/// June and December, when the aguinaldo is paid.
pub fn is_aguinaldo_month(date: NaiveDate) -> bool {
    matches!(date.month(), 6 | 12)
}

/// A learnt ratio actual / expected, shrunk towards 1 while evidence is thin.
#[derive(Clone, Debug, Default)]
struct Ratio {
    actual: f64,
    expected: f64,
    n: f64,
}

impl Ratio {
    fn learn(&mut self, actual: f64, expected: f64) {
        self.actual += actual;
        self.expected += expected;
        self.n += 1.0;
    }

    fn factor(&self) -> f64 {
        if self.expected <= 0.0 || self.n == 0.0 {
            return 1.0;
        }
        let raw = (self.actual / self.expected).clamp(0.2, 5.0);
        1.0 + (raw - 1.0) * self.n / (self.n + SHRINK)
    }
}

/// Holiday lists cached per year, because a series walks through dates in order.
#[derive(Clone, Debug, Default)]
struct HolidayCache {
    year: i32,
    days: Vec<NaiveDate>,
}

impl HolidayCache {
    fn is_holiday(&mut self, date: NaiveDate) -> bool {
        if self.days.is_empty() || self.year != date.year() {
            self.year = date.year();
            self.days = holidays(self.year);
        }
        self.days.binary_search(&date).is_ok()
    }
}

/// A method with the calendar layer on top (daily series only).
#[derive(Clone, Debug)]
pub(crate) struct WithCalendar {
    inner: Model,
    start: NaiveDate,
    t: u64,
    holiday: Ratio,
    aguinaldo: Ratio,
    cache: HolidayCache,
}

impl WithCalendar {
    pub(crate) fn new(inner: Model, start: NaiveDate) -> WithCalendar {
        WithCalendar {
            inner,
            start,
            t: 0,
            holiday: Ratio::default(),
            aguinaldo: Ratio::default(),
            cache: HolidayCache::default(),
        }
    }

    fn date(&self, offset: u64) -> NaiveDate {
        self.start
            .checked_add_days(Days::new(self.t + offset))
            .unwrap_or(NaiveDate::MAX)
    }

    fn factor(&self, cache: &mut HolidayCache, date: NaiveDate) -> f64 {
        let mut f = 1.0;
        if cache.is_holiday(date) {
            f *= self.holiday.factor();
        }
        if is_aguinaldo_month(date) {
            f *= self.aguinaldo.factor();
        }
        f
    }

    pub(crate) fn observe(&mut self, y: Option<f64>) {
        let date = self.date(0);
        self.t += 1;
        let holiday = self.cache.is_holiday(date);
        let aguinaldo = is_aguinaldo_month(date);
        let Some(y) = y else {
            self.inner.observe(None);
            return;
        };
        if !(holiday || aguinaldo) {
            self.inner.observe(Some(y));
            return;
        }
        let base = self.inner.next();
        if holiday {
            self.holiday
                .learn(y, base * self.aguinaldo_factor(aguinaldo));
        }
        if aguinaldo {
            self.aguinaldo.learn(y, base * self.holiday_factor(holiday));
        }
        let mut cache = std::mem::take(&mut self.cache);
        let f = self.factor(&mut cache, date);
        self.cache = cache;
        self.inner.observe(Some(clean(y / f)));
    }

    fn aguinaldo_factor(&self, on: bool) -> f64 {
        if on { self.aguinaldo.factor() } else { 1.0 }
    }

    fn holiday_factor(&self, on: bool) -> f64 {
        if on { self.holiday.factor() } else { 1.0 }
    }

    pub(crate) fn forecast(&self, out: &mut [f64]) {
        self.inner.forecast(out);
        let mut cache = self.cache.clone();
        for (i, v) in out.iter_mut().enumerate() {
            let date = self.date(i as u64);
            *v = clean(*v * self.factor(&mut cache, date));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2024), Some(d(2024, 3, 31)));
        assert_eq!(easter(2025), Some(d(2025, 4, 20)));
        assert_eq!(easter(2026), Some(d(2026, 4, 5)));
    }

    #[test]
    fn holidays_of_2025() {
        let h = holidays(2025);
        // Carnival 3–4 March, Good Friday 18 April.
        for day in [
            d(2025, 1, 1),
            d(2025, 3, 3),
            d(2025, 3, 4),
            d(2025, 4, 18),
            d(2025, 5, 25),
            d(2025, 7, 9),
            d(2025, 12, 25),
        ] {
            assert!(h.contains(&day), "{day}");
        }
        // 17 June 2025 is a Tuesday → Monday 16; 12 October is a Sunday and stays.
        assert!(h.contains(&d(2025, 6, 16)));
        assert!(h.contains(&d(2025, 10, 12)));
        // 20 November 2025 is a Thursday → Monday 24.
        assert!(h.contains(&d(2025, 11, 24)));
        assert!(!is_holiday(d(2025, 11, 20)));
        assert_eq!(h.len(), 16);
    }

    #[test]
    fn ratio_shrinks_towards_one() {
        let mut r = Ratio::default();
        assert_eq!(r.factor(), 1.0);
        r.learn(20.0, 10.0);
        // raw 2, one observation: 1 + 1 × 1/6.
        assert!((r.factor() - (1.0 + 1.0 / 6.0)).abs() < 1e-12);
    }
}
