//! The training loop, on burn-optim's pieces rather than burn-train's `Learner` (see
//! docs/training.md for why): AdamW with explicit ε and weight decay, warm-up then constant or
//! cosine learning rate, global-norm clipping, gradient accumulation, EMA, non-finite handling,
//! metrics, checkpoints and exact resume.

mod grads;
mod run;
mod seeds;

pub use run::{RunOptions, RunSummary, train};
pub use seeds::step_rng;
