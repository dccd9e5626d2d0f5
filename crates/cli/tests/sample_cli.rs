//! `scoreflow sample` on a tiny trained checkpoint, through the built binary: shards
//! concatenate to the unsharded output bit for bit, the chunk size changes nothing, a noise file
//! holding the seeded normals gives the seeded samples, stochastic samplers are reproducible
//! from their seed, and the JSON line reports the sampler's network evaluations.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::{Array2, Axis, concatenate, s};
use ndarray_npy::{read_npy, write_npy};
use scoreflow_train::sampling::standard_normals;

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary paths")
}

/// Trains a tiny MLP (30 steps) on the 8-Gaussian ring with `objective` into `root/name`.
fn train(root: &Path, name: &str, objective: &str) -> PathBuf {
    let cfg = root.join(format!("{name}.toml"));
    fs::write(
        &cfg,
        format!(
            r#"
[data]
spec = "toy:8gaussians"
points = 256
[model]
kind = "mlp"
hidden = 32
depth = 2
time_features = 16
[objective]
kind = "{objective}"
[train]
steps = 30
batch = 64
lr = 2e-3
seed = 5
checkpoint_every = 30
log_every = 10
grid_samples = 16
grid_steps = 2
ema = {{ kind = "fixed", decay = 0.9 }}
"#
        ),
    )
    .unwrap();
    let dir = root.join(name);
    let out = Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args([
            "train",
            "--config",
            path(&cfg),
            "--out",
            path(&dir),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "training failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs `sample --checkpoint DIR ARGS --out FILE` and returns its JSON line and samples.
fn sample(checkpoint: &Path, out: &Path, args: &[&str]) -> (serde_json::Value, Array2<f64>) {
    let result = Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args([
            "sample",
            "--checkpoint",
            path(checkpoint),
            "--out",
            path(out),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "sample {args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8(result.stdout).unwrap();
    assert_eq!(stdout.trim().lines().count(), 1, "one JSON line: {stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let x: Array2<f64> = read_npy(out).unwrap();
    assert!(
        x.iter().all(|v| v.is_finite()),
        "{args:?}: non-finite samples"
    );
    (json, x)
}

/// The exact bits of every value, so that equality is bit for bit (and −0 ≠ +0).
fn bits(a: &Array2<f64>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn shards_concatenate_to_the_unsharded_output_bit_for_bit() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let edm = train(root, "edm", "edm");
    let cfm = train(root, "cfm", "i-cfm");
    // Deterministic, ancestral (Gaussian noise per step) and Brownian-tree SDE samplers, and a
    // flow sampler; n = 10 does not divide into 3 or 4 equal shards.
    for (dir, sampler) in [
        (&edm, "heun"),
        (&edm, "euler-ancestral"),
        (&edm, "dpmpp-2m-sde"),
        (&cfm, "fm-midpoint"),
    ] {
        let common = [
            "--sampler",
            sampler,
            "--steps",
            "6",
            "--n",
            "10",
            "--seed",
            "17",
        ];
        let (json, whole) = sample(dir, &root.join("whole.npy"), &common);
        assert_eq!(whole.dim(), (10, 2));
        assert_eq!(json["rows"], serde_json::json!([0, 10]));
        for k in [3usize, 4] {
            let mut parts = Vec::new();
            for i in 0..k {
                let shard = format!("{i}/{k}");
                let mut args = common.to_vec();
                args.extend(["--shard", &shard]);
                let (json, part) = sample(dir, &root.join(format!("shard-{i}.npy")), &args);
                let (lo, hi) = (i * 10 / k, (i + 1) * 10 / k);
                assert_eq!(
                    json["rows"],
                    serde_json::json!([lo, hi]),
                    "{sampler} {shard}"
                );
                assert_eq!(json["n"], 10);
                assert_eq!(part.dim(), (hi - lo, 2), "{sampler} {shard}");
                assert_eq!(
                    bits(&part),
                    bits(&whole.slice(s![lo..hi, ..]).to_owned()),
                    "{sampler}: shard {shard} differs from rows {lo}..{hi} of the whole"
                );
                parts.push(part);
            }
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            let joined = concatenate(Axis(0), &views).unwrap();
            assert_eq!(bits(&joined), bits(&whole), "{sampler}: {k} shards");
        }
    }
}

#[test]
fn the_chunk_size_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let edm = train(root, "edm", "edm");
    for sampler in ["heun", "dpmpp-2m", "euler-ancestral", "dpmpp-2m-sde"] {
        let common = [
            "--sampler",
            sampler,
            "--steps",
            "5",
            "--n",
            "10",
            "--seed",
            "3",
        ];
        let mut outputs = Vec::new();
        for chunk in ["1", "3", "1024"] {
            let mut args = common.to_vec();
            args.extend(["--chunk", chunk]);
            let (json, x) = sample(&edm, &root.join(format!("chunk-{chunk}.npy")), &args);
            assert_eq!(x.dim(), (10, 2));
            outputs.push((chunk, json["nfe"].clone(), x));
        }
        let (_, nfe, reference) = &outputs[2];
        for (chunk, n, x) in &outputs[..2] {
            assert_eq!(
                bits(x),
                bits(reference),
                "{sampler}: --chunk {chunk} vs 1024"
            );
            assert_eq!(n, nfe, "{sampler}: NFE with --chunk {chunk}");
        }
    }
}

#[test]
fn a_noise_file_of_the_seeded_normals_gives_the_seeded_samples() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let edm = train(root, "edm", "edm");
    let (n, seed) = (10usize, 23u64);
    // What `sample` draws without --noise: n rows of 2 standard normals from the seed.
    let z = Array2::from_shape_vec((n, 2), standard_normals(seed, n, 2)).unwrap();
    let z_file = root.join("z.npy");
    write_npy(&z_file, &z).unwrap();
    let other = root.join("z-other.npy");
    write_npy(&other, &z.mapv(|v| -v)).unwrap();

    for sampler in ["heun", "euler-ancestral"] {
        let common = [
            "--sampler",
            sampler,
            "--steps",
            "6",
            "--n",
            "10",
            "--seed",
            "23",
        ];
        let (_, seeded) = sample(&edm, &root.join("seeded.npy"), &common);
        let with = |file: &Path, name: &str, extra: &[&str]| {
            let mut args = common.to_vec();
            args.extend(["--noise", path(file)]);
            args.extend(extra);
            sample(&edm, &root.join(name), &args).1
        };
        let from_file = with(&z_file, "file.npy", &[]);
        assert_eq!(
            bits(&from_file),
            bits(&seeded),
            "{sampler}: the seeded normals from a file differ from the seeded run"
        );
        assert_eq!(bits(&with(&z_file, "again.npy", &[])), bits(&from_file));
        let negated = with(&other, "other.npy", &[]);
        for i in 0..n {
            assert_ne!(
                bits(&negated.slice(s![i..i + 1, ..]).to_owned()),
                bits(&from_file.slice(s![i..i + 1, ..]).to_owned()),
                "{sampler}: row {i} does not depend on its noise"
            );
        }
        // A shard of a noise file takes that shard's rows of the file.
        let shard = with(&z_file, "shard.npy", &["--shard", "1/3"]);
        assert_eq!(
            bits(&shard),
            bits(&from_file.slice(s![3..6, ..]).to_owned())
        );
    }
}

#[test]
fn stochastic_samplers_are_reproducible_from_their_seed() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let edm = train(root, "edm", "edm");
    let z = Array2::from_shape_vec((8, 2), standard_normals(99, 8, 2)).unwrap();
    let z_file = root.join("z.npy");
    write_npy(&z_file, &z).unwrap();
    for sampler in ["euler-ancestral", "dpmpp-2m-sde", "dpmpp-sde"] {
        let run = |seed: &str, name: &str| {
            // The starting noise is fixed by the file: only the sampler's own noise follows
            // the seed.
            let args = [
                "--sampler",
                sampler,
                "--steps",
                "6",
                "--n",
                "8",
                "--seed",
                seed,
                "--noise",
                path(&z_file),
            ];
            sample(&edm, &root.join(name), &args).1
        };
        let a = run("1", "a.npy");
        let b = run("1", "b.npy");
        let c = run("2", "c.npy");
        assert_eq!(
            bits(&a),
            bits(&b),
            "{sampler}: same seed, different samples"
        );
        for i in 0..8 {
            assert_ne!(
                a.row(i).to_vec(),
                c.row(i).to_vec(),
                "{sampler}: row {i} ignores the seed of the sampler's noise"
            );
        }
    }
    // A deterministic sampler ignores the seed once the starting noise is fixed.
    let det = |seed: &str, name: &str| {
        let args = [
            "--sampler",
            "heun",
            "--steps",
            "6",
            "--n",
            "8",
            "--seed",
            seed,
            "--noise",
            path(&z_file),
        ];
        sample(&edm, &root.join(name), &args).1
    };
    assert_eq!(bits(&det("1", "d1.npy")), bits(&det("2", "d2.npy")));
}

#[test]
fn the_json_line_reports_the_samplers_network_evaluations() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let edm = train(root, "edm", "edm");
    let cfm = train(root, "cfm", "i-cfm");
    let steps = 7usize;
    // Heun's last step, to σ = 0, is an Euler step (Karras et al. 2022, Alg. 1): 2N − 1.
    for (dir, sampler, nfe) in [
        (&edm, "heun", 2 * steps - 1),
        (&edm, "euler", steps),
        (&edm, "dpmpp-2m", steps),
        (&edm, "euler-ancestral", steps),
        (&edm, "dpmpp-2m-sde", steps),
        (&edm, "auto", steps),
        (&cfm, "auto", steps),
        (&cfm, "fm-auto", steps),
        (&edm, "gauss", steps),
        (&cfm, "gauss-3", steps),
        (&cfm, "fm-gauss", steps),
        (&cfm, "fm-euler", steps),
        (&cfm, "fm-midpoint", 2 * steps),
        (&cfm, "fm-rk4", 4 * steps),
    ] {
        let n = steps.to_string();
        let (json, x) = sample(
            dir,
            &root.join("x.npy"),
            &[
                "--sampler",
                sampler,
                "--steps",
                &n,
                "--n",
                "5",
                "--shard",
                "1/2",
            ],
        );
        assert_eq!(json["nfe"], nfe, "{sampler}: {json}");
        assert_eq!(json["sampler"], sampler);
        assert_eq!(json["steps"], steps);
        assert_eq!(json["n"], 5);
        assert_eq!(json["rows"], serde_json::json!([2, 5]));
        assert_eq!(json["step"], 30, "the checkpoint's step");
        assert!(
            json["checkpoint"]
                .as_str()
                .unwrap()
                .ends_with("step-000000030.ckpt")
        );
        assert!(json["seconds"].as_f64().unwrap() >= 0.0);
        assert_eq!(x.dim(), (3, 2));
    }
}

/// `--grid FILE.json` is used exactly as given: the file holding the Karras grid's values gives
/// the `--grid karras` samples bit for bit; a length that disagrees with `--steps`, or a grid
/// file given to `auto` (which brings its own), is one line and writes nothing.
#[test]
fn a_grid_file_is_used_exactly() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let edm = train(root, "edm", "edm");
    let common = ["--sampler", "dpmpp-2m", "--steps", "6", "--n", "8"];
    let (_, karras) = sample(
        &edm,
        &root.join("k.npy"),
        &[&common[..], &["--grid", "karras"]].concat(),
    );
    // The model's default range (edm: σ ∈ [0.002, 80]) and ρ = 7, as `--grid karras` uses them.
    let grid = scoreflow_noise_schedules::SigmaGrid::karras(6, 0.002, 80.0, 7.0).unwrap();
    let file = root.join("grid.json");
    fs::write(&file, serde_json::to_string(&grid).unwrap()).unwrap();
    let (_, from_file) = sample(
        &edm,
        &root.join("f.npy"),
        &[&common[..], &["--grid", path(&file)]].concat(),
    );
    assert_eq!(bits(&karras), bits(&from_file));
    for args in [
        vec![
            "--sampler",
            "dpmpp-2m",
            "--steps",
            "5",
            "--n",
            "8",
            "--grid",
            path(&file),
        ],
        vec![
            "--sampler",
            "auto",
            "--steps",
            "6",
            "--n",
            "8",
            "--grid",
            path(&file),
        ],
    ] {
        let out = root.join("bad.npy");
        let result = Command::new(env!("CARGO_BIN_EXE_scoreflow"))
            .args(["sample", "--checkpoint", path(&edm), "--out", path(&out)])
            .args(&args)
            .output()
            .unwrap();
        assert!(!result.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&result.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("grid"), "{err}");
        assert!(!out.exists());
    }
}
