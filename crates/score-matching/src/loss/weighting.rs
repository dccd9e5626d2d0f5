//! Loss weightings, each one function on the x₀ error.

use super::{LossError, Prediction};

/// A weighting w(t) of the denoising loss, stated as the weight w₀ of the per-sample x₀ error
/// ‖x̂₀ − x₀‖²/d. A loss in another prediction space uses w₀/factor, with the factor of the
/// [`Prediction`] table, so each weighting means the same objective whatever the network
/// predicts. With SNR = α²/σ² = 1/σ̃² and g² the schedule's squared diffusion:
///
/// | variant | w₀ | source | equals |
/// |---|---|---|---|
/// | `Unit(Epsilon)` | α²/σ² | Ho et al. 2020 ("simple") | `Snr` |
/// | `Unit(Sample)` | 1 | | |
/// | `Unit(Velocity)` | (α² + σ²)²/σ² | Salimans & Ho 2022 | SNR + 1 on variance-preserving schedules |
/// | `Unit(Score)` | α²/σ⁴ | Song et al. 2021 (λ = 1) | |
/// | `Unit(Edm)` | (σ̃² + σ_d²)/(σ̃σ_d)² | Karras et al. 2022 | `Edm` |
/// | `Likelihood` | \|g²\|·α²/σ⁴ | Song et al. 2021 (λ = g², eq. (7); Song, Durkan et al. 2021) | `Unit(Score)` × \|g²\| |
/// | `Snr` | α²/σ² | Kingma et al. 2021; k-diffusion `snr` | `Unit(Epsilon)` |
/// | `MinSnr { γ }` | min(SNR, γ) | Hang et al. 2023 | ε-space min(SNR, γ)/SNR, v-space (VP) min(SNR, γ)/(SNR + 1) |
/// | `SoftMinSnr { γ }` | SNR·γ/(SNR + γ) | Crowson et al. 2024 (k-diffusion `soft-min-snr`, γ = σ_d⁻²) | 1/(σ̃² + σ_d²) |
/// | `Edm { σ_d }` | λ(σ̃) = (σ̃² + σ_d²)/(σ̃σ_d)² | Karras et al. 2022, eq. (8) and Table 1 | `Unit(Edm)` |
///
/// The likelihood weighting uses |g²| so that it also applies to flow paths, whose noising
/// direction is decreasing t (g² < 0 there).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Weighting {
    /// Unit weight on the squared error of the given prediction.
    Unit(Prediction),
    /// g²(t) on the score error (maximum-likelihood weighting).
    Likelihood,
    /// The signal-to-noise ratio α²/σ².
    Snr,
    /// min(SNR, γ) (γ = 5 in the paper).
    MinSnr {
        /// γ > 0.
        gamma: f64,
    },
    /// The smooth minimum SNR·γ/(SNR + γ).
    SoftMinSnr {
        /// γ > 0.
        gamma: f64,
    },
    /// EDM's λ(σ) with data standard deviation σ_d.
    Edm {
        /// σ_data > 0.
        sigma_data: f64,
    },
}

impl Weighting {
    /// k-diffusion's `soft-min-snr` weighting for data of standard deviation σ_d: γ = σ_d⁻²,
    /// i.e. w₀ = 1/(σ̃² + σ_d²).
    pub fn soft_min_snr_k_diffusion(sigma_data: f64) -> Self {
        Self::SoftMinSnr {
            gamma: 1.0 / (sigma_data * sigma_data),
        }
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] for γ ≤ 0, σ_d ≤ 0 or non-finite values.
    pub fn validate(&self) -> Result<(), LossError> {
        let (name, value) = match *self {
            Self::Unit(p) => return p.validate(),
            Self::Likelihood | Self::Snr => return Ok(()),
            Self::MinSnr { gamma } | Self::SoftMinSnr { gamma } => ("gamma", gamma),
            Self::Edm { sigma_data } => ("sigma_data", sigma_data),
        };
        if value > 0.0 && value.is_finite() {
            Ok(())
        } else {
            Err(LossError::InvalidParameter {
                name,
                value,
                reason: "must be positive and finite",
            })
        }
    }

    /// Whether this weighting is exactly unit weight on `prediction`'s own squared error (so
    /// the loss needs no per-sample weight): `Unit(p)` for p itself, EDM's λ(σ) on EDM's F, and
    /// SNR on ε.
    pub fn is_unit_for(&self, prediction: &Prediction) -> bool {
        match (self, prediction) {
            (Self::Unit(p), q) => p == q,
            (Self::Edm { sigma_data: a }, Prediction::Edm { sigma_data: b }) => a == b,
            (Self::Snr, Prediction::Epsilon) => true,
            _ => false,
        }
    }

    /// w₀ at (α, σ) with squared diffusion g²; see the table above.
    pub fn x0_weight(&self, alpha: f64, sigma: f64, g2: f64) -> f64 {
        let snr = alpha * alpha / (sigma * sigma);
        match *self {
            Self::Unit(p) => p.coefficients(alpha, sigma).error_factor,
            Self::Likelihood => g2.abs() * snr / (sigma * sigma),
            Self::Snr => snr,
            Self::MinSnr { gamma } => snr.min(gamma),
            // The harmonic form stays finite at SNR = ∞ (σ → 0), where SNR·γ/(SNR + γ) is NaN.
            Self::SoftMinSnr { gamma } => 1.0 / (1.0 / snr + 1.0 / gamma),
            Self::Edm { sigma_data } => {
                let sigma_edm = sigma / alpha;
                let sd2 = sigma_data * sigma_data;
                (sigma_edm * sigma_edm + sd2) / (sigma_edm * sigma_edm * sd2)
            }
        }
    }
}
