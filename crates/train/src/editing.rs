//! Editing with a trained network — inpainting, colorisation, SDEdit, PF-ODE inversion — through
//! the editing wrappers of `scoreflow-score-matching`, chunked and seeded per sample as
//! [`sample`](crate::sampling::sample) is.

use std::time::Instant;

use burn::prelude::*;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::{GaussianNoise, NoiseSampler, SampleContext, by_name};
use scoreflow_ode_sde_solvers::{CountingDenoiser, DenoiseError, Denoiser};
use scoreflow_score_matching::editing::{
    EditError, Inpaint, InversionMethod, decode, invert, repaint, sdedit,
};

use crate::denoiser::{ModelView, RankForward};
use crate::error::TrainError;
use crate::guidance::GuidedNetDenoiser;
use crate::model::Network;
use crate::sampling::{
    SampleRequest, Sampled, check_request, chunk_labels, chunk_tensor, host_rows, sigma_grid,
};

/// An edit of `n` inputs, each a row of `numel` values in the data's scale (images in [−1, 1]).
#[derive(Clone, Debug)]
pub enum Edit {
    /// Inpainting: `known` values where the 0/1 `mask` is 1, the rest generated. `resamples` = 1
    /// is replacement (Song et al. 2021, App. I.2) with the request's sampler; more is RePaint
    /// (Lugmayr et al. 2022) with that many passes per step and its own ancestral step.
    Inpaint {
        /// The inputs (values under mask 0 are ignored).
        known: Vec<f64>,
        /// 1 = known, 0 = generate; the inputs' shape.
        mask: Vec<f64>,
        /// Passes per step (per segment of `jump` steps).
        resamples: usize,
        /// RePaint's jump length: steps run before each undo.
        jump: usize,
    },
    /// Colorisation (Song et al. 2021, App. I.3): RGB images whose per-pixel channel mean (the
    /// grey level) is kept and whose colour is generated — inpainting in the orthonormal
    /// "decoupled" channel basis [`DECOUPLE`] whose first axis is the grey level.
    Colorize {
        /// RGB images [3, H, W] (only their grey level is read).
        images: Vec<f64>,
        /// Passes per step, as for inpainting.
        resamples: usize,
        /// RePaint's jump length, as for inpainting.
        jump: usize,
    },
    /// SDEdit (Meng et al. 2022): the input noised to σ₀ and sampled from there.
    SdEdit {
        /// The inputs.
        input: Vec<f64>,
        /// The starting noise level σ₀ (within the grid's range).
        sigma0: f64,
    },
    /// Deterministic encoding along the probability-flow ODE from σ_min to σ_max on the
    /// request's grid (reversed), with a one-step method; returns the state at σ_max.
    Invert {
        /// The inputs.
        input: Vec<f64>,
        /// The method (decode with the same one).
        method: InversionMethod,
    },
    /// The inverse of [`Edit::Invert`]: from a state at σ_max down to σ_min.
    Decode {
        /// States at σ_max.
        latent: Vec<f64>,
        /// The method.
        method: InversionMethod,
    },
}

/// The orthonormal channel basis of colorisation (columns): e₁ = (1, 1, 1)/√3 (the grey axis:
/// u₁ = √3 × the channel mean), e₂ = (1, −1, 0)/√2, e₃ = (1, 1, −2)/√6. score_sde uses a basis
/// with the same first axis; any completion gives the same conditional, since the noise is
/// isotropic.
pub const DECOUPLE: [[f64; 3]; 3] = [
    [
        0.577_350_269_189_625_8,
        std::f64::consts::FRAC_1_SQRT_2,
        0.408_248_290_463_863,
    ],
    [
        0.577_350_269_189_625_8,
        -std::f64::consts::FRAC_1_SQRT_2,
        0.408_248_290_463_863,
    ],
    [0.577_350_269_189_625_8, 0.0, -0.816_496_580_927_726],
];

/// Per-pixel channel mixing y_j = Σᵢ m[i][j]·xᵢ (m = [`DECOUPLE`]: to the decoupled basis;
/// its transpose: back) of images [B, 3, H, W].
fn mix_channels<const D: usize>(x: &Tensor<D>, m: &[[f64; 3]; 3], transpose: bool) -> Tensor<D> {
    let channels: Vec<Tensor<D>> = (0..3).map(|i| x.clone().narrow(1, i, 1)).collect();
    let out = (0..3)
        .map(|j| {
            (0..3)
                .map(|i| {
                    let c = if transpose { m[j][i] } else { m[i][j] };
                    channels[i].clone().mul_scalar(c)
                })
                .fold(channels[0].zeros_like(), |a, b| a + b)
        })
        .collect();
    Tensor::cat(out, 1)
}

