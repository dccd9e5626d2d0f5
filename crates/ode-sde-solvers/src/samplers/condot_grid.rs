//! The σ grid uniform in CondOT time, on which the few-step study found the exponential
//! multistep sampler best.

use scoreflow_noise_schedules::SigmaGrid;

use crate::SolveError;

/// N + 1 noise levels uniform in CondOT time t = 1/(1 + σ) (the flow-matching time of Lipman et
/// al. 2023, where σ = (1 − t)/t is the α = 1 noise level of x_t/t): tⱼ = t₀ + j·(1 − t₀)/N,
/// t₀ = 1/(1 + σ_max), σⱼ = (1 − tⱼ)/tⱼ, ending in σ_N = 0. A sampler with one call per step
/// spends exactly N calls on it, the last at σ_{N−1} ≈ σ_max/(1 + N·σ_max) … ≈ 1/N for large
/// σ_max, so no call is spent at a tiny σ_min (the "fm-uniform" grid of the project's few-step
/// notes). σ₀ is set to exactly σ_max.
///
/// # Errors
/// [`SolveError::InvalidOption`] for N = 0 or σ_max not finite and positive.
pub fn condot_uniform_grid(n: usize, sigma_max: f64) -> Result<SigmaGrid, SolveError> {
    if n == 0 {
        return Err(SolveError::InvalidOption {
            name: "n",
            value: 0.0,
            reason: "a grid needs at least one step",
        });
    }
    if !(sigma_max > 0.0 && sigma_max.is_finite()) {
        return Err(SolveError::InvalidOption {
            name: "sigma_max",
            value: sigma_max,
            reason: "must be positive and finite",
        });
    }
    let t0 = 1.0 / (1.0 + sigma_max);
    let mut sigmas: Vec<f64> = (0..n)
        .map(|j| {
            let t = t0 + j as f64 * (1.0 - t0) / n as f64;
            (1.0 - t) / t
        })
        .collect();
    sigmas[0] = sigma_max;
    sigmas.push(0.0);
    SigmaGrid::new(sigmas).map_err(|e| SolveError::InvalidInterval(e.to_string()))
}
