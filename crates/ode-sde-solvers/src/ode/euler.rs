//! Explicit Euler.

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Forward Euler, y₁ = y₀ + h f(t₀, y₀) (Euler 1768). Order 1, no error estimate.
#[derive(Clone, Copy, Debug, Default)]
pub struct Euler;

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0],
    a: &[&[]],
    b: &[1.0],
    b_error: None,
    order: 1,
    embedded_order: None,
    fsal: false,
};

impl RungeKutta for Euler {
    const NAME: &'static str = "euler";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
