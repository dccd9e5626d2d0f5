//! The Brownian sources: exact moments, consistency of the path, per-sample seeding.

use ndarray::Array1;
use scoreflow_ode_sde_solvers::SolveError;
use scoreflow_ode_sde_solvers::brownian::{
    BrownianSource, SequentialBrownian, VirtualBrownianTree, sample_seeds,
};

const N: usize = 20_000;

fn tree(n: usize, seed: u64) -> VirtualBrownianTree<Array1<f64>> {
    VirtualBrownianTree::new(
        &Array1::<f64>::zeros(n),
        0.0,
        1.0,
        1e-6,
        &sample_seeds(seed, n),
    )
    .unwrap()
}

fn mean(a: &Array1<f64>) -> f64 {
    a.mean().unwrap()
}

/// |sample mean − expected| within 5 standard errors of a product of jointly Gaussian variables.
fn assert_moment(name: &str, got: f64, expected: f64, var_of_product: f64) {
    let se = (var_of_product / N as f64).sqrt();
    assert!(
        (got - expected).abs() <= 5.0 * se,
        "{name}: {got} vs {expected} (se {se})"
    );
}

/// ΔW ~ N(0, h), H ~ N(0, h/12), independent, on dyadic and non-dyadic intervals.
#[test]
fn tree_increments_have_exact_moments() {
    let mut bm = tree(N, 11);
    for (s, u) in [(0.0, 1.0), (0.25, 0.5), (0.3, 0.55), (0.123, 0.9)] {
        let h = u - s;
        let inc = bm.increment(s, u, true).unwrap();
        let lh = inc.levy_h.unwrap();
        assert_moment("E[ΔW]", mean(&inc.dw), 0.0, h);
        assert_moment("E[ΔW²]", mean(&inc.dw.mapv(|v| v * v)), h, 2.0 * h * h);
        assert_moment(
            "E[H²]",
            mean(&lh.mapv(|v| v * v)),
            h / 12.0,
            2.0 * (h / 12.0).powi(2),
        );
        assert_moment("E[ΔW·H]", mean(&(&inc.dw * &lh)), 0.0, h * h / 12.0);
    }
}

/// Cov(W_s, W_t) = min(s, t), and Cov(H₀₁, W_t) = ∫₀¹ (min(r, t) − r t) dr = t/2 − t²/2 · … which
/// for the whole unit interval is t(1 − t)/2: the Lévy area carried through the splits is the
/// one of the same path.
#[test]
fn tree_path_has_brownian_covariances() {
    let mut bm = tree(N, 12);
    let w =
        |bm: &mut VirtualBrownianTree<Array1<f64>>, t: f64| bm.increment(0.0, t, false).unwrap().dw;
    let (w3, w7) = (w(&mut bm, 0.3), w(&mut bm, 0.7));
    assert_moment("E[W.3 W.7]", mean(&(&w3 * &w7)), 0.3, 0.3 * 0.7 + 0.09);
    let h01 = bm.increment(0.0, 1.0, true).unwrap().levy_h.unwrap();
    for t in [0.5, 0.3, 0.8125] {
        let wt = w(&mut bm, t);
        let cov = t * (1.0 - t) / 2.0;
        assert_moment("E[H01 W_t]", mean(&(&h01 * &wt)), cov, t / 12.0 + cov * cov);
    }
}

/// W and ∫W are functions of time, so increments add up exactly, in any query order, and the
/// iterated integral is additive: ∫ₐᶜ W_{a,r} dr = ∫ₐᵇ W_{a,r} dr + (c − b)W_{a,b} + ∫ᵦᶜ W_{b,r} dr.
#[test]
fn tree_is_one_consistent_path() {
    let mut bm = tree(64, 13);
    let (a, b, c) = (0.1, 0.437, 0.9);
    let int = |inc: &scoreflow_ode_sde_solvers::brownian::BrownianIncrement<Array1<f64>>,
               h: f64| { (&inc.dw * 0.5 + inc.levy_h.as_ref().unwrap()) * h };
    let bc = bm.increment(b, c, true).unwrap();
    let ac = bm.increment(a, c, true).unwrap();
    let ab = bm.increment(a, b, true).unwrap();
    let sum = &ab.dw + &bc.dw;
    assert!((&sum - &ac.dw).iter().all(|d| d.abs() < 1e-12));
    let lhs = int(&ac, c - a);
    let rhs = int(&ab, b - a) + &ab.dw * (c - b) + int(&bc, c - b);
    assert!((&lhs - &rhs).iter().all(|d| d.abs() < 1e-12));
    // Backward queries are the negated forward increment.
    let ca = bm.increment(c, a, false).unwrap();
    assert!((&ca.dw + &ac.dw).iter().all(|d| d.abs() < 1e-15));
}

