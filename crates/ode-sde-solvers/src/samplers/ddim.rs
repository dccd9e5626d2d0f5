//! DDIM (Song, Meng & Ermon 2021) in its variance-preserving form, on a σ grid.

use scoreflow_noise_schedules::SigmaGrid;

use super::euler_ancestral::check_nonneg;
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DDIM, "Denoising Diffusion Implicit Models" (Song, Meng & Ermon 2021, eq. (12)), computed as
/// diffusers' `DDIMScheduler.step` does (ε prediction, `clip_sample = False`,
/// `set_alpha_to_one = True`) on the VP process with ᾱ(σ) = 1/(1 + σ²), i.e. αₜ = 1/√(1 + σ²) and
/// x_vp = α·x for the α = 1 ("EDM") state x. Per step σ → σ′ (ᾱ = ᾱ(σ), ᾱ′ = ᾱ(σ′), ᾱ′ = 1 at σ′ = 0):
///
/// ε̂ = (x − D(x; σ))/σ,  x₀̂ = D,
/// σₜ² = η²·(1 − ᾱ′)/(1 − ᾱ)·(1 − ᾱ/ᾱ′),
/// x_vp′ = √ᾱ′·x₀̂ + √(1 − ᾱ′ − σₜ²)·ε̂ + σₜ·z,  z ~ N(0, I),
///
/// and x′ = x_vp′/√ᾱ′ back in EDM variables.
///
/// **DDIM(η) ≡ Euler ancestral(η) for 0 ≤ η ≤ 1.** With 1 − ᾱ = σ²/(1 + σ²) and
/// 1 − ᾱ/ᾱ′ = (σ² − σ′²)/(1 + σ²):
/// σₜ²/ᾱ′ = η²·σ′²(σ² − σ′²)/σ² = σ_up² (k-diffusion's `get_ancestral_step`; its clamp
/// σ_up ≤ σ′ is inactive for η ≤ 1 because (σ² − σ′²)/σ² ≤ 1), and
/// (1 − ᾱ′ − σₜ²)/ᾱ′ = σ′² − σ_up² = σ_down². Dividing x_vp′ by √ᾱ′:
/// x′ = D + σ_down·ε̂ + σ_up·z = x + (σ_down − σ)·(x − D)/σ + σ_up·z,
/// which is [`super::EulerAncestral`] with the same η, s_noise = 1 and the same z. For η = 0 it is
/// the Euler sampler (deterministic, global order 1). For η > 1 the direction coefficient
/// √(1 − ᾱ′ − σₜ²) can be imaginary; such a step returns [`SolveError::InvalidOption`] (diffusers
/// would produce NaN).
///
/// Quantities 1 − ᾱ and 1 − ᾱ/ᾱ′ are evaluated in the cancellation-free forms above rather than
/// by subtraction from 1 (identical in exact arithmetic). Noise is drawn with the arguments
/// (σ, σ′) for every step with σ′ > 0 when η > 0; the final step to σ′ = 0 has σₜ = 0 and draws
/// nothing (diffusers draws a sample there and multiplies it by 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ddim {
    /// η ≥ 0 (0: deterministic DDIM; 1: DDPM's posterior variance).
    pub eta: f64,
}

impl Default for Ddim {
    fn default() -> Self {
        Self { eta: 0.0 }
    }
}

impl<S: State> Sampler<S> for Ddim {
    fn name(&self) -> &'static str {
        "ddim"
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
        let s = sigmas.as_slice();
        for i in 0..s.len() - 1 {
            let (sigma, sigma_next) = (s[i], s[i + 1]);
            let denoised = ctx.denoise(model, &x, i, sigma)?;
            let (sig2, next2) = (sigma * sigma, sigma_next * sigma_next);
            let alpha_prod_prev = 1.0 / (1.0 + next2);
            let beta_prod_t = sig2 / (1.0 + sig2);
            let beta_prod_prev = next2 / (1.0 + next2);
            // 1 − ᾱ/ᾱ′
            let one_minus_ratio = (sig2 - next2) / (1.0 + sig2);
            let variance = beta_prod_prev / beta_prod_t * one_minus_ratio;
            let std_dev = self.eta * variance.sqrt();
            let mut dir2 = beta_prod_prev - std_dev * std_dev;
            if dir2 < 0.0 {
                if self.eta > 1.0 && dir2 < -1e-12 * beta_prod_prev {
                    return Err(SolveError::InvalidOption {
                        name: "eta",
                        value: self.eta,
                        reason: "too large for this grid: DDIM's coefficient 1 - abar_prev - std^2 is negative",
                    });
                }
                dir2 = 0.0;
            }
            // x_vp′ = √ᾱ′·D + √dir2·ε̂ + σₜ·z with ε̂ = (x − D)/σ, and x′ = x_vp′/√ᾱ′: the
            // division by √ᾱ′ is folded into the host coefficients.
            let sqrt_prev = alpha_prod_prev.sqrt();
            let c_eps = dir2.sqrt() / sqrt_prev;
            let mut out = x.lincomb(c_eps / sigma, &[(1.0 - c_eps / sigma, &denoised)]);
            if sigma_next > 0.0 && self.eta > 0.0 {
                let z = ctx.noise("ddim", sigma, sigma_next)?;
                out = out.add_scaled(std_dev / sqrt_prev, &z);
            }
            x = out;
        }
        Ok(x)
    }
}
