//! The [`NoiseSchedule`] trait: the marginal path x_t = α(t)·x₀ + σ(t)·ε and everything
//! derived from it.

use serde::{Deserialize, Serialize};

use crate::ScheduleError;

/// Which end of the time interval holds the data distribution.
///
/// Diffusion SDEs (Song et al. 2021) put data at t = 0 and noise at t = T; the affine
/// probability paths of flow matching (Lipman et al. 2023) put noise at t = 0 and data at
/// t = 1. Samplers need this to know which way to integrate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataEnd {
    /// Data at the start of `t_range()` (diffusion convention).
    AtZero,
    /// Data at t = 1 (flow-matching convention).
    AtOne,
}

/// α, σ and their time derivatives at one time t of a [`NoiseSchedule`]: everything that
/// converts between predictions of x₀, ε, v, the score and the flow velocity
/// dx_t/dt = α'x₀ + σ'ε at that t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficients {
    /// α(t).
    pub alpha: f64,
    /// σ(t).
    pub sigma: f64,
    /// dα/dt.
    pub d_alpha: f64,
    /// dσ/dt.
    pub d_sigma: f64,
}

impl Coefficients {
    /// α and σ alone, for conversions that need no derivative (all but the flow velocity);
    /// the derivatives are NaN so that a conversion that needs them cannot silently use 0.
    pub fn without_derivatives(alpha: f64, sigma: f64) -> Self {
        Self {
            alpha,
            sigma,
            d_alpha: f64::NAN,
            d_sigma: f64::NAN,
        }
    }
}

/// A Gaussian marginal path x_t = α(t)·x₀ + σ(t)·ε, ε ~ N(0, I).
///
/// Kingma et al. 2021 (Variational Diffusion Models, §2) parameterise every such path by
/// α, σ and the log signal-to-noise ratio λ = ln(α/σ) (half the log-SNR of that paper's
/// convention α²/σ²; this crate follows DPM-Solver, Lu et al. 2022, §3). Song et al.
/// 2021 (Score-Based Generative Modeling through SDEs, eq. (5) and App. B) show that the linear
/// SDE dx = f(t)·x dt + g(t) dW has exactly these marginals when f = d ln α/dt and
/// g² = dσ²/dt − 2fσ² = −2σ² dλ/dt (Lu et al. 2022, DPM-Solver, §2).
///
/// Methods take `t` as given and do not validate it: evaluating outside `t_range()` returns
/// whatever the closed form gives (possibly NaN), and NaN propagates. Only the inverses, which
/// take user-facing λ or σ values, return errors.
pub trait NoiseSchedule: std::fmt::Debug + Send + Sync {
    /// Data coefficient α(t) of x_t = α(t)x₀ + σ(t)ε.
    fn alpha(&self, t: f64) -> f64;

    /// α(t), σ(t) and their derivatives together.
    fn coefficients(&self, t: f64) -> Coefficients {
        Coefficients {
            alpha: self.alpha(t),
            sigma: self.sigma(t),
            d_alpha: self.d_alpha(t),
            d_sigma: self.d_sigma(t),
        }
    }

    /// Noise coefficient σ(t) of x_t = α(t)x₀ + σ(t)ε.
    fn sigma(&self, t: f64) -> f64;

    /// dα/dt.
    fn d_alpha(&self, t: f64) -> f64;

    /// dσ/dt.
    fn d_sigma(&self, t: f64) -> f64;

    /// Log signal-to-noise ratio λ(t) = ln α(t) − ln σ(t) (Lu et al. 2022, DPM-Solver, §3).
    ///
    /// Schedules override this where a closed form avoids forming α and σ separately.
    fn lambda(&self, t: f64) -> f64 {
        self.alpha(t).ln() - self.sigma(t).ln()
    }

    /// dλ/dt = α'/α − σ'/σ.
    fn d_lambda(&self, t: f64) -> f64 {
        self.d_alpha(t) / self.alpha(t) - self.d_sigma(t) / self.sigma(t)
    }

    /// Inverse of [`lambda`](Self::lambda): the t ∈ `t_range()` with λ(t) = `lambda`
    /// (Lu et al. 2022, DPM-Solver reference code, `inverse_lambda`). λ is strictly monotone on every schedule
    /// here, so the inverse is unique.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`] for NaN, [`ScheduleError::LambdaOutOfRange`] when no t in
    /// `t_range()` attains `lambda`.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError>;

    /// Drift coefficient f(t) = d ln α/dt = α'/α of dx = f(t)x dt + g(t) dW
    /// (Song et al. 2021, eq. (5); Lu et al. 2022, DPM-Solver, §2).
    fn f(&self, t: f64) -> f64 {
        self.d_alpha(t) / self.alpha(t)
    }

    /// Squared diffusion coefficient g²(t) = dσ²/dt − 2f(t)σ²(t) = −2σ² dλ/dt
    /// (Lu et al. 2022, DPM-Solver, §2).
    ///
    /// For flow-matching paths (data at t = 1) σ decreases in t, so g² < 0: the path is the
    /// marginal of a noising SDE only when run in the direction of decreasing t, where the
    /// diffusion coefficient is −g² > 0.
    fn g2(&self, t: f64) -> f64 {
        let sigma = self.sigma(t);
        2.0 * sigma * self.d_sigma(t) - 2.0 * self.f(t) * sigma * sigma
    }

    /// σ of the equivalent α = 1 (variance-exploding) process, σ/α = e^{−λ}
    /// (Karras et al. 2022, Elucidating the Design Space of Diffusion-Based Generative Models,
    /// eq. (4) with s(t) = α: x/α follows the EDM ODE in σ̃ = σ/α).
    fn edm_sigma(&self, t: f64) -> f64 {
        self.sigma(t) / self.alpha(t)
    }

    /// Inverse of [`edm_sigma`](Self::edm_sigma): t with σ(t)/α(t) = `s`, via λ = −ln s.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`] for NaN, [`ScheduleError::Negative`] for `s < 0`, and
    /// whatever [`t_from_lambda`](Self::t_from_lambda) returns for λ = −ln s.
    fn t_from_edm_sigma(&self, s: f64) -> Result<f64, ScheduleError> {
        if s.is_nan() {
            return Err(ScheduleError::NonFinite {
                name: "sigma",
                value: s,
            });
        }
        if s < 0.0 {
            return Err(ScheduleError::Negative {
                name: "sigma",
                value: s,
            });
        }
        self.t_from_lambda(-s.ln())
    }

    /// The time interval on which the schedule is defined, `(t_min, t_max)`.
    fn t_range(&self) -> (f64, f64);

    /// Which end of `t_range()` holds the data.
    fn data_end(&self) -> DataEnd;
}
