//! A network on any noise schedule as a σ-space denoiser.

use scoreflow_noise_schedules::{NoiseSchedule, ScheduleError};
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, State};

use super::{Network, Parameterization};

/// What the network receives as its time input for schedule time t.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TimeInput {
    /// t itself (continuous-time models).
    Continuous,
    /// k·t, e.g. k = 999 for score_sde's VP models or 1000 for t ∈ [0, 1] DDPM-style embeddings.
    Scaled(f64),
    /// The fractional training index n = N·t − 1 of a discrete schedule whose nodes are
    /// t_n = (n + 1)/N (DPM-Solver's discrete-time convention), for diffusers-style networks.
    DiscreteIndex {
        /// N, the number of training timesteps.
        num_train_timesteps: usize,
    },
}

impl TimeInput {
    /// The network input for time t.
    pub fn apply(self, t: f64) -> f64 {
        match self {
            Self::Continuous => t,
            Self::Scaled(k) => k * t,
            Self::DiscreteIndex {
                num_train_timesteps,
            } => num_train_timesteps as f64 * t - 1.0,
        }
    }
}

/// D(x; σ̃) from a network trained on x_t = α(t)x₀ + σ(t)ε (Karras et al. 2022, §4 and Table 1's
/// VP/VE columns; Lu et al. 2022 for the data-prediction conversion):
/// t = t(λ = −ln σ̃), x_t = α(t)·x, D = to_x0(F(x_t, c(t)); x_t, α(t), σ(t)).
///
/// A velocity network of flow matching ([`Parameterization::FlowVelocity`]) on a flow path
/// (data at t = 1) is a denoiser the same way: σ̃ = σ/α maps to the path's t, and the velocity
/// converts to x̂₁ with the path's α', σ'.
///
/// σ̃ outside the schedule's range (e.g. beyond a VP schedule's σ_max) maps to no t: the
/// schedule's inverse fails, and [`Denoiser::denoise`] returns that error (an
/// [`OutsideSchedule`] in a [`DenoiseError`]), as it returns the network's own; samplers report
/// it as `SolveError::Model`. Choose grids inside the schedule's range
/// (`NoiseSchedule::edm_sigma` at its ends).
pub struct ScheduleDenoiser<'a, N> {
    /// The network.
    pub network: N,
    /// The schedule it was trained with.
    pub schedule: &'a dyn NoiseSchedule,
    /// What it predicts.
    pub parameterization: Parameterization,
    /// How it takes time.
    pub time_input: TimeInput,
}

impl<S: State, N: Network<S>> Denoiser<S> for ScheduleDenoiser<'_, N> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        let t = self
            .schedule
            .t_from_edm_sigma(sigma)
            .map_err(|source| DenoiseError::new(OutsideSchedule { sigma, source }))?;
        let c = self.schedule.coefficients(t);
        let x_t = x.clone().scale(c.alpha);
        let pred = self.network.forward(&x_t, self.time_input.apply(t))?;
        Ok(self.parameterization.to_x0(pred, &x_t, &c))
    }
}

/// σ̃ maps to no time of the schedule: the error a [`ScheduleDenoiser`] returns (inside a
/// [`DenoiseError`]; `downcast_ref::<OutsideSchedule>()` recovers it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("σ = {sigma} is outside the schedule: {source}")]
pub struct OutsideSchedule {
    /// The σ̃ asked for.
    pub sigma: f64,
    /// The schedule's inverse's error.
    pub source: ScheduleError,
}
