//! `scoreflow bench-train`: what the training loop adds to a bare training step.

use std::time::Instant;

use ndarray::Array4;
use scoreflow_models::bench::{BenchNetwork, ModelBench, Workload};
use scoreflow_models::device_from_name;
use scoreflow_train::TrainError;
use scoreflow_train::config::RunConfig;
use scoreflow_train::trainer::{RunOptions, train_interleaved};

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
    /// Timed pairs (one loop step, then one bare step) per round.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Rounds; each reports the ratio of its loop and bare medians, so that the spread of the
    /// estimate shows.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Runs the command: one training-loop run of `rounds · steps` + 3 steps on the network and
/// batch of `bench-model`'s bare step (EDM loss with its host draws, data loader, global-norm
/// clipping, AdamW, EMA, a metrics line every 10 steps), with one bare step of `bench-model`
/// (forward, MSE, backward, AdamW on its own copy of the network) right after each loop step.
/// The overhead is median(loop step) / median(bare step) − 1 over all pairs (and the same
/// with means, which count the rare slow steps such as a metrics line); each round's ratio is
/// reported too.
///
/// Why pairs of single steps: on a shared machine whose speed drifts by several per cent
/// within a minute, blocks of bare steps followed by blocks of loop steps measured the drift
/// as much as the loop (one block each: +2.7 % and +7.7 % for the same build; alternated blocks
/// of 40–100 steps, each loop block a fresh run: rounds from −9 % to +14 %). A bare step right
/// after each loop step sees the same machine, and both see the cache after the other model.
/// The loop's first two steps (warm-up) and its last (the final checkpoint and grid) are not
/// counted.
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
    if args.rounds == 0 {
        return Err(CliError::Argument {
            name: "rounds",
            message: "must be at least 1".into(),
        });
    }
    let batch = args.batch.unwrap_or(network.default_batch());
    let device = device_from_name(&args.device)?;
    crate::device::start(&device)?;

    let mut bare = ModelBench::new(network, Workload::TrainStep, batch, &device, 0)?;
    for _ in 0..2 {
        bare.step()?;
    }
    let mut bare_times = Vec::new();
    let mut between = |_step: u64| -> Result<(), TrainError> {
        let t = Instant::now();
        bare.step().map_err(|e| TrainError::Model(e.to_string()))?;
        bare_times.push(t.elapsed().as_secs_f64());
        Ok(())
    };
    let pairs = args.rounds * args.steps;
    let loop_times = loop_step_times(network, batch, pairs, &device, &mut between)?;
    // The pairs kept are those of the timed loop steps: drop the warm-up two and the last.
    let bare_times = &bare_times[2..bare_times.len() - 1];
    let rounds: Vec<f64> = loop_times
        .chunks(args.steps)
        .zip(bare_times.chunks(args.steps))
        .map(|(l, b)| median(l.to_vec()) / median(b.to_vec()) - 1.0)
        .collect();
    let (bare_median, loop_median) = (median(bare_times.to_vec()), median(loop_times.clone()));
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
            "bare_step_mean_s": mean(bare_times),
            "loop_step_mean_s": mean(&loop_times),
            "overhead": loop_median / bare_median - 1.0,
            "overhead_of_means": mean(&loop_times) / mean(bare_times) - 1.0,
            "overhead_per_round": rounds,
        })
    );
    Ok(())
}

/// The timed step durations of one training-loop run of `steps` + 3 steps (see [`run`]),
/// calling `between` after each.
fn loop_step_times(
    network: BenchNetwork,
    batch: usize,
    steps: usize,
    device: &burn::prelude::Device,
    between: &mut dyn FnMut(u64) -> Result<(), TrainError>,
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
    let summary = train_interleaved(
        &config,
        &RunOptions {
            out: dir.join("run"),
            resume: false,
            device: device.clone(),
            quiet: true,
            stop_after: None,
        },
        between,
    );
    let _ = std::fs::remove_dir_all(&dir);
    let summary = summary?;
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
