//! Importance sampling of time for likelihood-weighted score matching, and importance weights.

use std::sync::Arc;

use rand::{Rng, RngCore};
use scoreflow_noise_schedules::NoiseSchedule;

use super::error::{checked_time, finite, time_interval};
use super::{NoiseLevelDistribution, NoiseLevelError, NoiseVariable};

/// Time drawn with density q(t) ∝ g²(t)/σ²(t) on [t_min, t_max] (Song, Durkan, Murray & Ermon
/// 2021, "Maximum Likelihood Training of Score-Based Diffusion Models", §5, "importance
/// sampling": the likelihood weighting λ(t) = g²(t) of the score-matching loss, eq. (7) and
/// Theorem 1, has the variance of its Monte-Carlo estimate reduced by drawing t ∝ g²/σ²).
///
/// **Exact for every schedule.** With λ(t) = ln(α/σ) (the log-SNR of
/// [`NoiseSchedule::lambda`], not the weighting) and f = α'/α,
/// g² = dσ²/dt − 2fσ² = 2σσ' − 2(α'/α)σ² = −2σ²·dλ/dt, so g²/σ² = −2 dλ/dt and
///
/// - q(t) = −λ'(t)/(λ(t_min) − λ(t_max)),
/// - F(t) = (λ(t_min) − λ(t))/(λ(t_min) − λ(t_max)),
/// - Z = ∫_{t_min}^{t_max} g²/σ² dt = 2(λ(t_min) − λ(t_max)) ([`Self::normalizer`]),
///
/// and a draw is exactly F⁻¹(u): λ = λ(t_min) − u·(λ(t_min) − λ(t_max)) uniform in λ, mapped back
/// to t by [`NoiseSchedule::t_from_lambda`]. No quadrature or tabulation is involved.
///
/// For Song et al.'s VP SDE this is their closed form; for the VE SDE (λ linear in t) it is
/// uniform in t; for EDM (λ = −ln t) it is log-uniform in σ. The same formulas hold on flow
/// paths (data at t = 1, λ increasing), where the density is ∝ |g²|/σ² = 2 dλ/dt.
#[derive(Clone, Debug)]
pub struct LikelihoodImportance {
    schedule: Arc<dyn NoiseSchedule>,
    t_min: f64,
    t_max: f64,
    /// λ(t_min).
    lambda_start: f64,
    /// λ(t_max).
    lambda_end: f64,
}

impl LikelihoodImportance {
    /// q(t) ∝ g²(t)/σ²(t) on [t_min, t_max] ⊂ `schedule.t_range()`.
    ///
    /// # Errors
    /// [`NoiseLevelError::NonFinite`], [`NoiseLevelError::Negative`] or
    /// [`NoiseLevelError::Misordered`] for a bad interval, [`NoiseLevelError::OutsideSchedule`]
    /// when it leaves the schedule's range, and [`NoiseLevelError::LambdaRange`] when λ is not
    /// finite at either end (e.g. t_min = 0 on a VP schedule, where σ = 0, or t_max = 1 on the
    /// cosine schedule, where α = 0) or equal at both.
    pub fn new(
        schedule: Arc<dyn NoiseSchedule>,
        t_min: f64,
        t_max: f64,
    ) -> Result<Self, NoiseLevelError> {
        time_interval(t_min, t_max)?;
        let (lo, hi) = schedule.t_range();
        for t in [t_min, t_max] {
            if !(lo..=hi).contains(&t) {
                return Err(NoiseLevelError::OutsideSchedule {
                    t,
                    t_min: lo,
                    t_max: hi,
                });
            }
        }
        let (lambda_start, lambda_end) = (schedule.lambda(t_min), schedule.lambda(t_max));
        if !lambda_start.is_finite() || !lambda_end.is_finite() || lambda_start == lambda_end {
            return Err(NoiseLevelError::LambdaRange {
                t_min,
                lambda_at_t_min: lambda_start,
                t_max,
                lambda_at_t_max: lambda_end,
            });
        }
        Ok(Self {
            schedule,
            t_min,
            t_max,
            lambda_start,
            lambda_end,
        })
    }

    /// The schedule.
    pub fn schedule(&self) -> &Arc<dyn NoiseSchedule> {
        &self.schedule
    }

    /// The lower end of the support.
    pub fn t_min(&self) -> f64 {
        self.t_min
    }

    /// The upper end of the support.
    pub fn t_max(&self) -> f64 {
        self.t_max
    }

