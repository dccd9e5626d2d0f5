//! `scoreflow bench-analytic`: every sampler at several step counts on one analytic target.
//!
//! All samplers start from the same standard-normal noise z, so a deterministic sampler's
//! output can be compared sample by sample with the exact probability-flow ODE solution from
//! that z. What is measured, per (sampler, steps):
//!
//! - **nfe**: model (denoiser or velocity) evaluations, counted by the runner.
//! - **error** (deterministic samplers only): RMS over samples of the per-sample Euclidean
//!   endpoint error, √(1/n Σᵢ ‖xᵢ − xᵢ*‖²), where x* is the reference solution from the same zᵢ
//!   (see [`sigma_reference`] and [`flow_reference`]). A stochastic sampler does not follow the
//!   ODE, so this number would measure its noise, not its accuracy, and is not reported.
//! - **sw2**: the sliced Wasserstein-2 distance ([`SlicedW2`]) between the output and an
//!   independent exact sample of the target of the same size, for every sampler; its noise
//!   floor (two independent exact samples) is reported alongside.
//! - **seconds**: wall time of the sampling loop.
//!
//! Seeds: z is drawn with `--seed`; stochastic samplers' noise, the exact comparison sample and
//! the second noise-floor sample use `--seed` + 1, + 2 and + 3 (independent ChaCha20 / SplitMix64
//! streams); the projection directions use a fixed seed so that SW₂ values are comparable across
//! runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use scoreflow_flow_matching::gauss_preconditioned::{
    GAUSS_FLOW_SAMPLER_NAMES, GAUSS_SIGMA_SAMPLER_NAMES, gauss_order_with, sigma_gauss_order_with,
};
use scoreflow_flow_matching::sampling::{FLOW_SAMPLER_NAMES, FlowSolver, sample_flow};
use scoreflow_ode_sde_solvers::ode::{Dopri5, SolveOptions, integrate};
use scoreflow_ode_sde_solvers::samplers::{SAMPLER_NAMES, SamplerOptions, by_name};
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::teleport::check_skip;
use scoreflow_train::metrics::SlicedW2;

use super::sample_analytic::check_sigmas;
use crate::analytic::{
    GridChoice, RunSpec, adopt_grid_file, denoiser, run as run_sampler, velocity,
};
use crate::error::CliError;
use crate::plot::{LogLogChart, Series, write_log_log};

/// rtol = atol of the reference Dopri5 solves: far below any fixed-step sampler's error at the
/// step counts benchmarked, so the reported error is the sampler's own.
pub const REFERENCE_TOL: f64 = 1e-10;

/// Random directions of the sliced Wasserstein Monte Carlo average.
pub const SW2_DIRECTIONS: usize = 128;

/// Seed of the SW₂ directions, fixed so that distances from different runs use the same slices.
const DIRECTION_SEED: u64 = 0x0051_1CED_0002;

/// Arguments of `bench-analytic`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A mixture JSON file ({"weights", "means", "covs"}) or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// Comma-separated step counts of the grid [default: 4,8,16,32,64; a grid file's own steps].
    #[arg(long)]
    steps: Option<String>,
    /// σ grid of σ-space samplers: karras, logsnr, condot, condot-zero or a .json file of σ values (used
    /// exactly as given; its first value replaces --sigma-max, its last positive one
    /// --sigma-min).
    #[arg(long, default_value = "karras")]
    grid: String,
    /// Number of samples (noise draws) per run.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Seed of the starting noise (other streams derive from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Largest σ of the Karras grid.
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// Smallest positive σ of the Karras grid (a final σ = 0 follows).
    #[arg(long, default_value_t = 0.002)]
    sigma_min: f64,
    /// ρ of the Karras grid.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// η of ancestral / SDE samplers and DDIM (default: 1 for ancestral / SDE samplers, 0 for DDIM).
    #[arg(long)]
    eta: Option<f64>,
    /// Comma-separated samplers to run (default: every σ-grid sampler and every fm-* sampler).
    #[arg(long)]
    samplers: Option<String>,
    /// Analytical teleportation (Wang & Vastola 2024): every σ-space sampler also runs from
    /// this σ_skip after the closed-form jump of the target's moment-matched Gaussian, as the
    /// row `<sampler>+tp` (same noise, same reference); the NFE it saves is printed and written
    /// to bench.json ("teleport").
    #[arg(long, value_name = "SIGMA_SKIP")]
    teleport: Option<f64>,
    /// Output directory (created if missing): bench.csv, bench.json, error_vs_nfe.png,
    /// sw2_vs_nfe.png.
    #[arg(long, default_value = "bench-out")]
    out_dir: PathBuf,
    /// Threads of the analytic target's batched methods (1: single-threaded).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Which reference a sampler is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    /// σ-grid samplers: the EDM probability-flow ODE.
    Sigma,
    /// `fm-*` samplers: the CondOT flow ODE.
    Flow,
}

