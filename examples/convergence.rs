//! Measures the convergence order of every ODE solver on y' = ω y² sin(ωt), whose solution is
//! y(t) = 1/(cos(ωt) − K), and prints a table: the quickest way to see the solver core at work.
//!
//! ```text
//! cargo run --release --example convergence
//! ```

use ndarray::Array1;
use scoreflow::solvers::ode::{
    Bosh3, Dopri5, Euler, Heun, Midpoint, OdeSolver, Rk4, SaveAt, SolveOptions, Tsit5, integrate,
};

const OMEGA: f64 = 5.0;
const KS: [f64; 3] = [-1.5, -2.0, -3.0];
const T_END: f64 = 2.0;

fn field(t: f64, y: &Array1<f64>) -> Array1<f64> {
    y.mapv(|v| OMEGA * v * v * (OMEGA * t).sin())
}

fn exact(t: f64) -> Array1<f64> {
    Array1::from_iter(KS.iter().map(|k| 1.0 / ((OMEGA * t).cos() - k)))
}

fn global_error<M: OdeSolver<Array1<f64>>>(solver: &M, n: usize) -> f64 {
    let opts = SolveOptions::steps(n).save_at(SaveAt::Steps);
    let sol = integrate(&field, solver, 0.0, T_END, exact(0.0), &opts).expect("integration failed");
    sol.ts
        .iter()
        .zip(&sol.ys)
        .map(|(t, y)| (y - &exact(*t)).iter().fold(0.0f64, |m, e| m.max(e.abs())))
        .fold(0.0, f64::max)
}

fn row<M: OdeSolver<Array1<f64>>>(solver: M, steps: [usize; 5]) {
    let errs: Vec<f64> = steps.iter().map(|&n| global_error(&solver, n)).collect();
    let xs: Vec<f64> = steps.iter().map(|&n| (T_END / n as f64).ln()).collect();
    let ys: Vec<f64> = errs.iter().map(|e| e.ln()).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / 5.0, ys.iter().sum::<f64>() / 5.0);
    let slope = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mx) * (y - my))
        .sum::<f64>()
        / xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
    println!(
        "{:<9} {:>6} {:>9.3} {:>12.3e} {:>12.3e}",
        solver.name(),
        solver.order(),
        slope,
        errs[0],
        errs[4]
    );
}

fn main() {
    println!(
        "{:<9} {:>6} {:>9} {:>12} {:>12}",
        "solver", "theory", "measured", "err coarse", "err fine"
    );
    row(Euler, [1280, 2560, 5120, 10240, 20480]);
    row(Midpoint, [320, 453, 640, 905, 1280]);
    row(Heun, [320, 453, 640, 905, 1280]);
    row(Bosh3, [80, 113, 160, 226, 320]);
    row(Rk4, [160, 226, 320, 453, 640]);
    row(Dopri5, [80, 113, 160, 226, 320]);
    row(Tsit5, [80, 113, 160, 226, 320]);
}
