//! Mean-reverting diffusion and MRS (Li et al. 2025): exactness where the network integral is
//! exact, measured convergence orders against the closed-form Gaussian flow, distributional
//! agreement with the 1,000-step reverse SDE, and typed errors.

use ndarray::Array2;
use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule, ScheduleError};
use scoreflow_ode_sde_solvers::DenoiseError;
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::mean_reverting::{
    MixtureMrModel, MrError, MrModel, MrPrediction, Mrs, MrsForm, MrsKind, log_snr_times,
    pf_ode_solution, reverse_sde_euler_maruyama,
};

const PREDICTIONS: [MrPrediction; 3] = [
    MrPrediction::Noise,
    MrPrediction::Data,
    MrPrediction::Velocity,
];
const FORMS: [MrsForm; 2] = [MrsForm::Noise, MrsForm::Data];

fn schedule() -> MeanReverting {
    MeanReverting::constant(5.0, 2.0).unwrap()
}

fn gaussian_target() -> GaussianMixture {
    let cov = vec![vec![1.5, 0.4], vec![0.4, 0.3]];
    GaussianMixture::new(vec![1.0], vec![vec![2.0, -1.0]], vec![cov]).unwrap()
}

fn mu_rows(n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, 2), |(_, j)| if j == 0 { -1.0 } else { 0.5 })
}

/// n exact draws of x_t = μ + α_t(x₀ − μ) + σ_t ε.
fn marginal_sample(target: &GaussianMixture, s: &MeanReverting, t: f64, n: usize) -> Array2<f64> {
    let d = target.dim();
    let x0 = Array2::from_shape_vec((n, d), target.sample(n, 1)).unwrap();
    let unit = GaussianMixture::new(
        vec![1.0],
        vec![vec![0.0; d]],
        vec![
            (0..d)
                .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
                .collect(),
        ],
    )
    .unwrap();
    let eps = Array2::from_shape_vec((n, d), unit.sample(n, 2)).unwrap();
    let mu = mu_rows(n);
    &mu + &((&x0 - &mu) * s.alpha(t)) + eps * s.sigma(t)
}

fn rms(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    ((a - b).iter().map(|v| v * v).sum::<f64>() / a.nrows() as f64).sqrt()
}

/// Data concentrated at one point m (the zero-covariance limit of Gaussian data): x̂₀ ≡ m, so
/// the network integral of the data form is exact at any step, and along the exact flow
/// y_t = α_t(m − μ) + σ_t ε with ε fixed, so that of the noise form is too.
struct PointMass {
    m: Vec<f64>,
    schedule: MeanReverting,
    prediction: MrPrediction,
}

impl MrModel for PointMass {
    fn prediction(&self) -> MrPrediction {
        self.prediction
    }

    fn predict(
        &self,
        x: &Array2<f64>,
        mu: &Array2<f64>,
        t: f64,
    ) -> Result<Array2<f64>, DenoiseError> {
        let (a, s) = (self.schedule.alpha(t), self.schedule.sigma(t));
        let m = Array2::from_shape_fn(x.raw_dim(), |(_, j)| self.m[j]);
        let x0c = &m - mu;
        let eps = (x - mu - &x0c * a) / s;
        Ok(match self.prediction {
            MrPrediction::Data => m,
            MrPrediction::Noise => eps,
            MrPrediction::Velocity => eps * a - x0c * s,
        })
    }
}

#[test]
fn ode_solvers_are_exact_when_the_network_integral_is() {
    let s = schedule();
    let n = 5;
    let mu = mu_rows(n);
    let m = vec![2.0, -1.0];
    let x_t = Array2::from_shape_fn((n, 2), |(i, j)| (i as f64 - 2.0) * 1.3 + j as f64);
    for steps in [1, 3, 10] {
        let times = log_snr_times(&s, steps, 1.0, 0.002).unwrap();
        let (t0, t1) = (times[0], *times.last().unwrap());
        let m_rows = Array2::from_shape_fn((n, 2), |(_, j)| m[j]);
        let eps = (&x_t - &mu - (&m_rows - &mu) * s.alpha(t0)) / s.sigma(t0);
        let exact = &mu + &((&m_rows - &mu) * s.alpha(t1)) + eps * s.sigma(t1);
        for prediction in PREDICTIONS {
            let model = PointMass {
                m: m.clone(),
                schedule: s,
                prediction,
            };
            for form in FORMS {
                for order in [1, 2] {
                    let mrs = Mrs::new(MrsKind::Ode, form, order).unwrap();
                    let (x, nfe) = mrs.sample(&model, &s, x_t.clone(), &mu, &times, 0).unwrap();
                    assert_eq!(nfe, steps);
                    let err = (&x - &exact).iter().fold(0.0_f64, |a, v| a.max(v.abs()));
                    assert!(
                        err < 1e-10,
                        "{} {prediction:?} steps {steps}: {err:e}",
                        mrs.name()
                    );
                }
            }
        }
    }
}

