//! Running samplers on an analytic Gaussian-mixture target (shared by sample- and bench-analytic).

use std::time::Instant;

use ndarray::Array2;
use scoreflow_flow_matching::gauss_preconditioned::{
    GAUSS_FLOW_SAMPLER_NAMES, GAUSS_SIGMA_SAMPLER_NAMES, GaussianMoments, gauss_order_with,
    sample_flow_gauss, sigma_gauss_order_with,
};
use scoreflow_flow_matching::path::AffinePath;
use scoreflow_flow_matching::sampling::{FLOW_SAMPLER_NAMES, FlowSolver, sample_flow};
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::{
    BrownianTreeNoise, EXTRAPOLATED_END_SUFFIX, GaussianNoise, GridRecipe, NoiseSampler,
    NoiseSource, SAMPLER_NAMES, SAMPLERS, SampleContext, SamplerOptions, auto_grid, by_name, find,
    find_base,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, Denoiser};
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::teleport::{GaussianApprox, skip_grid};

use crate::error::CliError;

/// Which σ grid σ-space samplers run on.
#[derive(Clone, Debug, PartialEq)]
pub enum GridChoice {
    /// Karras et al. 2022's ρ-spaced grid ([`SigmaGrid::karras`]).
    Karras,
    /// Uniform in log σ, i.e. in log-SNR ([`SigmaGrid::exponential`]).
    LogSnr,
    /// Uniform in CondOT time t = 1/(1 + σ) ([`SigmaGrid::condot_uniform`]).
    CondOt,
    /// Uniform in CondOT time all the way to σ = 0, no σ_min ([`SigmaGrid::condot_to_zero`]):
    /// `auto`'s grid.
    CondOtToZero,
    /// An explicit grid from a JSON file, used exactly as given: its first value is σ_max, its
    /// length fixes the steps.
    File(SigmaGrid),
}

impl GridChoice {
    /// `karras`, `logsnr`, `condot`, `condot-zero` or a path to a JSON array of σ values (strictly decreasing,
    /// finite, positive but for a final 0).
    ///
    /// # Errors
    /// An unknown name, an unreadable file or an invalid grid, in one line naming the file.
    pub fn parse(value: &str) -> Result<Self, CliError> {
        match value {
            "karras" | "polynomial" => Ok(Self::Karras),
            "logsnr" => Ok(Self::LogSnr),
            "condot" => Ok(Self::CondOt),
            "condot-zero" => Ok(Self::CondOtToZero),
            path if path.ends_with(".json") => Ok(Self::File(read_grid_file(path)?)),
            other => Err(CliError::Argument {
                name: "grid",
                message: format!(
                    "'{other}' (expected karras, logsnr, condot, condot-zero or a .json file of σ values)"
                ),
            }),
        }
    }
}

/// A JSON array of σ values (strictly decreasing, finite, positive but for a final 0), as
/// `--grid FILE.json` and `scoreflow calibrate-grid` write it.
///
/// # Errors
/// An unreadable file or an invalid grid, in one line naming the file.
pub fn read_grid_file(path: &str) -> Result<SigmaGrid, CliError> {
    let file = |message: String| CliError::File {
        path: path.into(),
        message,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| file(format!("cannot read the grid file: {e}")))?;
    serde_json::from_str(&text).map_err(|e| file(format!("not a valid σ grid: {e}")))
}

/// How to sample: the grid and the sampler's options.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Sampler name (σ-grid sampler or `fm-*`).
    pub sampler: String,
    /// Steps of the grid (for a grid file, its steps).
    pub steps: usize,
    /// σ_max of the grid (for a grid file, its first value).
    pub sigma_max: f64,
    /// σ_min, the last positive value of the grid.
    pub sigma_min: f64,
    /// ρ of the Karras grid.
    pub rho: f64,
    /// The grid family, or an explicit grid.
    pub grid: GridChoice,
    /// Seed of the per-sample noise of stochastic samplers.
    pub seed: u64,
    /// Sampler options (η, tolerances, …).
    pub options: SamplerOptions,
    /// σ_skip of analytical teleportation (Wang & Vastola 2024), σ-space samplers only: the
    /// noise σ_max·z is moved to σ_skip by the closed-form flow of the target's moment-matched
    /// Gaussian ([`GaussianApprox::from_mixture`]), and the sampler runs on the grid cut there
    /// ([`skip_grid`]: σ_skip, then the grid values below it).
    pub teleport: Option<f64>,
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

