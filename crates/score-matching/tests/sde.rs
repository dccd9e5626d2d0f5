//! Forward SDE, reverse SDE and probability-flow ODE against the exact marginals of Gaussian
//! data, the denoiser-score adapter against the closed-form score, the perturbation kernel and
//! prior against their formulas, and typed errors.
//!
//! For data N(μ, Σ) every marginal is Gaussian: x_t ~ N(α(t)μ, C_t), C_t = α(t)²Σ + σ(t)²I, with
//! score ∇ln p_t(x) = −C_t⁻¹(x − α(t)μ). All C_t share Σ's eigenvectors, and the
//! probability-flow ODE is linear: along eigenvector k, y = x − αμ obeys
//! dy/dt = (f + g²/(2c_k))y = (d ln √c_k/dt)·y, so x_ε = α(ε)μ + Q diag(√(c_k(ε)/c_k(T))) Qᵀ (x_T − α(T)μ).

use std::sync::Arc;

use ndarray::{Array1, Array2, Axis, array};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::{CondOt, NoiseSchedule, SubVp, Ve, VpCosine, VpLinear};
use scoreflow_ode_sde_solvers::brownian::{SequentialBrownian, sample_seeds};
use scoreflow_ode_sde_solvers::ode::{SaveAt, SolveOptions, Tsit5, integrate};
use scoreflow_ode_sde_solvers::sde::{EulerMaruyama, integrate_sde};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};
use scoreflow_score_matching::sde::{DenoiserScore, ScoreFn, Sde, SdeError};

type Mat = [[f64; 2]; 2];

const MU: [f64; 2] = [1.0, -0.5];
const SIGMA: Mat = [[1.0, 0.3], [0.3, 0.5]];

/// A schedule under test, with the interval [ε, T] the reverse dynamics run on.
struct Case {
    name: &'static str,
    schedule: Arc<dyn NoiseSchedule>,
    t_end: f64,
    eps: f64,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "vp-linear",
            schedule: Arc::new(VpLinear::default()),
            t_end: 1.0,
            eps: 1e-3,
        },
        Case {
            name: "vp-cosine",
            // α(1) = 0 on the cosine schedule; stop where DPM-Solver does.
            schedule: Arc::new(VpCosine::default()),
            t_end: 0.99,
            eps: 1e-3,
        },
        Case {
            name: "sub-vp",
            schedule: Arc::new(SubVp::default()),
            t_end: 1.0,
            eps: 1e-3,
        },
        Case {
            name: "ve",
            schedule: Arc::new(Ve::default()),
            t_end: 1.0,
            eps: 1e-3,
        },
    ]
}

/// C_t = α²Σ + σ²I.
fn marginal_cov(s: &dyn NoiseSchedule, t: f64) -> Mat {
    let (a, sg) = (s.alpha(t), s.sigma(t));
    let mut c = SIGMA;
    for (i, row) in c.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = a * a * *v + if i == j { sg * sg } else { 0.0 };
        }
    }
    c
}

fn marginal_mean(s: &dyn NoiseSchedule, t: f64) -> [f64; 2] {
    let a = s.alpha(t);
    [a * MU[0], a * MU[1]]
}

fn inverse(m: &Mat) -> Mat {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    [
        [m[1][1] / det, -m[0][1] / det],
        [-m[1][0] / det, m[0][0] / det],
    ]
}

fn cholesky(m: &Mat) -> Mat {
    let l00 = m[0][0].sqrt();
    let l10 = m[1][0] / l00;
    [[l00, 0.0], [l10, (m[1][1] - l10 * l10).sqrt()]]
}

/// Rows of x ↦ m + A(x − c) with the row convention.
fn affine(x: &Array2<f64>, a: &Mat, from: [f64; 2], to: [f64; 2]) -> Array2<f64> {
    let mut out = x.clone();
    for (mut o, r) in out.rows_mut().into_iter().zip(x.rows()) {
        let y = [r[0] - from[0], r[1] - from[1]];
        o[0] = to[0] + a[0][0] * y[0] + a[0][1] * y[1];
        o[1] = to[1] + a[1][0] * y[0] + a[1][1] * y[1];
    }
    out
}

