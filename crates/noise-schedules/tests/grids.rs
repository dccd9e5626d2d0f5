//! σ and time grids against their defining formulas.

mod common;

use common::{close, rel_close};
use scoreflow_noise_schedules::{
    BetaSchedule, CondOt, Discrete, KARRAS_RHO, NoiseSchedule, ScheduleError, SigmaGrid, TimeGrid,
    Ve, VpLinear,
};

#[test]
fn karras_grid_matches_eq_5() {
    let (n, sigma_min, sigma_max, rho) = (18, 0.002, 80.0, KARRAS_RHO);
    let grid = SigmaGrid::karras(n, sigma_min, sigma_max, rho).unwrap();
    let v = grid.as_slice();
    assert_eq!(v.len(), n + 1);
    assert!(grid.ends_at_zero());
    assert_eq!(v[n], 0.0);
    assert!(rel_close(v[0], sigma_max, 1e-12));
    assert!(rel_close(v[n - 1], sigma_min, 1e-12));
    // x^{1/ρ} and y^ρ through exp/ln rather than powf.
    let a = (sigma_max.ln() / rho).exp();
    let b = (sigma_min.ln() / rho).exp();
    for (i, &s) in v[..n].iter().enumerate() {
        let base = a + (i as f64 / (n - 1) as f64) * (b - a);
        let expected = (rho * base.ln()).exp();
        assert!(rel_close(s, expected, 1e-12), "σ_{i} = {s} vs {expected}");
    }
}

#[test]
fn karras_single_step_is_sigma_max_then_zero() {
    let g = SigmaGrid::karras(1, 0.002, 80.0, 7.0).unwrap();
    assert_eq!(g.as_slice(), &[80.0, 0.0]);
    let g = SigmaGrid::exponential(1, 0.002, 80.0).unwrap();
    assert_eq!(g.as_slice(), &[80.0, 0.0]);
}

#[test]
fn exponential_grid_has_constant_log_ratio() {
    let n = 25;
    let grid = SigmaGrid::exponential(n, 0.01, 50.0).unwrap();
    let v = grid.as_slice();
    assert_eq!(v.len(), n + 1);
    assert_eq!(v[0], 50.0);
    assert_eq!(v[n - 1], 0.01);
    assert_eq!(v[n], 0.0);
    let step = (0.01f64 / 50.0).ln() / (n - 1) as f64;
    for w in v[..n].windows(2) {
        assert!(close((w[1] / w[0]).ln(), step, 1e-12));
    }
}

#[test]
fn sigma_grid_from_schedule_times() {
    let vp = VpLinear::default();
    let times = TimeGrid::uniform(1.0, 0.0, 10).unwrap();
    let grid = SigmaGrid::from_schedule_times(&vp, &times).unwrap();
    assert!(grid.ends_at_zero());
    for (&s, &t) in grid.as_slice().iter().zip(times.as_slice()) {
        assert!(rel_close(s, (-vp.lambda(t)).exp(), 1e-12) || (s == 0.0 && t == 0.0));
    }
    // Flow-matching paths run noise → data with increasing t.
    let times = TimeGrid::uniform(0.1, 1.0, 9).unwrap();
    let grid = SigmaGrid::from_schedule_times(&CondOt, &times).unwrap();
    assert!(grid.ends_at_zero());
    assert!(rel_close(grid.as_slice()[0], 9.0, 1e-12));
    // t = 0 of the OT path has α = 0: σ/α = ∞ is rejected, not passed on.
    let times = TimeGrid::uniform(0.0, 1.0, 4).unwrap();
    assert!(matches!(
        SigmaGrid::from_schedule_times(&CondOt, &times),
        Err(ScheduleError::GridNonFinite { index: 0, .. })
    ));
    // The VE schedule's own σ: a geometric grid.
    let ve = Ve::default();
    let grid =
        SigmaGrid::from_schedule_times(&ve, &TimeGrid::uniform(1.0, 0.0, 8).unwrap()).unwrap();
    assert!(rel_close(grid.as_slice()[0], 50.0, 1e-12));
    assert!(rel_close(grid.as_slice()[8], 0.01, 1e-12));
}

