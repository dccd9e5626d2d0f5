//! Exact minibatch optimal transport (OT-CFM).

use ndarray::ArrayView2;

use super::assignment;
use super::cost::{check_finite, squared_euclidean};
use super::{Coupling, CouplingError, Pairs};

/// What [`ExactOt`] does with batches of different sizes n₀ ≠ n₁.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnequalSizes {
    /// [`CouplingError::UnequalSizes`]: a one-to-one coupling of uniform marginals exists only
    /// for n₀ = n₁.
    #[default]
    Reject,
    /// Pair min(n₀, n₁) rows: every row of the smaller batch with a distinct row of the larger,
    /// minimising the total cost (the rectangular assignment problem); the other rows of the
    /// larger batch stay unpaired.
    Partial,
}

/// Exact minibatch optimal transport: the permutation σ minimising Σ_i C_{i,σ(i)} with
/// C_ij = ‖x0_i − x1_j‖², i.e. the W₂ optimal coupling of the two empirical measures, whose
/// uniform-marginal OT plans have a permutation matrix among their optima (Birkhoff–von
/// Neumann). OT-CFM trains on these pairs (Tong et al. 2024, "Improving and generalizing
/// flow-based generative models with minibatch optimal transport", §3.3; Pooladian et al. 2023,
/// "Multisample Flow Matching: Straightening Flows with Minibatch Couplings").
///
/// Solved as a linear sum assignment: for n₀ = n₁ an ε-scaling auction (Bertsekas 1988, "The
/// auction algorithm: a distributed relaxation method for the assignment problem") supplies
/// near-optimal duals, and the shortest augmenting path method (Crouse 2016, "On implementing 2D
/// rectangular assignment algorithms" — the algorithm of SciPy's `linear_sum_assignment` and of
/// the `lsap` crate) completes them to the exact optimum, with every row scan vectorised; 13–35×
/// faster than `lsap` at n = 1024 (`lsap` is the tests' reference). O(n³) in the worst case.
/// The solver is deterministic, so ties (duplicated points) give the same optimal permutation on
/// every call; the seed is unused.
///
/// Pairs are returned sorted by source row. Sizes: see [`UnequalSizes`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExactOt {
    /// What to do when n₀ ≠ n₁.
    pub unequal: UnequalSizes,
}

impl ExactOt {
    /// Exact OT that requires n₀ = n₁.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exact OT that pairs min(n₀, n₁) rows when the sizes differ.
    pub fn partial() -> Self {
        Self {
            unequal: UnequalSizes::Partial,
        }
    }

    /// The minimum-cost assignment of the rows of `cost` (n₀ × n₁) to its columns:
    /// min over injections σ of Σ_i C_{i,σ(i)} (transposed for n₀ > n₁).
    ///
    /// # Errors
    /// [`CouplingError::Empty`] for an empty matrix, [`CouplingError::NonFinite`] for a NaN or
    /// infinite cost, [`CouplingError::UnequalSizes`] for n₀ ≠ n₁ under
    /// [`UnequalSizes::Reject`].
    pub fn assign(&self, cost: ArrayView2<'_, f64>) -> Result<Pairs, CouplingError> {
        let (n0, n1) = cost.dim();
        if n0 == 0 || n1 == 0 {
            return Err(CouplingError::Empty { n0, n1 });
        }
        if n0 != n1 && self.unequal == UnequalSizes::Reject {
            return Err(CouplingError::UnequalSizes { n0, n1 });
        }
        check_finite(cost, "cost")?;
        // The solver adds rows one at a time and needs rows ≤ columns.
        if n0 <= n1 {
            let c = cost.as_standard_layout();
            let target = assignment::solve(c.as_slice().expect("standard layout"), n0, n1);
            return Ok(Pairs {
                source: (0..n0).collect(),
                target,
            });
        }
        let t = cost.t().as_standard_layout().into_owned();
        let source_of = assignment::solve(t.as_slice().expect("standard layout"), n1, n0);
        let mut by_source: Vec<(usize, usize)> = source_of.into_iter().zip(0..n1).collect();
        by_source.sort_unstable();
        let (source, target) = by_source.into_iter().unzip();
        Ok(Pairs { source, target })
    }
}

impl Coupling for ExactOt {
    fn pair(
        &self,
        x0: ArrayView2<'_, f64>,
        x1: ArrayView2<'_, f64>,
        _seed: u64,
    ) -> Result<Pairs, CouplingError> {
        let cost = squared_euclidean(x0, x1)?;
        self.assign(cost.view())
    }
}
