//! Rößler's SRA1: strong order 1.5 for additive noise.

use super::{Calculus, SdeSolver, SdeStep};
use crate::SolveError;
use crate::brownian::BrownianIncrement;
use crate::state::State;
use crate::term::{NoiseKind, SdeTerm};

/// SRA1 (Rößler 2010, "Runge–Kutta methods for the strong approximation of solutions of
/// stochastic differential equations", SIAM J. Numer. Anal. 48(3), Table 5.1) for
/// dy = f(t, y)dt + g(t) ⊙ dW. With J = I₍₁,₀₎/h = ΔW/2 + H (H the space-time Lévy area):
/// Y₁ = y₀,  Y₂ = y₀ + ¾ f(t₀, Y₁) h + (3/2) g(t₁) J,
/// y₁ = y₀ + [⅓ f(t₀, Y₁) + ⅔ f(t₀ + ¾h, Y₂)] h + g(t₁)(ΔW − J) + g(t₀) J.
/// Strong order 1.5 (Itô and Stratonovich coincide for additive noise). The term must declare
/// [`NoiseKind::Additive`]; `init` refuses others.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sra1;

impl<S: State> SdeSolver<S> for Sra1 {
    type SolverState = ();

    fn name(&self) -> &'static str {
        "sra1"
    }
    fn strong_order(&self) -> f64 {
        1.5
    }
    fn calculus(&self) -> Calculus {
        Calculus::Ito
    }
    fn needs_levy_area(&self) -> bool {
        true
    }
    fn init<T: SdeTerm<S>>(&self, term: &T, _: f64, _: &S) -> Result<(), SolveError> {
        match term.noise_kind() {
            NoiseKind::Additive => Ok(()),
            NoiseKind::Diagonal => Err(SolveError::Unsupported {
                solver: "sra1",
                reason: "SRA1 needs additive noise (a diffusion that does not depend on y)",
            }),
        }
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
        let levy_h = inc.levy_h.as_ref().ok_or(SolveError::Unsupported {
            solver: "sra1",
            reason: "the Brownian increment carries no space-time Lévy area",
        })?;
        let h = t1 - t0;
        let j = levy_h.clone().add_scaled(0.5, &inc.dw);
        let f1 = term.drift(t0, y0);
        let g_stage = term.diffusion_times(t1, y0, j.clone().scale(1.5));
        let y2 = y0.clone().lincomb(1.0, &[(0.75 * h, &f1), (1.0, &g_stage)]);
        let f2 = term.drift(t0 + 0.75 * h, &y2);
        let g_end = term.diffusion_times(t1, y0, inc.dw.clone().add_scaled(-1.0, &j));
        let g_start = term.diffusion_times(t0, y0, j);
        let y1 = y0
            .clone()
            .lincomb(1.0, &[(h / 3.0, &f1), (2.0 * h / 3.0, &f2), (1.0, &g_end)])
            .add_scaled(1.0, &g_start);
        Ok(SdeStep {
            y1,
            y_error: None,
            state: (),
            nfe: 5,
        })
    }
}