/// The σ grid of `spec`, validated, ending in 0 (a grid file: exactly as given).
pub fn sigma_grid(spec: &RunSpec) -> Result<SigmaGrid, CliError> {
    if spec.steps == 0 {
        return Err(CliError::Argument {
            name: "steps",
            message: "must be at least 1".into(),
        });
    }
    let (n, lo, hi) = (spec.steps, spec.sigma_min, spec.sigma_max);
    if find_base(&spec.sampler).is_some_and(|info| info.grid == GridRecipe::Auto) {
        if matches!(spec.grid, GridChoice::File(_)) {
            return Err(CliError::Argument {
                name: "grid",
                message: format!(
                    "{} brings its own grid; give a grid file to exp-2-lambda instead",
                    spec.sampler
                ),
            });
        }
        return Ok(auto_grid(n, lo, hi)?);
    }
    Ok(match &spec.grid {
        GridChoice::Karras => SigmaGrid::karras(n, lo, hi, spec.rho)?,
        GridChoice::LogSnr => SigmaGrid::exponential(n, lo, hi)?,
        GridChoice::CondOt => SigmaGrid::condot_uniform(n, lo, hi)?,
        GridChoice::CondOtToZero => SigmaGrid::condot_to_zero(n, hi)?,
        GridChoice::File(grid) => grid.clone(),
    })
}

/// Fits `spec`'s steps and σ range to an explicit grid: `--steps` (when given) must equal the
/// file's steps, and σ_max / σ_min become its first and last positive values.
///
/// # Errors
/// A `--steps` that disagrees with the file.
pub fn adopt_grid_file(spec: &mut RunSpec, steps_given: Option<usize>) -> Result<(), CliError> {
    let GridChoice::File(grid) = &spec.grid else {
        return Ok(());
    };
    let s = grid.as_slice();
    let steps = s.len() - 1;
    if let Some(given) = steps_given.filter(|&given| given != steps) {
        return Err(CliError::Argument {
            name: "steps",
            message: format!(
                "{given}, but the grid file has {} values, i.e. {steps} steps",
                s.len()
            ),
        });
    }
    spec.steps = steps;
    spec.sigma_max = s[0];
    spec.sigma_min = grid.last_positive();
    Ok(())
}

/// Whether k-diffusion draws this sampler's noise from a Brownian tree by default.
fn uses_brownian_tree(name: &str) -> bool {
    find(name).is_some_and(|info| info.noise == NoiseSource::BrownianTree)
}

/// The text `--sampler help` prints: one line per sampler of the σ-space table (name, aliases,
/// order, noise source, summary), then the flow samplers.
pub fn sampler_help() -> String {
    let mut out = String::from("σ-space samplers (x = σ_max·z at σ_max, denoised at σ = 0):\n");
    for info in SAMPLERS {
        let sampler = info.build::<f64>(&SamplerOptions::default());
        let order = sampler
            .order()
            .map_or_else(|| "stochastic".to_string(), |p| format!("order {p}"));
        let aliases = if info.aliases.is_empty() {
            String::new()
        } else {
            format!(" (= {})", info.aliases.join(", "))
        };
        let noise = match (info.noise, sampler.is_stochastic()) {
            (NoiseSource::None, _) => "",
            (NoiseSource::Gaussian, true) => ", Gaussian noise",
            (NoiseSource::Gaussian, false) => ", Gaussian noise with --eta > 0",
            (NoiseSource::BrownianTree, _) => ", Brownian-tree noise",
        };
        out += &format!(
            "  {}{aliases}: {order}{noise}; {}\n",
            info.name, info.summary
        );
    }
    out += &format!(
        "  any of these{EXTRAPOLATED_END_SUFFIX}<m>: the last model call at the grid's last positive σ, x(0) \
         extrapolated from the last m (1-4) denoiser outputs in σ² (e.g. lms{EXTRAPOLATED_END_SUFFIX}2)\n"
    );
    out += "flow samplers (x(0) = z, data at t = 1, uniform t grid):\n";
    for name in FLOW_SAMPLER_NAMES {
        out += &format!("  {name}\n");
    }
    out += "  fm-gauss (= fm-gauss-2), fm-gauss-3: Adams-Bashforth of order 2 or 3 on the flow's \
            residual against the data's moment-matched Gaussian, N calls for N + 1 steps (they need \
            the data's mean and covariance: the target's, or a checkpoint's; docs/samplers.md)\n";
    out += "  fm-auto: fm-gauss-2 where the data's moments are known (analytic targets, checkpoints \
            that store them), fm-exp otherwise\n";
    out += "σ-space samplers that need the data's moments:\n";
    out += "  gauss (= gauss-2), gauss-3: fm-gauss on the denoiser's CondOT velocity from the start \
            σ_max·z at t0 = 1/(1 + σ_max) to σ = 0; N calls, the last at σ ≈ 1/N\n";
    out += "  auto: gauss-2 where the data's moments are known (analytic targets, checkpoints that \
            store them); otherwise the table's auto above\n";
    out
}

