//! Feynman–Kac correctors on exact targets: closed-form products and powers, systematic
//! resampling, annealed Gaussians (moments and unbiased normalising constants).

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::GaussianNoise;
use scoreflow_ode_sde_solvers::smc::{
    FkcNoise, FkcOptions, annealed, effective_sample_size, fkc_sample, log_sum_exp,
    systematic_resample,
};
use scoreflow_ode_sde_solvers::{Denoiser, SolveError};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser, MixtureError};

fn gaussian_2d() -> GaussianMixture {
    GaussianMixture::new(
        vec![1.0],
        vec![vec![1.0, -2.0]],
        vec![vec![vec![2.0, 0.6], vec![0.6, 0.5]]],
    )
    .unwrap()
}

fn two_mixtures() -> (GaussianMixture, GaussianMixture) {
    let a = GaussianMixture::new(
        vec![0.3, 0.7],
        vec![vec![-1.0, 0.5], vec![2.0, 1.0]],
        vec![
            vec![vec![1.0, 0.3], vec![0.3, 0.8]],
            vec![vec![0.5, -0.1], vec![-0.1, 1.5]],
        ],
    )
    .unwrap();
    let b = GaussianMixture::new(
        vec![0.6, 0.4],
        vec![vec![0.0, 0.0], vec![1.5, -1.0]],
        vec![
            vec![vec![2.0, 0.0], vec![0.0, 2.0]],
            vec![vec![0.7, 0.2], vec![0.2, 0.4]],
        ],
    )
    .unwrap();
    (a, b)
}

#[test]
fn the_product_mixture_is_proportional_to_the_product_of_densities() {
    let (a, b) = two_mixtures();
    let p = a.product(&b).unwrap();
    assert_eq!(p.n_components(), 4);
    let points = [[0.0, 0.0], [1.3, -0.4], [-2.0, 3.0], [4.0, 1.0]];
    let offsets: Vec<f64> = points
        .iter()
        .map(|x| p.log_prob(x, 0.0) - a.log_prob(x, 0.0) - b.log_prob(x, 0.0))
        .collect();
    for o in &offsets {
        assert!((o - offsets[0]).abs() < 1e-10, "{offsets:?}");
    }
}

#[test]
fn the_gaussian_power_and_its_normaliser_match_quadrature() {
    let g = GaussianMixture::new(vec![1.0], vec![vec![0.5]], vec![vec![vec![1.7]]]).unwrap();
    for beta in [0.4, 1.0, 2.5] {
        let p = g.gaussian_power(beta).unwrap();
        let offsets: Vec<f64> = [-1.0, 0.3, 2.0]
            .iter()
            .map(|&x| p.log_prob(&[x], 0.0) - beta * g.log_prob(&[x], 0.0))
            .collect();
        assert!((offsets[0] - offsets[1]).abs() < 1e-12 && (offsets[0] - offsets[2]).abs() < 1e-12);
        // Z_β(σ) by the trapezoidal rule on [−30, 30].
        let sigma = 0.8;
        let h = 1e-3;
        let z: f64 = (0..60_000)
            .map(|i| (beta * g.log_prob(&[-30.0 + i as f64 * h], sigma)).exp() * h)
            .sum();
        let exact = g.gaussian_power_log_normaliser(beta, sigma).unwrap();
        assert!(
            (z.ln() - exact).abs() < 1e-9,
            "β = {beta}: {} vs {exact}",
            z.ln()
        );
    }
    assert!(matches!(
        g.gaussian_power(0.0),
        Err(MixtureError::InvalidExponent { .. })
    ));
    assert!(matches!(
        two_mixtures().0.gaussian_power(2.0),
        Err(MixtureError::NotGaussian { components: 2 })
    ));
}

#[test]
fn ess_and_log_sum_exp_are_stable_and_exact() {
    assert!((effective_sample_size(&[3.0; 10]) - 10.0).abs() < 1e-12);
    assert!(
        (effective_sample_size(&[0.0, f64::NEG_INFINITY, f64::NEG_INFINITY]) - 1.0).abs() < 1e-12
    );
    // Weights e^1000 and e^1001: (1 + e)²/(1 + e²), far beyond f64's exp range.
    let e = std::f64::consts::E;
    let ess = effective_sample_size(&[1000.0, 1001.0]);
    assert!((ess - (1.0 + e).powi(2) / (1.0 + e * e)).abs() < 1e-12);
    assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
}

