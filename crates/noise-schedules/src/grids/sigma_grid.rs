//! Decreasing noise-level grids σ₀ > σ₁ > … ≥ 0 for EDM-style samplers.

use serde::{Deserialize, Serialize};

use super::TimeGrid;
use super::monotone::check_strictly_monotone;
use crate::numerics::linspace;
use crate::validate;
use crate::{NoiseSchedule, ScheduleError};

/// ρ = 7, the value Karras et al. 2022 recommend for their σ grid (§3, Table 1).
pub const KARRAS_RHO: f64 = 7.0;

/// A validated noise-level grid: at least two finite entries, strictly decreasing, all
/// positive except that the last may be exactly 0 (the final denoising step to clean data,
/// as in k-diffusion's samplers).
///
/// Serialises as a plain array and re-validates when deserialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct SigmaGrid(Vec<f64>);

impl SigmaGrid {
    /// A user-given grid.
    ///
    /// # Errors
    /// [`ScheduleError::GridTooShort`], [`ScheduleError::GridNonFinite`],
    /// [`ScheduleError::GridNonPositive`] (σ ≤ 0 anywhere but a final 0),
    /// [`ScheduleError::GridDuplicate`] or [`ScheduleError::GridNotMonotone`] (any increase),
    /// each naming the first offending index.
    pub fn new(sigmas: Vec<f64>) -> Result<Self, ScheduleError> {
        let last = sigmas.len().saturating_sub(1);
        for (index, &value) in sigmas.iter().enumerate() {
            // Finiteness is reported by the monotonicity scan; here only the sign.
            if value.is_finite() && (value < 0.0 || (value == 0.0 && index != last)) {
                return Err(ScheduleError::GridNonPositive { index, value });
            }
        }
        let increasing = check_strictly_monotone(&sigmas)?;
        if increasing {
            return Err(ScheduleError::GridNotMonotone {
                index: 1,
                previous: sigmas[0],
                value: sigmas[1],
            });
        }
        Ok(Self(sigmas))
    }

