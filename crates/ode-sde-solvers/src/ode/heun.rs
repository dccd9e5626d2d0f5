//! Heun's method (explicit trapezoidal rule) with an embedded Euler estimate.

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Heun's method (Heun 1900): k₂ = f(t₁, y₀ + h k₁), y₁ = y₀ + h(k₁ + k₂)/2. Order 2; the
/// difference to the Euler step, h(k₂ − k₁)/2, is its error estimate (a 2(1) pair).
#[derive(Clone, Copy, Debug, Default)]
pub struct Heun;

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0, 1.0],
    a: &[&[], &[1.0]],
    b: &[0.5, 0.5],
    b_error: Some(&[-0.5, 0.5]),
    order: 2,
    embedded_order: Some(1),
    fsal: false,
};

impl RungeKutta for Heun {
    const NAME: &'static str = "heun";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
