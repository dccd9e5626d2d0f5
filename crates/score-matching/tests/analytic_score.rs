//! Score, denoiser and score divergence against finite differences, Tweedie's formula and
//! the single-Gaussian closed form.

use scoreflow_score_matching::analytic::GaussianMixture;

const H: f64 = 1e-5;

fn skewed_2d() -> GaussianMixture {
    GaussianMixture::new(
        vec![0.2, 0.5, 0.3],
        vec![vec![-1.0, 0.5], vec![2.0, 1.0], vec![0.0, -2.0]],
        vec![
            vec![vec![1.0, 0.3], vec![0.3, 0.5]],
            vec![vec![0.4, -0.1], vec![-0.1, 0.9]],
            vec![vec![2.0, 1.2], vec![1.2, 1.0]],
        ],
    )
    .unwrap()
}

/// Deterministic probe points: a few samples of p₀ pushed off the modes, plus the origin.
fn probes(gm: &GaussianMixture, n: usize) -> Vec<Vec<f64>> {
    let d = gm.dim();
    let mut pts: Vec<Vec<f64>> = gm
        .sample(n, 11)
        .chunks_exact(d)
        .enumerate()
        .map(|(i, x)| x.iter().map(|v| v * (1.0 + 0.1 * i as f64)).collect())
        .collect();
    pts.push(vec![0.0; d]);
    pts
}

fn fd_gradient(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    (0..x.len())
        .map(|i| {
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[i] += H;
            xm[i] -= H;
            (f(&xp) - f(&xm)) / (2.0 * H)
        })
        .collect()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

fn check_score_is_gradient(gm: &GaussianMixture) {
    for sigma in [0.0, 0.1, 0.5, 2.0, 10.0] {
        for x in probes(gm, 6) {
            let mut s = vec![0.0; gm.dim()];
            gm.score(&x, sigma, &mut s);
            let fd = fd_gradient(|y| gm.log_prob(y, sigma), &x);
            let err: Vec<f64> = s.iter().zip(&fd).map(|(a, b)| a - b).collect();
            assert!(
                max_abs(&err) <= 1e-6 * (1.0 + max_abs(&s)),
                "σ={sigma} x={x:?}: score {s:?} vs fd {fd:?}"
            );
        }
    }
}

#[test]
fn score_is_gradient_of_log_prob_2d() {
    check_score_is_gradient(&skewed_2d());
    check_score_is_gradient(&GaussianMixture::builtin("ring8").unwrap());
}

#[test]
fn score_is_gradient_of_log_prob_16d() {
    check_score_is_gradient(&GaussianMixture::builtin("gauss16d").unwrap());
}

#[test]
fn denoiser_satisfies_tweedie() {
    for gm in [
        skewed_2d(),
        GaussianMixture::builtin("grid25").unwrap(),
        GaussianMixture::builtin("gauss16d").unwrap(),
    ] {
        let d = gm.dim();
        for sigma in [0.0, 0.01, 0.3, 1.0, 5.0, 80.0] {
            for x in probes(&gm, 5) {
                let (mut s, mut den) = (vec![0.0; d], vec![0.0; d]);
                gm.score(&x, sigma, &mut s);
                gm.denoise(&x, sigma, &mut den);
                for i in 0..d {
                    let tweedie = x[i] + sigma * sigma * s[i];
                    assert!(
                        (den[i] - tweedie).abs() <= 1e-10 * (1.0 + x[i].abs()),
                        "σ={sigma}: D={} vs x+σ²s={tweedie}",
                        den[i]
                    );
                }
            }
        }
    }
}

#[test]
fn single_isotropic_gaussian_denoiser_is_shrinkage() {
    // x₀ ~ N(μ, s²I), x = x₀ + σε ⇒ E[x₀|x] = (s²x + σ²μ)/(s² + σ²).
    let mu = vec![1.0, -2.0, 0.5];
    let s2 = 0.6;
    let cov = (0..3)
        .map(|i| (0..3).map(|j| if i == j { s2 } else { 0.0 }).collect())
        .collect();
    let gm = GaussianMixture::new(vec![1.0], vec![mu.clone()], vec![cov]).unwrap();
    let mut out = vec![0.0; 3];
    for sigma in [0.0, 0.2, 1.0, 7.0] {
        for x in [[0.0, 0.0, 0.0], [3.0, 1.0, -4.0], [1.0, -2.0, 0.5]] {
            gm.denoise(&x, sigma, &mut out);
            for i in 0..3 {
                let expect = (s2 * x[i] + sigma * sigma * mu[i]) / (s2 + sigma * sigma);
                assert!((out[i] - expect).abs() < 1e-13, "σ={sigma}");
            }
        }
    }
}

#[test]
fn denoiser_limits() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let d = gm.dim();
    let mean = gm.mean();
    let mut out = vec![0.0; d];
    for x in probes(&gm, 3) {
        // σ → 0: nothing to remove.
        gm.denoise(&x, 1e-9, &mut out);
        assert!(
            x.iter()
                .zip(&out)
                .all(|(a, b)| (a - b).abs() < 1e-12 * (1.0 + a.abs()))
        );
        // σ → ∞: the observation carries no information, so D is the prior mean.
        gm.denoise(&x, 1e7, &mut out);
        assert!(mean.iter().zip(&out).all(|(a, b)| (a - b).abs() < 1e-9));
    }
}

