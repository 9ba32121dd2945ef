use super::*;
use proptest::prelude::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn units(v: &[i64]) -> Vec<Option<Qty>> {
    v.iter().map(|&u| Some(Qty::units(u))).collect()
}

fn run(history: &[Option<Qty>]) -> SeriesForecast {
    Forecaster::new(Config::default()).run(day(2025, 1, 1), Frequency::Daily, history)
}

#[test]
fn empty_history_forecasts_zero_with_zero_width() {
    let f = run(&[]);
    assert_eq!(f.method, Method::MovingAverage);
    assert!(!f.calendar);
    assert_eq!(f.error_sd, 0.0);
    assert_eq!(f.points.len(), 28);
    assert_eq!(f.points[0].date, day(2025, 1, 1));
    assert!(
        f.points
            .iter()
            .all(|p| p.point.is_zero() && p.lower.is_zero() && p.upper.is_zero())
    );
    assert!(
        f.scores
            .iter()
            .all(|(_, s)| s.periods == 0 && s.mase.is_none())
    );
    assert_eq!(f.selection.wape(), None);
}

#[test]
fn a_single_sale_gives_its_mean_without_nan() {
    let mut h = vec![Some(Qty::ZERO); 9];
    h.push(Some(Qty::units(5)));
    let f = run(&h);
    // Too short to backtest: intermittent history → SBA; Croston sees 5 after 10 periods.
    assert_eq!(f.method, Method::Sba);
    assert_eq!(f.points[0].point, Qty::from_milli(475));
    assert_eq!(f.points[0].date, day(2025, 1, 11));
    assert!(f.error_sd.is_finite() && f.error_sd > 0.0);
    assert!(
        f.points
            .iter()
            .all(|p| p.lower <= p.point && p.point <= p.upper)
    );
}

#[test]
fn all_zero_history_forecasts_zero() {
    let f = run(&units(&[0; 200]));
    assert!(
        f.points
            .iter()
            .all(|p| p.point.is_zero() && p.upper.is_zero())
    );
    // A perfect forecast of a constant series scores MASE 0, not NaN; WAPE is undefined.
    assert_eq!(f.scores[0].1.mase, Some(0.0));
    assert_eq!(f.scores[0].1.wape(), None);
    assert_eq!(f.error_sd, 0.0);
}

#[test]
fn constant_demand_is_forecast_exactly() {
    let f = run(&units(&[10; 120]));
    // Every method but SBA (biased down by 5 %) is perfect; ties go to the first.
    assert_eq!(f.method, Method::SeasonalNaive);
    for (m, s) in &f.scores {
        let expected = if *m == Method::Sba {
            0.5 * s.periods as f64
        } else {
            0.0
        };
        assert!(
            (s.abs_error - expected).abs() < 1e-9,
            "{m}: {}",
            s.abs_error
        );
    }
    // 12 origins × 28 days scored; the selection and the hold-out on the 8 that follow a
    // closed window.
    assert_eq!(f.scores[0].1.periods, 336);
    assert_eq!(f.selection.periods, 224);
    assert_eq!(f.holdout[0].1.periods, 224);
    assert!(
        f.points
            .iter()
            .all(|p| p.point == Qty::units(10) && p.lower == p.point && p.upper == p.point)
    );
    assert_eq!(f.points[0].date, day(2025, 5, 1));
    assert_eq!(f.error_sd, 0.0);
}

#[test]
fn stock_out_days_are_censored_not_zero_demand() {
    let mut h = units(&[12; 60]);
    for slot in h.iter_mut().skip(40).take(15) {
        *slot = None;
    }
    let f = run(&h);
    assert!(f.points.iter().all(|p| p.point == Qty::units(12)));
    // Had the stock-out been read as zero sales, the moving average would be 7.
    let mut zeros = units(&[12; 60]);
    for slot in zeros.iter_mut().skip(40).take(15) {
        *slot = Some(Qty::ZERO);
    }
    let mut fc = Forecaster::new(Config::default());
    let z = fc.run(day(2025, 1, 1), Frequency::Daily, &zeros);
    let ma = z
        .scores
        .iter()
        .find(|(m, _)| *m == Method::MovingAverage)
        .unwrap();
    assert!(ma.1.abs_error > 0.0);
}

