//! Every malformed specification is a specific `MixtureError`, never a panic; JSON, files and
//! builtins load what they document.

use std::path::PathBuf;

use scoreflow_score_matching::analytic::{GaussianMixture, MixtureError};

fn eye(d: usize) -> Vec<Vec<f64>> {
    (0..d)
        .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
        .collect()
}

fn two(w: [f64; 2], m1: Vec<f64>, c1: Vec<Vec<f64>>) -> Result<GaussianMixture, MixtureError> {
    GaussianMixture::new(w.to_vec(), vec![vec![0.0, 0.0], m1], vec![eye(2), c1])
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("scoreflow-analytic-{}-{name}", std::process::id()))
}

#[test]
fn bad_weights() {
    let e = two([1.1, -0.1], vec![1.0, 1.0], eye(2)).unwrap_err();
    assert!(
        matches!(e, MixtureError::NonPositiveWeight { component: 1, .. }),
        "{e}"
    );
    let e = two([0.5, 0.4], vec![1.0, 1.0], eye(2)).unwrap_err();
    assert!(
        matches!(e, MixtureError::WeightsNotNormalized { sum } if (sum - 0.9).abs() < 1e-15),
        "{e}"
    );
    let e = two([f64::NAN, 0.5], vec![1.0, 1.0], eye(2)).unwrap_err();
    assert!(matches!(e, MixtureError::NonFinite { .. }), "{e}");
    // Within the 1e-9 tolerance the weights are accepted and renormalised.
    let gm = two([0.5, 0.5 + 5e-10], vec![1.0, 1.0], eye(2)).unwrap();
    assert!((gm.weights().iter().sum::<f64>() - 1.0).abs() < 1e-15);
}

#[test]
fn non_finite_entries() {
    let e = two([0.5, 0.5], vec![f64::NAN, 1.0], eye(2)).unwrap_err();
    assert!(
        matches!(&e, MixtureError::NonFinite { what, .. } if what.contains("mean of component 1")),
        "{e}"
    );
    let e = two(
        [0.5, 0.5],
        vec![0.0, 1.0],
        vec![vec![1.0, 0.0], vec![0.0, f64::INFINITY]],
    )
    .unwrap_err();
    assert!(matches!(e, MixtureError::NonFinite { .. }), "{e}");
}

#[test]
fn bad_covariances() {
    let e = two(
        [0.5, 0.5],
        vec![0.0, 1.0],
        vec![vec![1.0, 0.2], vec![0.1, 1.0]],
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            MixtureError::NotSymmetric {
                component: 1,
                row: 0,
                col: 1,
                ..
            }
        ),
        "{e}"
    );
    // Eigenvalues 3 and −1.
    let e = two(
        [0.5, 0.5],
        vec![0.0, 1.0],
        vec![vec![1.0, 2.0], vec![2.0, 1.0]],
    )
    .unwrap_err();
    assert!(
        matches!(e, MixtureError::NotPositiveDefinite { component: 1, .. }),
        "{e}"
    );
    // Singular (PSD but not PD).
    let e = two(
        [0.5, 0.5],
        vec![0.0, 1.0],
        vec![vec![1.0, 1.0], vec![1.0, 1.0]],
    )
    .unwrap_err();
    assert!(matches!(e, MixtureError::NotPositiveDefinite { .. }), "{e}");
    // Asymmetry at roundoff level relative to the entries is tolerated.
    two(
        [0.5, 0.5],
        vec![0.0, 1.0],
        vec![vec![1.0, 0.3], vec![0.3 + 1e-16, 1.0]],
    )
    .unwrap();
}

