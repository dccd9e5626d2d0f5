//! Training data, host-side: datasets of f32 samples of one fixed shape, and a deterministic
//! loader. Nothing here knows burn; the training loop uploads each [`Batch`].
//!
//! - [`open`] turns a [`DataSpec`] (`npy:FILE`, `mnist:DIR`, `cifar10:DIR`, `images:DIR`,
//!   `toy:NAME`, `mixture:NAME|FILE.json`) and [`DataOptions`] into a [`Dataset`].
//! - [`Loader`] reads batches in an order that is a function of (seed, epoch) only, on a
//!   worker thread, and can start at any (epoch, position) for an exact resume.
//!
//! Scaling: images (MNIST, CIFAR-10, folders) are mapped to [−1, 1] by x/127.5 − 1; toys,
//! mixtures and `.npy` arrays are used as they are.
//!
//! Every failure is one [`DataError`] whose message is a single line naming the file (or the
//! spec) and the problem.

mod array;
mod cifar10;
mod error;
mod image_folder;
mod loader;
mod mixture;
mod mnist;
mod moments;
mod npy;
mod pixels;
mod random;
mod spec;
mod toy;

use std::path::PathBuf;

pub use array::ArrayDataset;
pub use cifar10::{CIFAR10_RECORD, cifar10_dataset};
pub use error::DataError;
pub use image_folder::{image_folder_dataset, read_image};
pub use loader::{Batch, Loader, PREFETCH, epoch_permutation, flip_mask};
pub use mixture::mixture_dataset;
pub use mnist::{IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, mnist_dataset};
pub use moments::{MOMENTS_MAX_DIM, MOMENTS_MAX_SAMPLES, data_moments};
pub use npy::npy_dataset;
pub use pixels::{PixelDataset, scale_pixel};
pub use spec::DataSpec;
pub use toy::Toy;

/// A finite dataset of samples of one fixed shape, f32, already scaled (images to [−1, 1]).
///
/// `Send + Sync` so that a [`Loader`]'s worker thread can read it through an `Arc`.
pub trait Dataset: Send + Sync {
    /// Number of samples N.
    fn len(&self) -> usize;

    /// Whether N = 0 (never, for datasets from [`open`]).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one sample: `[d]` for points (`[2]` for toys), `[C, H, W]` for images
    /// (`[1, 28, 28]` MNIST, `[3, 32, 32]` CIFAR-10).
    fn sample_shape(&self) -> &[usize];

    /// Number of classes when samples are labelled (`Some(10)` for MNIST and CIFAR-10), labels
    /// then lying in `0..classes`; `None` for unlabelled data.
    fn num_classes(&self) -> Option<usize>;

    /// Writes sample `index` into `out` (whose length must be the product of
    /// [`Self::sample_shape`]) and returns its label. An index ≥ N or a buffer of the wrong
    /// length is [`DataError::Read`].
    fn read(&self, index: usize, out: &mut [f32]) -> Result<Option<u32>, DataError>;

    /// Whether samples are points (vectors) or images `[C, H, W]`: decides scatter plots
    /// against image grids, and whether bits/dim applies.
    fn kind(&self) -> DataKind;
}

/// What a sample is, for plotting and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// Vectors, e.g. 2-D toys and mixtures.
    Points,
    /// Images `[C, H, W]`, values in [−1, 1].
    Images,
}

/// Which part of a dataset with a train/test division (MNIST, CIFAR-10) to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Split {
    /// The training set (MNIST `train-*`, CIFAR-10 `data_batch_1..5.bin`).
    #[default]
    Train,
    /// The test set (MNIST `t10k-*`, CIFAR-10 `test_batch.bin`).
    Test,
    /// Training then test samples, as one dataset.
    All,
}

/// How [`open`] materialises a spec. An option that does not apply to the spec (labels for a
/// toy, an image size for MNIST, a test split of a folder) is [`DataError::Option`] rather than
/// silently ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataOptions {
    /// Number of points a `toy:` or `mixture:` dataset is drawn with (≥ 1). Default 100,000.
    pub toy_points: usize,
    /// For `images:DIR`: resize so the short side is this, then centre-crop to a square.
    /// `None`: all images must already have one size.
    pub image_size: Option<u32>,
    /// Seed of the `toy:`/`mixture:` draws (independent of the loader's seed).
    pub seed: u64,
    /// For `npy:FILE`: a second `.npy` holding one integer label per sample.
    pub labels: Option<PathBuf>,
    /// For `mnist:` and `cifar10:`: which split.
    pub split: Split,
}

impl Default for DataOptions {
    fn default() -> Self {
        Self {
            toy_points: 100_000,
            image_size: None,
            seed: 0,
            labels: None,
            split: Split::Train,
        }
    }
}

impl DataOptions {
    fn check(&self, spec: &DataSpec) -> Result<(), DataError> {
        let problem = |problem: &str| {
            Err(DataError::Option {
                spec: spec.to_string(),
                problem: problem.to_owned(),
            })
        };
        let drawn = matches!(spec, DataSpec::Toy(_) | DataSpec::Mixture(_));
        if drawn && self.toy_points == 0 {
            return problem("the number of points to draw must be at least 1");
        }
        if self.labels.is_some() && !matches!(spec, DataSpec::Npy(_)) {
            return problem("a labels file applies only to npy:FILE");
        }
        if self.image_size.is_some() && !matches!(spec, DataSpec::Images(_)) {
            return problem("an image size applies only to images:DIR");
        }
        if self.split != Split::Train && !matches!(spec, DataSpec::Mnist(_) | DataSpec::Cifar10(_))
        {
            return problem("a split applies only to mnist:DIR and cifar10:DIR");
        }
        Ok(())
    }
}

/// Opens the dataset `spec` describes (see [`DataSpec`] for the kinds and the functions each
/// calls for the formats and checks). For a [`Loader`], share it with `Arc::from(open(..)?)`.
pub fn open(spec: &DataSpec, options: &DataOptions) -> Result<Box<dyn Dataset>, DataError> {
    options.check(spec)?;
    Ok(match spec {
        DataSpec::Npy(path) => Box::new(npy_dataset(path, options.labels.as_deref())?),
        DataSpec::Mnist(dir) => Box::new(mnist_dataset(dir, options.split)?),
        DataSpec::Cifar10(dir) => Box::new(cifar10_dataset(dir, options.split)?),
        DataSpec::Images(dir) => Box::new(image_folder_dataset(dir, options.image_size)?),
        DataSpec::Toy(toy) => Box::new(toy.dataset(options.toy_points, options.seed)),
        DataSpec::Mixture(m) => Box::new(mixture_dataset(m, options.toy_points, options.seed)?),
    })
}

/// The checks every [`Dataset::read`] makes before copying.
fn check_read<D: Dataset + ?Sized>(
    dataset: &D,
    index: usize,
    out: &[f32],
) -> Result<(), DataError> {
    let n = dataset.len();
    if index >= n {
        return Err(DataError::Read {
            problem: format!("index {index} of a dataset of {n} samples"),
        });
    }
    let len: usize = dataset.sample_shape().iter().product();
    if out.len() != len {
        return Err(DataError::Read {
            problem: format!(
                "buffer of {} values for a sample of shape {:?} ({len} values)",
                out.len(),
                dataset.sample_shape()
            ),
        });
    }
    Ok(())
}
