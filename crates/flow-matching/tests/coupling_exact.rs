//! Exact minibatch OT: the assignment is a permutation whose cost is the minimum over all n!
//! permutations (brute force), ties included, and agrees with SciPy's algorithm (`lsap`) on
//! larger batches; the cost matrix agrees with the definition.

mod coupling_support;

use coupling_support::{brute_force_min, direct_cost, direct_cost_matrix, gaussian_batches};
use ndarray::{Array2, ArrayView2, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scoreflow_flow_matching::coupling::{Coupling, CouplingError, ExactOt, Pairs, cost};

/// Σ_k ‖x0_source[k] − x1_target[k]‖², from the definition.
fn pairs_cost(pairs: &Pairs, x0: ArrayView2<'_, f64>, x1: ArrayView2<'_, f64>) -> f64 {
    pairs
        .source
        .iter()
        .zip(&pairs.target)
        .map(|(&i, &j)| direct_cost(x0, x1, i, j))
        .sum()
}

fn assert_permutation(pairs: &Pairs, n: usize) {
    assert_eq!(pairs.source, (0..n).collect::<Vec<_>>());
    let mut t = pairs.target.clone();
    t.sort_unstable();
    assert_eq!(t, (0..n).collect::<Vec<_>>(), "targets {:?}", pairs.target);
}

#[test]
fn exact_ot_equals_the_brute_force_minimum() {
    for k in 0..60u64 {
        let n = 1 + (k % 8) as usize;
        let d = [1, 2, 5][(k % 3) as usize];
        let (x0, x1) = gaussian_batches(n, n, d, 1.0, 0.5, k);
        let pairs = ExactOt::new().pair(x0.view(), x1.view(), k).unwrap();
        assert_permutation(&pairs, n);
        let ours = pairs_cost(&pairs, x0.view(), x1.view());
        let best = brute_force_min(direct_cost_matrix(x0.view(), x1.view()).view());
        assert!(
            (ours - best).abs() <= 1e-12 * best,
            "n = {n}, d = {d}: cost {ours} vs minimum {best}"
        );
    }
}

#[test]
fn exact_ot_with_ties_is_a_repeatable_optimal_permutation() {
    let (g0, g1) = gaussian_batches(7, 7, 2, 0.5, 1.0, 99);
    // Rows 0, 2 and 5 of x0 equal; rows 1 and 4 of x1 equal, and x1 row 3 equals x0 row 0.
    let mut dup0 = g0.clone();
    for r in [2, 5] {
        let row0 = dup0.row(0).to_owned();
        dup0.row_mut(r).assign(&row0);
    }
    let mut dup1 = g1.clone();
    let row1 = dup1.row(1).to_owned();
    dup1.row_mut(4).assign(&row1);
    dup1.row_mut(3).assign(&g0.row(0));
    let cases: Vec<(&str, Array2<f64>, Array2<f64>)> = vec![
        ("duplicated rows", dup0, dup1),
        (
            "all points equal",
            Array2::from_elem((6, 3), 0.7),
            Array2::from_elem((6, 3), 0.7),
        ),
        (
            "the same set, reordered",
            g0.clone(),
            g0.select(ndarray::Axis(0), &[3, 6, 0, 1, 5, 2, 4]),
        ),
        (
            "a grid, many equal distances",
            array![[0., 0.], [1., 0.], [0., 1.], [1., 1.], [2., 0.], [2., 1.]],
            array![[1., 0.], [0., 0.], [2., 1.], [1., 1.], [0., 1.], [2., 0.]] + 0.5,
        ),
    ];
    for (name, x0, x1) in cases {
        let n = x0.nrows();
        let first = ExactOt::new().pair(x0.view(), x1.view(), 1).unwrap();
        let again = ExactOt::new().pair(x0.view(), x1.view(), 1).unwrap();
        assert_eq!(first, again, "{name}: not repeatable");
        assert_permutation(&first, n);
        let ours = pairs_cost(&first, x0.view(), x1.view());
        let best = brute_force_min(direct_cost_matrix(x0.view(), x1.view()).view());
        assert!(
            (ours - best).abs() <= 1e-12 * best.max(1.0),
            "{name}: cost {ours} vs minimum {best}"
        );
    }
}

#[test]
fn exact_ot_agrees_with_scipys_algorithm_on_larger_batches() {
    for (n0, n1, d, seed) in [
        (16, 16, 2, 1),
        (64, 64, 2, 2),
        (200, 200, 2, 3),
        (96, 96, 784, 4),
    ] {
        let (x0, x1) = gaussian_batches(n0, n1, d, 1.0, 0.5, seed);
        let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
        let ours = ExactOt::new().assign(c.view()).unwrap();
        assert_permutation(&ours, n0);
        let flat: Vec<f64> = c.iter().copied().collect();
        let (rows, cols) = lsap::solve(n0, n1, &flat, false).unwrap();
        let reference: f64 = rows.iter().zip(&cols).map(|(&i, &j)| c[[i, j]]).sum();
        let total: f64 = ours
            .source
            .iter()
            .zip(&ours.target)
            .map(|(&i, &j)| c[[i, j]])
            .sum();
        assert!(
            (total - reference).abs() <= 1e-12 * reference,
            "{n0}×{n1}, d = {d}: {total} vs lsap {reference}"
        );
    }
    // Ties beyond brute force's reach: duplicated rows, integer grids (many equal costs), all
    // points equal — at sizes that use both the vector loop and its tail.
    let (mut d0, mut d1) = gaussian_batches(37, 37, 2, 0.0, 1.0, 6);
    for r in 1..37 {
        if r % 3 == 0 {
            let row = d0.row(r - 1).to_owned();
            d0.row_mut(r).assign(&row);
            let row = d1.row(r - 2).to_owned();
            d1.row_mut(r).assign(&row);
        }
    }
    let grid0 = Array2::from_shape_fn((25, 2), |(i, k)| {
        if k == 0 {
            (i % 5) as f64
        } else {
            (i / 5) as f64
        }
    });
    let grid1 = Array2::from_shape_fn((25, 2), |(i, k)| {
        if k == 0 {
            (i / 5) as f64
        } else {
            ((i * 3) % 5) as f64
        }
    });
    let tied = [
        (d0, d1),
        (grid0, grid1),
        (
            Array2::from_elem((19, 3), 2.0),
            Array2::from_elem((19, 3), 2.0),
        ),
    ];
    for (x0, x1) in tied {
        let n = x0.nrows();
        let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
        let ours = ExactOt::new().assign(c.view()).unwrap();
        assert_eq!(ours, ExactOt::new().assign(c.view()).unwrap());
        assert_permutation(&ours, n);
        let flat: Vec<f64> = c.iter().copied().collect();
        let (rows, cols) = lsap::solve(n, n, &flat, false).unwrap();
        let reference: f64 = rows.iter().zip(&cols).map(|(&i, &j)| c[[i, j]]).sum();
        let total: f64 = ours
            .source
            .iter()
            .zip(&ours.target)
            .map(|(&i, &j)| c[[i, j]])
            .sum();
        assert!(
            (total - reference).abs() <= 1e-12 * reference.max(1.0),
            "{total} vs {reference}"
        );
    }
    // General (non-Euclidean) costs, square and rectangular both ways.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n0, n1) in [(150, 150), (40, 90), (90, 40)] {
        let c = Array2::from_shape_fn((n0, n1), |_| rng.random::<f64>());
        let ours = ExactOt::partial().assign(c.view()).unwrap();
        assert_eq!(ours.len(), n0.min(n1));
        let flat: Vec<f64> = c.iter().copied().collect();
        let (rows, cols) = lsap::solve(n0, n1, &flat, false).unwrap();
        let reference: f64 = rows.iter().zip(&cols).map(|(&i, &j)| c[[i, j]]).sum();
        let total: f64 = ours
            .source
            .iter()
            .zip(&ours.target)
            .map(|(&i, &j)| c[[i, j]])
            .sum();
        assert!(
            (total - reference).abs() <= 1e-12 * reference,
            "{n0}×{n1}: {total} vs lsap {reference}"
        );
    }
}