/// The exact score −C_t⁻¹(x − α(t)μ) of the Gaussian data, row by row.
fn exact_score(s: &dyn NoiseSchedule, x: &Array2<f64>, t: f64) -> Array2<f64> {
    let p = inverse(&marginal_cov(s, t));
    let neg = [[-p[0][0], -p[0][1]], [-p[1][0], -p[1][1]]];
    affine(x, &neg, marginal_mean(s, t), [0.0, 0.0])
}

/// n exact samples of the marginal at t.
fn marginal_samples(s: &dyn NoiseSchedule, t: f64, n: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let z = Array2::from_shape_fn((n, 2), |_| StandardNormal.sample(&mut rng));
    affine(
        &z,
        &cholesky(&marginal_cov(s, t)),
        [0.0, 0.0],
        marginal_mean(s, t),
    )
}

/// Symmetric eigendecomposition of a 2 × 2 matrix: (eigenvalues, eigenvectors as columns).
fn eigh(m: &Mat) -> ([f64; 2], Mat) {
    let (a, b, d) = (m[0][0], m[0][1], m[1][1]);
    let mean = 0.5 * (a + d);
    let r = (0.25 * (a - d) * (a - d) + b * b).sqrt();
    let l = [mean + r, mean - r];
    let theta = 0.5 * (2.0 * b).atan2(a - d);
    let (c, s) = (theta.cos(), theta.sin());
    (l, [[c, -s], [s, c]])
}

/// The exact probability-flow map A = Q diag(√(c_k(ε)/c_k(T))) Qᵀ.
fn exact_flow_map(s: &dyn NoiseSchedule, t_end: f64, eps: f64) -> Mat {
    let (lam, q) = eigh(&SIGMA);
    let ratio = |k: usize| {
        let c = |t: f64| s.alpha(t).powi(2) * lam[k] + s.sigma(t).powi(2);
        (c(eps) / c(t_end)).sqrt()
    };
    let d = [ratio(0), ratio(1)];
    let mut a = [[0.0; 2]; 2];
    for (i, row) in a.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..2).map(|k| q[i][k] * d[k] * q[j][k]).sum();
        }
    }
    a
}

/// The largest deviation, in standard errors, of the rows' sample mean and covariance from
/// `mean` and `cov` (the covariance's standard errors from the samples' own fourth moments).
fn moment_deviation(x: &Array2<f64>, mean: [f64; 2], cov: &Mat) -> f64 {
    let n = x.nrows() as f64;
    let mut worst = 0.0f64;
    for i in 0..2 {
        let m = x.column(i).sum() / n;
        worst = worst.max((m - mean[i]).abs() / (cov[i][i] / n).sqrt());
    }
    for i in 0..2 {
        for j in i..2 {
            let prods: Array1<f64> = x
                .rows()
                .into_iter()
                .map(|r| (r[i] - mean[i]) * (r[j] - mean[j]))
                .collect();
            let c = prods.sum() / n;
            let var = prods.mapv(|p| (p - c) * (p - c)).sum() / (n - 1.0);
            worst = worst.max((c - cov[i][j]).abs() / (var / n).sqrt());
        }
    }
    worst
}

fn one_component_mixture() -> GaussianMixture {
    GaussianMixture::new(
        vec![1.0],
        vec![MU.to_vec()],
        vec![SIGMA.iter().map(|r| r.to_vec()).collect()],
    )
    .unwrap()
}

