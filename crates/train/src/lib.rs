//! # scoreflow-train
//!
//! Training for score-based diffusion and flow-matching models: the crate that joins the
//! objectives of `scoreflow-score-matching` and `scoreflow-flow-matching` with the networks of
//! `scoreflow-models`.
//!
//! - [`config`]: the run configuration (`[data]`, `[model]`, `[objective]`, `[train]`), TOML.
//! - [`data`](mod@data): datasets (2-D toys, Gaussian mixtures, `.npy`, MNIST, CIFAR-10, image folders)
//!   and a loader whose every random choice is a function of (seed, epoch), so a resumed run
//!   reads exactly the batches the uninterrupted one would.
//! - [`model`]: the networks a run trains, as one burn module.
//! - [`objective`]: the losses wired to the networks, with the host-side draws of a step.
//! - [`trainer`]: the loop — AdamW, warm-up and cosine learning rate, global-norm clipping,
//!   accumulation, EMA, non-finite handling, metrics, checkpoints, exact resume.
//! - [`checkpoint`]: one atomic, checksummed file per checkpoint with model, EMA, optimiser and
//!   position; the last K kept; resume from the newest that verifies.
//! - [`metrics`]: `metrics.jsonl`, progress, loss per noise-level quartile.
//! - [`denoiser`]: trained networks as σ-space denoisers ([`denoiser::NetDenoiser`]) and
//!   velocity fields, so every sampler and the likelihood code run on them.
//! - [`editing`]: inpainting, colorisation, SDEdit and PF-ODE inversion with a trained network.
//! - [`guidance`]: classifier-free guidance on a class-conditional network, one batched call.
//! - [`sampling`]: any sampler on a trained network, chunked, with per-sample seeds.

pub mod checkpoint;
pub mod classifier;
pub mod config;
pub mod data;
pub mod denoiser;
pub mod editing;
mod error;
pub mod guidance;
pub mod likelihood;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod sampling;
pub mod trainer;

pub use config::RunConfig;
pub use error::TrainError;