#[test]
fn systematic_resampling_copies_each_particle_k_w_times_in_expectation() {
    let log_w = [0.1f64.ln(), 0.25f64.ln(), 0.05f64.ln(), 0.6f64.ln()];
    let k = log_w.len();
    // Averaging over a fine uniform grid of u integrates E_u[copies] exactly up to O(1/J).
    let j = 100_000;
    let mut counts = [0usize; 4];
    for t in 0..j {
        let ancestors = systematic_resample(&log_w, (t as f64 + 0.5) / j as f64);
        assert_eq!(ancestors.len(), k);
        let mut per = [0usize; 4];
        for a in ancestors {
            per[a] += 1;
        }
        for i in 0..k {
            let expected = k as f64 * log_w[i].exp();
            // Systematic resampling copies ⌊KW⌋ or ⌈KW⌉ times.
            assert!(per[i] as f64 >= expected.floor() && per[i] as f64 <= expected.ceil());
            counts[i] += per[i];
        }
    }
    for i in 0..k {
        let mean = counts[i] as f64 / j as f64;
        assert!(
            (mean - k as f64 * log_w[i].exp()).abs() < 1e-4,
            "{i}: {mean}"
        );
    }
}

/// Exact draws of ρ_σ₀ = N(μ, (Σ + σ₀²I)/β), the annealed start.
fn annealed_start(g: &GaussianMixture, beta: f64, sigma0: f64, n: usize, seed: u64) -> Array2<f64> {
    let d = g.dim();
    let mut cov = g.covs()[0].clone();
    for (i, row) in cov.iter_mut().enumerate() {
        row[i] += sigma0 * sigma0;
    }
    let start = GaussianMixture::new(vec![1.0], g.means().to_vec(), vec![cov])
        .unwrap()
        .gaussian_power(beta)
        .unwrap();
    Array2::from_shape_vec((n, d), start.sample(n, seed)).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn run_anneal(
    g: &GaussianMixture,
    beta: f64,
    grid: &SigmaGrid,
    groups: usize,
    k: usize,
    ess_threshold: f64,
    noise_kind: FkcNoise,
    seed: u64,
) -> scoreflow_ode_sde_solvers::smc::FkcOutput<Array2<f64>> {
    let model = MixtureDenoiser::new(g);
    let mut experts = annealed(beta, &model as &dyn Denoiser<Array2<f64>>).unwrap();
    experts[0].trace = Some(&model);
    let x = annealed_start(g, beta, grid.as_slice()[0], groups * k, seed);
    let mut noise = GaussianNoise::new(&x, &sample_seeds(seed, groups * k)).unwrap();
    let options = FkcOptions {
        group_size: k,
        ess_threshold,
        seed,
        noise: noise_kind,
        ..FkcOptions::default()
    };
    fkc_sample(&experts, x, grid, &mut noise, None, &options).unwrap()
}

/// Per-group statistics → (mean over groups, standard error over groups).
fn across_groups(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

#[test]
fn annealing_a_gaussian_reproduces_the_exact_mean_and_covariance() {
    let g = gaussian_2d();
    let grid = SigmaGrid::karras(200, 0.005, 20.0, 7.0).unwrap();
    // The target-score SDE for β < 1 (its weights vary and resampling triggers), the tempered
    // one for β > 1 (it carries a Gaussian exactly: constant weights).
    for (beta, kind) in [(0.5, FkcNoise::Target), (3.0, FkcNoise::Tempered)] {
        let (groups, k) = (128, 32);
        let out = run_anneal(&g, beta, &grid, groups, k, 0.5, kind, 11);
        if kind == FkcNoise::Target {
            assert!(
                out.resamples > groups,
                "β = {beta}: resampling should have triggered"
            );
        }
        let exact = g.gaussian_power(beta).unwrap();
        let (mu, cov) = (exact.mean(), exact.covariance());
        let x = &out.x;
        // Groups are independent; their particle averages estimate the moments.
        let group_stat = |f: &dyn Fn(usize) -> f64| -> Vec<f64> {
            (0..groups)
                .map(|grp| (grp * k..(grp + 1) * k).map(f).sum::<f64>() / k as f64)
                .collect()
        };
        for i in 0..2 {
            let (m, se) = across_groups(&group_stat(&|r| x[[r, i]]));
            assert!(
                (m - mu[i]).abs() < 4.0 * se,
                "β = {beta}: mean {i} {m} vs {} (se {se})",
                mu[i]
            );
            for j in 0..2 {
                let (c, se) =
                    across_groups(&group_stat(&|r| (x[[r, i]] - mu[i]) * (x[[r, j]] - mu[j])));
                assert!(
                    (c - cov[i * 2 + j]).abs() < 4.0 * se,
                    "β = {beta}: cov {i}{j} {c} vs {} (se {se})",
                    cov[i * 2 + j]
                );
            }
        }
    }
}

#[test]
fn the_normalising_constant_estimate_is_unbiased() {
    let g = gaussian_2d();
    let (sigma0, sigma1) = (3.0, 0.2);
    let full = SigmaGrid::karras(400, sigma1, sigma0, 7.0).unwrap();
    let positive = &full.as_slice()[..full.len() - 1];
    let grid = SigmaGrid::new(positive.to_vec()).unwrap();
    assert_eq!(*grid.as_slice().last().unwrap(), sigma1);
    // (β > 1 with the target-score SDE is unbiased too, but its weights are heavy-tailed: a
    // sample mean of 1000 groups sits below 1 most of the time, so it cannot be tested so.)
    for (beta, kind) in [(0.5, FkcNoise::Target), (2.0, FkcNoise::Tempered)] {
        let log_ratio = g.gaussian_power_log_normaliser(beta, sigma1).unwrap()
            - g.gaussian_power_log_normaliser(beta, sigma0).unwrap();
        // Never resampling (importance sampling), and resampling whenever ESS < K.
        for threshold in [1e-9, 1.0] {
            let out = run_anneal(&g, beta, &grid, 1000, 8, threshold, kind, 5);
            let ratios: Vec<f64> = out
                .log_normalisers
                .iter()
                .map(|lz| (lz - log_ratio).exp())
                .collect();
            let (m, se) = across_groups(&ratios);
            if kind == FkcNoise::Tempered {
                // Constant weights: Ẑ is the trapezoidal rule of the exact ∫(1 − β)∇·s c dτ.
                assert!((m - 1.0).abs() < 1e-4, "β = {beta}, tempered: Ẑ/Z = {m}");
                continue;
            }
            assert!(
                (m - 1.0).abs() < 4.0 * se && se < 0.05,
                "β = {beta}, {kind:?}, threshold {threshold}: E[Ẑ]/Z = {m} ± {se}"
            );
        }
    }
}

#[test]
fn bad_fkc_input_is_a_typed_error() {
    let g = gaussian_2d();
    let model = MixtureDenoiser::new(&g);
    let m = &model as &dyn Denoiser<Array2<f64>>;
    for beta in [0.0, -1.0, f64::NAN] {
        assert!(matches!(
            annealed(beta, m),
            Err(SolveError::InvalidOption { name: "beta", .. })
        ));
    }
    let experts = annealed(2.0, m).unwrap();
    let grid = SigmaGrid::karras(10, 0.01, 10.0, 7.0).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    let x = Array2::from_shape_fn((8, 2), |_| StandardNormal.sample(&mut rng));
    for threshold in [0.0, -0.5, 1.5, f64::NAN] {
        let mut noise = GaussianNoise::new(&x, &sample_seeds(0, 8)).unwrap();
        let options = FkcOptions {
            ess_threshold: threshold,
            group_size: 4,
            ..FkcOptions::default()
        };
        assert!(matches!(
            fkc_sample(&experts, x.clone(), &grid, &mut noise, None, &options),
            Err(SolveError::InvalidOption {
                name: "ess_threshold",
                ..
            })
        ));
    }
    let mut noise = GaussianNoise::new(&x, &sample_seeds(0, 8)).unwrap();
    let options = FkcOptions {
        group_size: 3,
        ..FkcOptions::default()
    };
    assert!(matches!(
        fkc_sample(&experts, x, &grid, &mut noise, None, &options),
        Err(SolveError::InvalidOption {
            name: "group_size",
            ..
        })
    ));
}