    /// Karras et al. 2022 (Elucidating the Design Space of Diffusion-Based Generative
    /// Models, eq. (5)): σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for
    /// i = 0..n−1, followed by a final 0 as in k-diffusion's `get_sigmas_karras`: n + 1
    /// values. The endpoints are set to exactly σ_max and σ_min. For n = 1 the grid is
    /// [σ_max, 0] (k-diffusion's `linspace(0, 1, 1) = [0]`).
    ///
    /// # Errors
    /// [`ScheduleError::TooFewSteps`] for n = 0; [`ScheduleError::NonFinite`] /
    /// [`ScheduleError::NonPositive`] for σ_min, σ_max or ρ; [`ScheduleError::Misordered`]
    /// for σ_min ≥ σ_max; a grid error if n is so large that neighbours round to equal.
    pub fn karras(
        n: usize,
        sigma_min: f64,
        sigma_max: f64,
        rho: f64,
    ) -> Result<Self, ScheduleError> {
        check_range(n, sigma_min, sigma_max)?;
        validate::positive("rho", rho)?;
        let max_inv_rho = sigma_max.powf(1.0 / rho);
        let min_inv_rho = sigma_min.powf(1.0 / rho);
        let mut sigmas: Vec<f64> = linspace(0.0, 1.0, n)
            .into_iter()
            .map(|ramp| (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)).powf(rho))
            .collect();
        pin_ends_and_append_zero(&mut sigmas, sigma_min, sigma_max);
        Self::new(sigmas)
    }

    /// Log-uniform grid: ln σ_i = linspace(ln σ_max, ln σ_min, n), then a final 0
    /// (k-diffusion `get_sigmas_exponential`; Karras et al. 2022, Table 1, VE column's
    /// geometric σ). n + 1 values, endpoints exact; n = 1 gives [σ_max, 0].
    ///
    /// # Errors
    /// As [`SigmaGrid::karras`], without ρ.
    pub fn exponential(n: usize, sigma_min: f64, sigma_max: f64) -> Result<Self, ScheduleError> {
        check_range(n, sigma_min, sigma_max)?;
        let mut sigmas: Vec<f64> = linspace(sigma_max.ln(), sigma_min.ln(), n)
            .into_iter()
            .map(f64::exp)
            .collect();
        pin_ends_and_append_zero(&mut sigmas, sigma_min, sigma_max);
        Self::new(sigmas)
    }

    /// Uniform in CondOT time: t_i = linspace(1/(1 + σ_max), 1/(1 + σ_min), n) and
    /// σ_i = (1 − t_i)/t_i, then a final 0. The CondOT path x_t = t·x₁ + (1 − t)·x₀ (Lipman et
    /// al. 2023) is the α = 1 process at σ = (1 − t)/t after scaling by 1/t, so this is the
    /// uniform-t grid of flow-matching samplers mapped to σ; it spends fewer steps at large σ
    /// than Karras' ρ = 7 grid (where the trajectory is nearly straight) and fewer at tiny σ.
    /// n + 1 values, endpoints exact; n = 1 gives [σ_max, 0].
    ///
    /// # Errors
    /// As [`SigmaGrid::karras`], without ρ.
    pub fn condot_uniform(n: usize, sigma_min: f64, sigma_max: f64) -> Result<Self, ScheduleError> {
        check_range(n, sigma_min, sigma_max)?;
        let mut sigmas: Vec<f64> = linspace(1.0 / (1.0 + sigma_max), 1.0 / (1.0 + sigma_min), n)
            .into_iter()
            .map(|t| (1.0 - t) / t)
            .collect();
        pin_ends_and_append_zero(&mut sigmas, sigma_min, sigma_max);
        Self::new(sigmas)
    }

    /// N + 1 noise levels uniform in CondOT time all the way to the data: tⱼ = t₀ + j·(1 − t₀)/N,
    /// t₀ = 1/(1 + σ_max), σⱼ = (1 − tⱼ)/tⱼ, so that σ_N = 0 (t = 1). Unlike
    /// [`SigmaGrid::condot_uniform`] there is no σ_min: a sampler with one call per step spends
    /// its last call at σ_{N−1} = (1 − t_{N−1})/t_{N−1} ≈ 1/(N − 1) for large σ_max rather than
    /// at a tiny σ_min (the "fm-uniform" grid of the few-step study, on which the exponential
    /// multistep sampler does best). σ₀ is exactly σ_max.
    ///
    /// # Errors
    /// [`ScheduleError::TooFewSteps`] for N = 0; σ_max not finite and positive.
    pub fn condot_to_zero(n: usize, sigma_max: f64) -> Result<Self, ScheduleError> {
        validate::at_least("n", n, 1)?;
        validate::positive("sigma_max", sigma_max)?;
        let t0 = 1.0 / (1.0 + sigma_max);
        let mut sigmas: Vec<f64> = (0..n)
            .map(|j| {
                let t = t0 + j as f64 * (1.0 - t0) / n as f64;
                (1.0 - t) / t
            })
            .collect();
        sigmas[0] = sigma_max;
        sigmas.push(0.0);
        Self::new(sigmas)
    }

    /// σ_i = σ(t_i)/α(t_i) = e^{−λ(t_i)} (Karras et al. 2022, eq. (4)) for the given times,
    /// i.e. the noise levels of the equivalent α = 1 process. The times must run from noise
    /// to data so that σ decreases (t decreasing for diffusion, increasing for flow paths).
    ///
    /// # Errors
    /// Any grid error of [`SigmaGrid::new`] on the mapped values, e.g.
    /// [`ScheduleError::GridNonFinite`] when a time hits λ = −∞.
    pub fn from_schedule_times<S: NoiseSchedule + ?Sized>(
        schedule: &S,
        times: &TimeGrid,
    ) -> Result<Self, ScheduleError> {
        Self::new(
            times
                .as_slice()
                .iter()
                .map(|&t| schedule.edm_sigma(t))
                .collect(),
        )
    }

    /// The values.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    /// Number of values (steps + 1).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a valid grid has at least two values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the last value is exactly 0.
    pub fn ends_at_zero(&self) -> bool {
        self.0.last() == Some(&0.0)
    }

    /// The smallest positive value: the last, or the one before a final 0 (σ_min of the grid).
    pub fn last_positive(&self) -> f64 {
        let s = &self.0;
        s[s.len() - 1 - usize::from(self.ends_at_zero())]
    }

    /// The values, consuming the grid.
    pub fn into_vec(self) -> Vec<f64> {
        self.0
    }
}

fn check_range(n: usize, sigma_min: f64, sigma_max: f64) -> Result<(), ScheduleError> {
    validate::at_least("n", n, 1)?;
    validate::positive("sigma_min", sigma_min)?;
    validate::positive("sigma_max", sigma_max)?;
    validate::strictly_below("sigma_min", sigma_min, "sigma_max", sigma_max)
}

/// Rounding in powf/exp moves the ends by an ulp; pinning them makes σ₀ = σ_max and
/// σ_{n−1} = σ_min hold exactly, which samplers rely on when matching a training range.
fn pin_ends_and_append_zero(sigmas: &mut Vec<f64>, sigma_min: f64, sigma_max: f64) {
    let n = sigmas.len();
    if n > 1 {
        sigmas[n - 1] = sigma_min;
    }
    if n > 0 {
        sigmas[0] = sigma_max;
    }
    sigmas.push(0.0);
}

impl TryFrom<Vec<f64>> for SigmaGrid {
    type Error = ScheduleError;

    fn try_from(v: Vec<f64>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<SigmaGrid> for Vec<f64> {
    fn from(g: SigmaGrid) -> Self {
        g.0
    }
}
