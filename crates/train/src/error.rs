//! Everything a training run can fail with, as one readable line each.

use std::path::PathBuf;

use thiserror::Error;

use crate::config::ConfigError;
use crate::data::DataError;
use crate::model::NetworkError;

/// A training (or sampling) failure. Never a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The network does not fit the data or its configuration.
    #[error("model: {0}")]
    Model(String),
    /// A network call failed.
    #[error("network: {0}")]
    Network(#[from] NetworkError),
    /// The objective rejected its inputs.
    #[error("objective: {0}")]
    Objective(String),
    /// A non-finite loss or gradient with `on_nonfinite = "stop"`.
    #[error(
        "step {step}: the {what} is not finite; training stopped (the last checkpoint before it is kept; \
         lower train.lr, keep train.clip, or set train.on_nonfinite = \"skip\")"
    )]
    NonFinite {
        /// The optimiser step.
        step: u64,
        /// `loss` or `gradient norm`.
        what: &'static str,
    },
    /// A checkpoint could not be written or read.
    #[error(transparent)]
    Checkpoint(#[from] scoreflow_models::checkpoint::CheckpointError),
    /// `--resume` found nothing to resume from.
    #[error("nothing to resume in {}: {reason}", dir.display())]
    NoCheckpoint {
        /// The run directory.
        dir: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A checkpoint of another run (network, objective or data shape).
    #[error("{}: {reason}", path.display())]
    Mismatch {
        /// The checkpoint.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// An I/O failure on a file of the run directory.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A sampler failed.
    #[error("sampling: {0}")]
    Sampling(String),
}

impl TrainError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