#[test]
fn uniform_time_grid() {
    let g = TimeGrid::uniform(1.0, 1e-3, 20).unwrap();
    let v = g.as_slice();
    assert_eq!(v.len(), 21);
    assert_eq!(v[0], 1.0);
    assert_eq!(v[20], 1e-3);
    assert!(!g.is_increasing());
    let h = (1e-3 - 1.0) / 20.0;
    for w in v.windows(2) {
        assert!(close(w[1] - w[0], h, 1e-12));
    }
}

#[test]
fn quadratic_time_grid_is_uniform_in_sqrt_t() {
    for (a, b) in [(1.0, 1e-3), (0.0, 1.0), (2.5, 0.5)] {
        let g = TimeGrid::quadratic(a, b, 16).unwrap();
        let v = g.as_slice();
        assert_eq!((v[0], v[16]), (a, b));
        let h = (b.sqrt() - a.sqrt()) / 16.0;
        for w in v.windows(2) {
            assert!(close(w[1].sqrt() - w[0].sqrt(), h, 1e-12));
        }
    }
}

#[test]
fn log_snr_uniform_grid_has_constant_lambda_step() {
    let table = Discrete::new(BetaSchedule::STABLE_DIFFUSION, 1000).unwrap();
    let cases: Vec<(Box<dyn NoiseSchedule>, f64, f64)> = vec![
        (Box::<VpLinear>::default(), 1.0, 1e-3),
        (Box::<Ve>::default(), 1.0, 0.0),
        (Box::new(CondOt), 0.05, 0.999),
        (Box::new(table), 1.0, 1e-3),
    ];
    for (s, a, b) in &cases {
        let n = 20;
        let g = TimeGrid::log_snr_uniform(s.as_ref(), *a, *b, n).unwrap();
        let v = g.as_slice();
        assert_eq!((v[0], v[n]), (*a, *b));
        let step = (s.lambda(*b) - s.lambda(*a)) / n as f64;
        for w in v.windows(2) {
            let d = s.lambda(w[1]) - s.lambda(w[0]);
            assert!(close(d, step, 1e-10), "{s:?}: Δλ {d} vs {step}");
        }
    }
}

#[test]
fn grid_validation_names_the_index() {
    assert!(matches!(
        TimeGrid::new(vec![0.0, 0.5, 0.5, 1.0]),
        Err(ScheduleError::GridDuplicate { index: 2, .. })
    ));
    assert!(matches!(
        TimeGrid::new(vec![0.0, 0.5, 0.4, 1.0]),
        Err(ScheduleError::GridNotMonotone { index: 2, .. })
    ));
    assert!(matches!(
        TimeGrid::new(vec![1.0, 0.5, f64::NAN]),
        Err(ScheduleError::GridNonFinite { index: 2, .. })
    ));
    assert!(matches!(
        TimeGrid::new(vec![1.0]),
        Err(ScheduleError::GridTooShort { len: 1, min: 2 })
    ));
    assert!(TimeGrid::new(vec![1.0, 0.3, -2.0]).is_ok());

    assert!(SigmaGrid::new(vec![80.0, 10.0, 1.0, 0.0]).is_ok());
    assert!(matches!(
        SigmaGrid::new(vec![80.0, 0.0, 0.0]),
        Err(ScheduleError::GridNonPositive { index: 1, .. })
    ));
    assert!(matches!(
        SigmaGrid::new(vec![80.0, 10.0, -1.0]),
        Err(ScheduleError::GridNonPositive { index: 2, .. })
    ));
    assert!(matches!(
        SigmaGrid::new(vec![80.0, 10.0, 10.0, 1.0]),
        Err(ScheduleError::GridDuplicate { index: 2, .. })
    ));
    assert!(matches!(
        SigmaGrid::new(vec![80.0, 10.0, 20.0, 1.0]),
        Err(ScheduleError::GridNotMonotone { index: 2, .. })
    ));
    assert!(matches!(
        SigmaGrid::new(vec![1.0, 10.0]),
        Err(ScheduleError::GridNotMonotone { index: 1, .. })
    ));
    assert!(matches!(
        SigmaGrid::new(vec![f64::INFINITY, 1.0]),
        Err(ScheduleError::GridNonFinite { index: 0, .. })
    ));
    assert!(matches!(
        SigmaGrid::new(vec![]),
        Err(ScheduleError::GridTooShort { len: 0, .. })
    ));
}

