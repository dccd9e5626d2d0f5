//! Denoising Langevin Gibbs on an exact target: the joint law over (x, σ) is stationary.

use ndarray::Array2;
use scoreflow_ode_sde_solvers::SolveError;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::dmcmc::{DlgOptions, Selection, chain_levels, dlg_sample};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};

fn target() -> GaussianMixture {
    GaussianMixture::new(
        vec![0.4, 0.6],
        vec![vec![-1.5, 0.0], vec![1.0, 1.0]],
        vec![
            vec![vec![0.5, 0.2], vec![0.2, 0.4]],
            vec![vec![0.3, 0.0], vec![0.0, 0.6]],
        ],
    )
    .unwrap()
}

/// Chains started in the stationary law π(x, σⱼ) = p_σⱼ(x)/L, moved by `sweeps` sweeps, must
/// still be distributed as π: level frequencies 1/L, E[x] = μ, Cov[x] = Σ₀ + E[σ²]·I.
fn check_stationary(metropolis: bool, theta: f64) -> Vec<String> {
    let g = target();
    let model = MixtureDenoiser::new(&g);
    let levels = chain_levels(2.0, 0.3, 80.0, 6).unwrap();
    let (chains, l) = (6000, levels.len());
    let start_level: Vec<usize> = (0..chains).map(|c| c % l).collect();
    let x0_flat = g.sample(chains, 17);
    let noise = GaussianMixture::new(
        vec![1.0],
        vec![vec![0.0, 0.0]],
        vec![vec![vec![1.0, 0.0], vec![0.0, 1.0]]],
    )
    .unwrap()
    .sample(chains, 18);
    let x0 = Array2::from_shape_fn((chains, 2), |(c, i)| {
        x0_flat[c * 2 + i] + levels[start_level[c]] * noise[c * 2 + i]
    });
    let options = DlgOptions {
        levels: levels.clone(),
        theta,
        metropolis,
        burn_in: 0,
        sweeps_per_sample: 30,
        selection: Selection::Last,
    };
    let out = dlg_sample(
        &model,
        &model,
        x0,
        &start_level,
        &sample_seeds(3, chains),
        1,
        &options,
    )
    .unwrap();
    let mut failures = Vec::new();
    let p = 1.0 / l as f64;
    for j in 0..l {
        let freq = out.levels.iter().filter(|&&v| v == j).count() as f64 / chains as f64;
        let se = (p * (1.0 - p) / chains as f64).sqrt();
        if (freq - p).abs() > 4.0 * se {
            failures.push(format!("level {j}: frequency {freq} vs {p} (se {se})"));
        }
    }
    let mean_s2 = levels.iter().map(|s| s * s).sum::<f64>() / l as f64;
    let (mu, cov) = (g.mean(), g.covariance());
    for i in 0..2 {
        let col = out.x.column(i);
        let m = col.mean().unwrap();
        let var_i = cov[i * 3] + mean_s2;
        let se = (var_i / chains as f64).sqrt();
        if (m - mu[i]).abs() > 4.0 * se {
            failures.push(format!("mean {i}: {m} vs {} (se {se})", mu[i]));
        }
        for j in 0..2 {
            let prod: Vec<f64> = (0..chains)
                .map(|c| (out.x[[c, i]] - mu[i]) * (out.x[[c, j]] - mu[j]))
                .collect();
            let c_ij = prod.iter().sum::<f64>() / chains as f64;
            let sd = (prod.iter().map(|v| (v - c_ij).powi(2)).sum::<f64>() / chains as f64).sqrt();
            let exact = cov[i * 2 + j] + if i == j { mean_s2 } else { 0.0 };
            let se = sd / (chains as f64).sqrt();
            if (c_ij - exact).abs() > 4.0 * se {
                failures.push(format!("cov {i}{j}: {c_ij} vs {exact} (se {se})"));
            }
        }
    }
    failures
}

#[test]
fn metropolis_adjusted_langevin_gibbs_keeps_the_joint_law() {
    let failures = check_stationary(true, 0.2);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn unadjusted_langevin_gibbs_with_a_small_step_keeps_the_joint_law() {
    // Kim & Ye's unadjusted move is stationary up to O(θ); θ = 0.005 puts that below the test's
    // resolution at 6000 chains.
    let failures = check_stationary(false, 0.005);
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn bad_dmcmc_input_is_a_typed_error() {
    for skip in [0.001, 100.0, f64::NAN] {
        assert!(matches!(
            chain_levels(skip, 0.002, 80.0, 8),
            Err(SolveError::InvalidOption {
                name: "sigma_skip",
                ..
            })
        ));
    }
    let g = target();
    let model = MixtureDenoiser::new(&g);
    for theta in [0.0, -1.0] {
        let options = DlgOptions {
            levels: vec![1.0, 0.5],
            theta,
            metropolis: false,
            burn_in: 0,
            sweeps_per_sample: 1,
            selection: Selection::Last,
        };
        let x = Array2::zeros((2, 2));
        assert!(matches!(
            dlg_sample(&model, &model, x, &[0, 1], &sample_seeds(0, 2), 1, &options),
            Err(SolveError::InvalidOption { name: "theta", .. })
        ));
    }
}
