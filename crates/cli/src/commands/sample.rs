//! `scoreflow sample`: any sampler on a trained checkpoint.

use std::path::PathBuf;

use ndarray::Array2;
use scoreflow_models::device_from_name;
use scoreflow_ode_sde_solvers::samplers::SamplerOptions;
use scoreflow_train::checkpoint::load_trained;
use scoreflow_train::guidance::Guidance;
use scoreflow_train::metrics::{write_image_grid, write_scatter};
use scoreflow_train::sampling::{GridKind, SampleRequest, sample, standard_normals};

use crate::error::CliError;
use crate::npy::{read_matrix, write_matrix};

/// Arguments of `sample`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// A run directory (its newest valid checkpoint) or a checkpoint file.
    #[arg(long)]
    checkpoint: PathBuf,
    /// A σ-space sampler (auto, gauss, heun, dpmpp-2m, …; `--sampler help` lists them) or a flow
    /// sampler (fm-auto, fm-gauss, fm-euler, …). `auto` and `fm-auto` spend exactly --steps model
    /// calls: `gauss` / `fm-gauss` with the data's moments the checkpoint stores (runs on samples
    /// of at most 1,024 values), else the moment-free configurations (docs/samplers.md).
    #[arg(long, default_value = "auto")]
    sampler: String,
    /// Steps of the grid.
    #[arg(long)]
    steps: usize,
    /// Number of samples.
    #[arg(long)]
    n: usize,
    /// Seed of the starting noise (without --noise) and of stochastic samplers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: .npy (n rows, float64) or .png (image grid, or scatter of 2-D points).
    #[arg(long)]
    out: PathBuf,
    /// (n, d) float64 standard normals to start from instead of the seeded ones.
    #[arg(long)]
    noise: Option<PathBuf>,
    /// σ grid: karras, logsnr, uniform (in the model's time) or a .json file of σ̃ values (used
    /// exactly as given; `auto` brings its own grid).
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
    /// Use the trained weights instead of their EMA.
    #[arg(long)]
    raw_weights: bool,
    /// η of ancestral / SDE samplers and DDIM (default: 1 for ancestral / SDE samplers, 0 for DDIM).
    #[arg(long)]
    eta: Option<f64>,
    /// Relative tolerance of adaptive samplers.
    #[arg(long, default_value_t = 1e-5)]
    rtol: f64,
    /// Absolute tolerance of adaptive samplers.
    #[arg(long, default_value_t = 1e-5)]
    atol: f64,
    /// Class of every sample (class-conditional checkpoints).
    #[arg(long)]
    class: Option<u32>,
    #[command(flatten)]
    guidance: GuidanceArgs,
    /// Compute only shard i of k ("i/k"): rows [i·n/k, (i+1)·n/k) of the n-sample output, with
    /// the same per-sample seeds, so the shards' rows concatenate to the unsharded output.
    #[arg(long)]
    shard: Option<String>,
    /// Samples per network call.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    /// flex, ndarray, wgpu, vulkan, cuda or cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
}

/// Parses "i/k" into the row range of shard i of k over n rows.
pub fn shard_range(shard: Option<&str>, n: usize) -> Result<(usize, usize), CliError> {
    let Some(text) = shard else {
        return Ok((0, n));
    };
    let bad = || CliError::Argument {
        name: "shard",
        message: format!("'{text}' is not i/k with 0 ≤ i < k"),
    };
    let (i, k) = text.split_once('/').ok_or_else(bad)?;
    let (i, k): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        k.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || i >= k {
        return Err(bad());
    }
    Ok((i * n / k, (i + 1) * n / k))
}

