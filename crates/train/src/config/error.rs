//! Why a configuration was rejected.

use thiserror::Error;

/// A configuration error: one line naming the key.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML does not parse, has an unknown key or a value of the wrong type.
    #[error("config: {0}")]
    Parse(String),
    /// A value outside its domain.
    #[error("config: `{key}` {reason}")]
    Invalid {
        /// The key, e.g. `train.lr`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A configuration file that cannot be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}
