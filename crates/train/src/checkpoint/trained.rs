//! A checkpoint read back for sampling and likelihoods.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use scoreflow_models::checkpoint;

use super::{ModelInfo, RunDir, Snapshot};
use crate::config::RunConfig;
use crate::denoiser::ModelView;
use crate::error::TrainError;
use crate::model::Network;
use crate::objective::Objective;

/// A trained network with what is needed to use it.
pub struct TrainedModel {
    /// The network (EMA weights unless the raw ones were asked for).
    pub network: Network,
    /// How its output is read.
    pub view: ModelView,
    /// The run's configuration.
    pub config: RunConfig,
    /// Sample shape and classes.
    pub info: ModelInfo,
    /// Optimiser steps it was trained for.
    pub step: u64,
    /// The file read.
    pub path: PathBuf,
}

/// Loads the checkpoint `path` — a file, or a run directory whose newest checkpoint that
/// verifies is taken — on `device` (without autodiff), with the EMA weights unless `raw`.
///
/// # Errors
/// [`TrainError::NoCheckpoint`] for a directory without checkpoints, [`TrainError::Checkpoint`]
/// for a damaged file, [`TrainError::Mismatch`] for a file that is not a training checkpoint
/// (or has no EMA when one is asked for).
pub fn load_trained(path: &Path, device: &Device, raw: bool) -> Result<TrainedModel, TrainError> {
    let file = if path.is_dir() {
        let run = RunDir::new(path);
        let files = run.checkpoints();
        let mut found = None;
        for f in files.iter().rev() {
            if checkpoint::read_meta(&f.path).is_ok() {
                found = Some(f.path.clone());
                break;
            }
        }
        found.ok_or_else(|| TrainError::NoCheckpoint {
            dir: path.to_path_buf(),
            reason: if files.is_empty() {
                "no checkpoints/step-*.ckpt file".into()
            } else {
                "no checkpoint verifies".into()
            },
        })?
    } else {
        path.to_path_buf()
    };
    let meta = checkpoint::read_meta(&file)?;
    let mismatch = |reason: String| TrainError::Mismatch {
        path: file.clone(),
        reason,
    };
    let info_json = meta
        .config
        .ok_or_else(|| mismatch("not a training checkpoint (no run configuration)".into()))?;
    let config: RunConfig = serde_json::from_value(info_json["run"].clone())
        .map_err(|e| mismatch(format!("run configuration: {e}")))?;
    let info: ModelInfo = serde_json::from_value(info_json["model"].clone())
        .map_err(|e| mismatch(format!("model description: {e}")))?;
    let device = device.clone().inner();
    let template = Network::build(&config.model, &info.sample_shape, info.num_classes, &device)?;
    let has_ema = config.train.ema.schedule().is_some();
    let (snapshot, meta) = checkpoint::load(
        Snapshot {
            model: template.clone(),
            ema: has_ema.then_some(template),
        },
        &file,
        &device,
    )?;
    let network = match (raw, snapshot.ema) {
        (false, Some(ema)) => ema,
        (_, _) => snapshot.model,
    };
    let objective = Objective::build(&config.objective)?;
    Ok(TrainedModel {
        network,
        view: objective.view(),
        config,
        info,
        step: meta.step,
        path: file,
    })
}
