//! The fm-exp samplers (exponential multistep on the velocity's data prediction) against the
//! exact CondOT flow of Gaussian data, whose ODE solution is closed form.

use ndarray::{Array1, array};
use scoreflow_flow_matching::sampling::{FlowSolver, sample_flow};
use scoreflow_ode_sde_solvers::samplers::PolyVariable;

const MU: [f64; 3] = [1.0, -2.0, 0.5];
const S2: [f64; 3] = [0.25, 2.25, 0.5];

/// Data N(μ, diag s²), noise N(0, I): x_t ~ N(tμ, σ_t²) per coordinate with
/// σ_t² = t²s² + (1 − t)², and the flow is x_t = tμ + σ_t·x₀, so
/// u_t(x) = μ + (σ_t'/σ_t)(x − tμ) with σ_t σ_t' = t s² − (1 − t), and x₁ = μ + s·x₀.
fn velocity(x: &Array1<f64>, t: f64) -> Array1<f64> {
    Array1::from_shape_fn(x.len(), |j| {
        let var = t * t * S2[j] + (1.0 - t) * (1.0 - t);
        MU[j] + (t * S2[j] - (1.0 - t)) / var * (x[j] - t * MU[j])
    })
}

fn x0() -> Array1<f64> {
    array![0.3, -1.2, 2.0]
}

fn err(solver: FlowSolver, steps: usize) -> f64 {
    let (x1, stats) = sample_flow(&velocity, x0(), solver, steps).unwrap();
    assert_eq!(stats.nfe, steps);
    let exact = Array1::from_shape_fn(3, |j| MU[j] + S2[j].sqrt() * x0()[j]);
    (x1 - exact).iter().fold(0.0f64, |m, e| m.max(e.abs()))
}

fn slope(solver: FlowSolver, ns: &[usize]) -> (f64, Vec<f64>) {
    let errs: Vec<f64> = ns.iter().map(|&n| err(solver, n)).collect();
    let s: Vec<f64> = errs
        .windows(2)
        .zip(ns.windows(2))
        .map(|(e, n)| (e[0] / e[1]).ln() / (n[1] as f64 / n[0] as f64).ln())
        .collect();
    (s.iter().sum::<f64>() / s.len() as f64, errs)
}

/// Global order 2 in the number of steps N on the uniform t grid, for every order k: the grid
/// does not refine λ near t = 1 (its last steps have h = ln((N − j + 1)/(N − j)) + … = O(1)), where
/// the data prediction still varies by O(σ²) = O(N⁻²), and the final x̂₁ at t_last = 1 − 1/N is
/// O(σ_last²) = O(N⁻²) from x(1). The exact-Gaussian solution is matched at that rate.
#[test]
fn fm_exp_converges_to_the_exact_condot_solution_at_order_two() {
    for name in ["fm-exp", "fm-exp-2", "fm-exp-3"] {
        let solver = FlowSolver::from_name(name, 0.0, 0.0).unwrap();
        assert_eq!(solver.order(), Some(2));
        let (p, errs) = slope(solver, &[64, 128, 256, 512]);
        assert!(
            (p - 2.0).abs() <= 0.15,
            "{name}: order {p:.3}, errors {errs:?}"
        );
        assert!(errs[0] < 5e-3, "{name}: {errs:?}");
    }
}

/// Order 1 in v without corrector and with one end point is the Euler method in t, step for
/// step, including the last step's x̂₁ = x + (1 − t)·u.
#[test]
fn order_one_is_fm_euler() {
    for steps in [1, 3, 10] {
        let exp = FlowSolver::ExpMultistep {
            order: 1,
            variable: PolyVariable::V,
            corrector: false,
            end_points: 1,
        };
        let (a, sa) = sample_flow(&velocity, x0(), exp, steps).unwrap();
        let (b, _) = sample_flow(&velocity, x0(), FlowSolver::Euler, steps).unwrap();
        assert_eq!(sa.nfe, steps);
        let diff = (a - &b).iter().fold(0.0f64, |m, e| m.max(e.abs()));
        assert!(
            diff <= 1e-14 * b.iter().fold(1.0f64, |m, e| m.max(e.abs())),
            "{steps}: {diff:e}"
        );
    }
}

/// Zero steps is an error, not a panic; the names resolve.
#[test]
fn bad_steps_and_names() {
    let solver = FlowSolver::from_name("fm-exp", 0.0, 0.0).unwrap();
    assert!(sample_flow(&velocity, x0(), solver, 0).is_err());
    assert!(matches!(
        FlowSolver::from_name("fm-exp-3", 0.0, 0.0),
        Some(FlowSolver::ExpMultistep { order: 3, .. })
    ));
}
