//! The explicit midpoint method.

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Explicit midpoint (Runge 1895): k₂ = f(t₀ + h/2, y₀ + h/2·k₁), y₁ = y₀ + h k₂. Order 2.
#[derive(Clone, Copy, Debug, Default)]
pub struct Midpoint;

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0, 0.5],
    a: &[&[], &[0.5]],
    b: &[0.0, 1.0],
    b_error: None,
    order: 2,
    embedded_order: None,
    fsal: false,
};

impl RungeKutta for Midpoint {
    const NAME: &'static str = "midpoint";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
