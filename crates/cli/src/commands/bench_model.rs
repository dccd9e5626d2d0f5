//! `scoreflow bench-model`: images (or points) per second of the networks' forward pass and
//! training step on one device, in the JSON schema of `scripts/bench_torch.py` so that the two
//! line up row for row.

use std::path::PathBuf;
use std::time::Instant;

use scoreflow_models::bench::{BenchNetwork, ModelBench, Workload};
use scoreflow_models::device_from_name;

use crate::error::CliError;

/// Arguments of `bench-model`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Device: flex, ndarray, wgpu, vulkan, cuda or cuda:N (what this build compiled in).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Networks, comma-separated: unet-cifar10, unet-small, mlp-2d, or all.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    network: Vec<String>,
    /// Workloads, comma-separated: forward, train-step.
    #[arg(long, default_value = "forward,train-step", value_delimiter = ',')]
    workload: Vec<String>,
    /// Batch size (default: 8 for unet-cifar10, 32 for unet-small, 1024 for mlp-2d).
    #[arg(long)]
    batch: Option<usize>,
    /// Untimed iterations before timing (the first one's time is reported as cold start).
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed iterations.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Float type of every tensor on the device: f32, bf16 or f16.
    #[arg(long, default_value = "f32")]
    dtype: String,
    /// Seed of the weights and the batch.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also write the results as a JSON array to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// One timed (network, workload) pair.
struct Row {
    network: BenchNetwork,
    workload: Workload,
    batch: usize,
    params: usize,
    setup_s: f64,
    first_s: Option<f64>,
    median_s: f64,
    min_s: f64,
    reserved_mib: Option<f64>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let mut device = device_from_name(&args.device)?;
    let networks = parse_networks(&args.network)?;
    let workloads = args
        .workload
        .iter()
        .map(|w| {
            w.trim()
                .parse::<Workload>()
                .map_err(|e| CliError::Argument {
                    name: "workload",
                    message: e.to_string(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if args.steps == 0 {
        return Err(CliError::Argument {
            name: "steps",
            message: "at least one timed iteration is needed".into(),
        });
    }
    let dtype = parse_dtype(&args.dtype)?;
    crate::device::start(&device)?;
    if !device.supports_dtype(dtype) {
        return Err(CliError::Argument {
            name: "dtype",
            message: format!("{} does not compute in {}", args.device, args.dtype),
        });
    }
    // A device's float type is set once, before its first tensor.
    device.configure(dtype).map_err(|e| CliError::Argument {
        name: "dtype",
        message: format!("{e:?}"),
    })?;

    let mut rows = Vec::new();
    for &network in &networks {
        for &workload in &workloads {
            let batch = args.batch.unwrap_or_else(|| network.default_batch());
            let row = time_one(network, workload, batch, &device, args)?;
            eprintln!("{}", table_line(&row, &args.device, &args.dtype));
            let json = row_json(&row, args);
            println!("{json}");
            rows.push(json);
        }
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&rows).expect("JSON values serialise");
        std::fs::write(path, text).map_err(|e| CliError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

fn time_one(
    network: BenchNetwork,
    workload: Workload,
    batch: usize,
    device: &burn::prelude::Device,
    args: &Args,
) -> Result<Row, CliError> {
    let start = Instant::now();
    let mut bench = ModelBench::new(network, workload, batch, device, args.seed)?;
    let setup_s = start.elapsed().as_secs_f64();
    let mut first_s = None;
    for _ in 0..args.warmup {
        let t = Instant::now();
        bench.step()?;
        first_s.get_or_insert(t.elapsed().as_secs_f64());
    }
    let mut times = Vec::with_capacity(args.steps);
    for _ in 0..args.steps {
        let t = Instant::now();
        let value = bench.step()?;
        times.push(t.elapsed().as_secs_f64());
        if !value.is_finite() {
            return Err(CliError::Argument {
                name: "dtype",
                message: format!("{network} {workload} produced {value} in {}", args.dtype),
            });
        }
    }
    times.sort_by(f64::total_cmp);
    let median_s = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        0.5 * (times[times.len() / 2 - 1] + times[times.len() / 2])
    };
    let reserved_mib = bench
        .device()
        .memory_pool_usage()
        .map(|u| u.bytes_reserved as f64 / (1024.0 * 1024.0));
    Ok(Row {
        network,
        workload,
        batch,
        params: bench.num_params(),
        setup_s,
        first_s,
        median_s,
        min_s: times[0],
        reserved_mib,
    })
}

fn parse_networks(names: &[String]) -> Result<Vec<BenchNetwork>, CliError> {
    let mut networks = Vec::new();
    for name in names {
        let name = name.trim();
        if name == "all" {
            networks.extend(BenchNetwork::ALL);
        } else {
            networks.push(
                name.parse()
                    .map_err(
                        |e: scoreflow_models::bench::BenchError| CliError::Argument {
                            name: "network",
                            message: e.to_string(),
                        },
                    )?,
            );
        }
    }
    networks.dedup();
    Ok(networks)
}

fn parse_dtype(name: &str) -> Result<burn::tensor::FloatDType, CliError> {
    use burn::tensor::FloatDType;
    match name.trim().to_ascii_lowercase().as_str() {
        "f32" | "fp32" | "float32" => Ok(FloatDType::F32),
        "bf16" | "bfloat16" => Ok(FloatDType::BF16),
        "f16" | "fp16" | "float16" => Ok(FloatDType::F16),
        _ => Err(CliError::Argument {
            name: "dtype",
            message: format!("unknown float type `{name}`: expected f32, bf16 or f16"),
        }),
    }
}

fn table_line(row: &Row, device: &str, dtype: &str) -> String {
    format!(
        "{:<13} {:<10} {device:>8} {dtype:>4} batch {:>5}  median {:>9.4} s  min {:>9.4} s  {:>10.1} samples/s  first {}",
        row.network.name(),
        row.workload.name(),
        row.batch,
        row.median_s,
        row.min_s,
        row.batch as f64 / row.median_s,
        row.first_s.map_or("-".into(), |s| format!("{s:.3} s")),
    )
}

fn row_json(row: &Row, args: &Args) -> serde_json::Value {
    serde_json::json!({
        "framework": "burn",
        "version": "0.22.1",
        "network": row.network.name(),
        "workload": row.workload.name(),
        "mode": args.dtype,
        "device": args.device,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "batch": row.batch,
        "params": row.params,
        "setup_s": row.setup_s,
        "first_s": row.first_s,
        "median_s": row.median_s,
        "min_s": row.min_s,
        "images_per_s": row.batch as f64 / row.median_s,
        "reserved_mib": row.reserved_mib,
        "steps": args.steps,
        "warmup": args.warmup,
    })
}
