//! The `sample-analytic` / `nll-analytic` contract, run through the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, write_npy};
use scoreflow_score_matching::analytic::GaussianMixture;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scoreflow"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// Deterministic standard-normal-like noise (Box–Muller on a fixed low-discrepancy sequence).
fn noise(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        let u1 = ((i * d + j) as f64 * 0.754_877_666 + 0.1).fract().max(1e-9);
        let u2 = ((i * d + j) as f64 * 0.569_840_29 + 0.3).fract();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    })
}

fn write(dir: &Path, name: &str, a: &Array2<f64>) -> PathBuf {
    let p = dir.join(name);
    write_npy(&p, a).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_one_line_error(out: &Output, what: &str) {
    assert!(!out.status.success(), "{what}: expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{what}: stderr must be one line, got {err:?}"
    );
}

#[test]
fn sample_analytic_writes_samples_and_a_json_line() {
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "z.npy", &noise(64, 2));
    let out_path = dir.path().join("x.npy");
    let out = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "euler",
        "--steps",
        "10",
        "--noise",
        s(&z),
        "--out",
        s(&out_path),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let json: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(json["sampler"], "euler");
    assert_eq!(json["steps"], 10);
    assert_eq!(json["nfe"], 10);
    assert!(json["seconds"].as_f64().unwrap() >= 0.0);
    let x: Array2<f64> = read_npy(&out_path).unwrap();
    assert_eq!(x.dim(), (64, 2));
    // Samples of ring8 lie near radius 4.
    let mean_r = x
        .rows()
        .into_iter()
        .map(|r| (r[0] * r[0] + r[1] * r[1]).sqrt())
        .sum::<f64>()
        / 64.0;
    assert!((mean_r - 4.0).abs() < 0.5, "mean radius {mean_r}");
}

/// The same seed gives the same samples whatever the batch size: sample i depends only on its
/// own noise row and on (seed, i).
#[test]
fn stochastic_samples_do_not_depend_on_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let z = noise(8, 2);
    let z8 = write(dir.path(), "z8.npy", &z);
    let z3 = write(
        dir.path(),
        "z3.npy",
        &z.slice(ndarray::s![..3, ..]).to_owned(),
    );
    for sampler in ["euler-ancestral", "dpmpp-2m-sde", "ddpm"] {
        let (o8, o3) = (dir.path().join("o8.npy"), dir.path().join("o3.npy"));
        for (zp, op) in [(&z8, &o8), (&z3, &o3)] {
            let out = run(&[
                "sample-analytic",
                "--target",
                "grid25",
                "--sampler",
                sampler,
                "--steps",
                "12",
                "--noise",
                s(zp),
                "--seed",
                "7",
                "--out",
                s(op),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (a, b): (Array2<f64>, Array2<f64>) = (read_npy(&o8).unwrap(), read_npy(&o3).unwrap());
        assert_eq!(a.slice(ndarray::s![..3, ..]), b, "{sampler}");
        // A different seed changes the samples.
        let o = dir.path().join("o.npy");
        run(&[
            "sample-analytic",
            "--target",
            "grid25",
            "--sampler",
            sampler,
            "--steps",
            "12",
            "--noise",
            s(&z3),
            "--seed",
            "8",
            "--out",
            s(&o),
        ]);
        let c: Array2<f64> = read_npy(&o).unwrap();
        assert_ne!(b, c, "{sampler}");
    }
}

/// Flow samplers start at x(0) = z and reach the data: fm-dopri5 at tight tolerance lands on
/// the same points as fm-rk4 with many steps.
#[test]
fn flow_samplers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "z.npy", &noise(16, 2));
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    let o1 = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "fm-rk4",
        "--steps",
        "400",
        "--noise",
        s(&z),
        "--out",
        s(&a),
    ]);
    let o2 = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "fm-dopri5",
        "--steps",
        "1",
        "--rtol",
        "1e-9",
        "--atol",
        "1e-9",
        "--noise",
        s(&z),
        "--out",
        s(&b),
    ]);
    assert!(o1.status.success() && o2.status.success());
    let (x, y): (Array2<f64>, Array2<f64>) = (read_npy(&a).unwrap(), read_npy(&b).unwrap());
    let diff = (&x - &y).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(diff < 1e-5, "fm-rk4 vs fm-dopri5: {diff}");
}

