//! `scoreflow sw2`: how close samples are to an analytic target, beside the exact-vs-exact floor.

use std::path::PathBuf;

use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_train::metrics::SlicedW2;

use crate::error::CliError;
use crate::npy::read_matrix;

/// Arguments of `sw2`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A mixture JSON file or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// (n, d) float64 samples to score.
    #[arg(long)]
    samples: PathBuf,
    /// Random directions of the sliced estimate.
    #[arg(long, default_value_t = 256)]
    directions: usize,
    /// Seed of the exact reference samples and of the directions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs the command: the sliced Wasserstein-2 distance between the samples and n exact samples
/// of the target, and the floor — the same distance between two independent exact samples of
/// size n.
pub fn run(args: &Args) -> Result<(), CliError> {
    if args.directions == 0 {
        return Err(CliError::Argument {
            name: "directions",
            message: "must be at least 1".into(),
        });
    }
    let target = GaussianMixture::load(&args.target)?;
    let x = read_matrix(&args.samples, target.dim())?;
    let n = x.nrows();
    let d = target.dim();
    let reference = target.sample(n, args.seed.wrapping_add(1));
    let sw2 = SlicedW2::new(&reference, d, args.directions, args.seed.wrapping_add(2));
    let flat: Vec<f64> = x.iter().copied().collect();
    let value = sw2.distance(&flat).unwrap_or(f64::NAN);
    let floor = sw2
        .distance(&target.sample(n, args.seed.wrapping_add(3)))
        .unwrap_or(f64::NAN);
    println!(
        "{}",
        serde_json::json!({"sw2": value, "floor": floor, "ratio": value / floor, "n": n, "dim": d})
    );
    Ok(())
}
