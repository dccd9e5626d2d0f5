//! Malformed input, one case per test, through `open`: each must be the right `DataError`
//! variant, printed as one line that names the file (or spec) and the problem.

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use image::{Rgb, RgbImage};
use ndarray::{Array1, Array2};
use ndarray_npy::write_npy;
use scoreflow_train::data::{DataError, DataOptions, DataSpec, Split, open};

/// Opens `spec` with `options`, expecting an error.
fn open_err(spec: &str, options: &DataOptions) -> DataError {
    let spec: DataSpec = spec.parse().expect("the spec itself is valid");
    match open(&spec, options) {
        Ok(ds) => panic!("{spec} opened ({} samples) but should fail", ds.len()),
        Err(e) => e,
    }
}

/// The message is one line and mentions every one of `needles`.
fn assert_message(err: &DataError, needles: &[&str]) {
    let message = err.to_string();
    assert!(!message.contains('\n'), "multi-line message: {message:?}");
    for needle in needles {
        assert!(
            message.contains(needle),
            "{message:?} does not mention {needle:?}"
        );
    }
    eprintln!("{message}");
}

fn write_idx(path: &Path, magic: u32, dims: &[u32], payload: &[u8], gzip: bool) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(payload);
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&bytes).unwrap();
        bytes = encoder.finish().unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

fn mnist_spec(dir: &Path) -> String {
    format!("mnist:{}", dir.display())
}

#[test]
fn truncated_idx_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    // The header announces 5 images of 4×3 = 60 bytes; 50 follow.
    write_idx(
        &dir.path().join("train-images-idx3-ubyte.gz"),
        2051,
        &[5, 4, 3],
        &[7; 50],
        true,
    );
    write_idx(
        &dir.path().join("train-labels-idx1-ubyte"),
        2049,
        &[5],
        &[1; 5],
        false,
    );
    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(
        matches!(
            err,
            DataError::Truncated {
                expected: 76,
                found: 66,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &["train-images-idx3-ubyte.gz", "truncated"]);
}

#[test]
fn wrong_idx_magic_is_bad_magic() {
    let dir = tempfile::tempdir().unwrap();
    // A label file where the images should be.
    write_idx(
        &dir.path().join("train-images-idx3-ubyte"),
        2049,
        &[5],
        &[1; 5],
        false,
    );
    write_idx(
        &dir.path().join("train-labels-idx1-ubyte"),
        2049,
        &[5],
        &[1; 5],
        false,
    );
    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 2049,
                expected: 2051,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &["train-images-idx3-ubyte", "magic", "0x00000803"]);
}

#[test]
fn image_and_label_counts_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    write_idx(
        &dir.path().join("train-images-idx3-ubyte"),
        2051,
        &[5, 2, 2],
        &[0; 20],
        false,
    );
    write_idx(
        &dir.path().join("train-labels-idx1-ubyte"),
        2049,
        &[4],
        &[1; 4],
        false,
    );
    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 5,
                labels: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(
        &err,
        &[
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "5 images",
            "4 labels",
        ],
    );
}

#[test]
fn mnist_label_above_nine_and_trailing_bytes_are_format_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_idx(
        &dir.path().join("train-images-idx3-ubyte"),
        2051,
        &[2, 2, 2],
        &[0; 8],
        false,
    );
    write_idx(
        &dir.path().join("train-labels-idx1-ubyte"),
        2049,
        &[2],
        &[1, 12],
        false,
    );
    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(matches!(err, DataError::Format { .. }), "{err:?}");
    assert_message(&err, &["train-labels-idx1-ubyte", "12"]);

    write_idx(
        &dir.path().join("train-labels-idx1-ubyte"),
        2049,
        &[2],
        &[1, 2, 3],
        false,
    );
    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(matches!(err, DataError::Format { .. }), "{err:?}");
    assert_message(&err, &["train-labels-idx1-ubyte", "1 bytes after"]);
}