/// A denoiser in the decoupled channel basis: D_u(u; σ) = Mᵀ D(M u; σ) for orthonormal M, the
/// denoiser of the rotated data (isotropic noise is unchanged by the rotation).
struct Decoupled<'a, const D: usize> {
    model: &'a dyn Denoiser<Tensor<D>>,
}

impl<const D: usize> Denoiser<Tensor<D>> for Decoupled<'_, D> {
    fn denoise(&self, u: &Tensor<D>, sigma: f64) -> Result<Tensor<D>, DenoiseError> {
        let x = mix_channels(u, &DECOUPLE, true);
        let d = self.model.denoise(&x, sigma)?;
        Ok(mix_channels(&d, &DECOUPLE, false))
    }
}

fn edit_error(e: EditError) -> TrainError {
    TrainError::Sampling(e.to_string())
}

fn sampling(e: &dyn std::fmt::Display) -> TrainError {
    TrainError::Sampling(e.to_string())
}

/// Replacement inpainting with the request's sampler (`resamples` = 1) or RePaint.
fn run_inpaint<const D: usize>(
    inpaint: &Inpaint<'_, Tensor<D>>,
    x: Tensor<D>,
    resamples: usize,
    jump: usize,
    grid: &scoreflow_noise_schedules::SigmaGrid,
    noise: &mut GaussianNoise<Tensor<D>>,
    request: &SampleRequest,
) -> Result<Tensor<D>, TrainError> {
    if resamples > 1 {
        return repaint(inpaint, x, grid, resamples, jump, noise).map_err(edit_error);
    }
    let sampler =
        by_name::<Tensor<D>>(&request.sampler, &request.options).map_err(|e| sampling(&e))?;
    let mut ctx = SampleContext {
        noise: Some(noise),
        callback: None,
    };
    sampler
        .sample(inpaint, x, grid, &mut ctx)
        .map_err(|e| sampling(&e))
}

/// Stream of the fixed noise z of replacement inpainting, apart from the sampler's.
const REPLACEMENT_STREAM: u64 = 0x1A_9A1D;

/// Runs `edit` on a trained network with the sampler, grid, seed, chunking and guidance of
/// `request` (the sampler is unused by RePaint and the inversions, whose steps are their own).
/// Returns the edited rows, `n × numel`.
///
/// # Errors
/// [`TrainError::Sampling`] for inputs whose sizes disagree with the model or each other, a
/// mask that is not 0/1, σ₀ outside the grid, colorisation of data that is not RGB images, and
/// the model's or sampler's errors.
pub fn edit(
    network: &Network,
    view: &ModelView,
    sample_shape: &[usize],
    edit: &Edit,
    labels: Option<&[u32]>,
    request: &SampleRequest,
    device: &Device,
) -> Result<Sampled, TrainError> {
    match sample_shape.len() {
        1 => edit_rank::<2>(network, view, sample_shape, edit, labels, request, device),
        3 => edit_rank::<4>(network, view, sample_shape, edit, labels, request, device),
        _ => Err(TrainError::Sampling(format!(
            "samples of shape {sample_shape:?} are neither points nor images"
        ))),
    }
}

/// The rows of the edit's main input.
fn input_of(edit: &Edit) -> &[f64] {
    match edit {
        Edit::Inpaint { known, .. } => known,
        Edit::Colorize { images, .. } => images,
        Edit::SdEdit { input, .. } | Edit::Invert { input, .. } => input,
        Edit::Decode { latent, .. } => latent,
    }
}

