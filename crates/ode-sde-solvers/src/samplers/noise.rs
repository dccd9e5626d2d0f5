//! Fresh noise for stochastic samplers, seeded per sample.

use crate::SolveError;
use crate::brownian::rng::PerSampleNormals;
use crate::brownian::{BrownianSource, VirtualBrownianTree};
use crate::state::State;

/// A standard normal draw for the step σ → σ_next, the role of k-diffusion's
/// `noise_sampler(sigma, sigma_next)`.
pub trait NoiseSampler<S> {
    /// z ~ N(0, I) shaped like the state, for the step from `sigma` to `sigma_next`.
    fn sample(&mut self, sigma: f64, sigma_next: f64) -> Result<S, SolveError>;
}

/// Independent N(0, I) draws on every call; sample i draws from its own seeded stream, so its
/// trajectory does not depend on the batch it is in (the default for ancestral samplers).
#[derive(Clone, Debug)]
pub struct GaussianNoise<S> {
    normals: PerSampleNormals<S>,
}

/// Stream reserved for sampler noise, distinct from the initial-noise and Brownian streams.
const SAMPLER_STREAM: u64 = 0x5A4D_504C_4552;

impl<S: State> GaussianNoise<S> {
    /// Noise shaped like `template`, one seed per sample.
    pub fn new(template: &S, seeds: &[u64]) -> Result<Self, SolveError> {
        Ok(Self {
            normals: PerSampleNormals::new(template, seeds, SAMPLER_STREAM)?,
        })
    }
}

impl<S: State> NoiseSampler<S> for GaussianNoise<S> {
    fn sample(&mut self, _: f64, _: f64) -> Result<S, SolveError> {
        Ok(self.normals.draw(1.0))
    }
}

/// Normalised Brownian increments (W(σ_next) − W(σ))/√|σ_next − σ| from one virtual Brownian
/// tree on [σ_min, σ_max] (k-diffusion's `BrownianTreeNoiseSampler` with the identity transform):
/// the noise of SDE samplers then converges to one Brownian path as the grid is refined.
///
/// The tree carries W alone ([`VirtualBrownianTree::without_levy_area`]) and resolves
/// σ to tol = (σ_max − σ_min)·2⁻²⁶ (≈ 1.2·10⁻⁶ on [0.002, 80], k-diffusion's 10⁻⁶): grid
/// points closer than that share a leaf, where the two are drawn independently given its
/// ends. A sampler's query [σᵢ₊₁, σᵢ] shares σᵢ with the previous one and the top of its
/// descent with the last, so each step costs about log₂(|σᵢ − σᵢ₊₁|/tol) normals per element.
#[derive(Clone, Debug)]
pub struct BrownianTreeNoise<S> {
    tree: VirtualBrownianTree<S>,
}

impl<S: State> BrownianTreeNoise<S> {
    /// A tree on [sigma_min, sigma_max] shaped like `template`, one seed per sample.
    pub fn new(
        template: &S,
        sigma_min: f64,
        sigma_max: f64,
        seeds: &[u64],
    ) -> Result<Self, SolveError> {
        let tol = (sigma_max - sigma_min) * 2f64.powi(-26);
        Ok(Self {
            tree: VirtualBrownianTree::new(template, sigma_min, sigma_max, tol, seeds)?
                .without_levy_area(),
        })
    }
}

impl<S: State> NoiseSampler<S> for BrownianTreeNoise<S> {
    fn sample(&mut self, sigma: f64, sigma_next: f64) -> Result<S, SolveError> {
        let (a, b) = if sigma < sigma_next {
            (sigma, sigma_next)
        } else {
            (sigma_next, sigma)
        };
        let inc = self.tree.increment(a, b, false)?;
        Ok(inc.dw.scale(1.0 / (b - a).sqrt()))
    }
}
