//! `scoreflow dmcmc-analytic`: Denoising MCMC on an analytic target — Langevin–Gibbs chains
//! over (x, σ), each output denoised by a σ-grid sampler from its own σ — scored by sliced W₂.

use std::path::PathBuf;

use ndarray::Array2;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::dmcmc::{
    DlgOptions, Selection, chain_levels, denoise_states, dlg_sample,
};
use scoreflow_ode_sde_solvers::samplers::{SamplerOptions, by_name};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};
use scoreflow_train::metrics::SlicedW2;

use super::sample_analytic::check_sigmas;
use crate::error::CliError;
use crate::npy::write_matrix;

/// Arguments of `dmcmc-analytic`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// A mixture JSON file or a built-in name.
    #[arg(long)]
    target: String,
    /// The σ-grid sampler that denoises the chain states (see `--sampler help`).
    #[arg(long, default_value = "heun")]
    sampler: String,
    /// Steps of each state's Karras grid from its σ to σ_min.
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// σ_max: the range --sigma-skip must lie in.
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// σ_min of the grids (a final σ = 0 follows); also the chains' lowest level.
    #[arg(long, default_value_t = 0.002)]
    sigma_min: f64,
    /// ρ of the Karras grids.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// The chains' highest noise level, in (σ_min, σ_max].
    #[arg(long, default_value_t = 2.0)]
    sigma_skip: f64,
    /// Number of geometric noise levels of the chains.
    #[arg(long, default_value_t = 32)]
    levels: usize,
    /// Langevin step size θ > 0.
    #[arg(long, default_value_t = 0.05)]
    theta: f64,
    /// Metropolis-adjust the Langevin moves (MALA; two model calls per sweep).
    #[arg(long)]
    metropolis: bool,
    /// Sweeps before the first output.
    #[arg(long, default_value_t = 100)]
    burn_in: usize,
    /// Sweeps per output (n_skip).
    #[arg(long, default_value_t = 5)]
    sweeps_per_sample: usize,
    /// lowest (the window's lowest-σ state, Kim & Ye) or last.
    #[arg(long, default_value = "lowest")]
    selection: String,
    /// Chains.
    #[arg(long, default_value_t = 256)]
    chains: usize,
    /// Outputs per chain.
    #[arg(long, default_value_t = 16)]
    samples_per_chain: usize,
    /// Seed of chains, samplers and references.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: (chains·samples, d) float64 samples.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    check_sigmas(args.sigma_min, args.sigma_max, args.rho)?;
    let selection = match args.selection.as_str() {
        "lowest" => Selection::LowestSigma,
        "last" => Selection::Last,
        other => {
            return Err(CliError::Argument {
                name: "selection",
                message: format!("'{other}' (expected lowest or last)"),
            });
        }
    };
    let levels = chain_levels(args.sigma_skip, args.sigma_min, args.sigma_max, args.levels)?;
    let options = DlgOptions {
        levels,
        theta: args.theta,
        metropolis: args.metropolis,
        burn_in: args.burn_in,
        sweeps_per_sample: args.sweeps_per_sample,
        selection,
    };
    let sampler = by_name::<Array2<f64>>(&args.sampler, &SamplerOptions::default())?;
    let target = GaussianMixture::load(&args.target)?;
    let model = MixtureDenoiser::new(&target);
    let d = target.dim();
    let z = GaussianMixture::new(vec![1.0], vec![vec![0.0; d]], vec![identity(d)])?
        .sample(args.chains, args.seed);
    let x0 = Array2::from_shape_vec((args.chains, d), z).expect("chains × d") * args.sigma_skip;
    let start = std::time::Instant::now();
    let chains = dlg_sample(
        &model,
        &model,
        x0,
        &vec![0; args.chains],
        &sample_seeds(args.seed, args.chains),
        args.samples_per_chain,
        &options,
    )?;
    let n = chains.x.nrows();
    let (x, denoise_nfe) = denoise_states(
        sampler.as_ref(),
        &model,
        &chains.x,
        &chains.sigmas,
        args.sigma_min,
        args.steps,
        args.rho,
        &sample_seeds(args.seed.wrapping_add(7), n),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if let Some(path) = &args.out {
        write_matrix(path, &x)?;
    }
    let metric = SlicedW2::new(
        &target.sample(n, args.seed.wrapping_add(1)),
        d,
        256,
        args.seed.wrapping_add(2),
    );
    let flat: Vec<f64> = x.iter().copied().collect();
    let sw2 = metric.distance(&flat).unwrap_or(f64::NAN);
    let floor = metric
        .distance(&target.sample(n, args.seed.wrapping_add(3)))
        .unwrap_or(f64::NAN);
    let mcmc_nfe = chains.nfe_per_chain as f64 / args.samples_per_chain as f64;
    let mean_sigma = chains.sigmas.iter().sum::<f64>() / n as f64;
    println!(
        "{}",
        serde_json::json!({
            "sampler": args.sampler,
            "steps": args.steps,
            "nfe_per_sample": mcmc_nfe + denoise_nfe,
            "mcmc_nfe_per_sample": mcmc_nfe,
            "denoise_nfe_per_sample": denoise_nfe,
            "mean_start_sigma": mean_sigma,
            "acceptance": chains.acceptance,
            "sw2": sw2,
            "floor": floor,
            "ratio": sw2 / floor,
            "n": n,
            "dim": d,
            "seconds": seconds,
        })
    );
    Ok(())
}

fn identity(d: usize) -> Vec<Vec<f64>> {
    (0..d)
        .map(|i| (0..d).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}
