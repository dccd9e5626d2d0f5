//! Discrete DDPM β tables as defined by diffusers' `DDPMScheduler`.

use serde::{Deserialize, Serialize};

use crate::ScheduleError;
use crate::numerics::linspace;
use crate::validate;

/// The `beta_schedule` options of diffusers' `DDPMScheduler` / `DDIMScheduler`.
///
/// - `Linear`: β_n = linspace(β_start, β_end, N) (Ho et al. 2020, Denoising Diffusion
///   Probabilistic Models, §4: 10⁻⁴ … 0.02 over N = 1000).
/// - `ScaledLinear`: β_n = linspace(√β_start, √β_end, N)² (Rombach et al. 2022, latent
///   diffusion / Stable Diffusion: 0.00085 … 0.012).
/// - `SquaredCosCapV2`: β_n = min(1 − ᾱ((n+1)/N)/ᾱ(n/N), 0.999) with
///   ᾱ(t) = cos²((t + 0.008)/1.008 · π/2) (Nichol & Dhariwal 2021, Improved DDPM, eq. (17) and
///   the β clipping of §3.2; diffusers `betas_for_alpha_bar`).
///
/// Serialised with `"kind"` as tag and diffusers' spellings (`"linear"`, `"scaled_linear"`,
/// `"squaredcos_cap_v2"`); omitted β bounds take the defaults above.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BetaSchedule {
    /// β linear in n.
    Linear {
        /// β₀.
        #[serde(default = "default_linear_start")]
        beta_start: f64,
        /// β_{N−1}.
        #[serde(default = "default_linear_end")]
        beta_end: f64,
    },
    /// √β linear in n.
    ScaledLinear {
        /// β₀.
        #[serde(default = "default_scaled_start")]
        beta_start: f64,
        /// β_{N−1}.
        #[serde(default = "default_scaled_end")]
        beta_end: f64,
    },
    /// Cosine ᾱ, β capped at 0.999.
    #[serde(rename = "squaredcos_cap_v2")]
    SquaredCosCapV2,
}

fn default_linear_start() -> f64 {
    1e-4
}
fn default_linear_end() -> f64 {
    0.02
}
fn default_scaled_start() -> f64 {
    0.00085
}
fn default_scaled_end() -> f64 {
    0.012
}

/// The cap diffusers' `betas_for_alpha_bar` applies so that no step destroys all signal.
pub const SQUAREDCOS_MAX_BETA: f64 = 0.999;

impl BetaSchedule {
    /// DDPM's linear table, β from 10⁻⁴ to 0.02 (Ho et al. 2020, §4).
    pub const DDPM_LINEAR: Self = Self::Linear {
        beta_start: 1e-4,
        beta_end: 0.02,
    };

    /// Stable Diffusion's scaled-linear table, β from 0.00085 to 0.012
    /// (Rombach et al. 2022; the diffusers config of SD 1.x/2.x).
    pub const STABLE_DIFFUSION: Self = Self::ScaledLinear {
        beta_start: 0.00085,
        beta_end: 0.012,
    };

    /// The N values β₀ … β_{N−1}.
    ///
    /// For the linear tables the endpoints are exactly `beta_start` and `beta_end` (for
    /// `ScaledLinear` this overrides (√β)² rounding by at most an ulp).
    ///
    /// # Errors
    /// [`ScheduleError::TooFewSteps`] for N < 2; for the linear tables
    /// [`ScheduleError::NonFinite`], [`ScheduleError::NonPositive`] (β_start ≤ 0),
    /// [`ScheduleError::OutOfRange`] (β_end ≥ 1) or [`ScheduleError::Misordered`]
    /// (β_start > β_end).
    pub fn betas(&self, num_train_timesteps: usize) -> Result<Vec<f64>, ScheduleError> {
        let n = validate::at_least("num_train_timesteps", num_train_timesteps, 2)?;
        match *self {
            Self::Linear {
                beta_start,
                beta_end,
            } => {
                validate_bounds(beta_start, beta_end)?;
                Ok(linspace(beta_start, beta_end, n))
            }
            Self::ScaledLinear {
                beta_start,
                beta_end,
            } => {
                validate_bounds(beta_start, beta_end)?;
                let mut betas: Vec<f64> = linspace(beta_start.sqrt(), beta_end.sqrt(), n)
                    .into_iter()
                    .map(|r| r * r)
                    .collect();
                betas[0] = beta_start;
                betas[n - 1] = beta_end;
                Ok(betas)
            }
            Self::SquaredCosCapV2 => Ok(squaredcos_cap_v2(n)),
        }
    }
}

impl Default for BetaSchedule {
    /// [`BetaSchedule::DDPM_LINEAR`], diffusers' default.
    fn default() -> Self {
        Self::DDPM_LINEAR
    }
}

/// 0 < β_start ≤ β_end < 1: β = 0 would leave ᾱ flat (no invertible λ), β ≥ 1 would zero ᾱ
/// before the last step.
fn validate_bounds(beta_start: f64, beta_end: f64) -> Result<(), ScheduleError> {
    validate::positive("beta_start", beta_start)?;
    validate::positive("beta_end", beta_end)?;
    if beta_end >= 1.0 {
        return Err(ScheduleError::OutOfRange {
            name: "beta_end",
            value: beta_end,
            expected: "(0, 1)",
        });
    }
    validate::not_above("beta_start", beta_start, "beta_end", beta_end)
}

/// diffusers' `betas_for_alpha_bar(N, max_beta=0.999, alpha_transform_type="cosine")`,
/// evaluated with cos exactly as written there so that the table matches it.
fn squaredcos_cap_v2(n: usize) -> Vec<f64> {
    let alpha_bar = |t: f64| {
        let c = ((t + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos();
        c * c
    };
    (0..n)
        .map(|i| {
            let t1 = i as f64 / n as f64;
            let t2 = (i + 1) as f64 / n as f64;
            (1.0 - alpha_bar(t2) / alpha_bar(t1)).min(SQUAREDCOS_MAX_BETA)
        })
        .collect()
}
