//! Sampling a trained network with any sampler of the library, in chunks, with per-sample
//! seeds: the same seed gives the same samples whatever the chunk (batch) size.

use std::sync::Arc;
use std::time::Instant;

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_flow_matching::gauss_preconditioned::{
    GaussianMoments, gauss_order_with, sample_flow_gauss_tensor, sigma_gauss_order_with,
};
use scoreflow_flow_matching::path::AffinePath;
use scoreflow_flow_matching::sampling::{FlowSolver, sample_flow};
use scoreflow_flow_matching::views::DenoiserVelocity;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::{
    BrownianTreeNoise, GaussianNoise, GridRecipe, NoiseSampler, SampleContext, SamplerOptions,
    auto_grid, by_name, find, find_base,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, DenoiseError, Denoiser, ErrorStash};
use scoreflow_score_matching::loss::Prediction;

use crate::denoiser::{ModelView, RankForward, velocity};
use crate::error::TrainError;
use crate::guidance::{Guidance, GuidedNetDenoiser, guided_velocity};
use crate::model::Network;

/// The σ grid of a σ-space sampler.
#[derive(Clone, Debug, PartialEq)]
pub enum GridKind {
    /// Karras et al. 2022's ρ-spaced grid.
    Karras {
        /// ρ (7 in the paper).
        rho: f64,
    },
    /// Uniform in log σ̃, i.e. in the log-SNR λ (DPM-Solver's `logSNR` grid).
    LogSnr,
    /// Uniform in the model's own time t (DDIM/score_sde style).
    Uniform,
    /// An explicit grid (σ̃ of the α = 1 process), used exactly as given: its length must match
    /// the request's steps, and σ_min / σ_max do not apply.
    Explicit(SigmaGrid),
}

/// How to sample.
#[derive(Clone, Debug)]
pub struct SampleRequest {
    /// A σ-space sampler name (`heun`, `dpmpp-2m`, …) or a flow sampler (`fm-euler`, …).
    pub sampler: String,
    /// Steps of the grid (model calls per step depend on the sampler).
    pub steps: usize,
    /// The grid of σ-space samplers.
    pub grid: GridKind,
    /// σ̃_min of the grid (default: the model's, see [`default_sigma_range`]).
    pub sigma_min: Option<f64>,
    /// σ̃_max of the grid.
    pub sigma_max: Option<f64>,
    /// Seed of the per-sample noise of stochastic samplers.
    pub seed: u64,
    /// Sampler options (η, tolerances, …).
    pub options: SamplerOptions,
    /// Samples per network call.
    pub chunk: usize,
    /// Global index of the first sample: sample k of a call is sample `first_sample + k` of the
    /// run, with that sample's seeds, so shards of one request concatenate to the whole.
    pub first_sample: usize,
    /// Classifier-free guidance (needs labels and a class-conditional network); each model call
    /// then evaluates the doubled batch [x; x] with labels [y; ∅] once.
    pub guidance: Option<Guidance>,
    /// The training data's mean and covariance ([`TrainedModel::moments`](crate::checkpoint::TrainedModel::moments)):
    /// needed by `gauss` and `fm-gauss`, and what makes `auto` and `fm-auto` run them.
    pub moments: Option<Arc<GaussianMoments>>,
}

/// How a request integrates, resolved once before the first chunk.
enum Method {
    /// A σ-space sampler of the table on its grid.
    Grid(SigmaGrid),
    /// An `fm-*` ODE solver.
    Flow(FlowSolver),
    /// `fm-gauss` (and `fm-auto` with moments) of an order on the velocity.
    FlowGauss(usize),
    /// `gauss` (and `auto` with moments) of an order from σ_max.
    SigmaGauss {
        /// k.
        order: usize,
        /// σ̃_max, the start.
        sigma_max: f64,
    },
}

