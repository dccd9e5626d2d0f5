//! Heun steps of the probability-flow ODE (EDM Algorithm 2).

use scoreflow_noise_schedules::SigmaGrid;

use super::{Churn, SampleContext, Sampler, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// Karras et al. 2022, Algorithm 2 (k-diffusion `sample_heun`): after churn to σ̂ᵢ, an Euler
/// predictor x′ = x + (σᵢ₊₁ − σ̂ᵢ)dᵢ and the trapezoidal corrector
/// x ← x + (σᵢ₊₁ − σ̂ᵢ)(dᵢ + d(x′; σᵢ₊₁))/2; the step to σ = 0 is a plain Euler step.
/// Deterministic without churn; global order 2 (the final Euler step acts at σ_min, whose O(σ_min²)
/// error does not shrink with the step count).
#[derive(Clone, Copy, Debug, Default)]
pub struct Heun {
    /// Churn parameters (S_churn, S_tmin, S_tmax, S_noise).
    pub churn: Churn,
}

impl<S: State> Sampler<S> for Heun {
    fn name(&self) -> &'static str {
        "heun"
    }

    fn order(&self) -> Option<f64> {
        (self.churn.s_churn == 0.0).then_some(2.0)
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
            let (xc, sigma_hat, d) = self.churn.start_step("heun", model, x, i, s, ctx)?;
            let dt = s[i + 1] - sigma_hat;
            x = if s[i + 1] == 0.0 {
                xc.add_scaled(dt, &d)
            } else {
                let x2 = xc.clone().add_scaled(dt, &d);
                let d2 = to_d(&x2, s[i + 1], &model.denoise(&x2, s[i + 1])?);
                xc.lincomb(1.0, &[(0.5 * dt, &d), (0.5 * dt, &d2)])
            };
        }
        Ok(x)
    }
}
