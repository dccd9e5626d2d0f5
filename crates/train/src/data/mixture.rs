//! `mixture:NAME|FILE.json`: a Gaussian mixture of `scoreflow-score-matching` materialised as a
//! finite dataset, so a network can be trained on a target whose density, score and likelihood
//! are known exactly.

use scoreflow_score_matching::analytic::GaussianMixture;

use super::{ArrayDataset, DataError, DataKind};

/// `n` exact draws of the mixture `spec` (a builtin name — `ring8`, `grid25`, `gauss16d` — or a
/// JSON file, as [`GaussianMixture::load`] resolves it), from
/// [`GaussianMixture::sample`]`(n, seed)` (ChaCha20, ancestral sampling), rounded to f32.
/// Shape `[d]`, kind [`DataKind::Points`], no labels.
pub fn mixture_dataset(spec: &str, n: usize, seed: u64) -> Result<ArrayDataset, DataError> {
    let mixture = GaussianMixture::load(spec).map_err(|source| DataError::Mixture {
        spec: spec.to_owned(),
        source,
    })?;
    let data = mixture
        .sample(n, seed)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    Ok(ArrayDataset::new(
        data,
        vec![mixture.dim()],
        None,
        DataKind::Points,
    ))
}
