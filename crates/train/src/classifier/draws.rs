//! The host-side random draws of a classifier step: translations, noise levels and noise.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{ClassifierRunConfig, SIGMA_MAX, SIGMA_MIN};

/// The generator of step `step` of a classifier run seeded with `seed`: ChaCha8 keyed by
/// (seed, step) and a tag of its own, so it shares no stream with the loader's or the
/// trainer's, and a run is a function of its seed.
pub(super) fn step_rng(seed: u64, step: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&step.to_le_bytes());
    key[16..24].copy_from_slice(b"sf-class");
    ChaCha8Rng::from_seed(key)
}

/// `x + σ·ε` with ε ~ 𝒩(0, I) from ChaCha8 seeded by `seed`: the noised inputs x_σ of EDM's
/// variance-exploding convention (Karras et al. 2022, §2), for measuring a classifier at σ.
pub fn noised(x: &[f32], sigma: f64, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    x.iter()
        .map(|&v| {
            let e: f64 = StandardNormal.sample(&mut rng);
            (f64::from(v) + sigma * e) as f32
        })
        .collect()
}

/// One noise level per sample: σ_min with probability `clean_fraction`, else
/// exp(P_mean + P_std·n), n ~ 𝒩(0, 1), clamped to [σ_min, σ_max]. Two draws per sample whatever
/// the configuration, so the stream does not shift with it.
pub(super) fn sigmas(rng: &mut ChaCha8Rng, n: usize, config: &ClassifierRunConfig) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            let z: f64 = StandardNormal.sample(rng);
            if u < config.clean_fraction {
                SIGMA_MIN
            } else {
                (config.p_mean + config.p_std * z)
                    .exp()
                    .clamp(SIGMA_MIN, SIGMA_MAX)
            }
        })
        .collect()
}

/// Translates each image of `x` (`[B, C, H, W]` row-major, `shape = [C, H, W]`) by a uniform
/// integer offset in [−max, max]² drawn per image; vacated pixels repeat the nearest edge
/// pixel (the background, for digits).
pub(super) fn shift_images(rng: &mut ChaCha8Rng, x: &mut [f32], shape: [usize; 3], max: usize) {
    let [c, h, w] = shape;
    let span = 2 * max as i64 + 1;
    let mut source = vec![0f32; c * h * w];
    for image in x.chunks_exact_mut(c * h * w) {
        let dy = rng.random_range(0..span) - max as i64;
        let dx = rng.random_range(0..span) - max as i64;
        if dy == 0 && dx == 0 {
            continue;
        }
        source.copy_from_slice(image);
        let clamp = |v: i64, n: usize| v.clamp(0, n as i64 - 1) as usize;
        for ch in 0..c {
            let plane = &source[ch * h * w..(ch + 1) * h * w];
            for i in 0..h {
                let si = clamp(i as i64 - dy, h);
                for j in 0..w {
                    image[ch * h * w + i * w + j] = plane[si * w + clamp(j as i64 - dx, w)];
                }
            }
        }
    }
}

/// Adds σᵢ·ε to every value of sample i (`x` row-major, `per_sample` values each).
pub(super) fn add_noise(rng: &mut ChaCha8Rng, x: &mut [f32], per_sample: usize, sigmas: &[f64]) {
    for (sample, &sigma) in x.chunks_exact_mut(per_sample).zip(sigmas) {
        for v in sample {
            let e: f64 = StandardNormal.sample(rng);
            *v = (f64::from(*v) + sigma * e) as f32;
        }
    }
}
