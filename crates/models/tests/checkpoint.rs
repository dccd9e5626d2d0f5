//! Checkpoints: bit-exact round trip, typed errors naming the file for every kind of damage, and
//! atomic replacement (an interrupted save leaves the previous checkpoint loadable).

use std::fs;
use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::{Device, TensorData};
use burn::tensor::Tensor;
use scoreflow_models::checkpoint::{self, CheckpointError, CheckpointMeta, HEADER_LEN};

#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    lin: Linear,
}

impl Net {
    fn new(hidden: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([2, 3], [3, 3]).init(device),
            lin: LinearConfig::new(4, hidden).init(device),
        }
    }
}

fn device() -> Device {
    Device::flex()
}

/// Every float parameter's data (dtype, shape and bytes), in traversal order.
fn params(model: &impl Module) -> Vec<TensorData> {
    struct V(Vec<TensorData>);
    impl ModuleVisitor for V {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.push(p.val().to_data());
        }
    }
    let mut v = V(Vec::new());
    model.visit(&mut v);
    v.0
}

fn assert_bit_exact(a: &impl Module, b: &impl Module) {
    let (pa, pb) = (params(a), params(b));
    assert_eq!(pa.len(), pb.len());
    assert!(!pa.is_empty());
    for (x, y) in pa.iter().zip(&pb) {
        assert_eq!(x.dtype(), y.dtype());
        assert_eq!(x.shape(), y.shape());
        assert_eq!(x.as_bytes(), y.as_bytes(), "parameter bytes differ");
    }
}

fn meta(step: u64) -> CheckpointMeta {
    CheckpointMeta {
        step,
        nimg: step * 512,
        config: Some(serde_json::json!({"lr": 1e-4, "channels": [64, 128], "name": "tiny"})),
        sections: Vec::new(),
    }
}

/// The error must name the file, both structurally and in its message.
fn assert_names(err: &CheckpointError, path: &Path) {
    assert_eq!(err.path(), path, "{err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn save_then_load_is_bit_exact() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    let net = Net::new(5, &dev);
    checkpoint::save(&net, &meta(7), &path).unwrap();

    let fresh = Net::new(5, &dev);
    assert_ne!(params(&fresh)[0].as_bytes(), params(&net)[0].as_bytes());
    let (loaded, m) = checkpoint::load(fresh, &path, &dev).unwrap();
    assert_bit_exact(&loaded, &net);
    assert_eq!(m, meta(7));
    assert_eq!(checkpoint::read_meta(&path).unwrap(), meta(7));
    // Parameter ids survive, so optimiser state keyed by them can be restored.
    assert_eq!(loaded.lin.weight.id, net.lin.weight.id);
    // Only the checkpoint is left in the directory: no temporary file.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("model.ckpt")]);
}

#[test]
fn missing_file_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.ckpt");
    let err = checkpoint::load(Net::new(5, &device()), &path, &device()).unwrap_err();
    assert!(matches!(err, CheckpointError::NotFound { .. }), "{err}");
    assert_names(&err, &path);
}

#[test]
fn truncated_files_are_typed_errors_naming_the_file() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    checkpoint::save(&Net::new(5, &dev), &meta(1), &path).unwrap();
    let full = fs::read(&path).unwrap();
    for len in [
        0,
        5,
        HEADER_LEN - 1,
        HEADER_LEN,
        HEADER_LEN + 10,
        full.len() / 2,
        full.len() - 1,
    ] {
        fs::write(&path, &full[..len]).unwrap();
        let err = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap_err();
        match &err {
            CheckpointError::Truncated {
                actual, expected, ..
            } => {
                assert_eq!(*actual, len as u64);
                assert!(*expected > *actual);
            }
            other => panic!("length {len}: expected Truncated, got {other}"),
        }
        assert_names(&err, &path);
    }
}

#[test]
fn every_flipped_byte_is_a_typed_error_naming_the_file() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    checkpoint::save(&Net::new(5, &dev), &meta(1), &path).unwrap();
    let good = fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x5a;
        fs::write(&path, &bad).unwrap();
        let err = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap_err();
        match &err {
            CheckpointError::NotACheckpoint { .. } => assert!(i < 8, "byte {i}: {err}"),
            CheckpointError::Corrupt { .. } => assert!(i >= 8, "byte {i}: {err}"),
            other => panic!("byte {i}: expected Corrupt, got {other}"),
        }
        assert_names(&err, &path);
    }
    // Appending bytes is damage too.
    let mut long = good.clone();
    long.extend_from_slice(b"extra");
    fs::write(&path, &long).unwrap();
    let err = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
}

#[test]
fn foreign_files_and_foreign_models_are_typed_errors() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    fs::write(&path, b"{\"not\": \"a checkpoint\"} with some more text").unwrap();
    let err = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NotACheckpoint { .. }),
        "{err}"
    );
    assert_names(&err, &path);

    // An intact checkpoint of another architecture: the file is fine, the model is not.
    checkpoint::save(&Net::new(5, &dev), &meta(1), &path).unwrap();
    let err = checkpoint::load(Net::new(6, &dev), &path, &dev).unwrap_err();
    assert!(matches!(err, CheckpointError::Incompatible { .. }), "{err}");
    assert_names(&err, &path);
}