#[test]
fn reverse_sde_euler_maruyama_reproduces_the_marginal_at_eps() {
    let n = 4000;
    let mixture = one_component_mixture();
    let denoiser = MixtureDenoiser::new(&mixture);
    for (k, case) in cases().into_iter().enumerate() {
        let s = case.schedule.as_ref();
        let sde = Sde::new(case.schedule.clone()).unwrap();
        let x_t = marginal_samples(s, case.t_end, n, 10 + k as u64);
        let mut bm = SequentialBrownian::new(&x_t, &sample_seeds(20 + k as u64, n)).unwrap();
        let opts = SolveOptions::steps(1000);
        // VP linear through the denoiser adapter (GaussianMixture's exact D), the others
        // through the closed-form score.
        let x_eps = if case.name == "vp-linear" {
            let score = sde.denoiser_score(&denoiser);
            let term = sde.reverse(score, case.t_end, case.eps).unwrap();
            integrate_sde(
                &term,
                &EulerMaruyama,
                case.t_end,
                case.eps,
                x_t,
                &mut bm,
                &opts,
            )
        } else {
            let schedule = case.schedule.clone();
            let score = move |x: &Array2<f64>, t: f64| exact_score(schedule.as_ref(), x, t);
            let term = sde.reverse(score, case.t_end, case.eps).unwrap();
            integrate_sde(
                &term,
                &EulerMaruyama,
                case.t_end,
                case.eps,
                x_t,
                &mut bm,
                &opts,
            )
        }
        .unwrap()
        .ys
        .pop()
        .unwrap();
        let worst = moment_deviation(
            &x_eps,
            marginal_mean(s, case.eps),
            &marginal_cov(s, case.eps),
        );
        println!("{}: reverse SDE moments within {worst:.2} SE", case.name);
        assert!(worst < 4.0, "{}: moments off by {worst} SE", case.name);
    }
}

#[test]
fn probability_flow_ode_transports_samples_by_the_exact_linear_map() {
    let n = 200;
    for (k, case) in cases().into_iter().enumerate() {
        let s = case.schedule.as_ref();
        let sde = Sde::new(case.schedule.clone()).unwrap();
        let schedule = case.schedule.clone();
        let score = move |x: &Array2<f64>, t: f64| exact_score(schedule.as_ref(), x, t);
        let term = sde.probability_flow(score, case.t_end, case.eps).unwrap();
        let x_t = marginal_samples(s, case.t_end, n, 30 + k as u64);
        let sol = integrate(
            &term,
            &Tsit5,
            case.t_end,
            case.eps,
            x_t.clone(),
            &SolveOptions::adaptive(1e-10, 1e-10),
        )
        .unwrap();
        let x_eps = sol.ys.last().unwrap();
        let a = exact_flow_map(s, case.t_end, case.eps);
        let exact = affine(
            &x_t,
            &a,
            marginal_mean(s, case.t_end),
            marginal_mean(s, case.eps),
        );
        let err = (x_eps - &exact)
            .mapv(f64::abs)
            .fold(0.0, |m: f64, v| m.max(*v));
        println!(
            "{}: PF-ODE max |x − A x_T| = {err:.2e} ({} steps)",
            case.name, sol.stats.accepted
        );
        assert!(err < 1e-6, "{}: PF-ODE error {err}", case.name);
        // The map itself carries N(α_T μ, C_T) to N(α_ε μ, C_ε): A C_T Aᵀ = C_ε.
        let (ct, ce) = (marginal_cov(s, case.t_end), marginal_cov(s, case.eps));
        for i in 0..2 {
            for j in 0..2 {
                let v: f64 = (0..2)
                    .flat_map(|p| (0..2).map(move |q| (p, q)))
                    .map(|(p, q)| a[i][p] * ct[p][q] * a[j][q])
                    .sum();
                assert!((v - ce[i][j]).abs() < 1e-10, "{}: A C_T Aᵀ", case.name);
            }
        }
    }
}

