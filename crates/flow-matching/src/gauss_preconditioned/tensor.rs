//! `fm-gauss` on burn tensors of any rank (`[B, d]` points, `[B, C, H, W]` images): the state
//! is flattened to `[B, d]` rows, and Q, Qᵀμ, μ and s, 1/s, s′ at every node are uploaded once,
//! before the loop, in the state's dtype; each step is one velocity call and two `[B, d] × [d, d]`
//! products, with no read back to the host.

use burn::prelude::*;

use super::plan::Plan;
use super::{FlowSampleError, GaussianMoments};
use crate::path::AffinePath;

/// [`sample_flow_gauss`](super::sample_flow_gauss) on a burn tensor `x0` of shape `[B, …]` whose
/// trailing dimensions hold d = `moments.dim()` values: integrates dx/dt = `velocity`(x, t) on
/// `path` from x(t₀) = `x0` at t₀ = `t_start` to t = 1 in `calls` velocity calls (`calls` + 1
/// uniform steps) with the k-step method (`order` = k ∈ {1, 2, 3}); returns x(1) and the calls
/// made. The velocity's values are not checked here (that would read them back every step):
/// check the result.
///
/// # Errors
/// [`FlowSampleError::Argument`] for `calls` = 0, an order outside 1–3, t₀ outside [0, 1), a
/// path that cannot start there or an `x0` whose samples are not of the moments' dimension.
pub fn sample_flow_gauss_tensor<const D: usize>(
    velocity: &dyn Fn(&Tensor<D>, f64) -> Tensor<D>,
    x0: Tensor<D>,
    t_start: f64,
    moments: &GaussianMoments,
    path: &AffinePath,
    order: usize,
    calls: usize,
) -> Result<(Tensor<D>, usize), FlowSampleError> {
    let plan = Plan::new(moments, path, t_start, order, calls)?;
    let z = x0;
    let shape = z.dims();
    let d = moments.dim();
    let batch = shape[0];
    let numel: usize = shape[1..].iter().product();
    if D < 2 || numel != d {
        return Err(FlowSampleError::Argument(format!(
            "noise of shape {shape:?} for moments of dimension {d}"
        )));
    }
    let (device, dtype) = (z.device(), z.dtype());
    let upload = |values: Vec<f64>, dims: [usize; 2]| {
        Tensor::<2>::from_data(TensorData::new(values, dims), (&device, dtype))
    };
    let row = |values: Vec<f64>| upload(values, [1, d]);
    let q = upload(moments.q.iter().copied().collect(), [d, d]);
    let q_t = q.clone().transpose();
    let mean = row(moments.mean.to_vec());
    let mean_q = row(moments.mean.dot(&moments.q).to_vec());
    let s: Vec<Tensor<2>> = plan.s.iter().map(|s| row(s.to_vec())).collect();
    let inv_s: Vec<Tensor<2>> = plan
        .s
        .iter()
        .map(|s| row(s.iter().map(|&v| 1.0 / v).collect()))
        .collect();
    let ds: Vec<Tensor<2>> = plan.ds.iter().map(|v| row(v.to_vec())).collect();
    let to_x = |xi: &Tensor<2>, j: usize| -> Tensor<D> {
        let x = (xi.clone() * s[j].clone())
            .matmul(q_t.clone())
            .add(mean.clone().mul_scalar(plan.alpha[j]));
        x.reshape(shape)
    };
    // ξ(t₀) = diag(1/s(t₀)) Qᵀ(x₀ − α(t₀)μ).
    let mut xi = (z.reshape([batch, d]) - mean.clone().mul_scalar(plan.alpha[0])).matmul(q.clone())
        * inv_s[0].clone();
    // The last k residuals, oldest first; `None` is f(·, 0) = 0, which takes no call.
    let mut history: Vec<Option<Tensor<2>>> = Vec::with_capacity(order);
    let mut nfe = 0;
    for j in 0..plan.steps() {
        if history.len() == order {
            history.remove(0);
        }
        if j == 0 {
            history.push(None);
        } else {
            let u = velocity(&to_x(&xi, j), plan.t[j]);
            nfe += 1;
            let f = (u.reshape([batch, d]).matmul(q.clone())
                - mean_q.clone().mul_scalar(plan.d_alpha[j])
                - xi.clone() * ds[j].clone())
                * inv_s[j].clone();
            history.push(Some(f));
        }
        let weights = &plan.weights[j];
        for (w, f) in weights
            .iter()
            .zip(&history[history.len() - weights.len()..])
        {
            if let Some(f) = f {
                xi = xi + f.clone().mul_scalar(*w);
            }
        }
    }
    Ok((to_x(&xi, plan.steps()), nfe))
}
