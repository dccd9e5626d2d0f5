//! `scoreflow calibrate-grid` through the built binary: the grid it writes is what
//! `--grid FILE.json` samples with, the fit never ends above its start in-sample, the output is
//! deterministic, and bad input fails with one line and writes nothing.

use std::path::Path;
use std::process::{Command, Output};

use ndarray::Array2;
use ndarray_npy::{read_npy, write_npy};
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{SampleContext, SamplerOptions, by_name};
use scoreflow_score_matching::analytic::GaussianMixture;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn noise(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        let k = (i * d + j) as f64;
        let u1 = (k * 0.754_877_666 + 0.1).fract().max(1e-9);
        let u2 = (k * 0.569_840_29 + 0.3).fract();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    })
}

fn calibrate(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "calibrate-grid",
        "--target",
        "ring8",
        "--sampler",
        "exp-2-lambda",
        "--steps",
        "5",
        "--pilot",
        "64",
        "--evaluations",
        "40",
        "--out",
        s(out),
    ];
    args.extend(extra);
    run(&args)
}

/// (start, fitted) in-sample errors from the printed line of `target`.
fn printed_errors(stdout: &str, target: &str) -> (f64, f64) {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(target))
        .expect("a line per target");
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[2].parse().unwrap(), words[4].parse().unwrap())
}

#[test]
fn the_written_grid_is_the_one_sample_analytic_uses() {
    let dir = tempfile::tempdir().unwrap();
    let grid_path = dir.path().join("grid.json");
    let o = calibrate(&grid_path, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    let (start, fitted) = printed_errors(&stdout, "ring8");
    assert!(fitted <= start, "{stdout}");
    assert!(stdout.contains("calibration cost:"), "{stdout}");
    let grid: SigmaGrid =
        serde_json::from_str(&std::fs::read_to_string(&grid_path).unwrap()).unwrap();
    assert_eq!(grid.len(), 6);
    assert_eq!((grid.as_slice()[0], grid.as_slice()[5]), (80.0, 0.0));
    assert_ne!(grid, SigmaGrid::condot_to_zero(5, 80.0).unwrap());

    // Deterministic: the same command writes the same bytes.
    let again = dir.path().join("again.json");
    assert!(calibrate(&again, &[]).status.success());
    assert_eq!(
        std::fs::read(&grid_path).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // sample-analytic --grid FILE.json samples with exactly this grid.
    let z = noise(32, 2);
    let z_path = dir.path().join("z.npy");
    write_npy(&z_path, &z).unwrap();
    let x_path = dir.path().join("x.npy");
    let o = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "exp-2-lambda",
        "--grid",
        s(&grid_path),
        "--noise",
        s(&z_path),
        "--out",
        s(&x_path),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let target = GaussianMixture::load("ring8").unwrap();
    let d = |x: &Array2<f64>, sigma: f64| {
        let mut out = Array2::zeros(x.raw_dim());
        target.denoise_batch(x.as_slice().unwrap(), sigma, out.as_slice_mut().unwrap());
        out
    };
    let sampler = by_name::<Array2<f64>>("exp-2-lambda", &SamplerOptions::default()).unwrap();
    let expected = sampler
        .sample(&d, &z * 80.0, &grid, &mut SampleContext::default())
        .unwrap();
    let x: Array2<f64> = read_npy(&x_path).unwrap();
    assert_eq!(x, expected);

    // A pooled fit prints one line per target and writes a grid too.
    let pooled = dir.path().join("pooled.json");
    let o = run(&[
        "calibrate-grid",
        "--target",
        "ring8,grid25",
        "--sampler",
        "ipndm",
        "--steps",
        "4",
        "--pilot",
        "40",
        "--evaluations",
        "20",
        "--out",
        s(&pooled),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    for t in ["ring8", "grid25"] {
        let (start, fitted) = printed_errors(&stdout, t);
        assert!(fitted.is_finite() && start.is_finite(), "{stdout}");
    }
    assert!(pooled.exists());
}

#[test]
fn bad_input_fails_with_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.json");
    let bad_start = dir.path().join("bad.json");
    std::fs::write(&bad_start, "[80.0, 90.0, 0.0]").unwrap();
    let start_path = format!("--start={}", s(&bad_start));
    let base = |sampler: &'static str| {
        vec![
            "calibrate-grid",
            "--target",
            "ring8",
            "--sampler",
            sampler,
            "--pilot",
            "8",
            "--evaluations",
            "5",
            "--out",
            s(&out),
        ]
    };
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "unknown sampler",
            [base("nope"), vec!["--steps", "4"]].concat(),
        ),
        (
            "stochastic",
            [base("euler-ancestral"), vec!["--steps", "4"]].concat(),
        ),
        ("auto", [base("auto"), vec!["--steps", "4"]].concat()),
        ("flow", [base("fm-euler"), vec!["--steps", "4"]].concat()),
        ("gauss", [base("gauss"), vec!["--steps", "4"]].concat()),
        (
            "fm-gauss",
            [base("fm-gauss-3"), vec!["--steps", "4"]].concat(),
        ),
        ("no steps", base("ipndm")),
        ("zero steps", [base("ipndm"), vec!["--steps", "0"]].concat()),
        (
            "unknown start",
            [base("ipndm"), vec!["--steps", "4", "--start", "nope"]].concat(),
        ),
        (
            "bad start file",
            [base("ipndm"), vec![start_path.as_str()]].concat(),
        ),
        (
            "unknown target",
            [base("ipndm"), vec!["--steps", "4", "--target", "nowhere"]].concat(),
        ),
        (
            "zero evaluations",
            [base("ipndm"), vec!["--steps", "4", "--evaluations", "0"]].concat(),
        ),
        (
            "fewer pilot points than targets",
            [
                base("ipndm"),
                vec!["--steps", "4", "--target", "ring8,grid25", "--pilot", "1"],
            ]
            .concat(),
        ),
        (
            "bad sigma",
            [base("ipndm"), vec!["--steps", "4", "--sigma-min", "-1"]].concat(),
        ),
    ];
    for (what, args) in cases {
        let o = run(&args);
        assert!(!o.status.success(), "{what}: expected failure");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err:?}");
        assert!(!out.exists(), "{what}: wrote a grid");
    }
}
