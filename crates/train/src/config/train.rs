//! `[train]`.

use scoreflow_models::ema::EmaSchedule;
use serde::{Deserialize, Serialize};

use super::{ConfigError, non_negative, positive};

/// Optimiser, learning-rate schedule, EMA, intervals and seed.
///
/// The optimiser is AdamW (Loshchilov & Hutter 2019) with PyTorch's conventions written out:
/// burn's defaults differ (ε = 1e-5, weight decay 1e-4), so every value is explicit here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSettings {
    /// Optimiser steps (default 10,000).
    #[serde(default = "steps")]
    pub steps: u64,
    /// Samples per optimiser step, over all accumulation micro-batches (default 256).
    #[serde(default = "batch")]
    pub batch: usize,
    /// Micro-batches per optimiser step; `batch` must be a multiple (default 1).
    #[serde(default = "one_usize")]
    pub accumulation: usize,
    /// Peak learning rate (default 1e-3).
    #[serde(default = "lr")]
    pub lr: f64,
    /// Linear warm-up from 0 over this many steps (default 0).
    #[serde(default)]
    pub warmup: u64,
    /// After warm-up: `constant` or `cosine` decay to `min_lr` at the last step.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Floor of the cosine decay (default 0).
    #[serde(default)]
    pub min_lr: f64,
    /// AdamW β₁ (default 0.9).
    #[serde(default = "beta1")]
    pub beta1: f64,
    /// AdamW β₂ (default 0.999).
    #[serde(default = "beta2")]
    pub beta2: f64,
    /// AdamW ε (default 1e-8, PyTorch's).
    #[serde(default = "adam_eps")]
    pub eps: f64,
    /// AdamW decoupled weight decay (default 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// Global gradient-norm clipping threshold (default 1; `0` turns clipping off).
    #[serde(default = "clip")]
    pub clip: f64,
    /// The moving average of the weights used for sampling.
    #[serde(default)]
    pub ema: EmaConfig,
    /// Seed of every random choice of the run (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Steps between checkpoints (default 1,000; the last step always saves).
    #[serde(default = "checkpoint_every")]
    pub checkpoint_every: u64,
    /// Checkpoints kept (default 3).
    #[serde(default = "keep")]
    pub keep: usize,
    /// Steps between metrics lines (default 100).
    #[serde(default = "log_every")]
    pub log_every: u64,
    /// Steps between sample grids from the EMA weights (default 0: only at the end).
    #[serde(default)]
    pub grid_every: u64,
    /// Samples in a grid (default 64 images or 2,000 points).
    #[serde(default)]
    pub grid_samples: Option<usize>,
    /// Sampler steps of the grids (default 20).
    #[serde(default = "grid_steps")]
    pub grid_steps: usize,
    /// What a non-finite loss or gradient does: `stop` (default) or `skip` the step.
    #[serde(default)]
    pub on_nonfinite: NonFinitePolicy,
    /// Probability of replacing a label by the null class, for classifier-free guidance
    /// (labelled data only; default 0: unconditional training on labelled data too).
    #[serde(default)]
    pub label_dropout: f64,
    /// Train class-conditionally when the data has labels (default false).
    #[serde(default)]
    pub conditional: bool,
}

fn steps() -> u64 {
    10_000
}
fn batch() -> usize {
    256
}
fn one_usize() -> usize {
    1
}
fn lr() -> f64 {
    1e-3
}
fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn adam_eps() -> f64 {
    1e-8
}
fn clip() -> f64 {
    1.0
}
fn checkpoint_every() -> u64 {
    1000
}
fn keep() -> usize {
    3
}
fn log_every() -> u64 {
    100
}
fn grid_steps() -> usize {
    20
}

impl Default for TrainSettings {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// The learning rate after warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Constant at `lr`.
    #[default]
    Constant,
    /// Cosine decay from `lr` to `min_lr` at the last step (Loshchilov & Hutter 2017).
    Cosine,
}

/// What a non-finite loss or gradient does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonFinitePolicy {
    /// Stop with an error naming the step; the last good checkpoint stays.
    #[default]
    Stop,
    /// Skip the update (as EDM's `nan_to_num` of the gradients makes it harmless) and count it.
    Skip,
}

