//! What a flow network can predict, and the conversions between them on an affine path.

use scoreflow_noise_schedules::Coefficients;

/// A prediction of a flow network at x_t = αx₁ + σx₀ on an affine path (Lipman et al. 2024,
/// "Flow Matching Guide and Code", §4.8.1, Table 1; flow_matching's `AffineProbPath`
/// conversions). Each is affine in E[x₁ | x_t] = x̂₁ given x_t:
///
/// | variant | prediction | from x̂₁ | x̂₁ from it |
/// |---|---|---|---|
/// | `Velocity` | u_t(x) = E[α'x₁ + σ'x₀ \| x_t] | (α' − σ'α/σ)x̂₁ + (σ'/σ)x_t | (σ'x_t − σû)/(ασ' − σα') |
/// | `Data` | x̂₁ = E[x₁ \| x_t] | x̂₁ | x̂₁ |
/// | `Noise` | x̂₀ = E[x₀ \| x_t] | (x_t − αx̂₁)/σ | (x_t − σx̂₀)/α |
/// | `Score` | ∇ ln p_t(x_t) = −x̂₀/σ | (αx̂₁ − x_t)/σ² | (x_t + σ²ŝ)/α |
///
/// (the score row: x_t | x₁ ~ N(αx₁, σ²I), so ∇ ln p_t = E[−(x_t − αx₁)/σ² | x_t]).
/// ασ' − σα' = −σ²λ' never vanishes on a path with strictly monotone λ = ln(α/σ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowTarget {
    /// The marginal velocity u_t(x).
    Velocity,
    /// The data end x₁ (x-prediction).
    Data,
    /// The noise end x₀ (ε-prediction).
    Noise,
    /// The score ∇ ln p_t.
    Score,
}

impl FlowTarget {
    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Velocity => "velocity",
            Self::Data => "data",
            Self::Noise => "noise",
            Self::Score => "score",
        }
    }

    /// (a, b) with x̂₁ = a·pred + b·x_t.
    pub fn to_data_coefficients(self, c: &Coefficients) -> (f64, f64) {
        let (alpha, sigma) = (c.alpha, c.sigma);
        match self {
            Self::Velocity => {
                let det = alpha * c.d_sigma - sigma * c.d_alpha;
                (-sigma / det, c.d_sigma / det)
            }
            Self::Data => (1.0, 0.0),
            Self::Noise => (-sigma / alpha, 1.0 / alpha),
            Self::Score => (sigma * sigma / alpha, 1.0 / alpha),
        }
    }

    /// (a, b) with pred = a·x̂₁ + b·x_t.
    pub fn from_data_coefficients(self, c: &Coefficients) -> (f64, f64) {
        let (alpha, sigma) = (c.alpha, c.sigma);
        match self {
            Self::Velocity => (c.d_alpha - c.d_sigma * alpha / sigma, c.d_sigma / sigma),
            Self::Data => (1.0, 0.0),
            Self::Noise => (-alpha / sigma, 1.0 / sigma),
            Self::Score => (alpha / (sigma * sigma), -1.0 / (sigma * sigma)),
        }
    }

    /// (a, b) with to-prediction = a·(self-prediction) + b·x_t, composing the two rows.
    pub fn conversion_coefficients(self, to: FlowTarget, c: &Coefficients) -> (f64, f64) {
        if self == to {
            return (1.0, 0.0);
        }
        let (a1, b1) = self.to_data_coefficients(c);
        let (a2, b2) = to.from_data_coefficients(c);
        (a2 * a1, a2 * b1 + b2)
    }
}
