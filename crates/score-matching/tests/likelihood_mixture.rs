//! Exact likelihoods through the probability-flow ODE, checked against the closed-form mixture
//! density: the change-of-variables integral, the trace by JVPs, Hutchinson's estimator (bias
//! and 1/√K scaling), the mixture's Hessian–vector product and the bits-per-dimension formula.

use ndarray::Array2;
use scoreflow_ode_sde_solvers::likelihood::{
    AdaptiveSolver, Divergence, DivergenceDenoiser, EIGHT_BIT_TO_SYMMETRIC_SCALE,
    LikelihoodOptions, ProbeKind, bits_per_dim, gaussian_prior_log_prob, jacobian_trace_by_jvp,
    negative_log_likelihood,
};
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, SolveError};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};

/// Exact samples of p₀ as an n × d batch.
fn samples(gm: &GaussianMixture, n: usize, seed: u64) -> Array2<f64> {
    Array2::from_shape_vec((n, gm.dim()), gm.sample(n, seed)).unwrap()
}

/// −ln p₀ per row, in closed form.
fn exact_nll(gm: &GaussianMixture, x: &Array2<f64>) -> Vec<f64> {
    x.rows()
        .into_iter()
        .map(|r| -gm.log_prob(r.as_slice().unwrap(), 0.0))
        .collect()
}

/// The exact noised density ln p_σ per row, as a prior.
fn mixture_prior(gm: &GaussianMixture, sigma: f64) -> impl Fn(&Array2<f64>) -> Vec<f64> + '_ {
    move |y: &Array2<f64>| {
        y.rows()
            .into_iter()
            .map(|r| gm.log_prob(&r.to_vec(), sigma))
            .collect()
    }
}

fn mae(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

/// The mixture denoiser without its closed-form trace, so `Divergence::Exact` uses d JVPs.
struct JvpOnly<'a>(MixtureDenoiser<'a>);

impl Denoiser<Array2<f64>> for JvpOnly<'_> {
    fn denoise(&self, x: &Array2<f64>, sigma: f64) -> Result<Array2<f64>, DenoiseError> {
        self.0.denoise(x, sigma)
    }
}

impl DivergenceDenoiser<Array2<f64>> for JvpOnly<'_> {
    fn jvp(
        &self,
        x: &Array2<f64>,
        sigma: f64,
        v: &Array2<f64>,
    ) -> Result<Array2<f64>, DenoiseError> {
        self.0.jvp(x, sigma, v)
    }
}

/// σ_max for the exact-prior tests. With the exact noised density as the prior the identity
/// ln p_{σ_min}(x) = ln p_{σ_max}(x(σ_max)) + ∫ ∇·f dσ holds for every σ_max, so σ_max only
/// has to cover the data scale for the test to exercise the whole flow (ring8: radius 4,
/// gauss16d: means in [−3, 3]¹⁶, covariance eigenvalues up to a few); 80 (EDM's default) is
/// used because beyond the data scale the flow is nearly linear, x ∝ √(s² + σ²), and the
/// adaptive steps grow geometrically, so it costs only a few more steps than σ_max = 20.
const SIGMA_MAX: f64 = 80.0;

fn exact_options() -> LikelihoodOptions {
    LikelihoodOptions {
        sigma_min: 1e-5,
        sigma_max: SIGMA_MAX,
        rtol: 1e-7,
        atol: 1e-7,
        divergence: Divergence::Exact,
        ..LikelihoodOptions::default()
    }
}

fn check_exact(name: &str) {
    let gm = GaussianMixture::builtin(name).unwrap();
    let model = MixtureDenoiser::new(&gm);
    let x = samples(&gm, 16, 7);
    let prior = mixture_prior(&gm, SIGMA_MAX);
    let opts = exact_options();
    let out = negative_log_likelihood(&model, &x, &prior, &opts).unwrap();
    let err = mae(&out.nll, &exact_nll(&gm, &x));
    println!(
        "{name}: MAE {err:.3e} nats, NFE {}, steps {} (+{} rejected), jvps {}",
        out.nfe, out.steps, out.rejected, out.jvps
    );
    assert_eq!(out.nll.len(), 16);
    assert_eq!(out.jvps, 0, "the closed-form trace needs no JVPs");
    assert!(err <= 1e-5, "{name}: MAE {err:e} > 1e-5 nats");

    // Tsit5 agrees.
    let tsit = LikelihoodOptions {
        solver: AdaptiveSolver::Tsit5,
        ..opts
    };
    let out_t = negative_log_likelihood(&model, &x, &prior, &tsit).unwrap();
    let err_t = mae(&out_t.nll, &exact_nll(&gm, &x));
    println!("{name} (tsit5): MAE {err_t:.3e} nats, NFE {}", out_t.nfe);
    assert!(err_t <= 1e-5, "{name} tsit5: MAE {err_t:e}");
}

