//! Objectives wired to the networks: what one training step computes on a host batch.
//!
//! Every random choice of a step — noise levels, noise, minibatch couplings, times, label
//! dropout — is drawn here from the step's own generator (the loop keys it by seed and step),
//! on the host, so a resumed run draws exactly what the uninterrupted one drew.

mod build;
mod draws;
mod step;

pub use build::Objective;
pub use step::{MicroBatch, StepLoss};
