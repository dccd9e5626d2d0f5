//! SiLU, `x·σ(x)` (Elfwing et al. 2018; "swish", Ramachandran et al. 2017): every activation of
//! the UNet and the MLP.
//!
//! On `flex` with `f32` tensors it runs as one fused kernel each way (see `fused`), elsewhere as
//! burn's own composition, which GPU backends fuse themselves.

#[cfg(feature = "flex")]
mod fused;
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
mod kernel;

use burn::prelude::*;

/// `SiLU(x) = x·σ(x)` elementwise, differentiable on autodiff devices.
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "flex")]
    if x.dtype() == burn::tensor::DType::F32 && crate::flex::is_flex(&x.device()) {
        use burn::backend::Dispatch;
        use fused::FusedSilu;
        return Tensor::from_dispatch(Dispatch::fused_silu(x.into_dispatch()));
    }
    burn::tensor::activation::silu(x)
}