#[test]
fn exact_divergence_recovers_ring8_density() {
    check_exact("ring8");
}

#[test]
fn exact_divergence_recovers_gauss16d_density() {
    check_exact("gauss16d");
}

/// The error in nats follows the tolerance: with the accumulator's relative tolerance applied
/// per dimension (to ℓ/d), gauss16d's NLL is within 10·tol of the closed form at
/// tol = 10⁻⁶, 10⁻⁷, 10⁻⁸, and within 10⁻⁶ nats at 10⁻⁷. With rtol applied to ℓ itself
/// (ℓ ≈ 70 nats here) the MAE was 2.3·10⁻⁶ at 10⁻⁷.
#[test]
fn exact_likelihood_error_follows_the_tolerance() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let model = MixtureDenoiser::new(&gm);
    let x = samples(&gm, 64, 7);
    let prior = mixture_prior(&gm, SIGMA_MAX);
    let exact = exact_nll(&gm, &x);
    for tol in [1e-6, 1e-7, 1e-8] {
        let opts = LikelihoodOptions {
            rtol: tol,
            atol: tol,
            ..exact_options()
        };
        let out = negative_log_likelihood(&model, &x, &prior, &opts).unwrap();
        let err = mae(&out.nll, &exact);
        println!("gauss16d, tol {tol:e}: MAE {err:.3e} nats, NFE {}", out.nfe);
        assert!(err <= 10.0 * tol, "tol {tol:e}: MAE {err:e}");
        if tol == 1e-7 {
            assert!(err <= 1e-6, "MAE {err:e} > 1e-6 at tol 1e-7");
        }
    }
}

#[test]
fn sign_convention_on_a_single_gaussian() {
    // p₀ = N(0, s²I): ∇·f = dσ/(s² + σ²) > 0 and the NLL must match −ln N(x; 0, s²I).
    let s2 = 0.7;
    let gm = GaussianMixture::new(
        vec![1.0],
        vec![vec![0.0; 3]],
        vec![vec![
            vec![s2, 0.0, 0.0],
            vec![0.0, s2, 0.0],
            vec![0.0, 0.0, s2],
        ]],
    )
    .unwrap();
    let model = MixtureDenoiser::new(&gm);
    let x = samples(&gm, 4, 3);
    let prior = mixture_prior(&gm, SIGMA_MAX);
    let out = negative_log_likelihood(&model, &x, &prior, &exact_options()).unwrap();
    let err = mae(&out.nll, &exact_nll(&gm, &x));
    assert!(err < 1e-6, "MAE {err:e}");
}

#[test]
fn gaussian_prior_is_a_small_bias_at_sigma_80() {
    let gm = GaussianMixture::builtin("ring8").unwrap();
    let model = MixtureDenoiser::new(&gm);
    let x = samples(&gm, 8, 5);
    let prior = gaussian_prior_log_prob::<Array2<f64>>(SIGMA_MAX);
    let opts = LikelihoodOptions {
        rtol: 1e-6,
        atol: 1e-6,
        ..exact_options()
    };
    let out = negative_log_likelihood(&model, &x, &prior, &opts).unwrap();
    let err = mae(&out.nll, &exact_nll(&gm, &x));
    println!("ring8, N(0, 80² I) prior: MAE {err:.3e}");
    // ≈ (d/2)·tr C/(d σ_max²) = 8.25/6400 ≈ 1.3e-3 nats.
    assert!(err < 5e-3, "MAE {err:e}");
}

