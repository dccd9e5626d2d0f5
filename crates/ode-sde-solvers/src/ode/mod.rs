//! ODE integration: solvers as values with an `order`, an `init` and a `step` (diffrax style).
//!
//! Every solver here is an explicit Runge–Kutta method: one type in one file giving its Butcher
//! tableau ([`ButcherTableau`]); the shared stage loop lives in [`explicit_rk`]. Step-size control
//! and saving live in [`integrate()`], not in the solvers.

mod bosh3;
mod controller;
mod dense;
mod dopri5;
mod euler;
pub mod explicit_rk;
mod heun;
mod integrate;
mod midpoint;
mod rk4;
mod tsit5;

pub use bosh3::Bosh3;
pub use controller::PidController;
pub use dense::hermite;
pub use dopri5::Dopri5;
pub use euler::Euler;
pub use explicit_rk::{ButcherTableau, RungeKutta};
pub use heun::Heun;
pub(crate) use integrate::step_grid;
pub use integrate::{SaveAt, Solution, SolveOptions, Stats, StepControl, integrate};
pub use midpoint::Midpoint;
pub use rk4::Rk4;
pub use tsit5::Tsit5;

use crate::state::State;
use crate::term::OdeTerm;

/// The result of one step from `t0` to `t1`.
#[derive(Clone, Debug)]
pub struct Step<S, St> {
    /// The solution at `t1`.
    pub y1: S,
    /// The local error estimate, for solvers with an embedded method.
    pub y_error: Option<S>,
    /// `f(t0, y0)`, kept for dense output.
    pub f0: S,
    /// `f(t1, y1)` when the solver computed it anyway (first-same-as-last methods).
    pub f1: Option<S>,
    /// The solver's state to pass to the next step (if this one is accepted).
    pub state: St,
    /// Vector-field evaluations this step made.
    pub nfe: usize,
}

/// A one-step ODE solver for `dy/dt = f(t, y)`.
pub trait OdeSolver<S: State> {
    /// What the solver carries between accepted steps (e.g. a first-same-as-last evaluation).
    type SolverState: Clone;

    /// A short name, e.g. `"dopri5"`.
    fn name(&self) -> &'static str;

    /// The classical order p: the global error is O(hᵖ).
    fn order(&self) -> u32;

    /// The exponent of the local error estimate, q + 1 where q is the order of the embedded
    /// method; `None` when the solver has no estimate and cannot be used adaptively.
    fn error_order(&self) -> Option<u32>;

    /// The state before the first step, and the vector-field evaluations it took.
    fn init<T: OdeTerm<S>>(&self, term: &T, t0: f64, y0: &S) -> (Self::SolverState, usize);

    /// f(t₀, y₀) if `state` holds it (a first-same-as-last method's [`Self::init`] computed
    /// it), so that the adaptive driver's starting-step selection reuses it instead of
    /// evaluating the field again. The default says it does not.
    fn initial_derivative<'a>(&self, state: &'a Self::SolverState) -> Option<&'a S> {
        let _ = state;
        None
    }

    /// One step from `(t0, y0)` to `t1` (which may be smaller than `t0`: integration backward
    /// in time needs nothing special).
    fn step<T: OdeTerm<S>>(
        &self,
        term: &T,
        t0: f64,
        t1: f64,
        y0: &S,
        state: &Self::SolverState,
    ) -> Step<S, Self::SolverState>;
}
