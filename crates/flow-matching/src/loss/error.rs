//! Why a flow-matching loss could not be computed.

use thiserror::Error;

use crate::path::PathError;

/// A flow-matching loss's failure. Never a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FlowLossError {
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
    /// A time outside the flow's domain (for SB-CFM the open interval (0, 1)).
    #[error("sample {index}: t = {t} is outside the flow's domain {domain}")]
    Time {
        /// Sample index.
        index: usize,
        /// The time given.
        t: f64,
        /// The domain, e.g. "[0, 1]".
        domain: &'static str,
    },
    /// The flow adds noise (σ > 0) but no noise tensor was given.
    #[error("{flow} with σ > 0 needs a noise tensor ε")]
    MissingNoise {
        /// The flow's name.
        flow: &'static str,
    },
    /// The flow has no score term (only SB-CFM does).
    #[error("{flow} has no score-matching term")]
    NoScoreTerm {
        /// The flow's name.
        flow: &'static str,
    },
    /// A parameter out of its domain.
    #[error("{name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The path rejected the flow's schedule or a time.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The network failed.
    #[error("the network failed: {0}")]
    Network(#[source] Box<dyn std::error::Error + Send + Sync>),
}
