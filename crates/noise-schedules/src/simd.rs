//! Low-level numerics shared by the crates above (the mixture oracle of score-matching, the
//! Sinkhorn kernels of flow-matching): a vectorisable eˣ and run-time selection of wider vector
//! units ([`multiversion!`](crate::multiversion)). This crate is their one common dependency;
//! nothing here knows about schedules.

/// `ln 2` split so that `n·LN2_HI` is exact for |n| < 2¹¹ (fdlibm's constants).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5·2⁵²: adding it rounds a double of magnitude < 2⁵¹ to an integer, which then sits in the
/// low mantissa bits.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// 1/k! for k = 0…12.
const INV_FACTORIAL: [f64; 13] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
];

/// eˣ to about 1 ulp for x ∈ [−708, 709], 0 below (where eˣ would be subnormal), +∞ above.
/// Cody–Waite reduction x = n·ln 2 + r, |r| ≤ ln 2 / 2, the degree-13 Taylor polynomial of eʳ
/// (truncation r¹⁴/14! < 5e-18, evaluated by Estrin's scheme) and 2ⁿ built in the exponent bits:
/// integer and floating-point operations only, so a loop calling it vectorises where `f64::exp`
/// (a libm call) would not. The callers' arguments are log-ratios to a maximum (a mixture's log
/// responsibilities, Sinkhorn's Gibbs kernel), for which 0 below −708 changes no sum.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let underflow = x < -708.0;
    let overflow = x > 709.0;
    let x = x.clamp(-708.0, 709.0);
    let t = x * std::f64::consts::LOG2_E + ROUND_MAGIC;
    let n = t - ROUND_MAGIC;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let f = &INV_FACTORIAL;
    let (r2, r4) = (r * r, r * r * (r * r));
    let r8 = r4 * r4;
    let s0 = (1.0 + r) + r2 * (f[2] + f[3] * r);
    let s1 = (f[4] + f[5] * r) + r2 * (f[6] + f[7] * r);
    let s2 = (f[8] + f[9] * r) + r2 * (f[10] + f[11] * r);
    let s3 = f[12] + (1.0 / 6_227_020_800.0) * r;
    let p = (s0 + r4 * s1) + r8 * (s2 + r4 * s3);
    // t's low mantissa bits hold n + 2⁵¹ (two's complement offset by the magic's mantissa).
    let bits = t
        .to_bits()
        .wrapping_sub(ROUND_MAGIC.to_bits())
        .wrapping_add(1023)
        << 52;
    let v = p * f64::from_bits(bits);
    if underflow {
        0.0
    } else if overflow {
        f64::INFINITY
    } else {
        v
    }
}

/// `[vis] fn $name(args) [-> T]` calling `$serial(args)` compiled for AVX-512, else AVX2+FMA,
/// else the baseline x86-64 (SSE2) the workspace builds for, whichever the CPU has (checked at
/// run time; std caches the checks). The loops of `$serial` are thereby vectorised 8 or 4 f64
/// lanes wide with FMA instead of 2.
#[macro_export]
macro_rules! multiversion {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? => $serial:ident) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $serial($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $serial($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features the function was compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $serial($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::exp;

    #[test]
    fn exp_matches_libm_to_a_few_ulp() {
        let mut worst = 0.0f64;
        let mut x = -708.0;
        while x <= 709.0 {
            let (got, want) = (exp(x), x.exp());
            worst = worst.max(((got - want) / want).abs());
            x += 0.013_7;
        }
        assert!(worst < 1e-15, "worst relative error {worst:e}");
        assert_eq!(exp(-708.5), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(0.0), 1.0);
    }
}