    /// Z = ∫_{t_min}^{t_max} g²(t)/σ²(t) dt = 2(λ(t_min) − λ(t_max)) (absolute value on flow
    /// paths), so that q(t) = g²(t)/(σ²(t)·Z). The likelihood-weighted loss
    /// ∫ g²(t)·E‖s_θ − ∇ln p‖² dt equals Z·E_{t∼q}[σ²(t)·E‖s_θ − ∇ln p‖²].
    pub fn normalizer(&self) -> f64 {
        2.0 * (self.lambda_start - self.lambda_end).abs()
    }

    /// F⁻¹ by bisection on λ, only reached if the schedule's inverse fails (it cannot for a λ
    /// inside [λ(t_max), λ(t_min)], which the schedule attains).
    fn bisect(&self, lambda: f64) -> f64 {
        let (mut lo, mut hi) = (self.t_min, self.t_max);
        let decreasing = self.lambda_start > self.lambda_end;
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if (self.schedule.lambda(mid) > lambda) == decreasing {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

impl NoiseLevelDistribution for LikelihoodImportance {
    fn variable(&self) -> NoiseVariable {
        NoiseVariable::Time
    }

    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        let u: f64 = rng.random();
        let (a, b) = (self.lambda_start, self.lambda_end);
        let lambda = (a - u * (a - b)).clamp(a.min(b), a.max(b));
        let t = self
            .schedule
            .t_from_lambda(lambda)
            .unwrap_or_else(|_| self.bisect(lambda));
        t.clamp(self.t_min, self.t_max)
    }

    /// −λ'(t)/(λ(t_min) − λ(t_max)) on [t_min, t_max], 0 elsewhere.
    fn density(&self, value: f64) -> f64 {
        if (self.t_min..=self.t_max).contains(&value) {
            -self.schedule.d_lambda(value) / (self.lambda_start - self.lambda_end)
        } else {
            0.0
        }
    }

    /// (λ(t_min) − λ(t))/(λ(t_min) − λ(t_max)), 0 below t_min and 1 above t_max.
    fn cdf(&self, value: f64) -> f64 {
        if value.is_nan() {
            f64::NAN
        } else if value <= self.t_min {
            0.0
        } else if value >= self.t_max {
            1.0
        } else {
            let num = self.lambda_start - self.schedule.lambda(value);
            (num / (self.lambda_start - self.lambda_end)).clamp(0.0, 1.0)
        }
    }

    fn support(&self) -> (f64, f64) {
        (self.t_min, self.t_max)
    }

    /// The value itself, checked to lie in [t_min, t_max] and in `schedule.t_range()`.
    fn time(&self, value: f64, schedule: &dyn NoiseSchedule) -> Result<f64, NoiseLevelError> {
        checked_time(value, self.support(), schedule)
    }
}

/// The importance weight w(v) = p(v)/q(v) of a draw v from the proposal q for the target p
/// (e.g. p = [`UniformTime`](super::UniformTime), the distribution a loss is defined under, and
/// q = [`LikelihoodImportance`], the one it is sampled from): E_q\[w·ℓ\] = E_p\[ℓ\] for any loss ℓ
/// whose support lies in q's (Owen 2013, *Monte Carlo theory, methods and examples*, §9.1).
/// Pass the weights per sample to the loss (`loss::DenoisingScoreMatching`, feature `burn`).
///
/// # Errors
/// [`NoiseLevelError::VariableMismatch`] when the two draw different variables (densities in t
/// and in σ̃ differ by the Jacobian dσ̃/dt: convert one first), [`NoiseLevelError::NonFinite`]
/// for a non-finite value, and [`NoiseLevelError::ZeroProposalDensity`] where q(v) = 0 (or is
/// not a number): q could not have drawn v.
pub fn importance_weight(
    target: &dyn NoiseLevelDistribution,
    proposal: &dyn NoiseLevelDistribution,
    value: f64,
) -> Result<f64, NoiseLevelError> {
    if target.variable() != proposal.variable() {
        return Err(NoiseLevelError::VariableMismatch {
            target: target.variable(),
            proposal: proposal.variable(),
        });
    }
    finite("value", value)?;
    let q = proposal.density(value);
    if q.is_nan() || q <= 0.0 {
        return Err(NoiseLevelError::ZeroProposalDensity { value });
    }
    Ok(target.density(value) / q)
}
