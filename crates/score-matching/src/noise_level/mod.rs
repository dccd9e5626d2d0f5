//! The distributions a training step draws its noise level from, one type per file, each with
//! its density so that losses can be importance-weighted.
//!
//! A distribution draws one of three variables ([`NoiseVariable`]): schedule time t, the EDM
//! noise level σ̃ = σ(t)/α(t) (Karras et al. 2022), or an integer timestep of a discrete DDPM
//! table. [`NoiseLevelDistribution::time`] maps a draw to the schedule time the losses use.
//!
//! | type | draws | density | source |
//! |---|---|---|---|
//! | [`UniformTime`] | t ~ U[ε, T] | 1/(T − ε) | Song et al. 2021 (score SDE), eq. (7) |
//! | [`LogNormalSigma`] | ln σ̃ ~ N(P_mean, P_std²) | φ(z)/(P_std σ̃) | Karras et al. 2022, §5, Table 1 |
//! | [`LogitNormalTime`] | t = t_min + Δ·sigmoid(m + s n) | φ(z)Δ/(s(t − t_min)(t_max − t)) | Esser et al. 2024, §3.1 |
//! | [`DiscreteTimesteps`] | n ~ U{0, …, N − 1} | 1/N (mass) | Ho et al. 2020, Algorithm 1 |
//! | [`LikelihoodImportance`] | t ∝ g²(t)/σ²(t) | −λ'(t)/(λ(t_min) − λ(t_max)) | Song et al. 2021 (likelihood training), §5 |
//!
//! Every density and CDF is exact (closed form, no quadrature); every constructor validates its
//! parameters and returns a [`NoiseLevelError`]. [`importance_weight`] reweights a loss drawn
//! under one distribution to another of the same variable.

use rand::RngCore;
use scoreflow_noise_schedules::NoiseSchedule;

mod discrete_timesteps;
mod error;
mod likelihood_importance;
mod log_normal_sigma;
mod logit_normal_time;
mod uniform_time;

pub use discrete_timesteps::DiscreteTimesteps;
pub use error::NoiseLevelError;
pub use likelihood_importance::{LikelihoodImportance, importance_weight};
pub use log_normal_sigma::LogNormalSigma;
pub use logit_normal_time::LogitNormalTime;
pub use uniform_time::UniformTime;

/// What a [`NoiseLevelDistribution`] draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoiseVariable {
    /// Schedule time t.
    Time,
    /// The EDM noise level σ̃ = σ(t)/α(t) = e^{−λ(t)} (Karras et al. 2022, eq. (4)).
    Sigma,
    /// An integer timestep n ∈ {0, …, N − 1} of a discrete schedule (Ho et al. 2020), whose
    /// continuous time is t = (n + 1)/N (Lu et al. 2022, DPM-Solver's discrete convention).
    Timestep,
}

/// A distribution of noise levels for training.
///
/// `density` is the probability density of the drawn variable (the probability mass for
/// [`NoiseVariable::Timestep`]), `cdf` its distribution function; both are total functions
/// (0 outside the support). Sampling takes any random number generator, so a training loop
/// can key it by (seed, step) for exact resume.
pub trait NoiseLevelDistribution: std::fmt::Debug + Send + Sync {
    /// The variable this distribution draws.
    fn variable(&self) -> NoiseVariable;

    /// One draw.
    fn sample(&self, rng: &mut dyn RngCore) -> f64;

    /// The density (or mass) at `value`.
    fn density(&self, value: f64) -> f64;

    /// P(V ≤ value).
    fn cdf(&self, value: f64) -> f64;

    /// The closed support (lo, hi) of the drawn variable.
    fn support(&self) -> (f64, f64);

    /// `n` draws.
    fn sample_n(&self, n: usize, rng: &mut dyn RngCore) -> Vec<f64> {
        (0..n).map(|_| self.sample(rng)).collect()
    }

    /// The schedule time t of a drawn `value` on `schedule` (t itself, t(σ̃) through the
    /// schedule's inverse, or (n + 1)/N for a timestep).
    ///
    /// # Errors
    /// [`NoiseLevelError`] when the value is outside what the schedule can represent.
    fn time(&self, value: f64, schedule: &dyn NoiseSchedule) -> Result<f64, NoiseLevelError>;
}