#[test]
fn forward_sde_reproduces_the_perturbation_kernel() {
    let n = 4000;
    let x0 = [1.0, -2.0];
    for (k, case) in cases().into_iter().enumerate() {
        let sde = Sde::new(case.schedule.clone()).unwrap();
        // Up to 0.9 on the cosine schedule, whose drift −k·tan φ grows without bound near t = 1.
        let t_end = case.t_end.min(0.9);
        let steps = 1000;
        let start = Array2::from_shape_fn((n, 2), |(_, j)| x0[j]);
        let mut bm = SequentialBrownian::new(&start, &sample_seeds(40 + k as u64, n)).unwrap();
        let term = sde.forward(0.0, t_end).unwrap();
        let sol = integrate_sde(
            &term,
            &EulerMaruyama,
            0.0,
            t_end,
            start.clone(),
            &mut bm,
            &SolveOptions::steps(steps).save_at(SaveAt::Steps),
        )
        .unwrap();
        let mut worst = 0.0f64;
        for frac in [0.1, 0.3, 0.6, 1.0] {
            let i = (frac * steps as f64).round() as usize;
            let t = sol.ts[i];
            // From x₀ at t = 0: N(α x₀, σ²) when σ(0) = 0; for VE, σ(0) = σ_min and the SDE
            // adds σ² − σ_min², the transition kernel from 0.
            let kernel = if case.name == "ve" {
                sde.transition(0.0, t).unwrap()
            } else {
                let k = sde.kernel(t).unwrap();
                let tr = sde.transition(0.0, t).unwrap();
                assert!((k.std() - tr.std()).abs() < 1e-12);
                assert!((k.scale() - tr.scale()).abs() < 1e-12);
                k
            };
            let mean = kernel.mean(&start).row(0).to_owned();
            let sd = kernel.std();
            let x = &sol.ys[i];
            for j in 0..2 {
                let col = x.column(j);
                let m = col.sum() / n as f64;
                let dev_m = (m - mean[j]).abs() / (sd / (n as f64).sqrt());
                let v = col.mapv(|v| (v - mean[j]).powi(2)).sum() / n as f64;
                let dev_v = (v - sd * sd).abs() / (sd * sd * (2.0 / n as f64).sqrt());
                worst = worst.max(dev_m).max(dev_v);
                assert!(
                    dev_m < 4.0,
                    "{} t = {t}: mean {m} vs {}",
                    case.name,
                    mean[j]
                );
                assert!(dev_v < 4.0, "{} t = {t}: var {v} vs {}", case.name, sd * sd);
            }
        }
        println!("{}: forward SDE moments within {worst:.2} SE", case.name);
    }
}

#[test]
fn denoiser_score_equals_the_closed_form_score() {
    let mixture = one_component_mixture();
    let denoiser = MixtureDenoiser::new(&mixture);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x = Array2::from_shape_fn((100, 2), |_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        3.0 * z
    });
    let mut worst = 0.0f64;
    for case in cases() {
        let sde = Sde::new(case.schedule.clone()).unwrap();
        let adapter: DenoiserScore<'_, Array2<f64>> = sde.denoiser_score(&denoiser);
        // Tweedie's (αD − x)/σ² cancels: its rounding error is ~ u·‖x‖/σ², so stay where
        // σ² ≳ 1e-5 (sub-VP's σ ≈ B(t) is 1e-4 at t = 1e-3).
        for t in [0.02, 0.05, 0.3, 0.7, case.t_end] {
            let got = adapter.score(&x, t);
            let exact = exact_score(case.schedule.as_ref(), &x, t);
            for (g, e) in got.iter().zip(exact.iter()) {
                let rel = (g - e).abs() / (1.0 + e.abs());
                worst = worst.max(rel);
                assert!(rel < 1e-10, "{} t = {t}: {g} vs {e}", case.name);
            }
        }
    }
    println!("denoiser score vs closed form: worst relative error {worst:.2e}");
}

