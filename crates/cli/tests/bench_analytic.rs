//! `scoreflow bench-analytic` end to end: the built binary on a small configuration.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

const SAMPLERS: &[&str] = &["euler", "heun", "dpmpp-2m", "euler-ancestral", "fm-rk4"];
const STEPS: &[usize] = &[4, 8];

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .arg("bench-analytic")
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The CSV as (sampler, steps) → column name → value.
fn read_csv(path: &Path) -> HashMap<(String, usize), HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut rows = HashMap::new();
    for line in lines {
        // No failure messages (the only quoted field) are expected here.
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), header.len(), "row {line:?}");
        let row: HashMap<String, String> = header
            .iter()
            .zip(&fields)
            .map(|(h, f)| (h.to_string(), f.to_string()))
            .collect();
        let key = (row["sampler"].clone(), row["steps"].parse().unwrap());
        assert!(rows.insert(key, row).is_none(), "duplicate row {line:?}");
    }
    rows
}

#[test]
fn small_benchmark_writes_table_csv_json_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("nested/out");
    let output = bench(&[
        "--target",
        "ring8",
        "--samples",
        "64",
        "--steps",
        "4,8",
        "--samplers",
        &SAMPLERS.join(","),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("noise floor"), "{stdout}");

    for file in [
        "error_vs_nfe.png",
        "flow_error_vs_nfe.png",
        "sw2_vs_nfe.png",
        "bench.csv",
        "bench.json",
    ] {
        let len = std::fs::metadata(out_dir.join(file)).unwrap().len();
        assert!(len > 0, "{file} is empty");
    }
    let png = std::fs::read(out_dir.join("error_vs_nfe.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let rows = read_csv(&out_dir.join("bench.csv"));
    assert_eq!(rows.len(), SAMPLERS.len() * STEPS.len());
    for sampler in SAMPLERS {
        for &steps in STEPS {
            let row = &rows[&(sampler.to_string(), steps)];
            assert_eq!(row["failure"], "", "{sampler} at {steps} steps failed");
            let sw2: f64 = row["sw2"].parse().unwrap();
            assert!(sw2.is_finite() && sw2 >= 0.0, "{sampler}: sw2 {sw2}");
            if row["stochastic"] == "true" {
                assert_eq!(row["error"], "", "{sampler} is stochastic");
            } else {
                let error: f64 = row["error"].parse().unwrap();
                assert!(
                    error.is_finite() && error >= 0.0,
                    "{sampler}: error {error}"
                );
            }
        }
    }
    assert_eq!(rows[&("euler-ancestral".into(), 4)]["stochastic"], "true");
    let heun = |steps: usize| -> f64 { rows[&("heun".into(), steps)]["error"].parse().unwrap() };
    assert!(
        heun(8) < heun(4),
        "heun: {} at 8 steps, {} at 4",
        heun(8),
        heun(4)
    );
    let nfe = |sampler: &str, steps: usize| -> usize {
        rows[&(sampler.into(), steps)]["nfe"].parse().unwrap()
    };
    assert_eq!(nfe("euler", 8), 8);
    assert_eq!(nfe("fm-rk4", 4), 16);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("bench.json")).unwrap())
            .unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), rows.len());
    assert!(json["sw2_noise_floor"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_arguments_fail_with_one_line_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("never-created");
    let out = out_dir.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &["--target", "ring8", "--steps", "0"],
        &["--target", "ring8", "--steps", "4,x"],
        &["--target", "ring8", "--samplers", "euler,nope"],
        &["--target", "ring8", "--sigma-min", "90"],
        &["--target", "ring8", "--samples", "0"],
        &["--target", "no-such-target"],
    ];
    for args in cases {
        let output = bench(&[args, &["--out-dir", out][..]].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("scoreflow: error:"),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{args:?} printed results");
    }
    assert!(!out_dir.exists(), "the output directory was created");
}
