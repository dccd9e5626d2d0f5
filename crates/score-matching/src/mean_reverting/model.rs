//! What a mean-reverting model predicts, and the conversions between its parameterisations.

use ndarray::Array2;
use scoreflow_ode_sde_solvers::DenoiseError;

use super::MrError;

/// The quantity a mean-reverting model outputs at (x_t, μ, t), for x_t = μ + α_t(x₀ − μ) + σ_t ε
/// (Li et al. 2025, MRS, §3.3 and App. on parameterisations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrPrediction {
    /// ε̂ (IR-SDE's noise network).
    Noise,
    /// x̂₀.
    Data,
    /// v̂ = α_t ε − σ_t (x₀ − μ), Salimans & Ho 2022's velocity of the centred variable.
    Velocity,
}

impl MrPrediction {
    /// The centred data prediction x̃₀ = x̂₀ − μ and the noise prediction ε̂ from the model's
    /// output `out` at y = x − μ, using y = α x̃₀ + σ ε and v = α ε − σ x̃₀:
    ///
    /// - data: x̃₀ = out − μ, ε = (y − α x̃₀)/σ;
    /// - noise: ε = out, x̃₀ = (y − σ ε)/α;
    /// - velocity: x̃₀ = (α y − σ v)/(α² + σ²), ε = (σ y + α v)/(α² + σ²).
    ///
    /// Only the half the caller needs is formed: `want_data` selects x̃₀, otherwise ε.
    pub fn convert(
        self,
        out: &Array2<f64>,
        y: &Array2<f64>,
        mu: &Array2<f64>,
        alpha: f64,
        sigma: f64,
        want_data: bool,
    ) -> Array2<f64> {
        let norm = alpha * alpha + sigma * sigma;
        match (self, want_data) {
            (Self::Data, true) => out - mu,
            (Self::Data, false) => (y - &((out - mu) * alpha)) / sigma,
            (Self::Noise, true) => (y - &(out * sigma)) / alpha,
            (Self::Noise, false) => out.clone(),
            (Self::Velocity, true) => (y * alpha - out * sigma) / norm,
            (Self::Velocity, false) => (y * sigma + out * alpha) / norm,
        }
    }
}

/// A model of the mean-reverting diffusion: given n × d states x_t, their n × d means μ (the
/// degraded images of IR-SDE; rows may differ) and t, it returns an n × d
/// [`MrPrediction`] — a trained network, or [`MixtureMrModel`](super::MixtureMrModel)'s
/// exact posterior.
pub trait MrModel {
    /// Which quantity [`Self::predict`] returns.
    fn prediction(&self) -> MrPrediction;

    /// The prediction at (x_t, μ, t).
    ///
    /// # Errors
    /// Whatever the model reports (shapes, a failed network call).
    fn predict(
        &self,
        x: &Array2<f64>,
        mu: &Array2<f64>,
        t: f64,
    ) -> Result<Array2<f64>, DenoiseError>;
}

/// [`MrModel::predict`] at (y + μ, μ, t) for the centred state y = x − μ that the samplers
/// carry, checked to return y's shape.
///
/// # Errors
/// The model's error, or [`MrError::Shape`] for an output of another shape.
pub(crate) fn predict_centred<M: MrModel + ?Sized>(
    model: &M,
    y: &Array2<f64>,
    mu: &Array2<f64>,
    t: f64,
) -> Result<Array2<f64>, MrError> {
    let out = model.predict(&(y + mu), mu, t)?;
    if out.dim() != y.dim() {
        return Err(MrError::Shape(format!(
            "the model returned {:?} for an input of {:?}",
            out.dim(),
            y.dim()
        )));
    }
    Ok(out)
}
