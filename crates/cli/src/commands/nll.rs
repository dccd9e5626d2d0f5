//! `scoreflow nll`: likelihoods under a trained checkpoint.

use std::path::PathBuf;
use std::str::FromStr;

use ndarray::Array1;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scoreflow_models::device_from_name;
use scoreflow_ode_sde_solvers::likelihood::{
    Divergence, EIGHT_BIT_TO_SYMMETRIC_SCALE, ProbeKind, bits_per_dim,
};
use scoreflow_train::checkpoint::load_trained;
use scoreflow_train::data::{self, DataKind, DataOptions, DataSpec};
use scoreflow_train::likelihood::{NllRequest, nll};

use crate::commands::sample::shard_range;
use crate::error::CliError;
use crate::npy::{read_matrix, write_vector};

/// Arguments of `nll`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run directory (its newest valid checkpoint) or a checkpoint file.
    #[arg(long)]
    checkpoint: PathBuf,
    /// (n, d) float64 points.
    #[arg(long, conflicts_with = "data")]
    points: Option<PathBuf>,
    /// A data SPEC whose samples are scored (images are dequantised uniformly).
    #[arg(long)]
    data: Option<String>,
    /// At most this many samples of --data (the first ones).
    #[arg(long)]
    n: Option<usize>,
    /// Output: (n,) float64 negative log-likelihoods in nats.
    #[arg(long)]
    out: PathBuf,
    /// Hutchinson's trace estimator with K Rademacher probes instead of the exact trace.
    #[arg(long)]
    hutchinson: Option<usize>,
    /// Relative tolerance of the adaptive solver.
    #[arg(long, default_value_t = 1e-5)]
    rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-5)]
    atol: f64,
    /// Seed of the probes and of the dequantisation noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use the trained weights instead of their EMA.
    #[arg(long)]
    raw_weights: bool,
    /// Only shard i of k ("i/k") of the points.
    #[arg(long)]
    shard: Option<String>,
    /// Points per batch.
    #[arg(long, default_value_t = 256)]
    chunk: usize,
    /// flex, ndarray, wgpu, vulkan, cuda or cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let divergence = match args.hutchinson {
        None => Divergence::Exact,
        Some(0) => {
            return Err(CliError::Argument {
                name: "hutchinson",
                message: "needs at least 1 probe".into(),
            });
        }
        Some(probes) => Divergence::Hutchinson {
            probes,
            kind: ProbeKind::Rademacher,
            seed: args.seed,
        },
    };
    let device = device_from_name(&args.device)?;
    crate::device::start(&device)?;
    let model = load_trained(&args.checkpoint, &device, args.raw_weights)?;
    let shape = model.info.sample_shape.clone();
    let numel: usize = shape.iter().product();
    let (points, images) = match (&args.points, &args.data) {
        (Some(path), None) => {
            let a = read_matrix(path, numel)?;
            (a.iter().copied().collect::<Vec<f64>>(), false)
        }
        (None, Some(spec)) => {
            let spec = DataSpec::from_str(spec)?;
            let dataset = data::open(&spec, &DataOptions::default())?;
            if dataset.sample_shape() != shape.as_slice() {
                return Err(CliError::Argument {
                    name: "data",
                    message: format!(
                        "samples of shape {:?}, the model takes {shape:?}",
                        dataset.sample_shape()
                    ),
                });
            }
            let count = args.n.unwrap_or(dataset.len()).min(dataset.len());
            let mut values = vec![0f32; count * numel];
            for (i, row) in values.chunks_exact_mut(numel).enumerate() {
                dataset.read(i, row)?;
            }
            let images = dataset.kind() == DataKind::Images;
            let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0xDE0A_u64);
            let points = values
                .into_iter()
                .map(|v| {
                    let v = f64::from(v);
                    // Uniform dequantisation: x = (k + u)/127.5 − 1 with u ~ U[0, 1).
                    if images {
                        v + rng.random::<f64>() / EIGHT_BIT_TO_SYMMETRIC_SCALE
                    } else {
                        v
                    }
                })
                .collect();
            (points, images)
        }
        _ => {
            return Err(CliError::Argument {
                name: "points",
                message: "give exactly one of --points x.npy and --data SPEC".into(),
            });
        }
    };
    let n = points.len() / numel;
    let (lo, hi) = shard_range(args.shard.as_deref(), n)?;
    let request = NllRequest {
        divergence,
        rtol: args.rtol,
        atol: args.atol,
        sigma_min: None,
        sigma_max: None,
        chunk: args.chunk,
    };
    let values = nll(
        &model.network,
        &model.view,
        &shape,
        &points[lo * numel..hi * numel],
        None,
        &request,
        &device,
    )?;
    write_vector(&args.out, &Array1::from(values.clone()))?;
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let bpd = if images {
        Some(bits_per_dim(mean, numel, EIGHT_BIT_TO_SYMMETRIC_SCALE)?)
    } else {
        None
    };
    println!(
        "{}",
        serde_json::json!({
            "nll_nats": mean,
            "bits_per_dim": bpd,
            "n": values.len(),
            "rows": [lo, hi],
            "checkpoint": model.path,
        })
    );
    Ok(())
}
