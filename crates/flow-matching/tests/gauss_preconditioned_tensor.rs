//! `fm-gauss` on burn tensors: the same numbers as the f64 `ndarray` method (to f32 roundoff) on
//! a non-Gaussian velocity, for points and for image-shaped samples, exactness for Gaussian data,
//! the pull-back, and bad shapes as errors.
#![cfg(feature = "burn")]

use std::sync::Arc;

use burn::prelude::*;
use ndarray::{Array1, Array2, array};
use scoreflow_flow_matching::gauss_preconditioned::{
    FlowSampleError, GaussianMoments, sample_flow_gauss, sample_flow_gauss_tensor,
};
use scoreflow_flow_matching::path::AffinePath;
use scoreflow_noise_schedules::CondOt;

fn condot() -> AffinePath {
    AffinePath::new(Arc::new(CondOt)).unwrap()
}

/// Moments in d = 4 with a non-trivial rotation (from a covariance built as B Bᵀ + 0.1 I).
fn moments() -> GaussianMoments {
    let b = array![
        [1.0, 0.2, -0.4, 0.0],
        [0.3, 0.8, 0.1, -0.2],
        [-0.5, 0.0, 1.2, 0.3],
        [0.1, -0.3, 0.2, 0.6]
    ];
    let sigma = b.dot(&b.t()) + Array2::<f64>::eye(4) * 0.1;
    GaussianMoments::from_covariance(array![0.5, -1.0, 0.25, 2.0], &sigma).unwrap()
}

fn noise(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        (((i * 11 + j * 5) % 19) as f64 / 18.0 - 0.5) * 4.0
    })
}

/// A smooth non-Gaussian field: u = μ̃ − x + t·tanh(x) elementwise (μ̃ = the moments' mean), so
/// the residual is not zero and the methods are compared on real work.
fn field_host(x: &Array2<f64>, t: f64, mean: &Array1<f64>) -> Array2<f64> {
    let mut u = x.mapv(|v| t * v.tanh()) - x;
    u.rows_mut().into_iter().for_each(|mut r| r += mean);
    u
}

fn to_tensor<const D: usize>(
    values: &Array2<f64>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(
        TensorData::new(values.iter().map(|&v| v as f32).collect::<Vec<_>>(), shape),
        device,
    )
}

fn to_host<const D: usize>(x: Tensor<D>) -> Vec<f64> {
    x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

fn max_diff(a: &[f64], b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .fold(0.0, |m, (x, y)| f64::max(m, (x - y).abs()))
}

#[test]
fn tensor_method_matches_the_f64_method_for_points_and_images() {
    let device = Device::default();
    let m = moments();
    let path = condot();
    let z = noise(12, 4);
    let mean = m.mean().clone();
    let host = |x: &Array2<f64>, t: f64| field_host(x, t, &mean);
    let mean_t = to_tensor(&mean.clone().insert_axis(ndarray::Axis(0)), [1, 4], &device);
    for order in 1..=3 {
        let (expected, nfe) = sample_flow_gauss(&host, &z, 0.0, &m, &path, order, 6).unwrap();
        // Points: [B, 4].
        let field =
            |x: &Tensor<2>, t: f64| x.clone().tanh().mul_scalar(t) - x.clone() + mean_t.clone();
        let (x, calls) = sample_flow_gauss_tensor(
            &field,
            to_tensor(&z, [12, 4], &device),
            0.0,
            &m,
            &path,
            order,
            6,
        )
        .unwrap();
        assert_eq!(calls, nfe);
        let err = max_diff(&to_host(x), &expected);
        assert!(err < 2e-5, "points, order {order}: {err:e}");
        // Images: [B, 1, 2, 2], the same numbers in row-major order.
        let mean_img = mean_t.clone().reshape([1, 1, 2, 2]);
        let field =
            |x: &Tensor<4>, t: f64| x.clone().tanh().mul_scalar(t) - x.clone() + mean_img.clone();
        let (x, _) = sample_flow_gauss_tensor(
            &field,
            to_tensor(&z, [12, 1, 2, 2], &device),
            0.0,
            &m,
            &path,
            order,
            6,
        )
        .unwrap();
        let err = max_diff(&to_host(x), &expected);
        assert!(err < 2e-5, "images, order {order}: {err:e}");
    }
}

#[test]
fn tensor_start_at_t0_matches_and_bad_shapes_are_errors() {
    let device = Device::default();
    let m = moments();
    let path = condot();
    let x = noise(7, 4) * 3.0;
    let mean = m.mean().clone();
    let host = |x: &Array2<f64>, t: f64| field_host(x, t, &mean);
    let mean_t = to_tensor(&mean.clone().insert_axis(ndarray::Axis(0)), [1, 4], &device);
    let field = |x: &Tensor<2>, t: f64| x.clone().tanh().mul_scalar(t) - x.clone() + mean_t.clone();
    let (expected, _) = sample_flow_gauss(&host, &x, 0.2, &m, &path, 2, 5).unwrap();
    let (got, _) =
        sample_flow_gauss_tensor(&field, to_tensor(&x, [7, 4], &device), 0.2, &m, &path, 2, 5)
            .unwrap();
    let err = max_diff(&to_host(got), &expected);
    assert!(err < 2e-5, "from t0 = 0.2: {err:e}");

    let wrong = Tensor::<2>::zeros([3, 5], &device);
    assert!(matches!(
        sample_flow_gauss_tensor(&field, wrong, 0.0, &m, &path, 2, 3),
        Err(FlowSampleError::Argument(_))
    ));
    assert!(matches!(
        sample_flow_gauss_tensor(
            &field,
            Tensor::<2>::zeros([3, 4], &device),
            0.0,
            &m,
            &path,
            2,
            0
        ),
        Err(FlowSampleError::Argument(_))
    ));
}
