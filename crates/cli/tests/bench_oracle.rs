//! `scoreflow bench-oracle` through the built binary: what it evaluates is the library's
//! closed form at the given points, the mixture JSON it writes reads back as the same target,
//! and bad arguments fail with one line. (Its timings are measurements, not asserted.)

use std::path::Path;
use std::process::{Command, Output};

use ndarray::Array2;
use ndarray_npy::{read_npy, write_npy};
use scoreflow_score_matching::analytic::GaussianMixture;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .arg("bench-oracle")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn writes_the_closed_form_at_the_points_and_the_target_json() {
    let dir = tempfile::tempdir().unwrap();
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let x = Array2::from_shape_vec((300, 16), gm.sample(300, 3)).unwrap();
    let points = dir.path().join("x.npy");
    write_npy(&points, &x).unwrap();
    let json = dir.path().join("target.json");
    for (quantity, width) in [("denoise", 16), ("velocity", 16), ("divergence", 1)] {
        let out = dir.path().join(format!("{quantity}.npy"));
        let output = run(&[
            "--target",
            "gauss16d",
            "--quantity",
            quantity,
            "--points",
            s(&points),
            "--sigmas",
            "0.5,2",
            "--repeats",
            "2",
            "--threads",
            "2",
            "--out",
            s(&out),
            "--write-json",
            s(&json),
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(line["n"], 300);
        assert_eq!(line["dim"], 16);
        assert_eq!(line["threads"], 2);
        assert_eq!(line["ms_per_call"].as_array().unwrap().len(), 2);
        // The first σ's output, against the library's batched method on one thread.
        let got: Array2<f64> = read_npy(&out).unwrap();
        assert_eq!(got.dim(), (300, width));
        let xs = x.as_slice().unwrap();
        let mut want = vec![0.0; 300 * width];
        match quantity {
            "denoise" => gm.denoise_batch(xs, 0.5, &mut want),
            "velocity" => gm.condot_velocity_batch(xs, 1.0 / 1.5, &mut want),
            _ => gm.score_divergence_batch(xs, 0.5, &mut want),
        }
        assert_eq!(got.as_slice().unwrap(), &want[..], "{quantity}");
    }
    let back = GaussianMixture::from_json_file(&json).unwrap();
    assert_eq!(back.means(), gm.means());
    assert_eq!(back.covs(), gm.covs());
}

#[test]
fn bad_arguments_fail_with_one_line() {
    for (args, what) in [
        (
            vec!["--target", "ring8", "--quantity", "hessian"],
            "quantity",
        ),
        (vec!["--target", "ring8", "--threads", "0"], "threads"),
        (vec!["--target", "ring8", "--sigmas", "1,-2"], "sigmas"),
        (vec!["--target", "ring8", "--repeats", "0"], "repeats"),
        (vec!["--target", "ring9"], "target"),
    ] {
        let output = run(&args);
        assert!(!output.status.success(), "{what}: expected failure");
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err:?}");
    }
}
