//! The few random primitives the data module uses, written out so that a seed means the same
//! numbers whatever `rand`'s version: `rand` has changed its shuffle and range algorithms
//! between releases (0.9 replaced both), which would silently change every epoch order and toy
//! dataset of a resumed run.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a ChaCha8 stream of the loader is for; part of its key, so the permutation and the
/// flip decisions of one (seed, epoch) are independent streams.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    /// The epoch's sample order.
    Permutation = 1,
    /// The epoch's horizontal flips.
    Flip = 2,
}

/// A ChaCha8 generator whose 256-bit key is (seed, epoch, stream) as three little-endian u64
/// words and a zero word: a function of those three values only.
pub(crate) fn keyed(seed: u64, epoch: u64, stream: Stream) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    key[16..24].copy_from_slice(&(stream as u64).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// Uniform on [0, 1) with 53 random bits: (u64 >> 11)·2⁻⁵³.
pub(crate) fn uniform(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform integer in `0..bound` (`bound > 0`), without bias: Lemire's multiply-and-reject
/// method ("Fast random integer generation in an interval", ACM TOMACS 2019).
pub(crate) fn below(rng: &mut impl RngCore, bound: u64) -> u64 {
    debug_assert!(bound > 0);
    let mut m = u128::from(rng.next_u64()) * u128::from(bound);
    if (m as u64) < bound {
        let threshold = bound.wrapping_neg() % bound;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(bound);
        }
    }
    (m >> 64) as u64
}

/// Fisher–Yates shuffle (Durstenfeld's in-place form): for i = n−1 … 1 swap i with a uniform
/// j ∈ 0..=i.
pub(crate) fn shuffle<T>(rng: &mut impl RngCore, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A standard normal draw by the Box–Muller transform. Only the cosine branch is used, so every
/// call consumes exactly two uniforms and no state is carried between calls.
pub(crate) fn normal(rng: &mut impl RngCore) -> f64 {
    // 1 − u ∈ (0, 1] keeps the logarithm finite.
    let r = (-2.0 * (1.0 - uniform(rng)).ln()).sqrt();
    r * (std::f64::consts::TAU * uniform(rng)).cos()
}
