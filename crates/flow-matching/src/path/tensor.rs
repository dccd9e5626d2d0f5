//! The training pair on burn tensors with one time per sample.

use burn::prelude::*;
use scoreflow_noise_schedules::Coefficients;

use scoreflow_ode_sde_solvers::batch::per_sample;

use super::{AffinePath, PathError};

/// x_t and dx_t/dt for a batch with one t per sample, with the per-sample coefficients used
/// (for conversions of the network's output).
#[derive(Clone, Debug)]
pub struct TensorPathSample<const D: usize> {
    /// x_t = α(tᵢ)x₁ + σ(tᵢ)x₀, row by row.
    pub x_t: Tensor<D>,
    /// dx_t/dt = α'(tᵢ)x₁ + σ'(tᵢ)x₀.
    pub dx_t: Tensor<D>,
    /// The coefficients at each tᵢ.
    pub coefficients: Vec<Coefficients>,
}

impl AffinePath {
    /// [`sample`](Self::sample) with one time per sample: x₀ (noise) and x₁ (data) of shape
    /// `[B, …]`, `t` of length B. Coefficients are computed on the host in f64 and uploaded as
    /// four `[B, 1, …]` tensors.
    ///
    /// # Errors
    /// [`PathError::Shape`] for mismatched shapes or a `t` of the wrong length,
    /// [`PathError::TimeOutOfRange`] for a t outside [0, 1].
    pub fn sample_batch<const D: usize>(
        &self,
        x0: Tensor<D>,
        x1: Tensor<D>,
        t: &[f64],
    ) -> Result<TensorPathSample<D>, PathError> {
        if x0.dims() != x1.dims() {
            return Err(PathError::Shape {
                what: "x1",
                expected: x0.dims().to_vec(),
                got: x1.dims().to_vec(),
            });
        }
        let batch = x0.dims()[0];
        if t.len() != batch {
            return Err(PathError::Shape {
                what: "t",
                expected: vec![batch],
                got: vec![t.len()],
            });
        }
        let coefficients = t
            .iter()
            .map(|&ti| self.coefficients(ti))
            .collect::<Result<Vec<_>, _>>()?;
        let column = |f: fn(&Coefficients) -> f64| {
            per_sample(&coefficients.iter().map(f).collect::<Vec<_>>(), &x0)
        };
        let x_t = x1.clone() * column(|c| c.alpha) + x0.clone() * column(|c| c.sigma);
        let d_sigma = column(|c| c.d_sigma);
        let dx_t = x1 * column(|c| c.d_alpha) + x0 * d_sigma;
        Ok(TensorPathSample {
            x_t,
            dx_t,
            coefficients,
        })
    }
}
