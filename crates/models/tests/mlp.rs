//! The low-dimensional MLP: shapes, parameter count, conditioning, and a gradient check.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use scoreflow_models::{Mlp, MlpConfig};

#[test]
fn shapes_and_parameter_count() {
    let device = Device::flex();
    let config = MlpConfig::new(2)
        .with_hidden(32)
        .with_depth(2)
        .with_time_features(16);
    let model = config.init(&device);
    // input 2·32+32, time MLP 16·32+32 + 32·32+32, 2 layers (32·32+32), output 32·2+2.
    let expected =
        (2 * 32 + 32) + (16 * 32 + 32) + (32 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 2 + 2);
    assert_eq!(model.num_params(), expected);
    let x = Tensor::<2>::random([5, 2], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<1>::from_floats([0.0, 0.1, 0.5, 0.9, 1.0], &device);
    let out = model.forward(x, t, None);
    assert_eq!(out.dims(), [5, 2]);
    let v = out.try_to_vec_as::<f64>().unwrap();
    assert!(v.iter().all(|a| a.is_finite()));
}

#[test]
fn time_and_class_change_the_output() {
    let device = Device::flex();
    device.seed(3);
    let model = MlpConfig::new(2)
        .with_hidden(32)
        .with_num_classes(Some(4))
        .init(&device);
    assert_eq!(model.null_class, Some(4));
    let x = Tensor::<2>::from_floats([[0.3, -0.7], [0.3, -0.7]], &device);
    let t = Tensor::<1>::from_floats([0.25, 0.75], &device);
    let labels = Tensor::<1, Int>::from_ints([1, 1], &device);
    let out: Vec<f64> = model
        .forward(x.clone(), t.clone(), Some(labels))
        .try_to_vec_as()
        .unwrap();
    // Same x and class, different t: different outputs.
    assert!((out[0] - out[2]).abs() + (out[1] - out[3]).abs() > 1e-6);

    let t_same = Tensor::<1>::from_floats([0.5, 0.5], &device);
    let labels = Tensor::<1, Int>::from_ints([0, 2], &device);
    let out: Vec<f64> = model
        .forward(x.clone(), t_same.clone(), Some(labels))
        .try_to_vec_as()
        .unwrap();
    assert!((out[0] - out[2]).abs() + (out[1] - out[3]).abs() > 1e-6);

    // Omitted labels mean the null class.
    let null = Tensor::<1, Int>::from_ints([4, 4], &device);
    let a: Vec<f64> = model
        .forward(x.clone(), t_same.clone(), Some(null))
        .try_to_vec_as()
        .unwrap();
    let b: Vec<f64> = model.forward(x, t_same, None).try_to_vec_as().unwrap();
    assert_eq!(a, b);
}

#[test]
fn gradients_match_central_finite_differences() {
    let device = Device::flex().autodiff();
    device.seed(11);
    let model = MlpConfig::new(2)
        .with_hidden(16)
        .with_depth(2)
        .with_time_features(8)
        .init(&device);
    let x = Tensor::<2>::random([8, 2], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<1>::random([8], Distribution::Uniform(0.0, 1.0), &device);
    let loss = |m: &Mlp, x: &Tensor<2>, t: &Tensor<1>| -> f64 {
        let v: Vec<f64> = m
            .forward(x.clone(), t.clone(), None)
            .try_to_vec_as()
            .unwrap();
        v.iter()
            .enumerate()
            .map(|(i, a)| a * (1.0 + (i % 3) as f64))
            .sum()
    };
    let weights: Vec<f32> = (0..16).map(|i| 1.0 + (i % 3) as f32).collect();
    let w = Tensor::<2>::from_data(TensorData::new(weights, [8, 2]), &device);
    let grads = (model.forward(x.clone(), t.clone(), None) * w)
        .sum()
        .backward();
    let g: Vec<f64> = model.layers[1]
        .weight
        .val()
        .grad(&grads)
        .unwrap()
        .try_to_vec_as()
        .unwrap();

    let plain = model.valid();
    let (xp, tp) = (x.inner(), t.inner());
    let mut order: Vec<usize> = (0..g.len()).collect();
    order.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
    let h = 1e-2;
    for &i in order.iter().take(3) {
        let eval = |d: f64| {
            let mut m = plain.clone();
            let p = m.layers[1].weight.val();
            let shape = p.shape();
            let mut v: Vec<f32> = p.try_to_vec_as().unwrap();
            v[i] += d as f32;
            m.layers[1].weight =
                Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), &xp.device()));
            loss(&m, &xp, &tp)
        };
        let fd = (eval(h) - eval(-h)) / (2.0 * h);
        let rel = (fd - g[i]).abs() / g[i].abs().max(1e-3);
        assert!(
            rel <= 2e-2,
            "layers.1.weight[{i}]: autodiff {} vs {fd}",
            g[i]
        );
    }
}