#[test]
fn score_divergence_is_trace_of_score_jacobian() {
    for gm in [
        skewed_2d(),
        GaussianMixture::builtin("ring8").unwrap(),
        GaussianMixture::builtin("gauss16d").unwrap(),
    ] {
        let d = gm.dim();
        for sigma in [0.0, 0.2, 1.0, 6.0] {
            for x in probes(&gm, 5) {
                let mut fd = 0.0;
                let (mut sp, mut sm) = (vec![0.0; d], vec![0.0; d]);
                for i in 0..d {
                    let (mut xp, mut xm) = (x.clone(), x.clone());
                    xp[i] += H;
                    xm[i] -= H;
                    gm.score(&xp, sigma, &mut sp);
                    gm.score(&xm, sigma, &mut sm);
                    fd += (sp[i] - sm[i]) / (2.0 * H);
                }
                let div = gm.score_divergence(&x, sigma);
                assert!(
                    (div - fd).abs() <= 1e-5 * (1.0 + div.abs()),
                    "σ={sigma}: {div} vs {fd}"
                );
            }
        }
    }
}

#[test]
fn single_gaussian_score_divergence_is_minus_trace_of_precision() {
    // ln N(x; μ, S) has Hessian −S⁻¹ everywhere; for S = diag(a, b) + σ²I the trace is known.
    let gm = GaussianMixture::new(
        vec![1.0],
        vec![vec![0.3, 0.4]],
        vec![vec![vec![2.0, 0.0], vec![0.0, 0.5]]],
    )
    .unwrap();
    for sigma in [0.0, 1.0] {
        let s2 = sigma * sigma;
        let expect = -(1.0 / (2.0 + s2) + 1.0 / (0.5 + s2));
        for x in [[0.0, 0.0], [5.0, -3.0]] {
            assert!((gm.score_divergence(&x, sigma) - expect).abs() < 1e-14);
        }
    }
}

#[test]
fn batched_methods_equal_pointwise_ones() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let d = gm.dim();
    let xs = gm.sample(7, 5);
    let (mut sb, mut db) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
    gm.score_batch(&xs, 0.8, &mut sb);
    gm.denoise_batch(&xs, 0.8, &mut db);
    let (mut s, mut den) = (vec![0.0; d], vec![0.0; d]);
    for (i, x) in xs.chunks_exact(d).enumerate() {
        gm.score(x, 0.8, &mut s);
        gm.denoise(x, 0.8, &mut den);
        // The batch sums in a different order (matrix products), so equality is to roundoff;
        // tests/analytic_batch.rs checks this in depth.
        for (b, p) in sb[i * d..(i + 1) * d].iter().zip(&s) {
            assert!((b - p).abs() <= 1e-12 * (1.0 + max_abs(&s)));
        }
        for (b, p) in db[i * d..(i + 1) * d].iter().zip(&den) {
            assert!((b - p).abs() <= 1e-12 * (1.0 + max_abs(&den)));
        }
    }
}
