//! Ancestral sampling with DPM-Solver++(2S) steps (k-diffusion `sample_dpmpp_2s_ancestral`).

use scoreflow_noise_schedules::SigmaGrid;

use super::euler_ancestral::check_nonneg;
use super::{SampleContext, Sampler, ancestral_step, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DPM-Solver++(2S) ancestral (Lu et al. 2022, "DPM-Solver++", Algorithm 1 with r = 1/2, made
/// ancestral as in k-diffusion's `sample_dpmpp_2s_ancestral`). Each step σᵢ → σᵢ₊₁ takes a
/// single-step second-order exponential-integrator step to σ_down ([`super::ancestral_step`])
/// and then adds s_noise·σ_up·z. With t = −ln σ, h = t(σ_down) − t(σᵢ), s = t + h/2:
///
/// x₂ = (σ_s/σᵢ)·x − (e^{−h/2} − 1)·D(x; σᵢ),
/// x ← (σ_down/σᵢ)·x − (e^{−h} − 1)·D(x₂; σ_s) + s_noise·σ_up·z,
///
/// where σ_s = e^{−s} = √(σᵢσ_down). When σ_down = 0 the step is Euler's (returning D). No noise is
/// added on a step to σ = 0. With η = 0 it is DPM-Solver++(2S), deterministic of global order 2,
/// and draws no noise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmPP2SAncestral {
    /// η ≥ 0 of the ancestral split.
    pub eta: f64,
    /// s_noise ≥ 0: scale of the injected noise.
    pub s_noise: f64,
}

impl Default for DpmPP2SAncestral {
    fn default() -> Self {
        Self {
            eta: 1.0,
            s_noise: 1.0,
        }
    }
}

impl<S: State> Sampler<S> for DpmPP2SAncestral {
    fn name(&self) -> &'static str {
        "dpmpp-2s-ancestral"
    }

    fn order(&self) -> Option<f64> {
        (self.eta == 0.0).then_some(2.0)
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
        let sigma_fn = |t: f64| (-t).exp();
        let t_fn = |sigma: f64| -sigma.ln();
        let s = sigmas.as_slice();
        for i in 0..s.len() - 1 {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            let (sigma_down, sigma_up) = ancestral_step(s[i], s[i + 1], self.eta);
            if sigma_down == 0.0 {
                let d = to_d(&x, s[i], &denoised);
                x = x.add_scaled(sigma_down - s[i], &d);
            } else {
                let (t, t_next) = (t_fn(s[i]), t_fn(sigma_down));
                let r = 0.5;
                let h = t_next - t;
                let s_mid = t + r * h;
                let x_2 = x.clone().lincomb(
                    sigma_fn(s_mid) / sigma_fn(t),
                    &[(-(-h * r).exp_m1(), &denoised)],
                );
                let denoised_2 = model.denoise(&x_2, sigma_fn(s_mid))?;
                x = x.lincomb(
                    sigma_fn(t_next) / sigma_fn(t),
                    &[(-(-h).exp_m1(), &denoised_2)],
                );
            }
            if s[i + 1] > 0.0 && self.eta != 0.0 {
                let z = ctx.noise("dpmpp-2s-ancestral", s[i], s[i + 1])?;
                x = x.add_scaled(self.s_noise * sigma_up, &z);
            }
        }
        Ok(x)
    }
}
