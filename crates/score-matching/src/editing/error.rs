//! Why an edit was rejected.

use scoreflow_ode_sde_solvers::SolveError;
use thiserror::Error;

/// An editing failure. Never a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EditError {
    /// The mask, the known values or the noise do not have the input's shape.
    #[error("{what} has {got} elements, the input has {expected}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The input's element count.
        expected: usize,
        /// The element count found.
        got: usize,
    },
    /// A mask entry that is neither 0 nor 1.
    #[error("mask entry {index} is {value}: masks hold 0 (generate) or 1 (known)")]
    Mask {
        /// Flat index.
        index: usize,
        /// Its value.
        value: f64,
    },
    /// σ₀ outside the grid, or another invalid parameter.
    #[error("{name} = {value}: {reason}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The rule it breaks.
        reason: String,
    },
    /// The sampler or the model failed.
    #[error(transparent)]
    Solve(#[from] SolveError),
}
