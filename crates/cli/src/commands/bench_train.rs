//! `scoreflow bench-train`: what the training loop adds to a bare training step.

use std::time::Instant;

use ndarray::Array4;
use scoreflow_models::bench::{BenchNetwork, ModelBench, Workload};
use scoreflow_models::device_from_name;
use scoreflow_train::config::RunConfig;
use scoreflow_train::trainer::{RunOptions, train};

use crate::error::CliError;

/// Arguments of `bench-train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Device: flex, ndarray, wgpu, vulkan, cuda or cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
    /// mlp-2d or unet-small.
    #[arg(long, default_value = "mlp-2d")]
    network: String,
    /// Batch size (default: 1024 for mlp-2d, 32 for unet-small).
    #[arg(long)]
    batch: Option<usize>,
    /// Timed steps of each, per round.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Rounds of (bare steps, loop steps), alternated so that the machine's drift over the run
    /// falls on both alike; the overhead reported is the median of the rounds' ratios.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the command: `rounds` times, `steps` bare steps of `bench-model` (forward, MSE,
/// backward, AdamW) then `steps` steps of the training loop on the same network and batch (EDM
/// loss with its host draws, data loader, global-norm clipping, AdamW, EMA, a metrics line every
/// 10 steps); per round the ratio of their medians, and the median ratio over rounds. On a shared
/// machine whose speed drifts by several per cent within a minute, one bare block followed by one
/// loop block measured the drift as much as the loop (+2.7 % and +7.7 % in two runs of the same
/// build); alternating blocks pairs each loop block with a bare block of the same moment. The
/// loop's first two steps (warm-up) and its last (the final checkpoint and grid) are not timed.
pub fn run(args: &Args) -> Result<(), CliError> {
    let network: BenchNetwork = args.network.parse().map_err(|e| CliError::Argument {
        name: "network",
        message: format!("{e}"),
    })?;
    if !matches!(network, BenchNetwork::Mlp2d | BenchNetwork::UNetSmall) || args.steps < 3 {
        return Err(CliError::Argument {
            name: "network",
            message: "bench-train times mlp-2d or unet-small over at least 3 steps".into(),
        });
    }
    let batch = args.batch.unwrap_or(network.default_batch());
    let device = device_from_name(&args.device)?;
    crate::device::start(&device)?;

    if args.rounds == 0 {
        return Err(CliError::Argument {
            name: "rounds",
            message: "must be at least 1".into(),
        });
    }
    let mut bare = ModelBench::new(network, Workload::TrainStep, batch, &device, 0)?;
    for _ in 0..2 {
        bare.step()?;
    }
    let mut rounds = Vec::with_capacity(args.rounds);
    for _ in 0..args.rounds {
        let mut bare_times = Vec::with_capacity(args.steps);
        for _ in 0..args.steps {
            let t = Instant::now();
            bare.step()?;
            bare_times.push(t.elapsed().as_secs_f64());
        }
        let loop_times = loop_step_times(network, batch, args.steps, &device)?;
        rounds.push((median(bare_times), median(loop_times)));
    }
    let ratios: Vec<f64> = rounds.iter().map(|(b, l)| l / b - 1.0).collect();
    let bare_median = median(rounds.iter().map(|r| r.0).collect());
    let loop_median = median(rounds.iter().map(|r| r.1).collect());
    println!(
        "{}",
        serde_json::json!({
            "network": network.name(),
            "batch": batch,
            "device": args.device,
            "steps": args.steps,
            "rounds": args.rounds,
            "bare_step_median_s": bare_median,
            "loop_step_median_s": loop_median,
            "overhead": median(ratios.clone()),
            "overhead_per_round": ratios,
        })
    );
    Ok(())
}

/// The timed step durations of one training-loop run of `steps` + 3 steps (see [`run`]).
fn loop_step_times(
    network: BenchNetwork,
    batch: usize,
    steps: usize,
    device: &burn::prelude::Device,
) -> Result<Vec<f64>, CliError> {
    let dir = tempfile_dir()?;
    let (spec, model) = if network == BenchNetwork::Mlp2d {
        ("toy:8gaussians".to_owned(), "kind = \"mlp\"")
    } else {
        // Random images of MNIST's shape: the loop's cost does not depend on their content.
        let path = dir.join("images.npy");
        let images = Array4::<f32>::from_shape_fn((4 * batch, 1, 28, 28), |(i, _, y, x)| {
            ((i * 31 + y * 7 + x) % 255) as f32 / 127.5 - 1.0
        });
        ndarray_npy::write_npy(&path, &images).map_err(|e| CliError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        (format!("npy:{}", path.display()), "kind = \"unet-small\"")
    };
    let steps = steps + 3;
    let config = RunConfig::from_toml_str(&format!(
        "[data]\nspec = \"{spec}\"\n[model]\n{model}\n[objective]\nkind = \"edm\"\n\
         [train]\nsteps = {steps}\nbatch = {batch}\nlog_every = 10\ncheckpoint_every = {steps}\n"
    ))?;
    let summary = train(
        &config,
        &RunOptions {
            out: dir.join("run"),
            resume: false,
            device: device.clone(),
            quiet: true,
            stop_after: None,
        },
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(summary.step_seconds[2..summary.step_seconds.len() - 1].to_vec())
}

/// A fresh scratch directory under the system's temporary folder.
fn tempfile_dir() -> Result<std::path::PathBuf, CliError> {
    let dir = std::env::temp_dir().join(format!(
        "scoreflow-bench-train-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| CliError::File {
        path: dir.clone(),
        message: e.to_string(),
    })?;
    Ok(dir)
}
