//! The 2-D convolution as a burn backend extension whose weight gradient is one matrix product
//! on `flex` (see [`super::im2col`]).
//!
//! burn's generic `conv2d_weight_backward` swaps the batch and channel axes and runs a
//! convolution whose images are the input channels: on flex that is one product per input
//! channel with as many rows as the kernel has taps (9), which the gemm crate serves at a
//! fraction of its speed — the weight gradient cost twice the forward pass (docs/benchmarks.md).
//! The forward pass and the input and bias gradients stay flex's own.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, TensorData};

use super::im2col::{Geometry, channels_first, unfold};
use crate::flex::contiguous;

/// A biased 2-D convolution `y = W ⋆ x + b` and its weight gradient as backend operations.
#[backend_extension(Flex: cfg(feature = "flex"), Autodiff)]
pub trait ConvWeightGrad: Backend {
    /// `conv2d(x, weight, bias)`, differentiated with [`conv2d_weight_grad`](Self::conv2d_weight_grad)
    /// for the weight.
    fn conv2d_biased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;
    /// `∂L/∂W` from the input `x` and the output gradient `∂L/∂y`.
    fn conv2d_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;
}

impl ConvWeightGrad for Flex {
    fn conv2d_biased(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        <Flex as ModuleOps<Flex>>::conv2d(x, weight, Some(bias), options)
    }

    fn conv2d_weight_grad(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        if options.groups != 1 || x.dtype() != DType::F32 || output_grad.dtype() != DType::F32 {
            return <Flex as ModuleOps<Flex>>::conv2d_weight_backward(
                x,
                weight,
                output_grad,
                options,
            );
        }
        let x = contiguous(x);
        let dy = contiguous(output_grad);
        let input: [usize; 4] = x.layout().shape().dims();
        let [c_out, _, k_h, k_w]: [usize; 4] = weight.layout().shape().dims();
        let [_, _, out_h, out_w]: [usize; 4] = dy.layout().shape().dims();
        let g = Geometry {
            input,
            output: [out_h, out_w],
            kernel: [k_h, k_w],
            stride: options.stride,
            padding: options.padding_begin(),
            dilation: options.dilation,
        };
        let mut cols = vec![0.0f32; g.rows() * g.cols()];
        unfold(x.as_slice::<f32>().expect("contiguous f32"), &g, &mut cols);
        let mut dyt = vec![0.0f32; c_out * g.rows()];
        channels_first(
            dy.as_slice::<f32>().expect("contiguous f32"),
            input[0],
            c_out,
            out_h * out_w,
            &mut dyt,
        );
        let lhs = FlexTensor::from_data(TensorData::new(dyt, [c_out, g.rows()]));
        let rhs = FlexTensor::from_data(TensorData::new(cols, [g.rows(), g.cols()]));
        let grad = <Flex as FloatTensorOps<Flex>>::float_matmul(lhs, rhs);
        <Flex as FloatTensorOps<Flex>>::float_reshape(grad, weight.layout().shape().clone())
    }
}

/// Backward step: input, weight and bias gradients from the stored operands.
#[derive(Debug)]
struct Conv2dBackward;

impl<B: ConvWeightGrad> Backward<B, 3> for Conv2dBackward {
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        ConvOptions<2>,
    );

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, bias, options) = ops.state;
        if let Some(node) = node_x {
            let dx = B::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_weight {
            let dw = B::conv2d_weight_grad(x.clone(), weight, grad.clone(), options);
            grads.register::<B>(node.id, dw);
        }
        if let Some(node) = node_bias {
            grads.register::<B>(node.id, B::conv2d_bias_backward(x, bias, grad));
        }
    }
}

impl<B: ConvWeightGrad, C: CheckpointStrategy> ConvWeightGrad for Autodiff<B, C> {
    fn conv2d_biased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight, bias) = (
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                );
                let state = (x.clone(), weight.clone(), bias.clone(), options.clone());
                prep.finish(state, B::conv2d_biased(x, weight, bias, options))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv2d_biased(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                options,
            )),
        }
    }

    /// Not differentiated again (no objective here needs second derivatives of a convolution).
    fn conv2d_weight_grad(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        use burn::backend::AutodiffBackend;
        Self::from_inner(B::conv2d_weight_grad(
            Self::inner(x),
            Self::inner(weight),
            Self::inner(output_grad),
            options,
        ))
    }
}