#[test]
fn grid_constructor_parameter_errors() {
    assert!(matches!(
        SigmaGrid::karras(0, 0.002, 80.0, 7.0),
        Err(ScheduleError::TooFewSteps { got: 0, .. })
    ));
    assert!(matches!(
        SigmaGrid::karras(10, 80.0, 0.002, 7.0),
        Err(ScheduleError::Misordered { .. })
    ));
    assert!(matches!(
        SigmaGrid::karras(10, 1.0, 1.0, 7.0),
        Err(ScheduleError::Misordered { .. })
    ));
    assert!(matches!(
        SigmaGrid::karras(10, -0.1, 80.0, 7.0),
        Err(ScheduleError::NonPositive { .. })
    ));
    assert!(matches!(
        SigmaGrid::karras(10, 0.002, 80.0, 0.0),
        Err(ScheduleError::NonPositive { .. })
    ));
    assert!(matches!(
        SigmaGrid::karras(10, f64::NAN, 80.0, 7.0),
        Err(ScheduleError::NonFinite { .. })
    ));
    assert!(matches!(
        SigmaGrid::exponential(0, 0.002, 80.0),
        Err(ScheduleError::TooFewSteps { .. })
    ));
    assert!(matches!(
        TimeGrid::uniform(1.0, 0.0, 0),
        Err(ScheduleError::TooFewSteps { .. })
    ));
    assert!(matches!(
        TimeGrid::uniform(0.5, 0.5, 4),
        Err(ScheduleError::GridDuplicate { .. })
    ));
    assert!(matches!(
        TimeGrid::uniform(f64::NAN, 0.0, 4),
        Err(ScheduleError::NonFinite { .. })
    ));
    assert!(matches!(
        TimeGrid::quadratic(1.0, -0.1, 4),
        Err(ScheduleError::Negative { .. })
    ));
    // λ(0) = +∞ for VP: no finite log-SNR grid reaches it.
    assert!(matches!(
        TimeGrid::log_snr_uniform(&VpLinear::default(), 1.0, 0.0, 4),
        Err(ScheduleError::NonFinite { .. })
    ));
}

#[test]
fn grids_serialise_as_arrays_and_revalidate() {
    let g = SigmaGrid::karras(5, 0.002, 80.0, 7.0).unwrap();
    let json = serde_json::to_string(&g).unwrap();
    let back: SigmaGrid = serde_json::from_str(&json).unwrap();
    assert_eq!(back, g);
    assert!(serde_json::from_str::<SigmaGrid>("[1.0, 2.0]").is_err());
    let t = TimeGrid::uniform(0.0, 1.0, 4).unwrap();
    let back: TimeGrid = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
    assert_eq!(back, t);
    assert!(serde_json::from_str::<TimeGrid>("[0.0, 0.0]").is_err());
}

/// Uniform in CondOT time t = 1/(1 + σ): equal steps in t, exact ends, a final 0.
#[test]
fn condot_uniform_grid_is_uniform_in_condot_time() {
    let n = 10;
    let grid = SigmaGrid::condot_uniform(n, 0.002, 80.0).unwrap();
    let s = grid.as_slice();
    assert_eq!(s.len(), n + 1);
    assert_eq!((s[0], s[n - 1], s[n]), (80.0, 0.002, 0.0));
    let t: Vec<f64> = s[..n].iter().map(|sigma| 1.0 / (1.0 + sigma)).collect();
    let dt = (t[n - 1] - t[0]) / (n - 1) as f64;
    for w in t.windows(2) {
        assert!(((w[1] - w[0]) - dt).abs() < 1e-14, "{t:?}");
    }
    assert_eq!(
        SigmaGrid::condot_uniform(1, 0.002, 80.0)
            .unwrap()
            .as_slice(),
        &[80.0, 0.0]
    );
    assert!(SigmaGrid::condot_uniform(0, 0.002, 80.0).is_err());
    assert!(SigmaGrid::condot_uniform(4, 80.0, 0.002).is_err());
}
