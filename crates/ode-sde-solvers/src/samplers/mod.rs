//! Samplers on explicit σ grids, in the style of k-diffusion: each one a short function of
//! (denoiser, x, σ grid), one file each, behind [`Sampler`].
//!
//! All samplers work in the α = 1 ("EDM") variables x = x₀ + σε with a [`Denoiser`]. A grid may
//! end in σ = 0: the step to 0 returns the denoised value (as k-diffusion does). Coefficients are
//! computed in `f64` on the host from the grid; the state only sees linear combinations, so no
//! sampler reads a device tensor back inside its loop (except `pc`, whose Langevin step size
//! depends on the current score's norm, as in score_sde).
//!
//! The model is fallible: a [`Denoiser`] error ends the sampler with [`SolveError::Model`]
//! (adaptive samplers, which call it inside an ODE vector field, go through
//! [`ErrorStash`](crate::ErrorStash)).
//!
//! Theoretical orders below are global orders of the deterministic samplers on smooth problems
//! *including* their warm-up steps: a multistep method whose first step is Euler has global
//! order ≤ 2 whatever its interior order, because that one step's O(h²) local error is never
//! recovered. A first step without a model call ([`Ipndm`]'s analytic first step) leaves an O(h)
//! error behind: order 1.

mod adams;
mod arctan_pid;
mod auto;
mod calibrate;
mod ddim;
mod ddpm;
mod deis;
mod dpm2;
mod dpm_adaptive;
mod dpm_solver;
mod dpmpp_2m;
mod dpmpp_2m_sde;
mod dpmpp_2s_ancestral;
mod dpmpp_3m;
mod dpmpp_3m_sde;
mod dpmpp_sde;
mod euler;
mod euler_ancestral;
mod exp_multistep;
mod extrapolated_end;
mod heun;
mod ipndm;
mod lms;
mod noise;
mod pc;
mod registry;
mod rk45;
mod unipc;

pub use auto::{GridRecipe, auto_grid};
pub use calibrate::{
    CALIBRATION_REFERENCE_TOL, Calibration, CalibrationError, CalibrationOptions, GridFamily,
    Minimum, NelderMead, PilotSet, calibrate_grid, rms_endpoint_error,
};
pub use ddim::Ddim;
pub use ddpm::Ddpm;
pub use deis::Deis;
pub use dpm_adaptive::DpmAdaptive;
pub use dpm_solver::DpmSolver;
pub use dpm2::Dpm2;
pub use dpmpp_2m::DpmPP2M;
pub use dpmpp_2m_sde::{DpmPP2MSde, DpmPP2MSdeSolver};
pub use dpmpp_2s_ancestral::DpmPP2SAncestral;
pub use dpmpp_3m::DpmPP3M;
pub use dpmpp_3m_sde::DpmPP3MSde;
pub use dpmpp_sde::DpmPPSde;
pub use euler::Euler;
pub use euler_ancestral::EulerAncestral;
pub use exp_multistep::{ExpMultistep, ExpUpdate, MAX_EXP_ORDER, PolyVariable};
pub use extrapolated_end::{EndVariable, ExtrapolatedEnd, Extrapolation, MAX_EXTRAPOLATION_POINTS};
pub use heun::Heun;
pub use ipndm::Ipndm;
pub use lms::Lms;
pub use noise::{BrownianTreeNoise, GaussianNoise, NoiseSampler};
pub use pc::{Pc, PcPredictor};
pub use registry::{
    EXTRAPOLATED_END_SUFFIX, NoiseSource, SAMPLER_NAMES, SAMPLERS, SamplerInfo, SamplerOptions,
    by_name, find, find_base,
};
pub use rk45::Rk45;
pub use unipc::{UniPc, UniPcVariant};

use scoreflow_noise_schedules::SigmaGrid;