/// Composite 5-point Gauss–Legendre on `panels` equal panels of [a, b].
fn gauss_legendre(f: impl Fn(f64) -> Array2<f64>, a: f64, b: f64, panels: usize) -> Array2<f64> {
    const NODES: [f64; 5] = [
        -0.906_179_845_938_664,
        -0.538_469_310_105_683,
        0.0,
        0.538_469_310_105_683,
        0.906_179_845_938_664,
    ];
    const WEIGHTS: [f64; 5] = [
        0.236_926_885_056_189_1,
        0.478_628_670_499_366_5,
        0.568_888_888_888_888_9,
        0.478_628_670_499_366_5,
        0.236_926_885_056_189_1,
    ];
    let h = (b - a) / panels as f64;
    let mut acc: Option<Array2<f64>> = None;
    for p in 0..panels {
        let mid = a + (p as f64 + 0.5) * h;
        for (x, w) in NODES.iter().zip(WEIGHTS) {
            let term = f(mid + 0.5 * h * x) * (0.5 * h * w);
            acc = Some(match acc {
                Some(a) => a + term,
                None => term,
            });
        }
    }
    acc.unwrap()
}

#[test]
fn semi_analytic_solutions_are_exact_for_gaussian_data() {
    // MRS's variation-of-constants solutions with the exact model along the exact trajectory,
    // the integral done by quadrature, reproduce the closed-form Gaussian flow: the linear part
    // is integrated exactly in both the noise and the data form.
    let (s, target) = (schedule(), gaussian_target());
    let n = 6;
    let mu = mu_rows(n);
    let (t_s, t_t) = (0.9, 0.01);
    let y_s = marginal_sample(&target, &s, t_s, n);
    let exact = pf_ode_solution(&target, &s, &y_s, &mu, t_s, t_t, 0.0).unwrap();
    let (l_s, l_t) = (s.lambda(t_s), s.lambda(t_t));
    let model = MixtureMrModel::new(&target, s, MrPrediction::Data);
    let along = |lam: f64, want_data: bool| {
        let t = s.t_from_lambda(lam).unwrap();
        let x = pf_ode_solution(&target, &s, &y_s, &mu, t_s, t, 0.0).unwrap();
        let out = model.predict(&x, &mu, t).unwrap();
        MrPrediction::Data.convert(&out, &(&x - &mu), &mu, s.alpha(t), s.sigma(t), want_data)
    };
    let data_integral = gauss_legendre(|l| along(l, true) * l.exp(), l_s, l_t, 64);
    let data = &mu + (&y_s - &mu) * (s.sigma(t_t) / s.sigma(t_s)) + data_integral * s.sigma(t_t);
    let noise_integral = gauss_legendre(|l| along(l, false) * (-l).exp(), l_s, l_t, 64);
    let noise = &mu + (&y_s - &mu) * (s.alpha(t_t) / s.alpha(t_s)) - noise_integral * s.alpha(t_t);
    for (what, x) in [("data", data), ("noise", noise)] {
        let err = (&x - &exact).iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        assert!(err < 1e-10, "{what} form: {err:e}");
    }
}

#[test]
fn ode_solvers_converge_at_their_order() {
    let (s, target) = (schedule(), gaussian_target());
    let n = 64;
    let mu = mu_rows(n);
    let x_t = marginal_sample(&target, &s, 1.0, n);
    let exact = pf_ode_solution(&target, &s, &x_t, &mu, 1.0, 0.002, 0.0).unwrap();
    let steps = [16, 32, 64, 128];
    for prediction in PREDICTIONS {
        let model = MixtureMrModel::new(&target, s, prediction);
        for form in FORMS {
            for order in [1, 2] {
                let mrs = Mrs::new(MrsKind::Ode, form, order).unwrap();
                let errs: Vec<f64> = steps
                    .iter()
                    .map(|&k| {
                        let times = log_snr_times(&s, k, 1.0, 0.002).unwrap();
                        let (x, _) = mrs.sample(&model, &s, x_t.clone(), &mu, &times, 0).unwrap();
                        rms(&x, &exact)
                    })
                    .collect();
                let slope = (errs[2] / errs[3]).log2();
                println!(
                    "{} {prediction:?}: errors {errs:?}, slope {slope:.3}",
                    mrs.name()
                );
                assert!(
                    (slope - order as f64).abs() <= 0.15,
                    "{} {prediction:?}: slope {slope} errors {errs:?}",
                    mrs.name()
                );
            }
        }
    }
}

/// Sample mean and variance of column j, with their standard errors.
fn moments(x: &Array2<f64>, j: usize) -> (f64, f64, f64, f64) {
    let n = x.nrows() as f64;
    let c = x.column(j);
    let mean = c.sum() / n;
    let var = c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let m4 = c.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    (mean, (var / n).sqrt(), var, ((m4 - var * var) / n).sqrt())
}

