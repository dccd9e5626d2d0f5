//! `scoreflow calibrate-grid`: fit a sampler's σ grid to analytic targets on a pilot set.
//!
//! The library's [`calibrate_grid`] does the work: pilot trajectories from σ_max·z, a tight
//! reference solve of the same points, and a Nelder–Mead search over a smooth family of grids
//! (polynomial warps of the starting grid's log-increments in CondOT time) minimising the
//! sampler's RMS endpoint error. Several comma-separated targets are fitted jointly, each target's
//! error normalised by its own error on the starting grid (a "pooled" grid). The grid is written
//! as the JSON array `--grid FILE.json` reads back, to be used exactly as fitted.
//!
//! Seeds: target i's pilot noise z is drawn with `--seed` + i; `bench-analytic` draws its noise
//! with its own `--seed` (0 by default), so evaluating a grid fitted with the default seed 1 is
//! out of sample.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use scoreflow_flow_matching::sampling::FlowSolver;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_ode_sde_solvers::samplers::{
    CalibrationOptions, GridRecipe, NelderMead, PilotSet, SamplerOptions, auto_grid, by_name,
    calibrate_grid, find,
};
use scoreflow_score_matching::analytic::GaussianMixture;

use super::bench_analytic::standard_normal;
use super::sample_analytic::check_sigmas;
use scoreflow_flow_matching::gauss_preconditioned::{gauss_order_with, sigma_gauss_order_with};

use crate::analytic::{GridChoice, RunSpec, check_sampler_name, denoiser, sigma_grid};
use crate::error::CliError;

/// Arguments of `calibrate-grid`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Target(s) to fit on: a mixture JSON file or a built-in name (ring8, grid25, gauss16d);
    /// several, comma-separated, give one pooled grid.
    #[arg(long)]
    target: String,
    /// The deterministic σ-grid sampler the grid is for (e.g. exp-2-lambda, ipndm, dpmpp-2m).
    #[arg(long)]
    sampler: String,
    /// Steps of the grid (N steps: N + 1 values); a --start file fixes its own.
    #[arg(long)]
    steps: Option<usize>,
    /// Pilot trajectories in all, split evenly between the targets.
    #[arg(long, default_value_t = 512)]
    pilot: usize,
    /// Seed of the pilot noise (target i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Starting grid: auto (uniform in CondOT time to σ = 0, auto's grid), karras, logsnr,
    /// condot, or a .json file of σ values.
    #[arg(long, default_value = "auto")]
    start: String,
    /// Largest σ of the grid.
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// Smallest positive σ of the Karras / log-SNR / CondOT starting grids, and where the
    /// reference solve stops before its final denoising.
    #[arg(long, default_value_t = 0.002)]
    sigma_min: f64,
    /// ρ of a Karras starting grid.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// Degree of the polynomial warp of the grid's log-increments (parameters; capped at N − 1).
    #[arg(long, default_value_t = 3)]
    degree: usize,
    /// Most sampler runs (over the whole pilot set) the search may spend.
    #[arg(long, default_value_t = 400)]
    evaluations: usize,
    /// Where to write the fitted grid (a JSON array of σ values).
    #[arg(long)]
    out: PathBuf,
    /// Threads of the analytic targets' batched methods.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn argument(name: &'static str, message: impl Into<String>) -> CliError {
    CliError::Argument {
        name,
        message: message.into(),
    }
}