#[test]
fn missing_mnist_files_and_directories_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_err(
        &mnist_spec(&dir.path().join("nope")),
        &DataOptions::default(),
    );
    assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
    assert_message(&err, &["nope", "not found"]);

    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
    assert_message(&err, &["train-images-idx3-ubyte"]);

    write_idx(
        &dir.path().join("train-images-idx3-ubyte"),
        2051,
        &[1, 1, 1],
        &[0],
        false,
    );
    let err = open_err(&mnist_spec(dir.path()), &DataOptions::default());
    assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
    assert_message(&err, &["train-labels-idx1-ubyte"]);

    let test = DataOptions {
        split: Split::Test,
        ..DataOptions::default()
    };
    let err = open_err(&mnist_spec(dir.path()), &test);
    assert_message(&err, &["t10k-images-idx3-ubyte"]);
}

#[test]
fn cifar_record_length_and_labels_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data_batch_1.bin");
    std::fs::write(&file, vec![0u8; 3073 * 2 - 1]).unwrap();
    let spec = format!("cifar10:{}", dir.path().display());
    let err = open_err(&spec, &DataOptions::default());
    assert!(matches!(err, DataError::Format { .. }), "{err:?}");
    assert_message(&err, &["data_batch_1.bin", "6145", "3073"]);

    let mut bytes = vec![0u8; 3073 * 2];
    bytes[3073] = 10;
    std::fs::write(&file, bytes).unwrap();
    let err = open_err(&spec, &DataOptions::default());
    assert!(matches!(err, DataError::Format { .. }), "{err:?}");
    assert_message(&err, &["data_batch_1.bin", "record 1", "label 10"]);
}

#[test]
fn corrupt_png_is_an_image_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    RgbImage::from_pixel(2, 2, Rgb([1, 2, 3]))
        .save(dir.path().join("good.png"))
        .unwrap();
    // Bytes from a fixed xorshift, so the test is the same on every run.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let junk: Vec<u8> = (0..300)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(dir.path().join("broken.png"), junk).unwrap();
    let err = open_err(
        &format!("images:{}", dir.path().display()),
        &DataOptions::default(),
    );
    assert!(matches!(err, DataError::Image { .. }), "{err:?}");
    assert_message(&err, &["broken.png", "cannot decode"]);
}

#[test]
fn images_of_different_sizes_need_an_image_size() {
    let dir = tempfile::tempdir().unwrap();
    RgbImage::new(4, 4).save(dir.path().join("a.png")).unwrap();
    RgbImage::new(5, 4).save(dir.path().join("b.png")).unwrap();
    let spec = format!("images:{}", dir.path().display());
    let err = open_err(&spec, &DataOptions::default());
    assert!(
        matches!(
            err,
            DataError::ImageSize {
                expected: (4, 4),
                found: (5, 4),
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, &["b.png", "5x4", "4x4"]);
    // With a size both are brought to it.
    let options = DataOptions {
        image_size: Some(3),
        ..DataOptions::default()
    };
    let ds = open(&spec.parse().unwrap(), &options).unwrap();
    assert_eq!((ds.len(), ds.sample_shape()), (2, &[3usize, 3, 3][..]));
}

#[test]
fn empty_image_folder_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("readme.txt"), "no images here").unwrap();
    let err = open_err(
        &format!("images:{}", dir.path().display()),
        &DataOptions::default(),
    );
    assert!(matches!(err, DataError::EmptyFolder { .. }), "{err:?}");
    assert_message(&err, &[&dir.path().display().to_string(), "empty"]);
}

#[test]
fn npy_of_int64_is_a_dtype_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ints.npy");
    write_npy(&path, &Array2::<i64>::zeros((3, 2))).unwrap();
    let err = open_err(&format!("npy:{}", path.display()), &DataOptions::default());
    assert!(matches!(err, DataError::Dtype { .. }), "{err:?}");
    assert_message(&err, &["ints.npy", "<i8", "float32"]);

    let path = dir.path().join("bools.npy");
    write_npy(&path, &Array2::from_elem((3, 2), true)).unwrap();
    let err = open_err(&format!("npy:{}", path.display()), &DataOptions::default());
    assert!(matches!(err, DataError::Dtype { .. }), "{err:?}");
    assert_message(&err, &["bools.npy", "|b1"]);
}