/// Whether `name` is a known sampler of either family.
///
/// # Errors
/// An unknown name, listing every known one.
pub fn check_sampler_name(name: &str) -> Result<(), CliError> {
    let flow =
        FlowSolver::from_name(name, 1e-5, 1e-5).is_some() || gauss_order_with(name, true).is_some();
    let gauss = sigma_gauss_order_with(name, true).is_some();
    if flow || gauss || by_name::<f64>(name, &SamplerOptions::default()).is_ok() {
        return Ok(());
    }
    let known: Vec<&str> = SAMPLER_NAMES
        .iter()
        .chain(GAUSS_SIGMA_SAMPLER_NAMES)
        .chain(FLOW_SAMPLER_NAMES)
        .chain(GAUSS_FLOW_SAMPLER_NAMES)
        .copied()
        .collect();
    Err(CliError::Argument {
        name: "sampler",
        message: format!(
            "unknown sampler '{name}' (known: {}; `--sampler help` describes them)",
            known.join(", ")
        ),
    })
}

/// A flow sampler: one of [`FlowSolver`]'s, or `fm-gauss` of an order.
#[derive(Clone, Copy)]
enum Flow {
    Solver(FlowSolver),
    Gauss(usize),
}

/// The target's mean and covariance eigendecomposition, as `fm-gauss` takes them.
fn flow_moments(target: &GaussianMixture) -> Result<GaussianMoments, CliError> {
    let gaussian = GaussianApprox::from_mixture(target);
    let d = gaussian.dim();
    let bad = |message: String| CliError::Argument {
        name: "target",
        message,
    };
    // eigvecs_t holds Qᵀ row-major; its transpose has the eigenvectors as columns.
    let q = Array2::from_shape_vec((d, d), gaussian.eigvecs_t().to_vec())
        .map_err(|e| bad(e.to_string()))?
        .reversed_axes();
    GaussianMoments::new(
        gaussian.mean().to_vec().into(),
        gaussian.eigvals().iter().map(|&l| l.max(0.0)).collect(),
        q,
    )
    .map_err(|e| bad(e.to_string()))
}

