//! What a network predicts in a denoising loss, as a table of per-sample coefficients.

use super::LossError;

/// The target a denoising network is trained to output, given x_t = αx₀ + σε with
/// σ̃ = σ/α (the EDM noise level).
///
/// | variant | network input | conditioning | target | ‖pred − target‖² / ‖x̂₀ − x₀‖² |
/// |---|---|---|---|---|
/// | `Epsilon` (Ho et al. 2020) | x_t | time input of t | ε | α²/σ² |
/// | `Sample` | x_t | time input of t | x₀ | 1 |
/// | `Velocity` (Salimans & Ho 2022) | x_t | time input of t | v = αε − σx₀ | (α² + σ²)²/σ² |
/// | `Score` (Song et al. 2021) | x_t | time input of t | −ε/σ = ∇ ln p(x_t \| x₀) | α²/σ⁴ |
/// | `Edm` (Karras et al. 2022, Table 1) | c_in·x_t/α | c_noise = ¼ ln σ̃ | (x₀ − c_skip x̃)/c_out | 1/c_out² |
///
/// with x̃ = x_t/α = x₀ + σ̃ε, c_skip = σ_d²/(σ̃² + σ_d²), c_out = σ̃σ_d/√(σ̃² + σ_d²),
/// c_in = 1/√(σ̃² + σ_d²). The last column is the factor between the prediction's squared
/// error and that of the x̂₀ it implies at the same x_t (from
/// [`Parameterization::from_x0`](crate::parameterization::Parameterization::from_x0): e.g.
/// ε̂ − ε = −(α/σ)(x̂₀ − x₀), v̂ − v = −((α² + σ²)/σ)(x̂₀ − x₀); for EDM, D − x₀ = c_out(F − F*)).
/// It is what lets every [`Weighting`](super::Weighting) be written once, on the x₀ error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Prediction {
    /// ε-prediction.
    Epsilon,
    /// x₀-prediction.
    Sample,
    /// v-prediction.
    Velocity,
    /// Score prediction.
    Score,
    /// EDM's preconditioned raw network F with data standard deviation σ_d.
    Edm {
        /// σ_data (0.5 for images in [−1, 1]).
        sigma_data: f64,
    },
}

/// One sample's row of the [`Prediction`] table: network input = `input_x0`·x₀ +
/// `input_eps`·ε, target = `target_x0`·x₀ + `target_eps`·ε, and
/// ‖pred − target‖² = `error_factor`·‖x̂₀ − x₀‖².
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PredictionCoefficients {
    /// Coefficient of x₀ in the network input.
    pub input_x0: f64,
    /// Coefficient of ε in the network input.
    pub input_eps: f64,
    /// Coefficient of x₀ in the target.
    pub target_x0: f64,
    /// Coefficient of ε in the target.
    pub target_eps: f64,
    /// The squared-error factor of the table's last column.
    pub error_factor: f64,
    /// The conditioning value when the prediction fixes it (EDM's c_noise); `None` when the
    /// network takes the schedule time through a [`TimeInput`](crate::parameterization::TimeInput).
    pub conditioning: Option<f64>,
}

impl Prediction {
    /// Checks the parameters (σ_d > 0 and finite).
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`].
    pub fn validate(&self) -> Result<(), LossError> {
        match *self {
            Self::Edm { sigma_data } if !(sigma_data > 0.0 && sigma_data.is_finite()) => {
                Err(LossError::InvalidParameter {
                    name: "sigma_data",
                    value: sigma_data,
                    reason: "must be positive and finite",
                })
            }
            _ => Ok(()),
        }
    }

    /// The table row at (α, σ); see [`Prediction`]. α, σ > 0 are the caller's to check.
    pub fn coefficients(&self, alpha: f64, sigma: f64) -> PredictionCoefficients {
        let (a2, s2) = (alpha * alpha, sigma * sigma);
        let classic = |target_x0, target_eps, error_factor| PredictionCoefficients {
            input_x0: alpha,
            input_eps: sigma,
            target_x0,
            target_eps,
            error_factor,
            conditioning: None,
        };
        match *self {
            Self::Epsilon => classic(0.0, 1.0, a2 / s2),
            Self::Sample => classic(1.0, 0.0, 1.0),
            Self::Velocity => classic(-sigma, alpha, (a2 + s2) * (a2 + s2) / s2),
            Self::Score => classic(0.0, -1.0 / sigma, a2 / (s2 * s2)),
            Self::Edm { sigma_data } => {
                let (sigma_edm, sd2) = (sigma / alpha, sigma_data * sigma_data);
                let n2 = sigma_edm * sigma_edm + sd2;
                let c_skip = sd2 / n2;
                let c_out = sigma_edm * sigma_data / n2.sqrt();
                let c_in = 1.0 / n2.sqrt();
                PredictionCoefficients {
                    input_x0: c_in,
                    input_eps: c_in * sigma_edm,
                    target_x0: (1.0 - c_skip) / c_out,
                    target_eps: -c_skip * sigma_edm / c_out,
                    error_factor: 1.0 / (c_out * c_out),
                    conditioning: Some(0.25 * sigma_edm.ln()),
                }
            }
        }
    }

    /// x̂₀ = `a`·pred + `b`·x_t, the data estimate a prediction implies at x_t = αx₀ + σε
    /// (the inverse of the target map at fixed x_t; for EDM, D = c_skip x̃ + c_out F with
    /// x̃ = x_t/α). Returns (a, b).
    pub fn to_x0_coefficients(&self, alpha: f64, sigma: f64) -> (f64, f64) {
        match *self {
            Self::Epsilon => (-sigma / alpha, 1.0 / alpha),
            Self::Sample => (1.0, 0.0),
            Self::Velocity => {
                let n = alpha * alpha + sigma * sigma;
                (-sigma / n, alpha / n)
            }
            Self::Score => (sigma * sigma / alpha, 1.0 / alpha),
            Self::Edm { sigma_data } => {
                let (sigma_edm, sd2) = (sigma / alpha, sigma_data * sigma_data);
                let n2 = sigma_edm * sigma_edm + sd2;
                (sigma_edm * sigma_data / n2.sqrt(), sd2 / n2 / alpha)
            }
        }
    }
}
