//! `scoreflow sample-analytic`.

use std::path::PathBuf;

use scoreflow_ode_sde_solvers::samplers::SamplerOptions;
use scoreflow_score_matching::analytic::GaussianMixture;

use crate::analytic::{GridChoice, RunSpec, adopt_grid_file, run as run_sampler};
use crate::error::CliError;
use crate::npy::{read_matrix, write_matrix};

/// Arguments of `sample-analytic`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// A mixture JSON file ({"weights", "means", "covs"}) or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// The sampler (see `--sampler help`).
    #[arg(long)]
    sampler: String,
    /// Number of steps of the grid (required unless `--grid` is a file, whose length fixes it).
    #[arg(long)]
    steps: Option<usize>,
    /// σ grid: karras, logsnr (uniform in log σ), condot (uniform in t = 1/(1 + σ)), condot-zero (the same to σ = 0, no σ_min: auto's grid) or a .json
    /// file holding a decreasing array of σ values, used exactly as given.
    #[arg(long, default_value = "karras")]
    grid: String,
    /// Largest σ of the Karras grid.
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// Smallest positive σ of the Karras grid (a final σ = 0 follows).
    #[arg(long, default_value_t = 0.002)]
    sigma_min: f64,
    /// ρ of the Karras grid.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// (n, d) float64 standard normals: the starting noise.
    #[arg(long)]
    noise: PathBuf,
    /// Seed of stochastic samplers' per-sample noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// η of ancestral / SDE samplers and DDIM (default: 1 for ancestral / SDE samplers, 0 for DDIM).
    #[arg(long)]
    eta: Option<f64>,
    /// Relative tolerance of adaptive samplers (rk45, fm-dopri5).
    #[arg(long, default_value_t = 1e-5)]
    rtol: f64,
    /// Absolute tolerance of adaptive samplers.
    #[arg(long, default_value_t = 1e-5)]
    atol: f64,
    /// Analytical teleportation (Wang & Vastola 2024): jump from σ_max to this σ_skip along the
    /// exact flow of the target's moment-matched Gaussian, then sample on the grid values below
    /// it (σ-space samplers; σ_min <= σ_skip < σ_max).
    #[arg(long, value_name = "SIGMA_SKIP")]
    teleport: Option<f64>,
    /// Output: (n, d) float64 samples.
    #[arg(long)]
    out: PathBuf,
    /// Threads of the analytic target's batched methods (1: single-threaded).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Validates σ-grid arguments shared with other commands.
pub fn check_sigmas(sigma_min: f64, sigma_max: f64, rho: f64) -> Result<(), CliError> {
    if !(sigma_min.is_finite() && sigma_min > 0.0) {
        return Err(CliError::Argument {
            name: "sigma-min",
            message: format!("{sigma_min} must be finite and > 0"),
        });
    }
    if !(sigma_max.is_finite() && sigma_max > sigma_min) {
        return Err(CliError::Argument {
            name: "sigma-max",
            message: format!("{sigma_max} must be finite and > --sigma-min {sigma_min}"),
        });
    }
    if !(rho.is_finite() && rho > 0.0) {
        return Err(CliError::Argument {
            name: "rho",
            message: format!("{rho} must be finite and > 0"),
        });
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    check_sigmas(args.sigma_min, args.sigma_max, args.rho)?;
    let grid = GridChoice::parse(&args.grid)?;
    let steps = match (args.steps, &grid) {
        (Some(0), _) => {
            return Err(CliError::Argument {
                name: "steps",
                message: "must be at least 1".into(),
            });
        }
        (Some(steps), _) => steps,
        (None, GridChoice::File(g)) => g.len() - 1,
        (None, _) => {
            return Err(CliError::Argument {
                name: "steps",
                message: "is required unless --grid is a grid file".into(),
            });
        }
    };
    let target = GaussianMixture::load(&args.target)?.with_threads(args.threads)?;
    let z = read_matrix(&args.noise, target.dim())?;
    let options = SamplerOptions {
        eta: args.eta,
        rtol: args.rtol,
        atol: args.atol,
        ..SamplerOptions::default()
    };
    let mut spec = RunSpec {
        sampler: args.sampler.clone(),
        steps,
        sigma_max: args.sigma_max,
        sigma_min: args.sigma_min,
        rho: args.rho,
        grid,
        seed: args.seed,
        options,
        teleport: args.teleport,
    };
    adopt_grid_file(&mut spec, args.steps)?;
    let result = run_sampler(&target, &z, &spec)?;
    if result.x.iter().any(|v| !v.is_finite()) {
        return Err(CliError::Argument {
            name: "sampler",
            message: format!("{} produced non-finite samples", args.sampler),
        });
    }
    write_matrix(&args.out, &result.x)?;
    println!(
        "{}",
        serde_json::json!({
            "sampler": args.sampler,
            "steps": spec.steps,
            "nfe": result.nfe,
            "seconds": result.seconds,
            "n": z.nrows(),
            "dim": z.ncols(),
            "target": args.target,
            "teleport": args.teleport,
        })
    );
    Ok(())
}
