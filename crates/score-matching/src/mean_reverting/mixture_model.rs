//! The exact mean-reverting model of Gaussian-mixture data.

use ndarray::Array2;
use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule};
use scoreflow_ode_sde_solvers::DenoiseError;

use super::{MrModel, MrPrediction};
use crate::analytic::GaussianMixture;

/// The exact posterior model of the mean-reverting diffusion when x₀ ~ p₀ = Σₖwₖ N(μₖ, Σₖ)
/// independently of μ.
///
/// Since x_t = μ + α_t(x₀ − μ) + σ_t ε, the point u = (x_t − μ)/α_t + μ = x₀ + (σ_t/α_t) ε is
/// x₀ noised in the EDM convention at σ̃ = σ_t/α_t (Karras et al. 2022, eq. (4) with
/// s(t) = α_t), so E[x₀ | x_t] = D(u; σ̃) with the mixture's exact denoiser
/// [`GaussianMixture::denoise_batch`]; ε̂ and v̂ follow from [`MrPrediction::convert`]'s
/// identities, and the score is ∇ ln p_t(x_t) = −ε̂/σ_t.
#[derive(Debug, Clone, Copy)]
pub struct MixtureMrModel<'a> {
    mixture: &'a GaussianMixture,
    schedule: MeanReverting,
    prediction: MrPrediction,
}

impl<'a> MixtureMrModel<'a> {
    /// The exact model of `mixture` under `schedule`, answering in `prediction`.
    pub fn new(
        mixture: &'a GaussianMixture,
        schedule: MeanReverting,
        prediction: MrPrediction,
    ) -> Self {
        Self {
            mixture,
            schedule,
            prediction,
        }
    }

    /// E[x₀ | x_t] for every row.
    ///
    /// # Errors
    /// A [`DenoiseError`] if x and μ differ in shape or do not have d columns.
    pub fn posterior_mean(
        &self,
        x: &Array2<f64>,
        mu: &Array2<f64>,
        t: f64,
    ) -> Result<Array2<f64>, DenoiseError> {
        let d = self.mixture.dim();
        if x.dim() != mu.dim() || x.ncols() != d {
            return Err(DenoiseError::msg(format!(
                "x {:?} and mu {:?} must both be n × {d}",
                x.dim(),
                mu.dim()
            )));
        }
        let (alpha, sigma) = (self.schedule.alpha(t), self.schedule.sigma(t));
        let u = (x - mu) / alpha + mu;
        let u = u.as_standard_layout();
        let mut out = Array2::zeros(x.raw_dim());
        self.mixture.denoise_batch(
            u.as_slice().expect("standard layout"),
            sigma / alpha,
            out.as_slice_mut().expect("standard layout"),
        );
        Ok(out)
    }
}

impl MrModel for MixtureMrModel<'_> {
    fn prediction(&self) -> MrPrediction {
        self.prediction
    }

    fn predict(
        &self,
        x: &Array2<f64>,
        mu: &Array2<f64>,
        t: f64,
    ) -> Result<Array2<f64>, DenoiseError> {
        let x0 = self.posterior_mean(x, mu, t)?;
        let (alpha, sigma) = (self.schedule.alpha(t), self.schedule.sigma(t));
        let y = x - mu;
        let x0c = &x0 - mu;
        Ok(match self.prediction {
            MrPrediction::Data => x0,
            MrPrediction::Noise => (&y - &(&x0c * alpha)) / sigma,
            MrPrediction::Velocity => {
                let eps = (&y - &(&x0c * alpha)) / sigma;
                eps * alpha - x0c * sigma
            }
        })
    }
}
