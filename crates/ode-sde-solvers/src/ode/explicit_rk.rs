//! The stage loop shared by every explicit Runge–Kutta method.
//!
//! For a tableau (c, A, b) and step h (Butcher, *Numerical Methods for ODEs*, §23):
//! kᵢ = f(t₀ + cᵢh, y₀ + h Σ_{j<i} aᵢⱼ kⱼ),  y₁ = y₀ + h Σ bᵢ kᵢ,
//! and, with an embedded pair, the error estimate h Σ (bᵢ − b̂ᵢ) kᵢ.
//! First-same-as-last (FSAL) methods have a last row of A equal to b, so the last stage is
//! evaluated at (t₁, y₁) and reused as the next step's k₁.

use super::{OdeSolver, Step};
use crate::state::State;
use crate::term::OdeTerm;

/// A Butcher tableau; row `i` of `a` holds `aᵢⱼ` for `j < i` (strictly lower triangular).
#[derive(Debug)]
pub struct ButcherTableau {
    /// Stage times cᵢ.
    pub c: &'static [f64],
    /// Stage coefficients aᵢⱼ, row by row (row 0 is empty).
    pub a: &'static [&'static [f64]],
    /// Solution weights bᵢ.
    pub b: &'static [f64],
    /// bᵢ − b̂ᵢ: weights of the local error estimate, when there is an embedded method.
    pub b_error: Option<&'static [f64]>,
    /// Classical order of the b weights.
    pub order: u32,
    /// Order q of the embedded method b̂.
    pub embedded_order: Option<u32>,
    /// Whether the last stage is f(t₁, y₁).
    pub fsal: bool,
}

/// An explicit Runge–Kutta method: a name and a tableau. Every such type is an [`OdeSolver`].
pub trait RungeKutta {
    /// A short name, e.g. `"rk4"`.
    const NAME: &'static str;
    /// The method's coefficients.
    fn tableau(&self) -> &'static ButcherTableau;
}

impl<S: State, M: RungeKutta> OdeSolver<S> for M {
    /// For FSAL methods, `f(t₀, y₀)` from the previous step's last stage.
    type SolverState = Option<S>;

    fn name(&self) -> &'static str {
        M::NAME
    }

    fn order(&self) -> u32 {
        self.tableau().order
    }

    fn error_order(&self) -> Option<u32> {
        let tab = self.tableau();
        tab.b_error
            .and(tab.embedded_order.map(|q| q.min(tab.order) + 1))
    }

    fn init<T: OdeTerm<S>>(&self, term: &T, t0: f64, y0: &S) -> (Option<S>, usize) {
        let k0 = self.tableau().fsal.then(|| term.vf(t0, y0));
        let nfe = usize::from(k0.is_some());
        (k0, nfe)
    }

    fn initial_derivative<'a>(&self, state: &'a Option<S>) -> Option<&'a S> {
        state.as_ref()
    }

    fn step<T: OdeTerm<S>>(
        &self,
        term: &T,
        t0: f64,
        t1: f64,
        y0: &S,
        state: &Option<S>,
    ) -> Step<S, Option<S>> {
        let tab = self.tableau();
        let h = t1 - t0;
        let stages = tab.c.len();
        let mut nfe = 0;
        let k0 = match state {
            Some(k) if tab.fsal => k.clone(),
            _ => {
                nfe += 1;
                term.vf(t0, y0)
            }
        };
        let mut ks: Vec<S> = Vec::with_capacity(stages);
        ks.push(k0);
        let mut y_last_stage = None;
        for i in 1..stages {
            let yi = combine(y0, h, tab.a[i], &ks);
            // The last FSAL stage sits exactly at t1; use t1 itself to avoid t0 + 1.0·h round-off.
            let ti = if tab.c[i] == 1.0 {
                t1
            } else {
                t0 + tab.c[i] * h
            };
            ks.push(term.vf(ti, &yi));
            nfe += 1;
            if tab.fsal && i == stages - 1 {
                y_last_stage = Some(yi);
            }
        }
        let y1 = match y_last_stage {
            Some(y) => y,
            None => combine(y0, h, tab.b, &ks),
        };
        let y_error = tab.b_error.map(|e| {
            let terms: Vec<(f64, &S)> = e[1..]
                .iter()
                .zip(&ks[1..])
                .filter(|(w, _)| **w != 0.0)
                .map(|(w, k)| (h * w, k))
                .collect();
            ks[0].clone().lincomb(h * e[0], &terms)
        });
        let f1 = tab.fsal.then(|| ks[stages - 1].clone());
        let f0 = ks.swap_remove(0);
        Step {
            y1,
            y_error,
            f0,
            f1: f1.clone(),
            state: f1,
            nfe,
        }
    }
}

/// `y0 + h Σⱼ wⱼ kⱼ`, skipping zero weights.
fn combine<S: State>(y0: &S, h: f64, w: &[f64], ks: &[S]) -> S {
    let terms: Vec<(f64, &S)> = w
        .iter()
        .zip(ks)
        .filter(|(w, _)| **w != 0.0)
        .map(|(w, k)| (h * w, k))
        .collect();
    y0.clone().lincomb(1.0, &terms)
}
