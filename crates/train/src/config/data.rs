//! `[data]`.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// What to train on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// The data SPEC: `npy:FILE`, `mnist:DIR`, `cifar10:DIR`, `images:DIR`, `toy:NAME` or
    /// `mixture:NAME|FILE.json`.
    pub spec: String,
    /// Number of points a `toy:` or `mixture:` dataset is drawn with (default 100,000).
    #[serde(default = "default_points")]
    pub points: usize,
    /// Side of the square an `images:` folder is resized and centre-cropped to.
    #[serde(default)]
    pub image_size: Option<u32>,
    /// Random horizontal flips of images (default false).
    #[serde(default)]
    pub flip: bool,
    /// For `npy:FILE`: a second `.npy` with one integer class label per sample (N,), for
    /// class-conditional training (`train.conditional = true`).
    #[serde(default)]
    pub labels: Option<std::path::PathBuf>,
}

fn default_points() -> usize {
    100_000
}

impl DataConfig {
    /// A spec with defaults for everything else.
    pub fn new(spec: impl Into<String>) -> Self {
        Self {
            spec: spec.into(),
            points: default_points(),
            image_size: None,
            flip: false,
            labels: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.points == 0 {
            return Err(ConfigError::Invalid {
                key: "data.points",
                reason: "must be at least 1".into(),
            });
        }
        if self.image_size == Some(0) {
            return Err(ConfigError::Invalid {
                key: "data.image_size",
                reason: "must be at least 1".into(),
            });
        }
        Ok(())
    }
}