#[test]
fn shape_mismatches() {
    let e = two([0.5, 0.5], vec![0.0, 1.0, 2.0], eye(2)).unwrap_err();
    assert!(
        matches!(&e, MixtureError::DimensionMismatch { component: 1, what, expected: 2, found: 3 } if what == "mean"),
        "{e}"
    );
    let e = two([0.5, 0.5], vec![0.0, 1.0], eye(3)).unwrap_err();
    assert!(
        matches!(
            e,
            MixtureError::DimensionMismatch {
                component: 1,
                found: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = two([0.5, 0.5], vec![0.0, 1.0], vec![vec![1.0, 0.0], vec![0.0]]).unwrap_err();
    assert!(
        matches!(&e, MixtureError::DimensionMismatch { what, .. } if what.contains("row 1")),
        "{e}"
    );
    let e = GaussianMixture::new(vec![1.0], vec![vec![0.0], vec![1.0]], vec![eye(1)]).unwrap_err();
    assert!(
        matches!(
            e,
            MixtureError::ComponentCountMismatch {
                weights: 1,
                means: 2,
                covs: 1
            }
        ),
        "{e}"
    );
    let e = GaussianMixture::new(vec![], vec![], vec![]).unwrap_err();
    assert!(matches!(e, MixtureError::Empty { .. }), "{e}");
    let e = GaussianMixture::new(vec![1.0], vec![vec![]], vec![vec![]]).unwrap_err();
    assert!(matches!(e, MixtureError::Empty { .. }), "{e}");
}

#[test]
fn json_parsing() {
    let gm = GaussianMixture::from_json_str(
        r#"{"weights": [0.25, 0.75], "means": [[0, 1], [2, 3]], "covs": [[[1, 0.5], [0.5, 2]], [[1, 0], [0, 1]]]}"#,
    )
    .unwrap();
    assert_eq!(gm.dim(), 2);
    assert_eq!(gm.n_components(), 2);
    assert_eq!(gm.covs()[0][1], vec![0.5, 2.0]);

    for bad in [
        r#"{"weights": [1.0], "means": [[0, 1]]"#,
        r#"{"weights": [1.0], "means": [[0, 1]], "cov": [[[1, 0], [0, 1]]]}"#,
        r#"{"weights": [1.0], "means": [[0, NaN]], "covs": [[[1, 0], [0, 1]]]}"#,
        "not json",
    ] {
        let e = GaussianMixture::from_json_str(bad).unwrap_err();
        assert!(
            matches!(e, MixtureError::Json { path: None, .. }),
            "{bad}: {e}"
        );
    }
    // Well-formed JSON describing an invalid mixture is a validation error, not a JSON one.
    let e =
        GaussianMixture::from_json_str(r#"{"weights": [0.9], "means": [[0]], "covs": [[[1]]]}"#)
            .unwrap_err();
    assert!(
        matches!(e, MixtureError::WeightsNotNormalized { .. }),
        "{e}"
    );
}

#[test]
fn json_round_trip_is_exact() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let back = GaussianMixture::from_json_str(&gm.to_json_string()).unwrap();
    assert_eq!(back.weights(), gm.weights());
    assert_eq!(back.means(), gm.means());
    assert_eq!(back.covs(), gm.covs());
    let x = vec![0.5; 16];
    assert_eq!(back.log_prob(&x, 0.3), gm.log_prob(&x, 0.3));
}

#[test]
fn files_and_load() {
    let path = temp_path("ring.json");
    let ring = GaussianMixture::builtin("ring8").unwrap();
    std::fs::write(&path, ring.to_json_string()).unwrap();
    let from_file = GaussianMixture::from_json_file(&path).unwrap();
    assert_eq!(from_file.means(), ring.means());
    let loaded = GaussianMixture::load(path.to_str().unwrap()).unwrap();
    assert_eq!(loaded.weights(), ring.weights());

    std::fs::write(&path, "{ broken").unwrap();
    let e = GaussianMixture::from_json_file(&path).unwrap_err();
    assert!(
        matches!(&e, MixtureError::Json { path: Some(p), .. } if *p == path),
        "{e}"
    );
    assert!(e.to_string().contains(path.to_str().unwrap()));
    std::fs::remove_file(&path).unwrap();

    let missing = temp_path("does-not-exist.json");
    let e = GaussianMixture::from_json_file(&missing).unwrap_err();
    assert!(
        matches!(&e, MixtureError::Io { path, .. } if *path == missing),
        "{e}"
    );
    assert!(e.to_string().contains(missing.to_str().unwrap()), "{e}");
    let e = GaussianMixture::load(missing.to_str().unwrap()).unwrap_err();
    assert!(matches!(e, MixtureError::Io { .. }), "{e}");
}

#[test]
fn builtins() {
    assert_eq!(
        GaussianMixture::builtin_names(),
        ["ring8", "grid25", "gauss16d"]
    );
    for name in GaussianMixture::builtin_names() {
        let gm = GaussianMixture::load(name).unwrap();
        assert_eq!(
            gm.n_components(),
            GaussianMixture::builtin(name).unwrap().n_components()
        );
    }
    let e = GaussianMixture::builtin("ring9").unwrap_err();
    assert!(
        matches!(&e, MixtureError::UnknownBuiltin { name, .. } if name == "ring9"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("ring8") && msg.contains("grid25") && msg.contains("gauss16d"),
        "{msg}"
    );
    let e = GaussianMixture::load("ring9").unwrap_err();
    assert!(matches!(e, MixtureError::UnknownBuiltin { .. }), "{e}");

    let ring = GaussianMixture::builtin("ring8").unwrap();
    assert_eq!((ring.dim(), ring.n_components()), (2, 8));
    for (k, m) in ring.means().iter().enumerate() {
        let angle = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
        assert!(
            (m[0] - 4.0 * angle.cos()).abs() < 1e-15 && (m[1] - 4.0 * angle.sin()).abs() < 1e-15
        );
        assert_eq!(ring.covs()[k], vec![vec![0.25, 0.0], vec![0.0, 0.25]]);
        assert_eq!(ring.weights()[k], 0.125);
    }

    let grid = GaussianMixture::builtin("grid25").unwrap();
    assert_eq!((grid.dim(), grid.n_components()), (2, 25));
    for m in grid.means() {
        assert!(m.iter().all(|v| [-4.0, -2.0, 0.0, 2.0, 4.0].contains(v)));
    }
    let mut distinct: Vec<_> = grid
        .means()
        .iter()
        .map(|m| (m[0] as i64, m[1] as i64))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 25);
    assert!(
        grid.covs()
            .iter()
            .all(|c| *c == vec![vec![0.09, 0.0], vec![0.0, 0.09]])
    );

    let g16 = GaussianMixture::builtin("gauss16d").unwrap();
    assert_eq!((g16.dim(), g16.n_components()), (16, 3));
    assert_eq!(g16.weights(), [0.5, 0.3, 0.2]);
    for cov in g16.covs() {
        // Σ = BBᵀ/16 + 0.5 I: diagonal ≥ 0.5, genuinely non-diagonal, and vᵀΣv ≥ 0.5|v|².
        assert!((0..16).all(|i| cov[i][i] >= 0.5));
        assert!(cov[0][1].abs() > 1e-3);
        for v in g16.sample(4, 0).chunks_exact(16) {
            let q: f64 = (0..16)
                .map(|i| (0..16).map(|j| v[i] * cov[i][j] * v[j]).sum::<f64>())
                .sum();
            assert!(q >= 0.5 * v.iter().map(|x| x * x).sum::<f64>());
        }
    }
    assert_eq!(
        g16.means(),
        GaussianMixture::builtin("gauss16d").unwrap().means()
    );
}
