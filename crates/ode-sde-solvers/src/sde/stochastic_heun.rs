//! The stochastic Heun method.

use super::{Calculus, SdeSolver, SdeStep};
use crate::SolveError;
use crate::brownian::BrownianIncrement;
use crate::state::State;
use crate::term::SdeTerm;

/// Stochastic Heun (Rümelin 1982, "Numerical treatment of stochastic differential equations",
/// SIAM J. Numer. Anal. 19(3); Kloeden & Platen 1992, §15.1): with the Euler–Maruyama predictor
/// ỹ = y₀ + f(t₀, y₀)h + g(t₀, y₀)ΔW,
/// y₁ = y₀ + ½[f(t₀, y₀) + f(t₁, ỹ)]h + ½[g(t₀, y₀) + g(t₁, ỹ)]ΔW.
/// Stratonovich; strong order 1.0 for commutative noise (scalar, diagonal or additive), 0.5 in
/// general. y₁ − ỹ is its error estimate (order 1 against 0.5).
#[derive(Clone, Copy, Debug, Default)]
pub struct StochasticHeun;

impl<S: State> SdeSolver<S> for StochasticHeun {
    type SolverState = ();

    fn name(&self) -> &'static str {
        "stochastic-heun"
    }
    fn strong_order(&self) -> f64 {
        1.0
    }
    fn calculus(&self) -> Calculus {
        Calculus::Stratonovich
    }
    fn error_order(&self) -> Option<f64> {
        Some(1.0)
    }
    fn init<T: SdeTerm<S>>(&self, _: &T, _: f64, _: &S) -> Result<(), SolveError> {
        Ok(())
    }

    fn step<T: SdeTerm<S>>(
        &self,
        term: &T,
        t0: f64,
        t1: f64,
        y0: &S,
        inc: &BrownianIncrement<S>,
        _: &(),
    ) -> Result<SdeStep<S, ()>, SolveError> {
        let h = t1 - t0;
        let f0 = term.drift(t0, y0);
        let g0 = term.diffusion_times(t0, y0, inc.dw.clone());
        let y_pred = y0.clone().lincomb(1.0, &[(h, &f0), (1.0, &g0)]);
        let f1 = term.drift(t1, &y_pred);
        let g1 = term.diffusion_times(t1, &y_pred, inc.dw.clone());
        let y1 = y0
            .clone()
            .lincomb(1.0, &[(0.5 * h, &f0), (0.5 * h, &f1), (0.5, &g0)])
            .add_scaled(0.5, &g1);
        let y_error = y1.clone().add_scaled(-1.0, &y_pred);
        Ok(SdeStep {
            y1,
            y_error: Some(y_error),
            state: (),
            nfe: 4,
        })
    }
}
