//! Denoising MCMC (Kim & Ye 2022): Langevin–Gibbs chains on the product space of data and noise
//! level, each chain state then denoised by any σ-grid sampler from its own σ.

use ndarray::{Array2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use scoreflow_noise_schedules::SigmaGrid;

use crate::brownian::rng::{PerSampleNormals, stream};
use crate::denoiser::{CountingDenoiser, Denoiser};
use crate::error::{DenoiseError, SolveError};
use crate::samplers::{GaussianNoise, SampleContext, Sampler};

/// Stream of the chains' Langevin noise, distinct from the samplers' streams.
const LANGEVIN_STREAM: u64 = 0x444C_475F_584E;
/// Stream of the chains' accept/reject and Gibbs uniforms.
const UNIFORM_STREAM: u64 = 0x444C_475F_5355;

/// The log-density ln p_σ(x) of the noised marginal x_σ = x₀ + σε, one value per row, normalised
/// in x for every σ (the σ-move compares it across noise levels). Kim & Ye estimate the
/// conditional p(σ | x) with a noise-level classifier; an analytic target has it exactly.
pub trait NoisedLogDensity {
    /// ln p_σ(xᵢ) for each row xᵢ.
    ///
    /// # Errors
    /// The model's own failure.
    fn log_density(&self, x: &Array2<f64>, sigma: f64) -> Result<Vec<f64>, DenoiseError>;
}

/// Which chain state of a window becomes an output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The state after the window's last sweep (a draw of the stationary law).
    Last,
    /// The state of lowest σ within the window (Kim & Ye's choice: the cheapest to denoise).
    LowestSigma,
}

/// Options of [`dlg_sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct DlgOptions {
    /// The chains' noise levels σ₁ > … > σ_L, all > 0, with a uniform prior over them
    /// ([`chain_levels`]).
    pub levels: Vec<f64>,
    /// θ > 0, the Langevin step size (Kim & Ye's η).
    pub theta: f64,
    /// Metropolis-adjust the Langevin move (MALA): the joint law is then exactly stationary;
    /// without it (Kim & Ye's choice) it is stationary up to O(θ). Costs a second model call.
    pub metropolis: bool,
    /// Sweeps discarded before the first output.
    pub burn_in: usize,
    /// Sweeps per output (Kim & Ye's n_skip): outputs of one chain are this many sweeps apart.
    pub sweeps_per_sample: usize,
    /// Which state of each window is output.
    pub selection: Selection,
}

/// The chains' output.
#[derive(Clone, Debug)]
pub struct DlgOutput {
    /// Chain states, row c·M + k the k-th output of chain c.
    pub x: Array2<f64>,
    /// σ of each row.
    pub sigmas: Vec<f64>,
    /// Index into the levels of each row.
    pub levels: Vec<usize>,
    /// Model evaluations per chain (burn-in included).
    pub nfe_per_chain: usize,
    /// Accepted fraction of Langevin proposals (1 without Metropolis adjustment).
    pub acceptance: f64,
}

/// L levels geometrically spaced from σ_skip down to σ_min, the grid range of the sampler that
/// denoises the chain states.
///
/// # Errors
/// σ_skip outside (σ_min, σ_max] ([`SolveError::InvalidOption`] `sigma_skip`), or fewer than 2
/// levels.
pub fn chain_levels(
    sigma_skip: f64,
    sigma_min: f64,
    sigma_max: f64,
    count: usize,
) -> Result<Vec<f64>, SolveError> {
    if !(sigma_skip.is_finite() && sigma_skip > sigma_min && sigma_skip <= sigma_max) {
        return Err(SolveError::InvalidOption {
            name: "sigma_skip",
            value: sigma_skip,
            reason: "must lie in the sampler's grid range (sigma_min, sigma_max]",
        });
    }
    if count < 2 {
        return Err(SolveError::InvalidOption {
            name: "levels",
            value: count as f64,
            reason: "the chains need at least 2 noise levels",
        });
    }
    let ratio = (sigma_min / sigma_skip).ln() / (count - 1) as f64;
    Ok((0..count)
        .map(|j| {
            if j + 1 == count {
                sigma_min
            } else {
                sigma_skip * (ratio * j as f64).exp()
            }
        })
        .collect())
}

