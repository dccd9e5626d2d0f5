//! `scoreflow train`.

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use scoreflow_models::device_from_name;
use scoreflow_train::config::{DataConfig, ModelConfig, ObjectiveConfig, RunConfig};
use scoreflow_train::trainer::{RunOptions, train, train_on_devices};

use crate::error::CliError;

/// Every key of the run configuration, for `--help` (docs/training.md has the same table).
pub const CONFIG_KEYS: &str = "\
RUN CONFIGURATION (--config run.toml; every key optional except data.spec; unknown keys are errors)
  [data]       spec = \"npy:FILE\" | \"mnist:DIR\" | \"cifar10:DIR\" | \"images:DIR\" | \"toy:NAME\" | \"mixture:NAME|FILE.json\"
               points = 100000 (toy/mixture size)   image_size = S (images:DIR)   flip = false
               labels = \"FILE.npy\" (npy:FILE: one integer class per row, for train.conditional)
               toys: moons circles 8gaussians checkerboard swissroll pinwheel 2spirals
  [model]      kind = \"mlp\" (hidden = 256, depth = 3, time_features = 64) | \"unet-small\" | \"unet-cifar10\"
               | \"unet\" with a [model.config] table of UNet2D fields
  [objective]  kind = \"edm\" (sigma_data = 0.5, p_mean = -1.2, p_std = 1.2)
               | \"dsm\" (schedule = vp-linear|vp-cosine|sub-vp|ve, prediction = epsilon|sample|velocity|score,
                          weighting = unit|likelihood|snr|min-snr|soft-min-snr|edm, noise = uniform|logit-normal|importance,
                          gamma = 5, sigma_data = 0.5, t_min = 1e-3)
               | \"vp-likelihood\" (t_min = 1e-3) | \"i-cfm\" (sigma = 0, prediction = velocity|data)
               | \"ot-cfm\" (sigma = 0, prediction) | \"sb-cfm\" (sigma = 1) | \"vp-cfm\" (sigma = 0) | \"target-cfm\" (sigma_min = 0)
  [train]      steps = 10000  batch = 256  accumulation = 1  lr = 1e-3  warmup = 0  lr_schedule = constant|cosine
               min_lr = 0  beta1 = 0.9  beta2 = 0.999  eps = 1e-8  weight_decay = 0  clip = 1 (global norm; 0 = off)
               ema = { kind = \"fixed\", decay = 0.999 } | { kind = \"edm\", half_life_images = 500000, rampup = 0.05 } | { kind = \"none\" }
               seed = 0  checkpoint_every = 1000  keep = 3  log_every = 100  grid_every = 0  grid_samples  grid_steps = 20
               on_nonfinite = stop|skip  conditional = false  label_dropout = 0
Flags override the file; without --config the flags alone (at least --data) are a complete run.";

/// Arguments of `train`.
#[derive(clap::Args, Debug)]
#[command(after_help = CONFIG_KEYS, allow_negative_numbers = true)]
pub struct Args {
    /// The run configuration (TOML; see below).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The run directory: checkpoints, metrics.jsonl, config.toml, grids/.
    #[arg(long)]
    out: PathBuf,
    /// Continue from the newest valid checkpoint in --out (its config.toml is the default config).
    #[arg(long)]
    resume: bool,
    /// flex, ndarray, wgpu, vulkan, cuda or cuda:N (what the build has).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Data parallelism over several CUDA devices of this machine, e.g. cuda:0,cuda:1 (CUDA
    /// builds only; replaces --device; train.batch is the global batch, split evenly).
    #[arg(long, value_delimiter = ',')]
    devices: Vec<String>,
    /// Data SPEC (overrides data.spec).
    #[arg(long)]
    data: Option<String>,
    /// Model kind: mlp, unet-small, unet-cifar10 (overrides the `[model]` table when the kind differs).
    #[arg(long)]
    model: Option<String>,
    /// Objective kind: edm, dsm, vp-likelihood, i-cfm, ot-cfm, sb-cfm, vp-cfm, target-cfm.
    #[arg(long)]
    objective: Option<String>,
    /// Optimiser steps.
    #[arg(long)]
    steps: Option<u64>,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Samples per optimiser step.
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    /// Stop after this many steps in total (a later --resume continues to `steps`).
    #[arg(long)]
    stop_after: Option<u64>,
}

/// The configuration the flags and files describe.
fn resolve(args: &Args) -> Result<RunConfig, CliError> {
    let read = |path: &Path| -> Result<RunConfig, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        RunConfig::from_toml_str(&text).map_err(|e| CliError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    };
    let saved = args.out.join("config.toml");
    let mut config = match (&args.config, args.resume && saved.is_file()) {
        (Some(path), _) => read(path)?,
        (None, true) => read(&saved)?,
        (None, false) => {
            let spec = args.data.clone().ok_or(CliError::Argument {
                name: "data",
                message: "a data SPEC is required without --config (e.g. --data toy:8gaussians)"
                    .into(),
            })?;
            RunConfig {
                data: DataConfig::new(spec),
                model: ModelConfig::default(),
                objective: ObjectiveConfig::default(),
                train: Default::default(),
            }
        }
    };
    if let Some(spec) = &args.data {
        config.data.spec = spec.clone();
    }
    if let Some(kind) = &args.model
        && config.model.kind() != kind
    {
        config.model = ModelConfig::from_kind(kind)?;
    }
    if let Some(kind) = &args.objective
        && config.objective.kind() != kind
    {
        config.objective = ObjectiveConfig::from_kind(kind)?;
    }
    if let Some(v) = args.steps {
        config.train.steps = v;
    }
    if let Some(v) = args.seed {
        config.train.seed = v;
    }
    if let Some(v) = args.batch {
        config.train.batch = v;
    }
    if let Some(v) = args.lr {
        config.train.lr = v;
    }
    config.validate()?;
    Ok(config)
}

/// Rank 0's device and the others: --devices when given (CUDA builds only), else --device.
fn devices(args: &Args) -> Result<(Device, Vec<Device>), CliError> {
    if args.devices.is_empty() {
        return Ok((device_from_name(&args.device)?, Vec::new()));
    }
    if !cfg!(feature = "cuda") {
        return Err(CliError::Argument {
            name: "devices",
            message: "data-parallel training needs a CUDA build (--features cuda): burn 0.22's \
                      collective is NCCL"
                .into(),
        });
    }
    let all = args
        .devices
        .iter()
        .map(|name| {
            if name.starts_with("cuda") {
                device_from_name(name).map_err(CliError::from)
            } else {
                Err(CliError::Argument {
                    name: "devices",
                    message: format!("`{name}`: data parallelism runs on CUDA devices only"),
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut all = all.into_iter();
    let first = all.next().expect("at least one device");
    Ok((first, all.collect()))
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let config = resolve(args)?;
    let (device, more) = devices(args)?;
    crate::device::start(&device)?;
    for d in &more {
        crate::device::start(d)?;
    }
    let options = RunOptions {
        out: args.out.clone(),
        resume: args.resume,
        device,
        quiet: args.quiet,
        stop_after: args.stop_after,
    };
    let summary = if more.is_empty() {
        train(&config, &options)?
    } else {
        train_on_devices(&config, &options, &more)?
    };
    println!(
        "{}",
        serde_json::json!({
            "step": summary.step,
            "checkpoint": summary.checkpoint,
            "final_loss": summary.losses.last(),
            "skipped": summary.skipped,
            "out": args.out,
        })
    );
    Ok(())
}
