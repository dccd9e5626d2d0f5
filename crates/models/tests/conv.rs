//! `models::conv::conv2d` (flex: weight gradient as one unfolded product) agrees with burn's
//! `Conv2d::forward` and its autodiff, in value and in every gradient.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use scoreflow_models::conv::conv2d;

fn rel_l2(a: Tensor<4>, b: Tensor<4>) -> f64 {
    let a = a.try_to_vec_as::<f64>().unwrap();
    let b = b.try_to_vec_as::<f64>().unwrap();
    let num: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// (forward, ∂x, ∂W, ∂b) of `Σ w ⊙ f(x)`.
fn run(
    conv: &Conv2d,
    x: &Tensor<4>,
    w: &Tensor<4>,
    f: impl Fn(&Conv2d, Tensor<4>) -> Tensor<4>,
) -> [Tensor<4>; 4] {
    let x = x.clone().detach().require_grad();
    let y = f(conv, x.clone());
    let grads = (y.clone() * w.clone()).sum().backward();
    let dw = conv.weight.grad(&grads).expect("weight gradient");
    let db = conv
        .bias
        .as_ref()
        .unwrap()
        .grad(&grads)
        .expect("bias gradient");
    let n = db.dims()[0];
    [
        y.detach(),
        x.grad(&grads).expect("input gradient"),
        dw,
        db.reshape([1, 1, 1, n]),
    ]
}

#[test]
fn value_and_gradients_match_burns_convolution() {
    let device = Device::flex().autodiff();
    device.seed(11);
    // (c_in, c_out, kernel, stride, dilation, padding, input size)
    let cases = [
        (
            6,
            8,
            [3, 3],
            [1, 1],
            [1, 1],
            PaddingConfig2d::Explicit(1, 1, 1, 1),
            [9, 9],
        ),
        (
            6,
            4,
            [3, 3],
            [2, 2],
            [1, 1],
            PaddingConfig2d::Explicit(0, 0, 1, 1),
            [10, 8],
        ),
        (5, 7, [1, 1], [1, 1], [1, 1], PaddingConfig2d::Valid, [7, 6]),
        (
            4,
            3,
            [3, 2],
            [1, 2],
            [2, 1],
            PaddingConfig2d::Explicit(2, 0, 1, 1),
            [11, 9],
        ),
    ];
    for (c_in, c_out, kernel, stride, dilation, padding, [h, w]) in cases {
        let conv = Conv2dConfig::new([c_in, c_out], kernel)
            .with_stride(stride)
            .with_dilation(dilation)
            .with_padding(padding.clone())
            .init(&device);
        let x = Tensor::<4>::random([3, c_in, h, w], Distribution::Normal(0.0, 1.0), &device);
        let out_dims = conv.forward(x.clone()).dims();
        let weights = Tensor::<4>::random(out_dims, Distribution::Normal(0.0, 1.0), &device);
        let ours = run(&conv, &x, &weights, conv2d);
        let burns = run(&conv, &x, &weights, |c, x| c.forward(x));
        for (what, (a, b)) in ["output", "∂x", "∂W", "∂b"]
            .iter()
            .zip(ours.into_iter().zip(burns))
        {
            assert_eq!(a.dims(), b.dims(), "{what}");
            let err = rel_l2(a, b);
            assert!(
                err < 1e-6,
                "{what} of {kernel:?}/{stride:?}/{padding:?}: rel L2 {err:e}"
            );
        }
    }
}
