//! The run directory: checkpoints, their retention, and finding one to resume from.

use std::fs;
use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::Bytes;
use scoreflow_flow_matching::gauss_preconditioned::GaussianMoments;
use scoreflow_models::checkpoint::{self, CheckpointMeta};

use super::{ModelInfo, Snapshot, TrainState};
use crate::config::RunConfig;
use crate::error::TrainError;

/// Name of the optimiser's byte section in a checkpoint.
const OPTIMIZER_SECTION: &str = "optimizer";
/// Subfolder of the run directory holding the checkpoints.
const CHECKPOINTS: &str = "checkpoints";

/// A run directory: `checkpoints/step-NNNNNNNNN.ckpt`, `config.toml`, `metrics.jsonl`, grids.
#[derive(Clone, Debug)]
pub struct RunDir {
    root: PathBuf,
}

/// A checkpoint file found in a run directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointFile {
    /// The optimiser step it was saved after.
    pub step: u64,
    /// Its path.
    pub path: PathBuf,
}

/// A checkpoint read back: modules, optimiser, state and the configuration it was trained with.
pub struct Loaded {
    /// The modules.
    pub snapshot: Snapshot,
    /// The optimiser with its state restored.
    pub optimizer: ModuleOptimizer,
    /// The run's position.
    pub state: TrainState,
    /// The configuration stored in the file.
    pub config: RunConfig,
    /// The file.
    pub path: PathBuf,
}

impl RunDir {
    /// The run directory at `root` (not created until something is written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Creates the directory and its checkpoint folder.
    ///
    /// # Errors
    /// [`TrainError::Io`].
    pub fn create(&self) -> Result<(), TrainError> {
        let dir = self.root.join(CHECKPOINTS);
        fs::create_dir_all(&dir).map_err(TrainError::io(&dir))
    }

    /// The path of the checkpoint after step `step`.
    pub fn checkpoint_path(&self, step: u64) -> PathBuf {
        self.root
            .join(CHECKPOINTS)
            .join(format!("step-{step:09}.ckpt"))
    }

