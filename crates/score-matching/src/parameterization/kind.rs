//! Conversions between the quantities a diffusion or flow network can predict.

use scoreflow_noise_schedules::Coefficients;
use scoreflow_ode_sde_solvers::State;

/// The target a network was trained to predict from x_t = αx₀ + σε (x₀ the data; on the flow
/// paths of flow matching, data sits at t = 1 and is called x₁ there, with α = α(t) still its
/// coefficient).
///
/// | variant | prediction | x̂₀ from it |
/// |---|---|---|
/// | `Epsilon` | ε (Ho et al. 2020) | (x_t − σε̂)/α |
/// | `Sample` | x₀ | x̂₀ |
/// | `Velocity` | v = αε − σx₀ (Salimans & Ho 2022) | (αx_t − σv̂)/(α² + σ²) |
/// | `Score` | ∇ log p_t(x_t) (Song et al. 2021) | (x_t + σ²ŝ)/α (Tweedie) |
/// | `FlowVelocity` | u = dx_t/dt = α'x₀ + σ'ε (Lipman et al. 2023) | (σ'x_t − σû)/(ασ' − σα') |
///
/// The v row is the general-α, σ solution of {x_t = αx₀ + σε, v = αε − σx₀}; it reduces to
/// Salimans & Ho's αx_t − σv̂ when α² + σ² = 1. The score row uses ε = −σ ∇ log p_t(x_t | x₀)
/// averaged over the posterior. The flow row solves {x_t = αx₀ + σε, u = α'x₀ + σ'ε}
/// (flow_matching's `velocity_to_target`); ασ' − σα' = −σ²·dλ/dt ≠ 0 wherever λ is strictly
/// monotone. Only that row reads the derivatives of [`Coefficients`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parameterization {
    /// ε-prediction.
    Epsilon,
    /// x₀-prediction.
    Sample,
    /// v-prediction.
    Velocity,
    /// Score prediction.
    Score,
    /// The flow-matching velocity dx_t/dt of the schedule's path.
    FlowVelocity,
}

impl Parameterization {
    /// x̂₀ from a prediction `pred` at x_t with coefficients `c`; see the table above.
    pub fn to_x0<S: State>(self, pred: S, x_t: &S, c: &Coefficients) -> S {
        let (alpha, sigma) = (c.alpha, c.sigma);
        match self {
            Self::Epsilon => pred.lincomb(-sigma / alpha, &[(1.0 / alpha, x_t)]),
            Self::Sample => pred,
            Self::Velocity => {
                let n = alpha * alpha + sigma * sigma;
                pred.lincomb(-sigma / n, &[(alpha / n, x_t)])
            }
            Self::Score => pred.lincomb(sigma * sigma / alpha, &[(1.0 / alpha, x_t)]),
            Self::FlowVelocity => {
                let det = alpha * c.d_sigma - sigma * c.d_alpha;
                pred.lincomb(-sigma / det, &[(c.d_sigma / det, x_t)])
            }
        }
    }

    /// The prediction this parameterisation would make for a given x̂₀ at x_t: the inverse of
    /// [`Parameterization::to_x0`] (ε̂ = (x_t − αx̂₀)/σ, v̂ = αε̂ − σx̂₀, ŝ = −ε̂/σ,
    /// û = α'x̂₀ + σ'ε̂).
    pub fn from_x0<S: State>(self, x0: S, x_t: &S, c: &Coefficients) -> S {
        let (alpha, sigma) = (c.alpha, c.sigma);
        match self {
            Self::Epsilon => x0.lincomb(-alpha / sigma, &[(1.0 / sigma, x_t)]),
            Self::Sample => x0,
            Self::Velocity => x0.lincomb(-alpha * alpha / sigma - sigma, &[(alpha / sigma, x_t)]),
            Self::Score => x0.lincomb(alpha / (sigma * sigma), &[(-1.0 / (sigma * sigma), x_t)]),
            Self::FlowVelocity => x0.lincomb(
                c.d_alpha - c.d_sigma * alpha / sigma,
                &[(c.d_sigma / sigma, x_t)],
            ),
        }
    }

    /// Converts a prediction of kind `self` into kind `to` at the same (x_t, coefficients).
    pub fn convert<S: State>(self, pred: S, to: Parameterization, x_t: &S, c: &Coefficients) -> S {
        if self == to {
            return pred;
        }
        to.from_x0(self.to_x0(pred, x_t, c), x_t, c)
    }
}
