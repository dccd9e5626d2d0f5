//! `mnist:DIR`: MNIST in LeCun's IDX format (raw or gzip), as distributed at
//! yann.lecun.com/exdb/mnist and its mirrors.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{DataError, PixelDataset, Split};

/// IDX magic of an unsigned-byte array of rank 3 (images): 0x00000803.
pub const IDX_IMAGES_MAGIC: u32 = 2051;
/// IDX magic of an unsigned-byte array of rank 1 (labels): 0x00000801.
pub const IDX_LABELS_MAGIC: u32 = 2049;

/// File names tried for each split, in order, each raw and then with `.gz`. The dotted forms
/// are those of common re-uploads (e.g. Kaggle); the unprefixed pair is how subsets such as
/// `../shared/data/mnist-5k` name themselves and counts as the training split.
const TRAIN_NAMES: [(&str, &str); 3] = [
    ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
    ("images-idx3-ubyte", "labels-idx1-ubyte"),
];
const TEST_NAMES: [(&str, &str); 2] = [
    ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    ("t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"),
];

/// The MNIST images of `dir` for `split` (`All`: training then test images), shape
/// `[1, rows, cols]` (28 × 28 for MNIST; any positive size is accepted so Fashion-MNIST and
/// small synthetic files read too), pixels scaled by x/127.5 − 1, 10 classes.
///
/// Files are looked up by their standard names (`train-images-idx3-ubyte`,
/// `t10k-labels-idx1-ubyte`, …, optionally `.gz`; a file is gzip when it starts with the
/// bytes 1f 8b, whatever its name). Checked, each an error naming the file: the magic numbers
/// (2051 images, 2049 labels), positive dimensions, the length announced by the header (a
/// shorter file is [`DataError::Truncated`], a longer one a [`DataError::Format`]), equal image
/// and label counts ([`DataError::CountMismatch`]) and labels ≤ 9.
pub fn mnist_dataset(dir: &Path, split: Split) -> Result<PixelDataset, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.to_owned(),
            what: "MNIST directory".into(),
        });
    }
    match split {
        Split::Train => read_split(dir, &TRAIN_NAMES, "training"),
        Split::Test => read_split(dir, &TEST_NAMES, "test"),
        Split::All => {
            let mut all = read_split(dir, &TRAIN_NAMES, "training")?;
            all.extend(read_split(dir, &TEST_NAMES, "test")?);
            Ok(all)
        }
    }
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_owned(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

fn read_split(dir: &Path, names: &[(&str, &str)], which: &str) -> Result<PixelDataset, DataError> {
    let pair = names.iter().find_map(|&(images, labels)| {
        find(dir, images).map(|path| (path, labels, find(dir, labels)))
    });
    let Some((images_path, labels_name, labels_path)) = pair else {
        return Err(DataError::Missing {
            path: dir.to_owned(),
            what: format!("MNIST {which} images ({}[.gz])", names[0].0),
        });
    };
    let Some(labels_path) = labels_path else {
        return Err(DataError::Missing {
            path: dir.join(labels_name),
            what: format!("MNIST {which} labels[.gz] for {}", images_path.display()),
        });
    };

    let images = read_idx(&images_path, IDX_IMAGES_MAGIC, "IDX unsigned-byte images")?;
    let labels = read_idx(&labels_path, IDX_LABELS_MAGIC, "IDX unsigned-byte labels")?;
    let (n_images, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    let n_labels = labels.dims[0];
    if n_images != n_labels {
        return Err(DataError::CountMismatch {
            images_path,
            images: n_images,
            labels_path,
            labels: n_labels,
        });
    }
    if let Some(i) = labels.data.iter().position(|&l| l > 9) {
        return Err(DataError::format(
            &labels_path,
            format!("label {i} is {}; MNIST labels are 0..=9", labels.data[i]),
        ));
    }
    let labels = labels.data.iter().map(|&l| u32::from(l)).collect();
    Ok(PixelDataset::new(
        images.data,
        [1, rows, cols],
        Some((labels, 10)),
    ))
}

/// An IDX array of unsigned bytes: its dimensions and payload.
struct Idx {
    dims: Vec<usize>,
    data: Vec<u8>,
}

/// Reads and checks an unsigned-byte IDX file (LeCun's format: a big-endian u32 magic
/// 0x000008NN, NN the rank, then NN big-endian u32 dimensions, then the bytes).
fn read_idx(path: &Path, magic: u32, what: &'static str) -> Result<Idx, DataError> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| {
                DataError::format(path, format!("corrupt or truncated gzip stream: {e}"))
            })?;
        out
    } else {
        raw
    };
    let truncated = |expected: usize| DataError::Truncated {
        path: path.to_owned(),
        expected: expected as u64,
        found: bytes.len() as u64,
    };
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    let found = word(0);
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_owned(),
            found,
            expected: magic,
            what,
        });
    }
    let rank = (magic & 0xff) as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(truncated(header));
    }
    let dims: Vec<usize> = (0..rank).map(|k| word(4 + 4 * k) as usize).collect();
    if dims.contains(&0) {
        return Err(DataError::format(
            path,
            format!("IDX dimensions {dims:?} hold no data"),
        ));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|payload| payload.checked_add(header))
        .ok_or_else(|| DataError::format(path, format!("IDX dimensions {dims:?} overflow")))?;
    if bytes.len() < expected {
        return Err(truncated(expected));
    }
    if bytes.len() > expected {
        return Err(DataError::format(
            path,
            format!(
                "{} bytes after the {expected} its header announces (dimensions {dims:?})",
                bytes.len() - expected
            ),
        ));
    }
    let mut data = bytes;
    data.drain(..header);
    Ok(Idx { dims, data })
}