/// The starting grid: `auto`'s, a family, or a file.
fn start_grid(args: &Args) -> Result<SigmaGrid, CliError> {
    if args.start == "auto" {
        let steps = args
            .steps
            .ok_or_else(|| argument("steps", "is required unless --start is a grid file"))?;
        if steps == 0 {
            return Err(argument("steps", "must be at least 1"));
        }
        return Ok(auto_grid(steps, args.sigma_min, args.sigma_max)?);
    }
    let grid = GridChoice::parse(&args.start).map_err(|e| match e {
        CliError::Argument { message, .. } => argument(
            "start",
            message.replace("expected karras", "expected auto, karras"),
        ),
        other => other,
    })?;
    if let GridChoice::File(g) = &grid {
        let file_steps = g.len() - 1;
        if let Some(steps) = args.steps.filter(|&s| s != file_steps) {
            return Err(argument(
                "steps",
                format!("{steps}, but the --start file has {file_steps} steps"),
            ));
        }
        return Ok(g.clone());
    }
    let spec = RunSpec {
        sampler: args.sampler.clone(),
        steps: args
            .steps
            .ok_or_else(|| argument("steps", "is required unless --start is a grid file"))?,
        sigma_max: args.sigma_max,
        sigma_min: args.sigma_min,
        rho: args.rho,
        grid,
        seed: 0,
        options: SamplerOptions::default(),
        teleport: None,
    };
    sigma_grid(&spec)
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let started = Instant::now();
    check_sigmas(args.sigma_min, args.sigma_max, args.rho)?;
    check_sampler_name(&args.sampler)?;
    if FlowSolver::from_name(&args.sampler, 1.0, 1.0).is_some() {
        return Err(argument(
            "sampler",
            format!(
                "{} integrates a uniform t grid; calibration fits σ grids",
                args.sampler
            ),
        ));
    }
    let gauss = sigma_gauss_order_with(&args.sampler, false).is_some()
        || gauss_order_with(&args.sampler, false).is_some();
    if gauss {
        return Err(argument(
            "sampler",
            format!(
                "{} runs its own uniform grid in CondOT time; calibration fits σ grids",
                args.sampler
            ),
        ));
    }
    if find(&args.sampler).is_some_and(|info| info.grid == GridRecipe::Auto) {
        return Err(argument(
            "sampler",
            format!(
                "{} brings its own grid; calibrate its sampler, exp-2-lambda, instead",
                args.sampler
            ),
        ));
    }
    let sampler = by_name::<Array2<f64>>(&args.sampler, &SamplerOptions::default())?;
    if sampler.is_stochastic() {
        return Err(argument(
            "sampler",
            format!(
                "{} is stochastic; only deterministic samplers can be calibrated",
                args.sampler
            ),
        ));
    }
    let names: Vec<&str> = args.target.split(',').map(str::trim).collect();
    if args.pilot < names.len() {
        return Err(argument(
            "pilot",
            format!(
                "{} is fewer than one trajectory per target ({})",
                args.pilot,
                names.len()
            ),
        ));
    }
    if args.evaluations == 0 {
        return Err(argument("evaluations", "must be at least 1"));
    }
    let start = start_grid(args)?;
    let targets = names
        .iter()
        .map(|name| GaussianMixture::load(name)?.with_threads(args.threads))
        .collect::<Result<Vec<_>, _>>()?;
    let per_target = args.pilot / names.len();
    let denoisers: Vec<_> = targets.iter().map(denoiser).collect();
    let sigma_max = start.as_slice()[0];
    let pilots = targets
        .iter()
        .zip(&denoisers)
        .enumerate()
        .map(|(i, (target, d))| {
            let z = standard_normal(per_target, target.dim(), args.seed.wrapping_add(i as u64))?;
            Ok(PilotSet {
                denoiser: d as &dyn Denoiser<Array2<f64>>,
                x: z * sigma_max,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let options = CalibrationOptions {
        degree: args.degree,
        search: NelderMead {
            max_evaluations: args.evaluations,
            ..NelderMead::default()
        },
        reference_sigma_min: args.sigma_min,
        ..CalibrationOptions::default()
    };
    let fit = calibrate_grid(sampler.as_ref(), &start, &pilots, &options)?;
    let json = serde_json::to_string(&fit.grid).expect("a grid serialises");
    std::fs::write(&args.out, json + "\n").map_err(|e| CliError::File {
        path: args.out.clone(),
        message: e.to_string(),
    })?;

    let steps = start.len() - 1;
    println!(
        "calibrate-grid: {} at {steps} steps, start {} grid, {} pilot trajectories per target (seed {}), degree {} ({} parameters)",
        args.sampler,
        args.start,
        per_target,
        args.seed,
        args.degree,
        fit.parameters.len()
    );
    println!("in-sample RMS endpoint error vs the reference solve (Dopri5, tol 1e-10):");
    for (name, (e0, e)) in names.iter().zip(fit.start_errors.iter().zip(&fit.errors)) {
        println!(
            "  {name:<24} start {e0:.4e}  fitted {e:.4e}  ratio {:.3}",
            e / e0
        );
    }
    let calls = fit.reference_calls + fit.search_calls;
    println!(
        "objective (RMS of per-target ratios): {:.4}; calibration cost: {} sampler runs, {} batched denoiser calls ({} reference + {} search) = {} per-trajectory evaluations, {:.1} s; sampling NFE of the grid: {steps}",
        fit.objective,
        fit.evaluations,
        calls,
        fit.reference_calls,
        fit.search_calls,
        calls * per_target,
        started.elapsed().as_secs_f64()
    );
    println!(
        "grid: {}",
        fit.grid
            .as_slice()
            .iter()
            .map(|s| format!("{s:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("wrote {}", args.out.display());
    Ok(())
}
