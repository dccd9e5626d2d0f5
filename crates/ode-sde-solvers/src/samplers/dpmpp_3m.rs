//! DPM-Solver++(3M): the third-order multistep data-prediction solver (η = 0).

use scoreflow_noise_schedules::SigmaGrid;

use super::{LOWER_ORDER_FINAL_BELOW, SampleContext, Sampler, final_order_cap};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DPM-Solver++(3M) (Lu et al. 2022b, "DPM-Solver++: Fast Solver for Guided Sampling of
/// Diffusion Probabilistic Models", §4 / App. multistep third order), as k-diffusion's
/// `sample_dpmpp_3m_sde` with η = 0. With t = −ln σ, h = tᵢ₊₁ − tᵢ, the previous step lengths
/// h₁ (tᵢ − tᵢ₋₁) and h₂ (tᵢ₋₁ − tᵢ₋₂), Dᵢ = D(xᵢ; σᵢ), φ₂ = expm1(−h)/h + 1, φ₃ = φ₂/h − 1/2:
///
/// xᵢ₊₁ = e^{−h}·xᵢ − expm1(−h)·Dᵢ + φ₂·d₁ − φ₃·d₂,
///
/// where, with r₀ = h₁/h, r₁ = h₂/h, δ₀ = (Dᵢ − Dᵢ₋₁)/r₀ and δ₁ = (Dᵢ₋₁ − Dᵢ₋₂)/r₁,
/// d₁ = δ₀ + (δ₀ − δ₁)·r₀/(r₀ + r₁) and d₂ = (δ₀ − δ₁)/(r₀ + r₁). The warm-up uses what
/// history there is: the first step is first order (no φ terms; the DDIM / Euler step), the second
/// adds only φ₂·(Dᵢ − Dᵢ₋₁)/r₀. The step to σ = 0 returns Dᵢ. One denoiser call per step.
///
/// With `lower_order_final` (diffusers' default; k-diffusion has no such option) a grid of fewer
/// than [`LOWER_ORDER_FINAL_BELOW`](super::LOWER_ORDER_FINAL_BELOW) steps takes its last step at
/// first order and the one before at second order ([`final_order_cap`]) with diffusers'
/// second-order update (its default `solver_type="midpoint"`, the DPM-Solver++(2M) formula), as
/// `DPMSolverMultistepScheduler(solver_order=3)` does; from 15 steps on the option changes
/// nothing and the sampler is k-diffusion's. Below 15 steps the warm-up's second step also takes
/// diffusers' midpoint formula instead of k-diffusion's φ₂ one, so that the sampler is
/// diffusers' exactly (from 15 steps on the two agree to float32 rounding on the parity test's
/// Gaussian: the warm-up happens near σ_max, where D barely moves).
///
/// Global order 2: the interior steps are third order, but the first step is first order and its
/// O(h²) local error is never recovered (the second step's O(h³) error would allow order 3).
#[derive(Clone, Copy, Debug)]
pub struct DpmPP3M {
    /// diffusers' `lower_order_final` (default `true`): orders 2 then 1 for the last two steps
    /// below 15 steps.
    pub lower_order_final: bool,
}

impl Default for DpmPP3M {
    fn default() -> Self {
        Self {
            lower_order_final: true,
        }
    }
}

impl<S: State> Sampler<S> for DpmPP3M {
    fn name(&self) -> &'static str {
        "dpmpp-3m"
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
        // (Dᵢ₋₁, h₁) and (Dᵢ₋₂, h₂).
        let mut hist1: Option<(S, f64)> = None;
        let mut hist2: Option<(S, f64)> = None;
        let steps = s.len() - 1;
        for i in 0..steps {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                x = denoised;
                break;
            }
            let h = s[i].ln() - s[i + 1].ln();
            let decay = (-h).exp();
            let a = -(-h).exp_m1();
            let phi_2 = (-h).exp_m1() / h + 1.0;
            let cap = final_order_cap(i, steps, self.lower_order_final);
            // Below 15 steps `lower_order_final` reproduces diffusers, whose second-order steps
            // (warm-up included) all use the midpoint formula.
            let diffusers = self.lower_order_final && steps < LOWER_ORDER_FINAL_BELOW;
            x = match (&hist1, &hist2) {
                (Some((d_1, h_1)), Some((d_2, h_2))) if cap >= 3 => {
                    let phi_3 = phi_2 / h - 0.5;
                    let (r0, r1) = (h_1 / h, h_2 / h);
                    // φ₂·d₁ − φ₃·d₂ = A·δ₀ + B·δ₁.
                    let big_a = phi_2 * (1.0 + r0 / (r0 + r1)) - phi_3 / (r0 + r1);
                    let big_b = -phi_2 * r0 / (r0 + r1) + phi_3 / (r0 + r1);
                    x.lincomb(
                        decay,
                        &[
                            (a + big_a / r0, &denoised),
                            (-big_a / r0 + big_b / r1, d_1),
                            (-big_b / r1, d_2),
                        ],
                    )
                }
                (Some((d_1, h_1)), hist_2) if cap == 2 || (diffusers && hist_2.is_none()) => {
                    // diffusers' second-order update (solver_type "midpoint"), as in DPM++(2M).
                    let w = h / (2.0 * h_1);
                    x.lincomb(decay, &[(a * (1.0 + w), &denoised), (-a * w, d_1)])
                }
                (Some((d_1, h_1)), _) if cap > 2 => {
                    let r = h_1 / h;
                    x.lincomb(decay, &[(a + phi_2 / r, &denoised), (-phi_2 / r, d_1)])
                }
                _ => x.lincomb(decay, &[(a, &denoised)]),
            };
            hist2 = hist1.take();
            hist1 = Some((denoised, h));
        }
        Ok(x)
    }
}
