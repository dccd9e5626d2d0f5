//! The run configuration: what `scoreflow train --config run.toml` reads and what a checkpoint
//! records. Every table rejects unknown keys; values are checked by [`RunConfig::validate`] into
//! a [`ConfigError`] naming the key.

mod data;
mod error;
mod model;
mod objective;
mod train;

pub use data::DataConfig;
pub use error::ConfigError;
pub use model::ModelConfig;
pub use objective::{
    DsmNoise, DsmPrediction, DsmSchedule, FlowTargetConfig, ObjectiveConfig, WeightingConfig,
};
pub use train::{EmaConfig, LrSchedule, NonFinitePolicy, TrainSettings};

use serde::{Deserialize, Serialize};

/// A whole training run: `[data]`, `[model]`, `[objective]`, `[train]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// What to train on.
    pub data: DataConfig,
    /// The network.
    #[serde(default)]
    pub model: ModelConfig,
    /// The objective.
    #[serde(default)]
    pub objective: ObjectiveConfig,
    /// Optimiser, schedule, EMA, intervals, seed.
    #[serde(default)]
    pub train: TrainSettings,
}

impl RunConfig {
    /// Parses a TOML document.
    ///
    /// # Errors
    /// [`ConfigError::Parse`] with toml's message (unknown keys and wrong types included).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse(one_line(&e.to_string())))
    }

    /// The configuration as TOML (the resolved config written beside the checkpoints).
    ///
    /// # Errors
    /// [`ConfigError::Parse`] if serialisation fails (it does not for valid configs).
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Parse(e.to_string()))
    }

    /// Checks every value's domain.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.data.validate()?;
        self.model.validate()?;
        self.objective.validate()?;
        self.train.validate()
    }
}

/// toml's errors span several lines (a source excerpt); the CLI prints one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.chars().all(|c| c == '^'))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `value` must be finite and > 0.
pub(crate) fn positive(key: &'static str, value: f64) -> Result<(), ConfigError> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key,
            reason: format!("must be a positive number, got {value}"),
        })
    }
}

/// `value` must be finite and ≥ 0.
pub(crate) fn non_negative(key: &'static str, value: f64) -> Result<(), ConfigError> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key,
            reason: format!("must be a finite number ≥ 0, got {value}"),
        })
    }
}
