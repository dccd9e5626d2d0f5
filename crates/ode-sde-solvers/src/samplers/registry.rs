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
    /// Relative tolerance of `rk45`. (`dpm-adaptive` keeps k-diffusion's rtol = 0.05, atol =
    /// 0.0078, which suit its error norm; set [`DpmAdaptive`](super::DpmAdaptive)'s fields
    /// directly for others.)
    pub rtol: f64,
    /// Absolute tolerance of `rk45`.
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
    "dpm2",
    "lms",
    "dpmpp-2m",
    "dpmpp-3m",
    "dpm-solver-1",
    "dpm-solver-2",
    "dpm-solver-3",
    "unipc-bh1",
    "unipc-bh2",
    "rk45",
    "ipndm",
    "ipndm-2",
    "ipndm-3",
    "ipndm-afs",
    "deis",
    "deis-2",
    "deis-3",
    "dpm-adaptive",
    // -- stochastic samplers (helper B) --
    "euler-ancestral",
    "ddim",
    "ddpm",
    "dpmpp-2s-ancestral",
    "dpmpp-sde",
    "dpmpp-2m-sde",
    "dpmpp-3m-sde",
    "pc",
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
        "dpm2" => Box::new(super::Dpm2 {
            churn: options.churn,
        }),
        "lms" => Box::new(super::Lms { order: 4 }),
        "dpmpp-2m" => Box::new(super::DpmPP2M),
        "dpmpp-3m" => Box::new(super::DpmPP3M),
        "dpm-solver-1" => Box::new(super::DpmSolver { order: 1 }),
        "dpm-solver-2" => Box::new(super::DpmSolver { order: 2 }),
        "dpm-solver-3" | "dpm-solver" => Box::new(super::DpmSolver { order: 3 }),
        "unipc-bh1-1" => Box::new(super::UniPc {
            variant: super::UniPcVariant::Bh1,
            order: 1,
        }),
        "unipc-bh1" | "unipc-bh1-2" => Box::new(super::UniPc {
            variant: super::UniPcVariant::Bh1,
            order: 2,
        }),
        "unipc-bh1-3" => Box::new(super::UniPc {
            variant: super::UniPcVariant::Bh1,
            order: 3,
        }),
        "unipc-bh2-1" => Box::new(super::UniPc {
            variant: super::UniPcVariant::Bh2,
            order: 1,
        }),
        "unipc-bh2" | "unipc-bh2-2" => Box::new(super::UniPc {
            variant: super::UniPcVariant::Bh2,
            order: 2,
        }),
        "unipc-bh2-3" => Box::new(super::UniPc {
            variant: super::UniPcVariant::Bh2,
            order: 3,
        }),
        "rk45" => Box::new(super::Rk45 {
            rtol: options.rtol,
            atol: options.atol,
        }),
        "ipndm" => Box::new(super::Ipndm {
            order: 4,
            afs: false,
        }),
        "ipndm-2" => Box::new(super::Ipndm {
            order: 2,
            afs: false,
        }),
        "ipndm-3" => Box::new(super::Ipndm {
            order: 3,
            afs: false,
        }),
        "ipndm-afs" => Box::new(super::Ipndm {
            order: 4,
            afs: true,
        }),
        "deis" | "deis-3" => Box::new(super::Deis { order: 3 }),
        "deis-2" => Box::new(super::Deis { order: 2 }),
        // k-diffusion's tolerances, not `options.rtol`/`atol` (see `DpmAdaptive`).
        "dpm-adaptive" => Box::new(super::DpmAdaptive::default()),
        // -- stochastic samplers (helper B) --
        "euler-ancestral" => Box::new(super::EulerAncestral {
            eta: options.eta,
            s_noise: 1.0,
        }),
        "ddim" => Box::new(super::Ddim { eta: options.eta }),
        "ddpm" => Box::new(super::Ddpm),
        "dpmpp-2s-ancestral" => Box::new(super::DpmPP2SAncestral {
            eta: options.eta,
            s_noise: 1.0,
        }),
        "dpmpp-sde" => Box::new(super::DpmPPSde {
            eta: options.eta,
            s_noise: 1.0,
            r: 0.5,
        }),
        "dpmpp-2m-sde" => Box::new(super::DpmPP2MSde {
            eta: options.eta,
            s_noise: 1.0,
            solver: super::DpmPP2MSdeSolver::Midpoint,
        }),
        "dpmpp-3m-sde" => Box::new(super::DpmPP3MSde {
            eta: options.eta,
            s_noise: 1.0,
        }),
        "pc" => Box::new(super::Pc {
            predictor: super::PcPredictor::ReverseDiffusion,
            snr: options.snr,
            corrector_steps: options.corrector_steps,
        }),
        _ => return Err(SolveError::UnknownSampler(name.to_string())),
    };
    Ok(sampler)
}
