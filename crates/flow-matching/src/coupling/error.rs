//! Why a coupling could not be computed.

/// Which batch of a coupling an error refers to: the sources x₀ or the targets x₁.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The sources x₀ (rows of the cost matrix).
    Source,
    /// The targets x₁ (columns of the cost matrix).
    Target,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Source => "x0",
            Side::Target => "x1",
        })
    }
}

/// Why a coupling could not be computed. Every invalid input is one of these values; no coupling
/// panics on data.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CouplingError {
    /// x₀ and x₁ have different numbers of columns (feature dimensions).
    #[error("x0 has {d0} features per row but x1 has {d1}")]
    DimensionMismatch {
        /// Columns of x₀.
        d0: usize,
        /// Columns of x₁.
        d1: usize,
    },
    /// A batch (or a side of a cost matrix or marginal) has no rows.
    #[error("empty batch: n0 = {n0}, n1 = {n1}")]
    Empty {
        /// Rows of x₀.
        n0: usize,
        /// Rows of x₁.
        n1: usize,
    },
    /// A NaN or infinite value in an input (`what` says which) at the given row and column.
    #[error("non-finite value {value} in {what} at ({row}, {col})")]
    NonFinite {
        /// `"x0"`, `"x1"`, `"cost"`, `"a"` or `"b"`.
        what: &'static str,
        /// Row of the value (its index for a vector).
        row: usize,
        /// Column of the value (0 for a vector).
        col: usize,
        /// The value.
        value: f64,
    },
    /// The entropic regularisation ε is not a finite positive number (after scaling by the
    /// median cost, for a relative ε).
    #[error("Sinkhorn needs a finite epsilon > 0, got {0}")]
    InvalidEpsilon(f64),
    /// A solver option is out of its range (`name` says which).
    #[error("invalid option {name} = {value}: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The valid range.
        reason: &'static str,
    },
    /// Sinkhorn's marginal error ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ was still above the tolerance after
    /// the iteration cap.
    #[error(
        "Sinkhorn did not converge in {iterations} iterations: marginal error {marginal_error:e} \
         > tolerance {tolerance:e}"
    )]
    NotConverged {
        /// Iterations run (all ε stages together).
        iterations: usize,
        /// The L1 marginal error reached.
        marginal_error: f64,
        /// The tolerance asked for.
        tolerance: f64,
    },
    /// A marginal has the wrong length, a non-positive entry, or a total mass different from
    /// the other marginal's.
    #[error("invalid marginal {side}: {reason}")]
    InvalidMarginal {
        /// The marginal (`x0`: a, `x1`: b).
        side: Side,
        /// What is wrong.
        reason: String,
    },
    /// A label slice's length differs from its batch's number of rows.
    #[error("{side} has {rows} rows but {labels} labels")]
    LabelLength {
        /// Which batch.
        side: Side,
        /// Rows of the batch.
        rows: usize,
        /// Length of the label slice.
        labels: usize,
    },
    /// A class occurs in one batch but not in the other, so its rows cannot be paired within
    /// the class.
    #[error("class {label} has {n0} rows in x0 but {n1} in x1")]
    UnpairableClass {
        /// The label.
        label: usize,
        /// Rows of x₀ with this label.
        n0: usize,
        /// Rows of x₁ with this label.
        n1: usize,
    },
    /// An exact one-to-one coupling with [`UnequalSizes::Reject`](super::UnequalSizes) was given
    /// batches of different sizes.
    #[error("exact OT pairs one-to-one and needs n0 == n1, got n0 = {n0}, n1 = {n1}")]
    UnequalSizes {
        /// Rows of x₀.
        n0: usize,
        /// Rows of x₁.
        n1: usize,
    },
}
