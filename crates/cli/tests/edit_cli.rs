//! `scoreflow sample --guidance` and `scoreflow edit`, through the binary: class-conditional
//! training on an `.npy` with a label column, guided sampling, inpainting that keeps the known
//! values, an inversion round trip, and one readable line for every bad input the issue names
//! (label out of range, guidance on an unconditional checkpoint, mask shape mismatch, σ₀
//! outside the grid).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, write_npy};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure ({needle})");
    let err = String::from_utf8_lossy(&out.stderr);
    let err = err.trim_end();
    assert_eq!(err.lines().count(), 1, "stderr must be one line: {err:?}");
    assert!(
        err.to_lowercase().contains(needle),
        "stderr {err:?} does not mention {needle:?}"
    );
}

/// 96 points of three classes (three blobs in 2-D) and their labels.
fn data(dir: &Path) -> (PathBuf, PathBuf) {
    let n = 96;
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let class = (i % 3) as f64;
        let centre = if j == 0 { class.cos() } else { class.sin() } * 2.0;
        centre + 0.1 * ((i * 7 + j * 3) as f64).sin()
    });
    let y = Array1::from_shape_fn(n, |i| (i % 3) as i64);
    let (xp, yp) = (dir.join("x.npy"), dir.join("y.npy"));
    write_npy(&xp, &x).unwrap();
    write_npy(&yp, &y).unwrap();
    (xp, yp)
}

fn train(dir: &Path, name: &str, conditional: bool) -> PathBuf {
    let (x, y) = data(dir);
    let labels = if conditional {
        format!("labels = {:?}", s(&y))
    } else {
        String::new()
    };
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            r#"
            [data]
            spec = "npy:{x}"
            {labels}
            [model]
            kind = "mlp"
            hidden = 16
            depth = 1
            time_features = 8
            [train]
            steps = 4
            batch = 32
            conditional = {conditional}
            label_dropout = {dropout}
            checkpoint_every = 4
            log_every = 2
            "#,
            x = s(&x),
            dropout = if conditional { 0.2 } else { 0.0 },
        ),
    )
    .unwrap();
    let out_dir = dir.join(name);
    ok(&run(&[
        "train",
        "--config",
        s(&config),
        "--out",
        s(&out_dir),
        "--quiet",
    ]));
    out_dir
}

