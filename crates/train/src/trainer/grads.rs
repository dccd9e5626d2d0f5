//! Global-norm gradient clipping over all parameters, on the device.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// ‖g‖₂ over every parameter's gradient together, as a `[1]` tensor on the gradients' device
/// (no host read).
pub(crate) fn global_norm<M: Module>(model: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    struct Norm<'a> {
        grads: &'a GradientsParams,
        squares: Vec<Tensor<1>>,
    }
    impl ModuleVisitor for Norm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.squares.push(g.square().sum());
            }
        }
    }
    let mut v = Norm {
        grads,
        squares: Vec::new(),
    };
    model.visit(&mut v);
    // One concatenation and one sum rather than a chain of scalar additions.
    (!v.squares.is_empty()).then(|| Tensor::cat(v.squares, 0).sum().sqrt())
}

/// Scales every gradient by min(1, max_norm/(‖g‖ + 1e-6)) — the global-norm clipping of
/// PyTorch's `clip_grad_norm_` that k-diffusion, diffusers and torchcfm use (burn's own clipping
/// is per tensor). The factor stays on the device.
pub(crate) fn clip_global_norm<M: Module>(
    model: &M,
    mut grads: GradientsParams,
    norm: &Tensor<1>,
    max_norm: f64,
) -> GradientsParams {
    let factor = norm
        .clone()
        .add_scalar(1e-6)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        factor: Tensor<1>,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                let f = self.factor.clone().cast(g.dtype()).reshape([1; D]);
                self.grads.register::<D>(param.id, g * f);
            }
        }
    }
    let mut v = Scale {
        grads: &mut grads,
        factor,
    };
    model.visit(&mut v);
    grads
}
