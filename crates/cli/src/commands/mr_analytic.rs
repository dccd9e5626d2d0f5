//! `scoreflow mr-analytic`: mean-reverting diffusion (IR-SDE) on an analytic target, sampled by
//! MRS (Li et al. 2025) and by the Euler–Maruyama reverse SDE, against exact answers.
//!
//! Forward process: dx = θ_t(μ − x)dt + √(2λ²θ_t) dW, θ_t linear from `--theta` to
//! `--theta-max`, x₀ from the target, the same μ for every sample. Every sampler starts from the
//! same exact draw of x_1 = μ + α_1(x₀ − μ) + σ_1 ε and stops at `--t-min`, so the exact law of
//! its output is p_{t_min} = law of μ + α(x₀ − μ) + σε. Reported per (sampler, steps): NFE;
//! `error`, for ODE samplers, the RMS distance to the exact PF-ODE solution from the same start
//! ([`pf_ode_solution`], Dopri5 at 1e-10 or closed form for a Gaussian target); `sw2`, the sliced
//! W₂ to an independent exact sample of p_{t_min}, with its noise floor.

use std::path::PathBuf;

use ndarray::Array2;
use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule};
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::mean_reverting::{
    MixtureMrModel, MrError, MrPrediction, Mrs, MrsKind, log_snr_times, pf_ode_solution,
    reverse_sde_euler_maruyama,
};
use scoreflow_train::metrics::SlicedW2;

use crate::error::CliError;

/// Arguments of `mr-analytic`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// A mixture JSON file or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// μ, comma-separated (d values), or one value for every coordinate.
    #[arg(long, default_value = "0")]
    mu: String,
    /// θ at t = 0 (θ_t is linear in t; must be > 0).
    #[arg(long, default_value_t = 5.0)]
    theta: f64,
    /// θ at t = 1 [default: --theta, a constant θ].
    #[arg(long)]
    theta_max: Option<f64>,
    /// λ, the stationary standard deviation (σ_t² = 2λ²θ_t).
    #[arg(long, default_value_t = 4.0)]
    lambda: f64,
    /// Last time of every sampler (0 < t_min < 1).
    #[arg(long, default_value_t = 0.002)]
    t_min: f64,
    /// Comma-separated samplers: mrs-{ode|sde}-{1|2}[-{data|noise}] and `em` (Euler–Maruyama
    /// reverse SDE on a uniform t grid).
    #[arg(
        long,
        default_value = "mrs-ode-1,mrs-ode-2,mrs-ode-2-noise,mrs-sde-1,mrs-sde-2,em"
    )]
    samplers: String,
    /// Model parameterisation of the exact model: noise, data or velocity.
    #[arg(long, default_value = "noise")]
    prediction: String,
    /// Comma-separated step counts of the MRS samplers (uniform in log-SNR).
    #[arg(long, default_value = "5,10,20")]
    steps: String,
    /// Steps of `em`.
    #[arg(long, default_value_t = 1000)]
    em_steps: usize,
    /// Number of samples.
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Seed (the start uses seed and seed + 1, SDE noise seed + 2, the exact comparison sample
    /// seed + 3 and + 4, its noise-floor twin seed + 5 and + 6).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Optional JSON output.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_list<T: std::str::FromStr>(name: &'static str, list: &str) -> Result<Vec<T>, CliError> {
    list.split(',')
        .map(|item| {
            item.trim().parse().map_err(|_| CliError::Argument {
                name,
                message: format!("'{item}' is not valid"),
            })
        })
        .collect()
}