/// Sample i of a batch is the same as that sample alone with its own seed, at any position.
#[test]
fn seeding_is_per_sample() {
    let seeds = sample_seeds(99, 5);
    let mut batch =
        VirtualBrownianTree::new(&Array1::<f64>::zeros(5), 0.0, 1.0, 1e-6, &seeds).unwrap();
    let mut alone =
        VirtualBrownianTree::new(&Array1::<f64>::zeros(1), 0.0, 1.0, 1e-6, &seeds[2..3]).unwrap();
    let reversed: Vec<u64> = seeds.iter().rev().copied().collect();
    let mut moved =
        VirtualBrownianTree::new(&Array1::<f64>::zeros(5), 0.0, 1.0, 1e-6, &reversed).unwrap();
    let x = batch.increment(0.2, 0.7, true).unwrap();
    let y = alone.increment(0.2, 0.7, true).unwrap();
    let z = moved.increment(0.2, 0.7, true).unwrap();
    assert_eq!(x.dw[2], y.dw[0]);
    assert_eq!(x.levy_h.as_ref().unwrap()[2], y.levy_h.as_ref().unwrap()[0]);
    assert_eq!(x.dw[2], z.dw[2]);
    assert_eq!(x.dw[0], z.dw[4]);
    // Multi-element samples: the second axis belongs to the sample.
    let mut wide = VirtualBrownianTree::new(
        &ndarray::Array2::<f64>::zeros((5, 3)),
        0.0,
        1.0,
        1e-6,
        &seeds,
    )
    .unwrap();
    let mut wide1 = VirtualBrownianTree::new(
        &ndarray::Array2::<f64>::zeros((1, 3)),
        0.0,
        1.0,
        1e-6,
        &seeds[4..],
    )
    .unwrap();
    let a = wide.increment(0.0, 0.5, false).unwrap().dw;
    let b = wide1.increment(0.0, 0.5, false).unwrap().dw;
    assert_eq!(a.row(4), b.row(0));

    let mut seq = SequentialBrownian::new(&Array1::<f64>::zeros(5), &seeds).unwrap();
    let mut seq1 = SequentialBrownian::new(&Array1::<f64>::zeros(1), &seeds[3..4]).unwrap();
    for (s, u) in [(0.0, 0.1), (0.1, 0.35)] {
        let a = seq.increment(s, u, true).unwrap();
        let b = seq1.increment(s, u, true).unwrap();
        assert_eq!(a.dw[3], b.dw[0]);
        assert_eq!(a.levy_h.unwrap()[3], b.levy_h.unwrap()[0]);
    }
}

#[test]
fn sequential_increments_have_exact_moments() {
    let mut bm = SequentialBrownian::new(&Array1::<f64>::zeros(N), &sample_seeds(5, N)).unwrap();
    let mut t = 0.0;
    for h in [0.5, 0.01] {
        let inc = bm.increment(t, t + h, true).unwrap();
        t += h;
        let lh = inc.levy_h.unwrap();
        assert_moment("E[ΔW²]", mean(&inc.dw.mapv(|v| v * v)), h, 2.0 * h * h);
        assert_moment(
            "E[H²]",
            mean(&lh.mapv(|v| v * v)),
            h / 12.0,
            2.0 * (h / 12.0).powi(2),
        );
        assert_moment("E[ΔW·H]", mean(&(&inc.dw * &lh)), 0.0, h * h / 12.0);
    }
}