/// nll-analytic reproduces the exact mixture density at exact samples.
#[test]
fn nll_analytic_matches_exact_density() {
    let dir = tempfile::tempdir().unwrap();
    let target = GaussianMixture::builtin("ring8").unwrap();
    let pts = Array2::from_shape_vec((8, 2), target.sample(8, 3)).unwrap();
    let p = write(dir.path(), "p.npy", &pts);
    let o = dir.path().join("nll.npy");
    let out = run(&[
        "nll-analytic",
        "--target",
        "ring8",
        "--points",
        s(&p),
        "--out",
        s(&o),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nll: Array1<f64> = read_npy(&o).unwrap();
    let mae = pts
        .rows()
        .into_iter()
        .zip(nll.iter())
        .map(|(r, v)| (v + target.log_prob(r.as_slice().unwrap(), 0.0)).abs())
        .sum::<f64>()
        / 8.0;
    assert!(mae <= 1e-5, "MAE {mae}");
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert!(json["nfe"].as_u64().unwrap() > 0);
}

#[test]
fn bad_input_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "z.npy", &noise(4, 2));
    let z3 = write(dir.path(), "z3.npy", &noise(4, 3));
    let mut bad = noise(4, 2);
    bad[[2, 1]] = f64::NAN;
    let zn = write(dir.path(), "zn.npy", &bad);
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not an npy file").unwrap();
    let bad_json = dir.path().join("t.json");
    std::fs::write(&bad_json, br#"{"weights": [0.5, 0.6], "means": [[0,0],[1,1]], "covs": [[[1,0],[0,1]],[[1,0],[0,1]]]}"#).unwrap();
    let out = dir.path().join("x.npy");
    let strings = |args: &[&str]| -> Vec<String> { args.iter().map(|v| v.to_string()).collect() };
    let sample = |target: &str, sampler: &str, steps: &str, noise: &Path| {
        strings(&[
            "sample-analytic",
            "--target",
            target,
            "--sampler",
            sampler,
            "--steps",
            steps,
            "--noise",
            s(noise),
            "--out",
            s(&out),
        ])
    };
    let base = |sampler: &str, steps: &str, noise: &Path| sample("ring8", sampler, steps, noise);
    let nll = |points: &Path| {
        strings(&[
            "nll-analytic",
            "--target",
            "ring8",
            "--points",
            s(points),
            "--out",
            s(&out),
        ])
    };
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("unknown sampler", base("nope", "10", &z)),
        ("zero steps", base("euler", "0", &z)),
        (
            "missing noise file",
            base("euler", "10", &dir.path().join("absent.npy")),
        ),
        ("malformed noise file", base("euler", "10", &garbage)),
        ("wrong shape", base("euler", "10", &z3)),
        ("NaN in noise", base("euler", "10", &zn)),
        (
            "sigma-min >= sigma-max",
            [
                base("euler", "10", &z),
                vec!["--sigma-min".into(), "90".into()],
            ]
            .concat(),
        ),
        (
            "negative sigma",
            [
                base("euler", "10", &z),
                vec!["--sigma-min".into(), "-1".into()],
            ]
            .concat(),
        ),
        ("unknown target", sample("ring9", "euler", "3", &z)),
        ("bad target weights", sample(s(&bad_json), "euler", "3", &z)),
        (
            "nll zero probes",
            [nll(&z), strings(&["--hutchinson", "0"])].concat(),
        ),
        ("nll bad points", nll(&zn)),
    ];
    for (what, args) in cases {
        let o = bin().args(&args).output().unwrap();
        assert_one_line_error(&o, what);
    }
    assert!(!out.exists(), "no output may be written on failure");
}

