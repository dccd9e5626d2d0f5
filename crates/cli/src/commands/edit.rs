//! `scoreflow edit`: inpainting, colorisation, SDEdit and PF-ODE inversion with a trained
//! checkpoint, on `.npy` rows or one PNG image.

use std::path::{Path, PathBuf};

use scoreflow_models::device_from_name;
use scoreflow_ode_sde_solvers::samplers::SamplerOptions;
use scoreflow_score_matching::editing::InversionMethod;
use scoreflow_train::checkpoint::load_trained;
use scoreflow_train::data::read_image;
use scoreflow_train::editing::{Edit, edit};
use scoreflow_train::sampling::SampleRequest;

use super::sample::{GuidanceArgs, class_labels, grid_kind, guidance, write_rows};
use crate::error::CliError;
use crate::npy::read_matrix;

/// The edit.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Generate where --mask is 0, keep the input where it is 1 (replacement, or RePaint with
    /// --resamples > 1).
    Inpaint,
    /// Keep the grey level of RGB inputs, generate their colour.
    Colorize,
    /// Noise the input to --sigma0 and sample from there.
    Sdedit,
    /// Encode the input to its noise at σ_max along the probability-flow ODE (--method).
    Invert,
    /// Decode noise at σ_max (the output of invert) back to data with the same --method.
    Decode,
}

/// Arguments of `edit`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// What to do.
    #[arg(value_enum)]
    mode: Mode,
    /// A run directory (its newest valid checkpoint) or a checkpoint file.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Inputs: .npy (n rows of the model's sample size, float64, data scale) or one .png image.
    #[arg(long)]
    input: PathBuf,
    /// Inpainting mask, the input's shape: .npy of 0/1, or .png (white = keep, black = generate).
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Output: .npy (n rows, float64) or .png (image grid).
    #[arg(long)]
    out: PathBuf,
    /// A σ-space sampler for inpainting (resamples = 1), colorisation and SDEdit.
    #[arg(long, default_value = "heun")]
    sampler: String,
    /// Steps of the grid.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// RePaint passes per step (1 = plain replacement).
    #[arg(long, default_value_t = 1)]
    resamples: usize,
    /// RePaint's jump length: steps run before each undo (Lugmayr et al. 2022 use 10).
    #[arg(long, default_value_t = 1)]
    jump: usize,
    /// SDEdit's starting noise level σ₀ (within the grid's range).
    #[arg(long)]
    sigma0: Option<f64>,
    /// One-step method of invert/decode: euler, heun, midpoint or rk4.
    #[arg(long, default_value = "heun")]
    method: String,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// σ grid: karras, logsnr, uniform or a .json file of σ̃ values.
    #[arg(long, default_value = "karras")]
    grid: String,
    /// Smallest positive σ̃ of the grid (default: the model's).
    #[arg(long)]
    sigma_min: Option<f64>,
    /// Largest σ̃ of the grid (default: the model's).
    #[arg(long)]
    sigma_max: Option<f64>,
    /// ρ of the Karras grid.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// η of stochastic samplers (default: 1 for ancestral / SDE samplers, 0 for DDIM).
    #[arg(long)]
    eta: Option<f64>,
    /// Class of every input (class-conditional checkpoints).
    #[arg(long)]
    class: Option<u32>,
    #[command(flatten)]
    guidance: GuidanceArgs,
    /// Use the trained weights instead of their EMA.
    #[arg(long)]
    raw_weights: bool,
    /// Inputs per network call.
    #[arg(long, default_value_t = 256)]
    chunk: usize,
    /// flex, ndarray, wgpu, vulkan, cuda or cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
}

fn extension(path: &Path) -> &str {
    path.extension().and_then(|e| e.to_str()).unwrap_or("")
}

