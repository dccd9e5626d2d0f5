//! Ancestral sampling with Euler steps (k-diffusion `sample_euler_ancestral`).

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler, ancestral_step, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// Ancestral sampling with Euler steps (Ho et al. 2020's ancestral sampling in the σ-space form of
/// k-diffusion's `sample_euler_ancestral`; Karras et al. 2022). Each step σᵢ → σᵢ₊₁ splits into a
/// deterministic Euler step to σ_down and fresh noise of scale σ_up ([`ancestral_step`]):
///
/// x ← x + (σ_down − σᵢ)·(x − D(x; σᵢ))/σᵢ + s_noise·σ_up·z,  z ~ N(0, I),
///
/// with σ_up = min(σᵢ₊₁, η·√(σᵢ₊₁²(σᵢ² − σᵢ₊₁²)/σᵢ²)), σ_down = √(σᵢ₊₁² − σ_up²). No noise is added
/// on a step to σ = 0 (which returns D). For 0 ≤ η ≤ 1 this is DDIM(η) (Song et al. 2021) in
/// σ-space (see [`super::Ddim`]); η = 1 is DDPM's ancestral sampler. With η = 0 it is the Euler
/// sampler (deterministic, global order 1) and draws no noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EulerAncestral {
    /// η ≥ 0: the fraction of the step's posterior noise that is re-injected.
    pub eta: f64,
    /// s_noise ≥ 0: scale of the injected noise.
    pub s_noise: f64,
}

impl Default for EulerAncestral {
    fn default() -> Self {
        Self {
            eta: 1.0,
            s_noise: 1.0,
        }
    }
}

/// Rejects a negative, NaN or infinite value of a sampler option.
pub(super) fn check_nonneg(name: &'static str, value: f64) -> Result<(), SolveError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(SolveError::InvalidOption {
            name,
            value,
            reason: "must be finite and >= 0",
        })
    }
}

impl<S: State> Sampler<S> for EulerAncestral {
    fn name(&self) -> &'static str {
        "euler-ancestral"
    }

    fn order(&self) -> Option<f64> {
        (self.eta == 0.0).then_some(1.0)
    }

    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        mut x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError> {
        check_nonneg("eta", self.eta)?;
        check_nonneg("s_noise", self.s_noise)?;
        let s = sigmas.as_slice();
        for i in 0..s.len() - 1 {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            let (sigma_down, sigma_up) = ancestral_step(s[i], s[i + 1], self.eta);
            let d = to_d(&x, s[i], &denoised);
            x = x.add_scaled(sigma_down - s[i], &d);
            // k-diffusion draws here even for η = 0, where the draw is multiplied by σ_up = 0;
            // skipping it changes no output and lets η = 0 run without a noise source.
            if s[i + 1] > 0.0 && self.eta != 0.0 {
                let z = ctx.noise("euler-ancestral", s[i], s[i + 1])?;
                x = x.add_scaled(self.s_noise * sigma_up, &z);
            }
        }
        Ok(x)
    }
}
