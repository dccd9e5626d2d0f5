//! Euler–Maruyama.

use super::{Calculus, SdeSolver, SdeStep};
use crate::SolveError;
use crate::brownian::BrownianIncrement;
use crate::state::State;
use crate::term::SdeTerm;

/// Euler–Maruyama (Maruyama 1955; Kloeden & Platen 1992, §10.2):
/// y₁ = y₀ + f(t₀, y₀) h + g(t₀, y₀) ⊙ ΔW.
/// Itô; strong order 0.5 in general and 1.0 for additive noise.
#[derive(Clone, Copy, Debug, Default)]
pub struct EulerMaruyama;

impl<S: State> SdeSolver<S> for EulerMaruyama {
    type SolverState = ();

    fn name(&self) -> &'static str {
        "euler-maruyama"
    }
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn calculus(&self) -> Calculus {
        Calculus::Ito
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
        let f = term.drift(t0, y0);
        let noise = term.diffusion_times(t0, y0, inc.dw.clone());
        let y1 = y0.clone().lincomb(1.0, &[(h, &f), (1.0, &noise)]);
        Ok(SdeStep {
            y1,
            y_error: None,
            state: (),
            nfe: 2,
        })
    }
}
