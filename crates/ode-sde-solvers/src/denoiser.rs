//! The one model interface samplers see.

use std::cell::Cell;

/// A denoiser D(x; σ) ≈ E[x₀ | x₀ + σε = x], ε ~ N(0, I) (Karras et al. 2022, "Elucidating the
/// Design Space of Diffusion-Based Generative Models", eq. (2)–(3)).
///
/// Samplers work in this α = 1 parameterisation: the probability-flow ODE is
/// dx/dσ = (x − D(x; σ))/σ and the score is ∇ log p_σ(x) = (D(x; σ) − x)/σ². Networks trained with
/// other parameterisations or schedules (ε, x₀, v, score, VP α(t)) become denoisers through the
/// adapters of `scoreflow-score-matching`.
///
/// Any closure `Fn(&S, f64) -> S` is a denoiser.
pub trait Denoiser<S> {
    /// D(x; σ) for the whole batch at one noise level.
    fn denoise(&self, x: &S, sigma: f64) -> S;
}

impl<S, F: Fn(&S, f64) -> S> Denoiser<S> for F {
    fn denoise(&self, x: &S, sigma: f64) -> S {
        self(x, sigma)
    }
}

/// Counts the evaluations of a denoiser (the NFE samplers are compared by).
pub struct CountingDenoiser<'a, S> {
    inner: &'a dyn Denoiser<S>,
    count: Cell<usize>,
}

impl<'a, S> CountingDenoiser<'a, S> {
    /// Wraps `inner` with a zeroed counter.
    pub fn new(inner: &'a dyn Denoiser<S>) -> Self {
        Self {
            inner,
            count: Cell::new(0),
        }
    }

    /// Evaluations so far.
    pub fn count(&self) -> usize {
        self.count.get()
    }
}

impl<S> Denoiser<S> for CountingDenoiser<'_, S> {
    fn denoise(&self, x: &S, sigma: f64) -> S {
        self.count.set(self.count.get() + 1);
        self.inner.denoise(x, sigma)
    }
}
