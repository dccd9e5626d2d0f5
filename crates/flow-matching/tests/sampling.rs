//! The fm-* samplers' orders. CondOT flows between Gaussians move on straight lines, which
//! Euler integrates exactly, so the order test uses a curved field with a closed form:
//! dx/dt = −x + sin t ⇒ x(1) = (x₀ + ½)e^{−1} + (sin 1 − cos 1)/2.

use ndarray::{Array1, array};
use scoreflow_flow_matching::sampling::{FlowSolver, sample_flow};

fn velocity(x: &Array1<f64>, t: f64) -> Array1<f64> {
    x.mapv(|v| -v + t.sin())
}

fn err(solver: FlowSolver, steps: usize) -> f64 {
    let x0 = array![-2.0, -0.5, 0.0, 1.0, 2.5];
    let (x1, _) = sample_flow(&velocity, x0.clone(), solver, steps).unwrap();
    let exact = x0.mapv(|v| (v + 0.5) * (-1f64).exp() + (1f64.sin() - 1f64.cos()) / 2.0);
    (x1 - exact).iter().fold(0.0f64, |m, e| m.max(e.abs()))
}

#[test]
fn fixed_step_flow_samplers_have_their_orders() {
    for (solver, ns) in [
        (FlowSolver::Euler, [64usize, 128, 256, 512]),
        (FlowSolver::Midpoint, [16, 32, 64, 128]),
        (FlowSolver::Rk4, [4, 8, 16, 32]),
    ] {
        let errs: Vec<f64> = ns.iter().map(|&n| err(solver, n)).collect();
        let slopes: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        let p = slopes.iter().sum::<f64>() / slopes.len() as f64;
        let theory = solver.order().unwrap() as f64;
        assert!(
            (p - theory).abs() <= 0.15,
            "{solver:?}: order {p}, errors {errs:?}"
        );
    }
}

#[test]
fn adaptive_flow_sampler_meets_tolerance() {
    assert!(
        err(
            FlowSolver::Dopri5 {
                rtol: 1e-9,
                atol: 1e-9
            },
            0
        ) < 1e-7
    );
    assert!(FlowSolver::from_name("fm-rk4", 0.0, 0.0) == Some(FlowSolver::Rk4));
    assert!(FlowSolver::from_name("fm-nope", 0.0, 0.0).is_none());
}
