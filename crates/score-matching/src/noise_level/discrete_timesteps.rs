//! Uniform integer timesteps of a discrete DDPM table.

use rand::{Rng, RngCore};
use scoreflow_noise_schedules::NoiseSchedule;

use super::error::finite;
use super::{NoiseLevelDistribution, NoiseLevelError, NoiseVariable};

/// n ~ U{0, …, N − 1} (Ho et al. 2020, "Denoising Diffusion Probabilistic Models",
/// Algorithm 1: t ~ Uniform({1, …, T}), here zero-based as in diffusers).
///
/// Mass P(n) = 1/N at each integer of the support, CDF F(v) = (⌊v⌋ + 1)/N on [0, N − 1].
/// [`time`](NoiseLevelDistribution::time) is t = (n + 1)/N, DPM-Solver's continuous time of
/// table node n (Lu et al. 2022, §3.4), at which a
/// [`Discrete`](scoreflow_noise_schedules::Discrete) table has α = √ᾱₙ, σ = √(1 − ᾱₙ).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DiscreteTimesteps {
    n: usize,
}

impl DiscreteTimesteps {
    /// Uniform on {0, …, n − 1}.
    ///
    /// # Errors
    /// [`NoiseLevelError::ZeroCount`] for n = 0.
    pub fn new(n: usize) -> Result<Self, NoiseLevelError> {
        if n == 0 {
            return Err(NoiseLevelError::ZeroCount {
                name: "num_train_timesteps",
            });
        }
        Ok(Self { n })
    }

    /// N, the number of timesteps.
    pub fn num_train_timesteps(&self) -> usize {
        self.n
    }

    /// The timestep `value` as an index, if it is an integer in {0, …, N − 1}.
    fn index(&self, value: f64) -> Option<usize> {
        (value >= 0.0 && value <= (self.n - 1) as f64 && value.fract() == 0.0)
            .then_some(value as usize)
    }
}

impl Default for DiscreteTimesteps {
    /// N = 1000 (Ho et al. 2020, §4).
    fn default() -> Self {
        Self { n: 1000 }
    }
}

impl NoiseLevelDistribution for DiscreteTimesteps {
    fn variable(&self) -> NoiseVariable {
        NoiseVariable::Timestep
    }

    fn sample(&self, rng: &mut dyn RngCore) -> f64 {
        rng.random_range(0..self.n) as f64
    }

    /// The mass 1/N at an integer of {0, …, N − 1}, 0 elsewhere.
    fn density(&self, value: f64) -> f64 {
        match self.index(value) {
            Some(_) => 1.0 / self.n as f64,
            None => 0.0,
        }
    }

    /// (⌊v⌋ + 1)/N, clamped to [0, 1].
    fn cdf(&self, value: f64) -> f64 {
        if value.is_nan() {
            f64::NAN
        } else if value < 0.0 {
            0.0
        } else {
            ((value.floor() + 1.0) / self.n as f64).min(1.0)
        }
    }

    fn support(&self) -> (f64, f64) {
        (0.0, (self.n - 1) as f64)
    }

    /// t = (n + 1)/N, checked to lie in the schedule's `t_range()`.
    ///
    /// # Errors
    /// [`NoiseLevelError::NonFinite`], [`NoiseLevelError::NotAnInteger`],
    /// [`NoiseLevelError::OutOfSupport`] or [`NoiseLevelError::OutsideSchedule`].
    fn time(&self, value: f64, schedule: &dyn NoiseSchedule) -> Result<f64, NoiseLevelError> {
        finite("timestep", value)?;
        if value.fract() != 0.0 {
            return Err(NoiseLevelError::NotAnInteger { value });
        }
        let Some(n) = self.index(value) else {
            let (lo, hi) = self.support();
            return Err(NoiseLevelError::OutOfSupport { value, lo, hi });
        };
        let t = (n + 1) as f64 / self.n as f64;
        let (t_min, t_max) = schedule.t_range();
        if !(t_min..=t_max).contains(&t) {
            return Err(NoiseLevelError::OutsideSchedule { t, t_min, t_max });
        }
        Ok(t)
    }
}
