//! Measured convergence orders of every ODE solver on a nonlinear, time-dependent problem with
//! a closed-form solution, and adaptive stepping against requested tolerances.

mod common;

use common::loglog_slope;
use ndarray::{Array1, array};
use scoreflow_ode_sde_solvers::ode::{
    Bosh3, Dopri5, Euler, Heun, Midpoint, OdeSolver, Rk4, SaveAt, SolveOptions, Tsit5, integrate,
};
use scoreflow_ode_sde_solvers::{SolveError, State};

/// y' = ω y² sin(ωt) has y(t) = 1/(cos(ωt) − K), K = 1 − 1/y(0); three initial values at once.
/// ω = 5 makes the error constants large enough that the asymptotic regime of the fifth-order
/// methods sits well above round-off.
const OMEGA: f64 = 5.0;
const KS: [f64; 3] = [-1.5, -2.0, -3.0];
const T_END: f64 = 2.0;

fn field(t: f64, y: &Array1<f64>) -> Array1<f64> {
    y.mapv(|v| OMEGA * v * v * (OMEGA * t).sin())
}

fn exact(t: f64) -> Array1<f64> {
    Array1::from_iter(KS.iter().map(|k| 1.0 / ((OMEGA * t).cos() - k)))
}

fn max_err(y: &Array1<f64>, t: f64) -> f64 {
    (y - &exact(t)).iter().fold(0.0f64, |m, e| m.max(e.abs()))
}

/// The global error: the largest error over every step of the trajectory (an end-point error
/// alone can pass near a zero crossing of the error and fake a higher order).
fn global_error<M: OdeSolver<Array1<f64>>>(solver: &M, n: usize) -> f64 {
    let opts = SolveOptions::steps(n).save_at(SaveAt::Steps);
    let sol = integrate(&field, solver, 0.0, T_END, exact(0.0), &opts).unwrap();
    assert_eq!(sol.ys.len(), n + 1);
    sol.ts
        .iter()
        .zip(&sol.ys)
        .map(|(t, y)| max_err(y, *t))
        .fold(0.0, f64::max)
}

fn assert_order<M: OdeSolver<Array1<f64>>>(solver: M, steps: &[usize]) {
    let hs: Vec<f64> = steps.iter().map(|&n| T_END / n as f64).collect();
    let errs: Vec<f64> = steps.iter().map(|&n| global_error(&solver, n)).collect();
    let p = loglog_slope(&hs, &errs);
    let theory = solver.order() as f64;
    assert!(
        (p - theory).abs() <= 0.15,
        "{}: measured order {p:.3}, theory {theory}, errors {errs:?}",
        solver.name()
    );
}

#[test]
fn euler_is_first_order() {
    assert_order(Euler, &[1280, 2560, 5120, 10240, 20480]);
}

#[test]
fn midpoint_is_second_order() {
    assert_order(Midpoint, &[320, 453, 640, 905, 1280]);
}

#[test]
fn heun_is_second_order() {
    assert_order(Heun, &[320, 453, 640, 905, 1280]);
}

#[test]
fn rk4_is_fourth_order() {
    assert_order(Rk4, &[160, 226, 320, 453, 640]);
}

#[test]
fn bosh3_is_third_order() {
    assert_order(Bosh3, &[80, 113, 160, 226, 320]);
}

#[test]
fn dopri5_is_fifth_order() {
    assert_order(Dopri5, &[80, 113, 160, 226, 320]);
}

#[test]
fn tsit5_is_fifth_order() {
    assert_order(Tsit5, &[80, 113, 160, 226, 320]);
}

/// The same integration on an f32 array agrees with f64 to f32 precision: the state is generic.
#[test]
fn f32_state_matches_f64() {
    let f = |t: f64, y: &Array1<f32>| y.mapv(|v| OMEGA as f32 * v * v * (OMEGA * t).sin() as f32);
    let y0 = exact(0.0).mapv(|v| v as f32);
    let y32 = integrate(&f, &Rk4, 0.0, T_END, y0, &SolveOptions::steps(400)).unwrap();
    let y64 = integrate(
        &field,
        &Rk4,
        0.0,
        T_END,
        exact(0.0),
        &SolveOptions::steps(400),
    )
    .unwrap();
    let a = y32.last().unwrap().mapv(|v| v as f64);
    let b = y64.last().unwrap();
    let rel = (&a - b).iter().fold(0.0f64, |m, e| m.max(e.abs()))
        / b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(rel < 1e-5, "f32 vs f64 relative difference {rel:e}");
    assert!(max_err(&a, T_END) < 1e-5);
}

