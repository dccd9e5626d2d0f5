//! A model's conditional and unconditional predictions, together.

use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser};

/// A model that returns its conditional and unconditional denoised values at (x, σ) together:
/// a network evaluates both in one batched call (the batch and its labels doubled, the second
/// half on the null class); two separate models are a [`SeparatePair`]. The class the
/// conditional half is conditioned on is the model's own state.
pub trait PairedDenoiser<S> {
    /// (D_c(x; σ), D∅(x; σ)).
    ///
    /// # Errors
    /// The model's own failure.
    fn denoise_pair(&self, x: &S, sigma: f64) -> Result<(S, S), DenoiseError>;
}

/// Two denoisers, conditional and unconditional, as a [`PairedDenoiser`] (two calls).
pub struct SeparatePair<'a, S> {
    /// D_c.
    pub conditional: &'a dyn Denoiser<S>,
    /// D∅.
    pub unconditional: &'a dyn Denoiser<S>,
}

impl<S> PairedDenoiser<S> for SeparatePair<'_, S> {
    fn denoise_pair(&self, x: &S, sigma: f64) -> Result<(S, S), DenoiseError> {
        Ok((
            self.conditional.denoise(x, sigma)?,
            self.unconditional.denoise(x, sigma)?,
        ))
    }
}