#[test]
fn trace_by_jvps_matches_closed_form() {
    for name in ["ring8", "gauss16d"] {
        let gm = GaussianMixture::builtin(name).unwrap();
        let model = MixtureDenoiser::new(&gm);
        let d = gm.dim() as f64;
        let x0 = samples(&gm, 8, 21);
        for sigma in [1e-5, 0.1, 0.5, 1.0, 3.0, 10.0, 80.0] {
            let x = &x0 + &samples(&gm, 8, 22).mapv(|v| 0.1 * sigma * v);
            let closed = model.trace_jacobian(&x, sigma).unwrap().unwrap();
            let by_jvp = jacobian_trace_by_jvp(&model, &x, sigma).unwrap();
            for (a, b) in closed.iter().zip(&by_jvp) {
                assert!((a - b).abs() <= 1e-9 * d, "{name} σ = {sigma}: {a} vs {b}");
            }
        }
    }
    // The whole likelihood with d JVPs per evaluation instead of the closed-form trace.
    let gm = GaussianMixture::builtin("ring8").unwrap();
    let model = MixtureDenoiser::new(&gm);
    let x = samples(&gm, 16, 7);
    let prior = mixture_prior(&gm, SIGMA_MAX);
    let closed = negative_log_likelihood(&model, &x, &prior, &exact_options()).unwrap();
    let jvp_only = JvpOnly(model);
    let by_jvp = negative_log_likelihood(&jvp_only, &x, &prior, &exact_options()).unwrap();
    assert_eq!(
        by_jvp.jvps,
        2 * by_jvp.nfe,
        "d = 2 JVPs per field evaluation"
    );
    let diff = mae(&closed.nll, &by_jvp.nll);
    println!("ring8: closed-form vs JVP trace NLL MAE {diff:.3e}");
    assert!(diff < 1e-7, "{diff:e}");
}

/// Central finite differences of a batch map along `v`.
fn fd_directional(
    f: impl Fn(&Array2<f64>) -> Array2<f64>,
    x: &Array2<f64>,
    v: &Array2<f64>,
) -> Array2<f64> {
    let h = 1e-5;
    let xp = x + &v.mapv(|a| h * a);
    let xm = x - &v.mapv(|a| h * a);
    (f(&xp) - f(&xm)).mapv(|a| a / (2.0 * h))
}

#[test]
fn jvp_and_hvp_match_finite_differences() {
    for name in ["ring8", "gauss16d"] {
        let gm = GaussianMixture::builtin(name).unwrap();
        let model = MixtureDenoiser::new(&gm);
        let d = gm.dim();
        let n = 6;
        let v = samples(&gm, n, 99).mapv(|a| 0.3 * a);
        for sigma in [0.05, 0.5, 2.0, 10.0] {
            let x = &samples(&gm, n, 1) + &samples(&gm, n, 2).mapv(|a| 0.2 * sigma * a);
            // J_D v against finite differences of the denoiser.
            let jv = model.jvp(&x, sigma, &v).unwrap();
            let fd = fd_directional(|y| model.denoise(y, sigma).unwrap(), &x, &v);
            let scale = 1.0 + fd.iter().fold(0.0f64, |m, a| m.max(a.abs()));
            let err = (&jv - &fd).iter().fold(0.0f64, |m, a| m.max(a.abs()));
            assert!(err <= 1e-6 * scale, "{name} σ = {sigma}: jvp error {err:e}");
            // H v against finite differences of the score.
            let xs: Vec<f64> = x.iter().copied().collect();
            let vs: Vec<f64> = v.iter().copied().collect();
            let mut hv = vec![0.0; n * d];
            gm.log_prob_hvp_batch(&xs, sigma, &vs, &mut hv);
            let score = |y: &Array2<f64>| {
                let ys: Vec<f64> = y.iter().copied().collect();
                let mut out = vec![0.0; ys.len()];
                gm.score_batch(&ys, sigma, &mut out);
                Array2::from_shape_vec((n, d), out).unwrap()
            };
            let fd = fd_directional(score, &x, &v);
            let scale = 1.0 + fd.iter().fold(0.0f64, |m, a| m.max(a.abs()));
            let err = hv
                .iter()
                .zip(fd.iter())
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(err <= 1e-6 * scale, "{name} σ = {sigma}: hvp error {err:e}");
            // The single-point form agrees with the batch (to roundoff: the batch sums in
            // matrix-product order; tests/analytic_batch.rs checks this in depth).
            let mut one = vec![0.0; d];
            gm.log_prob_hvp(&xs[..d], sigma, &vs[..d], &mut one);
            let one_scale = 1.0 + one.iter().fold(0.0f64, |m, a| m.max(a.abs()));
            for (a, b) in one.iter().zip(&hv[..d]) {
                assert!(
                    (a - b).abs() <= 1e-12 * one_scale,
                    "{name} σ = {sigma}: {a} vs {b}"
                );
            }
        }
    }
}

