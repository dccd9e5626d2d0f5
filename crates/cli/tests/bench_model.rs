//! `scoreflow bench-model`, run through the built binary: devices the build lacks are one-line
//! errors, and a run reports the networks as built (parameter counts of the presets).

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .arg("bench-model")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr).trim_end().to_owned();
    assert_eq!(err.lines().count(), 1, "stderr must be one line: {err:?}");
    err
}

#[test]
fn a_backend_the_build_lacks_is_one_clear_line() {
    let compiled = scoreflow_models::compiled_backends();
    for name in ["cuda", "cuda:1", "wgpu", "vulkan", "ndarray"] {
        let backend = name.split(':').next().unwrap();
        if compiled.contains(&backend) {
            continue;
        }
        let err = one_line_error(&run(&["--device", name, "--network", "mlp-2d"]));
        assert!(
            err.contains(&format!("--features {backend}")),
            "{name}: the error says how to get the backend: {err}"
        );
    }
    let err = one_line_error(&run(&["--device", "tpu"]));
    assert!(err.contains("unknown device `tpu`"), "{err}");
}

#[test]
fn bad_arguments_are_one_line() {
    one_line_error(&run(&["--network", "resnet"]));
    one_line_error(&run(&["--workload", "backward"]));
    one_line_error(&run(&["--steps", "0"]));
    one_line_error(&run(&["--dtype", "f8"]));
    one_line_error(&run(&["--batch", "0", "--network", "mlp-2d"]));
}

#[test]
fn a_run_reports_each_workload_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = run(&[
        "--network",
        "mlp-2d",
        "--batch",
        "64",
        "--warmup",
        "1",
        "--steps",
        "3",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows, lines, "the file holds what stdout printed");
    let workloads: Vec<&str> = rows
        .iter()
        .map(|r| r["workload"].as_str().unwrap())
        .collect();
    assert_eq!(workloads, ["forward", "train-step"]);
    for row in &rows {
        // MlpConfig::new(2): input 2·256+256, time MLP 64·256+256 + 256·256+256,
        // 3 × (256·256+256), output 256·2+2.
        assert_eq!(row["params"], 281_090);
        assert_eq!(row["batch"], 64);
        assert_eq!(row["device"], "flex");
        let (median, min) = (
            row["median_s"].as_f64().unwrap(),
            row["min_s"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= median, "min {min}, median {median}");
        let rate = row["images_per_s"].as_f64().unwrap();
        assert!(
            (rate * median - 64.0).abs() < 1e-6,
            "samples/s = batch / median"
        );
    }
}

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/diffusers-unet2d"
);

/// The parity command on the CPU default reproduces diffusers' output (and fails, one line, when
/// asked for more than f32 can give).
#[test]
fn check_diffusers_reproduces_the_fixture() {
    if !std::path::Path::new(FIXTURES)
        .join("small.safetensors")
        .is_file()
    {
        eprintln!("skipping: fixtures not found at {FIXTURES}");
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args(["check-diffusers", "--fixture", FIXTURES])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(row["params"], 702_499);
    let rel = row["rel_l2"].as_f64().unwrap();
    assert!(rel < 1e-5, "relative L2 {rel}");
    assert!(row["max_abs"].as_f64().unwrap() <= 1e-4);

    let strict = Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args([
            "check-diffusers",
            "--fixture",
            FIXTURES,
            "--tolerance",
            "1e-12",
        ])
        .output()
        .unwrap();
    one_line_error(&strict);
}

/// `bench-train` pairs every loop step with a bare step: one JSON line whose overhead is the
/// ratio of the loop and bare medians it reports (and `overhead_of_means` that of the means),
/// with one ratio per round; zero rounds is a one-line error.
#[test]
fn bench_train_reports_the_ratio_of_paired_steps() {
    let bench_train = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scoreflow"))
            .arg("bench-train")
            .args(args)
            .output()
            .expect("the binary runs")
    };
    let err = one_line_error(&bench_train(&["--rounds", "0"]));
    assert!(err.contains("rounds"), "{err}");
    let out = bench_train(&[
        "--network",
        "mlp-2d",
        "--batch",
        "64",
        "--steps",
        "3",
        "--rounds",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let per_round = json["overhead_per_round"].as_array().unwrap();
    assert_eq!(per_round.len(), 3);
    let field = |k: &str| json[k].as_f64().unwrap();
    assert_eq!(
        field("overhead"),
        field("loop_step_median_s") / field("bare_step_median_s") - 1.0
    );
    assert_eq!(
        field("overhead_of_means"),
        field("loop_step_mean_s") / field("bare_step_mean_s") - 1.0
    );
    assert!(field("bare_step_median_s") > 0.0 && field("loop_step_median_s") > 0.0);
}