#[test]
fn exact_ot_agrees_with_scipys_algorithm_on_many_random_problems() {
    // Gaussian points, uniform costs, and small-integer costs full of ties, at every size up to
    // 40 (the auction and the shortest-path phase both run for n ≥ 2).
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for k in 0..240usize {
        let n = 1 + k % 40;
        let c = match k % 3 {
            0 => {
                let (x0, x1) = gaussian_batches(n, n, 1 + k % 4, 1.0, 0.5, k as u64);
                cost::squared_euclidean(x0.view(), x1.view()).unwrap()
            }
            1 => Array2::from_shape_fn((n, n), |_| rng.random::<f64>()),
            _ => Array2::from_shape_fn((n, n), |_| rng.random_range(0..4) as f64),
        };
        let ours = ExactOt::new().assign(c.view()).unwrap();
        assert_permutation(&ours, n);
        let flat: Vec<f64> = c.iter().copied().collect();
        let (rows, cols) = lsap::solve(n, n, &flat, false).unwrap();
        let reference: f64 = rows.iter().zip(&cols).map(|(&i, &j)| c[[i, j]]).sum();
        let total: f64 = ours
            .source
            .iter()
            .zip(&ours.target)
            .map(|(&i, &j)| c[[i, j]])
            .sum();
        assert!(
            (total - reference).abs() <= 1e-12 * reference.max(1.0),
            "problem {k} (n = {n}): {total} vs lsap {reference}"
        );
    }
}