/// Samples and their cost.
#[derive(Clone, Debug)]
pub struct Sampled {
    /// `n × numel` samples, row-major, f64.
    pub x: Vec<f64>,
    /// Network evaluations per sample (the same for every chunk).
    pub nfe: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The σ̃ range a model was trained on: EDM's (0.002, 80) for the EDM preconditioning; for
/// other diffusion schedules σ̃ at 1e-3 of the time range from either end (VP's σ̃ is infinite at
/// t = T on the cosine schedule); for flow paths σ̃ at t = 0.999 and t = 0.001.
pub fn default_sigma_range(view: &ModelView) -> (f64, f64) {
    match view {
        ModelView::Denoising {
            prediction: Prediction::Edm { .. },
            ..
        } => (0.002, 80.0),
        ModelView::Denoising { schedule, .. } => {
            let (t0, t1) = schedule.t_range();
            let span = t1 - t0;
            let hi = schedule.edm_sigma(t1 - 1e-3 * span);
            (schedule.edm_sigma(t0 + 1e-3 * span), hi.min(1e3))
        }
        ModelView::Flow { path, .. } => {
            let s = path.schedule();
            (s.edm_sigma(0.999), s.edm_sigma(0.001))
        }
    }
}

/// The grid of `request` for `view`, ending in 0.
///
/// # Errors
/// [`TrainError::Sampling`] for an invalid range or step count.
pub fn sigma_grid(view: &ModelView, request: &SampleRequest) -> Result<SigmaGrid, TrainError> {
    let (lo, hi) = default_sigma_range(view);
    let (sigma_min, sigma_max) = (
        request.sigma_min.unwrap_or(lo),
        request.sigma_max.unwrap_or(hi),
    );
    let bad = |e: &dyn std::fmt::Display| TrainError::Sampling(e.to_string());
    if request.steps == 0 {
        return Err(TrainError::Sampling("steps must be at least 1".into()));
    }
    // `auto` (and `auto+x<m>`) brings its own grid: uniform in CondOT time to σ = 0.
    if find_base(&request.sampler).is_some_and(|info| info.grid == GridRecipe::Auto) {
        if matches!(request.grid, GridKind::Explicit(_)) {
            return Err(TrainError::Sampling(format!(
                "{} brings its own grid; give the grid file to exp-2-lambda instead",
                request.sampler
            )));
        }
        return auto_grid(request.steps, sigma_min, sigma_max).map_err(|e| bad(&e));
    }
    match &request.grid {
        GridKind::Explicit(grid) => {
            if grid.len() != request.steps + 1 {
                return Err(TrainError::Sampling(format!(
                    "the grid has {} values, i.e. {} steps, but {} steps were asked for",
                    grid.len(),
                    grid.len() - 1,
                    request.steps
                )));
            }
            Ok(grid.clone())
        }
        &GridKind::Karras { rho } => {
            SigmaGrid::karras(request.steps, sigma_min, sigma_max, rho).map_err(|e| bad(&e))
        }
        GridKind::LogSnr => {
            SigmaGrid::exponential(request.steps, sigma_min, sigma_max).map_err(|e| bad(&e))
        }
        GridKind::Uniform => {
            let schedule = match view {
                ModelView::Denoising { schedule, .. } => schedule.clone(),
                ModelView::Flow { path, .. } => path.schedule().clone(),
            };
            let t_of = |s: f64| schedule.t_from_edm_sigma(s).map_err(|e| bad(&e));
            let (t_noise, t_data) = (t_of(sigma_max)?, t_of(sigma_min)?);
            let n = request.steps;
            let mut sigmas: Vec<f64> = (0..n)
                .map(|i| {
                    let u = if n == 1 {
                        0.0
                    } else {
                        i as f64 / (n - 1) as f64
                    };
                    schedule.edm_sigma(t_noise + u * (t_data - t_noise))
                })
                .collect();
            sigmas.push(0.0);
            SigmaGrid::new(sigmas).map_err(|e| bad(&e))
        }
    }
}

/// `n` rows of `numel` standard normals, row i from its own seed (of [`sample_seeds`]), so row
/// i is the same whatever `n` is: the starting noise of `scoreflow sample` without `--noise`.
pub fn standard_normals(seed: u64, n: usize, numel: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n * numel);
    for s in sample_seeds(seed ^ 0x7A5E_ED00, n) {
        let mut rng = ChaCha8Rng::seed_from_u64(s);
        out.extend((0..numel).map(|_| -> f64 { StandardNormal.sample(&mut rng) }));
    }
    out
}

