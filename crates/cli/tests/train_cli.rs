//! Bad input to `scoreflow train` and `scoreflow sample`, through the built binary: every case
//! exits non-zero with exactly one readable line on stderr naming the problem, and nothing
//! already in the run directory (a finished run and a user's file) is lost or overwritten; a
//! run directory that did not exist is not created.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array1, Array2, Array3};
use ndarray_npy::write_npy;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary paths")
}

/// A tiny run configuration on the 8-Gaussian ring.
fn config(hidden: usize, objective: &str, seed: u64) -> String {
    format!(
        r#"
[data]
spec = "toy:8gaussians"
points = 256
[model]
kind = "mlp"
hidden = {hidden}
depth = 2
time_features = 16
[objective]
kind = "{objective}"
[train]
steps = 8
batch = 32
seed = {seed}
checkpoint_every = 4
log_every = 4
grid_samples = 16
grid_steps = 2
"#
    )
}

fn write_text(path: &Path, text: &str) -> PathBuf {
    fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// A finished tiny run (hidden 32, EDM, seed 3) in `root/name`, with a user's `notes.txt` beside
/// its files.
fn finished_run(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let cfg = write_text(&root.join(format!("{name}.toml")), &config(32, "edm", 3));
    let out = run(&["train", "--config", s(&cfg), "--out", s(&dir), "--quiet"]);
    assert!(
        out.status.success(),
        "the fixture run trains: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("checkpoints/step-000000008.ckpt").is_file());
    fs::write(dir.join("notes.txt"), "my notes, not the trainer's\n").unwrap();
    dir
}

/// Every file's bytes (and every folder, as `None`) under `root`, by relative path.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                walk(root, &path, out);
            } else {
                out.insert(rel, Some(fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A refusal: a non-zero status that is not a panic (101) or a signal, and one line on stderr,
/// `scoreflow: error: …`, of readable length, containing `needle`.
fn assert_refused(out: &Output, needle: &str, case: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "{case}: expected exit status 1 or 2, got {:?}; stderr: {err}",
        out.status
    );
    let line = err.trim();
    assert!(!line.is_empty(), "{case}: empty stderr");
    assert_eq!(
        line.lines().count(),
        1,
        "{case}: stderr must be one line, got {err:?}"
    );
    assert!(
        line.starts_with("scoreflow: error: "),
        "{case}: unexpected stderr {line:?}"
    );
    assert!(
        !line.contains("panicked"),
        "{case}: a panic, not an error: {line}"
    );
    assert!(
        line.chars().count() <= 700,
        "{case}: a message of {} characters is not readable: {line}",
        line.chars().count()
    );
    assert!(
        line.contains(needle),
        "{case}: expected {needle:?} in {line:?}"
    );
}

/// Runs `train ARGS --out DIR` three ways and checks each refusal: into a directory that does
/// not exist (which must stay absent), into `populated` as a fresh run and with `--resume` (whose
/// files must be unchanged). `resume_too = false` skips the `--resume` variant (for cases where
/// resuming legitimately reports something else first).
fn check_train_refused(args: &[&str], needle: &str, populated: &Path, resume_too: bool) {
    let case = args.join(" ");
    let fresh = populated.with_file_name(format!(
        "never-created-{}",
        populated.file_name().unwrap().to_str().unwrap()
    ));
    let mut full: Vec<&str> = vec!["train"];
    full.extend(args);
    full.extend(["--quiet", "--out", s(&fresh)]);
    assert_refused(&run(&full), needle, &format!("{case} (new --out)"));
    assert!(!fresh.exists(), "{case}: created {}", fresh.display());

    let before = snapshot(populated);
    let mut variants = vec![false];
    if resume_too {
        variants.push(true);
    }
    for resume in variants {
        let mut full: Vec<&str> = vec!["train"];
        full.extend(args);
        full.extend(["--quiet", "--out", s(populated)]);
        if resume {
            full.push("--resume");
        }
        let what = format!("{case} (populated --out, resume = {resume})");
        assert_refused(&run(&full), needle, &what);
        assert!(snapshot(populated) == before, "{what}: files changed");
    }
}

/// Big-endian IDX file: magic, dimensions, payload.
fn idx(path: &Path, magic: u32, dims: &[u32], payload: &[u8]) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(payload);
    fs::write(path, bytes).unwrap();
}

fn mnist_dir(root: &Path, name: &str, images: (u32, &[u32], usize), labels: (u32, &[u32])) {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    idx(
        &dir.join("train-images-idx3-ubyte"),
        images.0,
        images.1,
        &vec![7u8; images.2],
    );
    let n = labels.1[0] as usize;
    idx(
        &dir.join("train-labels-idx1-ubyte"),
        labels.0,
        labels.1,
        &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>(),
    );
}

#[test]
fn malformed_data_files_are_refused_and_nothing_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let populated = finished_run(root, "run");
    let data = root.join("data");
    fs::create_dir_all(&data).unwrap();

    // MNIST: 4 images of 4×4 announce 64 payload bytes.
    mnist_dir(&data, "truncated", (2051, &[4, 4, 4], 40), (2049, &[4]));
    mnist_dir(&data, "magic", (2049, &[4, 4, 4], 64), (2049, &[4]));
    mnist_dir(&data, "labels-magic", (2051, &[4, 4, 4], 64), (2051, &[4]));
    mnist_dir(&data, "count", (2051, &[4, 4, 4], 64), (2049, &[5]));
    mnist_dir(&data, "trailing", (2051, &[4, 4, 4], 70), (2049, &[4]));
    let no_labels = data.join("no-labels");
    fs::create_dir_all(&no_labels).unwrap();
    idx(
        &no_labels.join("train-images-idx3-ubyte"),
        2051,
        &[4, 4, 4],
        &[0; 64],
    );
    // A PNG signature followed by garbage, and an empty image folder (a text file only).
    let corrupt = data.join("corrupt-png");
    fs::create_dir_all(&corrupt).unwrap();
    fs::write(
        corrupt.join("a.png"),
        b"\x89PNG\r\n\x1a\nthis is not an image at all",
    )
    .unwrap();
    let empty = data.join("empty-images");
    fs::create_dir_all(&empty).unwrap();
    fs::write(empty.join("readme.txt"), "no images here").unwrap();
    // .npy of the wrong dtype and of the wrong ranks.
    let ints = data.join("ints.npy");
    write_npy(
        &ints,
        &Array2::<i32>::from_shape_fn((64, 2), |(i, j)| (i + j) as i32),
    )
    .unwrap();
    let rank3 = data.join("rank3.npy");
    write_npy(
        &rank3,
        &Array3::<f32>::from_shape_fn((64, 2, 2), |(i, j, k)| (i + j + k) as f32 * 0.01),
    )
    .unwrap();
    let rank1 = data.join("rank1.npy");
    write_npy(&rank1, &Array1::<f32>::linspace(-1.0, 1.0, 64)).unwrap();
    let not_npy = write_text(&data.join("text.npy"), "just text\n");

    let spec = |kind: &str, p: &Path| format!("{kind}:{}", p.display());
    let cases: Vec<(String, &str)> = vec![
        (
            spec("mnist", &data.join("truncated")),
            "truncated: the header announces 80 bytes but the file has 56",
        ),
        (
            spec("mnist", &data.join("magic")),
            "wrong magic number 0x00000801 (expected 0x00000803",
        ),
        (
            spec("mnist", &data.join("labels-magic")),
            "wrong magic number 0x00000803 (expected 0x00000801",
        ),
        (spec("mnist", &data.join("count")), "holds 4 images but"),
        (spec("mnist", &data.join("trailing")), "6 bytes after the"),
        (spec("mnist", &no_labels), "MNIST training labels"),
        (spec("mnist", &data.join("absent")), "not found"),
        (spec("images", &corrupt), "cannot decode image"),
        (spec("images", &empty), "folder is empty"),
        (spec("npy", &ints), "unsupported dtype '<i4'"),
        (spec("npy", &rank3), "an MLP needs points [d]"),
        (spec("npy", &rank1), "has rank 1"),
        (spec("npy", &not_npy), "not a valid .npy file"),
        (spec("npy", &data.join("absent.npy")), "not found"),
        ("toy:nonsense".into(), "unknown toy dataset \"nonsense\""),
        ("parquet:x".into(), "unknown kind \"parquet\""),
    ];
    for (spec, needle) in &cases {
        check_train_refused(
            &["--data", spec, "--steps", "4", "--batch", "4"],
            needle,
            &populated,
            true,
        );
    }
    // The message names the file.
    let out = run(&[
        "train",
        "--data",
        &spec("mnist", &data.join("count")),
        "--out",
        s(&root.join("x")),
    ]);
    assert_refused(
        &out,
        "train-labels-idx1-ubyte holds 5 labels",
        "count names",
    );
}

#[test]
fn bad_flags_are_refused_and_nothing_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let populated = finished_run(root, "run");
    let data = ["--data", "toy:8gaussians"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--steps", "0"],
            "`train.steps` must be at least 1, got 0",
        ),
        (vec!["--steps", "-3"], "'-3' for '--steps"),
        (vec!["--steps", "ten"], "'ten' for '--steps"),
        (
            vec!["--batch", "0"],
            "`train.batch` must be at least 1, got 0",
        ),
        (vec!["--batch", "-8"], "'-8' for '--batch"),
        (
            vec!["--lr", "0"],
            "`train.lr` must be a positive number, got 0",
        ),
        (
            vec!["--lr", "-0.001"],
            "`train.lr` must be a positive number",
        ),
        (vec!["--lr", "nan"], "`train.lr` must be a positive number"),
        (vec!["--objective", "nope"], "unknown objective `nope`"),
        (vec!["--model", "nope"], "unknown model `nope`"),
        (vec!["--model", "unet"], "needs a [model.config] table"),
        (vec!["--device", "nope"], "unknown device `nope`"),
        (vec!["--bogus-flag"], "--bogus-flag"),
    ];
    for (flags, needle) in &cases {
        let mut args = data.to_vec();
        args.extend(flags);
        check_train_refused(&args, needle, &populated, true);
    }
    // Without --config and without --resume, --data is required.
    check_train_refused(&["--steps", "4"], "--data", &populated, false);
}

