//! Tsitouras 5(4).

use super::explicit_rk::{ButcherTableau, RungeKutta};

/// Tsitouras (2011), "Runge–Kutta pairs of order 5(4) satisfying only the first column
/// simplifying assumption", Comput. Math. Appl. 62(2), Table 1: order 5, embedded order 4,
/// seven stages, first same as last. Coefficients to double precision from the paper's
/// high-precision values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tsit5;

const B: [f64; 6] = [
    0.096_460_766_818_065_23,
    0.01,
    0.479_889_650_414_499_6,
    1.379_008_574_103_742,
    -3.290_069_515_436_081,
    2.324_710_524_099_774,
];

static TABLEAU: ButcherTableau = ButcherTableau {
    c: &[0.0, 0.161, 0.327, 0.9, 0.980_025_540_904_509_7, 1.0, 1.0],
    a: &[
        &[],
        &[0.161],
        &[-0.008_480_655_492_356_989, 0.335_480_655_492_357],
        &[
            2.897_153_057_105_493_5,
            -6.359_448_489_975_075,
            4.362_295_432_869_581_5,
        ],
        &[
            5.325_864_828_439_257,
            -11.748_883_564_062_828,
            7.495_539_342_889_836_5,
            -0.092_495_066_361_755_25,
        ],
        &[
            5.861_455_442_946_42,
            -12.920_969_317_847_11,
            8.159_367_898_576_159,
            -0.071_584_973_281_401,
            -0.028_269_050_394_068_383,
        ],
        &B,
    ],
    b: &[B[0], B[1], B[2], B[3], B[4], B[5], 0.0],
    // The paper's error weights b̃ (only |y_err| enters the controller, so their sign is moot).
    b_error: Some(&[
        -0.001_780_011_052_225_777,
        -0.000_816_434_459_656_746_9,
        0.007_880_878_010_261_995,
        -0.144_711_007_173_262_9,
        0.582_357_165_452_555_2,
        -0.458_082_105_929_186_97,
        1.0 / 66.0,
    ]),
    order: 5,
    embedded_order: Some(4),
    fsal: true,
};

impl RungeKutta for Tsit5 {
    const NAME: &'static str = "tsit5";
    fn tableau(&self) -> &'static ButcherTableau {
        &TABLEAU
    }
}
