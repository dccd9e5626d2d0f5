//! DPM-Solver++(2M): the second-order multistep data-prediction solver.

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler, final_order_cap};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DPM-Solver++(2M) (Lu et al. 2022b, "DPM-Solver++: Fast Solver for Guided Sampling of
/// Diffusion Probabilistic Models", Algorithm 2; k-diffusion `sample_dpmpp_2m`). With
/// t = −ln σ, h = tᵢ₊₁ − tᵢ, r = (tᵢ − tᵢ₋₁)/h and Dᵢ = D(xᵢ; σᵢ):
///
/// xᵢ₊₁ = (σᵢ₊₁/σᵢ)·xᵢ − expm1(−h)·((1 + 1/(2r))·Dᵢ − (1/(2r))·Dᵢ₋₁),
///
/// except that the first step (no Dᵢ₋₁ yet) and the step to σ = 0 use the first-order update
/// xᵢ₊₁ = (σᵢ₊₁/σᵢ)·xᵢ − expm1(−h)·Dᵢ (DDIM; in these α = 1 variables it is exactly the Euler
/// step), which for σᵢ₊₁ = 0 returns Dᵢ. One denoiser call per step.
///
/// With `lower_order_final` (diffusers' default) a grid of fewer than
/// [`LOWER_ORDER_FINAL_BELOW`](super::LOWER_ORDER_FINAL_BELOW) steps also takes its last step at
/// first order ([`final_order_cap`]); on a grid ending in 0 that step is first order anyway, so
/// the option only changes grids that stop at σ_min > 0.
///
/// Global order 2: the interior steps are second order and the first-order first step's O(h²)
/// local error is of the same order as the global error.
#[derive(Clone, Copy, Debug)]
pub struct DpmPP2M {
    /// diffusers' `lower_order_final` (default `true`): a first-order last step below 15 steps.
    pub lower_order_final: bool,
}

impl Default for DpmPP2M {
    fn default() -> Self {
        Self {
            lower_order_final: true,
        }
    }
}

impl<S: State> Sampler<S> for DpmPP2M {
    fn name(&self) -> &'static str {
        "dpmpp-2m"
    }

    fn order(&self) -> Option<f64> {
        Some(2.0)
    }

    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        mut x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError> {
        let s = sigmas.as_slice();
        let steps = s.len() - 1;
        let mut old_denoised: Option<S> = None;
        for i in 0..steps {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                // (0/σᵢ)·x − expm1(−∞)·Dᵢ = Dᵢ.
                x = denoised;
                break;
            }
            let (t, t_next) = (-s[i].ln(), -s[i + 1].ln());
            let h = t_next - t;
            let ratio = s[i + 1] / s[i];
            let a = -(-h).exp_m1();
            x = match &old_denoised {
                Some(old) if final_order_cap(i, steps, self.lower_order_final) >= 2 => {
                    let r = (t + s[i - 1].ln()) / h;
                    let w = 1.0 / (2.0 * r);
                    x.lincomb(ratio, &[(a * (1.0 + w), &denoised), (-a * w, old)])
                }
                _ => x.lincomb(ratio, &[(a, &denoised)]),
            };
            old_denoised = Some(denoised);
        }
        Ok(x)
    }
}