#[test]
fn bad_config_files_are_refused_and_nothing_is_touched() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let populated = finished_run(root, "run");
    let good = config(32, "edm", 3);
    // Each case replaces one line of the good configuration (or adds one).
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown key",
            good.replace("steps = 8", "steps = 8\nstepz = 8"),
            "unknown field `stepz`",
        ),
        (
            "unknown table",
            format!("{good}\n[optimizer]\nlr = 1\n"),
            "unknown field `optimizer`",
        ),
        (
            "unknown data key",
            good.replace("points = 256", "points = 256\nshuffle = true"),
            "unknown field `shuffle`",
        ),
        (
            "wrong type",
            good.replace("steps = 8", "steps = \"ten\""),
            "invalid type: string \"ten\", expected u64",
        ),
        (
            "wrong type for lr",
            good.replace("seed = 3", "seed = 3\nlr = \"fast\""),
            "invalid type: string \"fast\"",
        ),
        (
            "zero steps",
            good.replace("steps = 8", "steps = 0"),
            "`train.steps` must be at least 1, got 0",
        ),
        (
            "negative steps",
            good.replace("steps = 8", "steps = -5"),
            "invalid value: integer `-5`",
        ),
        (
            "zero batch",
            good.replace("batch = 32", "batch = 0"),
            "`train.batch` must be at least 1, got 0",
        ),
        (
            "negative batch",
            good.replace("batch = 32", "batch = -32"),
            "invalid value: integer `-32`",
        ),
        (
            "zero lr",
            good.replace("seed = 3", "seed = 3\nlr = 0.0"),
            "`train.lr` must be a positive number, got 0",
        ),
        (
            "negative lr",
            good.replace("seed = 3", "seed = 3\nlr = -0.01"),
            "`train.lr` must be a positive number, got -0.01",
        ),
        (
            "unknown objective",
            good.replace("kind = \"edm\"", "kind = \"nope\""),
            "unknown variant `nope`",
        ),
        (
            "unknown model",
            good.replace("kind = \"mlp\"", "kind = \"nope\""),
            "unknown variant `nope`",
        ),
        (
            "odd time features",
            good.replace("time_features = 16", "time_features = 15"),
            "even time_features",
        ),
        (
            "accumulation not dividing the batch",
            good.replace("batch = 32", "batch = 32\naccumulation = 5"),
            "`train.accumulation` must divide train.batch = 32",
        ),
        (
            "no data spec",
            good.replace("spec = \"toy:8gaussians\"", ""),
            "missing field `spec`",
        ),
        ("not TOML", "[data\nspec = ".into(), "TOML parse error"),
    ];
    for (name, text, needle) in &cases {
        let path = write_text(&root.join(format!("{}.toml", name.replace(' ', "-"))), text);
        check_train_refused(&["--config", s(&path)], needle, &populated, true);
    }
    check_train_refused(
        &["--config", s(&root.join("absent.toml"))],
        "absent.toml",
        &populated,
        true,
    );
}

