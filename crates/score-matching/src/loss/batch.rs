//! Per-sample host coefficients as device tensors, and batch checks.

use burn::prelude::*;
pub(crate) use scoreflow_ode_sde_solvers::batch::combine;

use super::LossError;

/// `values` as a `[B]` tensor on `like`'s device and in its dtype.
pub(crate) fn vector<const D: usize>(values: &[f64], like: &Tensor<D>) -> Tensor<1> {
    let data = TensorData::new(values.to_vec(), [values.len()]);
    Tensor::from_data(data, (&like.device(), like.dtype()))
}

/// The mean over every axis but the first: `[B, …]` → `[B]`.
pub(crate) fn mean_per_sample<const D: usize>(x: Tensor<D>) -> Tensor<1> {
    let dims = x.dims();
    let batch = dims[0];
    let rest = dims[1..].iter().product::<usize>();
    x.reshape([batch, rest]).mean_dim(1).reshape([batch])
}

/// Checks that `x` has a non-empty batch axis and returns B.
pub(crate) fn batch_size<const D: usize>(x: &Tensor<D>) -> Result<usize, LossError> {
    match x.dims().first() {
        Some(&b) if b > 0 && x.dims().iter().all(|&n| n > 0) => Ok(b),
        _ => Err(LossError::EmptyBatch),
    }
}

/// Checks that `other` has `x`'s shape.
pub(crate) fn same_shape<const D: usize>(
    what: &'static str,
    x: &Tensor<D>,
    other: &Tensor<D>,
) -> Result<(), LossError> {
    if x.dims() == other.dims() {
        Ok(())
    } else {
        Err(LossError::Shape {
            what,
            expected: x.dims().to_vec(),
            got: other.dims().to_vec(),
        })
    }
}

/// Checks that a per-sample list has B entries.
pub(crate) fn per_sample_len(
    what: &'static str,
    len: usize,
    batch: usize,
) -> Result<(), LossError> {
    if len == batch {
        Ok(())
    } else {
        Err(LossError::Shape {
            what,
            expected: vec![batch],
            got: vec![len],
        })
    }
}

/// Checks optional per-sample weights (finite, ≥ 0, one per sample).
pub(crate) fn check_weights(weights: Option<&[f64]>, batch: usize) -> Result<(), LossError> {
    let Some(w) = weights else { return Ok(()) };
    per_sample_len("sample weights", w.len(), batch)?;
    match w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        Some(index) => Err(LossError::SampleWeight {
            index,
            value: w[index],
        }),
        None => Ok(()),
    }
}

/// Checks optional labels (one per sample).
pub(crate) fn check_labels(labels: Option<&Tensor<1, Int>>, batch: usize) -> Result<(), LossError> {
    match labels {
        Some(l) => per_sample_len("labels", l.dims()[0], batch),
        None => Ok(()),
    }
}
