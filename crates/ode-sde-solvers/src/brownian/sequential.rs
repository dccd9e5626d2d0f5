//! Brownian increments drawn step after step, for fixed step sequences.

use super::rng::PerSampleNormals;
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
    normals: PerSampleNormals<S>,
    last_t: Option<f64>,
}

impl<S: State> SequentialBrownian<S> {
    /// A source shaped like `template`, with one seed per sample (its leading axis).
    pub fn new(template: &S, seeds: &[u64]) -> Result<Self, SolveError> {
        Ok(Self {
            normals: PerSampleNormals::new(template, seeds, 0)?,
            last_t: None,
        })
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
        let dw = self.normals.draw(h.sqrt());
        let levy_h = levy_area.then(|| self.normals.draw((h / 12.0).sqrt()));
        Ok(BrownianIncrement { dw, levy_h })
    }
}
