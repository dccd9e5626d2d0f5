//! DPM-Solver++(2M) SDE (k-diffusion `sample_dpmpp_2m_sde`).

use scoreflow_noise_schedules::SigmaGrid;

use super::euler_ancestral::check_nonneg;
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// How [`DpmPP2MSde`] forms its second-order correction (k-diffusion's `solver_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DpmPP2MSdeSolver {
    /// ½·(1 − e^{−(1+η)h})·(D − D_prev)/r (the DPM-Solver++(2M) correction; k-diffusion's default).
    #[default]
    Midpoint,
    /// ((1 − e^{−(1+η)h})/(−(1+η)h) + 1)·(D − D_prev)/r (the φ₂-weighted "Heun" correction).
    Heun,
}

/// DPM-Solver++(2M) SDE (Lu et al. 2022, "DPM-Solver++", §4 and Appendix: the multistep
/// second-order solver of the reverse SDE in data-prediction form; k-diffusion's
/// `sample_dpmpp_2m_sde`). With λ = −ln σ, h = λᵢ₊₁ − λᵢ, and D_prev, h_prev from the previous
/// step (r = h_prev/h), each step σᵢ → σᵢ₊₁ > 0 is
///
/// x ← (σᵢ₊₁/σᵢ)·e^{−ηh}·x + (1 − e^{−(1+η)h})·Dᵢ + correction + s_noise·σᵢ₊₁·√(1 − e^{−2ηh})·z,
///
/// with the correction of [`DpmPP2MSdeSolver`] (none on the first step, the first-order warm-up),
/// and a step to σ = 0 returns Dᵢ. Noise is drawn with arguments (σᵢ, σᵢ₊₁), only when η ≠ 0.
/// With η = 0 and the midpoint correction it is DPM-Solver++(2M); both variants are then
/// deterministic of global order 2 (the Euler-like warm-up caps it). k-diffusion's default noise
/// is a Brownian tree ([`super::BrownianTreeNoise`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmPP2MSde {
    /// η ≥ 0 (0: the ODE solver; 1: the reverse SDE).
    pub eta: f64,
    /// s_noise ≥ 0: scale of the injected noise.
    pub s_noise: f64,
    /// Second-order correction.
    pub solver: DpmPP2MSdeSolver,
}

impl Default for DpmPP2MSde {
    fn default() -> Self {
        Self {
            eta: 1.0,
            s_noise: 1.0,
            solver: DpmPP2MSdeSolver::Midpoint,
        }
    }
}

impl<S: State> Sampler<S> for DpmPP2MSde {
    fn name(&self) -> &'static str {
        "dpmpp-2m-sde"
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
        let mut old_denoised: Option<S> = None;
        let mut h_last = f64::NAN;
        for i in 0..s.len() - 1 {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                // Denoising step (a grid has at most one 0, at its end).
                x = denoised;
                break;
            }
            let (t, s_next) = (-s[i].ln(), -s[i + 1].ln());
            let h = s_next - t;
            let eta_h = self.eta * h;
            let a = s[i + 1] / s[i] * (-eta_h).exp();
            let c = -(-h - eta_h).exp_m1();
            x = match &old_denoised {
                None => x.lincomb(a, &[(c, &denoised)]),
                Some(old) => {
                    let r = h_last / h;
                    let k = match self.solver {
                        DpmPP2MSdeSolver::Heun => (c / (-h - eta_h) + 1.0) * (1.0 / r),
                        DpmPP2MSdeSolver::Midpoint => 0.5 * c * (1.0 / r),
                    };
                    x.lincomb(a, &[(c + k, &denoised), (-k, old)])
                }
            };
            if self.eta != 0.0 {
                let z = ctx.noise("dpmpp-2m-sde", s[i], s[i + 1])?;
                let scale = s[i + 1] * (-(-2.0 * eta_h).exp_m1()).sqrt() * self.s_noise;
                x = x.add_scaled(scale, &z);
            }
            old_denoised = Some(denoised);
            h_last = h;
        }
        Ok(x)
    }
}
