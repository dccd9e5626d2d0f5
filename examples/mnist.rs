//! Class-conditional MNIST on the CPU: train the small UNet with the EDM objective and label
//! dropout on `../shared/data/mnist-5k` (or a full MNIST folder), train a noise-conditional
//! classifier with the classifier objective on the same digits minus a held-out split, then
//! sample a 10×10 grid — row r all of class r — at several classifier-free guidance scales and
//! score each grid by the classifier.
//!
//! ```sh
//! cargo run --release --example mnist [-- --data DIR --out DIR --steps N --scales 1,2,3,4]
//! ```
//!
//! Writes `mnist-out/` (the run directory `run/` with checkpoints and metrics, `classifier.ckpt`,
//! `grid-w{W}.png` per scale, `results.json`) and prints one line per scale. Running it again
//! resumes the run (up to `--steps`) and reuses the classifier. Other flags: `--batch`, `--lr`,
//! `--sampler` (σ-space, default `dpmpp-2m`), `--sample-steps` (default 20), `--seed`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// burn's CPU backends allocate a fresh buffer per tensor operation; mimalloc reuses them
/// (docs/architecture.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use burn::prelude::Device;
use scoreflow::models::ClassifierConfig;
use scoreflow::train::checkpoint::load_trained;
use scoreflow::train::classifier::{
    ClassifierRunConfig, SIGMA_MIN, accuracy, load_classifier, predict, save_classifier,
    split_per_class, train_classifier,
};
use scoreflow::train::config::RunConfig;
use scoreflow::train::data::{DataOptions, DataSpec, Dataset, open};
use scoreflow::train::guidance::Guidance;
use scoreflow::train::metrics::write_image_grid;
use scoreflow::train::sampling::{GridKind, SampleRequest, sample, standard_normals};
use scoreflow::train::trainer::{RunOptions, train};

/// Digits of each class the classifier never sees: the last 50 of each class (500 in all).
const HELD_OUT_PER_CLASS: usize = 50;
const CLASSES: usize = 10;

/// The value after `--name`, if given.
fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    flag(name).map_or(Ok(default), |v| {
        v.parse().map_err(|_| format!("{name}: cannot parse {v:?}"))
    })
}

fn run_config(
    data: &str,
    steps: u64,
    batch: usize,
    lr: f64,
    seed: u64,
) -> Result<RunConfig, String> {
    RunConfig::from_toml_str(&format!(
        r#"
        [data]
        spec = "mnist:{data}"
        [model]
        kind = "unet-small"
        [objective]
        kind = "edm"
        sigma_data = 0.5
        [train]
        steps = {steps}
        batch = {batch}
        lr = {lr}
        warmup = 100
        ema = {{ kind = "fixed", decay = 0.998 }}
        seed = {seed}
        conditional = true
        label_dropout = 0.1
        log_every = 50
        checkpoint_every = 250
        keep = 2
        "#
    ))
    .map_err(|e| e.to_string())
}

