//! What a network predicts, and how each prediction becomes a denoiser.
//!
//! A diffusion model sees x_t = α(t)x₀ + σ(t)ε. Samplers work in the α = 1 variables
//! x = x_t/α = x₀ + σ̃ε with σ̃ = σ/α = e^{−λ} (Karras et al. 2022, §4, "scaling"), and need only
//! D(x; σ̃) = E[x₀ | x]. [`ScheduleDenoiser`] maps σ̃ to the network's time t on any
//! [`NoiseSchedule`](scoreflow_noise_schedules::NoiseSchedule), feeds it x_t = α x, and converts
//! its prediction to x̂₀ with [`Parameterization::to_x0`]; [`EdmPreconditioned`] wraps a raw
//! network F with EDM's c_skip, c_out, c_in, c_noise.

mod adapter;
mod edm;
mod kind;

pub use adapter::{OutsideSchedule, ScheduleDenoiser, TimeInput};
pub use edm::EdmPreconditioned;
pub use kind::Parameterization;

use scoreflow_ode_sde_solvers::{DenoiseError, FallibleFn};

/// A network evaluated on a batch at one conditioning value (time or noise embedding input).
///
/// Fallible like [`Denoiser`](scoreflow_ode_sde_solvers::Denoiser): a network that rejects its
/// input (e.g. `scoreflow-models`' `try_forward` and its `InputError`) returns the error, and the
/// adapters pass it on. Any closure `Fn(&S, f64) -> S` is a network (one that never fails); a
/// closure returning `Result<S, E>` is one through [`FallibleFn`].
pub trait Network<S> {
    /// The network's output for input `x` at conditioning `c`.
    ///
    /// # Errors
    /// The network's own failure.
    fn forward(&self, x: &S, c: f64) -> Result<S, DenoiseError>;
}

impl<S, F: Fn(&S, f64) -> S> Network<S> for F {
    fn forward(&self, x: &S, c: f64) -> Result<S, DenoiseError> {
        Ok(self(x, c))
    }
}

impl<S, E, F> Network<S> for FallibleFn<F>
where
    F: Fn(&S, f64) -> Result<S, E>,
    E: std::error::Error + Send + Sync + 'static,
{
    fn forward(&self, x: &S, c: f64) -> Result<S, DenoiseError> {
        (self.0)(x, c).map_err(DenoiseError::new)
    }
}
