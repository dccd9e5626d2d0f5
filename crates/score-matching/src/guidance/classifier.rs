//! Classifier guidance.

use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, State};

/// ∇ₓ ln p(y | x; σ) of a noise-conditional classifier at the noised point x (α = 1 variables),
/// for the class y the classifier was set up with — e.g. by autodiff of a network trained on
/// noised data, or in closed form for a Gaussian mixture.
pub trait ClassifierGradient<S> {
    /// ∇ₓ ln p(y | x; σ).
    ///
    /// # Errors
    /// The classifier's own failure.
    fn grad_log_prob(&self, x: &S, sigma: f64) -> Result<S, DenoiseError>;
}

impl<S, F: Fn(&S, f64) -> S> ClassifierGradient<S> for F {
    fn grad_log_prob(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        Ok(self(x, sigma))
    }
}

/// Classifier guidance (Song et al. 2021, §5 "controllable generation"; Dhariwal & Nichol 2021,
/// §4): the conditional score is ∇ ln p_σ(x | y) = ∇ ln p_σ(x) + ∇ ln p(y | x; σ), so by Tweedie
/// (D = x + σ²∇ ln p_σ)
///
/// D̃(x; σ) = D(x; σ) + s·σ²·∇ₓ ln p(y | x; σ),
///
/// which is the exact conditional denoiser at scale s = 1 with the exact classifier, and
/// sharpens towards class y for s > 1.
pub struct ClassifierGuidance<'a, S> {
    /// The unconditional denoiser.
    pub denoiser: &'a dyn Denoiser<S>,
    /// The classifier's gradient.
    pub classifier: &'a dyn ClassifierGradient<S>,
    /// The scale s.
    pub scale: f64,
}

impl<S: State> Denoiser<S> for ClassifierGuidance<'_, S> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        let d = self.denoiser.denoise(x, sigma)?;
        if self.scale == 0.0 {
            return Ok(d);
        }
        let g = self.classifier.grad_log_prob(x, sigma)?;
        Ok(d.add_scaled(self.scale * sigma * sigma, &g))
    }
}