    /// The checkpoints present, oldest first (temporary files of interrupted saves and anything
    /// else are ignored).
    pub fn checkpoints(&self) -> Vec<CheckpointFile> {
        let Ok(entries) = fs::read_dir(self.root.join(CHECKPOINTS)) else {
            return Vec::new();
        };
        let mut files: Vec<CheckpointFile> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let step = name
                    .strip_prefix("step-")?
                    .strip_suffix(".ckpt")?
                    .parse()
                    .ok()?;
                Some(CheckpointFile {
                    step,
                    path: e.path(),
                })
            })
            .collect();
        files.sort_by_key(|f| f.step);
        files
    }

    /// The configuration stored in the newest checkpoint that verifies (the first one
    /// [`load_newest`](Self::load_newest) tries to load), with its path; `None` when no
    /// checkpoint verifies and holds one.
    pub fn newest_config(&self) -> Option<(PathBuf, RunConfig)> {
        self.checkpoints().into_iter().rev().find_map(|f| {
            let stored = checkpoint::read_meta(&f.path).ok()?.config?;
            let config = serde_json::from_value(stored["run"].clone()).ok()?;
            Some((f.path, config))
        })
    }

    /// Saves a checkpoint after `state.step`, atomically, with the data's `moments` when known,
    /// then deletes all but the newest `keep`.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] or [`TrainError::Io`]; a failed save leaves every existing
    /// checkpoint in place.
    // Everything a checkpoint holds is one argument each; bundling them would only move the list.
    #[allow(clippy::too_many_arguments)]
    pub fn save(
        &self,
        snapshot: &Snapshot,
        optimizer: &ModuleOptimizer,
        state: &TrainState,
        config: &RunConfig,
        info: &ModelInfo,
        moments: Option<&GaussianMoments>,
        keep: usize,
    ) -> Result<PathBuf, TrainError> {
        self.create()?;
        let path = self.checkpoint_path(state.step);
        let optimizer_bytes = optimizer.into_bytes().map_err(|e| {
            TrainError::Checkpoint(checkpoint::CheckpointError::Encode {
                path: path.clone(),
                reason: format!("optimizer state: {e}"),
            })
        })?;
        let meta = CheckpointMeta {
            step: state.step,
            nimg: state.nimg,
            config: Some(serde_json::json!({
                "run": config,
                "state": state,
                "model": info,
            })),
            sections: Vec::new(),
        };
        let moment_bytes = moments.map(super::moments::encode);
        let mut sections: Vec<(&str, &[u8])> = vec![(OPTIMIZER_SECTION, &optimizer_bytes[..])];
        if let Some(bytes) = &moment_bytes {
            sections.push((super::moments::MOMENTS_SECTION, bytes));
        }
        checkpoint::save_with_sections(snapshot, &meta, &sections, &path)?;
        // Only after the new file is durable do older ones go: some checkpoint is always loadable.
        let files = self.checkpoints();
        let excess = files.len().saturating_sub(keep.max(1));
        for old in &files[..excess] {
            fs::remove_file(&old.path).map_err(TrainError::io(&old.path))?;
        }
        Ok(path)
    }

    /// Reads the checkpoint at `path` into `template` (which supplies the structure) on
    /// `device`, with `optimizer` (fresh) receiving the stored state.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] for a damaged file or one of another architecture,
    /// [`TrainError::Mismatch`] when its metadata is not a training checkpoint's.
    pub fn load(
        path: &Path,
        template: Snapshot,
        optimizer: ModuleOptimizer,
        device: &Device,
    ) -> Result<Loaded, TrainError> {
        let (snapshot, meta, sections) = checkpoint::load_with_sections(template, path, device)?;
        let mismatch = |reason: &str| TrainError::Mismatch {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        };
        let info = meta
            .config
            .ok_or_else(|| mismatch("not a training checkpoint (no run configuration)"))?;
        let config: RunConfig = serde_json::from_value(info["run"].clone())
            .map_err(|e| mismatch(&format!("run configuration: {e}")))?;
        let state: TrainState = serde_json::from_value(info["state"].clone())
            .map_err(|e| mismatch(&format!("training state: {e}")))?;
        let bytes = sections
            .into_iter()
            .find(|(name, _)| name == OPTIMIZER_SECTION)
            .map(|(_, b)| b)
            .ok_or_else(|| mismatch("no optimizer state"))?;
        let optimizer = optimizer
            .from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| mismatch(&format!("optimizer state: {e}")))?;
        Ok(Loaded {
            snapshot,
            optimizer,
            state,
            config,
            path: path.to_path_buf(),
        })
    }

    /// The newest checkpoint that loads, falling back to older ones with a warning (through
    /// `warn`) for each that does not (truncated, corrupt).
    ///
    /// # Errors
    /// [`TrainError::NoCheckpoint`] when the directory holds none, or none loads; a checkpoint
    /// that verifies but belongs to another network is reported as such rather than skipped.
    pub fn load_newest(
        &self,
        template: &dyn Fn() -> Snapshot,
        optimizer: &dyn Fn() -> ModuleOptimizer,
        device: &Device,
        warn: &mut dyn FnMut(String),
    ) -> Result<Loaded, TrainError> {
        let files = self.checkpoints();
        if files.is_empty() {
            return Err(TrainError::NoCheckpoint {
                dir: self.root.clone(),
                reason: "no checkpoints/step-*.ckpt file".into(),
            });
        }
        let mut reasons = Vec::new();
        for file in files.iter().rev() {
            match Self::load(&file.path, template(), optimizer(), device) {
                Ok(loaded) => return Ok(loaded),
                Err(TrainError::Checkpoint(
                    e @ checkpoint::CheckpointError::Incompatible { .. },
                )) => return Err(TrainError::Checkpoint(e)),
                Err(e) => {
                    warn(format!("skipping {}: {e}", file.path.display()));
                    reasons.push(e.to_string());
                }
            }
        }
        Err(TrainError::NoCheckpoint {
            dir: self.root.clone(),
            reason: format!("no checkpoint loads ({})", reasons.join("; ")),
        })
    }
}