#[test]
fn npy_of_rank_one_is_a_rank_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.npy");
    write_npy(&path, &Array1::<f32>::zeros(7)).unwrap();
    let err = open_err(&format!("npy:{}", path.display()), &DataOptions::default());
    assert!(matches!(err, DataError::Rank { .. }), "{err:?}");
    assert_message(&err, &["flat.npy", "[7]", "rank 1"]);
}

#[test]
fn npy_truncated_missing_and_bad_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    write_npy(&path, &Array2::<f32>::zeros((4, 2))).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.npy");
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let err = open_err(&format!("npy:{}", cut.display()), &DataOptions::default());
    assert!(matches!(err, DataError::Format { .. }), "{err:?}");
    assert_message(&err, &["cut.npy", "truncated"]);

    let err = open_err(
        &format!("npy:{}", dir.path().join("absent.npy").display()),
        &DataOptions::default(),
    );
    assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
    assert_message(&err, &["absent.npy", "not found"]);

    let labels = dir.path().join("y.npy");
    write_npy(&labels, &Array1::<i32>::zeros(3)).unwrap();
    let options = DataOptions {
        labels: Some(labels.clone()),
        ..DataOptions::default()
    };
    let err = open_err(&format!("npy:{}", path.display()), &options);
    assert!(matches!(err, DataError::Format { .. }), "{err:?}");
    assert_message(&err, &["y.npy", "3 labels for 4 samples"]);

    write_npy(&labels, &Array1::<f32>::zeros(4)).unwrap();
    let err = open_err(&format!("npy:{}", path.display()), &options);
    assert!(matches!(err, DataError::Dtype { .. }), "{err:?}");
    assert_message(&err, &["y.npy", "<f4", "integer"]);

    write_npy(&labels, &Array1::from(vec![0i64, -1, 2, 3])).unwrap();
    let err = open_err(&format!("npy:{}", path.display()), &options);
    assert_message(&err, &["y.npy", "label 1 is -1"]);
}

#[test]
fn unknown_toy_lists_the_known_ones() {
    let err = "toy:banana".parse::<DataSpec>().unwrap_err();
    assert!(matches!(err, DataError::UnknownToy { .. }), "{err:?}");
    assert_message(
        &err,
        &[
            "banana",
            "moons",
            "circles",
            "8gaussians",
            "checkerboard",
            "swissroll",
            "pinwheel",
            "2spirals",
        ],
    );
}

#[test]
fn bad_spec_syntax_is_a_spec_error() {
    for (text, needle) in [
        ("mnist", "KIND:VALUE"),
        ("npy:", "nothing after"),
        ("hdf5:x.h5", "unknown kind \"hdf5\""),
        ("", "KIND:VALUE"),
    ] {
        let err = text.parse::<DataSpec>().unwrap_err();
        assert!(matches!(err, DataError::Spec { .. }), "{text}: {err:?}");
        assert_message(&err, &[needle]);
    }
}

#[test]
fn unknown_mixture_is_a_mixture_error() {
    let err = open_err("mixture:ring9", &DataOptions::default());
    assert!(matches!(err, DataError::Mixture { .. }), "{err:?}");
    assert_message(&err, &["ring9", "ring8"]);
}

#[test]
fn options_that_do_not_apply_are_refused() {
    let labels = DataOptions {
        labels: Some("y.npy".into()),
        ..DataOptions::default()
    };
    let err = open_err("toy:moons", &labels);
    assert!(matches!(err, DataError::Option { .. }), "{err:?}");
    assert_message(&err, &["toy:moons", "labels"]);
    let size = DataOptions {
        image_size: Some(32),
        ..DataOptions::default()
    };
    assert!(matches!(
        open_err("mnist:/x", &size),
        DataError::Option { .. }
    ));
    let none = DataOptions {
        toy_points: 0,
        ..DataOptions::default()
    };
    assert!(matches!(
        open_err("mixture:ring8", &none),
        DataError::Option { .. }
    ));
    let split = DataOptions {
        split: Split::Test,
        ..DataOptions::default()
    };
    assert!(matches!(
        open_err("toy:moons", &split),
        DataError::Option { .. }
    ));
}
