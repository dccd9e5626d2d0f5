//! Likelihoods of a trained network through its probability-flow ODE.

use burn::prelude::*;
use scoreflow_ode_sde_solvers::likelihood::{
    Divergence, DivergenceDenoiser, LikelihoodOptions, gaussian_prior_log_prob,
    negative_log_likelihood,
};

use crate::denoiser::{ModelView, NetDenoiser, RankForward};
use crate::error::TrainError;
use crate::model::Network;
use crate::sampling::default_sigma_range;

/// How to compute likelihoods.
#[derive(Clone, Debug)]
pub struct NllRequest {
    /// The trace of the denoiser's Jacobian: exact (d backward passes per field evaluation) or
    /// Hutchinson's estimate with K probes.
    pub divergence: Divergence,
    /// Relative tolerance of the adaptive solver.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// σ̃ where the integration starts (default 1e-5).
    pub sigma_min: Option<f64>,
    /// σ̃ of the Gaussian prior N(0, σ̃_max²I) (default: the model's largest noise level).
    pub sigma_max: Option<f64>,
    /// Points per batch.
    pub chunk: usize,
}

/// −ln p(x) in nats for each of the points `x` (`n × numel`, row-major), from the trained
/// network through the probability-flow ODE and the instantaneous change of variables
/// (`scoreflow_ode_sde_solvers::likelihood`), the network's Jacobian traces by reverse-mode
/// autodiff ([`NetDenoiser`]).
///
/// # Errors
/// [`TrainError::Sampling`] for bad shapes or options, the network's or the solver's failure.
pub fn nll(
    network: &Network,
    view: &ModelView,
    sample_shape: &[usize],
    x: &[f64],
    labels: Option<&[u32]>,
    request: &NllRequest,
    device: &Device,
) -> Result<Vec<f64>, TrainError> {
    match sample_shape.len() {
        1 => nll_rank::<2>(network, view, sample_shape, x, labels, request, device),
        3 => nll_rank::<4>(network, view, sample_shape, x, labels, request, device),
        _ => Err(TrainError::Sampling(format!(
            "samples of shape {sample_shape:?} are neither points nor images"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn nll_rank<const D: usize>(
    network: &Network,
    view: &ModelView,
    sample_shape: &[usize],
    x: &[f64],
    labels: Option<&[u32]>,
    request: &NllRequest,
    device: &Device,
) -> Result<Vec<f64>, TrainError>
where
    Network: RankForward<D>,
    for<'a> NetDenoiser<'a>: DivergenceDenoiser<Tensor<D>>,
{
    let numel: usize = sample_shape.iter().product();
    if numel == 0 || !x.len().is_multiple_of(numel) || request.chunk == 0 {
        return Err(TrainError::Sampling(format!(
            "{} values are not whole samples of {numel}, or the chunk is 0",
            x.len()
        )));
    }
    let n = x.len() / numel;
    let (_, default_max) = default_sigma_range(view);
    let options = LikelihoodOptions {
        sigma_min: request.sigma_min.unwrap_or(1e-5),
        sigma_max: request.sigma_max.unwrap_or(default_max),
        rtol: request.rtol,
        atol: request.atol,
        divergence: request.divergence,
        ..LikelihoodOptions::default()
    };
    let prior = gaussian_prior_log_prob::<Tensor<D>>(options.sigma_max);
    let device = device.clone().inner();
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(request.chunk) {
        let rows = request.chunk.min(n - start);
        let mut shape = [0usize; D];
        shape[0] = rows;
        shape[1..].copy_from_slice(sample_shape);
        let data: Vec<f32> = x[start * numel..(start + rows) * numel]
            .iter()
            .map(|&v| v as f32)
            .collect();
        let points = Tensor::<D>::from_data(TensorData::new(data, shape), &device);
        let labels = labels.map(|l| {
            let data: Vec<i64> = l[start..start + rows]
                .iter()
                .map(|&v| i64::from(v))
                .collect();
            Tensor::<1, Int>::from_data(TensorData::new(data, [rows]), &device)
        });
        let model = NetDenoiser {
            network,
            view,
            labels,
        };
        let result = negative_log_likelihood(&model, &points, &prior, &options)
            .map_err(|e| TrainError::Sampling(e.to_string()))?;
        out.extend(result.nll);
    }
    Ok(out)
}
