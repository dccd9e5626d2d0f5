//! Bogacki–Shampine 3(2).

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Bogacki & Shampine (1989), "A 3(2) pair of Runge–Kutta formulas", Appl. Math. Lett. 2(4):
/// c = (0, ½, ¾, 1), b = (2/9, 1/3, 4/9, 0), b̂ = (7/24, 1/4, 1/3, 1/8). Order 3 with an
/// embedded order-2 estimate; first same as last.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bosh3;

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0, 0.5, 0.75, 1.0],
    a: &[
        &[],
        &[0.5],
        &[0.0, 0.75],
        &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    ],
    b: &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0],
    b_error: Some(&[
        2.0 / 9.0 - 7.0 / 24.0,
        1.0 / 3.0 - 1.0 / 4.0,
        4.0 / 9.0 - 1.0 / 3.0,
        -1.0 / 8.0,
    ]),
    order: 3,
    embedded_order: Some(2),
    fsal: true,
};

impl RungeKutta for Bosh3 {
    const NAME: &'static str = "bosh3";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
