//! A noise-conditional MNIST classifier trained by the classifier objective, measured on digits
//! it never saw: the last 50 of each class of `../shared/data/mnist-5k`, held out
//! deterministically.
//!
//! ```sh
//! cargo run --release --example mnist_classifier [-- --data DIR --epochs N --out FILE.ckpt]
//! ```
//!
//! Prints the held-out accuracy on clean digits (σ = σ_min, what scoring generated digits uses)
//! and on noised ones (what guidance uses), and the training wall time. Other flags:
//! `--channels 16,32,64`, `--batch`, `--lr`, `--shift` (pixels), `--clean` (share of clean
//! samples), `--seed`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// burn's CPU backends allocate a fresh buffer per tensor operation; mimalloc reuses them
/// (docs/architecture.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use burn::prelude::Device;
use scoreflow::models::ClassifierConfig;
use scoreflow::train::classifier::{
    ClassifierRunConfig, SIGMA_MIN, accuracy, noised, save_classifier, split_per_class,
    train_classifier,
};
use scoreflow::train::data::{DataOptions, DataSpec, Dataset, open};

/// Digits of each class held out of training: the last 50 of each, 500 in all (the file is
/// sorted by label, so its tail alone would be all nines).
const HELD_OUT_PER_CLASS: usize = 50;

/// The value after `--name`, if given.
fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> T {
    flag(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}: cannot parse {v:?}"))
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = flag("--data").unwrap_or_else(|| "../shared/data/mnist-5k".into());
    let epochs: usize = parsed("--epochs", 16);
    let batch: usize = parsed("--batch", 128);
    let channels: Option<Vec<usize>> = flag("--channels").map(|list| {
        list.split(',')
            .map(|c| c.parse().expect("--channels: comma-separated integers"))
            .collect()
    });

    let all = open(
        &DataSpec::Mnist(dir.clone().into()),
        &DataOptions::default(),
    )?;
    let (train, test) = split_per_class(all.as_ref(), HELD_OUT_PER_CLASS)?;
    let steps = epochs * train.len() / batch;
    let mut network = ClassifierConfig::new(train.sample_shape().to_vec(), 10);
    if let Some(channels) = channels {
        network = network.with_channels(channels);
    }
    let config = ClassifierRunConfig::new(network)
        .with_steps(steps)
        .with_batch(batch)
        .with_lr(parsed("--lr", 3e-3))
        .with_warmup(steps / 50)
        .with_shift(parsed("--shift", 2))
        .with_clean_fraction(parsed("--clean", 0.5))
        .with_seed(parsed("--seed", 0));
    println!(
        "{} training digits, {} held out; {epochs} epochs = {steps} steps of {batch}",
        train.len(),
        test.len()
    );

    let device = Device::flex();
    let started = Instant::now();
    let (classifier, report) = train_classifier(&config, Arc::new(train), &device)?;
    let seconds = started.elapsed().as_secs_f64();
    let tail = report.losses.len().saturating_sub(100);
    let last: f64 = report.losses[tail..].iter().sum::<f64>() / (report.losses.len() - tail) as f64;
    println!("training: {seconds:.1} s wall, mean loss of the last 100 steps {last:.4}");

    let labels = test.labels().expect("MNIST is labelled");
    let started = Instant::now();
    let clean = accuracy(&classifier, test.data(), labels, SIGMA_MIN, &device)?;
    println!(
        "held-out accuracy, clean (σ = {SIGMA_MIN}): {:.2} % ({:.2} s)",
        100.0 * clean,
        started.elapsed().as_secs_f64()
    );
    // Pixels lie in [−1, 1]: at σ = 1 the noise is as large as the whole range.
    for sigma in [0.25, 0.5, 1.0, 2.0] {
        let x = noised(test.data(), sigma, 1);
        let acc = accuracy(&classifier, &x, labels, sigma, &device)?;
        println!("held-out accuracy at σ = {sigma}: {:.2} %", 100.0 * acc);
    }
    if let Some(out) = flag("--out") {
        let out = PathBuf::from(out);
        save_classifier(&classifier, &config, &out)?;
        println!("saved {}", out.display());
    }
    Ok(())
}
