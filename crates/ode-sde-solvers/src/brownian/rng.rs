//! Counter-based normal draws: a sample's seed and a stream number fix the numbers drawn.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Per-sample seeds derived from one base seed: seed *i* is a SplitMix64 hash of (base, i),
/// so sample *i* of a batch seeded with `base` equals a batch of one seeded with
/// `sample_seeds(base, i + 1)[i]`.
pub fn sample_seeds(base: u64, n: usize) -> Vec<u64> {
    (0..n as u64)
        .map(|i| mix(base ^ mix(i.wrapping_add(0x5EED))))
        .collect()
}

/// SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A ChaCha8 generator on `(seed, stream)`; streams are independent sequences for one seed.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A SplitMix64 stream (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
/// generators", OOPSLA): state += γ, output = mix(state). Keyed by (seed, stream) through two
/// rounds of [`mix`], it costs one add and two multiplies per 64 bits, against ChaCha8's
/// block function, which matters where a Brownian tree opens one short stream per
/// (sample, node): a tree of depth L draws L·d normals per sample and query time.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The stream `stream` of sample seed `seed`.
    pub(crate) fn keyed(seed: u64, stream: u64) -> Self {
        Self {
            state: mix(seed ^ mix(stream ^ 0x0B10_B5EE_D5EE_D5EE)),
        }
    }
}

impl rand::RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// Fills `out` with standard normals from `rng`.
pub(crate) fn fill_normals<R: rand::Rng>(rng: &mut R, out: &mut [f64]) {
    for v in out {
        *v = StandardNormal.sample(rng);
    }
}

/// Standard normal draws shaped like a state, sample i from its own ChaCha8 stream
/// `(seeds[i], stream_id)`, so a sample's draws never depend on the batch it is in. Shared by the
/// sequential Brownian source and the samplers' i.i.d. noise.
#[derive(Clone, Debug)]
pub(crate) struct PerSampleNormals<S> {
    template: S,
    rngs: Vec<ChaCha8Rng>,
    per_sample: usize,
    buffer: Vec<f64>,
}

impl<S: crate::state::State> PerSampleNormals<S> {
    /// Draws shaped like `template`, one seed per sample (its leading axis).
    pub(crate) fn new(
        template: &S,
        seeds: &[u64],
        stream_id: u64,
    ) -> Result<Self, crate::SolveError> {
        let (n, m) = template.batch_layout();
        if seeds.len() != n {
            return Err(crate::SolveError::SeedCount {
                seeds: seeds.len(),
                samples: n,
            });
        }
        Ok(Self {
            template: template.clone(),
            rngs: seeds.iter().map(|&s| stream(s, stream_id)).collect(),
            per_sample: m,
            buffer: vec![0.0; n * m],
        })
    }

    /// `std·z`, z ~ N(0, I), as a state like the template.
    pub(crate) fn draw(&mut self, std: f64) -> S {
        for (rng, chunk) in self
            .rngs
            .iter_mut()
            .zip(self.buffer.chunks_mut(self.per_sample.max(1)))
        {
            fill_normals(rng, chunk);
            if std != 1.0 {
                chunk.iter_mut().for_each(|v| *v *= std);
            }
        }
        self.template.with_host_data(&self.buffer)
    }
}
