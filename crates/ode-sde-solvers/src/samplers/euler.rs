//! Euler steps of the probability-flow ODE (with optional churn).

use scoreflow_noise_schedules::SigmaGrid;

use super::{Churn, SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// Karras et al. 2022, Algorithm 2 with Euler steps (k-diffusion `sample_euler`):
/// x ← x + (σᵢ₊₁ − σ̂ᵢ)·(x − D(x; σ̂ᵢ))/σ̂ᵢ, σ̂ᵢ = σᵢ(1 + γᵢ) after churn noise.
/// Without churn this is DDIM with η = 0 (Song et al. 2021) in σ-space; global order 1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Euler {
    /// Optional churn (stochastic when `s_churn > 0`).
    pub churn: Churn,
}

impl<S: State> Sampler<S> for Euler {
    fn name(&self) -> &'static str {
        "euler"
    }

    fn order(&self) -> Option<f64> {
        (self.churn.s_churn == 0.0).then_some(1.0)
    }

    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        mut x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError> {
        let s = sigmas.as_slice();
        for i in 0..s.len() - 1 {
            let (xc, sigma_hat, d) = self.churn.start_step("euler", model, x, i, s, ctx)?;
            x = xc.add_scaled(s[i + 1] - sigma_hat, &d);
        }
        Ok(x)
    }
}