/// The exact flow of the test problem from (t0, y0) to t1, element by element.
fn exact_from(t0: f64, y0: &Array1<f64>, t1: f64) -> Array1<f64> {
    y0.mapv(|v| {
        let k = (OMEGA * t0).cos() - 1.0 / v;
        1.0 / ((OMEGA * t1).cos() - k)
    })
}

/// Every accepted step's true local error — the step against the exact flow from the same
/// starting point — has a scaled norm within the requested tolerance (the controller's promise),
/// and the global error follows the tolerance down (within a problem constant ≤ 200).
#[test]
fn adaptive_solvers_reach_requested_tolerance() {
    fn check<M: OdeSolver<Array1<f64>>>(solver: M, tols: [f64; 4]) {
        let mut last_steps = 0;
        for tol in tols {
            let opts = SolveOptions::adaptive(tol, tol).save_at(SaveAt::Steps);
            let sol = integrate(&field, &solver, 0.0, T_END, exact(0.0), &opts).unwrap();
            let worst_local = sol
                .ts
                .windows(2)
                .zip(sol.ys.windows(2))
                .map(|(t, y)| {
                    let local = &y[1] - &exact_from(t[0], &y[0], t[1]);
                    <Array1<f64> as State>::error_norm(&local, &y[0], &y[1], tol, tol)
                })
                .fold(0.0, f64::max);
            assert!(
                worst_local <= 1.0,
                "{} tol {tol:e}: local error norm {worst_local}",
                solver.name()
            );
            let global = max_err(sol.ys.last().unwrap(), T_END);
            assert!(
                global <= 200.0 * tol,
                "{} tol {tol:e}: global error {global:e}",
                solver.name()
            );
            let steps = sol.stats.accepted;
            assert!(
                steps > last_steps,
                "{}: tighter tolerance must take more steps",
                solver.name()
            );
            last_steps = steps;
        }
    }
    // A second-order pair needs ~tol^(-1/2) steps: keep it to tolerances it can afford.
    check(Heun, [1e-3, 1e-4, 1e-5, 1e-6]);
    // Embedded estimates are asymptotic: at loose tolerances (≥ 1e-6 on this ω = 5 problem) the
    // higher-order pairs take steps too large for the estimate to be reliable.
    check(Bosh3, [1e-7, 1e-8, 1e-9, 1e-10]);
    check(Dopri5, [1e-7, 1e-8, 1e-9, 1e-10]);
    check(Tsit5, [1e-7, 1e-8, 1e-9, 1e-10]);
}

#[test]
fn integrates_backward_in_time() {
    for tol in [1e-6, 1e-9] {
        let sol = integrate(
            &field,
            &Dopri5,
            T_END,
            0.0,
            exact(T_END),
            &SolveOptions::adaptive(tol, tol),
        )
        .unwrap();
        let err = max_err(sol.last().unwrap(), 0.0);
        assert!(err <= 10.0 * tol, "backward error {err:e} at tol {tol:e}");
    }
    let sol = integrate(
        &field,
        &Rk4,
        T_END,
        0.0,
        exact(T_END),
        &SolveOptions::steps(640),
    )
    .unwrap();
    assert!(max_err(sol.last().unwrap(), 0.0) < 1e-8);
}

/// Dense output is third order: the interpolant error at mid-step shrinks like h⁴ locally,
/// and at a tight tolerance it matches the exact solution at arbitrary times.
#[test]
fn dense_output_matches_exact_solution() {
    let times: Vec<f64> = (0..=40).map(|i| T_END * i as f64 / 40.0 * 0.999).collect();
    let opts = SolveOptions::adaptive(1e-10, 1e-10).save_at(SaveAt::Times(times.clone()));
    let sol = integrate(&field, &Tsit5, 0.0, T_END, exact(0.0), &opts).unwrap();
    assert_eq!(sol.ts, times);
    for (t, y) in sol.ts.iter().zip(&sol.ys) {
        assert!(
            max_err(y, *t) < 1e-6,
            "dense output at t = {t}: {}",
            max_err(y, *t)
        );
    }
    // Fixed RK4 steps with Hermite interpolation at quarter-step points: error order 4.
    let (hs, errs): (Vec<f64>, Vec<f64>) = [160usize, 226, 320, 453, 640]
        .iter()
        .map(|&n| {
            let h = T_END / n as f64;
            let ts: Vec<f64> = (0..n).map(|i| (i as f64 + 0.25) * h).collect();
            let opts = SolveOptions::steps(n).save_at(SaveAt::Times(ts));
            let sol = integrate(&field, &Rk4, 0.0, T_END, exact(0.0), &opts).unwrap();
            let e = sol
                .ts
                .iter()
                .zip(&sol.ys)
                .map(|(t, y)| max_err(y, *t))
                .fold(0.0, f64::max);
            (h, e)
        })
        .unzip();
    let p = loglog_slope(&hs, &errs);
    assert!((p - 4.0).abs() <= 0.3, "dense output order {p}");
}

