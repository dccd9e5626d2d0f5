//! Couplings: which noise sample x₀ is paired with which data sample x₁ in a minibatch.
//!
//! Conditional flow matching regresses on (x₀, x₁) pairs drawn from a coupling π of the noise
//! and data distributions. The independent coupling is I-CFM (Lipman et al. 2023; Tong et al.
//! 2024); pairing a minibatch by exact optimal transport gives OT-CFM, and by entropic OT
//! (Sinkhorn) with ε = 2σ² gives SB-CFM (Tong et al. 2024, "Improving and generalizing
//! flow-based generative models with minibatch optimal transport", §3.2–3.3; Pooladian et al.
//! 2023). Costs are squared Euclidean distances. Every coupling is deterministic given its seed.
//!
//! - [`Independent`]: a seeded random one-to-one pairing (or the identity).
//! - [`ExactOt`]: the optimal permutation, by an auction warm start and exact shortest augmenting
//!   paths, both vectorised; n₀ = n₁, or min(n₀, n₁) pairs with [`UnequalSizes::Partial`].
//! - [`Sinkhorn`]: the entropic plan (log-stabilised scaling with ε-scaling and adaptive
//!   over-relaxation) as a [`SinkhornPlan`], and n₀ pairs drawn from it with replacement.
//! - [`ClassRespecting`]: any of them within classes, for class-conditional models.
//! - [`cost`]: the squared-Euclidean cost matrix and its median.
//!
//! Bad input (mismatched or empty batches, NaN, ε ≤ 0, wrong label lengths) is a
//! [`CouplingError`], never a panic. Speed against POT: docs/benchmarks.md.

mod assignment;
mod class;
pub mod cost;
mod distances;
mod error;
mod exact;
mod independent;
mod kernels;
mod plan;
mod relaxation;
mod sinkhorn;

pub use class::ClassRespecting;
pub use error::{CouplingError, Side};
pub use exact::{ExactOt, UnequalSizes};
pub use independent::Independent;
pub use plan::SinkhornPlan;
pub use sinkhorn::{Epsilon, Sinkhorn};

use ndarray::ArrayView2;

/// Index pairs: row `source[k]` of x₀ goes with row `target[k]` of x₁.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pairs {
    /// Rows of x₀.
    pub source: Vec<usize>,
    /// Rows of x₁.
    pub target: Vec<usize>,
}

impl Pairs {
    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.source.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.source.is_empty()
    }
}

/// A way of pairing a minibatch of sources x₀ (n₀ × d) with targets x₁ (n₁ × d).
pub trait Coupling: std::fmt::Debug + Send + Sync {
    /// Pairs the rows of `x0` and `x1`; randomness (if any) comes only from `seed`.
    ///
    /// # Errors
    /// [`CouplingError`] for mismatched or empty batches, non-finite costs, or a solver that
    /// fails to converge.
    fn pair(
        &self,
        x0: ArrayView2<'_, f64>,
        x1: ArrayView2<'_, f64>,
        seed: u64,
    ) -> Result<Pairs, CouplingError>;
}

/// A borrowed coupling is a coupling, so that [`ClassRespecting`] can wrap a `&dyn Coupling`
/// chosen at run time.
impl<C: Coupling + ?Sized> Coupling for &C {
    fn pair(
        &self,
        x0: ArrayView2<'_, f64>,
        x1: ArrayView2<'_, f64>,
        seed: u64,
    ) -> Result<Pairs, CouplingError> {
        (**self).pair(x0, x1, seed)
    }
}
