//! What the `flex` backend extensions (fused SiLU, convolution weight gradient) share.

use burn::backend::flex::FlexTensor;
use burn::prelude::Device;

/// Whether `device` (or the device an autodiff device wraps) is a `flex` device.
pub(crate) fn is_flex(device: &Device) -> bool {
    matches!(
        device.clone().inner().as_dispatch(),
        burn::backend::DispatchDevice::Flex(_)
    )
}

/// `x` in row-major order from offset 0, copied only when its layout is strided or offset, so
/// that `as_slice` gives its elements.
pub(crate) fn contiguous(x: FlexTensor) -> FlexTensor {
    if x.layout().contiguous_offsets().is_some() {
        x
    } else {
        x.to_contiguous()
    }
}