#[test]
fn perturbation_kernel_density_score_and_sampling_match_their_formulas() {
    let sde = Sde::new(Arc::new(VpLinear::default())).unwrap();
    let t = 0.4;
    let kernel = sde.kernel(t).unwrap();
    let (a, s) = (sde.schedule().alpha(t), sde.schedule().sigma(t));
    assert_eq!((kernel.scale(), kernel.std()), (a, s));
    let x0 = array![[0.5, -1.0, 2.0], [1.5, 0.0, -0.3]];
    let eps = array![[0.1, 0.2, -0.4], [-1.0, 0.7, 0.05]];
    let x_t = kernel.sample(&x0, &eps).unwrap();
    assert!(
        (&x_t - &(&x0 * a + &eps * s))
            .iter()
            .all(|v| v.abs() < 1e-15)
    );
    // ln N(x_t; αx₀, σ²I) with d = 3, through ε: −‖ε‖²/2 − (3/2)ln(2πσ²).
    let logp = kernel.log_density(&x_t, &x0).unwrap();
    for (lp, e) in logp.iter().zip(eps.rows()) {
        let exact = -0.5 * e.dot(&e) - 1.5 * (2.0 * std::f64::consts::PI * s * s).ln();
        assert!((lp - exact).abs() < 1e-12, "{lp} vs {exact}");
    }
    // The score is the gradient of the log-density (central differences), and −ε/σ.
    let score = kernel.score(&x_t, &x0).unwrap();
    assert!((&score + &(&eps / s)).iter().all(|v| v.abs() < 1e-12));
    let h = 1e-5;
    for i in 0..2 {
        for j in 0..3 {
            let (mut up, mut down) = (x_t.clone(), x_t.clone());
            up[[i, j]] += h;
            down[[i, j]] -= h;
            let fd = (kernel.log_density(&up, &x0).unwrap()[i]
                - kernel.log_density(&down, &x0).unwrap()[i])
                / (2.0 * h);
            assert!((fd - score[[i, j]]).abs() < 1e-6 * (1.0 + fd.abs()));
        }
    }
    // A scalar state is one sample of one element.
    let lp = kernel.log_density(&0.3f64, &0.1f64).unwrap();
    let z = (0.3 - a * 0.1) / s;
    let exact = -0.5 * z * z - (s * (2.0 * std::f64::consts::PI).sqrt()).ln();
    assert!((lp[0] - exact).abs() < 1e-12);
}

#[test]
fn prior_is_the_marginal_scale_at_t_end() {
    let x = array![[0.3, -0.2], [1.0, 2.0]];
    for (schedule, std) in [
        (Arc::new(Ve::default()) as Arc<dyn NoiseSchedule>, 50.0),
        (
            Arc::new(VpLinear::default()),
            VpLinear::default().sigma(1.0),
        ),
        (Arc::new(SubVp::default()), SubVp::default().sigma(1.0)),
    ] {
        let prior = Sde::new(schedule).unwrap().prior().unwrap();
        assert!((prior.std() - std).abs() < 1e-12 * std);
        assert_eq!(prior.time(), 1.0);
        let sample = prior.sample(x.clone());
        assert!((&sample - &(&x * std)).iter().all(|v| v.abs() < 1e-12));
        let lp = prior.log_density(&x);
        for (l, r) in lp.iter().zip(x.rows()) {
            let exact =
                -r.dot(&r) / (2.0 * std * std) - (2.0 * std::f64::consts::PI * std * std).ln();
            assert!((l - exact).abs() < 1e-12);
        }
    }
    // VP priors are N(0, I) up to e^{−B(1)}.
    assert!((VpLinear::default().sigma(1.0) - 1.0).abs() < 1e-4);
    let cosine = Sde::new(Arc::new(VpCosine::default())).unwrap();
    assert!((cosine.prior_at(0.9946).unwrap().std() - 1.0).abs() < 1e-3);
}

