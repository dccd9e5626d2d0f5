//! Errors of the data module: one type for every way a dataset or a loader can fail.

use std::path::PathBuf;

use scoreflow_score_matching::analytic::MixtureError;
use thiserror::Error;

/// Why a dataset could not be opened or read, or a loader could not run.
///
/// Every message is a single line that names the file (or the spec) and what is wrong with it,
/// so the CLI can print it as is.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// The data SPEC string does not parse.
    #[error("invalid data spec {spec:?}: {problem}")]
    Spec {
        /// The text given.
        spec: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A [`DataOptions`](super::DataOptions) field does not apply to the spec, or is out of range.
    #[error("invalid data option for {spec}: {problem}")]
    Option {
        /// The spec the options were given with.
        spec: String,
        /// What is wrong.
        problem: String,
    },
    /// `toy:NAME` with a name that is not a toy.
    #[error("unknown toy dataset {name:?}; known toys: {}", .known.join(", "))]
    UnknownToy {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<&'static str>,
    },
    /// `mixture:NAME|FILE.json` could not be built.
    #[error("mixture {spec}: {source}")]
    Mixture {
        /// The builtin name or file given.
        spec: String,
        /// Why the mixture was rejected.
        source: MixtureError,
    },
    /// A file or directory that should exist does not.
    #[error("{}: {what} not found", .path.display())]
    Missing {
        /// The path that was tried.
        path: PathBuf,
        /// What was expected there (e.g. "directory", "MNIST training images
        /// (train-images-idx3-ubyte[.gz])").
        what: String,
    },
    /// Reading a file failed at the operating-system level.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A binary file starts with the wrong magic number (IDX).
    #[error("{}: wrong magic number {found:#010x} (expected {expected:#010x}, {what})", .path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number read.
        found: u32,
        /// The magic number required.
        expected: u32,
        /// What the expected number stands for.
        what: &'static str,
    },
    /// A file is shorter than its header says.
    #[error(
        "{}: truncated: the header announces {expected} bytes but the file has {found}",
        .path.display()
    )]
    Truncated {
        /// The file (for gzip files, the length is that of the decompressed stream).
        path: PathBuf,
        /// Length implied by the header.
        expected: u64,
        /// Length found.
        found: u64,
    },
    /// An image file and its label file disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        /// The image file.
        images_path: PathBuf,
        /// Number of images.
        images: usize,
        /// The label file.
        labels_path: PathBuf,
        /// Number of labels.
        labels: usize,
    },
    /// A file is structurally wrong in a way the other variants do not cover (bad dimensions,
    /// record sizes, trailing bytes, labels out of range, …).
    #[error("{}: {problem}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A `.npy` array of an element type other than float32/float64 (or, for labels, an integer
    /// type).
    #[error("{}: unsupported dtype {dtype}; {expected}", .path.display())]
    Dtype {
        /// The file.
        path: PathBuf,
        /// numpy's type descriptor as found in the header, e.g. `'<i8'`.
        dtype: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// An array of the wrong rank (a data array of rank < 2, a label array of rank ≠ 1).
    #[error("{}: array of shape {shape:?} has rank {}; {expected}", .path.display(), .shape.len())]
    Rank {
        /// The file.
        path: PathBuf,
        /// The shape found.
        shape: Vec<usize>,
        /// What is accepted.
        expected: &'static str,
    },
    /// An image file could not be decoded.
    #[error("{}: cannot decode image: {message}", .path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// The decoder's message, on one line.
        message: String,
    },
    /// Images of an `images:DIR` folder differ in size and no `image_size` was given.
    #[error(
        "{}: image is {}x{} but the first image is {}x{}; give an image size to resize and crop",
        .path.display(), .found.0, .found.1, .expected.0, .expected.1
    )]
    ImageSize {
        /// The image that differs.
        path: PathBuf,
        /// Width × height of the first image.
        expected: (u32, u32),
        /// Width × height of this one.
        found: (u32, u32),
    },
    /// A folder holds no usable files.
    #[error("{}: folder is empty (no {what})", .path.display())]
    EmptyFolder {
        /// The folder.
        path: PathBuf,
        /// What was looked for.
        what: &'static str,
    },
    /// [`Dataset::read`](super::Dataset::read) was asked for an index past the end or given a
    /// buffer of the wrong length.
    #[error("dataset read out of range: {problem}")]
    Read {
        /// What was wrong with the request.
        problem: String,
    },
    /// A [`Loader`](super::Loader) was configured inconsistently (batch of 0, larger than the
    /// dataset, flips on non-image data).
    #[error("invalid loader configuration: {problem}")]
    Loader {
        /// What is wrong.
        problem: String,
    },
    /// The loader's worker thread stopped (after an earlier error, or it panicked).
    #[error("the data loader's worker thread stopped{}", .reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    LoaderStopped {
        /// What is known of why.
        reason: Option<String>,
    },
    /// The data's mean and covariance could not be formed (non-finite values).
    #[error("the data's moments: {0}")]
    Moments(String),
}

impl DataError {
    /// An I/O error on `path`, turned into [`DataError::Missing`] when the file is absent so
    /// that "not found" reads the same whichever reader met it.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::Missing {
                path,
                what: "file".into(),
            }
        } else {
            DataError::Io { path, source }
        }
    }

    /// A [`DataError::Format`] on `path`.
    pub(crate) fn format(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// Collapses line breaks: decoders' messages sometimes span lines, and every DataError must
/// print as one.
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