use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// What a sampler reports after each denoiser call on the main grid.
pub struct StepInfo<'a, S> {
    /// Step index into the grid.
    pub i: usize,
    /// σᵢ.
    pub sigma: f64,
    /// The noise level the model was evaluated at (σ̂ ≥ σᵢ with churn).
    pub sigma_hat: f64,
    /// The state the model saw.
    pub x: &'a S,
    /// D(x; σ̂).
    pub denoised: &'a S,
}

/// A per-step observer of a sampler (see [`StepInfo`]).
pub type StepCallback<'a, S> = dyn FnMut(&StepInfo<'_, S>) + 'a;

/// Per-call inputs besides the model, the starting point and the grid.
pub struct SampleContext<'a, S> {
    /// Fresh noise for stochastic samplers (ignored by deterministic ones).
    pub noise: Option<&'a mut dyn NoiseSampler<S>>,
    /// Called once per grid step with the model's view.
    pub callback: Option<&'a mut StepCallback<'a, S>>,
}

impl<S> Default for SampleContext<'_, S> {
    fn default() -> Self {
        Self {
            noise: None,
            callback: None,
        }
    }
}

impl<S> SampleContext<'_, S> {
    pub(crate) fn report(&mut self, info: StepInfo<'_, S>) {
        if let Some(cb) = self.callback.as_mut() {
            cb(&info);
        }
    }

    /// D(x; σ̂) for step `i` of the grid (at σᵢ, evaluated at σ̂ ≥ σᵢ), reported to the callback;
    /// the model's error is returned unreported.
    pub(crate) fn denoise_at(
        &mut self,
        model: &dyn Denoiser<S>,
        x: &S,
        i: usize,
        sigma: f64,
        sigma_hat: f64,
    ) -> Result<S, SolveError> {
        let denoised = model.denoise(x, sigma_hat)?;
        self.report(StepInfo {
            i,
            sigma,
            sigma_hat,
            x,
            denoised: &denoised,
        });
        Ok(denoised)
    }

    /// D(x; σᵢ) for step `i`, reported to the callback.
    pub(crate) fn denoise(
        &mut self,
        model: &dyn Denoiser<S>,
        x: &S,
        i: usize,
        sigma: f64,
    ) -> Result<S, SolveError> {
        self.denoise_at(model, x, i, sigma, sigma)
    }

    pub(crate) fn noise(
        &mut self,
        sampler: &'static str,
        sigma: f64,
        sigma_next: f64,
    ) -> Result<S, SolveError> {
        match self.noise.as_mut() {
            Some(n) => n.sample(sigma, sigma_next),
            None => Err(SolveError::Unsupported {
                solver: sampler,
                reason: "a stochastic sampler needs a noise source",
            }),
        }
    }
}

/// A sampler: integrates from x at σ₀ = `sigmas[0]` down the grid and returns the final state
/// (x̂₀ when the grid ends in 0).
pub trait Sampler<S: State> {
    /// The name the CLI knows it by, e.g. `"dpmpp-2m"`.
    fn name(&self) -> &'static str;

    /// Global order of a deterministic sampler on a smooth problem (with its warm-up), `None` for
    /// stochastic samplers.
    fn order(&self) -> Option<f64>;

    /// Whether the sampler draws noise.
    fn is_stochastic(&self) -> bool {
        self.order().is_none()
    }

    /// Runs the sampler.
    ///
    /// # Errors
    /// Invalid options or grids, a missing noise source, and the model's own failure
    /// ([`SolveError::Model`], returned as soon as the model fails).
    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError>;
}

/// diffusers' threshold for `lower_order_final`: grids of fewer steps than this drop the order of
/// their last two steps (see [`final_order_cap`]).
pub const LOWER_ORDER_FINAL_BELOW: usize = 15;