#[test]
fn weekly_pattern_selects_a_seasonal_method_with_exact_scores() {
    let week = [10, 10, 10, 10, 10, 50, 50];
    let ys: Vec<i64> = week.iter().copied().cycle().take(140).collect();
    let f = run(&units(&ys));
    assert_eq!(f.method, Method::SeasonalNaive);
    let sn = f.scores[0].1;
    assert_eq!(sn.abs_error, 0.0);
    assert_eq!(sn.wape(), Some(0.0));
    assert_eq!(sn.mase, Some(0.0));
    // The moving average says 150/7 every day: |e| = 80/7 on 5 days and 200/7 on 2, so
    // 800/7 per week against 150 sold → WAPE 16/21, over 48 weeks (12 origins × 4).
    let ma = f.scores[1].1;
    assert!((ma.abs_error - 48.0 * 800.0 / 7.0).abs() < 1e-6);
    assert!(
        (ma.wape().unwrap() - 16.0 / 21.0).abs() < 1e-9,
        "{:?}",
        ma.wape()
    );
    // Lag-7 naive is 0 in-sample, so MASE scales by the lag-1 naive over the 112 periods
    // before the last origin: 31 jumps of 40 in 111 pairs. MAE = 800/49 per day.
    let expected = (800.0 / 49.0) / (31.0 * 40.0 / 111.0);
    assert!((ma.mase.unwrap() - expected).abs() < 1e-9, "{:?}", ma.mase);
    // From the fifth origin on a window has closed and seasonal naive (exact) is chosen; the
    // moving average on those same 8 origins errs 32 × 800/7.
    assert_eq!(f.selection.abs_error, 0.0);
    assert_eq!(f.selection.periods, 224);
    assert!((f.holdout[1].1.abs_error - 32.0 * 800.0 / 7.0).abs() < 1e-6);
    // Day 140 after Wednesday 1 January 2025 is Wednesday 21 May, a "10" day of the pattern.
    assert_eq!(f.points[0].date, day(2025, 5, 21));
    assert_eq!(f.points[0].point, Qty::units(10));
    let peaks = f
        .points
        .iter()
        .filter(|p| p.point == Qty::units(50))
        .count();
    assert_eq!(peaks, 8);
}

#[test]
fn plan_of_origins() {
    let f = Forecaster::new(Config::default());
    let p = f.plan(100, 7);
    assert_eq!(p.horizon, 28);
    assert_eq!(p.origins, vec![16, 23, 30, 37, 44, 51, 58, 65, 72]);
    let short = f.plan(30, 7);
    assert_eq!(short.horizon, 16);
    assert_eq!(short.origins, vec![14]);
    assert!(f.plan(14, 7).origins.is_empty());
}

#[test]
fn mase_scale_falls_back_to_lag_one() {
    let ys = [Some(1.0), Some(3.0), Some(1.0), Some(3.0)];
    assert_eq!(mase_scale(&ys, 4, 2), Some(2.0));
    assert_eq!(mase_scale(&[Some(4.0); 5], 5, 2), None);
}

