//! A trained classifier on disk, in the checkpoint envelope of `scoreflow-models` (atomic
//! write, CRC-checked read).

use std::path::Path;

use burn::prelude::*;
use scoreflow_models::Classifier;
use scoreflow_models::checkpoint::{self, CheckpointMeta};

use super::ClassifierRunConfig;
use crate::error::TrainError;

/// The metadata key under which the run configuration is stored.
const KEY: &str = "classifier_run";

/// Saves `classifier` and the configuration it was trained with to `path`, atomically (temporary
/// file, fsync, rename): a crash leaves the old file or the new one.
///
/// # Errors
/// [`TrainError::Checkpoint`] for I/O or encoding failures.
pub fn save_classifier(
    classifier: &Classifier,
    config: &ClassifierRunConfig,
    path: &Path,
) -> Result<(), TrainError> {
    let run = serde_json::to_value(config).map_err(|e| TrainError::Model(e.to_string()))?;
    let meta = CheckpointMeta {
        step: config.steps as u64,
        nimg: (config.steps * config.batch) as u64,
        config: Some(serde_json::json!({ KEY: run })),
        sections: Vec::new(),
    };
    Ok(checkpoint::save(classifier, &meta, path)?)
}

/// Loads a classifier written by [`save_classifier`] onto `device` (without autodiff), with the
/// configuration it was trained with; the weights are bit-exact.
///
/// # Errors
/// [`TrainError::Checkpoint`] for a missing or damaged file; [`TrainError::Mismatch`] for a
/// checkpoint that is not a classifier's.
pub fn load_classifier(
    path: &Path,
    device: &Device,
) -> Result<(Classifier, ClassifierRunConfig), TrainError> {
    let meta = checkpoint::read_meta(path)?;
    let mismatch = |reason: String| TrainError::Mismatch {
        path: path.to_path_buf(),
        reason,
    };
    let run = meta
        .config
        .as_ref()
        .and_then(|c| c.get(KEY))
        .ok_or_else(|| mismatch("not a classifier checkpoint".into()))?;
    let config: ClassifierRunConfig = serde_json::from_value(run.clone())
        .map_err(|e| mismatch(format!("classifier configuration: {e}")))?;
    let device = device.clone().inner();
    let template = config
        .network
        .try_init(&device)
        .map_err(|e| mismatch(e.to_string()))?;
    let (classifier, _) = checkpoint::load(template, path, &device)?;
    Ok((classifier, config))
}
