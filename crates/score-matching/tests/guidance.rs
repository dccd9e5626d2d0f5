//! Guidance wrappers against exact answers on a class-conditional Gaussian mixture: each class
//! is its own mixture, the unconditional distribution their weighted union, and every
//! denoiser and score is the oracle's.

use ndarray::Array2;
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};
use scoreflow_score_matching::guidance::{
    ClassifierFree, ClassifierGuidance, PairedDenoiser, SeparatePair,
};

const PRIOR: [f64; 2] = [0.4, 0.6];

fn class(y: usize) -> GaussianMixture {
    let cov = |a: f64, b: f64, c: f64| vec![vec![a, c], vec![c, b]];
    match y {
        0 => GaussianMixture::new(
            vec![0.5, 0.5],
            vec![vec![-3.0, 1.0], vec![-1.0, -2.0]],
            vec![cov(0.3, 0.5, 0.1), cov(0.6, 0.2, -0.05)],
        ),
        _ => GaussianMixture::new(
            vec![0.3, 0.7],
            vec![vec![2.5, 2.0], vec![3.0, -1.5]],
            vec![cov(0.4, 0.4, 0.0), cov(0.25, 0.7, 0.2)],
        ),
    }
    .unwrap()
}

/// The unconditional mixture: every class's components, weights times the class prior.
fn unconditional() -> GaussianMixture {
    let (mut w, mut m, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for (y, p) in PRIOR.iter().enumerate() {
        let g = class(y);
        w.extend(g.weights().iter().map(|v| v * p));
        m.extend(g.means().iter().cloned());
        c.extend(g.covs().iter().cloned());
    }
    GaussianMixture::new(w, m, c).unwrap()
}

fn points() -> Array2<f64> {
    Array2::from_shape_fn((24, 2), |(i, j)| {
        let t = i as f64 * 0.7 + j as f64 * 1.9;
        4.0 * t.sin() + 0.5 * (2.0 * t).cos()
    })
}

fn max_abs(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn cfg_is_the_algebraic_combination_and_w1_is_the_conditional_model() {
    let (c1, all) = (class(1), unconditional());
    let (dc, du) = (MixtureDenoiser::new(&c1), MixtureDenoiser::new(&all));
    let pair = SeparatePair {
        conditional: &dc,
        unconditional: &du,
    };
    let x = points();
    for sigma in [0.05, 0.7, 3.0, 40.0] {
        let (c, u) = pair.denoise_pair(&x, sigma).unwrap();
        for w in [0.0, 1.0, 2.5, 7.5] {
            let cfg = ClassifierFree {
                model: &pair,
                scale: w,
                rescale: None,
                interval: None,
            };
            let got = cfg.denoise(&x, sigma).unwrap();
            let want = &u + &((&c - &u) * w);
            assert!(max_abs(&got, &want) < 1e-12, "w = {w}, σ = {sigma}");
            if w == 1.0 {
                assert!(max_abs(&got, &c) < 1e-12);
            }
        }
    }
}

/// Lin et al. 2024's rescale written out on ε = (x − D)/σ with per-sample unbiased standard
/// deviations, and the interval's edges: guided for σ_lo < σ ≤ σ_hi, conditional elsewhere.
#[test]
fn rescale_and_interval_follow_their_formulas() {
    let (c0, all) = (class(0), unconditional());
    let (dc, du) = (MixtureDenoiser::new(&c0), MixtureDenoiser::new(&all));
    let pair = SeparatePair {
        conditional: &dc,
        unconditional: &du,
    };
    let x = points();
    let std = |row: &[f64]| {
        let m = row.iter().sum::<f64>() / row.len() as f64;
        (row.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (row.len() - 1) as f64).sqrt()
    };
    for sigma in [0.3, 2.0, 9.0] {
        for (w, phi) in [(3.0, 0.7), (5.0, 1.0), (2.0, 0.0)] {
            let cfg = ClassifierFree {
                model: &pair,
                scale: w,
                rescale: Some(phi),
                interval: None,
            };
            let got = cfg.denoise(&x, sigma).unwrap();
            let (c, u) = pair.denoise_pair(&x, sigma).unwrap();
            let eps_c = (&x - &c) / sigma;
            let eps_u = (&x - &u) / sigma;
            let eps_g = &eps_u + &((&eps_c - &eps_u) * w);
            let mut want = x.clone();
            for i in 0..x.nrows() {
                let (rc, rg) = (eps_c.row(i).to_vec(), eps_g.row(i).to_vec());
                let rescaled: Vec<f64> = rg.iter().map(|v| v * std(&rc) / std(&rg)).collect();
                for j in 0..2 {
                    let e = phi * rescaled[j] + (1.0 - phi) * rg[j];
                    want[[i, j]] = x[[i, j]] - sigma * e;
                }
            }
            assert!(
                max_abs(&got, &want) < 1e-10,
                "σ = {sigma}, w = {w}, φ = {phi}"
            );
        }
    }
    let (lo, hi) = (0.5, 4.0);
    let cfg = ClassifierFree {
        model: &pair,
        scale: 3.0,
        rescale: None,
        interval: Some((lo, hi)),
    };
    for (sigma, guided) in [
        (0.4, false),
        (lo, false),
        (0.5000001, true),
        (2.0, true),
        (hi, true),
        (4.0000001, false),
    ] {
        let (c, u) = pair.denoise_pair(&x, sigma).unwrap();
        let want = if guided { &u + &((&c - &u) * 3.0) } else { c };
        assert!(
            max_abs(&cfg.denoise(&x, sigma).unwrap(), &want) < 1e-12,
            "σ = {sigma}: guided should be {guided}"
        );
    }
}

/// With the exact classifier ∇ ln p(y | x; σ) = ∇ ln p_σ(x | y) − ∇ ln p_σ(x), classifier
/// guidance at scale 1 is the exact conditional denoiser.
#[test]
fn classifier_guidance_at_scale_one_is_the_conditional_denoiser() {
    let all = unconditional();
    let du = MixtureDenoiser::new(&all);
    let x = points();
    for y in 0..2 {
        let cy = class(y);
        let grad = |x: &Array2<f64>, sigma: f64| {
            let mut out = Array2::zeros(x.raw_dim());
            let (mut sc, mut su) = (vec![0.0; 2], vec![0.0; 2]);
            for (i, row) in x.rows().into_iter().enumerate() {
                let row = row.to_vec();
                cy.score(&row, sigma, &mut sc);
                all.score(&row, sigma, &mut su);
                out[[i, 0]] = sc[0] - su[0];
                out[[i, 1]] = sc[1] - su[1];
            }
            out
        };
        let guided = ClassifierGuidance {
            denoiser: &du,
            classifier: &grad,
            scale: 1.0,
        };
        let exact = MixtureDenoiser::new(&cy);
        for sigma in [0.05, 0.5, 2.0, 20.0] {
            let got = guided.denoise(&x, sigma).unwrap();
            let want = exact.denoise(&x, sigma).unwrap();
            let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            assert!(
                max_abs(&got, &want) < 1e-10 * scale,
                "class {y}, σ = {sigma}: {}",
                max_abs(&got, &want)
            );
        }
    }
}
