//! SDE integration: `dy = f(t, y) dt + g(t, y) ⊙ dW` with diagonal noise.
//!
//! Solvers see the Brownian motion only through [`crate::brownian::BrownianIncrement`]s, so the
//! same solver runs on a cheap sequential source or on a tree that can be re-queried.

mod euler_maruyama;
mod integrate;
mod sra1;
mod stochastic_heun;

pub use euler_maruyama::EulerMaruyama;
pub use integrate::integrate_sde;
pub use sra1::Sra1;
pub use stochastic_heun::StochasticHeun;

use crate::SolveError;
use crate::brownian::BrownianIncrement;
use crate::state::State;
use crate::term::SdeTerm;

/// The stochastic calculus a solver's limit solves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Calculus {
    /// Itô integrals.
    Ito,
    /// Stratonovich integrals.
    Stratonovich,
}

/// The result of one SDE step.
#[derive(Clone, Debug)]
pub struct SdeStep<S, St> {
    /// The state at t₁.
    pub y1: S,
    /// A local error estimate, for solvers with an embedded lower-order method.
    pub y_error: Option<S>,
    /// The solver's state after the step.
    pub state: St,
    /// Drift and diffusion evaluations made.
    pub nfe: usize,
}

/// A one-step SDE solver.
pub trait SdeSolver<S: State> {
    /// What the solver carries between steps.
    type SolverState: Clone;

    /// A short name.
    fn name(&self) -> &'static str;

    /// The strong order on the noise class the solver is built for (see each solver's docs).
    fn strong_order(&self) -> f64;

    /// Itô or Stratonovich.
    fn calculus(&self) -> Calculus;

    /// Whether steps need the space-time Lévy area.
    fn needs_levy_area(&self) -> bool {
        false
    }

    /// The exponent of the local error estimate, when there is one (for adaptive steps).
    fn error_order(&self) -> Option<f64> {
        None
    }

    /// The state before the first step; fails if the solver cannot treat this problem.
    fn init<T: SdeTerm<S>>(
        &self,
        term: &T,
        t0: f64,
        y0: &S,
    ) -> Result<Self::SolverState, SolveError>;

    /// One step from (t0, y0) to t1 driven by `dw`.
    fn step<T: SdeTerm<S>>(
        &self,
        term: &T,
        t0: f64,
        t1: f64,
        y0: &S,
        dw: &BrownianIncrement<S>,
        state: &Self::SolverState,
    ) -> Result<SdeStep<S, Self::SolverState>, SolveError>;
}
