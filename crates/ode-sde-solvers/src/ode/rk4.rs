//! The classic fourth-order Runge–Kutta method.

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Classic RK4 (Kutta 1901): c = (0, ½, ½, 1), b = (1/6, 1/3, 1/3, 1/6). Order 4.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rk4;

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0, 0.5, 0.5, 1.0],
    a: &[&[], &[0.5], &[0.0, 0.5], &[0.0, 0.0, 1.0]],
    b: &[1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0],
    b_error: None,
    order: 4,
    embedded_order: None,
    fsal: false,
};

impl RungeKutta for Rk4 {
    const NAME: &'static str = "rk4";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
