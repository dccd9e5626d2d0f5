//! What a training checkpoint holds.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::Network;

/// The modules of a checkpoint: the trained network and its moving average (if any), saved as
/// one burn record so that they share a file and a checksum.
#[derive(Module, Debug)]
pub struct Snapshot {
    /// The trained weights.
    pub model: Network,
    /// The EMA weights.
    pub ema: Option<Network>,
}

/// Where a run stands after an optimiser step: everything besides the modules and the
/// optimiser that the next step depends on. Randomness is a function of (seed, step) and
/// (seed, epoch), so these counters are the whole random state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimiser steps taken.
    pub step: u64,
    /// The data epoch the next batch comes from.
    pub epoch: u64,
    /// The index of the next sample within that epoch's order.
    pub position: usize,
    /// Training samples seen (EDM's `cur_nimg`), the EMA's ramp-up clock.
    pub nimg: u64,
    /// The run's seed.
    pub seed: u64,
    /// Steps skipped for a non-finite loss or gradient (`on_nonfinite = "skip"`).
    pub skipped: u64,
}

/// What a checkpoint's network was built for, so that it can be rebuilt without the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The shape of one sample: `[d]` for points, `[C, H, W]` for images.
    pub sample_shape: Vec<usize>,
    /// The classes the network is conditioned on (its null class is this number).
    pub num_classes: Option<usize>,
}
