//! The independent coupling: a seeded uniformly random one-to-one pairing, or the identity.

mod coupling_support;

use coupling_support::gaussian_batches;
use scoreflow_flow_matching::coupling::{Coupling, Independent};

#[test]
fn shuffle_is_a_seeded_permutation() {
    let (x0, x1) = gaussian_batches(50, 50, 2, 0.0, 1.0, 70);
    let p = Independent::Shuffle.pair(x0.view(), x1.view(), 3).unwrap();
    assert_eq!(p.source, (0..50).collect::<Vec<_>>());
    let mut t = p.target.clone();
    t.sort_unstable();
    assert_eq!(t, (0..50).collect::<Vec<_>>());
    assert_eq!(
        p,
        Independent::Shuffle.pair(x0.view(), x1.view(), 3).unwrap()
    );
    assert_ne!(
        p,
        Independent::Shuffle.pair(x0.view(), x1.view(), 4).unwrap()
    );
    let id = Independent::Identity.pair(x0.view(), x1.view(), 3).unwrap();
    assert_eq!(id.target, (0..50).collect::<Vec<_>>());
}

#[test]
fn shuffle_is_uniform_over_the_permutations() {
    let (x0, x1) = gaussian_batches(3, 3, 1, 0.0, 1.0, 71);
    let perms = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let mut counts = [0usize; 6];
    let draws = 60_000;
    for seed in 0..draws {
        let p = Independent::Shuffle
            .pair(x0.view(), x1.view(), seed)
            .unwrap();
        let k = perms.iter().position(|q| q[..] == p.target[..]).unwrap();
        counts[k] += 1;
    }
    let (e, se) = (
        draws as f64 / 6.0,
        (draws as f64 * (1.0 / 6.0) * (5.0 / 6.0)).sqrt(),
    );
    for (q, &c) in perms.iter().zip(&counts) {
        assert!((c as f64 - e).abs() <= 5.0 * se, "{q:?}: {c} of {draws}");
    }
}

#[test]
fn unequal_batches_pair_the_smaller_one_injectively() {
    for (n0, n1) in [(4, 9), (9, 4)] {
        let (x0, x1) = gaussian_batches(n0, n1, 2, 0.0, 1.0, 72);
        for c in [Independent::Shuffle, Independent::Identity] {
            let p = c.pair(x0.view(), x1.view(), 1).unwrap();
            assert_eq!(p.len(), 4);
            assert!(p.source.windows(2).all(|w| w[0] < w[1]) && p.source.iter().all(|&i| i < n0));
            let mut t = p.target.clone();
            t.sort_unstable();
            t.dedup();
            assert_eq!(t.len(), 4);
            assert!(t.iter().all(|&j| j < n1));
        }
    }
}
