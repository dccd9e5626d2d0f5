//! Predictor–corrector sampling (score_sde's `pc_sampler`) in VE/σ variables.

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The predictor of [`Pc`] (score_sde's `predictor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PcPredictor {
    /// `ReverseDiffusionPredictor`: the reverse of the discretised VE SDE,
    /// G² = σᵢ² − σᵢ₊₁².
    #[default]
    ReverseDiffusion,
    /// `EulerMaruyamaPredictor` on the VE SDE with geometric σ(t) (uniform steps in ln σ):
    /// G² = g(tᵢ)²·Δt = 2σᵢ²·ln(σᵢ/σᵢ₊₁); on a step to σ = 0 (ln σ = −∞) it uses
    /// G² = σᵢ², the discrete VE SDE's last transition.
    EulerMaruyama,
}

/// Predictor–corrector sampling (Song et al. 2021, "Score-Based Generative Modeling through
/// Stochastic Differential Equations", Algorithms 2 and 4, as score_sde's `pc_sampler` with
/// `LangevinCorrector`) on the VE SDE in σ variables, with the score ∇ log p_σ(x) = (D(x; σ) − x)/σ².
/// At each grid level σᵢ, first `corrector_steps` Langevin steps at σᵢ:
///
/// g = (D(x; σᵢ) − x)/σᵢ², z ~ N(0, I), ε = 2α·(r·‖z‖/‖g‖)² (α = 1 for VE),
/// x ← x + ε·g + √(2ε)·z,
///
/// where r is the signal-to-noise ratio `snr` and ‖·‖ is the mean over the batch of per-sample
/// Euclidean norms ([`State::mean_sample_norm`]; this reads the state back each corrector step,
/// the one host synchronisation inside a sampler loop; as in score_sde the step size couples
/// the samples of a batch, so unlike the other samplers a sample's trajectory depends on its
/// batch). Then the predictor σᵢ → σᵢ₊₁:
///
/// x_mean = x + G²·(D(x; σᵢ) − x)/σᵢ², x ← x_mean + G·z,
///
/// with G² from [`PcPredictor`]. The result is the last predictor's x_mean (score_sde's
/// `denoise=True` noise removal); on a grid ending in 0 that is D(x; σ_last) for either predictor.
///
/// Noise: every draw, corrector or predictor, at level i passes (σᵢ, σᵢ₊₁) to the noise source,
/// in score_sde's order (per corrector step after its model call; then the predictor's after its
/// model call). The draws must be independent, so use [`super::GaussianNoise`]: a
/// [`super::BrownianTreeNoise`] would return the same increment for every draw at one level. The
/// final predictor's draw, whose x score_sde discards, is not made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pc {
    /// Predictor.
    pub predictor: PcPredictor,
    /// Langevin signal-to-noise ratio r ≥ 0 (score_sde's `snr`; 0.16 for its VE models).
    pub snr: f64,
    /// Langevin steps per level (score_sde's `n_steps`; 0 gives the predictor alone).
    pub corrector_steps: usize,
}

impl Default for Pc {
    fn default() -> Self {
        Self {
            predictor: PcPredictor::ReverseDiffusion,
            snr: 0.16,
            corrector_steps: 1,
        }
    }
}

impl<S: State> Sampler<S> for Pc {
    fn name(&self) -> &'static str {
        "pc"
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
        if !(self.snr.is_finite() && self.snr >= 0.0) {
            return Err(SolveError::InvalidOption {
                name: "snr",
                value: self.snr,
                reason: "must be finite and >= 0",
            });
        }
        let s = sigmas.as_slice();
        let steps = s.len() - 1;
        let alpha = 1.0;
        for i in 0..steps {
            let (sigma, sigma_next) = (s[i], s[i + 1]);
            let inv_var = 1.0 / (sigma * sigma);

            // Langevin corrector at σᵢ.
            for _ in 0..self.corrector_steps {
                let denoised = model.denoise(&x, sigma)?;
                let grad = denoised.lincomb(inv_var, &[(-inv_var, &x)]);
                let z = ctx.noise("pc", sigma, sigma_next)?;
                let grad_norm = grad.mean_sample_norm();
                let noise_norm = z.mean_sample_norm();
                let step_size = (self.snr * noise_norm / grad_norm).powi(2) * 2.0 * alpha;
                x = x.lincomb(1.0, &[(step_size, &grad), ((step_size * 2.0).sqrt(), &z)]);
            }

            // Predictor σᵢ → σᵢ₊₁.
            let denoised = ctx.denoise(model, &x, i, sigma)?;
            let g2 = match self.predictor {
                PcPredictor::ReverseDiffusion => sigma * sigma - sigma_next * sigma_next,
                PcPredictor::EulerMaruyama if sigma_next > 0.0 => {
                    2.0 * sigma * sigma * (sigma / sigma_next).ln()
                }
                PcPredictor::EulerMaruyama => sigma * sigma,
            };
            let c = g2 * inv_var;
            let x_mean = x.lincomb(1.0 - c, &[(c, &denoised)]);
            if i + 1 == steps {
                return Ok(x_mean);
            }
            let z = ctx.noise("pc", sigma, sigma_next)?;
            x = x_mean.add_scaled(g2.sqrt(), &z);
        }
        Ok(x)
    }
}
