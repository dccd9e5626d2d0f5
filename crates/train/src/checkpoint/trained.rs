//! A checkpoint read back for sampling and likelihoods.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::prelude::*;
use scoreflow_flow_matching::gauss_preconditioned::GaussianMoments;
use scoreflow_models::checkpoint;

use super::moments::{MOMENTS_SECTION, decode};
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
    /// The training data's mean and covariance, stored by runs whose samples have at most
    /// [`MOMENTS_MAX_DIM`](crate::data::MOMENTS_MAX_DIM) values: what `gauss`, `fm-gauss`,
    /// `auto` and `fm-auto` integrate against. `None` for larger samples and older files.
    pub moments: Option<Arc<GaussianMoments>>,
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
    let (snapshot, meta, sections) = checkpoint::load_with_sections(
        Snapshot {
            model: template.clone(),
            ema: has_ema.then_some(template),
        },
        &file,
        &device,
    )?;
    let moments = sections
        .iter()
        .find(|(name, _)| name == MOMENTS_SECTION)
        .map(|(_, bytes)| decode(bytes).map(Arc::new))
        .transpose()
        .map_err(mismatch)?;
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
        moments,
    })
}
