//! DDPM ancestral sampling (Ho, Jain & Abbeel 2020) on a σ grid.

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DDPM ancestral sampling, "Denoising Diffusion Probabilistic Models" (Ho, Jain & Abbeel 2020,
/// eqs. (6)–(7)), computed as diffusers' `DDPMScheduler.step` does (ε prediction,
/// `variance_type = "fixed_small"`, `clip_sample = False`) on the VP process with
/// ᾱ(σ) = 1/(1 + σ²) and x_vp = √ᾱ·x. Per step σ → σ′ (ᾱ′ = 1 at σ′ = 0), with the effective
/// αₜ = ᾱ/ᾱ′ and βₜ = 1 − αₜ of a possibly non-consecutive step:
///
/// x₀̂ = D(x; σ),
/// μ̃ = √ᾱ′·βₜ/(1 − ᾱ)·x₀̂ + √αₜ·(1 − ᾱ′)/(1 − ᾱ)·x_vp   (the posterior q(x_vp′ | x_vp, x₀) mean),
/// β̃ = max((1 − ᾱ′)/(1 − ᾱ)·βₜ, 10⁻²⁰)                    (its variance, "fixed_small"),
/// x_vp′ = μ̃ + √β̃·z,  z ~ N(0, I)   (no noise on the final step, diffusers' `t > 0`),
///
/// then x′ = x_vp′/√ᾱ′. In σ-space this is x′ = (σ′²/σ²)·x + (1 − σ′²/σ²)·D + σ′√(1 − σ′²/σ²)·z,
/// i.e. [`super::Ddim`] with η = 1 and Euler ancestral with η = 1 (the posterior variance β̃ is
/// DDIM's σₜ² at η = 1). Always stochastic. 1 − ᾱ, 1 − ᾱ′ and βₜ are evaluated in
/// cancellation-free forms (σ²/(1 + σ²) etc.), identical to diffusers' in exact arithmetic.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ddpm;

impl<S: State> Sampler<S> for Ddpm {
    fn name(&self) -> &'static str {
        "ddpm"
    }

    fn order(&self) -> Option<f64> {
        None
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
            let (sigma, sigma_next) = (s[i], s[i + 1]);
            let denoised = ctx.denoise(model, &x, i, sigma)?;
            let (sig2, next2) = (sigma * sigma, sigma_next * sigma_next);
            let alpha_prod_t = 1.0 / (1.0 + sig2);
            let alpha_prod_prev = 1.0 / (1.0 + next2);
            let beta_prod_t = sig2 / (1.0 + sig2);
            let beta_prod_prev = next2 / (1.0 + next2);
            let current_alpha = (1.0 + next2) / (1.0 + sig2);
            let current_beta = (sig2 - next2) / (1.0 + sig2);
            let c_x0 = alpha_prod_prev.sqrt() * current_beta / beta_prod_t;
            let c_xt = current_alpha.sqrt() * beta_prod_prev / beta_prod_t;
            // In EDM variables: x_vp = √ᾱ·x in, x = x_vp′/√ᾱ′ out.
            let inv_prev = 1.0 / alpha_prod_prev.sqrt();
            let mut out = x.lincomb(
                c_xt * alpha_prod_t.sqrt() * inv_prev,
                &[(c_x0 * inv_prev, &denoised)],
            );
            if sigma_next > 0.0 {
                let variance = (beta_prod_prev / beta_prod_t * current_beta).max(1e-20);
                let z = ctx.noise("ddpm", sigma, sigma_next)?;
                out = out.add_scaled(variance.sqrt() * inv_prev, &z);
            }
            x = out;
        }
        Ok(x)
    }
}