/// n exact draws of x_t = μ + α_t(x₀ − μ) + σ_t ε.
fn marginal(
    target: &GaussianMixture,
    schedule: &MeanReverting,
    mu: &Array2<f64>,
    t: f64,
    seed: u64,
) -> Result<Array2<f64>, CliError> {
    let (n, d) = mu.dim();
    let x0 = Array2::from_shape_vec((n, d), target.sample(n, seed)).expect("n·d values");
    let identity = (0..d)
        .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let unit = GaussianMixture::new(vec![1.0], vec![vec![0.0; d]], vec![identity])?;
    let eps =
        Array2::from_shape_vec((n, d), unit.sample(n, seed.wrapping_add(1))).expect("n·d values");
    Ok(mu + &((&x0 - mu) * schedule.alpha(t)) + eps * schedule.sigma(t))
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let schedule = MeanReverting::new(
        args.theta,
        args.theta_max.unwrap_or(args.theta),
        args.lambda,
    )
    .map_err(MrError::from)?;
    if !(args.t_min > 0.0 && args.t_min < 1.0) {
        return Err(CliError::Argument {
            name: "t-min",
            message: format!("{} must lie in (0, 1)", args.t_min),
        });
    }
    if args.samples < 2 || args.em_steps == 0 {
        return Err(CliError::Argument {
            name: "samples",
            message: "--samples must be >= 2 and --em-steps >= 1".into(),
        });
    }
    let prediction = match args.prediction.as_str() {
        "noise" => MrPrediction::Noise,
        "data" => MrPrediction::Data,
        "velocity" => MrPrediction::Velocity,
        other => {
            return Err(CliError::Argument {
                name: "prediction",
                message: format!("'{other}' (expected noise, data or velocity)"),
            });
        }
    };
    let steps: Vec<usize> = parse_list("steps", &args.steps)?;
    if steps.contains(&0) {
        return Err(CliError::Argument {
            name: "steps",
            message: "every step count must be at least 1".into(),
        });
    }
    let names: Vec<String> = args
        .samplers
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    for name in &names {
        if name != "em" && Mrs::from_name(name).is_none() {
            return Err(CliError::Argument {
                name: "samplers",
                message: format!(
                    "unknown sampler '{name}' (expected mrs-{{ode|sde}}-{{1|2}}[-{{data|noise}}] or em)"
                ),
            });
        }
    }
    let target = GaussianMixture::load(&args.target)?;
    let d = target.dim();
    let mu_values: Vec<f64> = parse_list("mu", &args.mu)?;
    let mu_row = match mu_values.len() {
        1 => vec![mu_values[0]; d],
        len if len == d => mu_values,
        len => {
            return Err(CliError::Argument {
                name: "mu",
                message: format!("{len} values for a target of dimension {d}"),
            });
        }
    };
    let n = args.samples;
    let mu = Array2::from_shape_fn((n, d), |(_, j)| mu_row[j]);
    let x1 = marginal(&target, &schedule, &mu, 1.0, args.seed)?;
    let exact = marginal(
        &target,
        &schedule,
        &mu,
        args.t_min,
        args.seed.wrapping_add(3),
    )?;
    let twin = marginal(
        &target,
        &schedule,
        &mu,
        args.t_min,
        args.seed.wrapping_add(5),
    )?;
    let sw2 = SlicedW2::new(exact.as_slice().expect("standard layout"), d, 128, 0x51ED);
    let distance = |x: &Array2<f64>| {
        sw2.distance(&x.iter().copied().collect::<Vec<f64>>())
            .unwrap_or(f64::NAN)
    };
    let floor = distance(&twin);
    let reference = pf_ode_solution(&target, &schedule, &x1, &mu, 1.0, args.t_min, 1e-10)?;
    let reference_sw2 = distance(&reference);
    let model = MixtureMrModel::new(&target, schedule, prediction);
    println!(
        "mr-analytic: target {} (d = {d}), μ = {mu_row:?}, θ ∈ [{}, {}], λ = {}, t ∈ [{}, 1], n = {n}, {:?} prediction",
        args.target,
        schedule.theta_min(),
        schedule.theta_max(),
        args.lambda,
        args.t_min,
        prediction
    );
    println!(
        "error: RMS ‖x − x*‖ to the exact PF-ODE solution (ODE samplers); sw2 to exact p_t_min samples: noise floor {floor:.3e}, exact PF-ODE endpoint from the same start {reference_sw2:.3e}"
    );
    println!("sampler                 steps     nfe        error          sw2");
    let mut rows = Vec::new();
    for name in &names {
        let runs: Vec<usize> = if name == "em" {
            vec![args.em_steps]
        } else {
            steps.clone()
        };
        for &k in &runs {
            let seed = args.seed.wrapping_add(2);
            let (x, nfe, deterministic) = if name == "em" {
                let times: Vec<f64> = (0..=k)
                    .map(|i| 1.0 - (1.0 - args.t_min) * i as f64 / k as f64)
                    .collect();
                let x =
                    reverse_sde_euler_maruyama(&model, &schedule, x1.clone(), &mu, &times, seed)?;
                (x, k, false)
            } else {
                let mrs = Mrs::from_name(name).expect("checked above");
                let times = log_snr_times(&schedule, k, 1.0, args.t_min)?;
                let (x, nfe) = mrs.sample(&model, &schedule, x1.clone(), &mu, &times, seed)?;
                (x, nfe, mrs.kind() == MrsKind::Ode)
            };
            let error = deterministic
                .then(|| ((&x - &reference).iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt());
            let sw = distance(&x);
            println!(
                "{name:<22} {k:>6} {nfe:>7} {:>12} {sw:>12.3e}",
                error.map_or("-".to_string(), |e| format!("{e:.3e}"))
            );
            rows.push(serde_json::json!({
                "sampler": name, "steps": k, "nfe": nfe, "error": error, "sw2": sw,
            }));
        }
    }
    if let Some(path) = &args.out {
        let json = serde_json::json!({
            "target": args.target, "mu": mu_row, "theta_min": schedule.theta_min(),
            "theta_max": schedule.theta_max(), "lambda": args.lambda, "t_min": args.t_min,
            "samples": n, "seed": args.seed, "prediction": args.prediction,
            "sw2_noise_floor": floor, "sw2_exact_ode": reference_sw2, "rows": rows,
        });
        let text = serde_json::to_string_pretty(&json).expect("JSON values serialise");
        std::fs::write(path, text + "\n").map_err(|e| CliError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}
