//! Per-sample coefficients on burn tensors (feature `burn`): the objectives of the crates above
//! compute one coefficient per sample on the host in f64 and apply it to a `[B, …]` batch.

use burn::prelude::*;

/// `values` (one per sample) as a tensor of shape `[B, 1, …, 1]` on `like`'s device and in its
/// dtype, so that it broadcasts against `like`.
pub fn per_sample<const D: usize>(values: &[f64], like: &Tensor<D>) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[0] = values.len();
    Tensor::from_data(
        TensorData::new(values.to_vec(), shape),
        (&like.device(), like.dtype()),
    )
}

/// Σₖ cₖ ⊙ xₖ for per-sample coefficient columns cₖ (one value per sample of `xₖ`). A column
/// that is the same for every sample becomes a scalar multiply — or nothing, for 0 and 1 — so
/// that constant coefficients cost no upload and no broadcast product. `None` when every term
/// vanishes.
pub fn combine<const D: usize>(terms: &[(&[f64], &Tensor<D>)]) -> Option<Tensor<D>> {
    let mut out: Option<Tensor<D>> = None;
    for (coeffs, x) in terms {
        let first = coeffs.first().copied().unwrap_or(0.0);
        let term = if coeffs.iter().all(|&c| c == first) {
            if first == 0.0 {
                continue;
            } else if first == 1.0 {
                (*x).clone()
            } else {
                (*x).clone().mul_scalar(first)
            }
        } else {
            (*x).clone() * per_sample(coeffs, x)
        };
        out = Some(match out {
            Some(o) => o + term,
            None => term,
        });
    }
    out
}
