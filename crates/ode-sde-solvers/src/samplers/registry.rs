//! Samplers by name, for the CLI and benchmarks.

use super::{Churn, Euler, Heun, Sampler};
use crate::SolveError;
use crate::state::State;

/// Options a sampler may read; each ignores those it does not use.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerOptions {
    /// η of ancestral / SDE samplers and DDIM (default 1 for ancestral and SDE samplers' usual
    /// setting; DDIM reads it too, so pass 0 for deterministic DDIM).
    pub eta: f64,
    /// Churn for `euler`, `heun`, `dpm2`.
    pub churn: Churn,
    /// Relative tolerance of adaptive samplers (`rk45`).
    pub rtol: f64,
    /// Absolute tolerance of adaptive samplers (`rk45`).
    pub atol: f64,
    /// Langevin signal-to-noise ratio r of `pc` (score_sde's `snr`).
    pub snr: f64,
    /// Langevin corrector steps per predictor step of `pc`.
    pub corrector_steps: usize,
}

impl Default for SamplerOptions {
    fn default() -> Self {
        Self {
            eta: 1.0,
            churn: Churn::default(),
            rtol: 1e-5,
            atol: 1e-5,
            snr: 0.16,
            corrector_steps: 1,
        }
    }
}

/// Every name [`by_name`] knows.
pub const SAMPLER_NAMES: &[&str] = &[
    "euler",
    "heun",
    // -- deterministic samplers (helper A) --
    // -- stochastic samplers (helper B) --
];

/// The sampler called `name`, configured from `options`.
pub fn by_name<S: State + 'static>(
    name: &str,
    options: &SamplerOptions,
) -> Result<Box<dyn Sampler<S>>, SolveError> {
    let sampler: Box<dyn Sampler<S>> = match name {
        "euler" => Box::new(Euler {
            churn: options.churn,
        }),
        "heun" => Box::new(Heun {
            churn: options.churn,
        }),
        // -- deterministic samplers (helper A) --
        // -- stochastic samplers (helper B) --
        _ => return Err(SolveError::UnknownSampler(name.to_string())),
    };
    Ok(sampler)
}
