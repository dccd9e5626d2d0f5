//! The few-step configuration `auto` when the data's moments are unknown: sampler, grid and
//! ending chosen together. (Where the moments are known — analytic targets, checkpoints that
//! store them — `scoreflow` runs `auto` as `gauss-2`, `scoreflow_flow_matching::gauss_preconditioned`,
//! which needs more than a `Denoiser`.)
//!
//! **Sampler**: [`ExpMultistep`](super::ExpMultistep) of order 2 in λ = −ln σ with its free
//! corrector (`exp-2-lambda`): data prediction, the Lagrange polynomial of the last two
//! denoiser outputs integrated exactly against e^λ, and a UniC-style correction that reuses the
//! next evaluation (Zhang & Chen 2023; Lu et al. 2022b; Zhao et al. 2023).
//!
//! **Grid**: uniform in CondOT time t = 1/(1 + σ) from σ_max all the way to σ = 0
//! ([`SigmaGrid::condot_to_zero`]): N steps cost exactly N model calls, none at a tiny σ_min;
//! the step to 0 returns the last denoised value. Karras' ρ = 7 grid spends 3 of 10 calls at
//! σ ≥ 20, where the trajectory is nearly straight, and 2 at σ ≤ 0.06.
//!
//! **Ending**: the ordinary final step (D at the last positive σ), which on this grid measured as
//! good as extrapolating 2–3 denoiser outputs to σ = 0.
//!
//! The choice was made on the built-in targets (ring8, grid25, gauss16d) and validated on two
//! held-out mixtures (`benches/targets/heldout-*.json`); docs/samplers.md has the tables.

use scoreflow_noise_schedules::SigmaGrid;

use crate::SolveError;

/// How a sampler of the table gets its σ grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GridRecipe {
    /// The caller's grid (Karras, log-SNR, a file, …).
    Given,
    /// The `auto` configuration's own grid: [`auto_grid`].
    Auto,
}

/// The grid of `auto` for N model calls: [`SigmaGrid::condot_to_zero`]`(N, σ_max)`, unless its
/// last positive value falls below `sigma_min`, in which case the CondOT-uniform grid between
/// σ_max and σ_min followed by 0 ([`SigmaGrid::condot_uniform`]), so that `--sigma-min` bounds
/// the grid as the user asked.
///
/// # Errors
/// N = 0, or σ_min / σ_max not finite and positive with σ_min < σ_max.
pub fn auto_grid(steps: usize, sigma_min: f64, sigma_max: f64) -> Result<SigmaGrid, SolveError> {
    let invalid =
        |e: scoreflow_noise_schedules::ScheduleError| SolveError::InvalidInterval(e.to_string());
    let natural = SigmaGrid::condot_to_zero(steps, sigma_max).map_err(invalid)?;
    let s = natural.as_slice();
    if s.len() > 2 && s[s.len() - 2] < sigma_min {
        return SigmaGrid::condot_uniform(steps, sigma_min, sigma_max).map_err(invalid);
    }
    if !(sigma_min.is_finite() && sigma_min > 0.0 && sigma_min < sigma_max) {
        return Err(SolveError::InvalidOption {
            name: "sigma_min",
            value: sigma_min,
            reason: "must be finite, positive and below sigma_max",
        });
    }
    Ok(natural)
}
