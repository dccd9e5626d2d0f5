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
    // -- exact-coefficient exponential multistep (helper B); any name + "+x<m>" ends with an
    // m-point extrapolation in σ² (see `by_name`) --
    "exp-1",
    "exp-2",
    "exp-3",
    "exp-2-lambda",
    "exp-3-lambda",
    "exp-3-pred",
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
///
/// `name` may be any of [`SAMPLER_NAMES`] followed by `+x<m>`, e.g. `lms+x2`: that sampler in an
/// [`ExtrapolatedEnd`](super::ExtrapolatedEnd) with an m-point extrapolation in σ²
/// ([`Extrapolation::sigma_squared`](super::Extrapolation::sigma_squared)).
pub fn by_name<S: State + 'static>(
    name: &str,
    options: &SamplerOptions,
) -> Result<Box<dyn Sampler<S>>, SolveError> {
    if let Some((base, points)) = name.rsplit_once("+x")
        && let Ok(points) = points.parse::<usize>()
    {
        let extrapolation = super::Extrapolation::sigma_squared(points);
        extrapolation.validate()?;
        return Ok(Box::new(super::ExtrapolatedEnd {
            inner: by_name(base, options)?,
            extrapolation,
        }));
    }
    let exp = |order: usize, variable: super::PolyVariable, corrector: bool| {
        Box::new(super::ExpMultistep {
            order,
            variable,
            corrector,
            end: super::Extrapolation::DENOISE,
        })
    };
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
        "exp-1" => exp(1, super::PolyVariable::V, true),
        "exp-2" => exp(2, super::PolyVariable::V, true),
        "exp-3" => exp(3, super::PolyVariable::V, true),
        "exp-2-lambda" => exp(2, super::PolyVariable::Lambda, true),
        "exp-3-lambda" => exp(3, super::PolyVariable::Lambda, true),
        "exp-3-pred" => exp(3, super::PolyVariable::V, false),
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
