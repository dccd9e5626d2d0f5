//! The settings of a classifier run and what the run reports.

use burn::prelude::*;
use scoreflow_models::ClassifierConfig;

use crate::config::ConfigError;
use crate::error::TrainError;

/// How [`train_classifier`](super::train_classifier) trains a [`ClassifierConfig`] network.
///
/// Noise levels follow EDM's log-normal training distribution ln σ ~ 𝒩(P_mean, P_std²)
/// (Karras et al. 2022, §5 and Table 1), clamped to [[`SIGMA_MIN`](super::SIGMA_MIN),
/// [`SIGMA_MAX`](super::SIGMA_MAX)], except for a share `clean_fraction` of each batch drawn at
/// σ_min: guidance needs the noised levels, the scoring of finished samples the clean one.
#[derive(Config, Debug)]
pub struct ClassifierRunConfig {
    /// The network; its input shape and class count must fit the data.
    pub network: ClassifierConfig,
    /// Optimiser steps.
    #[config(default = 2000)]
    pub steps: usize,
    /// Samples per step.
    #[config(default = 128)]
    pub batch: usize,
    /// Peak learning rate.
    #[config(default = 2e-3)]
    pub lr: f64,
    /// Steps of linear warm-up from lr/warmup to lr.
    #[config(default = 0)]
    pub warmup: usize,
    /// Cosine decay of the learning rate to 0 over the run after the warm-up
    /// (Loshchilov & Hutter 2017), else constant.
    #[config(default = true)]
    pub cosine: bool,
    /// AdamW β₁ (Loshchilov & Hutter 2019).
    #[config(default = 0.9)]
    pub beta1: f64,
    /// AdamW β₂.
    #[config(default = 0.999)]
    pub beta2: f64,
    /// AdamW ε, PyTorch's (burn's default is 1e-5).
    #[config(default = 1e-8)]
    pub eps: f64,
    /// AdamW decoupled weight decay, PyTorch's default.
    #[config(default = 1e-2)]
    pub weight_decay: f64,
    /// P_mean: mean of ln σ.
    #[config(default = "-1.2")]
    pub p_mean: f64,
    /// P_std: standard deviation of ln σ.
    #[config(default = 1.2)]
    pub p_std: f64,
    /// Share of each batch at the clean level σ_min, in [0, 1].
    #[config(default = 0.25)]
    pub clean_fraction: f64,
    /// Random translations of images by up to ± this many pixels on each axis (0: none), the
    /// vacated border repeating the edge pixels: the classic augmentation for digits
    /// (Simard et al. 2003).
    #[config(default = 0)]
    pub shift: usize,
    /// Horizontal flips of images with probability ½ (the loader's, by (seed, epoch)).
    #[config(default = false)]
    pub flip: bool,
    /// Seed of the initial weights, the data order and every draw.
    #[config(default = 0)]
    pub seed: u64,
}

impl ClassifierRunConfig {
    /// Checks every value's domain.
    ///
    /// # Errors
    /// [`TrainError::Config`] naming the field, or [`TrainError::Model`] for a network that
    /// cannot be built.
    pub fn check(&self) -> Result<(), TrainError> {
        let invalid = |key: &'static str, reason: &str| {
            Err(TrainError::Config(ConfigError::Invalid {
                key,
                reason: reason.to_owned(),
            }))
        };
        self.network
            .validate()
            .map_err(|e| TrainError::Model(e.to_string()))?;
        if self.steps == 0 {
            return invalid("classifier.steps", "must be at least 1");
        }
        if self.batch == 0 {
            return invalid("classifier.batch", "must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return invalid("classifier.lr", "must be positive");
        }
        if !(0.0..1.0).contains(&self.beta1) || !(0.0..1.0).contains(&self.beta2) {
            return invalid("classifier.beta1/beta2", "must lie in [0, 1)");
        }
        if !(self.eps > 0.0 && self.weight_decay >= 0.0) {
            return invalid("classifier.eps/weight_decay", "must be > 0 and ≥ 0");
        }
        if !(self.p_mean.is_finite() && self.p_std.is_finite() && self.p_std >= 0.0) {
            return invalid("classifier.p_mean/p_std", "must be finite, p_std ≥ 0");
        }
        if !(0.0..=1.0).contains(&self.clean_fraction) {
            return invalid("classifier.clean_fraction", "must lie in [0, 1]");
        }
        Ok(())
    }

    /// The learning rate of step `step` (0-based): linear warm-up, then cosine or constant.
    pub fn lr_at(&self, step: usize) -> f64 {
        let warm = if step < self.warmup {
            (step + 1) as f64 / self.warmup as f64
        } else {
            1.0
        };
        let decay = if self.cosine && self.steps > self.warmup {
            let progress =
                step.saturating_sub(self.warmup) as f64 / (self.steps - self.warmup) as f64;
            0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        } else {
            1.0
        };
        self.lr * warm * decay
    }
}

/// What a classifier run did.
#[derive(Clone, Debug)]
pub struct ClassifierReport {
    /// Optimiser steps taken.
    pub steps: usize,
    /// The mean cross-entropy of each step, in order.
    pub losses: Vec<f64>,
    /// Share of each step's samples whose argmax logit was the label, in order.
    pub train_accuracy: Vec<f64>,
    /// Wall-clock seconds of the whole run (initialisation included).
    pub seconds: f64,
}