#[test]
fn failures_are_values() {
    // Blow-up: y' = y² from y(0) = 1 is singular at t = 1.
    let blowup = |_: f64, y: &Array1<f64>| y.mapv(|v| v * v);
    let err = integrate(
        &blowup,
        &Dopri5,
        0.0,
        2.0,
        array![1.0],
        &SolveOptions::adaptive(1e-8, 1e-8),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            SolveError::StepSizeTooSmall { .. }
                | SolveError::MaxStepsReached { .. }
                | SolveError::NonFinite { .. }
        ),
        "{err:?}"
    );
    let mut opts = SolveOptions::adaptive(1e-8, 1e-8);
    opts.max_steps = 3;
    assert!(matches!(
        integrate(&field, &Dopri5, 0.0, T_END, exact(0.0), &opts),
        Err(SolveError::MaxStepsReached { max_steps: 3, .. })
    ));
    assert!(matches!(
        integrate(
            &field,
            &Rk4,
            0.0,
            T_END,
            exact(0.0),
            &SolveOptions::adaptive(1e-6, 1e-6)
        ),
        Err(SolveError::Unsupported { .. })
    ));
    assert!(matches!(
        integrate(
            &field,
            &Rk4,
            0.0,
            T_END,
            exact(0.0),
            &SolveOptions::steps(0)
        ),
        Err(SolveError::InvalidOption { .. })
    ));
    assert!(matches!(
        integrate(
            &field,
            &Rk4,
            0.0,
            f64::NAN,
            exact(0.0),
            &SolveOptions::steps(4)
        ),
        Err(SolveError::InvalidInterval(_))
    ));
    assert!(matches!(
        integrate(
            &field,
            &Dopri5,
            0.0,
            T_END,
            exact(0.0),
            &SolveOptions::adaptive(-1.0, 1e-6)
        ),
        Err(SolveError::InvalidOption { name: "rtol", .. })
    ));
    assert!(matches!(
        integrate(
            &field,
            &Dopri5,
            0.0,
            T_END,
            exact(0.0),
            &SolveOptions::adaptive(f64::NAN, 1e-6)
        ),
        Err(SolveError::InvalidOption { name: "rtol", .. })
    ));
    let nan_field = |_: f64, y: &Array1<f64>| y.mapv(|_| f64::NAN);
    assert!(matches!(
        integrate(
            &nan_field,
            &Rk4,
            0.0,
            1.0,
            exact(0.0),
            &SolveOptions::steps(4)
        ),
        Err(SolveError::NonFinite { .. })
    ));
    let grid = scoreflow_ode_sde_solvers::ode::StepControl::Grid(vec![0.0, 1.0, 0.5, 2.0]);
    let opts = SolveOptions {
        control: grid,
        save_at: SaveAt::End,
        max_steps: 100,
    };
    assert!(matches!(
        integrate(&field, &Rk4, 0.0, 2.0, exact(0.0), &opts),
        Err(SolveError::InvalidInterval(_))
    ));
}

/// The adaptive driver's evaluations: a first-same-as-last pair (Dopri5, Tsit5, Bosh3)
/// evaluates f at the start once, for both its first stage and the starting-step selection
/// (Hairer, Nørsett & Wanner §II.4, which needs f(t₀, y₀) and one more evaluation), then s − 1
/// per attempted step; a pair without FSAL (Heun) evaluates f(t₀, y₀) for the selection and s
/// per attempted step.
#[test]
fn adaptive_evaluation_count_reuses_the_first_derivative() {
    fn count<M: OdeSolver<Array1<f64>>>(solver: M, new_per_step: usize) {
        let calls = std::cell::Cell::new(0usize);
        let f = |t: f64, y: &Array1<f64>| {
            calls.set(calls.get() + 1);
            field(t, y)
        };
        let opts = SolveOptions::adaptive(1e-6, 1e-6);
        let sol = integrate(&f, &solver, 0.0, T_END, exact(0.0), &opts).unwrap();
        let attempts = sol.stats.accepted + sol.stats.rejected;
        assert_eq!(sol.stats.nfe, calls.get(), "{}", solver.name());
        assert_eq!(
            calls.get(),
            2 + new_per_step * attempts,
            "{}: {} attempts",
            solver.name(),
            attempts
        );
    }
    count(Dopri5, 6);
    count(Tsit5, 6);
    count(Bosh3, 3);
    count(Heun, 2);
}
