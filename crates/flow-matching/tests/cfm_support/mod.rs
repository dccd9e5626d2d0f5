//! Shared pieces of the flow-matching loss tests: f64 tensors on the CPU device, seeded draws,
//! and the mean with its standard error.
#![allow(dead_code)]

use burn::prelude::*;
use burn::tensor::DType;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, Uniform};

pub fn tensor(data: &[f64], n: usize, d: usize) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(data.to_vec(), [n, d]),
        (&Device::flex(), DType::F64),
    )
}

pub fn host<const D: usize>(t: &Tensor<D>) -> Vec<f64> {
    t.clone()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()
}

pub fn normals(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

pub fn uniforms(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let u = Uniform::new(lo, hi).unwrap();
    (0..n).map(|_| u.sample(&mut rng)).collect()
}

pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}
