//! EDM's log-normal noise levels, and the standard normal distribution function they need.

use std::f64::consts::{FRAC_1_SQRT_2, PI};

use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::NoiseSchedule;

use super::error::{finite, positive};
use super::{NoiseLevelDistribution, NoiseLevelError, NoiseVariable};

/// ln σ̃ ~ N(P_mean, P_std²) (Karras et al. 2022, "Elucidating the Design Space of
/// Diffusion-Based Generative Models", §5 and Table 1, "Training": p_train(σ)).
///
/// With z = (ln σ̃ − P_mean)/P_std: density p(σ̃) = φ(z)/(P_std·σ̃), CDF Φ(z) (φ, Φ the standard
/// normal density and distribution function); a draw is exp(P_mean + P_std·n), n ~ N(0, 1).
/// The support is (0, ∞); [`time`](NoiseLevelDistribution::time) maps σ̃ to the schedule's t
/// through `t_from_edm_sigma`, which fails for σ̃ beyond the schedule's largest noise level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogNormalSigma {
    p_mean: f64,
    p_std: f64,
}

impl LogNormalSigma {
    /// ln σ̃ ~ N(p_mean, p_std²).
    ///
    /// # Errors
    /// [`NoiseLevelError::NonFinite`] for a non-finite parameter,
    /// [`NoiseLevelError::NonPositive`] for p_std ≤ 0.
    pub fn new(p_mean: f64, p_std: f64) -> Result<Self, NoiseLevelError> {
        finite("p_mean", p_mean)?;
        positive("p_std", p_std)?;
        Ok(Self { p_mean, p_std })
    }

    /// P_mean, the mean of ln σ̃.
    pub fn p_mean(&self) -> f64 {
        self.p_mean
    }

    /// P_std, the standard deviation of ln σ̃.
    pub fn p_std(&self) -> f64 {
        self.p_std
    }

    fn z(&self, sigma: f64) -> f64 {
        (sigma.ln() - self.p_mean) / self.p_std
    }
}

impl Default for LogNormalSigma {
    /// P_mean = −1.2, P_std = 1.2 (Karras et al. 2022, Table 1 and §5).
    fn default() -> Self {
        Self {
            p_mean: -1.2,
            p_std: 1.2,
        }
    }
}

impl NoiseLevelDistribution for LogNormalSigma {
    fn variable(&self) -> NoiseVariable {
        NoiseVariable::Sigma
    }

    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        let n: f64 = StandardNormal.sample(rng);
        (self.p_mean + self.p_std * n).exp()
    }

    /// φ(z)/(P_std·σ̃) for σ̃ > 0, 0 otherwise.
    fn density(&self, value: f64) -> f64 {
        if value > 0.0 && value.is_finite() {
            std_normal_pdf(self.z(value)) / (self.p_std * value)
        } else {
            0.0
        }
    }

    /// Φ((ln σ̃ − P_mean)/P_std), 0 for σ̃ ≤ 0.
    fn cdf(&self, value: f64) -> f64 {
        if value > 0.0 {
            std_normal_cdf(self.z(value))
        } else if value.is_nan() {
            f64::NAN
        } else {
            0.0
        }
    }

    fn support(&self) -> (f64, f64) {
        (0.0, f64::INFINITY)
    }

    /// t(σ̃) by the schedule's `t_from_edm_sigma`, for finite σ̃ > 0.
    fn time(&self, value: f64, schedule: &dyn NoiseSchedule) -> Result<f64, NoiseLevelError> {
        finite("sigma", value)?;
        if value <= 0.0 {
            return Err(NoiseLevelError::OutOfSupport {
                value,
                lo: 0.0,
                hi: f64::INFINITY,
            });
        }
        Ok(schedule.t_from_edm_sigma(value)?)
    }
}

/// The standard normal density φ(z) = e^{−z²/2}/√(2π).
pub(super) fn std_normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// The standard normal distribution function Φ(z) = ½ erfc(−z/√2), to a relative accuracy of
/// about 1e-14 in both tails (the lower tail is computed as ½ erfc, never as 1 − something).
pub(super) fn std_normal_cdf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    let x = z * FRAC_1_SQRT_2;
    if x < 0.0 {
        0.5 * erfc(-x)
    } else {
        1.0 - 0.5 * erfc(x)
    }
}

/// erfc(x) for x ≥ 0: 1 − erf(x) by the positive-term series
/// erf(x) = (2/√π) e^{−x²} Σₙ 2ⁿ x^{2n+1}/(1·3···(2n + 1)) (Abramowitz & Stegun 7.1.6) for
/// x < 2, and the continued fraction
/// erfc(x) = (e^{−x²}/√π) · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) (A&S 7.1.14), evaluated by
/// the modified Lentz method, for x ≥ 2.
fn erfc(x: f64) -> f64 {
    if x == f64::INFINITY {
        return 0.0;
    }
    let scale = (-x * x).exp() / PI.sqrt();
    if x < 2.0 {
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= 2.0 * x2 / (2 * n + 1) as f64;
            sum += term;
            if term < 1e-17 * sum {
                break;
            }
        }
        1.0 - 2.0 * scale * sum
    } else {
        let tiny = 1e-300;
        let mut f = x;
        let (mut c, mut d) = (x, 0.0);
        for n in 1..1000 {
            let a = 0.5 * n as f64;
            d = x + a * d;
            if d.abs() < tiny {
                d = tiny;
            }
            d = 1.0 / d;
            c = x + a / c;
            if c.abs() < tiny {
                c = tiny;
            }
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        scale / f
    }
}