/// Parses "lo,hi".
fn interval(text: &str) -> Result<(f64, f64), CliError> {
    let bad = || CliError::Argument {
        name: "guidance-interval",
        message: format!("'{text}' is not lo,hi with 0 ≤ lo < hi"),
    };
    let (lo, hi) = text.split_once(',').ok_or_else(bad)?;
    let (lo, hi): (f64, f64) = (
        lo.trim().parse().map_err(|_| bad())?,
        hi.trim().parse().map_err(|_| bad())?,
    );
    if !(lo >= 0.0 && lo < hi) {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// The guidance flags of `sample` and `edit`.
#[derive(clap::Args, Debug)]
pub struct GuidanceArgs {
    /// Classifier-free guidance scale w: D∅ + w(D_c − D∅); 1 = the conditional model, 0 = the
    /// unconditional one (diffusers' guidance_scale). Needs --class.
    #[arg(long)]
    guidance: Option<f64>,
    /// Guidance rescale φ ∈ [0, 1] (Lin et al. 2024); σ-space samplers.
    #[arg(long)]
    guidance_rescale: Option<f64>,
    /// Guide only for σ̃ in (lo, hi] ("lo,hi"; Kynkäänniemi et al. 2024).
    #[arg(long)]
    guidance_interval: Option<String>,
}

/// The σ grid a `--grid` value asks for: `karras`, `logsnr`, `uniform`, or a `.json` file holding
/// a decreasing array of σ̃ values (validated on load, used exactly as given).
pub fn grid_kind(name: &str, rho: f64) -> Result<GridKind, CliError> {
    match name {
        "karras" => Ok(GridKind::Karras { rho }),
        "logsnr" => Ok(GridKind::LogSnr),
        "uniform" => Ok(GridKind::Uniform),
        path if path.ends_with(".json") => {
            Ok(GridKind::Explicit(crate::analytic::read_grid_file(path)?))
        }
        other => Err(CliError::Argument {
            name: "grid",
            message: format!("'{other}' (expected karras, logsnr, uniform or a .json grid file)"),
        }),
    }
}

/// The labels `--class` asks for, checked against the checkpoint's classes.
pub fn class_labels(
    class: Option<u32>,
    num_classes: Option<usize>,
    rows: usize,
) -> Result<Option<Vec<u32>>, CliError> {
    match (class, num_classes) {
        (None, _) => Ok(None),
        (Some(c), Some(k)) if (c as usize) < k => Ok(Some(vec![c; rows])),
        (Some(c), Some(k)) => Err(CliError::Argument {
            name: "class",
            message: format!("{c} is out of range: the model has {k} classes (0..{k})"),
        }),
        (Some(_), None) => Err(CliError::Argument {
            name: "class",
            message: "this checkpoint is unconditional".into(),
        }),
    }
}

/// The guidance the flags ask for, checked against the checkpoint and --class.
pub fn guidance(
    args: &GuidanceArgs,
    has_class: bool,
    conditional: bool,
) -> Result<Option<Guidance>, CliError> {
    let Some(scale) = args.guidance else {
        if args.guidance_rescale.is_some() || args.guidance_interval.is_some() {
            return Err(CliError::Argument {
                name: "guidance",
                message: "--guidance-rescale and --guidance-interval need --guidance W".into(),
            });
        }
        return Ok(None);
    };
    if !conditional {
        return Err(CliError::Argument {
            name: "guidance",
            message: "this checkpoint is unconditional: guidance needs a model trained with \
                      train.conditional = true"
                .into(),
        });
    }
    if !has_class {
        return Err(CliError::Argument {
            name: "guidance",
            message: "guidance needs --class C".into(),
        });
    }
    let g = Guidance {
        scale,
        rescale: args.guidance_rescale,
        interval: args
            .guidance_interval
            .as_deref()
            .map(interval)
            .transpose()?,
    };
    g.validate()?;
    Ok(Some(g))
}

/// Writes `n × numel` rows to `path`: `.npy` (float64 matrix), or `.png` — a square image grid
/// for image samples, a scatter plot for points.
pub fn write_rows(path: &std::path::Path, x: Vec<f64>, shape: &[usize]) -> Result<(), CliError> {
    let numel: usize = shape.iter().product();
    let rows = x.len() / numel.max(1);
    if path.extension().and_then(|e| e.to_str()) == Some("npy") {
        let a = Array2::from_shape_vec((rows, numel), x).map_err(|e| CliError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        write_matrix(path, &a)
    } else if shape.len() == 3 {
        let cols = (rows as f64).sqrt().ceil() as usize;
        Ok(write_image_grid(path, &x, shape, cols)?)
    } else {
        Ok(write_scatter(path, &x, None, numel, 600)?)
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    if args.n == 0 {
        return Err(CliError::Argument {
            name: "n",
            message: "must be at least 1".into(),
        });
    }
    let grid = grid_kind(&args.grid, args.rho)?;
    let extension = args.out.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(extension, "npy" | "png") {
        return Err(CliError::Argument {
            name: "out",
            message: format!("{} must end in .npy or .png", args.out.display()),
        });
    }
    let device = device_from_name(&args.device)?;
    crate::device::start(&device)?;
    let model = load_trained(&args.checkpoint, &device, args.raw_weights)?;
    let shape = model.info.sample_shape.clone();
    let numel: usize = shape.iter().product();
    let (lo, hi) = shard_range(args.shard.as_deref(), args.n)?;
    let z = match &args.noise {
        Some(path) => {
            let z = read_matrix(path, numel)?;
            if z.nrows() != args.n {
                return Err(CliError::File {
                    path: path.clone(),
                    message: format!("has {} rows, --n is {}", z.nrows(), args.n),
                });
            }
            z.iter()
                .copied()
                .skip(lo * numel)
                .take((hi - lo) * numel)
                .collect()
        }
        None => standard_normals(args.seed, hi, numel).split_off(lo * numel),
    };
    let labels = class_labels(args.class, model.info.num_classes, hi - lo)?;
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
            rtol: args.rtol,
            atol: args.atol,
            ..SamplerOptions::default()
        },
        chunk: args.chunk,
        first_sample: lo,
        guidance,
        moments: model.moments.clone(),
    };
    let out = sample(
        &model.network,
        &model.view,
        &shape,
        &z,
        labels.as_deref(),
        &request,
        &device,
    )?;
    write_rows(&args.out, out.x, &shape)?;
    println!(
        "{}",
        serde_json::json!({
            "sampler": args.sampler,
            "steps": args.steps,
            "nfe": out.nfe,
            "seconds": out.seconds,
            "rows": [lo, hi],
            "n": args.n,
            "checkpoint": model.path,
            "step": model.step,
        })
    );
    Ok(())
}