/// RMS and mean of the Hutchinson NLL error over `reps` replicates of one point (each row of
/// the batch draws its own probes, so the rows are independent estimates).
fn hutchinson_errors(
    gm: &GaussianMixture,
    point: &[f64],
    reps: usize,
    k: usize,
    kind: ProbeKind,
    seed: u64,
) -> (f64, f64) {
    let model = MixtureDenoiser::new(gm);
    let d = gm.dim();
    let x = Array2::from_shape_fn((reps, d), |(_, j)| point[j]);
    let prior = mixture_prior(gm, 20.0);
    let base = LikelihoodOptions {
        sigma_max: 20.0,
        rtol: 1e-6,
        atol: 1e-6,
        ..exact_options()
    };
    let exact = negative_log_likelihood(
        &model,
        &x.slice(ndarray::s![0..1, ..]).to_owned(),
        &prior,
        &base,
    )
    .unwrap()
    .nll[0];
    let opts = LikelihoodOptions {
        divergence: Divergence::Hutchinson {
            probes: k,
            kind,
            seed,
        },
        ..base
    };
    let out = negative_log_likelihood(&model, &x, &prior, &opts).unwrap();
    assert_eq!(out.jvps, k * out.nfe);
    let errs: Vec<f64> = out.nll.iter().map(|v| v - exact).collect();
    let mean = errs.iter().sum::<f64>() / reps as f64;
    let rms = (errs.iter().map(|e| e * e).sum::<f64>() / reps as f64).sqrt();
    (rms, mean)
}

#[test]
fn hutchinson_is_unbiased_with_error_falling_as_inverse_sqrt_k() {
    let gm = GaussianMixture::builtin("ring8").unwrap();
    let point = [2.0, 1.0];
    let reps = 400;
    let ks = [1usize, 4, 16, 64];
    let mut logs = Vec::new();
    for (i, &k) in ks.iter().enumerate() {
        let (rms, mean) =
            hutchinson_errors(&gm, &point, reps, k, ProbeKind::Rademacher, 100 + i as u64);
        println!("Rademacher K = {k}: RMS {rms:.4e}, mean {mean:.3e}");
        // Unbiased: the mean error is within 4 standard errors of 0.
        assert!(
            mean.abs() < 4.0 * rms / (reps as f64).sqrt(),
            "K = {k}: mean {mean:e}"
        );
        logs.push(((k as f64).ln(), rms.ln()));
    }
    let m = logs.len() as f64;
    let (sx, sy) = logs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / m, sy / m);
    let slope = logs.iter().map(|(x, y)| (x - mx) * (y - my)).sum::<f64>()
        / logs.iter().map(|(x, _)| (x - mx).powi(2)).sum::<f64>();
    println!("log-log slope of RMS error in K: {slope:.3}");
    assert!((slope + 0.5).abs() <= 0.15, "slope {slope}");

    let (rad, _) = hutchinson_errors(&gm, &point, reps, 4, ProbeKind::Rademacher, 7);
    let (gauss, gmean) = hutchinson_errors(&gm, &point, reps, 4, ProbeKind::Gaussian, 7);
    println!("K = 4: Rademacher RMS {rad:.4e}, Gaussian RMS {gauss:.4e} (mean {gmean:.2e})");
    assert!(gmean.abs() < 4.0 * gauss / (reps as f64).sqrt());
    assert!(gauss > rad, "Gaussian {gauss:e} vs Rademacher {rad:e}");
}

/// The mixture denoiser's fused D-and-JVPs evaluation (one pass over the components for D
/// and the K Hessian–vector products) against the trait's defaults (`denoise`, then one
/// `jvp` per probe), through a whole Hutchinson likelihood: the fields agree to roundoff, so
/// the adaptive solver takes the same steps and the NLLs agree far below the tolerance.
#[test]
fn fused_hutchinson_evaluation_matches_separate_calls() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let x = samples(&gm, 200, 31);
    let prior = mixture_prior(&gm, SIGMA_MAX);
    let opts = LikelihoodOptions {
        rtol: 1e-6,
        atol: 1e-6,
        divergence: Divergence::Hutchinson {
            probes: 3,
            kind: ProbeKind::Rademacher,
            seed: 5,
        },
        ..exact_options()
    };
    let fused = negative_log_likelihood(&MixtureDenoiser::new(&gm), &x, &prior, &opts).unwrap();
    let separate =
        negative_log_likelihood(&JvpOnly(MixtureDenoiser::new(&gm)), &x, &prior, &opts).unwrap();
    assert_eq!(
        (fused.nfe, fused.steps, fused.rejected),
        (separate.nfe, separate.steps, separate.rejected)
    );
    let worst = fused
        .nll
        .iter()
        .zip(&separate.nll)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0, f64::max);
    assert!(worst <= 1e-10, "fused vs separate NLL: {worst:e}");
}

