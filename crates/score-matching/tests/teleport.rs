//! Analytical teleportation (Wang & Vastola 2024): the Gaussian probability-flow map against an
//! accurate numerical solution of the same ODE, the moment matching it is built from, and its
//! errors.

use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::ode::{Dopri5, SolveOptions, integrate};
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::teleport::{GaussianApprox, TeleportError, skip_grid, skip_steps};

/// A one-component mixture in 3-D with a full, anisotropic covariance: a Gaussian target, whose
/// PF-ODE the teleport must solve exactly.
fn gaussian_target() -> GaussianMixture {
    let cov = vec![
        vec![2.0, 0.6, -0.3],
        vec![0.6, 0.5, 0.1],
        vec![-0.3, 0.1, 0.3],
    ];
    GaussianMixture::new(vec![1.0], vec![vec![1.0, -2.0, 0.5]], vec![cov]).unwrap()
}

/// The EDM PF-ODE dx/dσ = (x − D(x; σ))/σ with the target's exact denoiser, by Dopri5 at
/// rtol = atol = 1e-13.
fn pf_ode(target: &GaussianMixture, x: Array2<f64>, from: f64, to: f64) -> Array2<f64> {
    let field = |sigma: f64, x: &Array2<f64>| {
        let mut d = Array2::zeros(x.raw_dim());
        target.denoise_batch(x.as_slice().unwrap(), sigma, d.as_slice_mut().unwrap());
        (x - &d) / sigma
    };
    let sol = integrate(
        &field,
        &Dopri5,
        from,
        to,
        x,
        &SolveOptions::adaptive(1e-13, 1e-13),
    )
    .unwrap();
    sol.ys.last().unwrap().clone()
}

fn noise(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let identity = (0..d)
        .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let normal = GaussianMixture::new(vec![1.0], vec![vec![0.0; d]], vec![identity]).unwrap();
    Array2::from_shape_vec((n, d), normal.sample(n, seed)).unwrap()
}

#[test]
fn teleport_is_the_exact_pf_ode_solution_on_a_gaussian_target() {
    let target = gaussian_target();
    let approx = GaussianApprox::from_mixture(&target);
    let x80 = noise(16, 3, 7) * 80.0;
    for sigma_skip in [20.0, 2.5, 0.3] {
        let jump = approx.teleport(&x80, 80.0, sigma_skip).unwrap();
        let ode = pf_ode(&target, x80.clone(), 80.0, sigma_skip);
        let err = (&jump - &ode).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(
            err < 1e-10,
            "σ_skip = {sigma_skip}: max |jump − ODE| = {err:e}"
        );
    }
}

#[test]
fn teleport_is_a_flow() {
    // Φ(σ₁→σ₂)∘Φ(σ₀→σ₁) = Φ(σ₀→σ₂), Φ(σ→σ) = id, and the map to σ = 0 lands on the data's
    // support scale: the standardised z = Qᵀ(x − μ)/√(λ + σ²) is invariant.
    let approx = GaussianApprox::from_mixture(&gaussian_target());
    let x = noise(8, 3, 3) * 10.0;
    let two = approx
        .teleport(&approx.teleport(&x, 10.0, 1.0).unwrap(), 1.0, 0.1)
        .unwrap();
    let one = approx.teleport(&x, 10.0, 0.1).unwrap();
    assert!((&two - &one).iter().all(|v| v.abs() < 1e-13));
    let same = approx.teleport(&x, 4.0, 4.0).unwrap();
    assert!((&same - &x).iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn moment_matching_and_sample_estimates() {
    let ring = GaussianMixture::builtin("ring8").unwrap();
    let approx = GaussianApprox::from_mixture(&ring);
    // ring8: mean 0, covariance (16/2 + 0.25)·I = 8.25·I (builtin docs).
    assert!(approx.mean().iter().all(|m| m.abs() < 1e-14));
    let c = approx.cov();
    assert!((c[0] - 8.25).abs() < 1e-12 && (c[3] - 8.25).abs() < 1e-12 && c[1].abs() < 1e-12);
    // Sample estimates: within 5 standard errors of the exact moments. For a 2-D isotropic
    // target, Var(x̄ᵢ) = 8.25/n; the variance estimate's SE is √(Var((x−μ)²)/n).
    let n = 20_000;
    let xs = ring.sample(n, 11);
    let est = GaussianApprox::from_samples(&xs, 2).unwrap();
    let se_mean = (8.25 / n as f64).sqrt();
    assert!(est.mean().iter().all(|m| m.abs() < 5.0 * se_mean));
    let fourth: f64 = xs.iter().map(|v| v.powi(4)).sum::<f64>() / (2 * n) as f64;
    let se_var = ((fourth - 8.25 * 8.25) / n as f64).sqrt();
    assert!((est.cov()[0] - 8.25).abs() < 5.0 * se_var);
    assert!((est.cov()[3] - 8.25).abs() < 5.0 * se_var);
}

#[test]
fn skip_grid_cuts_at_sigma_skip() {
    let grid = SigmaGrid::karras(10, 0.002, 80.0, 7.0).unwrap();
    let s = grid.as_slice();
    let cut = skip_grid(&grid, s[3]).unwrap();
    assert_eq!(cut.as_slice(), &s[3..]);
    assert_eq!(skip_steps(&grid, 3).unwrap(), cut);
    let mid = 0.5 * (s[2] + s[3]);
    let cut = skip_grid(&grid, mid).unwrap();
    assert_eq!(cut.as_slice()[0], mid);
    assert_eq!(&cut.as_slice()[1..], &s[3..]);
    assert_eq!(skip_steps(&grid, 0).unwrap(), grid);
}

#[test]
fn bad_input_is_a_typed_error() {
    let grid = SigmaGrid::karras(10, 0.002, 80.0, 7.0).unwrap();
    for bad in [80.0, 100.0, 0.001, 0.0, -1.0, f64::NAN] {
        assert!(
            matches!(
                skip_grid(&grid, bad),
                Err(TeleportError::SkipOutsideGrid { .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        skip_steps(&grid, 10),
        Err(TeleportError::SkipTooManySteps {
            skip: 10,
            steps: 10
        })
    ));
    let approx = GaussianApprox::from_mixture(&gaussian_target());
    assert!(matches!(
        approx.teleport(&Array2::zeros((2, 2)), 1.0, 0.5),
        Err(TeleportError::Shape { .. })
    ));
    assert!(matches!(
        approx.teleport(&Array2::zeros((2, 3)), -1.0, 0.5),
        Err(TeleportError::BadSigma { .. })
    ));
    assert!(matches!(
        GaussianApprox::new(vec![0.0, 0.0], vec![1.0, 2.0, 2.0, 1.0]),
        Err(TeleportError::NotPsd { .. })
    ));
    assert!(matches!(
        GaussianApprox::from_samples(&[1.0, 2.0], 2),
        Err(TeleportError::TooFewSamples(1))
    ));
}
