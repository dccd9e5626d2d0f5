//! The mean-reverting SDE of IR-SDE (Luo et al. 2023), in the centred variable x − μ.

use super::linear_beta::LinearBeta;
use crate::numerics::{vp_integral_from_lambda, vp_lambda_from_integral, vp_sigma_from_integral};
use crate::validate;
use crate::{DataEnd, NoiseSchedule, ScheduleError};

/// The mean-reverting SDE dx = θ_t(μ − x) dt + σ_t dW with σ_t² = 2λ²θ_t on t ∈ [0, 1]
/// (Luo et al. 2023, "Image Restoration with Mean-Reverting Stochastic Differential
/// Equations" (IR-SDE), eqs. (2)–(5); Li et al. 2025, "MRS: A Fast Sampler for Mean Reverting
/// Diffusion based on ODE and SDE Solvers", §3), with a linear θ_t = θ_min + t(θ_max − θ_min).
///
/// Its marginal is Gaussian (IR-SDE eq. (4)):
/// x_t = μ + (x₀ − μ)e^{−θ̄_t} + λ√(1 − e^{−2θ̄_t}) ε, θ̄_t = ∫₀ᵗ θ_s ds,
/// so the stationary law is N(μ, λ²I). In the centred variable y = x − μ this is the Gaussian
/// path y_t = α_t y₀ + σ_t ε with
///
/// α_t = e^{−θ̄_t}, σ_t = λ√(1 − e^{−2θ̄_t}),
///
/// i.e. the linear SDE dy = f y dt + g dW with f = −θ_t and g² = 2λ²θ_t, which is what the
/// [`NoiseSchedule`] implementation describes (λ = 1 is the VP SDE with β = 2θ). Every quantity
/// of a [`NoiseSchedule`] (log-SNR, its closed-form inverse, f, g², the equivalent EDM σ) is
/// therefore in terms of y; μ enters only through y = x − μ. The stationary standard deviation
/// λ of IR-SDE is called [`stationary_std`](Self::stationary_std) here, because λ names the
/// log-SNR ln(α/σ) everywhere else in this crate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanReverting {
    theta: LinearBeta,
    stationary_std: f64,
}

impl MeanReverting {
    /// θ_t = θ_min + t(θ_max − θ_min) on [0, 1] and stationary standard deviation λ.
    ///
    /// # Errors
    /// [`ScheduleError::NonFinite`] for NaN or ±∞, [`ScheduleError::NonPositive`] for
    /// θ_min ≤ 0 or λ ≤ 0 (θ ≤ 0 does not revert to μ, and λ = 0 adds no noise), and
    /// [`ScheduleError::Misordered`] for θ_min > θ_max.
    pub fn new(theta_min: f64, theta_max: f64, stationary_std: f64) -> Result<Self, ScheduleError> {
        validate::positive("theta_min", theta_min)?;
        validate::positive("theta_max", theta_max)?;
        validate::not_above("theta_min", theta_min, "theta_max", theta_max)?;
        validate::positive("stationary_std", stationary_std)?;
        Ok(Self {
            theta: LinearBeta {
                beta_min: theta_min,
                beta_max: theta_max,
            },
            stationary_std,
        })
    }

