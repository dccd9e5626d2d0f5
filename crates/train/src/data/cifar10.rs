//! `cifar10:DIR`: CIFAR-10's binary version (Krizhevsky 2009, `cifar-10-binary.tar.gz` from
//! cs.toronto.edu/~kriz/cifar.html).

use std::path::{Path, PathBuf};

use super::{DataError, PixelDataset, Split};

/// Bytes of one record: 1 label byte, then 3 × 32 × 32 pixel bytes, red plane, green plane,
/// blue plane, each row-major — already the CHW layout of a sample.
pub const CIFAR10_RECORD: usize = 1 + 3 * 32 * 32;

/// The folder the archive unpacks to; looked for inside DIR when DIR itself holds no batches.
const ARCHIVE_FOLDER: &str = "cifar-10-batches-bin";

/// The CIFAR-10 images of `dir` for `split`: the training batches `data_batch_1.bin` …
/// `data_batch_5.bin` (those present, in order; at least one), `test_batch.bin`, or both
/// (`All`: training then test). DIR may also be the folder that contains
/// `cifar-10-batches-bin/`. Shape `[3, 32, 32]`, pixels scaled by x/127.5 − 1, 10 classes.
///
/// A file whose length is not a positive multiple of 3073 bytes, or a label > 9, is a
/// [`DataError::Format`] naming the file (and the record).
pub fn cifar10_dataset(dir: &Path, split: Split) -> Result<PixelDataset, DataError> {
    if !dir.is_dir() {
        return Err(DataError::Missing {
            path: dir.to_owned(),
            what: "CIFAR-10 directory".into(),
        });
    }
    let dir = if has_batches(dir) || !dir.join(ARCHIVE_FOLDER).is_dir() {
        dir.to_owned()
    } else {
        dir.join(ARCHIVE_FOLDER)
    };
    let train = || -> Result<Vec<PathBuf>, DataError> {
        let files: Vec<PathBuf> = (1..=5)
            .map(|k| dir.join(format!("data_batch_{k}.bin")))
            .filter(|p| p.is_file())
            .collect();
        if files.is_empty() {
            return Err(DataError::Missing {
                path: dir.clone(),
                what: "CIFAR-10 training batches (data_batch_1.bin … data_batch_5.bin)".into(),
            });
        }
        Ok(files)
    };
    let test = || -> Result<Vec<PathBuf>, DataError> {
        let file = dir.join("test_batch.bin");
        if !file.is_file() {
            return Err(DataError::Missing {
                path: file,
                what: "CIFAR-10 test batch".into(),
            });
        }
        Ok(vec![file])
    };
    let files = match split {
        Split::Train => train()?,
        Split::Test => test()?,
        Split::All => {
            let mut files = train()?;
            files.extend(test()?);
            files
        }
    };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for file in &files {
        read_batch(file, &mut pixels, &mut labels)?;
    }
    Ok(PixelDataset::new(pixels, [3, 32, 32], Some((labels, 10))))
}

fn has_batches(dir: &Path) -> bool {
    dir.join("data_batch_1.bin").is_file() || dir.join("test_batch.bin").is_file()
}

/// Appends the records of one batch file.
fn read_batch(path: &Path, pixels: &mut Vec<u8>, labels: &mut Vec<u32>) -> Result<(), DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if bytes.is_empty() || bytes.len() % CIFAR10_RECORD != 0 {
        return Err(DataError::format(
            path,
            format!(
                "length {} is not a positive multiple of the {CIFAR10_RECORD}-byte CIFAR-10 record \
                 (1 label + 3072 pixels)",
                bytes.len()
            ),
        ));
    }
    pixels.reserve(bytes.len() / CIFAR10_RECORD * (CIFAR10_RECORD - 1));
    for (i, record) in bytes.chunks_exact(CIFAR10_RECORD).enumerate() {
        let label = record[0];
        if label > 9 {
            return Err(DataError::format(
                path,
                format!("record {i} has label {label}; CIFAR-10 labels are 0..=9"),
            ));
        }
        labels.push(u32::from(label));
        pixels.extend_from_slice(&record[1..]);
    }
    Ok(())
}