#[test]
fn bits_per_dim_of_a_uniform_density() {
    // Uniform p_x on the image [−1, 1 + 1/127.5)^d of the dequantised 8-bit cube [0, 256)^d:
    // exactly 8 bits per dimension.
    let d = 3072;
    let width: f64 = 256.0 / EIGHT_BIT_TO_SYMMETRIC_SCALE;
    let nll = d as f64 * width.ln();
    let bpd = bits_per_dim(nll, d, EIGHT_BIT_TO_SYMMETRIC_SCALE).unwrap();
    assert!((bpd - 8.0).abs() < 1e-12, "{bpd}");
    // [0, 1) scaling by 1/256: uniform density 1, nll 0, 8 bits.
    assert!((bits_per_dim(0.0, 10, 256.0).unwrap() - 8.0).abs() < 1e-12);
    // The formula nll/(d ln 2) + log₂ 127.5.
    let v = bits_per_dim(1000.0, 100, 127.5).unwrap();
    assert!((v - (1000.0 / (100.0 * std::f64::consts::LN_2) + 127.5f64.log2())).abs() < 1e-12);
    assert!(bits_per_dim(1.0, 0, 127.5).is_err());
    assert!(bits_per_dim(1.0, 4, 0.0).is_err());
    assert!(bits_per_dim(f64::NAN, 4, 127.5).is_err());
}

#[test]
fn invalid_options_are_errors() {
    let gm = GaussianMixture::builtin("ring8").unwrap();
    let model = MixtureDenoiser::new(&gm);
    let x = samples(&gm, 2, 1);
    let prior = mixture_prior(&gm, 10.0);
    let base = LikelihoodOptions {
        sigma_max: 10.0,
        ..LikelihoodOptions::default()
    };
    let run = |o: LikelihoodOptions| negative_log_likelihood(&model, &x, &prior, &o);
    let invalid_option =
        |r: Result<_, SolveError>| matches!(r, Err(SolveError::InvalidOption { .. }));
    assert!(matches!(
        run(LikelihoodOptions {
            sigma_min: 10.0,
            ..base.clone()
        }),
        Err(SolveError::InvalidInterval(_))
    ));
    assert!(matches!(
        run(LikelihoodOptions {
            sigma_min: 20.0,
            ..base.clone()
        }),
        Err(SolveError::InvalidInterval(_))
    ));
    assert!(invalid_option(run(LikelihoodOptions {
        sigma_min: 0.0,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        sigma_min: -1.0,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        sigma_min: f64::NAN,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        sigma_max: f64::NAN,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        sigma_max: f64::INFINITY,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        rtol: f64::NAN,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        atol: -1.0,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        rtol: 0.0,
        atol: 0.0,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        max_steps: 0,
        ..base.clone()
    })));
    assert!(invalid_option(run(LikelihoodOptions {
        divergence: Divergence::Hutchinson {
            probes: 0,
            kind: ProbeKind::Rademacher,
            seed: 0
        },
        ..base.clone()
    })));
    // A NaN input is rejected before any evaluation.
    let mut bad = x.clone();
    bad[[1, 0]] = f64::NAN;
    assert!(invalid_option(negative_log_likelihood(
        &model, &bad, &prior, &base
    )));
    // Too few steps allowed is a MaxStepsReached, not a panic.
    assert!(matches!(
        run(LikelihoodOptions {
            max_steps: 2,
            ..base.clone()
        }),
        Err(SolveError::MaxStepsReached { .. })
    ));
    // A prior with the wrong number of values is an error.
    let short_prior = |_: &Array2<f64>| vec![0.0];
    assert!(invalid_option(negative_log_likelihood(
        &model,
        &x,
        &short_prior,
        &base
    )));
    // An empty batch gives an empty result.
    let empty = Array2::<f64>::zeros((0, 2));
    let out = negative_log_likelihood(&model, &empty, &prior, &base).unwrap();
    assert!(out.nll.is_empty());
}