impl Family {
    fn as_str(self) -> &'static str {
        match self {
            Family::Sigma => "sigma",
            Family::Flow => "flow",
        }
    }
}

/// A validated `--samplers` entry.
struct Entry {
    name: String,
    family: Family,
    stochastic: bool,
}

/// What one successful run measured.
struct Measured {
    nfe: usize,
    /// `None` for stochastic samplers (see the module docs).
    error: Option<f64>,
    sw2: f64,
    seconds: f64,
}

/// One (sampler, steps) row; a failed run keeps its error message instead of numbers.
struct Row {
    sampler: String,
    family: Family,
    stochastic: bool,
    steps: usize,
    outcome: Result<Measured, String>,
}

/// An exact reference solution and what it cost.
pub struct Reference {
    /// The endpoints, (n, d), row i from noise row i.
    pub x: Array2<f64>,
    /// Model evaluations of the adaptive solve.
    pub nfe: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The exact probability-flow ODE endpoint of every σ-grid sampler from noise z.
///
/// Integrates the EDM probability-flow ODE dx/dσ = (x − D(x; σ))/σ (Karras et al. 2022, eq. 3
/// with σ(t) = t) with Dopri5 at rtol = atol = [`REFERENCE_TOL`] from x(σ_max) = σ_max·z down
/// to σ_min, then applies D(·; σ_min) once: every sampler's last step, from σ_min to σ = 0,
/// returns the denoised value, so this is the point their outputs converge to as the grid is
/// refined.
pub fn sigma_reference(
    target: &GaussianMixture,
    z: &Array2<f64>,
    sigma_max: f64,
    sigma_min: f64,
) -> Result<Reference, CliError> {
    let d = denoiser(target);
    let field = |sigma: f64, x: &Array2<f64>| (x - &d(x, sigma)) / sigma;
    let start = Instant::now();
    let sol = integrate(
        &field,
        &Dopri5,
        sigma_max,
        sigma_min,
        z * sigma_max,
        &SolveOptions::adaptive(REFERENCE_TOL, REFERENCE_TOL),
    )?;
    let nfe = sol.stats.nfe + 1;
    let end = sol.ys.last().expect("a solution keeps its end point");
    let x = d(end, sigma_min);
    Ok(Reference {
        x,
        nfe,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The exact CondOT flow endpoint of every `fm-*` sampler from noise z: dx/dt = u_t(x)
/// (Lipman et al. 2023) from x(0) = z to t = 1 with Dopri5 at rtol = atol = [`REFERENCE_TOL`].
pub fn flow_reference(target: &GaussianMixture, z: &Array2<f64>) -> Result<Reference, CliError> {
    let v = velocity(target);
    let solver = FlowSolver::Dopri5 {
        rtol: REFERENCE_TOL,
        atol: REFERENCE_TOL,
    };
    let start = Instant::now();
    let (x, stats) = sample_flow(&v, z.clone(), solver, 0)?;
    Ok(Reference {
        x,
        nfe: stats.nfe,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// n draws of N(0, I_d) from a ChaCha20 stream seeded with `seed`, via a one-component
/// mixture: the same generator the target's exact samples use, with no extra dependency.
pub(crate) fn standard_normal(n: usize, d: usize, seed: u64) -> Result<Array2<f64>, CliError> {
    let identity = (0..d)
        .map(|i| (0..d).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let normal = GaussianMixture::new(vec![1.0], vec![vec![0.0; d]], vec![identity])?;
    Ok(mixture_sample(&normal, n, seed))
}

fn mixture_sample(mixture: &GaussianMixture, n: usize, seed: u64) -> Array2<f64> {
    Array2::from_shape_vec((n, mixture.dim()), mixture.sample(n, seed))
        .expect("sample returns n·d values")
}

/// RMS over samples of the per-sample Euclidean error, √(1/n Σᵢ ‖xᵢ − rᵢ‖²).
pub fn rms_endpoint_error(x: &Array2<f64>, reference: &Array2<f64>) -> f64 {
    let squared: f64 = (x - reference).iter().map(|v| v * v).sum();
    (squared / x.nrows() as f64).sqrt()
}

fn parse_steps(list: &str) -> Result<Vec<usize>, CliError> {
    let mut steps = Vec::new();
    for item in list.split(',').map(str::trim) {
        let n: usize = item.parse().map_err(|_| CliError::Argument {
            name: "steps",
            message: format!("'{item}' is not a step count (expected e.g. 4,8,16)"),
        })?;
        if n == 0 {
            return Err(CliError::Argument {
                name: "steps",
                message: "every step count must be at least 1".into(),
            });
        }
        if !steps.contains(&n) {
            steps.push(n);
        }
    }
    Ok(steps)
}

fn parse_samplers(list: Option<&str>, options: &SamplerOptions) -> Result<Vec<Entry>, CliError> {
    let names: Vec<&str> = match list {
        Some(list) => list.split(',').map(str::trim).collect(),
        None => SAMPLER_NAMES
            .iter()
            .chain(GAUSS_SIGMA_SAMPLER_NAMES)
            .chain(FLOW_SAMPLER_NAMES)
            .chain(GAUSS_FLOW_SAMPLER_NAMES)
            .copied()
            .collect(),
    };
    let mut entries: Vec<Entry> = Vec::new();
    for name in names {
        if entries.iter().any(|e| e.name == name) {
            continue;
        }
        let flow = FlowSolver::from_name(name, 1.0, 1.0).is_some()
            || gauss_order_with(name, true).is_some();
        let (family, stochastic) = if flow {
            (Family::Flow, false)
        } else if sigma_gauss_order_with(name, true).is_some() {
            (Family::Sigma, false)
        } else {
            match by_name::<Array2<f64>>(name, options) {
                Ok(s) => (Family::Sigma, s.is_stochastic()),
                Err(_) => {
                    return Err(CliError::Argument {
                        name: "samplers",
                        message: format!(
                            "unknown sampler '{name}' (known: {}, {}, {}, {})",
                            SAMPLER_NAMES.join(", "),
                            GAUSS_SIGMA_SAMPLER_NAMES.join(", "),
                            FLOW_SAMPLER_NAMES.join(", "),
                            GAUSS_FLOW_SAMPLER_NAMES.join(", ")
                        ),
                    });
                }
            }
        };
        entries.push(Entry {
            name: name.to_string(),
            family,
            stochastic,
        });
    }
    Ok(entries)
}

fn write_file(path: &Path, contents: &str) -> Result<(), CliError> {
    fs::write(path, contents).map_err(|e| CliError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// A CSV field: quoted when it could break the row (failure messages).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"").replace(['\n', '\r'], " "))
    } else {
        s.to_string()
    }
}

/// Scientific notation with a signed two-digit exponent, so table columns line up.
fn sci(v: f64) -> String {
    let s = format!("{v:.3e}");
    match s.split_once('e') {
        Some((m, e)) => match e.parse::<i32>() {
            Ok(e) => format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()),
            Err(_) => s,
        },
        None => s,
    }
}

const TABLE_HEADER: &str =
    "sampler              steps     nfe        error          sw2    seconds";

fn table_line(row: &Row) -> String {
    let kind = if row.stochastic { "*" } else { " " };
    let name = format!("{}{kind}", row.sampler);
    match &row.outcome {
        Ok(m) => {
            let error = m.error.map_or_else(|| "-".to_string(), sci);
            format!(
                "{name:<20} {:>5} {:>7} {error:>12} {:>12} {:>10.4}",
                row.steps,
                m.nfe,
                sci(m.sw2),
                m.seconds
            )
        }
        Err(e) => format!("{name:<20} {:>5}  failed: {e}", row.steps),
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let started = Instant::now();
    check_sigmas(args.sigma_min, args.sigma_max, args.rho)?;
    let grid = GridChoice::parse(&args.grid)?;
    let steps = match (&args.steps, &grid) {
        (Some(list), _) => parse_steps(list)?,
        (None, GridChoice::File(g)) => vec![g.len() - 1],
        (None, _) => parse_steps("4,8,16,32,64")?,
    };
    // A grid file fixes σ_max and σ_min (checked against --steps per row by adopt_grid_file).
    let (sigma_max, sigma_min) = match &grid {
        GridChoice::File(g) => (g.as_slice()[0], g.last_positive()),
        _ => (args.sigma_max, args.sigma_min),
    };
    if let Some(sigma_skip) = args.teleport {
        check_skip(sigma_skip, sigma_min, sigma_max)?;
    }
    if args.samples == 0 {
        return Err(CliError::Argument {
            name: "samples",
            message: "must be at least 1".into(),
        });
    }
    if let Some(eta) = args.eta.filter(|eta| !(eta.is_finite() && *eta >= 0.0)) {
        return Err(CliError::Argument {
            name: "eta",
            message: format!("{eta} must be finite and >= 0"),
        });
    }
    let options = SamplerOptions {
        eta: args.eta,
        ..SamplerOptions::default()
    };
    let samplers = parse_samplers(args.samplers.as_deref(), &options)?;
    let target = GaussianMixture::load(&args.target)?.with_threads(args.threads)?;
    fs::create_dir_all(&args.out_dir).map_err(|e| CliError::File {
        path: args.out_dir.clone(),
        message: e.to_string(),
    })?;
    let target_name = Path::new(&args.target)
        .file_stem()
        .map_or_else(|| args.target.clone(), |s| s.to_string_lossy().into_owned());

    let (n, dim) = (args.samples, target.dim());
    let z = standard_normal(n, dim, args.seed)?;
    let exact = mixture_sample(&target, n, args.seed.wrapping_add(2));
    let sw2 = SlicedW2::new(
        exact.as_slice().expect("standard layout"),
        dim,
        SW2_DIRECTIONS,
        DIRECTION_SEED,
    );
    let flat = |x: &Array2<f64>| x.iter().copied().collect::<Vec<f64>>();
    let noise_floor = sw2
        .distance(&flat(&mixture_sample(
            &target,
            n,
            args.seed.wrapping_add(3),
        )))
        .unwrap_or(f64::NAN);

    // One reference per family, shared by every sampler and step count of that family.
    let needs = |f: Family| samplers.iter().any(|e| e.family == f && !e.stochastic);
    let sigma_ref = if needs(Family::Sigma) {
        Some(sigma_reference(&target, &z, sigma_max, sigma_min)?)
    } else {
        None
    };
    let flow_ref = if needs(Family::Flow) {
        Some(flow_reference(&target, &z)?)
    } else {
        None
    };

    println!(
        "bench-analytic: target {target_name} (d = {dim}), n = {n}, seed {}, {} grid σ ∈ [{}, {}], ρ = {}, η = {}",
        args.seed,
        args.grid,
        sigma_min,
        sigma_max,
        args.rho,
        args.eta
            .map_or("default".to_string(), |eta| eta.to_string())
    );
    let reference_note = |r: &Option<Reference>, what: &str| {
        r.as_ref().map_or(String::new(), |r| {
            format!("; {what} reference {} NFE, {:.2} s", r.nfe, r.seconds)
        })
    };
    println!(
        "error: RMS over samples of ‖x − x*‖₂, x* = exact ODE solution from the same noise (Dopri5, tol {REFERENCE_TOL:e}){}{}",
        reference_note(&sigma_ref, "σ"),
        reference_note(&flow_ref, "flow"),
    );
    println!(
        "sw2: sliced W₂ to {n} exact samples over {SW2_DIRECTIONS} directions; noise floor (exact vs exact) = {}; * = stochastic (no endpoint error)",
        sci(noise_floor)
    );
    println!("{TABLE_HEADER}");

    let mut rows = Vec::with_capacity(samplers.len() * steps.len());
    let mut teleport_rows = Vec::new();
    for entry in &samplers {
        let reference = match entry.family {
            Family::Sigma => sigma_ref.as_ref(),
            Family::Flow => flow_ref.as_ref(),
        };
        for &s in &steps {
            let mut spec = RunSpec {
                sampler: entry.name.clone(),
                steps: s,
                sigma_max,
                sigma_min,
                rho: args.rho,
                grid: grid.clone(),
                seed: args.seed.wrapping_add(1),
                options: options.clone(),
                teleport: None,
            };
            // A sampler that fails (its options, or the model's error) costs its row, not the
            // benchmark.
            let result = adopt_grid_file(&mut spec, Some(s))
                .and_then(|()| run_sampler(&target, &z, &spec))
                .map_err(|e| e.to_string());
            let outcome = result.and_then(|r| {
                if r.x.iter().any(|v| !v.is_finite()) {
                    return Err("non-finite samples".to_string());
                }
                let error = match (entry.stochastic, reference) {
                    (false, Some(reference)) => Some(rms_endpoint_error(&r.x, &reference.x)),
                    _ => None,
                };
                Ok(Measured {
                    nfe: r.nfe,
                    error,
                    sw2: sw2.distance(&flat(&r.x)).unwrap_or(f64::NAN),
                    seconds: r.seconds,
                })
            });
            let row = Row {
                sampler: entry.name.clone(),
                family: entry.family,
                stochastic: entry.stochastic,
                steps: s,
                outcome,
            };
            println!("{}", table_line(&row));
            let plain_nfe = row.outcome.as_ref().ok().map(|m| m.nfe);
            rows.push(row);
            // gauss (and auto, = gauss-2 here) start on the Gaussian's flow already.
            let on_grid = sigma_gauss_order_with(&entry.name, true).is_none();
            if let (Some(sigma_skip), Family::Sigma, true) = (args.teleport, entry.family, on_grid)
            {
                let spec = RunSpec {
                    teleport: Some(sigma_skip),
                    ..spec
                };
                let outcome = run_sampler(&target, &z, &spec)
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        if r.x.iter().any(|v| !v.is_finite()) {
                            return Err("non-finite samples".to_string());
                        }
                        Ok(Measured {
                            nfe: r.nfe,
                            error: reference
                                .filter(|_| !entry.stochastic)
                                .map(|reference| rms_endpoint_error(&r.x, &reference.x)),
                            sw2: sw2.distance(&flat(&r.x)).unwrap_or(f64::NAN),
                            seconds: r.seconds,
                        })
                    });
                let row = Row {
                    sampler: format!("{}+tp", entry.name),
                    family: entry.family,
                    stochastic: entry.stochastic,
                    steps: s,
                    outcome,
                };
                let saved = row
                    .outcome
                    .as_ref()
                    .ok()
                    .zip(plain_nfe)
                    .map(|(m, p)| p as i64 - m.nfe as i64);
                println!(
                    "{}   (teleport to σ = {sigma_skip}: NFE saved {})",
                    table_line(&row),
                    saved.map_or("-".to_string(), |v| v.to_string())
                );
                teleport_rows.push(serde_json::json!({
                    "sampler": entry.name,
                    "steps": s,
                    "nfe_saved": saved,
                }));
                rows.push(row);
            }
        }
    }

    let dir = &args.out_dir;
    write_file(&dir.join("bench.csv"), &to_csv(&rows))?;
    // σ-space and flow samplers solve different ODEs (different references): one panel each.
    let mut plots = Vec::new();
    for (family, file, what) in [
        (Family::Sigma, "error_vs_nfe.png", "σ-space samplers"),
        (Family::Flow, "flow_error_vs_nfe.png", "flow samplers"),
    ] {
        if !samplers.iter().any(|e| e.family == family && !e.stochastic) {
            continue;
        }
        plots.push(file);
        write_log_log(
            &dir.join(file),
            &LogLogChart {
                title: &format!("Endpoint error vs NFE, {what}: {target_name} (n = {n})"),
                x_label: "NFE (model evaluations)",
                y_label: "RMS endpoint error vs exact ODE solution",
                series: &series(&rows, Some(family), false, |m| m.error),
                reference: None,
            },
        )?;
    }
    if samplers.iter().any(|e| e.stochastic) {
        plots.push("sw2_vs_nfe.png");
        write_log_log(
            &dir.join("sw2_vs_nfe.png"),
            &LogLogChart {
                title: &format!(
                    "Stochastic samplers: sliced W₂ to exact samples vs NFE: {target_name} (n = {n})"
                ),
                x_label: "NFE (model evaluations)",
                y_label: "sliced W₂ to exact samples",
                series: &series(&rows, None, true, |m| Some(m.sw2)),
                reference: Some((noise_floor, "noise floor (exact vs exact)")),
            },
        )?;
    }
    let json = serde_json::json!({
        "target": args.target,
        "dim": dim,
        "samples": n,
        "seed": args.seed,
        "sigma_max": sigma_max,
        "sigma_min": sigma_min,
        "rho": args.rho,
        "grid": args.grid,
        "eta": args.eta,
        "error_metric": "RMS over samples of the per-sample Euclidean distance to the exact ODE solution from the same noise; null for stochastic samplers",
        "reference_tolerance": REFERENCE_TOL,
        "sigma_reference_nfe": sigma_ref.as_ref().map(|r| r.nfe),
        "flow_reference_nfe": flow_ref.as_ref().map(|r| r.nfe),
        "sw2_directions": SW2_DIRECTIONS,
        "sw2_noise_floor": noise_floor,
        "plots": plots,
        "teleport": args.teleport.map(|sigma_skip| serde_json::json!({
            "sigma_skip": sigma_skip,
            "gaussian": "moment-matched (exact mean and covariance of the target)",
            "rows": teleport_rows,
        })),
        "seconds": started.elapsed().as_secs_f64(),
        "rows": rows.iter().map(|r| {
            let (nfe, error, sw2, seconds, failure) = match &r.outcome {
                Ok(m) => (Some(m.nfe), m.error, Some(m.sw2), Some(m.seconds), None),
                Err(e) => (None, None, None, None, Some(e.as_str())),
            };
            serde_json::json!({
                "sampler": r.sampler,
                "family": r.family.as_str(),
                "stochastic": r.stochastic,
                "steps": r.steps,
                "nfe": nfe,
                "error": error,
                "sw2": sw2,
                "seconds": seconds,
                "failure": failure,
            })
        }).collect::<Vec<_>>(),
    });
    let pretty = serde_json::to_string_pretty(&json).expect("JSON values serialise");
    write_file(&dir.join("bench.json"), &(pretty + "\n"))?;
    println!(
        "wrote {} (bench.csv, bench.json, {}) in {:.1} s",
        dir.display(),
        plots.join(", "),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One line per sampler of the given family (any when `None`) and stochasticity: (NFE, value)
/// over its step counts.
fn series(
    rows: &[Row],
    family: Option<Family>,
    stochastic: bool,
    value: impl Fn(&Measured) -> Option<f64>,
) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    let wanted = |r: &&Row| r.stochastic == stochastic && family.is_none_or(|f| r.family == f);
    for row in rows.iter().filter(wanted) {
        let Ok(m) = &row.outcome else { continue };
        let Some(v) = value(m) else { continue };
        let point = (m.nfe as f64, v);
        match out.iter_mut().find(|s| s.label == row.sampler) {
            Some(s) => s.points.push(point),
            None => out.push(Series {
                label: row.sampler.clone(),
                points: vec![point],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

fn to_csv(rows: &[Row]) -> String {
    let mut csv = String::from("sampler,family,stochastic,steps,nfe,error,sw2,seconds,failure\n");
    for r in rows {
        let (nfe, error, sw2, seconds, failure) = match &r.outcome {
            Ok(m) => (
                m.nfe.to_string(),
                m.error.map_or(String::new(), |e| e.to_string()),
                m.sw2.to_string(),
                m.seconds.to_string(),
                String::new(),
            ),
            Err(e) => (
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                csv_field(e),
            ),
        };
        csv.push_str(&format!(
            "{},{},{},{},{nfe},{error},{sw2},{seconds},{failure}\n",
            csv_field(&r.sampler),
            r.family.as_str(),
            r.stochastic,
            r.steps
        ));
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rms_error_is_root_mean_squared_distance() {
        let a = ndarray::arr2(&[[0.0, 0.0], [0.0, 0.0]]);
        let b = ndarray::arr2(&[[3.0, 4.0], [0.0, 0.0]]);
        assert!((rms_endpoint_error(&b, &a) - (25.0f64 / 2.0).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn a_failed_row_keeps_its_message() {
        let row = Row {
            sampler: "rk45".into(),
            family: Family::Sigma,
            stochastic: false,
            steps: 8,
            outcome: Err("step size collapsed at \"σ\", t = 1".into()),
        };
        assert!(table_line(&row).contains("failed: step size collapsed"));
        let csv = to_csv(std::slice::from_ref(&row));
        let line = csv.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "rk45,sigma,false,8,,,,,\"step size collapsed at \"\"σ\"\", t = 1\""
        );
        assert_eq!(sci(1.5e-7), "1.500e-07");
        assert_eq!(sci(12.0), "1.200e+01");
    }

    #[test]
    fn bad_lists_are_rejected() {
        assert!(parse_steps("4,0").is_err());
        assert!(parse_steps("4,x").is_err());
        assert_eq!(parse_steps("8, 4,8").unwrap(), vec![8, 4]);
        let options = SamplerOptions::default();
        assert!(parse_samplers(Some("euler,nope"), &options).is_err());
        let all = parse_samplers(None, &options).unwrap();
        assert_eq!(
            all.len(),
            SAMPLER_NAMES.len()
                + GAUSS_SIGMA_SAMPLER_NAMES.len()
                + FLOW_SAMPLER_NAMES.len()
                + GAUSS_FLOW_SAMPLER_NAMES.len()
        );
        assert!(
            all.iter()
                .any(|e| e.name == "euler-ancestral" && e.stochastic)
        );
    }
}
