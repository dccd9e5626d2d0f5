//! Exact sampling: moments against the closed form, determinism in the seed.

use scoreflow_score_matching::analytic::GaussianMixture;

/// Checks sample mean and covariance against the exact ones within `z` standard errors,
/// the standard errors themselves estimated from the samples' own second and fourth moments.
fn check_moments(gm: &GaussianMixture, n: usize, seed: u64, z: f64) {
    let d = gm.dim();
    let xs = gm.sample(n, seed);
    assert_eq!(xs.len(), n * d);
    let nf = n as f64;

    // Exact moments from the parameters: μ = Σ wₖμₖ, C = Σ wₖ(Σₖ + μₖμₖᵀ) − μμᵀ.
    let (w, m, s) = (gm.weights(), gm.means(), gm.covs());
    let mu: Vec<f64> = (0..d)
        .map(|i| (0..w.len()).map(|k| w[k] * m[k][i]).sum())
        .collect();
    let cov = |i: usize, j: usize| -> f64 {
        (0..w.len())
            .map(|k| w[k] * (s[k][i][j] + m[k][i] * m[k][j]))
            .sum::<f64>()
            - mu[i] * mu[j]
    };

    let mut mean = vec![0.0; d];
    for x in xs.chunks_exact(d) {
        for i in 0..d {
            mean[i] += x[i] / nf;
        }
    }
    for i in 0..d {
        let se = (cov(i, i) / nf).sqrt();
        assert!(
            (mean[i] - mu[i]).abs() < z * se,
            "mean[{i}] = {} vs {}",
            mean[i],
            mu[i]
        );
    }
    for i in 0..d {
        for j in i..d {
            // Centre on the exact mean so each product is an i.i.d. unbiased estimate of C_ij.
            let prods: Vec<f64> = xs
                .chunks_exact(d)
                .map(|x| (x[i] - mu[i]) * (x[j] - mu[j]))
                .collect();
            let c_hat = prods.iter().sum::<f64>() / nf;
            let var = prods.iter().map(|p| (p - c_hat) * (p - c_hat)).sum::<f64>() / (nf - 1.0);
            let se = (var / nf).sqrt();
            let exact = cov(i, j);
            assert!(
                (c_hat - exact).abs() < z * se,
                "cov[{i}][{j}] = {c_hat} vs {exact} (se {se})"
            );
        }
    }
}

#[test]
fn ring8_sample_moments_match_exact_moments() {
    let gm = GaussianMixture::builtin("ring8").unwrap();
    // Cross-check the documented closed form: mean 0, covariance (0.25 + 4²/2)·I = 8.25·I.
    let c = gm.covariance();
    assert!(gm.mean().iter().all(|m| m.abs() < 1e-14));
    assert!((c[0] - 8.25).abs() < 1e-12 && (c[3] - 8.25).abs() < 1e-12 && c[1].abs() < 1e-12);
    check_moments(&gm, 200_000, 1, 5.0);
}

#[test]
fn gauss16d_sample_moments_match_exact_moments() {
    check_moments(
        &GaussianMixture::builtin("gauss16d").unwrap(),
        100_000,
        2,
        5.5,
    );
}

#[test]
fn component_frequencies_follow_the_weights() {
    // In "gauss16d" the modes are far apart relative to their spread, so each sample's most
    // responsible component identifies its source; the counts must be Binomial(n, wₖ).
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let d = gm.dim();
    let n = 20_000;
    let xs = gm.sample(n, 9);
    let mut counts = [0usize; 3];
    for x in xs.chunks_exact(d) {
        let nearest = (0..3)
            .min_by(|&a, &b| {
                let da: f64 = x
                    .iter()
                    .zip(&gm.means()[a])
                    .map(|(u, v)| (u - v) * (u - v))
                    .sum();
                let db: f64 = x
                    .iter()
                    .zip(&gm.means()[b])
                    .map(|(u, v)| (u - v) * (u - v))
                    .sum();
                da.total_cmp(&db)
            })
            .unwrap();
        counts[nearest] += 1;
    }
    for (k, &c) in counts.iter().enumerate() {
        let w = gm.weights()[k];
        let se = (n as f64 * w * (1.0 - w)).sqrt();
        assert!(
            (c as f64 - n as f64 * w).abs() < 5.0 * se,
            "component {k}: {c} of {n}"
        );
    }
}

#[test]
fn same_seed_same_samples_different_seed_different_samples() {
    let gm = GaussianMixture::builtin("grid25").unwrap();
    let a = gm.sample(1000, 42);
    let b = gm.sample(1000, 42);
    let c = gm.sample(1000, 43);
    assert_eq!(a, b);
    assert!(a.iter().zip(&c).filter(|(x, y)| x != y).count() > 1990);
    // A shorter draw is a prefix of a longer one from the same seed.
    assert_eq!(&gm.sample(10, 42)[..], &a[..20]);
}