/// A Fortran-ordered `.npy` (numpy's `order='F'`) is a valid noise file: the same values in
/// either order give the same samples.
#[test]
fn fortran_ordered_noise_reads_like_c_ordered_noise() {
    let dir = tempfile::tempdir().unwrap();
    let z = noise(16, 2);
    let c_path = write(dir.path(), "z_c.npy", &z);
    // NPY format 1.0 written by hand: ndarray-npy always writes C order.
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': True, 'shape': ({}, {}), }}",
        z.nrows(),
        z.ncols()
    );
    let pad = 64 - (10 + dict.len() + 1) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for j in 0..z.ncols() {
        for i in 0..z.nrows() {
            bytes.extend(z[[i, j]].to_le_bytes());
        }
    }
    let f_path = dir.path().join("z_f.npy");
    std::fs::write(&f_path, bytes).unwrap();
    let sample = |noise_path: &Path, out: &Path| {
        let o = run(&[
            "sample-analytic",
            "--target",
            "ring8",
            "--sampler",
            "heun",
            "--steps",
            "5",
            "--noise",
            s(noise_path),
            "--out",
            s(out),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        read_npy::<_, Array2<f64>>(out).unwrap()
    };
    let a = sample(&c_path, &dir.path().join("a.npy"));
    let b = sample(&f_path, &dir.path().join("b.npy"));
    assert_eq!(a, b);
}

/// An `.npy` written by hand (format 1.0) with the given dtype descriptor and element bytes.
fn npy_bytes(
    descr: &str,
    rows: usize,
    cols: usize,
    elements: impl Iterator<Item = Vec<u8>>,
) -> Vec<u8> {
    let dict =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let pad = 64 - (10 + dict.len() + 1) % 64;
    let header = format!("{dict}{}\n", " ".repeat(pad));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for e in elements {
        bytes.extend(e);
    }
    bytes
}

fn sample_heun(noise: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "heun",
        "--steps",
        "6",
        "--noise",
        s(noise),
        "--out",
        s(out),
    ];
    args.extend(extra);
    run(&args)
}

