//! The data's first two moments, for the samplers that integrate relative to the data's
//! moment-matched Gaussian (`gauss`, `fm-gauss`; `auto` and `fm-auto` when they are known).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2};
use scoreflow_flow_matching::gauss_preconditioned::GaussianMoments;

use super::{DataError, Dataset};

/// The largest sample size (values per sample) whose moments are computed and stored: the
/// covariance's eigenvectors take d² values in every checkpoint (8 MiB at d = 1,024, MNIST's 784
/// included) and its eigendecomposition O(d³) time (about 1 s at d = 1,024).
pub const MOMENTS_MAX_DIM: usize = 1024;

/// At most this many samples, evenly spaced through the dataset, enter the estimate: ample for
/// a preconditioner (its error only moves the coordinates the sampler works in, not what it
/// converges to), and a bounded cost for datasets of decoded images.
pub const MOMENTS_MAX_SAMPLES: usize = 16_384;

/// Rows per matrix product of the accumulation.
const CHUNK: usize = 512;

/// The mean μ = (1/n) Σ xᵢ and covariance Σ = (1/n) Σ (xᵢ − μ)(xᵢ − μ)ᵀ of the samples as the
/// network sees them (after the dataset's scaling, before augmentation), over at most
/// [`MOMENTS_MAX_SAMPLES`] evenly spaced samples, with Σ's eigendecomposition; `None` for samples
/// of more than [`MOMENTS_MAX_DIM`] values or an empty dataset. Accumulated in f64 about the
/// first sample (a shift that keeps the one-pass formula Σ = E[yyᵀ] − E[y]E[y]ᵀ, y = x − x₀,
/// free of cancellation for data far from the origin).
///
/// # Errors
/// The dataset's read errors; [`DataError::Moments`] for non-finite values.
pub fn data_moments(dataset: &dyn Dataset) -> Result<Option<GaussianMoments>, DataError> {
    let d: usize = dataset.sample_shape().iter().product();
    let len = dataset.len();
    if d == 0 || d > MOMENTS_MAX_DIM || len == 0 {
        return Ok(None);
    }
    let n = len.min(MOMENTS_MAX_SAMPLES);
    let index = |k: usize| k * len / n;
    let mut row = vec![0f32; d];
    dataset.read(index(0), &mut row)?;
    let shift: Array1<f64> = row.iter().map(|&v| f64::from(v)).collect();
    let mut sum = Array1::<f64>::zeros(d);
    let mut gram = Array2::<f64>::zeros((d, d));
    let mut chunk = Array2::<f64>::zeros((CHUNK, d));
    for start in (0..n).step_by(CHUNK) {
        let rows = CHUNK.min(n - start);
        for (r, mut out) in chunk.rows_mut().into_iter().take(rows).enumerate() {
            dataset.read(index(start + r), &mut row)?;
            for ((o, &v), &s) in out.iter_mut().zip(&row).zip(&shift) {
                *o = f64::from(v) - s;
            }
        }
        let y = chunk.slice(ndarray::s![..rows, ..]);
        sum += &y.sum_axis(ndarray::Axis(0));
        general_mat_mul(1.0, &y.t(), &y, 1.0, &mut gram);
    }
    let m = sum / n as f64;
    let outer = m
        .view()
        .insert_axis(ndarray::Axis(1))
        .dot(&m.view().insert_axis(ndarray::Axis(0)));
    let covariance = gram / n as f64 - outer;
    // Exactly symmetric: the product accumulates both triangles in the same order, but the
    // decomposition must not depend on that.
    let covariance = (&covariance + &covariance.t()) * 0.5;
    GaussianMoments::from_covariance(shift + m, &covariance)
        .map(Some)
        .map_err(|e| DataError::Moments(e.to_string()))
}