#[test]
fn reverse_sde_with_a_wrong_score_fails_the_moment_test() {
    // Power check: a score of the wrong data mean must not pass the same moment test.
    let schedule: Arc<dyn NoiseSchedule> = Arc::new(VpLinear::default());
    let sde = Sde::new(schedule.clone()).unwrap();
    let n = 4000;
    let x_t = marginal_samples(schedule.as_ref(), 1.0, n, 50);
    let shift = 0.1;
    let score = move |x: &Array2<f64>, t: f64| {
        let mut out = exact_score(schedule.as_ref(), x, t);
        let p = inverse(&marginal_cov(schedule.as_ref(), t));
        let a = schedule.alpha(t);
        out.axis_iter_mut(Axis(0)).for_each(|mut r| {
            r[0] += p[0][0] * a * shift;
            r[1] += p[1][0] * a * shift;
        });
        out
    };
    let term = sde.reverse(score, 1.0, 1e-3).unwrap();
    let mut bm = SequentialBrownian::new(&x_t, &sample_seeds(51, n)).unwrap();
    let x = integrate_sde(
        &term,
        &EulerMaruyama,
        1.0,
        1e-3,
        x_t,
        &mut bm,
        &SolveOptions::steps(1000),
    )
    .unwrap()
    .ys
    .pop()
    .unwrap();
    let s = sde.schedule().as_ref();
    let worst = moment_deviation(&x, marginal_mean(s, 1e-3), &marginal_cov(s, 1e-3));
    println!("data mean shifted by {shift}: moments off by {worst:.1} SE");
    assert!(
        worst > 4.0,
        "a {shift} shift of the data mean went unnoticed"
    );
}

#[test]
fn flow_paths_are_rejected() {
    assert!(matches!(
        Sde::new(Arc::new(CondOt::new())),
        Err(SdeError::DataAtOne)
    ));
}

#[test]
fn reverse_terms_need_positive_noise_at_both_ends() {
    let sde = Sde::new(Arc::new(VpLinear::default())).unwrap();
    let score = |x: &Array2<f64>, _t: f64| -x;
    assert!(matches!(
        sde.reverse(score, 1.0, 0.0),
        Err(SdeError::ZeroNoise { t: 0.0 })
    ));
    assert!(matches!(
        sde.probability_flow(score, 1.0, 0.0),
        Err(SdeError::ZeroNoise { t: 0.0 })
    ));
    // The forward SDE may start at t = 0.
    assert!(sde.forward(0.0, 1.0).is_ok());
}

#[test]
fn times_outside_the_range_or_not_finite_are_rejected() {
    let sde = Sde::new(Arc::new(VpLinear::default())).unwrap();
    assert!(matches!(
        sde.coefficients(1.5),
        Err(SdeError::OutsideRange { .. })
    ));
    assert!(matches!(
        sde.forward(-0.1, 0.5),
        Err(SdeError::OutsideRange { .. })
    ));
    assert!(matches!(
        sde.kernel(f64::NAN),
        Err(SdeError::NonFiniteTime { .. })
    ));
}

#[test]
fn non_finite_coefficients_are_rejected() {
    // α(1) = 0 on the cosine schedule, so f = α'/α is infinite there.
    let sde = Sde::new(Arc::new(VpCosine::default())).unwrap();
    assert!(matches!(
        sde.forward(0.0, 1.0),
        Err(SdeError::InvalidCoefficient { name: "alpha", .. })
    ));
    assert!(matches!(
        sde.prior(),
        Err(SdeError::InvalidCoefficient { name: "alpha", .. })
    ));
}

#[test]
fn empty_and_backward_intervals_are_rejected() {
    let sde = Sde::new(Arc::new(Ve::default())).unwrap();
    assert!(matches!(
        sde.forward(0.5, 0.5),
        Err(SdeError::InvalidInterval { .. })
    ));
    assert!(matches!(
        sde.transition(0.6, 0.2),
        Err(SdeError::InvalidInterval { .. })
    ));
}

#[test]
fn kernel_rejects_mismatched_shapes_and_zero_noise() {
    let sde = Sde::new(Arc::new(VpLinear::default())).unwrap();
    let kernel = sde.kernel(0.5).unwrap();
    let a = Array2::<f64>::zeros((3, 2));
    let b = Array2::<f64>::zeros((2, 2));
    assert!(matches!(
        kernel.sample(&a, &b),
        Err(SdeError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        kernel.score(&a, &b),
        Err(SdeError::ShapeMismatch { .. })
    ));
    // σ(0) = 0: the kernel is a point mass.
    let point = sde.kernel(0.0).unwrap();
    assert!(matches!(
        point.log_density(&a, &a),
        Err(SdeError::ZeroNoise { .. })
    ));
}
