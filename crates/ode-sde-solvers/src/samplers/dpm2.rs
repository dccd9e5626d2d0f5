//! k-diffusion's DPM-2: a second-order step with its midpoint in log σ (with optional churn).

use scoreflow_noise_schedules::SigmaGrid;

use super::{Churn, SampleContext, Sampler, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// k-diffusion `sample_dpm_2` ("inspired by DPM-Solver-2 and Algorithm 2 from Karras et al.
/// 2022"): after churn to σ̂ᵢ = σᵢ(1 + γᵢ), with σ_mid = exp((ln σ̂ᵢ + ln σᵢ₊₁)/2),
///
/// x′ = x + (σ_mid − σ̂ᵢ)·d(x; σ̂ᵢ),  x ← x + (σᵢ₊₁ − σ̂ᵢ)·d(x′; σ_mid),
///
/// with d(x; σ) = (x − D(x; σ))/σ; the step to σ = 0 is a plain Euler step (which returns
/// D(x; σ̂)). Two denoiser calls per step, one for the step to 0.
///
/// Deterministic without churn. It is a two-stage Runge–Kutta method in σ whose node
/// c = (σ_mid − σ̂)/(σᵢ₊₁ − σ̂) = 1/2 + O(h) is not exactly the midpoint, so the order-2 condition
/// b₂c₂ = 1/2 holds only up to O(h): the local error is still O(h³), and the global order is 2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dpm2 {
    /// Churn parameters (S_churn, S_tmin, S_tmax, S_noise).
    pub churn: Churn,
}

impl<S: State> Sampler<S> for Dpm2 {
    fn name(&self) -> &'static str {
        "dpm2"
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
            let (xc, sigma_hat, d) = self.churn.start_step("dpm2", model, x, i, s, ctx)?;
            let dt = s[i + 1] - sigma_hat;
            x = if s[i + 1] == 0.0 {
                xc.add_scaled(dt, &d)
            } else {
                let (ln_a, ln_b) = (sigma_hat.ln(), s[i + 1].ln());
                let sigma_mid = (ln_a + 0.5 * (ln_b - ln_a)).exp();
                let x2 = xc.clone().add_scaled(sigma_mid - sigma_hat, &d);
                let d2 = to_d(&x2, sigma_mid, &model.denoise(&x2, sigma_mid)?);
                xc.add_scaled(dt, &d2)
            };
        }
        Ok(x)
    }
}
