//! The IR-SDE mean-reverting schedule (Luo et al. 2023): its marginal against the forward SDE's
//! moment equations, its closed forms, and its parameter errors.

use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule, ScheduleError};

/// The forward SDE dx = θ_t(μ − x)dt + √(2λ²θ_t) dW has mean m and variance v with
/// m' = θ(μ − m), v' = −2θv + 2λ²θ (Itô). Integrated by classical RK4 on a fine grid, these
/// must reproduce the closed-form marginal μ + (x₀ − μ)e^{−θ̄} and λ²(1 − e^{−2θ̄}).
#[test]
fn marginal_solves_the_moment_equations() {
    let s = MeanReverting::new(0.4, 7.0, 1.7).unwrap();
    let (x0, mu) = (2.5, -1.0);
    let l2 = s.stationary_std().powi(2);
    let rhs = |t: f64, (m, v): (f64, f64)| {
        let th = s.theta(t);
        (th * (mu - m), -2.0 * th * v + 2.0 * l2 * th)
    };
    let n = 4000;
    let h = 1.0 / n as f64;
    let mut y = (x0, 0.0);
    for i in 0..n {
        let t = i as f64 * h;
        let add = |y: (f64, f64), k: (f64, f64), c: f64| (y.0 + c * k.0, y.1 + c * k.1);
        let k1 = rhs(t, y);
        let k2 = rhs(t + h / 2.0, add(y, k1, h / 2.0));
        let k3 = rhs(t + h / 2.0, add(y, k2, h / 2.0));
        let k4 = rhs(t + h, add(y, k3, h));
        y.0 += h / 6.0 * (k1.0 + 2.0 * k2.0 + 2.0 * k3.0 + k4.0);
        y.1 += h / 6.0 * (k1.1 + 2.0 * k2.1 + 2.0 * k3.1 + k4.1);
        let t1 = t + h;
        if (i + 1) % 500 == 0 {
            assert!(
                (y.0 - s.marginal_mean(x0, mu, t1)).abs() < 1e-10,
                "mean t={t1}"
            );
            assert!((y.1 - s.sigma(t1).powi(2)).abs() < 1e-10, "var t={t1}");
        }
    }
}

#[test]
fn closed_forms_match_ir_sde() {
    let s = MeanReverting::new(0.5, 6.0, 2.0).unwrap();
    for i in 1..=20 {
        let t = i as f64 / 20.0;
        let tb = 0.5 * t + 0.5 * 5.5 * t * t;
        assert!((s.theta_bar(t) - tb).abs() < 1e-14);
        assert!((s.alpha(t) - (-tb).exp()).abs() < 1e-15);
        assert!((s.sigma(t) - 2.0 * (1.0 - (-2.0 * tb).exp()).sqrt()).abs() < 1e-13);
        assert!((s.diffusion(t) - (2.0 * 4.0 * s.theta(t)).sqrt()).abs() < 1e-13);
        assert!((s.t_from_theta_bar(tb) - t).abs() < 1e-14);
        let back = s.t_from_lambda(s.lambda(t)).unwrap();
        assert!((back - t).abs() < 1e-12, "t={t} back={back}");
    }
    // The variance tends to the stationary λ² as θ̄ grows.
    let long = MeanReverting::constant(40.0, 3.0).unwrap();
    assert!((long.sigma(1.0) - 3.0).abs() < 1e-15);
}

#[test]
fn non_positive_theta_and_lambda_are_typed_errors() {
    assert!(matches!(
        MeanReverting::new(0.0, 1.0, 1.0),
        Err(ScheduleError::NonPositive {
            name: "theta_min",
            ..
        })
    ));
    assert!(matches!(
        MeanReverting::constant(-2.0, 1.0),
        Err(ScheduleError::NonPositive {
            name: "theta_min",
            ..
        })
    ));
    assert!(matches!(
        MeanReverting::new(2.0, 1.0, 1.0),
        Err(ScheduleError::Misordered { .. })
    ));
    assert!(matches!(
        MeanReverting::constant(1.0, 0.0),
        Err(ScheduleError::NonPositive {
            name: "stationary_std",
            ..
        })
    ));
    assert!(matches!(
        MeanReverting::constant(f64::NAN, 1.0),
        Err(ScheduleError::NonFinite { .. })
    ));
}
