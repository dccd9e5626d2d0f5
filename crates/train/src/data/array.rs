//! [`ArrayDataset`]: samples held in memory as f32, used as they are.

use super::{DataError, DataKind, Dataset, check_read};

/// A dataset held in memory as one row-major f32 buffer `[N, …sample_shape]`, with optional
/// labels. Toys, mixtures and `.npy` arrays materialise into this; [`Dataset::read`] copies a
/// row and applies no scaling.
#[derive(Debug, Clone)]
pub struct ArrayDataset {
    data: Vec<f32>,
    shape: Vec<usize>,
    sample_len: usize,
    labels: Option<Vec<u32>>,
    num_classes: Option<usize>,
    kind: DataKind,
}

impl ArrayDataset {
    /// Wraps `data` (row-major, `data.len()` a multiple of the product of `sample_shape`).
    ///
    /// `labels`, when given, must hold one label per sample; the number of classes is then the
    /// largest label + 1.
    ///
    /// # Panics
    /// If `sample_shape` has a zero dimension, `data` is not a whole number of samples, or the
    /// label count differs from the sample count: these are programming errors, since every
    /// reader in this module validates user files before building one.
    pub fn new(
        data: Vec<f32>,
        sample_shape: Vec<usize>,
        labels: Option<Vec<u32>>,
        kind: DataKind,
    ) -> Self {
        let sample_len: usize = sample_shape.iter().product();
        assert!(
            sample_len > 0,
            "sample shape {sample_shape:?} has no elements"
        );
        assert_eq!(
            data.len() % sample_len,
            0,
            "data of length {} is not a whole number of samples of shape {sample_shape:?}",
            data.len()
        );
        let n = data.len() / sample_len;
        if let Some(labels) = &labels {
            assert_eq!(labels.len(), n, "{} labels for {n} samples", labels.len());
        }
        let num_classes = labels
            .as_ref()
            .map(|l| l.iter().max().map_or(0, |&m| m as usize + 1));
        Self {
            data,
            shape: sample_shape,
            sample_len,
            labels,
            num_classes,
            kind,
        }
    }

    /// The whole buffer, row-major `[N, …sample_shape]`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The labels, one per sample, if any.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }
}

impl Dataset for ArrayDataset {
    fn len(&self) -> usize {
        self.data.len() / self.sample_len
    }

    fn sample_shape(&self) -> &[usize] {
        &self.shape
    }

    fn num_classes(&self) -> Option<usize> {
        self.num_classes
    }

    fn read(&self, index: usize, out: &mut [f32]) -> Result<Option<u32>, DataError> {
        check_read(self, index, out)?;
        let start = index * self.sample_len;
        out.copy_from_slice(&self.data[start..start + self.sample_len]);
        Ok(self.labels.as_ref().map(|l| l[index]))
    }

    fn kind(&self) -> DataKind {
        self.kind
    }
}
