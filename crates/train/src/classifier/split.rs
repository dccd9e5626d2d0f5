//! A deterministic, class-balanced held-out split of a labelled dataset.

use crate::data::{ArrayDataset, Dataset};
use crate::error::TrainError;

/// Splits the labelled `dataset` into a training part and a held-out part made of the last
/// `per_class` samples (in file order) of every class, both in memory with their labels and in
/// file order. Per class rather than the file's tail: subsets such as `../shared/data/mnist-5k`
/// are sorted by label, so the tail would be one class only.
///
/// # Errors
/// [`TrainError::Data`] when a sample cannot be read; [`TrainError::Model`] for unlabelled data,
/// `per_class` = 0, or a class with no more than `per_class` samples (its training part would be
/// empty).
pub fn split_per_class(
    dataset: &dyn Dataset,
    per_class: usize,
) -> Result<(ArrayDataset, ArrayDataset), TrainError> {
    let classes = dataset
        .num_classes()
        .ok_or_else(|| TrainError::Model("a per-class split needs labelled data".into()))?;
    if per_class == 0 {
        return Err(TrainError::Model("holding out 0 samples per class".into()));
    }
    let n = dataset.len();
    let shape = dataset.sample_shape().to_vec();
    let per_sample: usize = shape.iter().product();
    let mut values = vec![0f32; n * per_sample];
    let mut labels = Vec::with_capacity(n);
    for (i, row) in values.chunks_exact_mut(per_sample).enumerate() {
        let label = dataset.read(i, row)?.ok_or_else(|| {
            TrainError::Model(format!("sample {i} of a labelled dataset has no label"))
        })?;
        labels.push(label);
    }
    // Walking backwards, the first `per_class` samples met of each class are its last ones.
    let mut left = vec![per_class; classes];
    let mut held = vec![false; n];
    for i in (0..n).rev() {
        let y = labels[i] as usize;
        if left[y] > 0 {
            left[y] -= 1;
            held[i] = true;
        }
    }
    let mut counts = vec![0usize; classes];
    for &y in &labels {
        counts[y as usize] += 1;
    }
    if let Some(y) = counts.iter().position(|&c| c > 0 && c <= per_class) {
        return Err(TrainError::Model(format!(
            "class {y} has {} samples: holding out {per_class} leaves none to train on",
            counts[y]
        )));
    }
    let mut parts = [(Vec::new(), Vec::new()), (Vec::new(), Vec::new())];
    for (i, row) in values.chunks_exact(per_sample).enumerate() {
        let (x, y) = &mut parts[usize::from(held[i])];
        x.extend_from_slice(row);
        y.push(labels[i]);
    }
    let kind = dataset.kind();
    let [(train_x, train_y), (test_x, test_y)] = parts;
    Ok((
        ArrayDataset::new(train_x, shape.clone(), Some(train_y), kind),
        ArrayDataset::new(test_x, shape, Some(test_y), kind),
    ))
}