#[test]
fn mrs_at_few_steps_matches_the_thousand_step_reverse_sde() {
    // Exact x_T ~ p_T, so every correct sampler ends at p_{t_min} = N(μ + α(m − μ), α²Σ + σ²I):
    // compare per-coordinate means and variances with the exact ones, in standard errors.
    let (s, target) = (schedule(), gaussian_target());
    let (t_min, n) = (0.002, 20_000);
    let mu = mu_rows(n);
    let x_t = marginal_sample(&target, &s, 1.0, n);
    let (a, sg) = (s.alpha(t_min), s.sigma(t_min));
    let exact_mean = [-1.0 + a * 3.0, 0.5 + a * -1.5];
    let exact_var = [a * a * 1.5 + sg * sg, a * a * 0.3 + sg * sg];
    let model = MixtureMrModel::new(&target, s, MrPrediction::Noise);
    let em_times: Vec<f64> = (0..=1000)
        .map(|i| 1.0 - (1.0 - t_min) * i as f64 / 1000.0)
        .collect();
    let mut runs = vec![(
        "reverse SDE, Euler–Maruyama, 1000 steps".to_string(),
        reverse_sde_euler_maruyama(&model, &s, x_t.clone(), &mu, &em_times, 9).unwrap(),
    )];
    for (name, steps) in [
        ("mrs-sde-2-data", 20),
        ("mrs-sde-1-data", 20),
        ("mrs-ode-2-data", 10),
        ("mrs-sde-2-noise", 20),
    ] {
        let mrs = Mrs::from_name(name).unwrap();
        let times = log_snr_times(&s, steps, 1.0, t_min).unwrap();
        let (x, _) = mrs.sample(&model, &s, x_t.clone(), &mu, &times, 9).unwrap();
        runs.push((format!("{name}, {steps} steps"), x));
    }
    // The baseline's own |error| per coordinate (mean, variance): its discretisation bias plus
    // sampling noise. A second-order MRS run at 10–20 NFE matches it when its error is no larger
    // than that plus 4 of its own standard errors. First-order MRS-SDE is printed, not checked:
    // at 20 steps its variance bias is far larger (the table in docs/methods.md).
    let mut baseline = [(0.0, 0.0); 2];
    for (k, (name, x)) in runs.iter().enumerate() {
        for j in 0..2 {
            let (m, se_m, v, se_v) = moments(x, j);
            let (em, ev) = (m - exact_mean[j], v - exact_var[j]);
            println!(
                "{name}: coord {j}: mean err {em:+.2e} ({:+.2} SE), var err {ev:+.2e} ({:+.2} SE)",
                em / se_m,
                ev / se_v
            );
            if k == 0 {
                baseline[j] = (em.abs(), ev.abs());
            } else if !name.starts_with("mrs-sde-1") {
                assert!(
                    em.abs() <= baseline[j].0 + 4.0 * se_m
                        && ev.abs() <= baseline[j].1 + 4.0 * se_v,
                    "{name} coord {j}: mean err {em:e}, var err {ev:e} vs baseline {:?}",
                    baseline[j]
                );
            }
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let err: MrError = MeanReverting::constant(0.0, 1.0).unwrap_err().into();
    assert!(matches!(
        err,
        MrError::Schedule(ScheduleError::NonPositive {
            name: "theta_min",
            ..
        })
    ));
    assert!(matches!(
        Mrs::new(MrsKind::Ode, MrsForm::Data, 3),
        Err(MrError::Order(3))
    ));
    assert!(
        Mrs::from_name("mrs-ode-3").is_none() && Mrs::from_name("mrs-sde-2-velocity").is_none()
    );
    assert_eq!(
        Mrs::from_name("mrs-ode-2").unwrap().name(),
        "mrs-ode-2-data"
    );
    let (s, target) = (schedule(), gaussian_target());
    let model = MixtureMrModel::new(&target, s, MrPrediction::Data);
    let mrs = Mrs::new(MrsKind::Sde, MrsForm::Noise, 2).unwrap();
    let x = Array2::zeros((3, 2));
    for times in [vec![1.0], vec![0.5, 0.7], vec![1.0, 0.0], vec![2.0, 0.5]] {
        assert!(matches!(
            mrs.sample(&model, &s, x.clone(), &mu_rows(3), &times, 0),
            Err(MrError::Grid(_))
        ));
    }
    assert!(matches!(
        mrs.sample(&model, &s, x.clone(), &mu_rows(2), &[1.0, 0.5], 0),
        Err(MrError::Shape(_))
    ));
    assert!(matches!(
        log_snr_times(&s, 0, 1.0, 0.1),
        Err(MrError::Grid(_))
    ));
}
