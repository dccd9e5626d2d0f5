//! burn networks for score-based models: UNet, MLP, time embeddings, EMA and checkpoints.
//!
//! The crate knows no training objective: a network maps `(x, t)` to a tensor, and the
//! score-matching and flow-matching crates decide what that tensor means.
//!
//! Backends are cargo features — `flex` (default, pure-Rust CPU), `ndarray`, `wgpu`, `vulkan`,
//! `cuda` — and a device is chosen at run time by name with [`device_from_name`], which reports a
//! backend this build lacks as an error instead of burn's panic. GPU builds: `docs/gpu-build.md`.

pub mod bench;
pub mod checkpoint;
pub mod classifier;
pub mod conv;
pub mod device;
pub mod diffusers;
pub mod ema;
#[cfg(feature = "flex")]
mod flex;
pub mod input;
pub mod mlp;
pub mod silu;
pub mod unet;

pub use classifier::{Classifier, ClassifierConfig};
pub use device::{DeviceError, compiled_backends, device_from_name};
pub use input::InputError;
pub use mlp::{Mlp, MlpConfig};
pub use unet::{UNet2D, UNet2DConfig};
