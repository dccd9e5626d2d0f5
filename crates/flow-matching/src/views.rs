//! Velocity fields and σ-space denoisers as views of each other, so that every sampler of
//! `scoreflow-ode-sde-solvers` runs on a flow model and every flow sampler on a diffusion model.

use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, State};

use crate::path::{AffinePath, FlowTarget, PathError};

/// A velocity field u_t(x) on an affine path as the σ-space denoiser the samplers use
/// (Karras et al. 2022, §4: any Gaussian path is x = x₁ + σ̃ε in the scaled variable
/// x = x_t/α with σ̃ = σ/α = e^{−λ}): t = λ⁻¹(−ln σ̃), x_t = α(t)·x, and
/// D(x; σ̃) = x̂₁ = (σ'x_t − σû)/(ασ' − σα') ([`FlowTarget`]'s conversion).
///
/// σ̃ outside the path's range maps to no t: [`Denoiser::denoise`] returns the
/// [`try_denoise`](Self::try_denoise) error (the [`PathError`] inside a [`DenoiseError`]).
pub struct VelocityDenoiser<'a, S> {
    /// u(x, t).
    pub velocity: &'a dyn Fn(&S, f64) -> S,
    /// The path the velocity was trained on.
    pub path: &'a AffinePath,
}

impl<S: State> VelocityDenoiser<'_, S> {
    /// D(x; σ̃), or the path's error.
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`] when σ̃ maps to no t of the path, [`PathError::Singular`]
    /// at the path's ends where the conversion divides by zero.
    pub fn try_denoise(&self, x: &S, sigma: f64) -> Result<S, PathError> {
        let t = self
            .path
            .schedule()
            .t_from_edm_sigma(sigma)
            .map_err(|_| PathError::TimeOutOfRange { t: f64::NAN })?;
        let c = self.path.coefficients(t)?;
        let x_t = x.clone().scale(c.alpha);
        let u = (self.velocity)(&x_t, t);
        self.path
            .convert(u, FlowTarget::Velocity, FlowTarget::Data, &x_t, t)
    }
}

impl<S: State> Denoiser<S> for VelocityDenoiser<'_, S> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        self.try_denoise(x, sigma).map_err(DenoiseError::new)
    }
}

/// A σ-space denoiser D(x; σ̃) as the velocity field of an affine path (Lipman et al. 2024,
/// §4.8.1): x̂₁ = D(x_t/α; σ/α) and u_t(x_t) = (α' − σ'α/σ)x̂₁ + (σ'/σ)x_t. At t = 1 (σ = 0)
/// the limit u₁(x) = α'(1)/α(1)·x is used, the velocity of the data end (x̂₁ = x/α there).
pub struct DenoiserVelocity<'a, S> {
    /// D(x; σ̃).
    pub denoiser: &'a dyn Denoiser<S>,
    /// The path whose velocity is wanted.
    pub path: &'a AffinePath,
}

impl<S: State> DenoiserVelocity<'_, S> {
    /// u_t(x).
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`] unless 0 < t ≤ 1: at t = 0 (α = 0) x_t carries no
    /// information about x₁ and σ̃ = ∞; [`PathError::Model`] with the denoiser's own error.
    pub fn velocity(&self, x: &S, t: f64) -> Result<S, PathError> {
        let c = self.path.coefficients(t)?;
        if c.alpha <= 0.0 {
            return Err(PathError::TimeOutOfRange { t });
        }
        if c.sigma == 0.0 {
            return Ok(x.clone().scale(c.d_alpha / c.alpha));
        }
        let x1 = self
            .denoiser
            .denoise(&x.clone().scale(1.0 / c.alpha), c.sigma / c.alpha)?;
        self.path
            .convert(x1, FlowTarget::Data, FlowTarget::Velocity, x, t)
    }
}