#[test]
fn holiday_effect_is_kept_where_it_helps() {
    let start = day(2024, 1, 1);
    let h: Vec<Option<Qty>> = (0..730)
        .map(|i| {
            let d = start + Days::new(i);
            Some(Qty::units(if is_holiday(d) { 40 } else { 10 }))
        })
        .collect();
    let f = Forecaster::new(Config::default()).run(start, Frequency::Daily, &h);
    assert!(f.calendar);
    let on = |d: NaiveDate| f.points.iter().find(|p| p.date == d).unwrap().point;
    assert!(
        on(day(2026, 1, 1)) > Qty::units(25),
        "{:?}",
        on(day(2026, 1, 1))
    );
    let ordinary = on(day(2026, 1, 2));
    assert!(
        ordinary > Qty::units(9) && ordinary < Qty::units(11),
        "{ordinary:?}"
    );

    // Without holidays in the data the layer is not kept.
    let flat = Forecaster::new(Config::default()).run(start, Frequency::Daily, &units(&[10; 730]));
    assert!(!flat.calendar);
}

#[test]
fn normal_quantiles() {
    assert!((normal_quantile(0.95) - 1.644_853_627).abs() < 1e-6);
    assert!((normal_quantile(0.5)).abs() < 1e-12);
    assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-6);
}

#[test]
fn accuracy_table_pools_and_merges() {
    let mut fc = Forecaster::new(Config::default());
    let week = [10, 10, 10, 10, 10, 50, 50];
    let ys: Vec<i64> = week.iter().copied().cycle().take(140).collect();
    let a = fc.run(day(2025, 1, 1), Frequency::Daily, &units(&ys));
    let b = fc.run(day(2025, 1, 1), Frequency::Daily, &units(&[10; 120]));
    let mut t1 = AccuracyTable::new();
    t1.add(&a);
    let mut t2 = AccuracyTable::new();
    t2.add(&b);
    let t = t1.merge(t2);
    assert_eq!(t.series, 2);
    assert_eq!(t.selected[0], (Method::SeasonalNaive, 2));
    // Moving average on the 8 held-out origins: 32 weeks × 800/7 of error on the first,
    // none on the second.
    let ma = t.methods[1];
    assert!((ma.abs_error - 32.0 * 800.0 / 7.0).abs() < 1e-6);
    assert!((ma.actual - (4800.0 + 2240.0)).abs() < 1e-9);
    assert!((ma.wape().unwrap() - 32.0 * 800.0 / 7.0 / 7040.0).abs() < 1e-9);
    assert!(t.render().contains("seasonal_naive"));
}

fn history() -> impl Strategy<Value = Vec<Option<Qty>>> {
    prop::collection::vec(
        prop_oneof![
            1 => Just(None),
            3 => Just(Some(Qty::ZERO)),
            4 => (0i64..500_000).prop_map(|m| Some(Qty::from_milli(m))),
        ],
        0..160,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn forecasts_are_finite_non_negative_and_inside_their_interval(h in history(), calendar: bool) {
        let cfg = Config { calendar, ..Config::default() };
        let f = Forecaster::new(cfg).run(day(2025, 3, 1), Frequency::Daily, &h);
        prop_assert_eq!(f.points.len(), 28);
        prop_assert!(f.error_sd.is_finite() && f.error_sd >= 0.0);
        for p in &f.points {
            prop_assert!(!p.point.is_negative());
            prop_assert!(p.lower <= p.point && p.point <= p.upper);
        }
        for (_, s) in &f.scores {
            prop_assert!(s.abs_error.is_finite() && s.actual.is_finite());
            if let Some(m) = s.mase { prop_assert!(m.is_finite() && m >= 0.0); }
            if let Some(w) = s.wape() { prop_assert!(w.is_finite() && w >= 0.0); }
        }
        prop_assert!(f.mean_per_period().is_finite());
    }

    #[test]
    fn every_method_forecasts_finite_non_negative(
        ys in prop::collection::vec(prop::option::weighted(0.9, 0.0f64..1e6), 0..100),
    ) {
        for &m in Method::ALL {
            let mut model = Model::new(m, 7, 28);
            for &y in &ys { model.observe(y); }
            let mut out = [0.0; 30];
            model.forecast(&mut out);
            prop_assert!(out.iter().all(|v| v.is_finite() && *v >= 0.0));
        }
    }
}
