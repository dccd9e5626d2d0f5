//! A network on any noise schedule as a σ-space denoiser.

use scoreflow_noise_schedules::NoiseSchedule;
use scoreflow_ode_sde_solvers::{Denoiser, State};

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
/// σ̃ outside the schedule's range (e.g. beyond a VP schedule's σ_max) is an error of the
/// schedule's inverse; this adapter then panics with that message, because `Denoiser` is
/// infallible: choose grids inside the schedule's range (`NoiseSchedule::edm_sigma` at its ends).
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
    fn denoise(&self, x: &S, sigma: f64) -> S {
        let t = self
            .schedule
            .t_from_edm_sigma(sigma)
            .unwrap_or_else(|e| panic!("σ = {sigma} is outside the schedule: {e}"));
        let (alpha, sigma_t) = (self.schedule.alpha(t), self.schedule.sigma(t));
        let x_t = x.clone().scale(alpha);
        let pred = self.network.forward(&x_t, self.time_input.apply(t));
        self.parameterization.to_x0(pred, &x_t, alpha, sigma_t)
    }
}