/// Whether k-diffusion draws this sampler's noise from a Brownian tree by default.
fn uses_brownian_tree(name: &str) -> bool {
    find(name).is_some_and(|info| {
        info.noise == scoreflow_ode_sde_solvers::samplers::NoiseSource::BrownianTree
    })
}

/// Samples from the network: σ-space samplers start at σ̃_max·z on the grid and return x̂₀;
/// `fm-*` samplers start at x(0) = z and return x(1). `z` holds `n × numel` standard normals
/// (one row per sample), `labels` one class per sample for a conditional network.
///
/// # Errors
/// [`TrainError::Sampling`] for an unknown sampler or bad grid, the network's error, or a
/// sampler failure.
pub fn sample(
    network: &Network,
    view: &ModelView,
    sample_shape: &[usize],
    z: &[f64],
    labels: Option<&[u32]>,
    request: &SampleRequest,
    device: &Device,
) -> Result<Sampled, TrainError> {
    match sample_shape.len() {
        1 => sample_rank::<2>(network, view, sample_shape, z, labels, request, device),
        3 => sample_rank::<4>(network, view, sample_shape, z, labels, request, device),
        _ => Err(TrainError::Sampling(format!(
            "samples of shape {sample_shape:?} are neither points nor images"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
fn sample_rank<const D: usize>(
    network: &Network,
    view: &ModelView,
    sample_shape: &[usize],
    z: &[f64],
    labels: Option<&[u32]>,
    request: &SampleRequest,
    device: &Device,
) -> Result<Sampled, TrainError>
where
    Network: RankForward<D>,
{
    let numel: usize = sample_shape.iter().product();
    if numel == 0 || !z.len().is_multiple_of(numel) {
        return Err(TrainError::Sampling(format!(
            "the starting noise has {} values, not a multiple of {numel} per sample",
            z.len()
        )));
    }
    let n = z.len() / numel;
    check_request(network, labels, n, request)?;
    let sampling = |e: &dyn std::fmt::Display| TrainError::Sampling(e.to_string());
    let method = resolve(view, request)?;
    // `gauss` runs on the (guided) denoiser, whose noise prediction the rescale acts on; the
    // velocity samplers never form one.
    let on_velocity = matches!(method, Method::Flow(_) | Method::FlowGauss(_));
    if on_velocity && request.guidance.is_some_and(|g| g.rescale.is_some()) {
        return Err(TrainError::Sampling(
            "guidance rescale acts on the noise prediction of σ-space samplers; use auto, heun, \
             dpmpp-2m, … for it"
                .into(),
        ));
    }
    let seeds =
        sample_seeds(request.seed, request.first_sample + n).split_off(request.first_sample);
    let started = Instant::now();
    let mut out = Vec::with_capacity(z.len());
    let mut nfe = 0;
    let moments = request.moments.as_deref();
    for start in (0..n).step_by(request.chunk) {
        let rows = request.chunk.min(n - start);
        let x0 = chunk_tensor::<D>(z, start, rows, sample_shape, device);
        let model = GuidedNetDenoiser::new(
            network,
            view,
            chunk_labels(labels, start, rows, device),
            request.guidance,
        )?;
        let stash = ErrorStash::<DenoiseError>::new();
        let labels = chunk_labels(labels, start, rows, device);
        let field = |x: &Tensor<D>, t: f64| {
            stash.state(x, || match (&request.guidance, model.paired_labels()) {
                (Some(g), Some(l)) => guided_velocity(network, view, l, g, x, t),
                _ => velocity(network, view, labels.as_ref(), x, t),
            })
        };
        let (x, calls) = match &method {
            &Method::Flow(solver) => {
                let (x, stats) = stash
                    .finish(sample_flow(&field, x0, solver, request.steps))
                    .map_err(|e| sampling(&e))?;
                (x, stats.nfe)
            }
            &Method::FlowGauss(order) => {
                let ModelView::Flow { path, .. } = view else {
                    return Err(TrainError::Sampling(format!(
                        "{} integrates a velocity: this model was trained as a denoiser; use a \
                         σ-space sampler (auto, gauss, heun, …)",
                        request.sampler
                    )));
                };
                let moments = moments.expect("resolved with moments");
                let result =
                    sample_flow_gauss_tensor(&field, x0, 0.0, moments, path, order, request.steps);
                let result = result.map_err(|e| sampling(&e));
                match stash.take() {
                    Some(e) => return Err(sampling(&e)),
                    None => result?,
                }
            }
            &Method::SigmaGauss { order, sigma_max } => {
                let moments = moments.expect("resolved with moments");
                // x = σ̃_max·z is the CondOT state t₀·x at t₀ = 1/(1 + σ̃_max); the ODE in σ̃ is
                // the CondOT flow of the denoiser's velocity.
                let condot = AffinePath::cond_ot();
                let t0 = 1.0 / (1.0 + sigma_max);
                let start = x0.mul_scalar(sigma_max * t0);
                let flow = DenoiserVelocity {
                    denoiser: &model as &dyn Denoiser<Tensor<D>>,
                    path: &condot,
                };
                let field = |x: &Tensor<D>, t: f64| {
                    stash.state(x, || flow.velocity(x, t).map_err(DenoiseError::new))
                };
                let result = sample_flow_gauss_tensor(
                    &field,
                    start,
                    t0,
                    moments,
                    &condot,
                    order,
                    request.steps,
                );
                let result = result.map_err(|e| sampling(&e));
                match stash.take() {
                    Some(e) => return Err(sampling(&e)),
                    None => result?,
                }
            }
            Method::Grid(grid) => {
                let sampler = by_name::<Tensor<D>>(&request.sampler, &request.options)
                    .map_err(|e| sampling(&e))?;
                let counting = CountingDenoiser::new(&model as &dyn Denoiser<Tensor<D>>);
                let sigma_max = grid.as_slice()[0];
                let x0 = x0.mul_scalar(sigma_max);
                let chunk_seeds = &seeds[start..start + rows];
                let mut noise: Box<dyn NoiseSampler<Tensor<D>>> =
                    if uses_brownian_tree(&request.sampler) {
                        let sigma_min = grid
                            .as_slice()
                            .iter()
                            .copied()
                            .filter(|s| *s > 0.0)
                            .fold(f64::INFINITY, f64::min);
                        Box::new(
                            BrownianTreeNoise::new(&x0, sigma_min, sigma_max, chunk_seeds)
                                .map_err(|e| sampling(&e))?,
                        )
                    } else {
                        Box::new(GaussianNoise::new(&x0, chunk_seeds).map_err(|e| sampling(&e))?)
                    };
                let mut ctx = SampleContext {
                    noise: Some(noise.as_mut()),
                    callback: None,
                };
                let x = sampler
                    .sample(&counting, x0, grid, &mut ctx)
                    .map_err(|e| sampling(&e))?;
                (x, counting.count())
            }
        };
        nfe = calls;
        let values = host_rows(x, &request.sampler)?;
        out.extend(values);
    }
    Ok(Sampled {
        x: out,
        nfe,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The method of `request`: `gauss` / `fm-gauss` (and `auto` / `fm-auto` when the request
/// carries the data's moments), an `fm-*` solver, or a grid sampler on its grid.
///
/// # Errors
/// [`TrainError::Sampling`] for a `gauss` / `fm-gauss` name without moments, a grid file given
/// to them, or a bad grid or step count. (Moments of another dimension than the samples are the
/// method's own error.)
fn resolve(view: &ModelView, request: &SampleRequest) -> Result<Method, TrainError> {
    let known = request.moments.is_some();
    let name = &request.sampler;
    let gauss = sigma_gauss_order_with(name, known).map(|order| (order, false));
    let gauss = gauss.or_else(|| gauss_order_with(name, known).map(|order| (order, true)));
    if let Some((order, flow)) = gauss {
        if !known {
            return Err(TrainError::Sampling(format!(
                "{name} needs the training data's mean and covariance, which this checkpoint does \
                 not hold (it stores them for samples of at most {} values, since this version); \
                 use {} instead",
                crate::data::MOMENTS_MAX_DIM,
                if flow { "fm-auto" } else { "auto" }
            )));
        }
        if request.steps == 0 {
            return Err(TrainError::Sampling("steps must be at least 1".into()));
        }
        if matches!(request.grid, GridKind::Explicit(_)) {
            return Err(TrainError::Sampling(format!(
                "{name} runs its own uniform grid in CondOT time; give the grid file to a grid \
                 sampler (exp-2-lambda, dpmpp-2m, …)"
            )));
        }
        if flow {
            return Ok(Method::FlowGauss(order));
        }
        let sigma_max = request
            .sigma_max
            .unwrap_or_else(|| default_sigma_range(view).1);
        if !(sigma_max.is_finite() && sigma_max > 0.0) {
            return Err(TrainError::Sampling(format!(
                "sigma_max = {sigma_max} is not finite and positive"
            )));
        }
        return Ok(Method::SigmaGauss { order, sigma_max });
    }
    match FlowSolver::from_name(name, request.options.rtol, request.options.atol) {
        Some(solver) => {
            if request.steps == 0 && !matches!(solver, FlowSolver::Dopri5 { .. }) {
                return Err(TrainError::Sampling("steps must be at least 1".into()));
            }
            Ok(Method::Flow(solver))
        }
        None => Ok(Method::Grid(sigma_grid(view, request)?)),
    }
}

/// The checks every request makes before its first chunk: one label per sample, a positive
/// chunk size, valid guidance with labels on a class-conditional network.
pub(crate) fn check_request(
    network: &Network,
    labels: Option<&[u32]>,
    n: usize,
    request: &SampleRequest,
) -> Result<(), TrainError> {
    if let Some(l) = labels
        && l.len() != n
    {
        return Err(TrainError::Sampling(format!(
            "{} labels for {n} samples",
            l.len()
        )));
    }
    if request.chunk == 0 {
        return Err(TrainError::Sampling(
            "the chunk size must be at least 1".into(),
        ));
    }
    if let Some(guidance) = &request.guidance {
        guidance.validate()?;
        if labels.is_none() {
            return Err(TrainError::Sampling(
                "guidance needs a class to guide towards (labels / --class)".into(),
            ));
        }
        if network.null_class().is_none() {
            return Err(TrainError::Sampling(
                "guidance needs a class-conditional model; this checkpoint is unconditional".into(),
            ));
        }
    }
    Ok(())
}

/// Rows `start..start + rows` of row-major `values` as a `[rows, …sample_shape]` tensor.
pub(crate) fn chunk_tensor<const D: usize>(
    values: &[f64],
    start: usize,
    rows: usize,
    sample_shape: &[usize],
    device: &Device,
) -> Tensor<D> {
    let numel: usize = sample_shape.iter().product();
    let mut shape = [0usize; D];
    shape[0] = rows;
    shape[1..].copy_from_slice(sample_shape);
    let v: Vec<f32> = values[start * numel..(start + rows) * numel]
        .iter()
        .map(|&v| v as f32)
        .collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// Labels `start..start + rows` as a tensor.
pub(crate) fn chunk_labels(
    labels: Option<&[u32]>,
    start: usize,
    rows: usize,
    device: &Device,
) -> Option<Tensor<1, Int>> {
    labels.map(|l| {
        let data: Vec<i64> = l[start..start + rows]
            .iter()
            .map(|&v| i64::from(v))
            .collect();
        Tensor::from_data(TensorData::new(data, [rows]), device)
    })
}

/// A finished chunk on the host in f64; non-finite values (from `what`) are an error.
pub(crate) fn host_rows<const D: usize>(x: Tensor<D>, what: &str) -> Result<Vec<f64>, TrainError> {
    let values = x
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .map_err(|e| TrainError::Sampling(format!("{e:?}")))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(TrainError::Sampling(format!(
            "{what} produced non-finite values"
        )));
    }
    Ok(values)
}