#[test]
fn guidance_and_class_flags_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let cond = train(dir.path(), "cond", true);
    let uncond = train(dir.path(), "uncond", false);
    let out = dir.path().join("s.npy");
    let sample = |ckpt: &Path, extra: &[&str]| {
        let mut args = vec![
            "sample",
            "--checkpoint",
            s(ckpt),
            "--sampler",
            "heun",
            "--steps",
            "4",
            "--n",
            "6",
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let json = ok(&sample(&cond, &["--class", "2", "--guidance", "3"]));
    assert_eq!(
        json["nfe"], 7,
        "guidance keeps one (doubled) call per evaluation"
    );
    let guided: Array2<f64> = read_npy(&out).unwrap();
    ok(&sample(&cond, &["--class", "2", "--guidance", "1"]));
    let at_one: Array2<f64> = read_npy(&out).unwrap();
    ok(&sample(&cond, &["--class", "2"]));
    let conditional: Array2<f64> = read_npy(&out).unwrap();
    let diff = |a: &Array2<f64>, b: &Array2<f64>| {
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    assert!(
        diff(&at_one, &conditional) < 1e-4,
        "w = 1 is the conditional model"
    );
    assert!(
        diff(&guided, &conditional) > 1e-4,
        "w = 3 moves the samples"
    );
    ok(&sample(
        &cond,
        &[
            "--class",
            "0",
            "--guidance",
            "2",
            "--guidance-rescale",
            "0.7",
            "--guidance-interval",
            "0.1,5",
        ],
    ));

    assert_one_line_error(&sample(&cond, &["--class", "3"]), "out of range");
    assert_one_line_error(
        &sample(&uncond, &["--class", "0", "--guidance", "2"]),
        "unconditional",
    );
    assert_one_line_error(&sample(&uncond, &["--class", "0"]), "unconditional");
    assert_one_line_error(&sample(&cond, &["--guidance", "2"]), "--class");
    assert_one_line_error(
        &sample(
            &cond,
            &["--class", "1", "--guidance", "2", "--guidance-rescale", "2"],
        ),
        "rescale",
    );
    assert_one_line_error(
        &sample(
            &cond,
            &[
                "--class",
                "1",
                "--guidance",
                "2",
                "--guidance-interval",
                "5,1",
            ],
        ),
        "interval",
    );
    assert_one_line_error(&sample(&cond, &["--guidance-rescale", "0.5"]), "--guidance");
}

#[test]
fn edits_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = train(dir.path(), "model", false);
    let input = dir.path().join("in.npy");
    let known = Array2::from_shape_fn((5, 2), |(i, j)| (i as f64 - 2.0) * 0.5 + j as f64);
    write_npy(&input, &known).unwrap();
    let mask = dir.path().join("mask.npy");
    write_npy(
        &mask,
        &Array2::from_shape_fn((5, 2), |(_, j)| (j == 0) as u8 as f64),
    )
    .unwrap();
    let out = dir.path().join("out.npy");
    let edit = |mode: &str, extra: &[&str]| {
        let mut args = vec![
            "edit",
            mode,
            "--checkpoint",
            s(&ckpt),
            "--input",
            s(&input),
            "--out",
            s(&out),
        ];
        if !extra.contains(&"--steps") {
            args.extend(["--steps", "8"]);
        }
        args.extend_from_slice(extra);
        run(&args)
    };
    for resamples in ["1", "3"] {
        ok(&edit(
            "inpaint",
            &["--mask", s(&mask), "--resamples", resamples],
        ));
        let x: Array2<f64> = read_npy(&out).unwrap();
        for i in 0..5 {
            assert!(
                (x[[i, 0]] - known[[i, 0]]).abs() < 1e-6,
                "resamples {resamples}: known value moved"
            );
        }
    }
    ok(&edit("sdedit", &["--sigma0", "1.5"]));
    let json = ok(&edit(
        "invert",
        &["--method", "heun", "--steps", "64", "--sigma-max", "5"],
    ));
    assert_eq!(json["edit"], "invert");
    let latent = dir.path().join("latent.npy");
    std::fs::rename(&out, &latent).unwrap();
    ok(&run(&[
        "edit",
        "decode",
        "--checkpoint",
        s(&ckpt),
        "--input",
        s(&latent),
        "--out",
        s(&out),
        "--steps",
        "64",
        "--sigma-max",
        "5",
    ]));
    let back: Array2<f64> = read_npy(&out).unwrap();
    let err = back
        .iter()
        .zip(known.iter())
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
        / known.iter().map(|b| b * b).sum::<f64>().sqrt();
    assert!(err < 1e-3, "invert + decode: relative error {err:e}");

    let wide = dir.path().join("wide.npy");
    write_npy(&wide, &Array2::<f64>::ones((5, 3))).unwrap();
    assert_one_line_error(&edit("inpaint", &["--mask", s(&wide)]), "columns");
    let short = dir.path().join("short.npy");
    write_npy(&short, &Array2::<f64>::ones((4, 2))).unwrap();
    assert_one_line_error(&edit("inpaint", &["--mask", s(&short)]), "mask");
    assert_one_line_error(&edit("sdedit", &["--sigma0", "1000"]), "sigma0");
    assert_one_line_error(&edit("sdedit", &[]), "sigma0");
    assert_one_line_error(&edit("inpaint", &[]), "mask");
    assert_one_line_error(&edit("colorize", &[]), "rgb");
    assert_one_line_error(&edit("invert", &["--method", "rk5"]), "method");
}
