//! Every coefficient of an `fm-gauss` run, in f64 on the host before the loop: the grid, the
//! Adams–Bashforth weights of each step and α, α′, s, s′ at each node.

use ndarray::Array1;

use super::{FlowSampleError, GaussianMoments};
use crate::path::AffinePath;

/// The coefficients of one run of `calls` calls at order k on `path`.
pub(super) struct Plan {
    /// tⱼ = t₀ + (1 − t₀)·j/N, j = 0, …, N (N = calls + 1).
    pub t: Vec<f64>,
    /// Step j's weights ∫_{tⱼ}^{tⱼ₊₁} ℓᵢ(τ) dτ for the last min(k, j + 1) nodes, oldest first.
    pub weights: Vec<Vec<f64>>,
    /// α(tⱼ).
    pub alpha: Vec<f64>,
    /// α′(tⱼ).
    pub d_alpha: Vec<f64>,
    /// sᵢ(tⱼ) = √(α²λᵢ + σ²).
    pub s: Vec<Array1<f64>>,
    /// s′ᵢ(tⱼ) = (αα′λᵢ + σσ′)/sᵢ (0 where sᵢ = 0: only possible at t = 1, never read there).
    pub ds: Vec<Array1<f64>>,
}

impl Plan {
    /// # Errors
    /// [`FlowSampleError::Argument`] for `calls` = 0, an order outside 1–3, t₀ outside [0, 1),
    /// a path with α(0) ≠ 0 or σ(0) ≤ 0 when t₀ = 0 (the residual at t = 0 is then not zero),
    /// σ(t₀) ≤ 0, or coefficients that are not finite on the grid.
    pub fn new(
        moments: &GaussianMoments,
        path: &AffinePath,
        t_start: f64,
        order: usize,
        calls: usize,
    ) -> Result<Self, FlowSampleError> {
        if calls == 0 || !(1..=3).contains(&order) {
            return Err(FlowSampleError::Argument(format!(
                "fm-gauss needs at least one call and an order of 1 to 3 (got {calls} calls, order {order})"
            )));
        }
        if !(0.0..1.0).contains(&t_start) {
            return Err(FlowSampleError::Argument(format!(
                "the start time t₀ = {t_start} is not in [0, 1)"
            )));
        }
        let steps = calls + 1;
        // The last node is exactly 1, whatever the rounding of t₀ + (1 − t₀).
        let t: Vec<f64> = (0..=steps)
            .map(|j| match j {
                j if j == steps => 1.0,
                j => t_start + (1.0 - t_start) * j as f64 / steps as f64,
            })
            .collect();
        let path_error = |e: &dyn std::fmt::Display| FlowSampleError::Argument(e.to_string());
        let coefficients = t
            .iter()
            .map(|&tj| path.coefficients(tj).map_err(|e| path_error(&e)))
            .collect::<Result<Vec<_>, _>>()?;
        let start = &coefficients[0];
        if start.sigma <= 0.0 || (t_start == 0.0 && start.alpha != 0.0) {
            return Err(FlowSampleError::Argument(format!(
                "fm-gauss starts from noise: it needs σ(t₀) > 0, and α(0) = 0 from t₀ = 0; this path \
                 has α({t_start}) = {}, σ({t_start}) = {}",
                start.alpha, start.sigma
            )));
        }
        let finite = coefficients.iter().all(|c| {
            [c.alpha, c.sigma, c.d_alpha, c.d_sigma]
                .iter()
                .all(|v| v.is_finite())
        });
        if !finite {
            return Err(FlowSampleError::Argument(
                "the path's coefficients are not finite on [0, 1]".into(),
            ));
        }
        let weights = (0..steps)
            .map(|j| {
                let first = (j + 1).saturating_sub(order);
                lagrange_weights(&t[first..=j], t[j], t[j + 1])
            })
            .collect();
        let mut s = Vec::with_capacity(t.len());
        let mut ds = Vec::with_capacity(t.len());
        for c in &coefficients {
            let sj = moments
                .lambda
                .mapv(|l| (c.alpha * c.alpha * l + c.sigma * c.sigma).sqrt());
            let dsj = Array1::from_iter(moments.lambda.iter().zip(&sj).map(|(&l, &si)| {
                if si > 0.0 {
                    (c.alpha * c.d_alpha * l + c.sigma * c.d_sigma) / si
                } else {
                    0.0
                }
            }));
            s.push(sj);
            ds.push(dsj);
        }
        Ok(Self {
            t,
            weights,
            alpha: coefficients.iter().map(|c| c.alpha).collect(),
            d_alpha: coefficients.iter().map(|c| c.d_alpha).collect(),
            s,
            ds,
        })
    }

    /// N, the number of steps.
    pub fn steps(&self) -> usize {
        self.t.len() - 1
    }
}

/// ∫_a^b ℓⱼ(τ) dτ for the Lagrange basis ℓⱼ of `nodes` (at most 3, so degree ≤ 2): two-point
/// Gauss–Legendre, exact up to degree 3.
fn lagrange_weights(nodes: &[f64], a: f64, b: f64) -> Vec<f64> {
    let (mid, half) = ((a + b) / 2.0, (b - a) / 2.0);
    let g = half / 3f64.sqrt();
    let basis = |j: usize, tau: f64| {
        nodes
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != j)
            .map(|(_, &n)| (tau - n) / (nodes[j] - n))
            .product::<f64>()
    };
    (0..nodes.len())
        .map(|j| half * (basis(j, mid - g) + basis(j, mid + g)))
        .collect()
}
