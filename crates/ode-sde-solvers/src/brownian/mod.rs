//! Brownian motion for SDE solvers, seeded per sample.
//!
//! Every sample of a batch (the leading axis of the state, see [`crate::State`]) draws from its
//! own seed, so sample *i*'s path is the same whatever batch it is computed in and wherever it
//! sits in it. [`sample_seeds`] derives per-sample seeds from one base seed.
//!
//! Besides the increment ΔW = W(t₁) − W(t₀), a source can return the space-time Lévy area
//! H = (1/h)∫_{t₀}^{t₁} (W(r) − W(t₀) − (r − t₀)/h·ΔW) dr, h = t₁ − t₀, which is N(0, h/12) and
//! independent of ΔW (Foster, Lyons & Oberhauser 2020, "An optimal polynomial approximation of
//! Brownian motion", SIAM J. Numer. Anal. 58(3)). It gives the iterated integral
//! I₍₁,₀₎ = ∫∫ dW ds = h(ΔW/2 + H) that strong-order-1.5 schemes need.

mod descent;
pub(crate) mod rng;
mod sequential;
mod tree;

pub use rng::sample_seeds;
pub use sequential::SequentialBrownian;
pub use tree::VirtualBrownianTree;

use crate::SolveError;

/// The Brownian quantities over one interval.
#[derive(Clone, Debug)]
pub struct BrownianIncrement<S> {
    /// ΔW = W(t₁) − W(t₀).
    pub dw: S,
    /// The space-time Lévy area H, when it was asked for.
    pub levy_h: Option<S>,
}

/// A source of Brownian increments over intervals [t₀, t₁] (t₁ < t₀ is allowed for integration
/// backward in time: then ΔW = W(t₁) − W(t₀) is that of the time-reversed motion).
pub trait BrownianSource<S> {
    /// The increment over [t0, t1], with the space-time Lévy area if `levy_area` is true.
    fn increment(
        &mut self,
        t0: f64,
        t1: f64,
        levy_area: bool,
    ) -> Result<BrownianIncrement<S>, SolveError>;
}
