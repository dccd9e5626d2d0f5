//! SiLU on `f32` slices in one pass each way, vectorised and split across threads.
//!
//! ```text
//! SiLU(x)  = x·σ(x),            σ(x) = 1 / (1 + e^(−x))        (Elfwing et al. 2018)
//! SiLU′(x) = σ(x)·(1 + x·(1 − σ(x)))
//! ```
//!
//! σ is evaluated from `e = e^(−|x|) ∈ (0, 1]` — `σ = 1/(1 + e)` for x ≥ 0 and `e/(1 + e)`
//! otherwise — so nothing overflows and the branch becomes a select the compiler vectorises.
//! The exponential is Cody–Waite range reduction `x = n·ln 2 + r`, |r| ≤ ln 2 / 2, and the
//! degree-7 Taylor polynomial of `e^r` (truncation r⁸/8! < 6e-9 < ε_f32 / 2 on that interval),
//! scaled by 2ⁿ built in the exponent bits.

/// Below this many elements one thread does the work: a rayon fork costs more than it saves.
const PARALLEL_MIN: usize = 1 << 15;
/// Elements per rayon task.
const CHUNK: usize = 1 << 14;

/// `ln 2` split so that `n·LN2_HI` is exact for |n| < 2⁹ (Cody & Waite 1980).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5·2²³: adding and subtracting it rounds an f32 of magnitude < 2²² to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `e^x` for `x ≤ 0`, to a few ulp; 0 below −87 (where `e^x < 1.7e-38` would need a subnormal
/// 2ⁿ, and where every use here multiplies it into something negligible).
#[inline(always)]
fn exp_nonpositive(x: f32) -> f32 {
    let underflow = x < -87.0;
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if underflow { 0.0 } else { p * scale }
}

/// σ(x) without overflow.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    let e = exp_nonpositive(-x.abs());
    let s = 1.0 / (1.0 + e);
    if x >= 0.0 { s } else { e * s }
}

#[inline(always)]
fn forward_serial(x: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v * sigmoid(v);
    }
}

#[inline(always)]
fn backward_serial(x: &[f32], grad: &mut [f32]) {
    for (g, &v) in grad.iter_mut().zip(x) {
        let s = sigmoid(v);
        *g *= s * (1.0 + v * (1.0 - s));
    }
}

/// Compiles `$serial` once more with wider vector units and picks the widest the CPU has at run
/// time, so that a baseline x86-64 build still uses AVX2 or AVX-512 where present.
macro_rules! multiversion {
    ($name:ident, $serial:ident, $out:ident) => {
        fn $name(x: &[f32], $out: &mut [f32]) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512(x: &[f32], $out: &mut [f32]) {
                    $serial(x, $out)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2(x: &[f32], $out: &mut [f32]) {
                    $serial(x, $out)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features the function was compiled for.
                    return unsafe { avx512(x, $out) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { avx2(x, $out) };
                }
            }
            $serial(x, $out)
        }
    };
}

multiversion!(forward_chunk, forward_serial, out);
multiversion!(backward_chunk, backward_serial, grad);

/// `out[i] = SiLU(x[i])`.
///
/// # Panics
/// If the slices differ in length.
pub fn silu_forward(x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), out.len(), "SiLU: input and output lengths differ");
    if x.len() < PARALLEL_MIN {
        return forward_chunk(x, out);
    }
    use rayon::prelude::*;
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(o, x)| forward_chunk(x, o));
}

/// `grad[i] ← grad[i]·SiLU′(x[i])`: the vector-Jacobian product, in place.
///
/// # Panics
/// If the slices differ in length.
pub fn silu_backward(x: &[f32], grad: &mut [f32]) {
    assert_eq!(
        x.len(),
        grad.len(),
        "SiLU: input and gradient lengths differ"
    );
    if x.len() < PARALLEL_MIN {
        return backward_chunk(x, grad);
    }
    use rayon::prelude::*;
    grad.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(g, x)| backward_chunk(x, g));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Every 97th f32 in [−100, 100] and the edges.
    fn inputs() -> Vec<f32> {
        let mut v: Vec<f32> = (-2_000_000..=2_000_000)
            .step_by(97)
            .map(|i| i as f32 * 5e-5)
            .collect();
        v.extend([
            0.0, -0.0, 1e-30, -1e-30, 87.0, -87.0, 88.5, -88.5, 1e4, -1e4,
        ]);
        v
    }

    #[test]
    fn exp_is_accurate_to_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in 0..=870_000 {
            let x = -(i as f32) * 1e-4;
            let got = exp_nonpositive(x) as f64;
            let exact = (x as f64).exp();
            worst = worst.max((got - exact).abs() / exact);
        }
        assert!(
            worst < 4.0 * f32::EPSILON as f64,
            "relative error {worst:e}"
        );
    }

    #[test]
    fn forward_matches_the_f64_definition() {
        let x = inputs();
        let mut out = vec![0.0; x.len()];
        silu_forward(&x, &mut out);
        for (&v, &o) in x.iter().zip(&out) {
            let exact = v as f64 * reference_sigmoid(v as f64);
            // Below −87 the result is flushed to 0 where the exact value is below 1e-34.
            let tol = 4.0 * f32::EPSILON as f64 * exact.abs() + 1e-34;
            assert!(
                (o as f64 - exact).abs() <= tol,
                "SiLU({v}) = {o}, exact {exact}"
            );
        }
    }

    #[test]
    fn backward_matches_the_f64_derivative() {
        let x = inputs();
        let mut grad: Vec<f32> = (0..x.len()).map(|i| 1.0 + (i % 7) as f32).collect();
        let upstream = grad.clone();
        silu_backward(&x, &mut grad);
        for ((&v, &g), &u) in x.iter().zip(&grad).zip(&upstream) {
            let s = reference_sigmoid(v as f64);
            let exact = u as f64 * s * (1.0 + v as f64 * (1.0 - s));
            // SiLU′ has a minimum −0.0998 near x ≈ −2.4 and cancels to 0 there: absolute slack.
            let tol = 8.0 * f32::EPSILON as f64 * (exact.abs() + u as f64);
            assert!(
                (g as f64 - exact).abs() <= tol,
                "SiLU′({v})·{u} = {g}, exact {exact}"
            );
        }
    }

    #[test]
    fn derivative_matches_central_differences() {
        for &v in &[-6.0f64, -2.4, -0.3, 0.0, 0.7, 3.0] {
            let h = 1e-3;
            let silu = |x: f64| x * reference_sigmoid(x);
            let fd = (silu(v + h) - silu(v - h)) / (2.0 * h);
            let mut g = [1.0f32];
            silu_backward(&[v as f32], &mut g);
            assert!((g[0] as f64 - fd).abs() < 1e-5, "x = {v}: {} vs {fd}", g[0]);
        }
    }
}
