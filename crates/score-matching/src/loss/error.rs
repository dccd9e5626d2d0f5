//! Why a loss could not be computed.

use thiserror::Error;

/// A loss's failure: bad shapes, a noise level its schedule cannot represent, an invalid
/// parameter, or the network's own error. Never a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LossError {
    /// Two inputs that must agree in shape do not.
    #[error("{what}: expected shape {expected:?}, got {got:?}")]
    Shape {
        /// Which input.
        what: &'static str,
        /// The shape it had to have.
        expected: Vec<usize>,
        /// The shape it had.
        got: Vec<usize>,
    },
    /// A batch of no samples.
    #[error("the batch is empty")]
    EmptyBatch,
    /// A per-sample noise level the schedule cannot use (outside its time range, σ ≤ 0, α ≤ 0,
    /// or a non-finite coefficient).
    #[error("sample {index}: noise level t = {t} is unusable: {reason}")]
    NoiseLevel {
        /// Sample index.
        index: usize,
        /// The time given.
        t: f64,
        /// What is wrong with it.
        reason: String,
    },
    /// A per-sample weight that is negative or not finite.
    #[error("sample {index}: weight {value} must be finite and ≥ 0")]
    SampleWeight {
        /// Sample index.
        index: usize,
        /// The weight given.
        value: f64,
    },
    /// A loss parameter out of its domain.
    #[error("{name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The network failed (e.g. it rejected the input's shape).
    #[error("the network failed: {0}")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync>),
}