/// `gauss` (and `auto`, which is `gauss-2` on an analytic target) from x = σ_max·z: the CondOT
/// state t₀·x at t₀ = 1/(1 + σ_max), integrated by `fm-gauss` from t₀ on the target's CondOT
/// velocity (the same ODE as dx/dσ = (x − D(x; σ))/σ: x_σ = x_t/t, σ = (1 − t)/t), whose end at
/// t = 1 is x at σ = 0.
fn run_sigma_gauss(
    target: &GaussianMixture,
    z: &Array2<f64>,
    spec: &RunSpec,
    order: usize,
) -> Result<RunResult, CliError> {
    let argument = |name: &'static str, message: String| CliError::Argument { name, message };
    if spec.teleport.is_some() {
        return Err(argument(
            "teleport",
            format!(
                "{} already starts on the moment-matched Gaussian's flow; --teleport applies to \
                 the grid samplers",
                spec.sampler
            ),
        ));
    }
    if matches!(spec.grid, GridChoice::File(_)) {
        return Err(argument(
            "grid",
            format!(
                "{} runs its own uniform grid in CondOT time; give a grid file to a grid sampler",
                spec.sampler
            ),
        ));
    }
    if spec.steps == 0 {
        return Err(argument("steps", "must be at least 1".into()));
    }
    if !(spec.sigma_max.is_finite() && spec.sigma_max > 0.0) {
        return Err(argument(
            "sigma-max",
            format!("{} is not finite and positive", spec.sigma_max),
        ));
    }
    let moments = flow_moments(target)?;
    let path = AffinePath::cond_ot();
    let v = velocity(target);
    let t0 = 1.0 / (1.0 + spec.sigma_max);
    let sampler_error = |e: &dyn std::fmt::Display| argument("sampler", e.to_string());
    let start = Instant::now();
    let x0 = z * (spec.sigma_max * t0);
    let (x, nfe) = sample_flow_gauss(&v, &x0, t0, &moments, &path, order, spec.steps)
        .map_err(|e| sampler_error(&e))?;
    Ok(RunResult {
        x,
        nfe,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Runs `spec` from standard-normal noise z (n, d): σ-space samplers start at σ_max·z on the
/// Karras grid and return x̂₀; `fm-*` samplers start at x(0) = z and return x(1).
pub fn run(
    target: &GaussianMixture,
    z: &Array2<f64>,
    spec: &RunSpec,
) -> Result<RunResult, CliError> {
    check_sampler_name(&spec.sampler)?;
    if let Some(order) = sigma_gauss_order_with(&spec.sampler, true) {
        return run_sigma_gauss(target, z, spec, order);
    }
    let flow = gauss_order_with(&spec.sampler, true)
        .map(Flow::Gauss)
        .or_else(|| {
            FlowSolver::from_name(&spec.sampler, spec.options.rtol, spec.options.atol)
                .map(Flow::Solver)
        });
    if let Some(flow) = flow {
        if spec.teleport.is_some() {
            return Err(CliError::Argument {
                name: "teleport",
                message: format!(
                    "{} is a flow sampler; teleportation jumps along σ",
                    spec.sampler
                ),
            });
        }
        if matches!(spec.grid, GridChoice::File(_)) {
            return Err(CliError::Argument {
                name: "grid",
                message: format!(
                    "a grid file holds σ values for σ-space samplers; {} integrates a uniform t grid",
                    spec.sampler
                ),
            });
        }
        if spec.steps == 0 && !matches!(flow, Flow::Solver(FlowSolver::Dopri5 { .. })) {
            return Err(CliError::Argument {
                name: "steps",
                message: "must be at least 1".into(),
            });
        }
        let v = velocity(target);
        let (x, nfe, start) = match flow {
            Flow::Solver(solver) => {
                let start = Instant::now();
                let (x, stats) = sample_flow(&v, z.clone(), solver, spec.steps)?;
                (x, stats.nfe, start)
            }
            Flow::Gauss(order) => {
                let moments = flow_moments(target)?;
                let start = Instant::now();
                let (x, nfe) = sample_flow_gauss(
                    &v,
                    z,
                    0.0,
                    &moments,
                    &AffinePath::cond_ot(),
                    order,
                    spec.steps,
                )
                .map_err(|e| CliError::Argument {
                    name: "sampler",
                    message: e.to_string(),
                })?;
                (x, nfe, start)
            }
        };
        return Ok(RunResult {
            x,
            nfe,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let sampler = by_name::<Array2<f64>>(&spec.sampler, &spec.options)?;
    let mut grid = sigma_grid(spec)?;
    let d = denoiser(target);
    let counting = CountingDenoiser::new(&d as &dyn Denoiser<Array2<f64>>);
    let mut x0 = z * spec.sigma_max;
    let mut sigma_start = spec.sigma_max;
    if let Some(sigma_skip) = spec.teleport {
        grid = skip_grid(&grid, sigma_skip)?;
        x0 = GaussianApprox::from_mixture(target).teleport(&x0, spec.sigma_max, sigma_skip)?;
        sigma_start = sigma_skip;
    }
    let seeds = sample_seeds(spec.seed, z.nrows());
    let mut noise: Box<dyn NoiseSampler<Array2<f64>>> = if uses_brownian_tree(&spec.sampler) {
        Box::new(BrownianTreeNoise::new(
            &x0,
            spec.sigma_min,
            sigma_start,
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
