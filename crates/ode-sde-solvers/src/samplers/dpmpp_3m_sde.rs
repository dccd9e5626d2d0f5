//! DPM-Solver++(3M) SDE (k-diffusion `sample_dpmpp_3m_sde`).

use scoreflow_noise_schedules::SigmaGrid;

use super::euler_ancestral::check_nonneg;
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DPM-Solver++(3M) SDE (Lu et al. 2022, "DPM-Solver++": the third-order multistep solver in
/// data-prediction form, applied to the reverse SDE as in k-diffusion's `sample_dpmpp_3m_sde`).
/// With λ = −ln σ, h = λᵢ₊₁ − λᵢ, h_η = (1 + η)h, the previous outputs D₁, D₂ and step sizes
/// h₁, h₂ (r₀ = h₁/h, r₁ = h₂/h), φ₂ = (e^{−h_η} − 1)/h_η + 1 and φ₃ = φ₂/h_η − ½, each step
/// σᵢ → σᵢ₊₁ > 0 is
///
/// x ← e^{−h_η}·x + (1 − e^{−h_η})·Dᵢ + φ₂·d₁ − φ₃·d₂ + s_noise·σᵢ₊₁·√(1 − e^{−2ηh})·z,
///
/// d₁,₀ = (Dᵢ − D₁)/r₀, d₁,₁ = (D₁ − D₂)/r₁, d₁ = d₁,₀ + (d₁,₀ − d₁,₁)·r₀/(r₀ + r₁),
/// d₂ = (d₁,₀ − d₁,₁)/(r₀ + r₁); the second step uses only φ₂·(Dᵢ − D₁)/r₀ and the first
/// neither (the warm-up); a step to σ = 0 returns Dᵢ. Noise is drawn with arguments (σᵢ, σᵢ₊₁),
/// only when η ≠ 0. With η = 0 it is DPM-Solver++(3M): deterministic, global order 2 because of
/// the first-order first step (see the module docs). k-diffusion's default noise is a Brownian
/// tree ([`super::BrownianTreeNoise`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmPP3MSde {
    /// η ≥ 0 (0: the ODE solver; 1: the reverse SDE).
    pub eta: f64,
    /// s_noise ≥ 0: scale of the injected noise.
    pub s_noise: f64,
}

impl Default for DpmPP3MSde {
    fn default() -> Self {
        Self {
            eta: 1.0,
            s_noise: 1.0,
        }
    }
}

impl<S: State> Sampler<S> for DpmPP3MSde {
    fn name(&self) -> &'static str {
        "dpmpp-3m-sde"
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
        let s = sigmas.as_slice();
        // (D₁, h₁) and (D₂, h₂): the last two steps' denoised values and step sizes.
        let mut prev_1: Option<(S, f64)> = None;
        let mut prev_2: Option<(S, f64)> = None;
        for i in 0..s.len() - 1 {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                // Denoising step (a grid has at most one 0, at its end).
                x = denoised;
                break;
            }
            let (t, s_next) = (-s[i].ln(), -s[i + 1].ln());
            let h = s_next - t;
            let h_eta = h * (self.eta + 1.0);
            let a = (-h_eta).exp();
            let c = -(-h_eta).exp_m1();
            let phi_2 = (-h_eta).exp_m1() / h_eta + 1.0;
            x = match (&prev_1, &prev_2) {
                (Some((d_1, h_1)), Some((d_2, h_2))) => {
                    let (r0, r1) = (h_1 / h, h_2 / h);
                    let phi_3 = phi_2 / h_eta - 0.5;
                    // φ₂·d₁ − φ₃·d₂ = A·d₁,₀ + B·d₁,₁.
                    let q = r0 / (r0 + r1);
                    let big_a = phi_2 * (1.0 + q) - phi_3 / (r0 + r1);
                    let big_b = -phi_2 * q + phi_3 / (r0 + r1);
                    x.lincomb(
                        a,
                        &[
                            (c + big_a / r0, &denoised),
                            (-big_a / r0 + big_b / r1, d_1),
                            (-big_b / r1, d_2),
                        ],
                    )
                }
                (Some((d_1, h_1)), None) => {
                    let r = h_1 / h;
                    x.lincomb(a, &[(c + phi_2 / r, &denoised), (-phi_2 / r, d_1)])
                }
                _ => x.lincomb(a, &[(c, &denoised)]),
            };
            if self.eta != 0.0 {
                let z = ctx.noise("dpmpp-3m-sde", s[i], s[i + 1])?;
                let scale = s[i + 1] * (-(-2.0 * h * self.eta).exp_m1()).sqrt() * self.s_noise;
                x = x.add_scaled(scale, &z);
            }
            prev_2 = prev_1.take();
            prev_1 = Some((denoised, h));
        }
        Ok(x)
    }
}