/// Big-endian float64 and float32 noise files are valid: they give the samples of the same values
/// written little-endian (float32 values widen exactly).
#[test]
fn big_endian_and_float32_noise_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    // Values exactly representable in f32, so that all three files hold the same numbers.
    let z = noise(8, 2).mapv(|v| f64::from(v as f32));
    let le = write(dir.path(), "le.npy", &z);
    let be = dir.path().join("be.npy");
    std::fs::write(
        &be,
        npy_bytes(">f8", 8, 2, z.iter().map(|v| v.to_be_bytes().to_vec())),
    )
    .unwrap();
    let f32_path = dir.path().join("f4.npy");
    let f4 = z.iter().map(|&v| (v as f32).to_le_bytes().to_vec());
    std::fs::write(&f32_path, npy_bytes("<f4", 8, 2, f4)).unwrap();
    let mut outs = Vec::new();
    for (i, path) in [le, be, f32_path].iter().enumerate() {
        let out = dir.path().join(format!("x{i}.npy"));
        let o = sample_heun(path, &out, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(read_npy::<_, Array2<f64>>(&out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
}

/// `--grid FILE.json` is used exactly as given: the file holding the condot grid's values gives
/// the `--grid condot` samples bit for bit, and its length fixes the steps.
#[test]
fn grid_file_is_used_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "z.npy", &noise(16, 2));
    let grid = scoreflow_noise_schedules::SigmaGrid::condot_uniform(6, 0.002, 80.0).unwrap();
    let file = dir.path().join("grid.json");
    std::fs::write(&file, serde_json::to_string(&grid).unwrap()).unwrap();
    let (a, b) = (dir.path().join("a.npy"), dir.path().join("b.npy"));
    let o = sample_heun(&z, &a, &["--grid", "condot"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "heun",
        "--grid",
        s(&file),
        "--noise",
        s(&z),
        "--out",
        s(&b),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["steps"], 6);
    assert_eq!(
        read_npy::<_, Array2<f64>>(&a).unwrap(),
        read_npy::<_, Array2<f64>>(&b).unwrap()
    );
}

/// Grid files that are not strictly decreasing, hold NaN or a negative σ, are not JSON, or do not
/// match `--steps` or the sampler fail with one line and write nothing.
#[test]
fn bad_grid_files_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "z.npy", &noise(4, 2));
    let out = dir.path().join("x.npy");
    let grid = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good = grid("good.json", "[80.0, 10.0, 1.0, 0.1, 0.0]");
    let cases = [
        (
            "increasing",
            grid("up.json", "[80.0, 10.0, 20.0, 0.0]"),
            "heun",
            None,
        ),
        (
            "repeated",
            grid("rep.json", "[80.0, 10.0, 10.0, 0.0]"),
            "heun",
            None,
        ),
        (
            "NaN",
            grid("nan.json", "[80.0, NaN, 1.0, 0.0]"),
            "heun",
            None,
        ),
        (
            "null",
            grid("null.json", "[80.0, null, 1.0, 0.0]"),
            "heun",
            None,
        ),
        (
            "negative",
            grid("neg.json", "[80.0, 1.0, -1.0]"),
            "heun",
            None,
        ),
        (
            "zero inside",
            grid("zero.json", "[80.0, 0.0, 1.0]"),
            "heun",
            None,
        ),
        ("one value", grid("one.json", "[80.0]"), "heun", None),
        ("not json", grid("bad.json", "80 10 0"), "heun", None),
        ("steps mismatch", good.clone(), "heun", Some("6")),
        ("flow sampler", good.clone(), "fm-euler", None),
        ("missing file", dir.path().join("absent.json"), "heun", None),
    ];
    for (what, path, sampler, steps) in cases {
        let mut args = vec![
            "sample-analytic",
            "--target",
            "ring8",
            "--sampler",
            sampler,
            "--grid",
            s(&path),
            "--noise",
            s(&z),
            "--out",
            s(&out),
        ];
        if let Some(steps) = steps {
            args.extend(["--steps", steps]);
        }
        let o = run(&args);
        assert_one_line_error(&o, what);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("grid") || err.contains("steps"),
            "{what}: {err}"
        );
    }
    assert!(!out.exists(), "no output may be written on failure");
}

/// `--sampler help` lists every sampler with its order, without the command's other arguments;
/// an unknown name lists every known one, flow samplers included.
#[test]
fn sampler_help_and_unknown_names() {
    let o = run(&["sample-analytic", "--sampler", "help"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let help = String::from_utf8(o.stdout).unwrap();
    for name in scoreflow_ode_sde_solvers::samplers::SAMPLER_NAMES
        .iter()
        .chain(scoreflow_flow_matching::sampling::FLOW_SAMPLER_NAMES)
    {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(*name)),
            "{name}"
        );
    }
    assert!(help.contains("unipc-bh2 (= unipc"), "{help}");
    let dir = tempfile::tempdir().unwrap();
    let z = write(dir.path(), "z.npy", &noise(4, 2));
    let out = dir.path().join("x.npy");
    let o = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "dpmpp-9m",
        "--steps",
        "4",
        "--noise",
        s(&z),
        "--out",
        s(&out),
    ]);
    assert_one_line_error(&o, "unknown sampler");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("dpmpp-2m") && err.contains("fm-rk4") && err.contains("--sampler help"),
        "{err}"
    );
}

