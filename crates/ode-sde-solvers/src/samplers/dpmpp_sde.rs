//! DPM-Solver++ SDE (k-diffusion `sample_dpmpp_sde`).

use scoreflow_noise_schedules::SigmaGrid;

use super::euler_ancestral::check_nonneg;
use super::{SampleContext, Sampler, ancestral_step, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// Stochastic DPM-Solver++ (Lu et al. 2022, "DPM-Solver++"; the two-stage stochastic variant of
/// k-diffusion's `sample_dpmpp_sde`, after Karras et al. 2022's ancestral split). With t = −ln σ,
/// h = t(σᵢ₊₁) − t(σᵢ), s = t + r·h and fac = 1/(2r), each step σᵢ → σᵢ₊₁ > 0 is
///
/// 1. (σ_d, σ_u) = ancestral_step(σᵢ, e^{−s}, η), s′ = t(σ_d):
///    x₂ = (σ_d/σᵢ)·x − (e^{t−s′} − 1)·D(x; σᵢ) + s_noise·σ_u·z₁;
/// 2. (σ_d, σ_u) = ancestral_step(σᵢ, σᵢ₊₁, η), t′ = t(σ_d), D_d = (1 − fac)·D(x; σᵢ) + fac·D(x₂; e^{−s}):
///    x ← (σ_d/σᵢ)·x − (e^{t−t′} − 1)·D_d + s_noise·σ_u·z₂,
///
/// and a step to σ = 0 is Euler's (returning D). Two model calls and two draws per step, the first
/// with arguments (σᵢ, e^{−s}), the second with (σᵢ, σᵢ₊₁) (k-diffusion passes e^{−t(σ)}, equal
/// to σ up to rounding; the grid values keep a Brownian tree's queries inside its interval).
/// With η = 0 it is DPM-Solver++(2S) with midpoint ratio r: deterministic, global order 2, and
/// draws no noise. k-diffusion's default noise is a Brownian tree ([`super::BrownianTreeNoise`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmPPSde {
    /// η ≥ 0 of the ancestral splits.
    pub eta: f64,
    /// s_noise ≥ 0: scale of the injected noise.
    pub s_noise: f64,
    /// r > 0: where the intermediate stage sits in log σ (1/2 by default).
    pub r: f64,
}

impl Default for DpmPPSde {
    fn default() -> Self {
        Self {
            eta: 1.0,
            s_noise: 1.0,
            r: 0.5,
        }
    }
}

impl<S: State> Sampler<S> for DpmPPSde {
    fn name(&self) -> &'static str {
        "dpmpp-sde"
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
        if !(self.r.is_finite() && self.r > 0.0) {
            return Err(SolveError::InvalidOption {
                name: "r",
                value: self.r,
                reason: "must be finite and > 0",
            });
        }
        let sigma_fn = |t: f64| (-t).exp();
        let t_fn = |sigma: f64| -sigma.ln();
        let stochastic = self.eta != 0.0;
        let s = sigmas.as_slice();
        for i in 0..s.len() - 1 {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                let d = to_d(&x, s[i], &denoised);
                x = x.add_scaled(s[i + 1] - s[i], &d);
                continue;
            }
            let (t, t_next) = (t_fn(s[i]), t_fn(s[i + 1]));
            let h = t_next - t;
            let s_mid = t + h * self.r;
            let fac = 1.0 / (2.0 * self.r);

            // Stage 1: to e^{−s}.
            let (sd, su) = ancestral_step(sigma_fn(t), sigma_fn(s_mid), self.eta);
            let s_ = t_fn(sd);
            let mut x_2 = x.clone().lincomb(
                sigma_fn(s_) / sigma_fn(t),
                &[(-(t - s_).exp_m1(), &denoised)],
            );
            if stochastic {
                let z = ctx.noise("dpmpp-sde", s[i], sigma_fn(s_mid))?;
                x_2 = x_2.add_scaled(self.s_noise * su, &z);
            }
            let denoised_2 = model.denoise(&x_2, sigma_fn(s_mid))?;

            // Stage 2: to σᵢ₊₁ with the combined denoiser.
            let (sd, su) = ancestral_step(sigma_fn(t), sigma_fn(t_next), self.eta);
            let t_next_ = t_fn(sd);
            let c = -(t - t_next_).exp_m1();
            x = x.lincomb(
                sigma_fn(t_next_) / sigma_fn(t),
                &[(c * (1.0 - fac), &denoised), (c * fac, &denoised_2)],
            );
            if stochastic {
                let z = ctx.noise("dpmpp-sde", s[i], s[i + 1])?;
                x = x.add_scaled(self.s_noise * su, &z);
            }
        }
        Ok(x)
    }
}
