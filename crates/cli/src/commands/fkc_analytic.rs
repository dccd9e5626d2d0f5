//! `scoreflow fkc-analytic`: Feynman–Kac corrector sampling of annealed, product and guided
//! analytic targets, scored against exact (or quadrature) reference samples.

use std::path::PathBuf;

use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::GaussianNoise;
use scoreflow_ode_sde_solvers::smc::{
    Expert, FkcNoise, FkcOptions, annealed, fkc_sample, guided, product, start_scale,
};
use scoreflow_score_matching::analytic::{
    GaussianMixture, MixtureDenoiser, geometric_grid_samples,
};
use scoreflow_train::metrics::SlicedW2;

use super::sample_analytic::check_sigmas;
use crate::error::CliError;
use crate::npy::write_matrix;

/// Arguments of `fkc-analytic`.
#[derive(clap::Args, Debug)]
#[command(allow_negative_numbers = true)]
pub struct Args {
    /// product (p₁·p₂), anneal (p^β) or cfg (p_c^β·p_u^(1−β)).
    #[arg(long)]
    mode: String,
    /// The (first / conditional) mixture: a JSON file or a built-in name.
    #[arg(long)]
    target: String,
    /// The second factor (product) or the unconditional model (cfg).
    #[arg(long)]
    target2: Option<String>,
    /// The annealing exponent β (anneal) or guidance weight (cfg); > 0.
    #[arg(long, default_value_t = 1.0)]
    beta: f64,
    /// Steps of the Karras grid.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// σ_max of the grid.
    #[arg(long, default_value_t = 80.0)]
    sigma_max: f64,
    /// σ_min of the grid (a final σ = 0 follows).
    #[arg(long, default_value_t = 0.002)]
    sigma_min: f64,
    /// ρ of the Karras grid.
    #[arg(long, default_value_t = 7.0)]
    rho: f64,
    /// Particles (a whole number of groups).
    #[arg(long, default_value_t = 4096)]
    n: usize,
    /// Particles per resampling group.
    #[arg(long, default_value_t = 64)]
    group_size: usize,
    /// Resample a group when ESS/K falls below this, in (0, 1].
    #[arg(long, default_value_t = 0.5)]
    ess_threshold: f64,
    /// Noise multiplier η of the SDE (1: reverse SDE).
    #[arg(long, default_value_t = 1.0)]
    eta: f64,
    /// target (divergence-free weights) or tempered (noise/√B, exact traces).
    #[arg(long, default_value = "target")]
    noise: String,
    /// The naive sampler: the same SDE without weights or resampling.
    #[arg(long)]
    naive: bool,
    /// Exact (or quadrature) samples whose SW₂ to the reference is averaged into the floor: the
    /// floor is an expectation, and one exact-vs-exact distance scatters by ±15–30% (seed to
    /// seed), as much as the sampler's own distance.
    #[arg(long, default_value_t = 8)]
    floor_replicates: usize,
    /// Seed of the particles, noise, resampling and references.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output: (n, d) float64 samples.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    check_sigmas(args.sigma_min, args.sigma_max, args.rho)?;
    if args.floor_replicates == 0 {
        return Err(CliError::Argument {
            name: "floor_replicates",
            message: "the floor needs at least one exact sample".into(),
        });
    }
    let noise_kind = match args.noise.as_str() {
        "target" => FkcNoise::Target,
        "tempered" => FkcNoise::Tempered,
        other => {
            return Err(CliError::Argument {
                name: "noise",
                message: format!("'{other}' (expected target or tempered)"),
            });
        }
    };
    let a = GaussianMixture::load(&args.target)?;
    let second = |mode: &str| -> Result<GaussianMixture, CliError> {
        let spec = args.target2.as_deref().ok_or_else(|| CliError::Argument {
            name: "target2",
            message: format!("--mode {mode} needs a second mixture"),
        })?;
        let b = GaussianMixture::load(spec)?;
        if b.dim() != a.dim() {
            return Err(CliError::Argument {
                name: "target2",
                message: format!("dimension {} differs from --target's {}", b.dim(), a.dim()),
            });
        }
        Ok(b)
    };
    let b = match args.mode.as_str() {
        "product" | "cfg" => Some(second(&args.mode)?),
        "anneal" => None,
        other => {
            return Err(CliError::Argument {
                name: "mode",
                message: format!("'{other}' (expected product, anneal or cfg)"),
            });
        }
    };
    let da = MixtureDenoiser::new(&a);
    let db = b.as_ref().map(MixtureDenoiser::new);
    let ma = &da as &dyn Denoiser<Array2<f64>>;
    let mut experts: Vec<Expert<'_, Array2<f64>>> = match (args.mode.as_str(), &db) {
        ("anneal", _) => annealed(args.beta, ma)?,
        ("product", Some(db)) => product(ma, db),
        (_, Some(db)) => guided(args.beta, ma, db)?,
        _ => unreachable!("the mode was checked above"),
    };
    experts[0].trace = Some(&da);
    if let (Some(e), Some(db)) = (experts.get_mut(1), &db) {
        e.trace = Some(db);
    }
    let factors: Vec<(f64, &GaussianMixture)> = experts
        .iter()
        .zip(std::iter::once(&a).chain(b.as_ref()))
        .map(|(e, m)| (e.beta, m))
        .collect();

    let d = a.dim();
    let grid = SigmaGrid::karras(args.steps, args.sigma_min, args.sigma_max, args.rho)?;
    let scale = args.sigma_max * start_scale(&experts);
    let start = GaussianMixture::new(
        vec![1.0],
        vec![vec![0.0; d]],
        vec![isotropic(d, scale * scale)],
    )?;
    let x0 = Array2::from_shape_vec((args.n, d), start.sample(args.n, args.seed))
        .expect("n × d samples");
    // The start N(0, σ_max²/B) is corrected exactly: ln w₀ = Σβᵢ ln qᵢ,σ_max(x) − ln N(x).
    let log_w0: Vec<f64> = x0
        .rows()
        .into_iter()
        .map(|row| {
            let x = row.to_vec();
            factors
                .iter()
                .map(|(beta, m)| beta * m.log_prob(&x, args.sigma_max))
                .sum::<f64>()
                - start.log_prob(&x, 0.0)
        })
        .collect();
    let mut noise = GaussianNoise::new(&x0, &sample_seeds(args.seed, args.n))?;
    let options = FkcOptions {
        eta: args.eta,
        ess_threshold: args.ess_threshold,
        group_size: args.group_size,
        seed: args.seed,
        correct: !args.naive,
        final_resample: true,
        noise: noise_kind,
    };
    let start_time = std::time::Instant::now();
    let out = fkc_sample(&experts, x0, &grid, &mut noise, Some(&log_w0), &options)?;
    let seconds = start_time.elapsed().as_secs_f64();
    if out.x.iter().any(|v| !v.is_finite()) {
        return Err(CliError::Argument {
            name: "mode",
            message: "the sampler produced non-finite samples".into(),
        });
    }
    if let Some(path) = &args.out {
        write_matrix(path, &out.x)?;
    }
    let reference = reference_samples(
        &args.mode,
        &factors,
        args.beta,
        args.n,
        args.floor_replicates,
        args.seed,
    )?;
    let (sw2, floor, floor_se) = match &reference {
        Some((r1, replicates)) => {
            let metric = SlicedW2::new(r1, d, 256, args.seed.wrapping_add(2));
            let flat: Vec<f64> = out.x.iter().copied().collect();
            let floors: Vec<f64> = replicates
                .iter()
                .map(|r| metric.distance(r).unwrap_or(f64::NAN))
                .collect();
            let f = floors.len() as f64;
            let mean = floors.iter().sum::<f64>() / f;
            let se = if floors.len() > 1 {
                (floors.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (f - 1.0) / f).sqrt()
            } else {
                f64::NAN
            };
            (metric.distance(&flat).unwrap_or(f64::NAN), mean, se)
        }
        None => (f64::NAN, f64::NAN, f64::NAN),
    };
    println!(
        "{}",
        serde_json::json!({
            "mode": args.mode,
            "naive": args.naive,
            "noise": args.noise,
            "steps": args.steps,
            "nfe": out.nfe,
            "resamples": out.resamples,
            "min_ess_fraction": out.min_ess_fraction,
            "sw2": sw2,
            "floor": floor,
            "floor_se": floor_se,
            "floor_replicates": args.floor_replicates,
            "ratio": sw2 / floor,
            "n": args.n,
            "dim": d,
            "seconds": seconds,
        })
    );
    Ok(())
}

