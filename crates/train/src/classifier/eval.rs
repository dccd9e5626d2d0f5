//! A trained classifier on host data: logits, class probabilities, predictions, accuracy.

use burn::prelude::*;
use scoreflow_models::Classifier;

use super::{SIGMA_MIN, c_noise};
use crate::error::TrainError;
use crate::model::NetworkError;

/// Samples per forward pass: bounds the activations' memory whatever the number of inputs.
const CHUNK: usize = 500;

/// f(x, c) for `n` samples held row-major in `values`, as a `[n, d]` or `[n, C, H, W]` tensor on
/// `device` according to the classifier's input shape.
pub(super) fn forward_host(
    classifier: &Classifier,
    values: Vec<f32>,
    c: Vec<f32>,
    device: &Device,
) -> Result<Tensor<2>, TrainError> {
    let n = c.len();
    let c = Tensor::<1>::from_data(TensorData::new(c, [n]), device);
    let shape = &classifier.input_shape;
    let logits = match shape[..] {
        [d] => classifier.try_forward(
            Tensor::<2>::from_data(TensorData::new(values, [n, d]), device),
            c,
        ),
        [ch, h, w] => classifier.try_forward(
            Tensor::<4>::from_data(TensorData::new(values, [n, ch, h, w]), device),
            c,
        ),
        _ => unreachable!("a Classifier is built for rank-1 or rank-3 samples"),
    };
    Ok(logits.map_err(NetworkError::from)?)
}

/// The number of samples in `x`, checked to be whole samples of the classifier's shape.
fn count<T>(classifier: &Classifier, x: &[T]) -> Result<usize, TrainError> {
    let per_sample: usize = classifier.input_shape.iter().product();
    if !x.len().is_multiple_of(per_sample) {
        return Err(TrainError::Model(format!(
            "{} values are not a whole number of samples of shape {:?}",
            x.len(),
            classifier.input_shape
        )));
    }
    Ok(x.len() / per_sample)
}

/// Logits f(x_σ, c_noise(σ)), row-major `[N, K]`, of the samples `x` (row-major, each of the
/// classifier's input shape), read as lying at noise level σ: pass x_σ = x + σε (see
/// [`noised`](super::noised)) to ask about noised data, clean data with σ = [`SIGMA_MIN`].
///
/// # Errors
/// [`TrainError::Model`] when `x` is not a whole number of samples.
pub fn logits<T: Copy + Into<f64>>(
    classifier: &Classifier,
    x: &[T],
    sigma: f64,
    device: &Device,
) -> Result<Vec<f64>, TrainError> {
    let n = count(classifier, x)?;
    let per_sample: usize = classifier.input_shape.iter().product();
    let mut out = Vec::with_capacity(n * classifier.num_classes());
    for start in (0..n).step_by(CHUNK) {
        let m = CHUNK.min(n - start);
        let values = x[start * per_sample..(start + m) * per_sample]
            .iter()
            .map(|&v| v.into() as f32)
            .collect();
        let c = vec![c_noise(sigma) as f32; m];
        let chunk = forward_host(classifier, values, c, device)?;
        out.extend(host(chunk));
    }
    Ok(out)
}

/// p(y | x_σ) = softmax(f(x_σ, c_noise(σ)))_y, row-major `[N, K]` (see [`logits`] for `x`).
///
/// # Errors
/// As [`logits`].
pub fn probabilities<T: Copy + Into<f64>>(
    classifier: &Classifier,
    x: &[T],
    sigma: f64,
    device: &Device,
) -> Result<Vec<f64>, TrainError> {
    let k = classifier.num_classes();
    let z = logits(classifier, x, sigma, device)?;
    let n = z.len() / k.max(1);
    // On the host in f64: a [N, K] softmax is no work.
    let mut p = Vec::with_capacity(z.len());
    for row in z.chunks_exact(k).take(n) {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = row.iter().map(|v| (v - max).exp()).collect();
        let total: f64 = e.iter().sum();
        p.extend(e.iter().map(|v| v / total));
    }
    Ok(p)
}

/// The most probable class of each sample at the clean level [`SIGMA_MIN`]:
/// argmax_y f(x, c_noise(σ_min))_y.
///
/// # Errors
/// As [`logits`].
pub fn predict<T: Copy + Into<f64>>(
    classifier: &Classifier,
    x: &[T],
    device: &Device,
) -> Result<Vec<u32>, TrainError> {
    Ok(argmax(
        &logits(classifier, x, SIGMA_MIN, device)?,
        classifier.num_classes(),
    ))
}

/// The share of samples x_σ whose argmax_y f(x_σ, c_noise(σ))_y is their label (see [`logits`]
/// for `x`; σ = [`SIGMA_MIN`] for clean data).
///
/// # Errors
/// As [`logits`], and [`TrainError::Model`] when the label count differs from the sample count.
pub fn accuracy<T: Copy + Into<f64>>(
    classifier: &Classifier,
    x: &[T],
    labels: &[u32],
    sigma: f64,
    device: &Device,
) -> Result<f64, TrainError> {
    let n = count(classifier, x)?;
    if labels.len() != n {
        return Err(TrainError::Model(format!(
            "{} labels for {n} samples",
            labels.len()
        )));
    }
    let predicted = argmax(
        &logits(classifier, x, sigma, device)?,
        classifier.num_classes(),
    );
    let right = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(right as f64 / n.max(1) as f64)
}

/// The index of the largest value of each row of length `k` (the first on ties).
pub(super) fn argmax(rows: &[f64], k: usize) -> Vec<u32> {
    rows.chunks_exact(k)
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

/// A `[n, k]` tensor's values, row-major, in f64.
pub(super) fn host(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap_or_default()
}