#[test]
fn resume_and_fresh_runs_refuse_what_does_not_match() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let populated = finished_run(root, "run");
    let before = snapshot(&populated);
    let hidden16 = write_text(&root.join("hidden16.toml"), &config(16, "edm", 3));
    let cfm = write_text(&root.join("cfm.toml"), &config(32, "i-cfm", 3));
    let same = write_text(&root.join("same.toml"), &config(32, "edm", 3));
    let foreign = "was trained with other data, network or objective than this configuration";
    let p = s(&populated);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Another network (hidden 32 in the directory, 16 asked for).
        (vec!["--config", s(&hidden16), "--resume"], foreign),
        (vec!["--config", s(&cfm), "--resume"], foreign),
        (vec!["--resume", "--objective", "i-cfm"], foreign),
        (vec!["--resume", "--data", "toy:moons"], foreign),
        (
            vec!["--config", s(&same), "--resume", "--seed", "4"],
            "was trained with seed 3, not 4",
        ),
        // Fewer steps in all than the run has already taken.
        (
            vec!["--resume", "--steps", "4"],
            "is at step 8, past train.steps = 4",
        ),
        // A fresh run into a directory holding a run.
        (
            vec!["--config", s(&same)],
            "already holds a run's checkpoints: pass --resume",
        ),
        (
            vec!["--data", "toy:8gaussians"],
            "already holds a run's checkpoints",
        ),
    ];
    for (args, needle) in &cases {
        let mut full = vec!["train", "--quiet", "--out", p];
        full.extend(args);
        let case = args.join(" ");
        assert_refused(&run(&full), needle, &case);
        assert!(snapshot(&populated) == before, "{case}: files changed");
    }

    // A directory with a user's file and no run: nothing to resume, and not empty for a fresh
    // run.
    let notes = root.join("notes-only");
    fs::create_dir_all(&notes).unwrap();
    fs::write(notes.join("notes.txt"), "mine\n").unwrap();
    let before = snapshot(&notes);
    let n = s(&notes);
    for (args, needle) in [
        (
            vec!["--config", s(&same), "--resume"],
            "nothing to resume in",
        ),
        (
            vec!["--data", "toy:8gaussians", "--resume"],
            "no checkpoints/step-*.ckpt file",
        ),
        (vec!["--config", s(&same)], "this directory is not empty"),
    ] {
        let mut full = vec!["train", "--quiet", "--out", n];
        full.extend(&args);
        let case = args.join(" ");
        assert_refused(&run(&full), needle, &case);
        assert!(snapshot(&notes) == before, "{case}: files changed");
    }
    // --resume into a directory that does not exist: nothing to resume, nothing created.
    let absent = root.join("absent");
    let out = run(&[
        "train",
        "--config",
        s(&same),
        "--resume",
        "--quiet",
        "--out",
        s(&absent),
    ]);
    assert_refused(
        &out,
        "nothing to resume in",
        "resume into a missing directory",
    );
    assert!(!absent.exists());

    // Control: the same configuration does resume (to more steps) in a copy.
    let copy = root.join("copy");
    fs::create_dir_all(&copy).unwrap();
    for (rel, bytes) in &snapshot(&populated) {
        match bytes {
            Some(bytes) => fs::write(copy.join(rel), bytes).unwrap(),
            None => fs::create_dir_all(copy.join(rel)).unwrap(),
        }
    }
    let out = run(&[
        "train",
        "--resume",
        "--steps",
        "10",
        "--quiet",
        "--out",
        s(&copy),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(copy.join("checkpoints/step-000000010.ckpt").is_file());
    assert_eq!(
        fs::read(copy.join("notes.txt")).unwrap(),
        b"my notes, not the trainer's\n"
    );
}

/// A 4-image, 4×4 MNIST-like folder with labels 0..3 (ten classes, as MNIST) and a tiny
/// class-conditional UNet trained on it for two steps.
fn conditional_run(root: &Path) -> PathBuf {
    mnist_dir(root, "mnist4", (2051, &[4, 4, 4], 64), (2049, &[4]));
    let cfg = format!(
        r#"
[data]
spec = "mnist:{}"
[model]
kind = "unet"
[model.config]
block_out_channels = [8]
down_block_types = ["DownBlock2D"]
up_block_types = ["UpBlock2D"]
sample_size = 4
in_channels = 1
out_channels = 1
layers_per_block = 1
norm_num_groups = 4
norm_eps = 1e-5
dropout = 0.0
time_embedding_type = "positional"
flip_sin_to_cos = true
freq_shift = 0.0
mid_block_scale_factor = 1.0
downsample_padding = 1
add_attention = false
center_input_sample = false
add_null_class = false
[train]
steps = 2
batch = 4
conditional = true
label_dropout = 0.1
grid_samples = 4
grid_steps = 2
"#,
        root.join("mnist4").display()
    );
    let cfg = write_text(&root.join("conditional.toml"), &cfg);
    let dir = root.join("conditional");
    let out = run(&["train", "--config", s(&cfg), "--out", s(&dir), "--quiet"]);
    assert!(
        out.status.success(),
        "a class-conditional UNet trains: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn sample_refuses_bad_requests_and_touches_nothing() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let run_dir = finished_run(root, "run");
    let conditional = conditional_run(root);
    let notes = root.join("notes-only");
    fs::create_dir_all(&notes).unwrap();
    fs::write(notes.join("notes.txt"), "mine\n").unwrap();
    // An output file that a failed command must leave alone.
    let x = root.join("x.npy");
    fs::write(&x, b"previous samples").unwrap();
    let z3 = root.join("z3.npy");
    write_npy(&z3, &Array2::<f64>::from_elem((4, 3), 0.5)).unwrap();
    let z_rows = root.join("z-rows.npy");
    write_npy(&z_rows, &Array2::<f64>::from_elem((3, 2), 0.5)).unwrap();
    let z_ints = root.join("z-ints.npy");
    write_npy(&z_ints, &Array2::<i32>::zeros((4, 2))).unwrap();
    let before_run = snapshot(&run_dir);
    let before_conditional = snapshot(&conditional);

    let absent = root.join("absent");
    let step1 = run_dir.join("checkpoints/step-000000001.ckpt");
    let not_a_checkpoint = run_dir.join("notes.txt");
    let r = s(&run_dir);
    let c = s(&conditional);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--checkpoint", r, "--sampler", "nope"],
            "unknown sampler `nope`",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "fm-euler"],
            "fm-* samplers integrate a velocity",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "fm-gauss"],
            "fm-gauss integrates a velocity: this model was trained as a denoiser",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--class", "1"],
            "invalid --class: this checkpoint is unconditional",
        ),
        (
            vec!["--checkpoint", c, "--sampler", "heun", "--class", "10"],
            "invalid --class: 10 is out of range: the model has 10 classes",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--shard", "3/3"],
            "invalid --shard: '3/3' is not i/k",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--shard", "1/0"],
            "invalid --shard: '1/0'",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--shard", "half"],
            "invalid --shard: 'half'",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--shard=-1/3"],
            "invalid --shard: '-1/3'",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--shard", "1"],
            "invalid --shard: '1'",
        ),
        (
            vec!["--checkpoint", s(&absent), "--sampler", "heun"],
            "absent not found",
        ),
        (
            vec!["--checkpoint", s(&notes), "--sampler", "heun"],
            "no checkpoints/step-*.ckpt file",
        ),
        (
            vec!["--checkpoint", s(&step1), "--sampler", "heun"],
            "step-000000001.ckpt not found",
        ),
        (
            vec!["--checkpoint", s(&not_a_checkpoint), "--sampler", "heun"],
            "not a scoreflow checkpoint",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--noise", s(&z3)],
            "has 3 columns, the target has dimension 2",
        ),
        (
            vec![
                "--checkpoint",
                r,
                "--sampler",
                "heun",
                "--noise",
                s(&z_rows),
            ],
            "has 3 rows, --n is 4",
        ),
        (
            vec![
                "--checkpoint",
                r,
                "--sampler",
                "heun",
                "--noise",
                s(&z_ints),
            ],
            "not an (n, d) float .npy array",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--grid", "cosine"],
            "invalid --grid",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--chunk", "0"],
            "chunk size must be at least 1",
        ),
        (
            vec!["--checkpoint", r, "--sampler", "heun", "--device", "nope"],
            "unknown device `nope`",
        ),
    ];
    for (args, needle) in &cases {
        let mut full = vec!["sample", "--steps", "3", "--n", "4", "--out", s(&x)];
        full.extend(args);
        let case = args.join(" ");
        assert_refused(&run(&full), needle, &case);
        assert_eq!(
            fs::read(&x).unwrap(),
            b"previous samples",
            "{case}: --out changed"
        );
        assert!(snapshot(&run_dir) == before_run, "{case}: run changed");
        assert!(
            snapshot(&conditional) == before_conditional,
            "{case}: run changed"
        );
    }

    // Controls: an in-range class samples, and --n 0 is refused.
    let y = root.join("y.npy");
    let out = run(&[
        "sample",
        "--checkpoint",
        c,
        "--sampler",
        "heun",
        "--steps",
        "2",
        "--n",
        "2",
        "--class",
        "3",
        "--out",
        s(&y),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let y: Array2<f64> = ndarray_npy::read_npy(&y).unwrap();
    assert_eq!(y.dim(), (2, 16));
    let out = run(&[
        "sample",
        "--checkpoint",
        r,
        "--sampler",
        "heun",
        "--steps",
        "2",
        "--n",
        "0",
        "--out",
        s(&x),
    ]);
    assert_refused(&out, "invalid --n", "--n 0");
    assert_eq!(fs::read(&x).unwrap(), b"previous samples");
}

/// A run stopped before its first checkpoint leaves `config.toml`, `metrics.jsonl` and an empty
/// `checkpoints/`: `--resume` has nothing to resume, so a fresh run starts over there (nothing a
/// run could lose is in it) and its metrics hold only its own lines — as in a new directory.
#[test]
fn a_fresh_run_starts_over_where_an_attempt_never_checkpointed() {
    let root = tempfile::tempdir().unwrap();
    let cfg = write_text(&root.path().join("run.toml"), &config(16, "edm", 1));
    let dir = root.path().join("run");
    fs::create_dir_all(dir.join("checkpoints")).unwrap();
    fs::write(dir.join("config.toml"), config(16, "edm", 1)).unwrap();
    fs::write(
        dir.join("metrics.jsonl"),
        "{\"step\":3,\"loss\":1e9,\"stale\":true}\n",
    )
    .unwrap();
    fs::write(
        dir.join("checkpoints/.step-000000004.ckpt.tmp-1-0"),
        b"partial",
    )
    .unwrap();
    let out = run(&["train", "--config", s(&cfg), "--out", s(&dir), "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = root.path().join("fresh");
    let out = run(&["train", "--config", s(&cfg), "--out", s(&fresh), "--quiet"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let losses = |d: &Path| -> Vec<String> {
        fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{} {}", v["step"], v["loss"])
            })
            .collect()
    };
    assert_eq!(losses(&dir), losses(&fresh), "the stale line is gone");
    assert!(dir.join("checkpoints/step-000000008.ckpt").is_file());
    // A user's file in such a directory still makes it off limits.
    let mine = root.path().join("mine");
    fs::create_dir_all(mine.join("checkpoints")).unwrap();
    fs::write(mine.join("config.toml"), "x").unwrap();
    fs::write(mine.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&mine);
    let out = run(&["train", "--config", s(&cfg), "--out", s(&mine), "--quiet"]);
    assert_refused(&out, "not empty", "a user's file beside an abandoned start");
    assert_eq!(snapshot(&mine), before);
}
