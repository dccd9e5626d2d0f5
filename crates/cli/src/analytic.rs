//! Running samplers on an analytic Gaussian-mixture target (shared by sample- and bench-analytic).

use std::time::Instant;

use ndarray::Array2;
use scoreflow_flow_matching::sampling::{FlowSolver, sample_flow};
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::{
    BrownianTreeNoise, GaussianNoise, NoiseSampler, SampleContext, SamplerOptions, by_name,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, Denoiser};
use scoreflow_score_matching::analytic::GaussianMixture;

use crate::error::CliError;

/// How to sample: the grid and the sampler's options.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Sampler name (σ-grid sampler or `fm-*`).
    pub sampler: String,
    /// Steps of the grid.
    pub steps: usize,
    /// σ_max of the Karras grid.
    pub sigma_max: f64,
    /// σ_min of the Karras grid.
    pub sigma_min: f64,
    /// ρ of the Karras grid.
    pub rho: f64,
    /// Seed of the per-sample noise of stochastic samplers.
    pub seed: u64,
    /// Sampler options (η, tolerances, …).
    pub options: SamplerOptions,
}

/// A sampler's output and cost.
pub struct RunResult {
    /// The samples, (n, d).
    pub x: Array2<f64>,
    /// Model (denoiser or velocity) evaluations.
    pub nfe: usize,
    /// Wall-clock seconds of the sampling loop.
    pub seconds: f64,
}

/// The target's exact denoiser D(x; σ) on an (n, d) batch.
pub fn denoiser(target: &GaussianMixture) -> impl Fn(&Array2<f64>, f64) -> Array2<f64> + '_ {
    move |x: &Array2<f64>, sigma: f64| {
        let mut out = Array2::zeros(x.raw_dim());
        target.denoise_batch(
            x.as_slice().expect("standard layout"),
            sigma,
            out.as_slice_mut().expect("standard layout"),
        );
        out
    }
}

/// The target's exact CondOT marginal velocity u_t(x) on an (n, d) batch.
pub fn velocity(target: &GaussianMixture) -> impl Fn(&Array2<f64>, f64) -> Array2<f64> + '_ {
    move |x: &Array2<f64>, t: f64| {
        let mut out = Array2::zeros(x.raw_dim());
        target.condot_velocity_batch(
            x.as_slice().expect("standard layout"),
            t,
            out.as_slice_mut().expect("standard layout"),
        );
        out
    }
}

/// The Karras grid of `spec`, validated, ending in 0.
pub fn karras_grid(spec: &RunSpec) -> Result<SigmaGrid, CliError> {
    if spec.steps == 0 {
        return Err(CliError::Argument {
            name: "steps",
            message: "must be at least 1".into(),
        });
    }
    Ok(SigmaGrid::karras(
        spec.steps,
        spec.sigma_min,
        spec.sigma_max,
        spec.rho,
    )?)
}

/// Whether k-diffusion draws this sampler's noise from a Brownian tree by default.
fn uses_brownian_tree(name: &str) -> bool {
    matches!(name, "dpmpp-sde" | "dpmpp-2m-sde" | "dpmpp-3m-sde")
}

/// Runs `spec` from standard-normal noise `z` (n, d): σ-space samplers start at σ_max·z on the
/// Karras grid and return x̂₀; `fm-*` samplers start at x(0) = z and return x(1).
pub fn run(
    target: &GaussianMixture,
    z: &Array2<f64>,
    spec: &RunSpec,
) -> Result<RunResult, CliError> {
    if let Some(solver) = FlowSolver::from_name(&spec.sampler, spec.options.rtol, spec.options.atol)
    {
        if spec.steps == 0 && !matches!(solver, FlowSolver::Dopri5 { .. }) {
            return Err(CliError::Argument {
                name: "steps",
                message: "must be at least 1".into(),
            });
        }
        let v = velocity(target);
        let start = Instant::now();
        let (x, stats) = sample_flow(&v, z.clone(), solver, spec.steps)?;
        return Ok(RunResult {
            x,
            nfe: stats.nfe,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let sampler = by_name::<Array2<f64>>(&spec.sampler, &spec.options)?;
    let grid = karras_grid(spec)?;
    let d = denoiser(target);
    let counting = CountingDenoiser::new(&d as &dyn Denoiser<Array2<f64>>);
    let x0 = z * spec.sigma_max;
    let seeds = sample_seeds(spec.seed, z.nrows());
    let mut noise: Box<dyn NoiseSampler<Array2<f64>>> = if uses_brownian_tree(&spec.sampler) {
        Box::new(BrownianTreeNoise::new(
            &x0,
            spec.sigma_min,
            spec.sigma_max,
            &seeds,
        )?)
    } else {
        Box::new(GaussianNoise::new(&x0, &seeds)?)
    };
    let mut ctx = SampleContext {
        noise: Some(noise.as_mut()),
        callback: None,
    };
    let start = Instant::now();
    let x = sampler.sample(&counting, x0, &grid, &mut ctx)?;
    Ok(RunResult {
        x,
        nfe: counting.count(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
