//! The fused SiLU agrees with burn's composition `x·sigmoid(x)`, forward and backward.

use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation;
use scoreflow_models::silu::silu;

fn max_rel(a: Tensor<2>, b: Tensor<2>) -> f64 {
    let a = a.try_to_vec_as::<f64>().unwrap();
    let b = b.try_to_vec_as::<f64>().unwrap();
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / (1e-6 + y.abs()))
        .fold(0.0, f64::max)
}

#[test]
fn forward_matches_burns_composition() {
    let device = Device::flex();
    // Wide enough to reach both saturated tails and large enough to be split across threads.
    let x = Tensor::<2>::random([256, 300], Distribution::Normal(0.0, 8.0), &device);
    let err = max_rel(silu(x.clone()), activation::silu(x));
    assert!(err < 1e-5, "max relative difference {err:e}");
}

#[test]
fn strided_inputs_are_read_in_logical_order() {
    let device = Device::flex();
    let x = Tensor::<2>::random([40, 70], Distribution::Normal(0.0, 3.0), &device);
    let transposed = x.clone().transpose();
    let err = max_rel(silu(transposed), activation::silu(x).transpose());
    assert!(err < 1e-5, "max relative difference {err:e}");
}

/// Both gradients against `w·SiLU′(x)` in f64: the fused one is at least as close as burn's.
#[test]
fn gradient_is_as_accurate_as_burns_composition() {
    let device = Device::flex().autodiff();
    let x = Tensor::<2>::random([128, 300], Distribution::Normal(0.0, 4.0), &device);
    let w = Tensor::<2>::random([128, 300], Distribution::Normal(0.0, 1.0), &device);
    let grad_of = |f: fn(Tensor<2>) -> Tensor<2>| {
        let x = x.clone().detach().require_grad();
        let grads = (f(x.clone()) * w.clone()).sum().backward();
        x.grad(&grads)
            .expect("x takes part in the loss")
            .try_to_vec_as::<f64>()
            .unwrap()
    };
    let xs = x.clone().try_to_vec_as::<f64>().unwrap();
    let ws = w.clone().try_to_vec_as::<f64>().unwrap();
    let exact: Vec<f64> = xs
        .iter()
        .zip(&ws)
        .map(|(&x, &w)| {
            let s = 1.0 / (1.0 + (-x).exp());
            w * s * (1.0 + x * (1.0 - s))
        })
        .collect();
    let max_err = |g: &[f64]| {
        g.iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max)
    };
    let fused = max_err(&grad_of(silu));
    let composed = max_err(&grad_of(activation::silu));
    eprintln!("max |error|: fused {fused:e}, burn {composed:e}");
    assert!(fused < 1e-5, "fused gradient error {fused:e}");
    assert!(
        fused <= 2.0 * composed + 1e-7,
        "fused {fused:e} vs burn {composed:e}"
    );
}
