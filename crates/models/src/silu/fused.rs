//! The fused SiLU as a burn backend extension: one kernel forward, one backward, on `flex`.
//!
//! burn composes SiLU as `x · sigmoid(x)` and its autodiff recomputes the sigmoid in the
//! backward pass, so a training step evaluates `e^x` twice per element in scalar loops and makes
//! four extra passes over memory; on the 2-D MLP that was 38 % of the step
//! (docs/benchmarks.md). Here the forward is one pass of [`kernel::silu_forward`] and the
//! backward one pass of [`kernel::silu_backward`] on the stored input.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::{DType, TensorData};

use super::kernel;
use crate::flex::contiguous;

/// SiLU and its vector-Jacobian product as backend operations (Elfwing et al. 2018):
/// `SiLU(x) = x·σ(x)`, `∂SiLU/∂x = σ(x)·(1 + x·(1 − σ(x)))`.
#[backend_extension(Flex: cfg(feature = "flex"), Autodiff)]
pub trait FusedSilu: Backend {
    /// `x·σ(x)` elementwise.
    fn fused_silu(x: FloatTensor<Self>) -> FloatTensor<Self>;
    /// `grad·σ(x)·(1 + x·(1 − σ(x)))` elementwise.
    fn fused_silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl FusedSilu for Flex {
    fn fused_silu(x: FlexTensor) -> FlexTensor {
        assert_eq!(
            x.dtype(),
            DType::F32,
            "fused SiLU is dispatched for f32 only"
        );
        let x = contiguous(x);
        let shape = x.layout().shape().clone();
        let src = x.as_slice::<f32>().expect("contiguous f32");
        let mut out = vec![0.0f32; src.len()];
        kernel::silu_forward(src, &mut out);
        FlexTensor::from_data(TensorData::new(out, shape))
    }

    fn fused_silu_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
        assert_eq!(
            x.dtype(),
            DType::F32,
            "fused SiLU is dispatched for f32 only"
        );
        let x = contiguous(x);
        let shape = x.layout().shape().clone();
        let src = x.as_slice::<f32>().expect("contiguous f32");
        let mut out: Vec<f32> = contiguous(grad)
            .as_slice::<f32>()
            .expect("contiguous f32")
            .to_vec();
        kernel::silu_backward(src, &mut out);
        FlexTensor::from_data(TensorData::new(out, shape))
    }
}

/// Backward step: the stored input and the incoming gradient give the input's gradient.
#[derive(Debug)]
struct SiluBackward;

impl<B: FusedSilu> Backward<B, 1> for SiluBackward {
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |grad| {
            B::fused_silu_backward(x, grad)
        });
    }
}

impl<B: FusedSilu, C: CheckpointStrategy> FusedSilu for Autodiff<B, C> {
    fn fused_silu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        // The input is kept (compute-bound): recomputing it under checkpointing would mean
        // recomputing whatever produced it.
        match SiluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                prep.finish(x.clone(), B::fused_silu(x))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_silu(x.into_primitive())),
        }
    }

    /// Not differentiated again: SiLU's second derivative is not needed by any objective here.
    fn fused_silu_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        use burn::backend::AutodiffBackend;
        let out = B::fused_silu_backward(Self::inner(x), Self::inner(grad));
        Self::from_inner(out)
    }
}
