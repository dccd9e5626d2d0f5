//! `scoreflow nll-analytic`.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array1, Array2};
use scoreflow_ode_sde_solvers::likelihood::{
    Divergence, LikelihoodOptions, ProbeKind, negative_log_likelihood,
};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};

use crate::error::CliError;
use crate::npy::{read_matrix, write_vector};

/// Arguments of `nll-analytic`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// A mixture JSON file ({"weights", "means", "covs"}) or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// (n, d) float64 points.
    #[arg(long)]
    points: PathBuf,
    /// Output: (n,) float64, −log p₀ in nats per point.
    #[arg(long)]
    out: PathBuf,
    /// Estimate the divergence with K Rademacher probes (Hutchinson) instead of exactly.
    #[arg(long)]
    hutchinson: Option<usize>,
    /// Seed of the Hutchinson probes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Relative tolerance of the adaptive probability-flow solve.
    #[arg(long, default_value_t = 1e-7)]
    rtol: f64,
    /// Absolute tolerance.
    #[arg(long, default_value_t = 1e-7)]
    atol: f64,
    /// σ where the exact noised mixture density is used as the prior.
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// σ where the integration starts (σ = 0 is singular).
    #[arg(long, default_value_t = 1e-5)]
    sigma_min: f64,
    /// Threads of the analytic target's batched methods (1: single-threaded).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    super::sample_analytic::check_sigmas(args.sigma_min, args.sigma_max, 1.0)?;
    for (name, v) in [("rtol", args.rtol), ("atol", args.atol)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(CliError::Argument {
                name,
                message: format!("{v} must be finite and > 0"),
            });
        }
    }
    let divergence = match args.hutchinson {
        None => Divergence::Exact,
        Some(0) => {
            return Err(CliError::Argument {
                name: "hutchinson",
                message: "needs at least 1 probe".into(),
            });
        }
        Some(k) => Divergence::Hutchinson {
            probes: k,
            kind: ProbeKind::Rademacher,
            seed: args.seed,
        },
    };
    let target = GaussianMixture::load(&args.target)?.with_threads(args.threads)?;
    let points = read_matrix(&args.points, target.dim())?;
    let model = MixtureDenoiser::new(&target);
    let sigma_max = args.sigma_max;
    // The exact noised density at σ_max: no Gaussian-prior approximation.
    let prior = |x: &Array2<f64>| {
        x.rows()
            .into_iter()
            .map(|r| target.log_prob(r.as_slice().expect("row"), sigma_max))
            .collect()
    };
    let options = LikelihoodOptions {
        sigma_min: args.sigma_min,
        sigma_max,
        rtol: args.rtol,
        atol: args.atol,
        divergence,
        ..LikelihoodOptions::default()
    };
    let start = Instant::now();
    let result = negative_log_likelihood(&model, &points, &prior, &options)?;
    let seconds = start.elapsed().as_secs_f64();
    let nll = Array1::from(result.nll);
    write_vector(&args.out, &nll)?;
    println!(
        "{}",
        serde_json::json!({
            "n": nll.len(),
            "dim": target.dim(),
            "mean_nll": nll.mean().unwrap_or(f64::NAN),
            "nfe": result.nfe,
            "jvps": result.jvps,
            "steps": result.steps,
            "seconds": seconds,
            "divergence": match args.hutchinson { Some(k) => format!("hutchinson-{k}"), None => "exact".into() },
        })
    );
    Ok(())
}
