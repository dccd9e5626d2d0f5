//! `scoreflow draw-analytic`: exact samples of an analytic Gaussian-mixture target.

use std::path::PathBuf;

use ndarray::Array2;
use scoreflow_score_matching::analytic::GaussianMixture;

use crate::error::CliError;
use crate::npy::write_matrix;

/// Arguments of `draw-analytic`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A mixture JSON file or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// Number of samples.
    #[arg(long)]
    n: usize,
    /// Seed of the ancestral sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: (n, d) float64.
    #[arg(long)]
    out: PathBuf,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    if args.n == 0 {
        return Err(CliError::Argument {
            name: "n",
            message: "must be at least 1".into(),
        });
    }
    let target = GaussianMixture::load(&args.target)?;
    let x = Array2::from_shape_vec((args.n, target.dim()), target.sample(args.n, args.seed))
        .map_err(|e| CliError::Argument {
            name: "n",
            message: e.to_string(),
        })?;
    write_matrix(&args.out, &x)?;
    println!(
        "{}",
        serde_json::json!({"target": args.target, "n": args.n, "dim": target.dim(), "seed": args.seed})
    );
    Ok(())
}