#[test]
fn fkc_and_dmcmc_reject_bad_input_in_one_line() {
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "fkc-analytic",
                "--mode",
                "anneal",
                "--target",
                "ring8",
                "--beta",
                "0",
            ],
            "beta",
        ),
        (
            &[
                "fkc-analytic",
                "--mode",
                "anneal",
                "--target",
                "ring8",
                "--beta",
                "-2",
            ],
            "beta",
        ),
        (
            &[
                "fkc-analytic",
                "--mode",
                "anneal",
                "--target",
                "ring8",
                "--beta",
                "2",
                "--ess-threshold",
                "1.5",
            ],
            "ess_threshold",
        ),
        (
            &[
                "fkc-analytic",
                "--mode",
                "anneal",
                "--target",
                "ring8",
                "--floor-replicates",
                "0",
            ],
            "floor_replicates",
        ),
        (
            &["dmcmc-analytic", "--target", "ring8", "--sigma-skip", "100"],
            "sigma_skip",
        ),
        (
            &["dmcmc-analytic", "--target", "ring8", "--theta", "0"],
            "theta",
        ),
    ];
    for (args, what) in cases {
        let out = run(args);
        assert_one_line_error(&out, what);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{what}: {err}");
    }
}

/// SW₂ of `fkc-analytic --mode product` (tempered noise, η = 2, 800 steps) and the floor (mean
/// of 8 exact-vs-exact distances), from its JSON line.
fn fkc_product(target: &str, target2: &str, seed: &str, extra: &[&str]) -> (f64, f64) {
    let mut args = vec![
        "fkc-analytic",
        "--mode",
        "product",
        "--target",
        target,
        "--target2",
        target2,
        "--noise",
        "tempered",
        "--eta",
        "2",
        "--steps",
        "800",
        "--seed",
        seed,
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    (
        json["sw2"].as_f64().unwrap(),
        json["floor"].as_f64().unwrap(),
    )
}

#[test]
fn fkc_products_reach_the_exact_product_and_the_naive_sampler_does_not() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/targets/");
    // Over seeds 0–19 (docs/methods.md) the ratio to the floor is 1.29 ± 0.03 in 16-D (max
    // 1.55) and 1.29 ± 0.09 in 2-D, where one sample's SW₂ scatters by ±30% (it is dominated
    // by the eight mode masses, a few degrees of freedom): an exact sampler's own ratio there
    // passes 1.5 for some seeds, so the 2-D bound is 2× (seeds 0, 1: 1.76, 0.92; 16-D: 1.41,
    // 1.13).
    for (a, b, bound) in [
        ("ring8", format!("{root}fkc-broad2d.json"), 2.0),
        ("gauss16d", format!("{root}fkc-mix16d.json"), 1.5),
    ] {
        for seed in ["0", "1"] {
            let (fkc, floor) = fkc_product(a, &b, seed, &[]);
            assert!(
                fkc <= bound * floor,
                "{a}, seed {seed}: FKC SW2 {fkc} vs floor {floor}"
            );
            if seed == "0" {
                let (naive, _) = fkc_product(a, &b, seed, &["--naive"]);
                assert!(naive > 2.0 * fkc, "{a}: naive {naive} vs FKC {fkc}");
            }
        }
    }
}

