//! The batched fast path (two matrix products per block over the stacked eigenbases) against
//! the single-point methods, which keep the original per-point math: streaming log-sum-exp
//! and one projection Qₖᵀ(x − aμₖ) per component per point. Equal up to the order of
//! floating-point sums, i.e. to ~1e-12 relative, on random full-covariance mixtures in
//! d = 2, 16 and 64, over noise levels from σ = 0 to 80 and CondOT times t ∈ [0, 1], at points
//! from the bulk out to the far tails; and bit-identical for every thread count. The same holds
//! where the back-projections leave out the terms below roundoff (well-separated mixtures at
//! small σ), including exact ties between two components, and for the fused denoiser and
//! Hessian–vector products.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureError};

/// Agreement demanded of batch against single-point results, relative to the scale of the
/// quantity (see [`assert_close`]).
const REL: f64 = 1e-12;

const SIGMAS: [f64; 6] = [0.0, 0.01, 0.3, 1.0, 5.0, 80.0];
const TIMES: [f64; 6] = [0.0, 0.02, 0.4, 0.8, 0.999, 1.0];

/// K components in d dimensions: weights ∝ 0.5 + U(0, 1), means U(−3, 3)ᵈ, and full
/// covariances Σ = BBᵀ/d + 0.05·I with B standard normal, so the eigenvalues spread over two
/// orders of magnitude and no covariance is aligned with the axes or with another.
fn random_mixture(d: usize, k: usize, seed: u64) -> GaussianMixture {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let raw: Vec<f64> = (0..k).map(|_| 0.5 + rng.random::<f64>()).collect();
    let total: f64 = raw.iter().sum();
    let weights = raw.iter().map(|w| w / total).collect();
    let means = (0..k)
        .map(|_| (0..d).map(|_| 6.0 * rng.random::<f64>() - 3.0).collect())
        .collect();
    let covs = (0..k)
        .map(|_| {
            let b: Vec<f64> = (0..d * d).map(|_| rng.sample(StandardNormal)).collect();
            (0..d)
                .map(|i| {
                    (0..d)
                        .map(|j| {
                            let bbt: f64 = (0..d).map(|l| b[i * d + l] * b[j * d + l]).sum();
                            bbt / d as f64 + if i == j { 0.05 } else { 0.0 }
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    GaussianMixture::new(weights, means, covs).unwrap()
}

/// n points: exact samples of p₀ plus `noise`·N(0, I), every fifth one pushed 8× further out
/// so that the far tails, where one component's responsibility dominates by e^{-hundreds},
/// are exercised too.
fn points(gm: &GaussianMixture, n: usize, noise: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = gm.dim();
    let mut xs = gm.sample(n, seed);
    for (i, x) in xs.chunks_exact_mut(d).enumerate() {
        let far = if i % 5 == 4 { 8.0 } else { 1.0 };
        for v in x.iter_mut() {
            let e: f64 = rng.sample(StandardNormal);
            *v = far * (*v + noise * e);
        }
    }
    xs
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// |batch − single| ≤ REL · scale, per point.
fn assert_close(what: &str, batch: &[f64], single: &[f64], scale: f64) {
    let err = norm(
        &batch
            .iter()
            .zip(single)
            .map(|(a, b)| a - b)
            .collect::<Vec<_>>(),
    );
    assert!(
        err <= REL * scale,
        "{what}: batch {batch:?} vs single-point {single:?} (error {err:e}, scale {scale:e})"
    );
}

/// A vector output's scale: its norm, or the norm of the input when that is larger (a
/// denoiser output near 0 is still a combination of terms of the size of x).
fn vector_scale(x: &[f64], out: &[f64]) -> f64 {
    1.0 + norm(x).max(norm(out))
}

fn mixtures() -> Vec<GaussianMixture> {
    vec![
        random_mixture(2, 7, 1),
        random_mixture(16, 5, 2),
        random_mixture(64, 4, 3),
    ]
}

#[test]
fn denoise_and_score_batches_equal_single_point_math() {
    for gm in mixtures() {
        let d = gm.dim();
        for sigma in SIGMAS {
            let xs = points(&gm, 40, sigma, 10);
            let (mut den, mut sc) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
            gm.denoise_batch(&xs, sigma, &mut den);
            gm.score_batch(&xs, sigma, &mut sc);
            let (mut one_d, mut one_s) = (vec![0.0; d], vec![0.0; d]);
            for (i, x) in xs.chunks_exact(d).enumerate() {
                let rows = i * d..(i + 1) * d;
                gm.denoise(x, sigma, &mut one_d);
                gm.score(x, sigma, &mut one_s);
                let what = format!("d = {d}, σ = {sigma}, point {i}");
                assert_close(
                    &format!("denoise {what}"),
                    &den[rows.clone()],
                    &one_d,
                    vector_scale(x, &one_d),
                );
                // The score's terms are (μₖ − x)/c, of size |x|/c; with σ² they are Tweedie's
                // σ²·score = D − x, so the scale is that of D and x over σ².
                let s2 = sigma * sigma;
                let scale = norm(&one_s).max(vector_scale(x, &one_d) / s2.max(0.05));
                assert_close(&format!("score {what}"), &sc[rows], &one_s, 1.0 + scale);
            }
        }
    }
}

#[test]
fn condot_velocity_batch_equals_single_point_math() {
    for gm in mixtures() {
        let d = gm.dim();
        for t in TIMES {
            let xs = points(&gm, 40, 1.0 - t, 11);
            let mut u = vec![0.0; xs.len()];
            gm.condot_velocity_batch(&xs, t, &mut u);
            let mut one = vec![0.0; d];
            for (i, x) in xs.chunks_exact(d).enumerate() {
                gm.condot_velocity(x, t, &mut one);
                assert_close(
                    &format!("velocity d = {d}, t = {t}, point {i}"),
                    &u[i * d..(i + 1) * d],
                    &one,
                    vector_scale(x, &one),
                );
            }
        }
    }
}

#[test]
fn log_density_batches_equal_single_point_math() {
    for gm in mixtures() {
        let d = gm.dim();
        for (sigma, t) in SIGMAS.into_iter().zip(TIMES) {
            let xs = points(&gm, 40, sigma, 12);
            let (mut lp, mut lt) = (vec![0.0; 40], vec![0.0; 40]);
            gm.log_prob_batch(&xs, sigma, &mut lp);
            gm.condot_log_prob_batch(&xs, t, &mut lt);
            for (i, x) in xs.chunks_exact(d).enumerate() {
                let (p, q) = (gm.log_prob(x, sigma), gm.condot_log_prob(x, t));
                assert_close(
                    &format!("log_prob d = {d} σ = {sigma}"),
                    &[lp[i]],
                    &[p],
                    1.0 + p.abs(),
                );
                assert_close(
                    &format!("condot_log_prob d = {d} t = {t}"),
                    &[lt[i]],
                    &[q],
                    1.0 + q.abs(),
                );
            }
        }
    }
}

#[test]
fn divergence_and_hvp_batches_equal_single_point_math() {
    for gm in mixtures() {
        let d = gm.dim();
        for (sigma, t) in SIGMAS.into_iter().zip(TIMES) {
            let xs = points(&gm, 40, sigma, 13);
            let vs = points(&gm, 40, 1.0, 14);
            let (mut div, mut div_t) = (vec![0.0; 40], vec![0.0; 40]);
            let mut hv = vec![0.0; xs.len()];
            gm.score_divergence_batch(&xs, sigma, &mut div);
            gm.condot_velocity_divergence_batch(&xs, t, &mut div_t);
            gm.log_prob_hvp_batch(&xs, sigma, &vs, &mut hv);
            let (mut s, mut one_hv) = (vec![0.0; d], vec![0.0; d]);
            for (i, (x, v)) in xs.chunks_exact(d).zip(vs.chunks_exact(d)).enumerate() {
                let what = format!("d = {d}, σ = {sigma}, t = {t}, point {i}");
                // Both divergences are E[quadratic] − |mean|², which cancel: the scale is
                // that of the terms, |score|² (resp. |u|·|h|) plus the trace d/c_min.
                gm.score(x, sigma, &mut s);
                let one = gm.score_divergence(x, sigma);
                let scale = 1.0 + one.abs() + norm(&s).powi(2) + d as f64 / (0.05 + sigma * sigma);
                assert_close(
                    &format!("score divergence {what}"),
                    &[div[i]],
                    &[one],
                    scale,
                );
                let one_t = gm.condot_velocity_divergence(x, t);
                let mut u = vec![0.0; d];
                gm.condot_velocity(x, t, &mut u);
                let c_min = (t * t * 0.05 + (1.0 - t) * (1.0 - t)).max(1e-3);
                let scale_t =
                    1.0 + one_t.abs() + (norm(&u) + norm(x)) * norm(x) / c_min + d as f64 / c_min;
                assert_close(
                    &format!("velocity divergence {what}"),
                    &[div_t[i]],
                    &[one_t],
                    scale_t,
                );
                gm.log_prob_hvp(x, sigma, v, &mut one_hv);
                let scale_h =
                    (1.0 + norm(&s).powi(2) + 1.0 / (0.05 + sigma * sigma)) * (1.0 + norm(v));
                assert_close(
                    &format!("hvp {what}"),
                    &hv[i * d..(i + 1) * d],
                    &one_hv,
                    scale_h,
                );
            }
        }
    }
}

#[test]
fn batches_are_bit_identical_for_every_thread_count() {
    for gm in mixtures() {
        let d = gm.dim();
        // Enough rows for several blocks, and a last block that is not full.
        let n = 1_537;
        let xs = points(&gm, n, 0.7, 15);
        let run = |g: &GaussianMixture| {
            let mut den = vec![0.0; n * d];
            let mut u = vec![0.0; n * d];
            let mut div = vec![0.0; n];
            let mut hv = vec![0.0; n * d];
            g.denoise_batch(&xs, 0.7, &mut den);
            g.condot_velocity_batch(&xs, 0.6, &mut u);
            g.score_divergence_batch(&xs, 0.7, &mut div);
            g.log_prob_hvp_batch(&xs, 0.7, &xs, &mut hv);
            let mut fused = vec![0.0; n * d];
            let mut fused_hv = vec![0.0; n * d];
            g.denoise_and_hvp_batch(&xs, 0.7, &[&xs], &mut fused, &mut [&mut fused_hv]);
            (den, u, div, hv, fused, fused_hv)
        };
        let one = run(&gm);
        for threads in [2, 3] {
            let many = gm.clone().with_threads(threads).unwrap();
            assert_eq!(many.threads(), threads);
            assert!(
                run(&many) == one,
                "d = {d}: {threads} threads differ from 1"
            );
        }
    }
}

#[test]
fn zero_threads_is_an_error() {
    let gm = random_mixture(2, 2, 4);
    assert_eq!(gm.threads(), 1);
    assert!(matches!(
        gm.with_threads(0),
        Err(MixtureError::Threads { threads: 0, .. })
    ));
}

#[test]
fn empty_batches_are_empty() {
    let gm = random_mixture(3, 2, 5);
    let mut out: Vec<f64> = vec![];
    gm.denoise_batch(&[], 1.0, &mut out);
    gm.score_divergence_batch(&[], 1.0, &mut out);
    assert!(out.is_empty());
}

/// P = 3 direction batches per call.
const DIRECTIONS: usize = 3;

#[test]
fn fused_denoise_and_hvp_equals_single_point_math() {
    for gm in mixtures() {
        let d = gm.dim();
        for sigma in SIGMAS {
            let xs = points(&gm, 40, sigma, 16);
            let vs: Vec<Vec<f64>> = (0..DIRECTIONS)
                .map(|p| points(&gm, 40, 1.0, 17 + p as u64))
                .collect();
            let views: Vec<&[f64]> = vs.iter().map(Vec::as_slice).collect();
            let mut den = vec![0.0; xs.len()];
            let mut hv = vec![vec![0.0; xs.len()]; DIRECTIONS];
            let mut outs: Vec<&mut [f64]> = hv.iter_mut().map(Vec::as_mut_slice).collect();
            gm.denoise_and_hvp_batch(&xs, sigma, &views, &mut den, &mut outs);
            let (mut s, mut one_d, mut one_hv) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
            for (i, x) in xs.chunks_exact(d).enumerate() {
                let rows = i * d..(i + 1) * d;
                let what = format!("d = {d}, σ = {sigma}, point {i}");
                gm.denoise(x, sigma, &mut one_d);
                assert_close(
                    &format!("fused denoise {what}"),
                    &den[rows.clone()],
                    &one_d,
                    vector_scale(x, &one_d),
                );
                gm.score(x, sigma, &mut s);
                for (p, v) in vs.iter().enumerate() {
                    let v = &v[rows.clone()];
                    gm.log_prob_hvp(x, sigma, v, &mut one_hv);
                    let scale_h =
                        (1.0 + norm(&s).powi(2) + 1.0 / (0.05 + sigma * sigma)) * (1.0 + norm(v));
                    assert_close(
                        &format!("fused hvp {p} {what}"),
                        &hv[p][rows.clone()],
                        &one_hv,
                        scale_h,
                    );
                }
            }
        }
    }
}

#[test]
fn fused_call_without_directions_is_the_denoiser() {
    let gm = random_mixture(16, 5, 18);
    let xs = points(&gm, 300, 0.5, 19);
    let mut den = vec![0.0; xs.len()];
    gm.denoise_and_hvp_batch(&xs, 0.5, &[], &mut den, &mut []);
    let mut one = vec![0.0; 16];
    for (i, x) in xs.chunks_exact(16).enumerate() {
        gm.denoise(x, 0.5, &mut one);
        assert_close(
            &format!("point {i}"),
            &den[i * 16..(i + 1) * 16],
            &one,
            vector_scale(x, &one),
        );
    }
}

/// K components in d dimensions whose means are far apart (U(−6, 6)ᵈ), so that at small σ
/// each point has one component above roundoff and the back-projections skip the others;
/// components 0 and 1 share weight and covariance, so on the bisector of their means the two
/// responsibilities tie exactly and both terms must stay.
fn separated_mixture(d: usize, k: usize, seed: u64) -> GaussianMixture {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights: Vec<f64> = (0..k).map(|_| 0.5 + rng.random::<f64>()).collect();
    weights[1] = weights[0];
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= total);
    let means = (0..k)
        .map(|_| (0..d).map(|_| 12.0 * rng.random::<f64>() - 6.0).collect())
        .collect();
    let mut covs: Vec<Vec<Vec<f64>>> = (0..k)
        .map(|_| {
            let b: Vec<f64> = (0..d * d).map(|_| rng.sample(StandardNormal)).collect();
            (0..d)
                .map(|i| {
                    (0..d)
                        .map(|j| {
                            let bbt: f64 = (0..d).map(|l| b[i * d + l] * b[j * d + l]).sum();
                            bbt / d as f64 + if i == j { 0.05 } else { 0.0 }
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    covs[1] = covs[0].clone();
    GaussianMixture::new(weights, means, covs).unwrap()
}

/// Points of four kinds, in turn: samples of p₀ plus σ-sized noise (one component dominant
/// at small σ), far-tail points (8× out), exact midpoints of μ₀ and μ₁ (a tie: two equal
/// responsibilities), and the mean of all the means (several components comparable at
/// larger σ). Enough of them for several blocks, each mixing the kinds.
fn mixed_points(gm: &GaussianMixture, n: usize, sigma: f64, seed: u64) -> Vec<f64> {
    let d = gm.dim();
    let means = gm.means();
    let mut xs = points(gm, n, sigma, seed);
    for (i, x) in xs.chunks_exact_mut(d).enumerate() {
        match i % 8 {
            2 => {
                for (j, v) in x.iter_mut().enumerate() {
                    *v = 0.5 * (means[0][j] + means[1][j]);
                }
            }
            6 => {
                for (j, v) in x.iter_mut().enumerate() {
                    *v = means.iter().map(|m| m[j]).sum::<f64>() / means.len() as f64;
                }
            }
            _ => {}
        }
    }
    xs
}

#[test]
fn skipped_back_projection_terms_keep_single_point_accuracy() {
    for gm in [separated_mixture(32, 6, 20), separated_mixture(64, 5, 21)] {
        let d = gm.dim();
        for sigma in [0.0, 1e-3, 0.01, 0.1, 1.0, 3.0, 80.0] {
            let n = 1_100;
            let xs = mixed_points(&gm, n, sigma, 22);
            let vs = points(&gm, n, 1.0, 23);
            let t = 1.0 / (1.0 + sigma);
            let (mut den, mut sc, mut u, mut hv) = (
                vec![0.0; n * d],
                vec![0.0; n * d],
                vec![0.0; n * d],
                vec![0.0; n * d],
            );
            let (mut div, mut div_t) = (vec![0.0; n], vec![0.0; n]);
            gm.denoise_batch(&xs, sigma, &mut den);
            gm.score_batch(&xs, sigma, &mut sc);
            gm.condot_velocity_batch(&xs, t, &mut u);
            gm.log_prob_hvp_batch(&xs, sigma, &vs, &mut hv);
            gm.score_divergence_batch(&xs, sigma, &mut div);
            gm.condot_velocity_divergence_batch(&xs, t, &mut div_t);
            let mut one = vec![0.0; d];
            let mut s = vec![0.0; d];
            for (i, (x, v)) in xs.chunks_exact(d).zip(vs.chunks_exact(d)).enumerate() {
                let rows = i * d..(i + 1) * d;
                let what = format!("d = {d}, σ = {sigma}, point {i} (kind {})", i % 8);
                gm.denoise(x, sigma, &mut one);
                let scale_d = vector_scale(x, &one);
                assert_close(
                    &format!("denoise {what}"),
                    &den[rows.clone()],
                    &one,
                    scale_d,
                );
                gm.score(x, sigma, &mut s);
                let s2 = sigma * sigma;
                let scale_s = 1.0 + norm(&s).max(scale_d / s2.max(0.05));
                assert_close(&format!("score {what}"), &sc[rows.clone()], &s, scale_s);
                gm.condot_velocity(x, t, &mut one);
                let c_min = (t * t * 0.05 + (1.0 - t) * (1.0 - t)).max(1e-3);
                // The velocity's terms differ by up to |x|·|gain|, and its responsibilities
                // carry the logits' rounding, ε·|x − tμ|²/c: relative 2e-12 for the far
                // points at t = 0.25 on this spread of means, dense product or not. The scale
                // takes both into account.
                let logit_rounding = f64::EPSILON * norm(x).powi(2) / c_min / REL;
                let scale_u = vector_scale(x, &one) * (1.0 + logit_rounding);
                assert_close(&format!("velocity {what}"), &u[rows.clone()], &one, scale_u);
                let scale_t = 1.0
                    + gm.condot_velocity_divergence(x, t).abs()
                    + (norm(&one) + norm(x)) * norm(x) / c_min
                    + d as f64 / c_min;
                assert_close(
                    &format!("velocity divergence {what}"),
                    &[div_t[i]],
                    &[gm.condot_velocity_divergence(x, t)],
                    scale_t,
                );
                let exact_div = gm.score_divergence(x, sigma);
                let scale_div = 1.0 + exact_div.abs() + norm(&s).powi(2) + d as f64 / (0.05 + s2);
                assert_close(
                    &format!("score divergence {what}"),
                    &[div[i]],
                    &[exact_div],
                    scale_div,
                );
                gm.log_prob_hvp(x, sigma, v, &mut one);
                let scale_h = (1.0 + norm(&s).powi(2) + 1.0 / (0.05 + s2)) * (1.0 + norm(v));
                assert_close(&format!("hvp {what}"), &hv[rows], &one, scale_h);
            }
        }
    }
}