/// Rows of `numel` values from a .npy matrix or one image of `shape`.
fn read_rows(path: &Path, shape: &[usize], numel: usize) -> Result<Vec<f64>, CliError> {
    match extension(path) {
        "npy" => Ok(read_matrix(path, numel)?.iter().copied().collect()),
        "png" | "jpg" | "jpeg" => Ok(read_image(path, shape)
            .map_err(|e| CliError::File {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
            .into_iter()
            .map(f64::from)
            .collect()),
        _ => Err(CliError::File {
            path: path.to_path_buf(),
            message: "inputs are .npy or .png".into(),
        }),
    }
}

fn method(name: &str) -> Result<InversionMethod, CliError> {
    match name {
        "euler" => Ok(InversionMethod::Euler),
        "heun" => Ok(InversionMethod::Heun),
        "midpoint" => Ok(InversionMethod::Midpoint),
        "rk4" => Ok(InversionMethod::Rk4),
        other => Err(CliError::Argument {
            name: "method",
            message: format!("'{other}' (expected euler, heun, midpoint or rk4)"),
        }),
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let grid = grid_kind(&args.grid, args.rho)?;
    if !matches!(extension(&args.out), "npy" | "png") {
        return Err(CliError::Argument {
            name: "out",
            message: format!("{} must end in .npy or .png", args.out.display()),
        });
    }
    if args.mask.is_some() != (args.mode == Mode::Inpaint) {
        return Err(CliError::Argument {
            name: "mask",
            message: "inpaint needs --mask, and only inpaint takes one".into(),
        });
    }
    if args.sigma0.is_some() != (args.mode == Mode::Sdedit) {
        return Err(CliError::Argument {
            name: "sigma0",
            message: "sdedit needs --sigma0, and only sdedit takes it".into(),
        });
    }
    let device = device_from_name(&args.device)?;
    crate::device::start(&device)?;
    let model = load_trained(&args.checkpoint, &device, args.raw_weights)?;
    let shape = model.info.sample_shape.clone();
    let numel: usize = shape.iter().product();
    let input = read_rows(&args.input, &shape, numel)?;
    let n = input.len() / numel.max(1);
    let edit_spec = match args.mode {
        Mode::Inpaint => {
            let path = args.mask.as_ref().expect("checked above");
            let mut mask = read_rows(path, &shape, numel)?;
            if mask.len() != input.len() {
                return Err(CliError::File {
                    path: path.clone(),
                    message: format!(
                        "the mask has {} values, the input {}: they must have one shape",
                        mask.len(),
                        input.len()
                    ),
                });
            }
            if extension(path) != "npy" {
                // Image masks: white (scaled to 1) keeps, black (−1) generates.
                mask.iter_mut()
                    .for_each(|v| *v = f64::from(u8::from(*v > 0.0)));
            }
            Edit::Inpaint {
                known: input,
                mask,
                resamples: args.resamples,
                jump: args.jump,
            }
        }
        Mode::Colorize => Edit::Colorize {
            images: input,
            resamples: args.resamples,
            jump: args.jump,
        },
        Mode::Sdedit => Edit::SdEdit {
            input,
            sigma0: args.sigma0.expect("checked above"),
        },
        Mode::Invert => Edit::Invert {
            input,
            method: method(&args.method)?,
        },
        Mode::Decode => Edit::Decode {
            latent: input,
            method: method(&args.method)?,
        },
    };
    let labels = class_labels(args.class, model.info.num_classes, n)?;
    let guidance = guidance(
        &args.guidance,
        labels.is_some(),
        model.info.num_classes.is_some(),
    )?;
    let request = SampleRequest {
        sampler: args.sampler.clone(),
        steps: args.steps,
        grid,
        sigma_min: args.sigma_min,
        sigma_max: args.sigma_max,
        seed: args.seed,
        options: SamplerOptions {
            eta: args.eta,
            ..SamplerOptions::default()
        },
        chunk: args.chunk,
        first_sample: 0,
        guidance,
        // The edits run the grid samplers, whose `auto` needs no moments.
        moments: None,
    };
    let out = edit(
        &model.network,
        &model.view,
        &shape,
        &edit_spec,
        labels.as_deref(),
        &request,
        &device,
    )?;
    if extension(&args.out) == "png" && shape.len() != 3 {
        return Err(CliError::Argument {
            name: "out",
            message: "points are written as .npy".into(),
        });
    }
    write_rows(&args.out, out.x, &shape)?;
    println!(
        "{}",
        serde_json::json!({
            "edit": format!("{:?}", args.mode).to_lowercase(),
            "n": n,
            "nfe": out.nfe,
            "seconds": out.seconds,
            "checkpoint": model.path,
        })
    );
    Ok(())
}