/// Denoising Langevin Gibbs (Kim & Ye 2022, "Denoising MCMC for Accelerating Diffusion-Based
/// Generative Models", §3.2, Algorithm 1), the MCMC half of DMCMC. The chains target the joint
/// law over data and noise level
///
/// π(x, σⱼ) = π(σⱼ)·p_σⱼ(x),  π(σⱼ) = 1/L on the levels σ₁ > … > σ_L,
///
/// whose marginals are π(σ) itself and the mixture Σⱼ p_σⱼ/L. A sweep alternates
///
/// 1. a Langevin move in x at the chain's σ:
///    x' = x + (θ/2)·s(x; σ) + √θ·z,  s = (D(x; σ) − x)/σ²  (one model call),
///    accepted with the Metropolis–Hastings ratio of MALA (Roberts & Tweedie 1996) when
///    [`DlgOptions::metropolis`] is set (a second model call, at x');
/// 2. a Gibbs move in σ: σ ~ π(σⱼ | x) ∝ π(σⱼ)·p_σⱼ(x) over the L levels, exact through
///    [`NoisedLogDensity`] (Kim & Ye use a noise-level classifier's prediction instead).
///
/// Chains start at (x0 row c, `start_level[c]`), run [`DlgOptions::burn_in`] sweeps, then output
/// one state per window of [`DlgOptions::sweeps_per_sample`] sweeps, `samples_per_chain` times.
/// Chain c draws its noise and uniforms from `seeds[c]` only, so it does not depend on the
/// batch it is in. The model is called once per occupied level per sweep on the rows at that
/// level; per chain that is one call per sweep (two with Metropolis adjustment).
///
/// # Errors
/// θ ≤ 0, no or non-positive levels, a start level out of range, a zero window, seed count
/// mismatch, and the model's own failures.
pub fn dlg_sample(
    model: &dyn Denoiser<Array2<f64>>,
    density: &dyn NoisedLogDensity,
    x0: Array2<f64>,
    start_level: &[usize],
    seeds: &[u64],
    samples_per_chain: usize,
    options: &DlgOptions,
) -> Result<DlgOutput, SolveError> {
    validate(options, start_level, x0.nrows())?;
    let chains = x0.nrows();
    let d = x0.ncols();
    let mut normals = PerSampleNormals::new(&x0, seeds, LANGEVIN_STREAM)?;
    let mut uniforms: Vec<ChaCha8Rng> = seeds.iter().map(|&s| stream(s, UNIFORM_STREAM)).collect();
    let mut x = x0;
    let mut level = start_level.to_vec();
    let mut out = Array2::zeros((chains * samples_per_chain, d));
    let mut out_levels = vec![0; chains * samples_per_chain];
    let (mut proposals, mut accepted) = (0usize, 0usize);
    let mut sweeps = 0;
    let mut best: Vec<usize> = vec![0; chains];
    let total = options.burn_in + samples_per_chain * options.sweeps_per_sample;
    for sweep in 0..total {
        let (p, a) = langevin_move(
            model,
            density,
            &mut x,
            &level,
            options,
            &mut normals,
            &mut uniforms,
        )?;
        proposals += p;
        accepted += a;
        gibbs_move(density, &x, &mut level, &options.levels, &mut uniforms)?;
        sweeps += 1;
        if sweep < options.burn_in {
            continue;
        }
        let in_window = (sweep - options.burn_in) % options.sweeps_per_sample;
        for c in 0..chains {
            // Levels decrease with the index: the largest index is the lowest σ.
            let take = match options.selection {
                Selection::Last => in_window + 1 == options.sweeps_per_sample,
                Selection::LowestSigma => in_window == 0 || level[c] >= best[c],
            };
            if take {
                best[c] = level[c];
                let k = (sweep - options.burn_in) / options.sweeps_per_sample;
                let row = c * samples_per_chain + k;
                out.row_mut(row).assign(&x.row(c));
                out_levels[row] = level[c];
            }
        }
    }
    let calls_per_sweep = if options.metropolis { 2 } else { 1 };
    Ok(DlgOutput {
        sigmas: out_levels.iter().map(|&j| options.levels[j]).collect(),
        x: out,
        levels: out_levels,
        nfe_per_chain: sweeps * calls_per_sweep,
        acceptance: if proposals == 0 {
            1.0
        } else {
            accepted as f64 / proposals as f64
        },
    })
}