#[test]
fn a_save_interrupted_before_the_rename_leaves_the_previous_checkpoint() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    let v1 = Net::new(5, &dev);
    let v2 = Net::new(5, &dev);
    checkpoint::save(&v1, &meta(1), &path).unwrap();

    // First half of saving v2: the temporary file is written and fsynced; then the process
    // "dies" (forget: no commit, no clean-up), exactly the state a crash before rename leaves.
    let staged = checkpoint::stage(&v2, &meta(2), &path).unwrap();
    let tmp = staged.temp_path().to_path_buf();
    assert_eq!(
        tmp.parent(),
        path.parent(),
        "temp file must be in the target's directory"
    );
    std::mem::forget(staged);
    assert!(tmp.exists());
    // The stray temp file is a complete v2 checkpoint, but loading the target ignores it.
    let (loaded, m) = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap();
    assert_bit_exact(&loaded, &v1);
    assert_eq!(m, meta(1));
    // A garbage temp file (a crash mid-write) is ignored as well.
    fs::write(dir.path().join(".model.ckpt.tmp-0-0"), b"SFLW").unwrap();
    let (loaded, _) = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap();
    assert_bit_exact(&loaded, &v1);

    // A later complete save replaces v1 despite the leftovers.
    checkpoint::save(&v2, &meta(2), &path).unwrap();
    let (loaded, m) = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap();
    assert_bit_exact(&loaded, &v2);
    assert_eq!(m, meta(2));
}

#[test]
fn staged_checkpoints_commit_or_clean_up() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    let v1 = Net::new(5, &dev);
    // Dropped without commit: temp file removed, target never created.
    let staged = checkpoint::stage(&v1, &meta(1), &path).unwrap();
    let tmp = staged.temp_path().to_path_buf();
    drop(staged);
    assert!(!tmp.exists());
    assert!(!path.exists());
    // Committed: the target appears, the temp file is gone.
    let staged = checkpoint::stage(&v1, &meta(1), &path).unwrap();
    let tmp = staged.temp_path().to_path_buf();
    staged.commit().unwrap();
    assert!(!tmp.exists());
    let (loaded, _) = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap();
    assert_bit_exact(&loaded, &v1);
}

#[test]
fn default_metadata_round_trips() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain");
    let net = Net::new(3, &dev);
    checkpoint::save(&net, &CheckpointMeta::default(), &path).unwrap();
    let (loaded, m) = checkpoint::load(Net::new(3, &dev), &path, &dev).unwrap();
    assert_eq!(m, CheckpointMeta::default());
    assert_bit_exact(&loaded, &net);
}

/// Damage the checksum cannot see (a payload rewritten with a matching CRC, as a buggy writer
/// could produce) still ends in a typed error, not a panic inside burn.
#[test]
fn a_well_checksummed_garbage_payload_is_a_typed_error() {
    let dev = device();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.ckpt");
    checkpoint::save(&Net::new(5, &dev), &meta(1), &path).unwrap();
    let good = fs::read(&path).unwrap();
    let meta_len = u64::from_le_bytes(good[16..24].try_into().unwrap()) as usize;
    let payload_start = HEADER_LEN + meta_len;
    let body_end = good.len() - 4;
    for (k, fill) in [
        (0usize, 0xffu8),
        (0, 0x00),
        (8, 0x41),
        (payload_start / 2, 0x7f),
    ] {
        let mut bad = good.clone();
        let start = payload_start + k.min(body_end - payload_start - 1);
        for b in &mut bad[start..body_end] {
            *b = fill;
        }
        let crc = crc32fast::hash(&bad[HEADER_LEN..body_end]);
        bad[body_end..].copy_from_slice(&crc.to_le_bytes());
        fs::write(&path, &bad).unwrap();
        let err = checkpoint::load(Net::new(5, &dev), &path, &dev).unwrap_err();
        assert!(
            matches!(
                err,
                CheckpointError::Corrupt { .. } | CheckpointError::Incompatible { .. }
            ),
            "{err}"
        );
        assert_names(&err, &path);
    }
}

/// Extra sections (an optimiser's bytes) travel in the same checksummed file: they come back
/// byte for byte, in order, beside a bit-exact model; `load` of such a file still reads the
/// model; and a flipped byte in a section is caught by the checksum.
#[test]
fn sections_round_trip_in_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("with-sections.ckpt");
    let net = Net::new(5, &device());
    let optimizer: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
    let rng_state = b"state".to_vec();
    checkpoint::save_with_sections(
        &net,
        &meta(3),
        &[("optimizer", &optimizer), ("extra", &rng_state)],
        &path,
    )
    .unwrap();
    let (loaded, m, sections) =
        checkpoint::load_with_sections(Net::new(5, &device()), &path, &device()).unwrap();
    assert_bit_exact(&net, &loaded);
    assert_eq!(m.step, 3);
    assert_eq!(
        sections,
        vec![
            ("optimizer".to_owned(), optimizer.clone()),
            ("extra".to_owned(), rng_state)
        ]
    );
    let (plain, _) = checkpoint::load(Net::new(5, &device()), &path, &device()).unwrap();
    assert_bit_exact(&net, &plain);
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        checkpoint::load_with_sections(Net::new(5, &device()), &path, &device()),
        Err(CheckpointError::Corrupt { .. })
    ));
}
