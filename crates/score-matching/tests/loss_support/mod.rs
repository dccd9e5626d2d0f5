//! Shared pieces of the loss tests: f64 tensors on the CPU device, and exact "networks" built
//! from the Gaussian-mixture oracle for every prediction type.
#![allow(dead_code)]

use burn::prelude::*;
use burn::tensor::DType;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::{Coefficients, NoiseSchedule};
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::loss::Prediction;
use scoreflow_score_matching::parameterization::{Parameterization, TimeInput};

pub fn device() -> Device {
    Device::flex()
}

/// An `[n, d]` f64 tensor from row-major data.
pub fn tensor(data: &[f64], n: usize, d: usize) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(data.to_vec(), [n, d]),
        (&device(), DType::F64),
    )
}

/// A tensor's elements as f64.
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

/// Mean and standard error of the mean.
pub fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

/// A smooth, fixed perturbation direction δ(x_in, c) of a network output, of unit amplitude.
pub fn delta(x_in: &[f64], c: f64, out: &mut [f64]) {
    for (j, (o, x)) in out.iter_mut().zip(x_in).enumerate() {
        *o = (1.3 * x + 0.7 * j as f64 + 2.0 * c.tanh()).sin();
    }
}

/// The exact network of a prediction type for data `mixture` on `schedule` (time input: t
/// itself), plus θ·δ: it recovers (x_t, t) from its inputs, denoises exactly with the oracle,
/// and outputs the prediction that x̂₀ implies — by the parameterisation adapter's formulas
/// for ε, x₀, v and score and by EDM's F = (D − c_skip x̃)/c_out for EDM.
pub struct ExactNetwork<'a> {
    pub mixture: &'a GaussianMixture,
    pub schedule: &'a dyn NoiseSchedule,
    pub prediction: Prediction,
    pub time_input: TimeInput,
    pub theta: f64,
    /// Scale of δ at schedule time t.
    pub delta_scale: &'a dyn Fn(f64) -> f64,
}

impl ExactNetwork<'_> {
    pub fn call(&self, x_in: Tensor<2>, c: Tensor<1>) -> Tensor<2> {
        let [n, d] = x_in.dims();
        let (xs, cs) = (host(&x_in), host(&c));
        let mut out = vec![0.0; n * d];
        let (mut x0, mut dl) = (vec![0.0; d], vec![0.0; d]);
        for i in 0..n {
            let (row, ci) = (&xs[i * d..(i + 1) * d], cs[i]);
            let o = &mut out[i * d..(i + 1) * d];
            let t = match self.prediction {
                Prediction::Edm { sigma_data } => {
                    let sigma = (4.0 * ci).exp();
                    let n2 = sigma * sigma + sigma_data * sigma_data;
                    let x: Vec<f64> = row.iter().map(|v| v * n2.sqrt()).collect();
                    self.mixture.denoise(&x, sigma, &mut x0);
                    let c_skip = sigma_data * sigma_data / n2;
                    let c_out = sigma * sigma_data / n2.sqrt();
                    for ((o, d0), x) in o.iter_mut().zip(&x0).zip(&x) {
                        *o = (d0 - c_skip * x) / c_out;
                    }
                    self.schedule.t_from_edm_sigma(sigma).unwrap_or(f64::NAN)
                }
                p => {
                    // An ideal network inverts its time input to find t.
                    let t = match self.time_input {
                        TimeInput::Continuous => ci,
                        TimeInput::Scaled(k) => ci / k,
                        TimeInput::DiscreteIndex {
                            num_train_timesteps,
                        } => (ci + 1.0) / num_train_timesteps as f64,
                    };
                    let c = self.schedule.coefficients(t);
                    let x: Vec<f64> = row.iter().map(|v| v / c.alpha).collect();
                    self.mixture.denoise(&x, c.sigma / c.alpha, &mut x0);
                    let kind = match p {
                        Prediction::Epsilon => Parameterization::Epsilon,
                        Prediction::Sample => Parameterization::Sample,
                        Prediction::Velocity => Parameterization::Velocity,
                        _ => Parameterization::Score,
                    };
                    let pred = kind.from_x0(x0.clone(), &row.to_vec(), &c);
                    o.copy_from_slice(&pred);
                    t
                }
            };
            delta(row, ci, &mut dl);
            let scale = self.theta * (self.delta_scale)(t);
            for (o, dv) in o.iter_mut().zip(&dl) {
                *o += scale * dv;
            }
        }
        tensor(&out, n, d)
    }
}

/// (α, σ) only, for conversions that need no derivative.
pub fn coefficients(alpha: f64, sigma: f64) -> Coefficients {
    Coefficients::without_derivatives(alpha, sigma)
}
