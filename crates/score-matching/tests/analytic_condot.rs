//! The exact CondOT velocity: continuity equation, single-Gaussian closed form, its relation
//! to the EDM denoiser, endpoints and divergence.

use scoreflow_score_matching::analytic::GaussianMixture;

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

#[test]
fn velocity_satisfies_continuity_equation() {
    // ∂ₜp_t + ∇·(p_t u_t) = 0, every derivative by central differences.
    let h = 1e-5;
    for gm in [skewed_2d(), GaussianMixture::builtin("ring8").unwrap()] {
        let p = |x: &[f64], t: f64| gm.condot_log_prob(x, t).exp();
        let flux = |x: &[f64], t: f64, i: usize| {
            let mut u = [0.0; 2];
            gm.condot_velocity(x, t, &mut u);
            p(x, t) * u[i]
        };
        for t in [0.2, 0.5, 0.8, 0.95] {
            for (k, offset) in [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]].iter().enumerate() {
                // Follow a mode as it moves out from the origin so p is not negligible.
                let mu = &gm.means()[k];
                let x = [mu[0] * t + offset[0], mu[1] * t + offset[1]];
                let dp_dt = (p(&x, t + h) - p(&x, t - h)) / (2.0 * h);
                let mut div = 0.0;
                let mut scale = dp_dt.abs();
                for i in 0..2 {
                    let (mut xp, mut xm) = (x, x);
                    xp[i] += h;
                    xm[i] -= h;
                    let term = (flux(&xp, t, i) - flux(&xm, t, i)) / (2.0 * h);
                    scale = scale.max(term.abs());
                    div += term;
                }
                assert!(scale > 1e-4, "probe point carries no mass");
                let residual = dp_dt + div;
                assert!(
                    residual.abs() <= 1e-5 * scale,
                    "t={t} x={x:?}: ∂p/∂t={dp_dt} ∇·(pu)={div}"
                );
            }
        }
    }
}

#[test]
fn single_isotropic_gaussian_velocity_closed_form() {
    // x₁ ~ N(μ, s²I), x₀ ~ N(0, I) independent, x_t = t x₁ + (1 − t)x₀. Then (x₁ − x₀, x_t) is
    // jointly Gaussian with E[x_t] = tμ, Var x_t = (t²s² + (1 − t)²)I and
    // Cov(x₁ − x₀, x_t) = t·Var x₁ − (1 − t)·Var x₀ = (ts² − (1 − t))I, so Gaussian conditioning
    // gives u_t(x) = μ + (ts² − (1 − t))/(t²s² + (1 − t)²)·(x − tμ).
    let mu = [1.5, -0.5, 2.0];
    let s2 = 0.3;
    let cov = (0..3)
        .map(|i| (0..3).map(|j| if i == j { s2 } else { 0.0 }).collect())
        .collect();
    let gm = GaussianMixture::new(vec![1.0], vec![mu.to_vec()], vec![cov]).unwrap();
    let mut u = [0.0; 3];
    for t in [0.0, 0.1, 0.5, 0.77, 0.99, 1.0] {
        let coef = (t * s2 - (1.0 - t)) / (t * t * s2 + (1.0 - t) * (1.0 - t));
        for x in [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [-4.0, 0.5, 1.0]] {
            gm.condot_velocity(&x, t, &mut u);
            for i in 0..3 {
                let expect = mu[i] + coef * (x[i] - t * mu[i]);
                assert!(
                    (u[i] - expect).abs() < 1e-13 * (1.0 + expect.abs()),
                    "t={t}"
                );
            }
        }
    }
}

#[test]
fn velocity_equals_rescaled_edm_denoiser() {
    // x_t/t = x₁ + σε with σ = (1 − t)/t, so E[x₁|x_t = x] = D(x/t; σ) and
    // u_t(x) = (E[x₁|x_t = x] − x)/(1 − t): two independent code paths must agree.
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let d = gm.dim();
    let xs = gm.sample(4, 21);
    let (mut u, mut den) = (vec![0.0; d], vec![0.0; d]);
    for t in [0.05, 0.3, 0.6, 0.9] {
        let sigma = (1.0 - t) / t;
        for x1 in xs.chunks_exact(d) {
            let x: Vec<f64> = x1
                .iter()
                .enumerate()
                .map(|(i, v)| t * v + (1.0 - t) * (0.3 * i as f64 - 2.0))
                .collect();
            let y: Vec<f64> = x.iter().map(|v| v / t).collect();
            gm.condot_velocity(&x, t, &mut u);
            gm.denoise(&y, sigma, &mut den);
            for i in 0..d {
                let expect = (den[i] - x[i]) / (1.0 - t);
                assert!(
                    (u[i] - expect).abs() < 1e-9 * (1.0 + expect.abs()),
                    "t={t}: {} vs {expect}",
                    u[i]
                );
            }
        }
    }
}

#[test]
fn velocity_endpoints() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let d = gm.dim();
    let mean = gm.mean();
    let mut u = vec![0.0; d];
    for x in gm.sample(3, 8).chunks_exact(d) {
        // t = 0: x_0 = x₀ is independent of x₁, so u₀(x) = E[x₁] − x.
        gm.condot_velocity(x, 0.0, &mut u);
        for i in 0..d {
            assert!((u[i] - (mean[i] - x[i])).abs() < 1e-12);
        }
        // t = 1: x_1 = x₁ and E[x₀] = 0, so u₁(x) = x.
        gm.condot_velocity(x, 1.0, &mut u);
        for i in 0..d {
            assert!((u[i] - x[i]).abs() < 1e-12 * (1.0 + x[i].abs()));
        }
    }
}

#[test]
fn velocity_divergence_matches_finite_differences() {
    let h = 1e-5;
    for gm in [skewed_2d(), GaussianMixture::builtin("gauss16d").unwrap()] {
        let d = gm.dim();
        let (mut up, mut um) = (vec![0.0; d], vec![0.0; d]);
        for t in [0.0, 0.25, 0.6, 0.9, 1.0] {
            for x in gm.sample(4, 2).chunks_exact(d) {
                let x: Vec<f64> = x.iter().map(|v| v * t + 0.2).collect();
                let mut fd = 0.0;
                for i in 0..d {
                    let (mut xp, mut xm) = (x.clone(), x.clone());
                    xp[i] += h;
                    xm[i] -= h;
                    gm.condot_velocity(&xp, t, &mut up);
                    gm.condot_velocity(&xm, t, &mut um);
                    fd += (up[i] - um[i]) / (2.0 * h);
                }
                let div = gm.condot_velocity_divergence(&x, t);
                assert!(
                    (div - fd).abs() <= 1e-5 * (1.0 + div.abs()),
                    "t={t}: {div} vs {fd}"
                );
            }
        }
    }
}

#[test]
fn velocity_batch_equals_pointwise() {
    let gm = GaussianMixture::builtin("grid25").unwrap();
    let xs = gm.sample(9, 4);
    let mut ub = vec![0.0; xs.len()];
    gm.condot_velocity_batch(&xs, 0.4, &mut ub);
    let mut u = [0.0; 2];
    for (i, x) in xs.chunks_exact(2).enumerate() {
        gm.condot_velocity(x, 0.4, &mut u);
        // Equal to roundoff: the batch sums in matrix-product order (tests/analytic_batch.rs).
        for (b, p) in ub[2 * i..2 * i + 2].iter().zip(&u) {
            assert!((b - p).abs() <= 1e-12 * (1.0 + p.abs()));
        }
    }
}
