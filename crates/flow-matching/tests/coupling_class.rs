//! Class-respecting couplings: pairs never cross classes, and each class's pairs are the inner
//! coupling's solution on that class alone.

mod coupling_support;

use coupling_support::gaussian_batches;
use ndarray::{ArrayView2, Axis};
use scoreflow_flow_matching::coupling::{
    ClassRespecting, Coupling, CouplingError, ExactOt, Independent, Pairs, Side, Sinkhorn,
};

/// 40 rows in 4 classes of unequal sizes, in a scrambled order.
fn labels(n: usize, seed: usize) -> Vec<usize> {
    (0..n).map(|k| ((k * 7 + seed) % 10).min(3)).collect()
}

fn check<C: Coupling>(
    inner: C,
    x0: ArrayView2<'_, f64>,
    y0: &[usize],
    x1: ArrayView2<'_, f64>,
    y1: &[usize],
    seed: u64,
) {
    let coupling = ClassRespecting::new(inner);
    let pairs = coupling.pair_labelled(x0, y0, x1, y1, seed).unwrap();
    assert_eq!(
        pairs,
        coupling.pair_labelled(x0, y0, x1, y1, seed).unwrap(),
        "repeatable"
    );
    for (&i, &j) in pairs.source.iter().zip(&pairs.target) {
        assert_eq!(y0[i], y1[j], "pair ({i}, {j}) crosses classes");
    }
    let mut classes: Vec<usize> = y0.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let mut expected = Pairs {
        source: vec![],
        target: vec![],
    };
    for &c in &classes {
        let r0: Vec<usize> = (0..y0.len()).filter(|&i| y0[i] == c).collect();
        let r1: Vec<usize> = (0..y1.len()).filter(|&j| y1[j] == c).collect();
        let alone = coupling
            .inner
            .pair(
                x0.select(Axis(0), &r0).view(),
                x1.select(Axis(0), &r1).view(),
                ClassRespecting::<C>::class_seed(seed, c),
            )
            .unwrap();
        expected.source.extend(alone.source.iter().map(|&k| r0[k]));
        expected.target.extend(alone.target.iter().map(|&k| r1[k]));
    }
    assert_eq!(pairs, expected, "per class, the inner coupling alone");
}

#[test]
fn pairs_stay_within_classes_and_equal_the_per_class_solutions() {
    let (x0, x1) = gaussian_batches(40, 40, 3, 1.0, 0.5, 60);
    // Label-free noise: x0 takes the data's labels (y0 = y1).
    let y = labels(40, 1);
    check(ExactOt::new(), x0.view(), &y, x1.view(), &y, 5);
    check(Sinkhorn::relative(0.05), x0.view(), &y, x1.view(), &y, 5);
    check(Independent::Shuffle, x0.view(), &y, x1.view(), &y, 5);
    // Labelled sources with the same class counts in another order.
    let y0 = labels(40, 3);
    let mut y1 = y0.clone();
    y1.reverse();
    check(ExactOt::new(), x0.view(), &y0, x1.view(), &y1, 9);
    check(Sinkhorn::relative(0.1), x0.view(), &y0, x1.view(), &y1, 9);
    // Unequal class counts: Sinkhorn and partial exact OT pair them, strict exact OT refuses.
    let (x0, x1) = gaussian_batches(30, 40, 2, 1.0, 0.5, 61);
    let (y0, y1) = (labels(30, 2), labels(40, 5));
    check(Sinkhorn::relative(0.1), x0.view(), &y0, x1.view(), &y1, 2);
    check(ExactOt::partial(), x0.view(), &y0, x1.view(), &y1, 2);
    assert!(matches!(
        ClassRespecting::new(ExactOt::new()).pair_labelled(x0.view(), &y0, x1.view(), &y1, 2),
        Err(CouplingError::UnequalSizes { .. })
    ));
}

#[test]
fn class_seeds_differ_between_classes_and_calls() {
    let seeds: Vec<u64> = (0..4)
        .flat_map(|c| [0u64, 1].map(move |s| ClassRespecting::<ExactOt>::class_seed(s, c)))
        .collect();
    let mut unique = seeds.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seeds.len());
}

#[test]
fn wrong_label_lengths_are_errors() {
    let (x0, x1) = gaussian_batches(5, 6, 2, 0.0, 1.0, 62);
    let c = ClassRespecting::new(ExactOt::partial());
    assert_eq!(
        c.pair_labelled(x0.view(), &[0; 4], x1.view(), &[0; 6], 0),
        Err(CouplingError::LabelLength {
            side: Side::Source,
            rows: 5,
            labels: 4
        })
    );
    assert_eq!(
        c.pair_labelled(x0.view(), &[0; 5], x1.view(), &[0; 7], 0),
        Err(CouplingError::LabelLength {
            side: Side::Target,
            rows: 6,
            labels: 7
        })
    );
}

#[test]
fn a_class_on_one_side_only_is_an_error() {
    let (x0, x1) = gaussian_batches(4, 4, 2, 0.0, 1.0, 63);
    let c = ClassRespecting::new(Sinkhorn::relative(0.1));
    assert_eq!(
        c.pair_labelled(x0.view(), &[0, 0, 1, 2], x1.view(), &[0, 1, 1, 1], 0),
        Err(CouplingError::UnpairableClass {
            label: 2,
            n0: 1,
            n1: 0
        })
    );
}