fn validate(options: &DlgOptions, start_level: &[usize], chains: usize) -> Result<(), SolveError> {
    if !(options.theta.is_finite() && options.theta > 0.0) {
        return Err(SolveError::InvalidOption {
            name: "theta",
            value: options.theta,
            reason: "the Langevin step size must be finite and > 0",
        });
    }
    if options.levels.is_empty() || options.levels.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(SolveError::InvalidOption {
            name: "levels",
            value: options.levels.len() as f64,
            reason: "at least one level, all finite and > 0",
        });
    }
    if options.sweeps_per_sample == 0 {
        return Err(SolveError::InvalidOption {
            name: "sweeps_per_sample",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    if start_level.len() != chains || start_level.iter().any(|&j| j >= options.levels.len()) {
        return Err(SolveError::InvalidOption {
            name: "start_level",
            value: start_level.len() as f64,
            reason: "one level index per chain, each below the number of levels",
        });
    }
    Ok(())
}

/// Rows of each occupied level, in row order.
fn rows_by_level(level: &[usize], levels: usize) -> Vec<Vec<usize>> {
    let mut rows = vec![Vec::new(); levels];
    for (c, &j) in level.iter().enumerate() {
        rows[j].push(c);
    }
    rows
}

/// The Langevin (or MALA) move of every chain at its own level; returns (proposals, accepted).
fn langevin_move(
    model: &dyn Denoiser<Array2<f64>>,
    density: &dyn NoisedLogDensity,
    x: &mut Array2<f64>,
    level: &[usize],
    options: &DlgOptions,
    normals: &mut PerSampleNormals<Array2<f64>>,
    uniforms: &mut [ChaCha8Rng],
) -> Result<(usize, usize), SolveError> {
    let theta = options.theta;
    let z = normals.draw(theta.sqrt());
    let (mut proposals, mut accepted) = (0, 0);
    for (j, rows) in rows_by_level(level, options.levels.len())
        .into_iter()
        .enumerate()
    {
        if rows.is_empty() {
            continue;
        }
        let sigma = options.levels[j];
        let inv = 1.0 / (sigma * sigma);
        let xs = x.select(Axis(0), &rows);
        let score = (model.denoise(&xs, sigma)? - &xs) * inv;
        let prop = &xs + &(&score * (0.5 * theta)) + &z.select(Axis(0), &rows);
        if !options.metropolis {
            for (r, &c) in rows.iter().enumerate() {
                x.row_mut(c).assign(&prop.row(r));
            }
            continue;
        }
        let score_prop = (model.denoise(&prop, sigma)? - &prop) * inv;
        let lp_x = density.log_density(&xs, sigma)?;
        let lp_y = density.log_density(&prop, sigma)?;
        for (r, &c) in rows.iter().enumerate() {
            // ln q(a | b) = −|a − b − (θ/2)s(b)|²/(2θ) up to a constant.
            let log_q = |a: ndarray::ArrayView1<f64>,
                         b: ndarray::ArrayView1<f64>,
                         sb: ndarray::ArrayView1<f64>| {
                let mut sq = 0.0;
                for ((ai, bi), si) in a.iter().zip(b.iter()).zip(sb.iter()) {
                    let e = ai - bi - 0.5 * theta * si;
                    sq += e * e;
                }
                -sq / (2.0 * theta)
            };
            let log_alpha = lp_y[r] - lp_x[r] + log_q(xs.row(r), prop.row(r), score_prop.row(r))
                - log_q(prop.row(r), xs.row(r), score.row(r));
            let u: f64 = uniforms[c].random();
            proposals += 1;
            if u.ln() < log_alpha {
                accepted += 1;
                x.row_mut(c).assign(&prop.row(r));
            }
        }
    }
    Ok((proposals, accepted))
}

/// The Gibbs move σ ~ π(σⱼ | x) ∝ p_σⱼ(x) (uniform prior) of every chain.
fn gibbs_move(
    density: &dyn NoisedLogDensity,
    x: &Array2<f64>,
    level: &mut [usize],
    levels: &[f64],
    uniforms: &mut [ChaCha8Rng],
) -> Result<(), SolveError> {
    let log_p = levels
        .iter()
        .map(|&sigma| density.log_density(x, sigma))
        .collect::<Result<Vec<_>, _>>()?;
    for (c, lv) in level.iter_mut().enumerate() {
        let max = log_p
            .iter()
            .map(|lp| lp[c])
            .fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = log_p.iter().map(|lp| (lp[c] - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        let u: f64 = uniforms[c].random::<f64>() * total;
        let mut acc = 0.0;
        *lv = levels.len() - 1;
        for (j, w) in weights.iter().enumerate() {
            acc += w;
            if u < acc {
                *lv = j;
                break;
            }
        }
    }
    Ok(())
}

/// The second half of DMCMC: every row of `x`, a state at noise level `sigmas[i]`, integrated to
/// σ = 0 by `sampler` on its own Karras grid (Karras et al. 2022, eq. (5)) of `steps` steps from
/// σᵢ down to σ_min, then 0 (Kim & Ye run a fresh N-step integrator from each chain state's σ).
/// A row already at σ_min takes the single step to 0. Rows of one σ run as one batch, each with
/// its own seed (`seeds[i]`) for the sampler's Gaussian noise.
///
/// Returns the samples and the mean model evaluations per row.
///
/// # Errors
/// Invalid grids, seed count mismatch, the sampler's and the model's errors.
#[allow(clippy::too_many_arguments)]
pub fn denoise_states(
    sampler: &dyn Sampler<Array2<f64>>,
    model: &dyn Denoiser<Array2<f64>>,
    x: &Array2<f64>,
    sigmas: &[f64],
    sigma_min: f64,
    steps: usize,
    rho: f64,
    seeds: &[u64],
) -> Result<(Array2<f64>, f64), SolveError> {
    if seeds.len() != x.nrows() || sigmas.len() != x.nrows() {
        return Err(SolveError::SeedCount {
            seeds: seeds.len().min(sigmas.len()),
            samples: x.nrows(),
        });
    }
    let mut distinct: Vec<f64> = sigmas.to_vec();
    distinct.sort_by(|a, b| b.total_cmp(a));
    distinct.dedup();
    let mut out = Array2::zeros(x.raw_dim());
    let mut calls = 0.0;
    for sigma in distinct {
        let rows: Vec<usize> = (0..x.nrows()).filter(|&i| sigmas[i] == sigma).collect();
        let grid = if sigma > sigma_min {
            SigmaGrid::karras(steps, sigma_min, sigma, rho)
        } else {
            SigmaGrid::new(vec![sigma, 0.0])
        }
        .map_err(|e| SolveError::InvalidInterval(e.to_string()))?;
        let xs = x.select(Axis(0), &rows);
        let row_seeds: Vec<u64> = rows.iter().map(|&i| seeds[i]).collect();
        let mut noise = GaussianNoise::new(&xs, &row_seeds)?;
        let counting = CountingDenoiser::new(model);
        let mut ctx = SampleContext {
            noise: Some(&mut noise),
            callback: None,
        };
        let y = sampler.sample(&counting, xs, &grid, &mut ctx)?;
        calls += counting.count() as f64 * rows.len() as f64;
        for (r, &i) in rows.iter().enumerate() {
            out.row_mut(i).assign(&y.row(r));
        }
    }
    Ok((out, calls / x.nrows().max(1) as f64))
}
