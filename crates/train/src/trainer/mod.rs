//! The training loop, on burn-optim's pieces rather than burn-train's `Learner` (see
//! docs/training.md for why): AdamW with explicit ε and weight decay, warm-up then constant or
//! cosine learning rate, global-norm clipping, gradient accumulation, EMA, non-finite handling,
//! metrics, checkpoints and exact resume.

mod distributed;
mod grads;
mod run;
mod seeds;

pub use run::{RunOptions, RunSummary, open_dataset, train, train_interleaved, train_on_devices};
pub use seeds::step_rng;
