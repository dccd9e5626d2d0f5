//! The random state of a step, as a function of (seed, step).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator of optimiser step `step` of a run seeded with `seed`: ChaCha8 keyed by
/// (seed, step) and a domain tag, so that it shares no stream with the data loader's per-epoch
/// generators and a resumed run draws exactly what the uninterrupted one drew.
pub fn step_rng(seed: u64, step: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&step.to_le_bytes());
    key[16..24].copy_from_slice(b"sf-train");
    ChaCha8Rng::from_seed(key)
}

/// The seed burn's device generator gets before step `step` (dropout): burn keeps one global,
/// unsaveable generator, so it is re-seeded every step from (seed, step).
pub(crate) fn device_seed(seed: u64, step: u64) -> u64 {
    // SplitMix64 of the pair (Steele et al. 2014): any bijective mix would do.
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
