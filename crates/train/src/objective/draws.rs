//! The host-side random draws of one micro-batch.

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `n` standard normals as f32, from the step's generator.
pub(crate) fn normals(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

/// `n` times uniform on the open interval (0, 1): SB-CFM's bridge is singular at both ends, and
/// a draw of exactly 0 from [0, 1) would be rejected by it.
pub(crate) fn open_unit_times(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    (0..n)
        .map(|_| {
            loop {
                let t: f64 = rng.random();
                if t > 0.0 {
                    break t;
                }
            }
        })
        .collect()
}

/// A seed for a component that takes one (couplings), drawn from the step's generator.
pub(crate) fn seed(rng: &mut ChaCha8Rng) -> u64 {
    rng.next_u64()
}

/// Labels with each replaced by `null` with probability `p` (classifier-free guidance's label
/// dropout, Ho & Salimans 2022), one uniform draw per sample whatever `p` is, so that the stream
/// of draws does not depend on it.
pub(crate) fn drop_labels(rng: &mut ChaCha8Rng, labels: &mut [u32], null: u32, p: f64) {
    for l in labels.iter_mut() {
        let u: f64 = rng.random();
        if u < p {
            *l = null;
        }
    }
}