#[allow(clippy::too_many_arguments)]
fn edit_rank<const D: usize>(
    network: &Network,
    view: &ModelView,
    sample_shape: &[usize],
    edit: &Edit,
    labels: Option<&[u32]>,
    request: &SampleRequest,
    device: &Device,
) -> Result<Sampled, TrainError>
where
    Network: RankForward<D>,
{
    let numel: usize = sample_shape.iter().product();
    let input = input_of(edit);
    if numel == 0 || input.is_empty() || !input.len().is_multiple_of(numel) {
        return Err(TrainError::Sampling(format!(
            "the input has {} values, not a positive multiple of the model's {numel} per sample \
             (shape {sample_shape:?})",
            input.len()
        )));
    }
    let n = input.len() / numel;
    if let Edit::Inpaint { mask, .. } = edit
        && mask.len() != input.len()
    {
        return Err(TrainError::Sampling(format!(
            "the mask has {} values, the input {} ({n} × {numel}): they must have one shape",
            mask.len(),
            input.len()
        )));
    }
    if matches!(edit, Edit::Colorize { .. }) && (D != 4 || sample_shape[0] != 3) {
        return Err(TrainError::Sampling(format!(
            "colorisation needs a model of RGB images [3, H, W], this one makes {sample_shape:?}"
        )));
    }
    check_request(network, labels, n, request)?;
    let grid = sigma_grid(view, request)?;
    let sigmas = grid.as_slice();
    let positive: Vec<f64> = sigmas.iter().copied().filter(|s| *s > 0.0).collect();
    let seeds =
        sample_seeds(request.seed, request.first_sample + n).split_off(request.first_sample);
    let started = Instant::now();
    let mut out = Vec::with_capacity(input.len());
    let mut nfe = 0;
    for start in (0..n).step_by(request.chunk) {
        let rows = request.chunk.min(n - start);
        let chunk = |v: &[f64]| chunk_tensor::<D>(v, start, rows, sample_shape, device);
        let x_in = chunk(input);
        let model = GuidedNetDenoiser::new(
            network,
            view,
            chunk_labels(labels, start, rows, device),
            request.guidance,
        )?;
        let counting = CountingDenoiser::new(&model as &dyn Denoiser<Tensor<D>>);
        let chunk_seeds = &seeds[start..start + rows];
        let mut noise = GaussianNoise::new(&x_in, chunk_seeds).map_err(|e| sampling(&e))?;
        let sigma_max = sigmas[0];
        let start_noise = || -> Result<Tensor<D>, TrainError> {
            let replacement_seeds: Vec<u64> =
                chunk_seeds.iter().map(|s| s ^ REPLACEMENT_STREAM).collect();
            GaussianNoise::new(&x_in, &replacement_seeds)
                .and_then(|mut g| g.sample(sigma_max, sigma_max))
                .map_err(|e| sampling(&e))
        };
        let x = match edit {
            Edit::Inpaint {
                mask,
                resamples,
                jump,
                ..
            } => {
                let z = start_noise()?;
                let mask = chunk(mask);
                let inpaint =
                    Inpaint::new(&counting, x_in.clone(), mask, z.clone()).map_err(edit_error)?;
                let x0 = noise
                    .sample(sigma_max, sigma_max)
                    .map_err(|e| sampling(&e))?;
                run_inpaint(
                    &inpaint,
                    x0.mul_scalar(sigma_max),
                    *resamples,
                    *jump,
                    &grid,
                    &mut noise,
                    request,
                )?
            }
            Edit::Colorize {
                resamples, jump, ..
            } => {
                let decoupled = Decoupled { model: &counting };
                let u_known = mix_channels(&x_in, &DECOUPLE, false);
                // Known: the grey axis u₁ (the first channel plane of every row).
                let plane = numel / 3;
                let mut mask_rows = vec![0.0; rows * numel];
                for r in 0..rows {
                    mask_rows[r * numel..r * numel + plane].fill(1.0);
                }
                let mask = chunk_tensor::<D>(&mask_rows, 0, rows, sample_shape, device);
                let inpaint =
                    Inpaint::new(&decoupled, u_known, mask, start_noise()?).map_err(edit_error)?;
                let u0 = noise
                    .sample(sigma_max, sigma_max)
                    .map_err(|e| sampling(&e))?;
                let u = run_inpaint(
                    &inpaint,
                    u0.mul_scalar(sigma_max),
                    *resamples,
                    *jump,
                    &grid,
                    &mut noise,
                    request,
                )?;
                mix_channels(&u, &DECOUPLE, true)
            }
            Edit::SdEdit { sigma0, .. } => {
                let sampler = by_name::<Tensor<D>>(&request.sampler, &request.options)
                    .map_err(|e| sampling(&e))?;
                let z = start_noise()?;
                let mut ctx = SampleContext {
                    noise: Some(&mut noise),
                    callback: None,
                };
                sdedit(
                    sampler.as_ref(),
                    &counting,
                    &x_in,
                    &z,
                    &grid,
                    *sigma0,
                    &mut ctx,
                )
                .map_err(edit_error)?
            }
            Edit::Invert { method, .. } => {
                let up: Vec<f64> = positive.iter().rev().copied().collect();
                invert(*method, &counting, x_in, &up).map_err(edit_error)?
            }
            Edit::Decode { method, .. } => {
                decode(*method, &counting, x_in, &positive).map_err(edit_error)?
            }
        };
        nfe = counting.count();
        let values = host_rows(x, "the edit")?;
        out.extend(values);
    }
    Ok(Sampled {
        x: out,
        nfe,
        seconds: started.elapsed().as_secs_f64(),
    })
}
