//! `--teleport` of sample-analytic / bench-analytic and the `mr-analytic` command, through the
//! built binary.

use std::path::Path;
use std::process::{Command, Output};

use ndarray::Array2;
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

fn assert_one_line_error(out: &Output, what: &str, contains: &str) {
    assert!(!out.status.success(), "{what}: expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err:?}");
    assert!(err.contains(contains), "{what}: {err:?} lacks {contains:?}");
}

fn noise(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        let u1 = ((i * d + j) as f64 * 0.754_877_666 + 0.1).fract().max(1e-9);
        let u2 = ((i * d + j) as f64 * 0.569_840_29 + 0.3).fract();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    })
}

fn sample(dir: &Path, extra: &[&str]) -> Output {
    let z = dir.join("z.npy");
    write_npy(&z, &noise(32, 2)).unwrap();
    let out = dir.join("x.npy");
    let mut args = vec![
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "heun",
        "--steps",
        "10",
        "--noise",
        s(&z),
        "--out",
        s(&out),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn teleport_skips_steps_and_saves_evaluations() {
    let dir = tempfile::tempdir().unwrap();
    let plain = sample(dir.path(), &[]);
    assert!(plain.status.success());
    let plain: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&plain.stdout).trim()).unwrap();
    // σ_skip = 20 lies between the 2nd and 3rd values of the 10-step Karras grid (80, 57.6,
    // 40.9, 28.6, 19.7, …): the sampler runs on [20, 19.7, …], 7 steps of Heun.
    let tp = sample(dir.path(), &["--teleport", "20"]);
    assert!(
        tp.status.success(),
        "{}",
        String::from_utf8_lossy(&tp.stderr)
    );
    let tp: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&tp.stdout).trim()).unwrap();
    assert_eq!(tp["teleport"], 20.0);
    assert!(tp["nfe"].as_u64().unwrap() < plain["nfe"].as_u64().unwrap());
    let x: Array2<f64> = read_npy(dir.path().join("x.npy")).unwrap();
    assert!(x.iter().all(|v| v.is_finite()));
}

#[test]
fn bad_teleport_and_theta_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for bad in ["80", "100", "0.001", "-1"] {
        let out = sample(dir.path(), &["--teleport", bad]);
        assert_one_line_error(&out, bad, "invalid --teleport");
    }
    let out = run(&[
        "bench-analytic",
        "--target",
        "ring8",
        "--samplers",
        "heun",
        "--steps",
        "4",
        "--teleport",
        "200",
        "--out-dir",
        s(&dir.path().join("b")),
    ]);
    assert_one_line_error(&out, "bench 200", "invalid --teleport");
    for theta in ["0", "-1"] {
        let out = run(&["mr-analytic", "--target", "ring8", "--theta", theta]);
        assert_one_line_error(&out, theta, "theta_min");
    }
    let out = run(&[
        "mr-analytic",
        "--target",
        "ring8",
        "--samplers",
        "mrs-ode-3",
    ]);
    assert_one_line_error(&out, "mrs-ode-3", "unknown sampler");
}

#[test]
fn bench_reports_teleported_rows_and_nfe_saved() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("b");
    let out = run(&[
        "bench-analytic",
        "--target",
        "ring8",
        "--samples",
        "32",
        "--samplers",
        "heun,dpmpp-2m",
        "--steps",
        "8,16",
        "--teleport",
        "20",
        "--out-dir",
        s(&out_dir),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("bench.json")).unwrap())
            .unwrap();
    let rows = json["teleport"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for row in rows {
        assert!(row["nfe_saved"].as_i64().unwrap() > 0, "{row}");
    }
    let csv = std::fs::read_to_string(out_dir.join("bench.csv")).unwrap();
    assert!(
        csv.lines()
            .any(|l| l.starts_with("heun+tp,sigma,false,16,"))
    );
}

#[test]
fn mr_analytic_runs_mrs_and_the_reverse_sde() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mr.json");
    let out = run(&[
        "mr-analytic",
        "--target",
        "ring8",
        "--mu",
        "1,-1",
        "--samples",
        "200",
        "--steps",
        "10,20",
        "--em-steps",
        "200",
        "--samplers",
        "mrs-ode-1,mrs-ode-2,mrs-sde-2,em",
        "--out",
        s(&path),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    let error = |name: &str, steps: u64| {
        rows.iter()
            .find(|r| r["sampler"] == name && r["steps"] == steps)
            .unwrap()["error"]
            .as_f64()
            .unwrap()
    };
    // Second order beats first order at equal NFE, and halving h cuts its error by ~4.
    assert!(error("mrs-ode-2", 20) < error("mrs-ode-1", 20));
    assert!(error("mrs-ode-2", 10) / error("mrs-ode-2", 20) > 2.5);
}