/// The classifier: trained on all but the held-out digits, or read back from an earlier run.
fn classifier(
    data: &str,
    path: &Path,
    device: &Device,
) -> Result<(scoreflow::models::Classifier, f64, f64), Box<dyn std::error::Error>> {
    let all = open(&DataSpec::Mnist(data.into()), &DataOptions::default())?;
    let (train_split, test) = split_per_class(all.as_ref(), HELD_OUT_PER_CLASS)?;
    let started = Instant::now();
    let classifier = if path.is_file() {
        load_classifier(path, device)?.0
    } else {
        // examples/mnist_classifier.rs's settings (98.6 % held out, docs/guidance.md).
        let batch = 128;
        let steps = 16 * train_split.len() / batch;
        let network = ClassifierConfig::new(train_split.sample_shape().to_vec(), CLASSES);
        let config = ClassifierRunConfig::new(network)
            .with_steps(steps)
            .with_batch(batch)
            .with_lr(3e-3)
            .with_warmup(steps / 50)
            .with_shift(2)
            .with_clean_fraction(0.5);
        let (c, _) = train_classifier(&config, Arc::new(train_split), device)?;
        save_classifier(&c, &config, path)?;
        c
    };
    let seconds = started.elapsed().as_secs_f64();
    let labels = test.labels().ok_or("MNIST is labelled")?;
    let held_out = accuracy(&classifier, test.data(), labels, SIGMA_MIN, device)?;
    Ok((classifier, held_out, seconds))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = flag("--data").unwrap_or_else(|| "../shared/data/mnist-5k".into());
    if !Path::new(&data).is_dir() {
        return Err(format!("no MNIST folder at {data} (pass --data DIR)").into());
    }
    let out = PathBuf::from(flag("--out").unwrap_or_else(|| "mnist-out".into()));
    let steps: u64 = parsed("--steps", 1600)?;
    let batch: usize = parsed("--batch", 32)?;
    let lr: f64 = parsed("--lr", 6e-4)?;
    let seed: u64 = parsed("--seed", 0)?;
    let sampler = flag("--sampler").unwrap_or_else(|| "dpmpp-2m".into());
    let sample_steps: usize = parsed("--sample-steps", 20)?;
    let scales: Vec<f64> = flag("--scales")
        .unwrap_or_else(|| "1,2,3,4".into())
        .split(',')
        .map(|w| w.trim().parse().map_err(|_| format!("--scales: {w:?}")))
        .collect::<Result<_, _>>()?;
    let device = Device::flex();
    std::fs::create_dir_all(&out)?;

    let run_dir = out.join("run");
    let config = run_config(&data, steps, batch, lr, seed)?;
    let resume = run_dir.join("checkpoints").is_dir()
        && std::fs::read_dir(run_dir.join("checkpoints"))?
            .next()
            .is_some();
    let started = Instant::now();
    let summary = train(
        &config,
        &RunOptions {
            out: run_dir.clone(),
            resume,
            device: device.clone(),
            quiet: false,
            stop_after: None,
        },
    )?;
    let train_seconds = started.elapsed().as_secs_f64();
    println!(
        "generator: {} steps of {batch} in {train_seconds:.0} s{}",
        summary.step,
        if resume { " (resumed)" } else { "" }
    );

    let (classifier, held_out, classifier_seconds) =
        classifier(&data, &out.join("classifier.ckpt"), &device)?;
    println!(
        "classifier: {:.2} % on the {} held-out digits ({classifier_seconds:.0} s)",
        100.0 * held_out,
        HELD_OUT_PER_CLASS * CLASSES
    );

    let model = load_trained(&run_dir, &device, false)?;
    let shape = model.info.sample_shape.clone();
    let numel: usize = shape.iter().product();
    let n = CLASSES * CLASSES;
    let labels: Vec<u32> = (0..n).map(|i| (i / CLASSES) as u32).collect();
    let z = standard_normals(seed, n, numel);
    let mut rows = Vec::new();
    for &w in &scales {
        let request = SampleRequest {
            sampler: sampler.clone(),
            steps: sample_steps,
            grid: GridKind::Karras { rho: 7.0 },
            sigma_min: None,
            sigma_max: None,
            seed,
            options: Default::default(),
            chunk: n,
            first_sample: 0,
            guidance: Some(Guidance {
                scale: w,
                rescale: None,
                interval: None,
            }),
            moments: model.moments.clone(),
        };
        let s = sample(
            &model.network,
            &model.view,
            &shape,
            &z,
            Some(&labels),
            &request,
            &device,
        )?;
        let predicted = predict(&classifier, &s.x, &device)?;
        let correct = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, y)| p == y)
            .count();
        let grid = out.join(format!("grid-w{w}.png"));
        write_image_grid(&grid, &s.x, &shape, CLASSES)?;
        println!(
            "w = {w}: {correct}/{n} class-correct ({:.0} %), {} NFE, {:.1} s → {}",
            100.0 * correct as f64 / n as f64,
            s.nfe,
            s.seconds,
            grid.display()
        );
        rows.push(serde_json::json!({
            "scale": w, "correct": correct, "n": n, "nfe": s.nfe,
            "seconds": s.seconds, "grid": grid,
        }));
    }
    let results = serde_json::json!({
        "data": data,
        "steps": summary.step,
        "batch": batch,
        "train_seconds": train_seconds,
        "classifier_held_out_accuracy": held_out,
        "classifier_seconds": classifier_seconds,
        "sampler": sampler,
        "sample_steps": sample_steps,
        "scales": rows,
    });
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    Ok(())
}
