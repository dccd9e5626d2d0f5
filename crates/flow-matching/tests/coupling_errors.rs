//! Bad input to a coupling is a typed error, never a panic.

mod coupling_support;

use coupling_support::gaussian_batches;
use ndarray::{Array1, Array2, array};
use scoreflow_flow_matching::coupling::{
    Coupling, CouplingError, Epsilon, ExactOt, Independent, Side, Sinkhorn, cost,
};

fn couplings() -> Vec<Box<dyn Coupling>> {
    vec![
        Box::new(Independent::Shuffle),
        Box::new(ExactOt::partial()),
        Box::new(Sinkhorn::relative(0.1)),
    ]
}

#[test]
fn mismatched_feature_dimensions() {
    let (x0, _) = gaussian_batches(5, 5, 2, 0.0, 1.0, 80);
    let (_, x1) = gaussian_batches(5, 5, 3, 0.0, 1.0, 81);
    for c in couplings() {
        assert_eq!(
            c.pair(x0.view(), x1.view(), 0),
            Err(CouplingError::DimensionMismatch { d0: 2, d1: 3 })
        );
    }
}

#[test]
fn empty_batches() {
    let (x0, x1) = gaussian_batches(0, 5, 2, 0.0, 1.0, 82);
    for c in couplings() {
        assert_eq!(
            c.pair(x0.view(), x1.view(), 0),
            Err(CouplingError::Empty { n0: 0, n1: 5 })
        );
        assert_eq!(
            c.pair(x1.view(), x0.view(), 0),
            Err(CouplingError::Empty { n0: 5, n1: 0 })
        );
    }
    let empty = Array2::<f64>::zeros((0, 3));
    assert_eq!(
        ExactOt::new().assign(empty.view()),
        Err(CouplingError::Empty { n0: 0, n1: 3 })
    );
    assert!(matches!(
        Sinkhorn::relative(0.1).solve_uniform(empty.view()),
        Err(CouplingError::Empty { .. })
    ));
}

#[test]
fn nan_and_infinite_inputs() {
    let (mut x0, mut x1) = gaussian_batches(5, 5, 2, 0.0, 1.0, 83);
    x0[[3, 1]] = f64::NAN;
    for c in couplings() {
        assert!(matches!(
            c.pair(x0.view(), x1.view(), 0),
            Err(CouplingError::NonFinite {
                what: "x0",
                row: 3,
                col: 1,
                ..
            })
        ));
    }
    x0[[3, 1]] = 0.0;
    x1[[4, 0]] = f64::NEG_INFINITY;
    for c in couplings() {
        assert!(matches!(
            c.pair(x0.view(), x1.view(), 0),
            Err(CouplingError::NonFinite {
                what: "x1",
                row: 4,
                col: 0,
                ..
            })
        ));
    }
    let mut c = array![[1.0, 2.0], [3.0, 4.0]];
    c[[1, 0]] = f64::NAN;
    assert!(matches!(
        ExactOt::new().assign(c.view()),
        Err(CouplingError::NonFinite {
            what: "cost",
            row: 1,
            col: 0,
            ..
        })
    ));
    assert!(matches!(
        Sinkhorn::absolute(1.0).solve_uniform(c.view()),
        Err(CouplingError::NonFinite {
            what: "cost",
            row: 1,
            col: 0,
            ..
        })
    ));
}

#[test]
fn non_positive_or_nan_epsilon() {
    let (x0, x1) = gaussian_batches(5, 5, 2, 0.0, 1.0, 84);
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        for s in [Sinkhorn::absolute(eps), Sinkhorn::relative(eps)] {
            assert!(
                matches!(
                    s.pair(x0.view(), x1.view(), 0),
                    Err(CouplingError::InvalidEpsilon(_))
                ),
                "{s:?}"
            );
        }
    }
    // A relative ε on points that all coincide: the median cost, hence ε, is 0.
    let same = Array2::from_elem((4, 2), 1.5);
    assert_eq!(
        Sinkhorn::new(Epsilon::RelativeToMedian(0.1)).pair(same.view(), same.view(), 0),
        Err(CouplingError::InvalidEpsilon(0.0))
    );
}

#[test]
fn invalid_options() {
    let c = array![[1.0, 2.0], [3.0, 4.0]];
    assert!(matches!(
        Sinkhorn::absolute(1.0)
            .with_tolerance(0.0)
            .solve_uniform(c.view()),
        Err(CouplingError::InvalidOption {
            name: "tolerance",
            ..
        })
    ));
    assert!(matches!(
        Sinkhorn::absolute(1.0)
            .with_tolerance(f64::NAN)
            .solve_uniform(c.view()),
        Err(CouplingError::InvalidOption {
            name: "tolerance",
            ..
        })
    ));
    assert!(matches!(
        Sinkhorn::absolute(1.0)
            .with_epsilon_scaling(Some(1.5))
            .solve_uniform(c.view()),
        Err(CouplingError::InvalidOption {
            name: "epsilon_scaling",
            ..
        })
    ));
}

#[test]
fn invalid_marginals() {
    let c = array![[1.0, 2.0, 0.5], [3.0, 4.0, 1.0]];
    let s = Sinkhorn::absolute(1.0);
    let b = Array1::from_elem(3, 1.0 / 3.0);
    let bad = [
        (array![0.5, 0.5, 0.0], b.clone(), Side::Source),
        (array![1.5, -0.5], b.clone(), Side::Source),
        (array![0.5, 0.5], array![0.5, 0.5, 0.5], Side::Target),
        (array![0.5, 0.5], array![0.5, 0.5], Side::Target),
    ];
    for (a, b, side) in bad {
        match s.solve(c.view(), a.view(), b.view()) {
            Err(CouplingError::InvalidMarginal { side: got, .. }) => {
                assert_eq!(got, side, "{a} {b}")
            }
            other => panic!("{a} {b}: {other:?}"),
        }
    }
    assert!(matches!(
        s.solve(c.view(), array![0.5, f64::NAN].view(), b.view()),
        Err(CouplingError::NonFinite {
            what: "a",
            row: 1,
            ..
        })
    ));
}

#[test]
fn wrong_label_lengths() {
    let (x0, x1) = gaussian_batches(3, 3, 2, 0.0, 1.0, 85);
    let c = scoreflow_flow_matching::coupling::ClassRespecting::new(ExactOt::new());
    assert!(matches!(
        c.pair_labelled(x0.view(), &[0, 1], x1.view(), &[0, 1, 1], 0),
        Err(CouplingError::LabelLength {
            side: Side::Source,
            rows: 3,
            labels: 2
        })
    ));
}

#[test]
fn iteration_cap_is_an_error_value_with_the_error_reached() {
    let (x0, x1) = gaussian_batches(30, 30, 2, 1.0, 0.5, 86);
    let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
    match Sinkhorn::relative(0.01)
        .with_max_iterations(5)
        .solve_uniform(c.view())
    {
        Err(CouplingError::NotConverged {
            iterations: 5,
            marginal_error,
            tolerance,
        }) => {
            assert!(marginal_error.is_finite() && marginal_error > tolerance);
        }
        other => panic!("{other:?}"),
    }
}