/// `fm-gauss` on Gaussian data is the exact flow map z ↦ μ + Σ^{1/2} z (the symmetric square
/// root, the CondOT flow of N(μ, Σ)) whatever the number of calls, and spends exactly --steps
/// velocity calls; teleportation does not apply to it (one-line error).
#[test]
fn fm_gauss_transports_gaussian_data_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (m, c): ([f64; 2], [[f64; 2]; 2]) = ([1.5, -0.5], [[2.0, 0.6], [0.6, 0.5]]);
    let target = dir.path().join("gauss.json");
    std::fs::write(
        &target,
        serde_json::json!({"weights": [1.0], "means": [m], "covs": [c]}).to_string(),
    )
    .unwrap();
    let z = noise(32, 2);
    let zp = write(dir.path(), "z.npy", &z);
    let out_path = dir.path().join("x.npy");
    let out = run(&[
        "sample-analytic",
        "--target",
        s(&target),
        "--sampler",
        "fm-gauss",
        "--steps",
        "3",
        "--noise",
        s(&zp),
        "--out",
        s(&out_path),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(json["nfe"], 3);
    // √A of a 2 × 2 symmetric positive-definite A: (A + √det A · I) / √(tr A + 2√det A).
    let det = c[0][0] * c[1][1] - c[0][1] * c[1][0];
    let k = (c[0][0] + c[1][1] + 2.0 * det.sqrt()).sqrt();
    let root = [
        [(c[0][0] + det.sqrt()) / k, c[0][1] / k],
        [c[1][0] / k, (c[1][1] + det.sqrt()) / k],
    ];
    let x: Array2<f64> = read_npy(&out_path).unwrap();
    for (xr, zr) in x.rows().into_iter().zip(z.rows()) {
        for i in 0..2 {
            let exact = m[i] + root[i][0] * zr[0] + root[i][1] * zr[1];
            assert!((xr[i] - exact).abs() < 1e-10, "{} vs {exact}", xr[i]);
        }
    }
    let o = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "fm-gauss",
        "--steps",
        "3",
        "--teleport",
        "2",
        "--noise",
        s(&zp),
        "--out",
        s(&out_path),
    ]);
    assert_one_line_error(&o, "fm-gauss with --teleport");
}

/// `auto` (with the target's moments: `gauss-2`) and `gauss-3` on Gaussian data reach the exact
/// end of the probability-flow ODE from x = σ_max·z, x(0) = μ + Σ^{1/2}(Σ + σ_max²I)^{−1/2}(σ_max·z − μ),
/// with exactly --steps denoiser calls; --teleport does not apply to them (one-line error).
#[test]
fn auto_reaches_the_exact_sigma_space_endpoint_on_gaussian_data() {
    let dir = tempfile::tempdir().unwrap();
    let (m, c): ([f64; 2], [f64; 2]) = ([0.5, -1.0], [2.0, 0.5]);
    let target = dir.path().join("gauss.json");
    std::fs::write(
        &target,
        serde_json::json!({"weights": [1.0], "means": [m], "covs": [[[c[0], 0.0], [0.0, c[1]]]]})
            .to_string(),
    )
    .unwrap();
    let z = noise(16, 2);
    let zp = write(dir.path(), "z.npy", &z);
    let out_path = dir.path().join("x.npy");
    let sigma_max: f64 = 30.0;
    for sampler in ["auto", "gauss-3"] {
        let out = run(&[
            "sample-analytic",
            "--target",
            s(&target),
            "--sampler",
            sampler,
            "--steps",
            "4",
            "--sigma-max",
            "30",
            "--noise",
            s(&zp),
            "--out",
            s(&out_path),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        assert_eq!(json["nfe"], 4);
        let x: Array2<f64> = read_npy(&out_path).unwrap();
        for (xr, zr) in x.rows().into_iter().zip(z.rows()) {
            for i in 0..2 {
                let gain = (c[i] / (c[i] + sigma_max * sigma_max)).sqrt();
                let exact = m[i] + gain * (sigma_max * zr[i] - m[i]);
                assert!(
                    (xr[i] - exact).abs() < 1e-10,
                    "{sampler}: {} vs {exact}",
                    xr[i]
                );
            }
        }
    }
    let o = run(&[
        "sample-analytic",
        "--target",
        "ring8",
        "--sampler",
        "auto",
        "--steps",
        "3",
        "--teleport",
        "2",
        "--noise",
        s(&zp),
        "--out",
        s(&out_path),
    ]);
    assert_one_line_error(
        &o,
        "auto already starts on the moment-matched Gaussian's flow",
    );
}