    /// A constant θ (the Ornstein–Uhlenbeck process), θ̄_t = θt.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn constant(theta: f64, stationary_std: f64) -> Result<Self, ScheduleError> {
        Self::new(theta, theta, stationary_std)
    }

    /// θ_min.
    pub fn theta_min(&self) -> f64 {
        self.theta.beta_min
    }

    /// θ_max.
    pub fn theta_max(&self) -> f64 {
        self.theta.beta_max
    }

    /// λ, the stationary standard deviation (IR-SDE's λ, with σ_t² = 2λ²θ_t).
    pub fn stationary_std(&self) -> f64 {
        self.stationary_std
    }

    /// θ_t.
    pub fn theta(&self, t: f64) -> f64 {
        self.theta.beta(t)
    }

    /// θ̄_t = ∫₀ᵗ θ_s ds = θ_min t + ½(θ_max − θ_min)t².
    pub fn theta_bar(&self, t: f64) -> f64 {
        self.theta.integral(t)
    }

    /// The t ≥ 0 with θ̄_t = `theta_bar` (positive root of the quadratic).
    pub fn t_from_theta_bar(&self, theta_bar: f64) -> f64 {
        self.theta.t_from_integral(theta_bar)
    }

    /// The diffusion coefficient σ_t of the SDE in x, σ_t = √(2λ²θ_t) (IR-SDE eq. (3)); not
    /// the marginal standard deviation [`NoiseSchedule::sigma`].
    pub fn diffusion(&self, t: f64) -> f64 {
        self.g2(t).sqrt()
    }

    /// The marginal mean of x_t given x₀, μ + (x₀ − μ)e^{−θ̄_t}, per coordinate.
    pub fn marginal_mean(&self, x0: f64, mu: f64, t: f64) -> f64 {
        mu + (x0 - mu) * self.alpha(t)
    }

    /// B = 2θ̄, so that α = e^{−B/2} and σ = λ√(1 − e^{−B}) share the VP closed forms.
    fn b(&self, t: f64) -> f64 {
        2.0 * self.theta_bar(t)
    }
}

impl NoiseSchedule for MeanReverting {
    /// α_t = e^{−θ̄_t}.
    fn alpha(&self, t: f64) -> f64 {
        (-self.theta_bar(t)).exp()
    }

    /// σ_t = λ√(1 − e^{−2θ̄_t}), through expm1 so that it is exact for small t.
    fn sigma(&self, t: f64) -> f64 {
        self.stationary_std * vp_sigma_from_integral(self.b(t))
    }

    /// α' = −θ_t α_t.
    fn d_alpha(&self, t: f64) -> f64 {
        -self.theta(t) * self.alpha(t)
    }

    /// From σ² = λ²(1 − e^{−2θ̄}): σ' = λ²θ e^{−2θ̄}/σ.
    fn d_sigma(&self, t: f64) -> f64 {
        let l2 = self.stationary_std * self.stationary_std;
        l2 * self.theta(t) * (-self.b(t)).exp() / self.sigma(t)
    }

    /// λ_t = ln(α/σ) = −½(2θ̄ + ln(1 − e^{−2θ̄})) − ln λ.
    fn lambda(&self, t: f64) -> f64 {
        vp_lambda_from_integral(self.b(t)) - self.stationary_std.ln()
    }

    /// dλ/dt = −θ_t/(1 − e^{−2θ̄_t}).
    fn d_lambda(&self, t: f64) -> f64 {
        -self.theta(t) / (-(-self.b(t)).exp_m1())
    }

    /// Closed form: 2θ̄ = ln(1 + e^{−2(λ + ln λ_stat)}), then the root of the quadratic θ̄_t.
    fn t_from_lambda(&self, lambda: f64) -> Result<f64, ScheduleError> {
        validate::lambda_in(lambda, self.lambda(1.0), f64::INFINITY)?;
        let b = vp_integral_from_lambda(lambda + self.stationary_std.ln());
        Ok(self.t_from_theta_bar(0.5 * b).clamp(0.0, 1.0))
    }

    /// f = −θ_t (the drift of y = x − μ).
    fn f(&self, t: f64) -> f64 {
        -self.theta(t)
    }

    /// g² = 2λ²θ_t (IR-SDE's σ_t² = 2λ²θ_t).
    fn g2(&self, t: f64) -> f64 {
        2.0 * self.stationary_std * self.stationary_std * self.theta(t)
    }

    fn t_range(&self) -> (f64, f64) {
        (0.0, 1.0)
    }

    fn data_end(&self) -> DataEnd {
        DataEnd::AtZero
    }
}
