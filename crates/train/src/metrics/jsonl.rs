//! `metrics.jsonl`: one JSON object per logged step.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricsLine {
    /// Optimiser steps taken.
    pub step: u64,
    /// Mean loss over the steps since the previous line.
    pub loss: f64,
    /// Mean loss per noise-level quartile (lowest noise first).
    pub loss_quartiles: [f64; 4],
    /// The noise levels between the quartiles (σ̃, or t for flows).
    pub level_quartile_edges: [f64; 3],
    /// Learning rate of the last step.
    pub lr: f64,
    /// Global gradient norm before clipping, mean over the steps.
    pub grad_norm: f64,
    /// Training samples per second since the previous line.
    pub samples_per_sec: f64,
    /// Steps skipped for non-finite values so far.
    pub skipped: u64,
}

/// The appendable metrics file of a run.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Opens `DIR/metrics.jsonl` for appending; on resume, lines past `resume_step` (written
    /// after the checkpoint the run resumes from) are dropped first, so the file reads as the
    /// uninterrupted run's.
    ///
    /// # Errors
    /// [`TrainError::Io`].
    pub fn open(dir: &Path, resume_step: Option<u64>) -> Result<Self, TrainError> {
        let path = dir.join("metrics.jsonl");
        if let Some(step) = resume_step
            && path.exists()
        {
            let kept: Vec<String> =
                BufReader::new(File::open(&path).map_err(TrainError::io(&path))?)
                    .lines()
                    .map_while(Result::ok)
                    .filter(|l| {
                        serde_json::from_str::<MetricsLine>(l).is_ok_and(|m| m.step <= step)
                    })
                    .collect();
            let tmp = dir.join(".metrics.jsonl.tmp");
            let mut text = kept.join("\n");
            if !text.is_empty() {
                text.push('\n');
            }
            fs::write(&tmp, text).map_err(TrainError::io(&tmp))?;
            fs::rename(&tmp, &path).map_err(TrainError::io(&path))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(TrainError::io(&path))?;
        Ok(Self { path, file })
    }

    /// Appends one line.
    ///
    /// # Errors
    /// [`TrainError::Io`].
    pub fn write(&mut self, line: &MetricsLine) -> Result<(), TrainError> {
        let mut text = serde_json::to_string(line).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(TrainError::io(&self.path))
    }
}
