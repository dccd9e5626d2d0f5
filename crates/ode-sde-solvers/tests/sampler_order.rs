//! Measured convergence orders of the deterministic σ-grid samplers on a Gaussian, whose
//! probability-flow ODE has a closed-form solution.

mod common;

use common::gaussian::{assert_order, denoise, karras, start};
use ndarray::Array2;
use scoreflow_ode_sde_solvers::samplers::{Euler, Heun, SampleContext, Sampler, StepInfo};

#[test]
fn euler_is_first_order() {
    assert_order(&Euler::default(), &[64, 91, 128, 181, 256]);
}

#[test]
fn heun_is_second_order() {
    assert_order(&Heun::default(), &[32, 45, 64, 91, 128]);
}

/// The callback sees every step once, with the σ of the grid and the model's output.
#[test]
fn callback_reports_each_step() {
    let grid = karras(10);
    let mut seen = Vec::new();
    let mut cb =
        |info: &StepInfo<'_, Array2<f64>>| seen.push((info.i, info.sigma, info.denoised.clone()));
    let mut ctx = SampleContext {
        noise: None,
        callback: Some(&mut cb),
    };
    Euler::default()
        .sample(&denoise, start(20.0), &grid, &mut ctx)
        .unwrap();
    assert_eq!(seen.len(), grid.len() - 1);
    for (k, (i, sigma, _)) in seen.iter().enumerate() {
        assert_eq!((*i, *sigma), (k, grid.as_slice()[k]));
    }
}
