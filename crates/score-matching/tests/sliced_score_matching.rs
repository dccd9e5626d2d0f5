//! Sliced score matching recovers a Gaussian's precision matrix with a linear score model.
#![cfg(feature = "burn")]

use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_score_matching::loss::{LossError, SlicedScoreMatching};

const D: usize = 3;
/// Σ = LLᵀ with L lower triangular, so samples are μ + Lz.
const L: [[f64; D]; D] = [[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.3, 0.4, 0.6]];
const MU: [f64; D] = [1.0, -0.5, 2.0];

#[allow(clippy::needless_range_loop)]
fn precision() -> [[f64; D]; D] {
    // Σ⁻¹ = L⁻ᵀL⁻¹; L⁻¹ by forward substitution.
    let mut inv = [[0.0; D]; D];
    for j in 0..D {
        for i in 0..D {
            let rhs = if i == j { 1.0 } else { 0.0 };
            let s: f64 = (0..i).map(|k| L[i][k] * inv[k][j]).sum();
            inv[i][j] = (rhs - s) / L[i][i];
        }
    }
    let mut p = [[0.0; D]; D];
    for i in 0..D {
        for j in 0..D {
            p[i][j] = (0..D).map(|k| inv[k][i] * inv[k][j]).sum();
        }
    }
    p
}

fn batch(n: usize, rng: &mut ChaCha8Rng, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let mut x = Vec::with_capacity(n * D);
    let mut v = Vec::with_capacity(n * D);
    for _ in 0..n {
        let z: [f64; D] = std::array::from_fn(|_| StandardNormal.sample(rng));
        for i in 0..D {
            x.push((MU[i] + (0..D).map(|k| L[i][k] * z[k]).sum::<f64>()) as f32);
        }
        for _ in 0..D {
            v.push(StandardNormal.sample(rng));
        }
    }
    let v: Vec<f32> = v.into_iter().map(|a: f64| a as f32).collect();
    (
        Tensor::from_data(TensorData::new(x, [n, D]), device),
        Tensor::from_data(TensorData::new(v, [n, D]), device),
    )
}

/// For a linear score s(x) = Wᵀx + b the SSM-VR objective E[tr W + ½‖s‖²] is minimised by
/// W = −Σ⁻¹, b = Σ⁻¹μ (the Gaussian's score); central differences are exact for it. A few
/// hundred Adam steps on fresh batches must recover Σ⁻¹ to 2 % (relative Frobenius norm).
#[test]
fn linear_model_recovers_the_precision_matrix() {
    let device = Device::flex().autodiff();
    device.seed(7);
    let mut model: Linear = LinearConfig::new(D, D).init(&device);
    let mut optimizer: ModuleOptimizer = AdamConfig::new().init();
    let ssm = SlicedScoreMatching::new(1e-2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let steps = 400;
    for step in 0..steps {
        let (x, v) = batch(2048, &mut rng, &device);
        let loss = ssm.loss(&|x| model.forward(x), x, v).unwrap().mean;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        // Cosine decay so that the last iterates average out the minibatch noise.
        let lr = 0.2 * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / steps as f64).cos());
        model = optimizer.step(lr, model, grads);
    }
    // burn's Linear computes xW: W[i][j] maps input i to output j, the transpose of the score's
    // matrix; Σ⁻¹ is symmetric, so −W should equal it either way.
    let w = model
        .weight
        .val()
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap();
    let p = precision();
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..D {
        for j in 0..D {
            num += (-w[i * D + j] - p[j][i]).powi(2);
            den += p[j][i].powi(2);
        }
    }
    let rel = (num / den).sqrt();
    assert!(
        rel < 0.02,
        "relative Frobenius error of the precision: {rel}"
    );
}

/// The central difference is the directional derivative exactly for a linear score: the
/// per-sample loss equals vᵀAv + ½‖Ax + b‖² computed by hand.
#[test]
fn per_sample_value_is_the_ssm_vr_integrand() {
    let device = Device::flex();
    let a = [[-2.0f32, 0.3, 0.0], [0.1, -1.0, 0.2], [0.0, 0.4, -0.5]];
    let b = [0.5f32, -0.2, 0.1];
    let score = |x: Tensor<2>| {
        let m = Tensor::<2>::from_data(
            TensorData::new(a.iter().flatten().copied().collect::<Vec<_>>(), [D, D]),
            &x.device(),
        );
        let bias = Tensor::<2>::from_data(TensorData::new(b.to_vec(), [1, D]), &x.device());
        // s(x) = A x + b on rows: x Aᵀ + b.
        x.matmul(m.transpose()) + bias
    };
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (x, v) = batch(8, &mut rng, &device);
    let got = SlicedScoreMatching::new(0.1)
        .unwrap()
        .loss(&score, x.clone(), v.clone())
        .unwrap()
        .per_sample
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap();
    let xs = x
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap();
    let vs = v
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap();
    for (i, g) in got.iter().enumerate() {
        let (xi, vi) = (&xs[i * D..(i + 1) * D], &vs[i * D..(i + 1) * D]);
        let mut want = 0.0;
        for r in 0..D {
            let av: f64 = (0..D).map(|c| a[r][c] as f64 * vi[c]).sum();
            let s: f64 = (0..D).map(|c| a[r][c] as f64 * xi[c]).sum::<f64>() + b[r] as f64;
            want += vi[r] * av + 0.5 * s * s;
        }
        assert!(
            (g - want).abs() < 1e-4 * want.abs().max(1.0),
            "{g} vs {want}"
        );
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        SlicedScoreMatching::new(0.0),
        Err(LossError::InvalidParameter { .. })
    ));
    assert!(matches!(
        SlicedScoreMatching::new(f64::INFINITY),
        Err(LossError::InvalidParameter { .. })
    ));
    let device = Device::flex();
    let ssm = SlicedScoreMatching::new(0.1).unwrap();
    let x = Tensor::<2>::zeros([4, 3], &device);
    let v = Tensor::<2>::zeros([4, 2], &device);
    assert!(matches!(
        ssm.loss(&|x| x, x.clone(), v),
        Err(LossError::Shape { .. })
    ));
    assert!(matches!(
        ssm.loss(&|x: Tensor<2>| x.narrow(0, 0, 2), x.clone(), x),
        Err(LossError::Shape { .. })
    ));
}
