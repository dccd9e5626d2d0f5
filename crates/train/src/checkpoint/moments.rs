//! The data's moments as a byte section of a checkpoint: d as a little-endian u64, then μ (d),
//! λ (d) and Q (d × d, row-major) as little-endian f64. Written by every run whose samples have
//! at most `MOMENTS_MAX_DIM` values; absent otherwise and in older checkpoints.

use ndarray::{Array1, Array2};
use scoreflow_flow_matching::gauss_preconditioned::GaussianMoments;

/// Name of the moments' byte section.
pub(crate) const MOMENTS_SECTION: &str = "moments";

/// The section's bytes.
pub(crate) fn encode(moments: &GaussianMoments) -> Vec<u8> {
    let d = moments.dim();
    let mut out = Vec::with_capacity(8 * (1 + 2 * d + d * d));
    out.extend_from_slice(&(d as u64).to_le_bytes());
    let values = moments
        .mean()
        .iter()
        .chain(moments.lambda())
        .chain(moments.q().iter());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The moments back from a section's bytes.
///
/// # Errors
/// A one-line reason when the length does not match its d or the values are not the moments
/// of a covariance ([`GaussianMoments::new`]'s checks).
pub(crate) fn decode(bytes: &[u8]) -> Result<GaussianMoments, String> {
    let (head, body) = bytes
        .split_first_chunk::<8>()
        .ok_or("the moments section is shorter than its header")?;
    let d = usize::try_from(u64::from_le_bytes(*head)).map_err(|e| e.to_string())?;
    let expected = d
        .checked_mul(d)
        .and_then(|dd| dd.checked_add(2 * d))
        .and_then(|n| n.checked_mul(8));
    if expected != Some(body.len()) {
        return Err(format!(
            "the moments section holds {} bytes, not those of dimension {d}",
            body.len()
        ));
    }
    let values: Vec<f64> = body
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect();
    let mean = Array1::from(values[..d].to_vec());
    let lambda = Array1::from(values[d..2 * d].to_vec());
    let q = Array2::from_shape_vec((d, d), values[2 * d..].to_vec()).map_err(|e| e.to_string())?;
    GaussianMoments::new(mean, lambda, q).map_err(|e| e.to_string())
}