fn isotropic(d: usize, v: f64) -> Vec<Vec<f64>> {
    (0..d)
        .map(|i| (0..d).map(|j| if i == j { v } else { 0.0 }).collect())
        .collect()
}

/// The reference sample and `replicates` further independent samples of the target (all n
/// rows): exact for products and annealed Gaussians, by quadrature for annealed or guided 2-D
/// mixtures; `None` otherwise. The reference draws from the stream seed + 2⁴⁸ and replicate j
/// from seed + (j + 2)·2⁴⁸, so that no sample of one CLI seed reuses the stream of another's
/// (the particles use seed, the slicing directions seed + 2).
#[allow(clippy::type_complexity)]
fn reference_samples(
    mode: &str,
    factors: &[(f64, &GaussianMixture)],
    beta: f64,
    n: usize,
    replicates: usize,
    seed: u64,
) -> Result<Option<(Vec<f64>, Vec<Vec<f64>>)>, CliError> {
    let exact = match mode {
        "product" => Some(factors[0].1.product(factors[1].1)?),
        "anneal" if factors[0].1.n_components() == 1 => Some(factors[0].1.gaussian_power(beta)?),
        _ => None,
    };
    let stream = |j: u64| seed.wrapping_add(j << 48);
    if let Some(p) = exact {
        return Ok(Some((
            p.sample(n, stream(1)),
            (0..replicates as u64)
                .map(|j| p.sample(n, stream(j + 2)))
                .collect(),
        )));
    }
    if factors[0].1.dim() != 2 {
        return Ok(None);
    }
    // One grid, many draws: the draws of one call are independent.
    let all = geometric_grid_samples(factors, -12.0, 12.0, 1200, n * (replicates + 1), stream(1))?;
    let mut chunks = all.chunks_exact(2 * n).map(<[f64]>::to_vec);
    let r1 = chunks.next().expect("n rows for the reference");
    Ok(Some((r1, chunks.collect())))
}