/// The EMA of the weights, `kind = "fixed" | "edm" | "none"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum EmaConfig {
    /// θ_ema ← β θ_ema + (1 − β) θ with a constant β (default 0.999).
    Fixed {
        /// β.
        #[serde(default = "decay")]
        decay: f64,
    },
    /// EDM's half-life in images with ramp-up (Karras et al. 2022, App. F.1).
    Edm {
        /// Half-life in training images (default 500,000).
        #[serde(default = "half_life")]
        half_life_images: f64,
        /// Ramp-up ratio (default 0.05).
        #[serde(default = "rampup")]
        rampup: f64,
    },
    /// No average: samples come from the trained weights.
    None,
}

fn decay() -> f64 {
    0.999
}
fn half_life() -> f64 {
    500_000.0
}
fn rampup() -> f64 {
    0.05
}

impl Default for EmaConfig {
    fn default() -> Self {
        Self::Fixed { decay: decay() }
    }
}

impl EmaConfig {
    /// The schedule of `scoreflow-models`' EMA, or `None`.
    pub fn schedule(&self) -> Option<EmaSchedule> {
        match *self {
            Self::Fixed { decay } => Some(EmaSchedule::Fixed { decay }),
            Self::Edm {
                half_life_images,
                rampup,
            } => Some(EmaSchedule::EdmHalfLife {
                halflife_nimg: half_life_images,
                rampup_ratio: Some(rampup),
            }),
            Self::None => None,
        }
    }
}

impl TrainSettings {
    /// The learning rate of optimiser step `step` (0-based): linear warm-up from lr/warmup to
    /// lr over `warmup` steps, then constant or cosine to `min_lr` at step `steps − 1`.
    pub fn lr_at(&self, step: u64) -> f64 {
        if step < self.warmup {
            return self.lr * (step + 1) as f64 / self.warmup as f64;
        }
        match self.lr_schedule {
            LrSchedule::Constant => self.lr,
            LrSchedule::Cosine => {
                let span = self.steps.saturating_sub(self.warmup).max(1) as f64;
                let progress = ((step - self.warmup) as f64 / span).min(1.0);
                self.min_lr
                    + 0.5
                        * (self.lr - self.min_lr)
                        * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let at_least_one = |key: &'static str, v: u64| {
            if v >= 1 {
                Ok(())
            } else {
                Err(ConfigError::Invalid {
                    key,
                    reason: format!("must be at least 1, got {v}"),
                })
            }
        };
        at_least_one("train.steps", self.steps)?;
        at_least_one("train.batch", self.batch as u64)?;
        at_least_one("train.accumulation", self.accumulation as u64)?;
        at_least_one("train.checkpoint_every", self.checkpoint_every)?;
        at_least_one("train.keep", self.keep as u64)?;
        at_least_one("train.log_every", self.log_every)?;
        at_least_one("train.grid_steps", self.grid_steps as u64)?;
        if !self.batch.is_multiple_of(self.accumulation) {
            return Err(ConfigError::Invalid {
                key: "train.accumulation",
                reason: format!(
                    "must divide train.batch = {} (got {})",
                    self.batch, self.accumulation
                ),
            });
        }
        positive("train.lr", self.lr)?;
        non_negative("train.min_lr", self.min_lr)?;
        non_negative("train.weight_decay", self.weight_decay)?;
        non_negative("train.clip", self.clip)?;
        positive("train.eps", self.eps)?;
        for (key, b) in [("train.beta1", self.beta1), ("train.beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("must be in [0, 1), got {b}"),
                });
            }
        }
        if !(0.0..1.0).contains(&self.label_dropout) {
            return Err(ConfigError::Invalid {
                key: "train.label_dropout",
                reason: format!("must be in [0, 1), got {}", self.label_dropout),
            });
        }
        if self.grid_samples == Some(0) {
            return Err(ConfigError::Invalid {
                key: "train.grid_samples",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(schedule) = self.ema.schedule() {
            schedule.validate().map_err(|e| ConfigError::Invalid {
                key: "train.ema",
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}