/// The highest order step `i` of a `steps`-step grid may use under diffusers' `lower_order_final`
/// (`DPMSolverMultistepScheduler`, `lower_order_final=True`): with fewer than
/// [`LOWER_ORDER_FINAL_BELOW`] steps, the last step is first order and the one before it at most
/// second order, which diffusers found to stabilise sampling at ≤ 10 steps (Lu et al. 2022b, §5);
/// otherwise (or when disabled) no cap.
pub fn final_order_cap(i: usize, steps: usize, enabled: bool) -> usize {
    if !enabled || steps >= LOWER_ORDER_FINAL_BELOW {
        usize::MAX
    } else if i + 1 == steps {
        1
    } else if i + 2 == steps {
        2
    } else {
        usize::MAX
    }
}

/// The Karras ODE derivative d = (x − D)/σ (k-diffusion's `to_d`).
pub(crate) fn to_d<S: State>(x: &S, sigma: f64, denoised: &S) -> S {
    x.clone().lincomb(1.0 / sigma, &[(-1.0 / sigma, denoised)])
}

/// Karras et al. 2022, Algorithm 2's churn: γᵢ = min(S_churn/N, √2 − 1) for σᵢ ∈ [S_tmin, S_tmax].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Churn {
    /// S_churn: total added noise over the grid.
    pub s_churn: f64,
    /// S_tmin.
    pub s_tmin: f64,
    /// S_tmax.
    pub s_tmax: f64,
    /// S_noise: scale of the added noise.
    pub s_noise: f64,
}

impl Default for Churn {
    fn default() -> Self {
        Self {
            s_churn: 0.0,
            s_tmin: 0.0,
            s_tmax: f64::INFINITY,
            s_noise: 1.0,
        }
    }
}

impl Churn {
    /// γ for step i of a grid with `steps` steps.
    pub(crate) fn gamma(&self, sigma: f64, steps: usize) -> f64 {
        if self.s_churn > 0.0 && self.s_tmin <= sigma && sigma <= self.s_tmax {
            (self.s_churn / steps as f64).min(2f64.sqrt() - 1.0)
        } else {
            0.0
        }
    }

    /// The start of step `i` of Algorithm 2: raises x from σᵢ to σ̂ᵢ = σᵢ(1 + γᵢ) with fresh
    /// noise of scale S_noise·√(σ̂ᵢ² − σᵢ²), denoises there, reports the step, and returns
    /// (x̂, σ̂ᵢ, d(x̂; σ̂ᵢ)) with d(x; σ) = (x − D(x; σ))/σ.
    pub(crate) fn start_step<S: State>(
        &self,
        name: &'static str,
        model: &dyn Denoiser<S>,
        x: S,
        i: usize,
        sigmas: &[f64],
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<(S, f64, S), SolveError> {
        let (sigma, sigma_next) = (sigmas[i], sigmas[i + 1]);
        let gamma = self.gamma(sigma, sigmas.len() - 1);
        let sigma_hat = sigma * (gamma + 1.0);
        let x = if gamma > 0.0 {
            let eps = ctx.noise(name, sigma, sigma_next)?;
            let scale = self.s_noise * (sigma_hat * sigma_hat - sigma * sigma).sqrt();
            x.add_scaled(scale, &eps)
        } else {
            x
        };
        let denoised = ctx.denoise_at(model, &x, i, sigma, sigma_hat)?;
        let d = to_d(&x, sigma_hat, &denoised);
        Ok((x, sigma_hat, d))
    }
}

/// k-diffusion's `get_ancestral_step`: the (σ_down, σ_up) that split a step σ → σ_next into a
/// deterministic step to σ_down and fresh noise of scale σ_up, with
/// σ_up = min(σ_next, η·√(σ_next²(σ² − σ_next²)/σ²)) and σ_down = √(σ_next² − σ_up²).
pub fn ancestral_step(sigma: f64, sigma_next: f64, eta: f64) -> (f64, f64) {
    if eta == 0.0 {
        return (sigma_next, 0.0);
    }
    let up = (eta
        * (sigma_next * sigma_next * (sigma * sigma - sigma_next * sigma_next) / (sigma * sigma))
            .sqrt())
    .min(sigma_next);
    ((sigma_next * sigma_next - up * up).sqrt(), up)
}