#[test]
fn partial_exact_ot_pairs_the_smaller_batch_optimally() {
    for (n0, n1, seed) in [(3, 6, 10), (6, 3, 11), (5, 8, 12), (8, 5, 13), (1, 4, 14)] {
        let (x0, x1) = gaussian_batches(n0, n1, 2, 0.3, 1.2, seed);
        let pairs = ExactOt::partial().pair(x0.view(), x1.view(), 0).unwrap();
        let n = n0.min(n1);
        assert_eq!(pairs.len(), n);
        assert!(
            pairs.source.windows(2).all(|w| w[0] < w[1]),
            "sorted, distinct sources"
        );
        let mut t = pairs.target.clone();
        t.sort_unstable();
        t.dedup();
        assert_eq!(t.len(), n, "distinct targets");
        let c = direct_cost_matrix(x0.view(), x1.view());
        let best = if n0 <= n1 {
            brute_force_min(c.view())
        } else {
            brute_force_min(c.t())
        };
        let ours = pairs_cost(&pairs, x0.view(), x1.view());
        assert!(
            (ours - best).abs() <= 1e-12 * best,
            "{n0}×{n1}: {ours} vs {best}"
        );
    }
}

#[test]
fn exact_ot_rejects_unequal_sizes_by_default() {
    let (x0, x1) = gaussian_batches(4, 5, 2, 0.0, 1.0, 0);
    assert_eq!(
        ExactOt::new().pair(x0.view(), x1.view(), 0),
        Err(CouplingError::UnequalSizes { n0: 4, n1: 5 })
    );
}

#[test]
fn cost_matrix_matches_the_definition_far_from_the_origin() {
    // Points 10⁴ from the origin: without centring, ‖a‖² + ‖b‖² − 2a·b would lose ~8 digits.
    let (x0, x1) = gaussian_batches(30, 20, 5, 0.0, 1.0, 7);
    let (x0, x1) = (x0 + 1e4, x1 + 1e4);
    let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
    let exact = direct_cost_matrix(x0.view(), x1.view());
    for (got, want) in c.iter().zip(&exact) {
        assert!((got - want).abs() <= 1e-10 * want, "{got} vs {want}");
    }
    // Identical points cost (almost exactly) 0, never a negative rounding result.
    let same = cost::squared_euclidean(x0.view(), x0.view()).unwrap();
    assert!(same.iter().all(|&v| v >= 0.0));
    assert!(same.diag().iter().all(|&v| v <= 1e-9));
}

#[test]
fn median_is_numpys() {
    assert_eq!(cost::median(&[3.0, 1.0, 2.0]), Some(2.0));
    assert_eq!(cost::median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(cost::median(&[5.0]), Some(5.0));
    assert_eq!(cost::median(&[]), None);
    assert_eq!(cost::median(&[1.0, f64::NAN]), None);
    let c = array![[1.0, 9.0], [4.0, 0.0]];
    assert_eq!(cost::median_cost(c.view()), Some(2.5));
}
