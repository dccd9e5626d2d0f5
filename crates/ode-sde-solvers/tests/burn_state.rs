//! The same solvers on burn tensors (CPU `flex` device) agree with the ndarray f64 results to
//! f32 precision: the state abstraction, not the solver, carries the backend.
#![cfg(feature = "burn")]

use burn::prelude::*;
use ndarray::Array2;
use scoreflow_ode_sde_solvers::brownian::{SequentialBrownian, VirtualBrownianTree, sample_seeds};
use scoreflow_ode_sde_solvers::ode::{Dopri5, Rk4, SolveOptions, integrate};
use scoreflow_ode_sde_solvers::sde::{EulerMaruyama, Sra1, integrate_sde};
use scoreflow_ode_sde_solvers::{FnSde, State};

const N: usize = 6;
const D: usize = 3;

fn device() -> Device {
    Device::flex()
}

fn start() -> Array2<f64> {
    Array2::from_shape_fn((N, D), |(i, j)| 0.1 + 0.05 * i as f64 - 0.07 * j as f64)
}

fn to_tensor(a: &Array2<f64>) -> Tensor<2> {
    let data = TensorData::new(a.iter().map(|&v| v as f32).collect::<Vec<f32>>(), [N, D]);
    Tensor::from_data(data, &device())
}

fn rel_diff(t: &Tensor<2>, a: &Array2<f64>) -> f64 {
    let v = t.to_f64_vec();
    let num: f64 = v.iter().zip(a.iter()).map(|(x, y)| (x - y).powi(2)).sum();
    let den: f64 = a.iter().map(|y| y * y).sum();
    (num / den).sqrt()
}

/// dy/dt = −y + sin(t)·y²: nonlinear, identical arithmetic on both state types.
#[test]
fn ode_on_burn_matches_ndarray() {
    let f_nd = |t: f64, y: &Array2<f64>| y.mapv(|v| -v + t.sin() * v * v);
    let f_burn = |t: f64, y: &Tensor<2>| y.clone().neg() + y.clone().square().mul_scalar(t.sin());
    let nd = integrate(&f_nd, &Rk4, 0.0, 3.0, start(), &SolveOptions::steps(60)).unwrap();
    let bt = integrate(
        &f_burn,
        &Rk4,
        0.0,
        3.0,
        to_tensor(&start()),
        &SolveOptions::steps(60),
    )
    .unwrap();
    assert!(rel_diff(bt.last().unwrap(), nd.last().unwrap()) < 1e-5);

    let opts = SolveOptions::adaptive(1e-5, 1e-5);
    let nd = integrate(&f_nd, &Dopri5, 0.0, 3.0, start(), &opts).unwrap();
    let bt = integrate(&f_burn, &Dopri5, 0.0, 3.0, to_tensor(&start()), &opts).unwrap();
    assert!(rel_diff(bt.last().unwrap(), nd.last().unwrap()) < 1e-4);
}

/// Per-sample noise is the same on every state type: the Brownian source draws on the host from
/// each sample's seed and only the final conversion differs.
#[test]
fn sde_on_burn_matches_ndarray() {
    let seeds = sample_seeds(7, N);
    let nd_sde = FnSde::additive(
        |_: f64, y: &Array2<f64>| y * -1.0,
        |t: f64, _: &Array2<f64>, dw: Array2<f64>| dw * (0.5 + t),
    );
    let bt_sde = FnSde::additive(
        |_: f64, y: &Tensor<2>| y.clone().neg(),
        |t: f64, _: &Tensor<2>, dw: Tensor<2>| dw.mul_scalar(0.5 + t),
    );
    let mut bm_nd = SequentialBrownian::new(&start(), &seeds).unwrap();
    let mut bm_bt = SequentialBrownian::new(&to_tensor(&start()), &seeds).unwrap();
    let opts = SolveOptions::steps(50);
    let nd = integrate_sde(
        &nd_sde,
        &EulerMaruyama,
        0.0,
        1.0,
        start(),
        &mut bm_nd,
        &opts,
    )
    .unwrap();
    let bt = integrate_sde(
        &bt_sde,
        &EulerMaruyama,
        0.0,
        1.0,
        to_tensor(&start()),
        &mut bm_bt,
        &opts,
    )
    .unwrap();
    assert!(rel_diff(bt.last().unwrap(), nd.last().unwrap()) < 1e-5);

    let mut tree_nd = VirtualBrownianTree::new(&start(), 0.0, 1.0, 1e-4, &seeds).unwrap();
    let mut tree_bt =
        VirtualBrownianTree::new(&to_tensor(&start()), 0.0, 1.0, 1e-4, &seeds).unwrap();
    let nd = integrate_sde(&nd_sde, &Sra1, 0.0, 1.0, start(), &mut tree_nd, &opts).unwrap();
    let bt = integrate_sde(
        &bt_sde,
        &Sra1,
        0.0,
        1.0,
        to_tensor(&start()),
        &mut tree_bt,
        &opts,
    )
    .unwrap();
    assert!(rel_diff(bt.last().unwrap(), nd.last().unwrap()) < 1e-5);
}

#[test]
fn burn_state_operations_match_definitions() {
    let a = start();
    let b = a.mapv(|v| v * v - 0.3);
    let (ta, tb) = (to_tensor(&a), to_tensor(&b));
    let lc = ta.clone().lincomb(2.0, &[(-0.5, &tb), (3.0, &ta)]);
    assert!(rel_diff(&lc, &(&a * 5.0 - &b * 0.5)) < 1e-6);
    assert!(rel_diff(&ta.clone().mul_elementwise(&tb), &(&a * &b)) < 1e-6);
    let e_nd = <Array2<f64> as State>::error_norm(&b, &a, &b, 1e-3, 1e-4);
    let e_bt = <Tensor<2> as State>::error_norm(&tb, &ta, &tb, 1e-3, 1e-4);
    assert!((e_nd - e_bt).abs() / e_nd < 1e-5);
    assert_eq!(ta.batch_layout(), (N, D));
}
