//! `scoreflow bench-oracle`: time one call of an analytic target's batched closed forms.
//!
//! Times the oracle itself, without a sampler around it: per call, the n-point
//! [`GaussianMixture::denoise_batch`] D(x; σ), [`GaussianMixture::condot_velocity_batch`]
//! u_t(x), [`GaussianMixture::score_batch`] or [`GaussianMixture::score_divergence_batch`], at
//! each σ of `--sigmas` in turn (t = 1/(1 + σ) for the velocity, the CondOT time of the same
//! noise-to-signal ratio). One repeat is one pass over the σ list; the report is the median
//! over repeats of the wall time per call, so that a burst of load from other processes on a
//! shared machine moves single repeats, not the result. scripts/peers/bench_oracle.py runs the
//! same protocol on a torch implementation, interleaved with this command.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_score_matching::analytic::GaussianMixture;

use crate::error::CliError;
use crate::npy::{read_matrix, write_matrix};

/// Arguments of `bench-oracle`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A mixture JSON file ({"weights", "means", "covs"}) or a built-in name (ring8, grid25, gauss16d).
    #[arg(long)]
    target: String,
    /// Which closed form: denoise, velocity, score or divergence (of the score).
    #[arg(long, default_value = "denoise")]
    quantity: String,
    /// Points per call (ignored with --points).
    #[arg(long, default_value_t = 8192)]
    n: usize,
    /// (n, d) float64 points to evaluate at; default: n exact samples of the target plus
    /// N(0, I) noise, seeded with --seed.
    #[arg(long)]
    points: Option<PathBuf>,
    /// Seed of the default points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Comma-separated noise levels σ, one call each per repeat (velocity: t = 1/(1 + σ)).
    #[arg(long, default_value = "80,10,1,0.1,0.01")]
    sigmas: String,
    /// Timed repeats (passes over --sigmas); the median is reported.
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// Untimed passes first (page faults, caches, the thread pool's start).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Threads of the batched methods (GaussianMixture::with_threads); 1 is single-threaded.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Also write the quantity at the first σ for the points, (n, d) or (n, 1) float64, so
    /// that another implementation can be checked against it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the target as mixture JSON (for other implementations to read).
    #[arg(long)]
    write_json: Option<PathBuf>,
}

/// The closed forms that can be timed.
#[derive(Clone, Copy, Debug)]
enum Quantity {
    Denoise,
    Velocity,
    Score,
    Divergence,
}

impl Quantity {
    fn parse(s: &str) -> Result<Self, CliError> {
        match s {
            "denoise" => Ok(Self::Denoise),
            "velocity" => Ok(Self::Velocity),
            "score" => Ok(Self::Score),
            "divergence" => Ok(Self::Divergence),
            _ => Err(CliError::Argument {
                name: "quantity",
                message: format!("{s:?} is not one of denoise, velocity, score, divergence"),
            }),
        }
    }

    /// Output entries per point.
    fn width(self, dim: usize) -> usize {
        match self {
            Self::Divergence => 1,
            _ => dim,
        }
    }

    fn eval(self, target: &GaussianMixture, xs: &[f64], sigma: f64, out: &mut [f64]) {
        match self {
            Self::Denoise => target.denoise_batch(xs, sigma, out),
            Self::Velocity => target.condot_velocity_batch(xs, 1.0 / (1.0 + sigma), out),
            Self::Score => target.score_batch(xs, sigma, out),
            Self::Divergence => target.score_divergence_batch(xs, sigma, out),
        }
    }
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let quantity = Quantity::parse(&args.quantity)?;
    let sigmas = parse_sigmas(&args.sigmas)?;
    if args.repeats == 0 {
        return Err(CliError::Argument {
            name: "repeats",
            message: "must be at least 1".into(),
        });
    }
    let target = GaussianMixture::load(&args.target)?.with_threads(args.threads)?;
    if let Some(path) = &args.write_json {
        std::fs::write(path, target.to_json_string()).map_err(|e| CliError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
    }
    let d = target.dim();
    let points = match &args.points {
        Some(path) => read_matrix(path, d)?,
        None => default_points(&target, args.n, args.seed)?,
    };
    let xs = points.as_slice().expect("standard layout");
    let n = points.nrows();
    let width = quantity.width(d);
    let mut out = vec![0.0; n * width];

    if let Some(path) = &args.out {
        quantity.eval(&target, xs, sigmas[0], &mut out);
        let m = Array2::from_shape_vec((n, width), out.clone()).expect("n × width");
        write_matrix(path, &m)?;
    }
    for _ in 0..args.warmup {
        for &sigma in &sigmas {
            quantity.eval(&target, xs, sigma, &mut out);
        }
    }
    let mut ms_per_call = Vec::with_capacity(args.repeats);
    for _ in 0..args.repeats {
        let start = Instant::now();
        for &sigma in &sigmas {
            quantity.eval(&target, xs, sigma, &mut out);
        }
        ms_per_call.push(1e3 * start.elapsed().as_secs_f64() / sigmas.len() as f64);
    }
    std::hint::black_box(&out);
    println!(
        "{}",
        serde_json::json!({
            "impl": "scoreflow",
            "target": args.target,
            "quantity": args.quantity,
            "dim": d,
            "components": target.n_components(),
            "n": n,
            "threads": target.threads(),
            "sigmas": sigmas,
            "ms_per_call_median": median(&ms_per_call),
            "ms_per_call": ms_per_call,
        })
    );
    Ok(())
}

fn parse_sigmas(s: &str) -> Result<Vec<f64>, CliError> {
    let sigmas = s
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Argument {
            name: "sigmas",
            message: e.to_string(),
        })?;
    if sigmas.is_empty() || sigmas.iter().any(|s| !(s.is_finite() && *s >= 0.0)) {
        return Err(CliError::Argument {
            name: "sigmas",
            message: format!("{s:?} must be a list of finite σ ≥ 0"),
        });
    }
    Ok(sigmas)
}

/// n exact samples of the target plus N(0, I) noise: points at moderate noise, where every
/// component has a non-negligible responsibility somewhere in the batch.
fn default_points(target: &GaussianMixture, n: usize, seed: u64) -> Result<Array2<f64>, CliError> {
    if n == 0 {
        return Err(CliError::Argument {
            name: "n",
            message: "must be at least 1".into(),
        });
    }
    let mut xs = target.sample(n, seed);
    let mut rng = ChaCha20Rng::seed_from_u64(seed.wrapping_add(1));
    for v in xs.iter_mut() {
        let e: f64 = StandardNormal.sample(&mut rng);
        *v += e;
    }
    Ok(Array2::from_shape_vec((n, target.dim()), xs).expect("n × d"))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        0.5 * (s[m - 1] + s[m])
    }
}
