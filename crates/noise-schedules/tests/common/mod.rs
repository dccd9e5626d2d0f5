//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use scoreflow_noise_schedules::{
    BetaSchedule, CondOt, CosinePath, Discrete, Edm, MeanReverting, NoiseSchedule, PolynomialPath,
    SubVp, Ve, VpCosine, VpLinear, VpPath,
};

/// A schedule under test with the interval its smooth-interior checks sample from.
pub struct Case {
    pub name: &'static str,
    pub schedule: Box<dyn NoiseSchedule>,
    /// For piecewise-smooth schedules finite differences must stay inside one segment.
    pub segments: Option<usize>,
}

pub fn continuous_cases() -> Vec<Case> {
    let c = |name, schedule: Box<dyn NoiseSchedule>| Case {
        name,
        schedule,
        segments: None,
    };
    vec![
        c("vp_linear", Box::<VpLinear>::default()),
        c(
            "vp_linear_const_beta",
            Box::new(VpLinear::new(2.0, 2.0).unwrap()),
        ),
        c(
            "vp_linear_zero_beta_min",
            Box::new(VpLinear::new(0.0, 5.0).unwrap()),
        ),
        c("vp_cosine", Box::<VpCosine>::default()),
        c("vp_cosine_s0", Box::new(VpCosine::new(0.0).unwrap())),
        c("sub_vp", Box::<SubVp>::default()),
        c("ve", Box::<Ve>::default()),
        c("edm", Box::<Edm>::default()),
        c("cond_ot", Box::new(CondOt)),
        c("polynomial_2", Box::new(PolynomialPath::new(2.0).unwrap())),
        c(
            "polynomial_0.5",
            Box::new(PolynomialPath::new(0.5).unwrap()),
        ),
        c(
            "polynomial_3.7",
            Box::new(PolynomialPath::new(3.7).unwrap()),
        ),
        c("cosine_path", Box::new(CosinePath)),
        c("vp_path", Box::<VpPath>::default()),
        c(
            "mean_reverting_linear",
            Box::new(MeanReverting::new(0.5, 6.0, 2.0).unwrap()),
        ),
        c(
            "mean_reverting_const",
            Box::new(MeanReverting::constant(3.0, 0.7).unwrap()),
        ),
    ]
}

pub fn discrete_cases() -> Vec<Case> {
    let n = 1000;
    let d = |name, schedule: Discrete| Case {
        name,
        segments: Some(schedule.num_train_timesteps()),
        schedule: Box::new(schedule),
    };
    let linear = Discrete::new(BetaSchedule::DDPM_LINEAR, n).unwrap();
    let zero_snr = linear.rescale_zero_terminal_snr().unwrap();
    vec![
        d("discrete_linear", linear),
        d(
            "discrete_scaled",
            Discrete::new(BetaSchedule::STABLE_DIFFUSION, n).unwrap(),
        ),
        d(
            "discrete_cos",
            Discrete::new(BetaSchedule::SquaredCosCapV2, n).unwrap(),
        ),
        d("discrete_zero_snr", zero_snr),
        d(
            "discrete_small",
            Discrete::new(BetaSchedule::DDPM_LINEAR, 7).unwrap(),
        ),
    ]
}

pub fn all_cases() -> Vec<Case> {
    let mut v = continuous_cases();
    v.extend(discrete_cases());
    v
}

/// Points strictly inside `t_range()`, 2 % away from each end so that the singular
/// endpoints (σ = 0, α = 0, λ = ±∞) are avoided.
pub fn interior_points(s: &dyn NoiseSchedule, count: usize) -> Vec<f64> {
    let (a, b) = s.t_range();
    (0..count)
        .map(|i| a + (b - a) * (0.02 + 0.96 * i as f64 / (count - 1) as f64))
        .collect()
}

/// Fourth-order central difference (f(t−2h) − 8f(t−h) + 8f(t+h) − f(t+2h)) / 12h.
pub fn fd4(f: impl Fn(f64) -> f64, t: f64, h: f64) -> f64 {
    (f(t - 2.0 * h) - 8.0 * f(t - h) + 8.0 * f(t + h) - f(t + 2.0 * h)) / (12.0 * h)
}

/// |a − b| ≤ tol·max(1, |b|), with identical infinities accepted.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    if a == b {
        return true;
    }
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// |a − b| ≤ tol·|b| (pure relative).
pub fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    if a == b {
        return true;
    }
    (a - b).abs() <= tol * b.abs()
}
