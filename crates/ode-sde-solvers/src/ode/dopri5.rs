//! Dormand–Prince 5(4).

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Dormand & Prince (1980), "A family of embedded Runge–Kutta formulae", J. Comput. Appl. Math.
/// 6(1), Table 2 (RK5(4)7M): order 5 with local extrapolation, embedded order 4, seven stages,
/// first same as last.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dopri5;

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0],
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    b: &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ],
    // b − b̂ with b̂ = (5179/57600, 0, 7571/16695, 393/640, −92097/339200, 187/2100, 1/40).
    b_error: Some(&[
        35.0 / 384.0 - 5179.0 / 57600.0,
        0.0,
        500.0 / 1113.0 - 7571.0 / 16695.0,
        125.0 / 192.0 - 393.0 / 640.0,
        -2187.0 / 6784.0 + 92097.0 / 339200.0,
        11.0 / 84.0 - 187.0 / 2100.0,
        -1.0 / 40.0,
    ]),
    order: 5,
    embedded_order: Some(4),
    fsal: true,
};

impl RungeKutta for Dopri5 {
    const NAME: &'static str = "dopri5";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
