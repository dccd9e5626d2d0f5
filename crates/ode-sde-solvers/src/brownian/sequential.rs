//! Brownian increments drawn step after step, for fixed step sequences.

use rand_chacha::ChaCha8Rng;

use super::rng::{fill_normals, stream};
use super::{BrownianIncrement, BrownianSource};
use crate::SolveError;
use crate::state::State;

/// Independent Gaussian increments for consecutive intervals: ΔW = √|h|·z and, on request,
/// H = √(|h|/12)·z′ (z, z′ standard normal), each sample from its own seeded stream.
///
/// This is the cheapest source and the right one for samplers on a fixed grid. Intervals must be
/// queried in order, each starting where the previous one ended; a step rejected and retried
/// would need the same path on a sub-interval, which only [`super::VirtualBrownianTree`] gives.
#[derive(Clone, Debug)]
pub struct SequentialBrownian<S> {
    template: S,
    rngs: Vec<ChaCha8Rng>,
    per_sample: usize,
    last_t: Option<f64>,
    buffer: Vec<f64>,
}

impl<S: State> SequentialBrownian<S> {
    /// A source shaped like `template`, with one seed per sample (its leading axis).
    pub fn new(template: &S, seeds: &[u64]) -> Result<Self, SolveError> {
        let (n, m) = template.batch_layout();
        if seeds.len() != n {
            return Err(SolveError::SeedCount {
                seeds: seeds.len(),
                samples: n,
            });
        }
        Ok(Self {
            template: template.clone(),
            rngs: seeds.iter().map(|&s| stream(s, 0)).collect(),
            per_sample: m,
            last_t: None,
            buffer: vec![0.0; n * m],
        })
    }

    fn draw(&mut self, std: f64) -> S {
        let m = self.per_sample;
        for (rng, chunk) in self.rngs.iter_mut().zip(self.buffer.chunks_mut(m.max(1))) {
            fill_normals(rng, chunk);
            chunk.iter_mut().for_each(|v| *v *= std);
        }
        self.template.with_host_data(&self.buffer)
    }
}

impl<S: State> BrownianSource<S> for SequentialBrownian<S> {
    fn increment(
        &mut self,
        t0: f64,
        t1: f64,
        levy_area: bool,
    ) -> Result<BrownianIncrement<S>, SolveError> {
        if !t0.is_finite() || !t1.is_finite() || t0 == t1 {
            return Err(SolveError::BrownianQuery {
                t0,
                t1,
                reason: "the interval must be finite and non-empty",
            });
        }
        if self.last_t.is_some_and(|t| t != t0) {
            return Err(SolveError::BrownianQuery {
                t0,
                t1,
                reason: "a sequential source must be queried on consecutive intervals",
            });
        }
        self.last_t = Some(t1);
        let h = (t1 - t0).abs();
        let dw = self.draw(h.sqrt());
        let levy_h = levy_area.then(|| self.draw((h / 12.0).sqrt()));
        Ok(BrownianIncrement { dw, levy_h })
    }
}
