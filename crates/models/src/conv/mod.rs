//! 2-D convolutions of the UNet, through [`conv2d`]: on `flex` with f32 tensors the weight
//! gradient is one matrix product over unfolded patches (see `im2col`) instead of burn's generic
//! per-channel formulation; everywhere else, and for the forward pass, burn's own kernels.

#[cfg(feature = "flex")]
mod fused;
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
mod im2col;

use burn::nn::conv::Conv2d;
use burn::prelude::*;

/// `conv.forward(x)`: `y = W ⋆ x + b` with the module's stride, padding, dilation and groups.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let Some(bias) = &conv.bias
        && conv.groups == 1
        && x.dtype() == burn::tensor::DType::F32
        && crate::flex::is_flex(&x.device())
    {
        use burn::backend::Dispatch;
        use burn::nn::PaddingConfig2d;
        use burn::tensor::ops::ConvOptions;
        use fused::ConvWeightGrad;
        // `Same` depends on the input size through burn-internal rules: left to `forward`.
        let padding = match conv.padding {
            PaddingConfig2d::Valid => Some([(0, 0), (0, 0)]),
            PaddingConfig2d::Explicit(top, left, bottom, right) => {
                Some([(top, bottom), (left, right)])
            }
            PaddingConfig2d::Same => None,
        };
        if let Some(padding) = padding {
            let options =
                ConvOptions::new_with_padding(conv.stride, padding, conv.dilation, conv.groups);
            return Tensor::from_dispatch(Dispatch::conv2d_biased(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                options,
            ));
        }
    }
    conv.forward(x)
}