#[test]
fn brownian_errors_are_values() {
    let z = Array1::<f64>::zeros(3);
    assert!(matches!(
        VirtualBrownianTree::new(&z, 0.0, 1.0, 1e-6, &[1, 2]),
        Err(SolveError::SeedCount {
            seeds: 2,
            samples: 3
        })
    ));
    assert!(matches!(
        VirtualBrownianTree::new(&z, 1.0, 0.0, 1e-6, &[1, 2, 3]),
        Err(SolveError::InvalidInterval(_))
    ));
    assert!(matches!(
        VirtualBrownianTree::new(&z, 0.0, 1.0, 0.0, &[1, 2, 3]),
        Err(SolveError::InvalidOption { .. })
    ));
    assert!(matches!(
        VirtualBrownianTree::new(&z, 0.0, 1.0, f64::NAN, &[1, 2, 3]),
        Err(SolveError::InvalidOption { .. })
    ));
    let mut bm = VirtualBrownianTree::new(&z, 0.0, 1.0, 1e-6, &[1, 2, 3]).unwrap();
    assert!(matches!(
        bm.increment(0.5, 1.5, false),
        Err(SolveError::BrownianQuery { .. })
    ));
    assert!(matches!(
        bm.increment(0.5, 0.5, false),
        Err(SolveError::BrownianQuery { .. })
    ));
    let mut seq = SequentialBrownian::new(&z, &[1, 2, 3]).unwrap();
    seq.increment(0.0, 0.1, false).unwrap();
    assert!(matches!(
        seq.increment(0.2, 0.3, false),
        Err(SolveError::BrownianQuery { .. })
    ));
    assert!(matches!(
        SequentialBrownian::new(&z, &[1]),
        Err(SolveError::SeedCount { .. })
    ));
}

/// The tree remembers its last descents only to skip work: W(t) and K(t) are pure functions of
/// (seed, t), so any history of queries gives bit-identical increments to a fresh tree's.
#[test]
fn tree_values_do_not_depend_on_query_history() {
    let seeds = sample_seeds(21, 7);
    let template = ndarray::Array2::<f64>::zeros((7, 3));
    for levy in [true, false] {
        let make = || {
            let t = VirtualBrownianTree::new(&template, 0.002, 80.0, 80.0 * 2f64.powi(-30), &seeds)
                .unwrap();
            if levy { t } else { t.without_levy_area() }
        };
        let mut warm = make();
        // A Karras-like descending grid, then jumps back and forth, repeats and reversed pairs.
        let mut queries: Vec<(f64, f64)> = Vec::new();
        let grid: Vec<f64> = (0..=30)
            .map(|i| {
                let r = i as f64 / 30.0;
                (80f64.powf(1.0 / 7.0) * (1.0 - r) + 0.002f64.powf(1.0 / 7.0) * r).powi(7)
            })
            .collect();
        for w in grid.windows(2) {
            queries.push((w[1], w[0]));
        }
        queries.extend([
            (0.5, 40.0),
            (0.002, 80.0),
            (3.0, 3.0000001),
            (40.0, 0.5),
            (0.01, 0.0100001),
        ]);
        for (s, u) in queries {
            let a = warm.increment(s, u, levy).unwrap();
            let b = make().increment(s, u, levy).unwrap();
            assert_eq!(a.dw, b.dw, "levy {levy}: [{s}, {u}]");
            assert_eq!(a.levy_h, b.levy_h, "levy {levy}: [{s}, {u}]");
        }
    }
}

/// Without the Lévy area the tree is still Brownian: exact increment variances and
/// Cov(W_s, W_t) = min(s, t), additive increments; asking it for H is an error.
#[test]
fn tree_without_levy_area_is_brownian() {
    let mut bm = tree(N, 31).without_levy_area();
    for (s, u) in [(0.0, 1.0), (0.3, 0.55), (0.123, 0.9), (0.9, 0.9004)] {
        let h = u - s;
        let inc = bm.increment(s, u, false).unwrap();
        assert!(inc.levy_h.is_none());
        assert_moment("E[ΔW]", mean(&inc.dw), 0.0, h);
        assert_moment("E[ΔW²]", mean(&inc.dw.mapv(|v| v * v)), h, 2.0 * h * h);
    }
    let w3 = bm.increment(0.0, 0.3, false).unwrap().dw;
    let w7 = bm.increment(0.0, 0.7, false).unwrap().dw;
    assert_moment("E[W.3 W.7]", mean(&(&w3 * &w7)), 0.3, 0.3 * 0.7 + 0.09);
    let w37 = bm.increment(0.3, 0.7, false).unwrap().dw;
    assert!((&w3 + &w37 - &w7).iter().all(|d| d.abs() < 1e-12));
    assert!(matches!(
        bm.increment(0.1, 0.2, true),
        Err(SolveError::BrownianQuery { .. })
    ));
}
