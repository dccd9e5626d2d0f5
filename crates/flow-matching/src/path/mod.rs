//! Affine probability paths x_t = α(t)x₁ + σ(t)x₀ (data x₁ at t = 1, noise x₀ at t = 0), the
//! training pairs they build, conversions between what a flow network can predict, and schedule
//! changes of a trained velocity field.
//!
//! As in facebookresearch/flow_matching (Lipman et al. 2024, "Flow Matching Guide and Code",
//! §4.8–4.10 and §5.1), the path owns its scheduler and its conversions: a conditional flow
//! matching loss is then one line, ‖u_θ(x_t, t) − dx_t‖².

mod affine;
mod error;
mod target;
#[cfg(feature = "burn")]
pub(crate) mod tensor;
mod transform;

pub use affine::{AffinePath, PathSample};
pub use error::PathError;
pub use target::FlowTarget;
#[cfg(feature = "burn")]
pub use tensor::TensorPathSample;
pub use transform::{ScheduleTransform, TransformPoint};
