//! Feynman–Kac correctors: weighted, resampled reverse-SDE simulation of annealed, product and
//! classifier-free-guided targets built from several denoisers.

use scoreflow_noise_schedules::SigmaGrid;

use super::resampling::{GroupUniforms, effective_sample_size, log_sum_exp, systematic_resample};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::likelihood::DivergenceDenoiser;
use crate::samplers::NoiseSampler;
use crate::state::State;

/// One factor q_σ^β of a geometric product of experts: a denoiser D(x; σ) (score
/// sᵢ = (Dᵢ − x)/σ²) and its exponent βᵢ (nonzero; negative for the unconditional factor of
/// guidance).
pub struct Expert<'a, S> {
    /// The exponent βᵢ.
    pub beta: f64,
    /// The model.
    pub model: &'a dyn Denoiser<S>,
    /// The same model with its exact Jacobian trace, needed by [`FkcNoise::Tempered`] only.
    pub trace: Option<&'a dyn DivergenceDenoiser<S>>,
}

/// Which weighted SDE carries the particles (both are exact in continuous time; they differ
/// in how far the particles' own law is from ρ_σ, i.e. in the weights' variance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FkcNoise {
    /// λ = 1: the reverse SDE of ρ with the diffusion's own noise (Skreta et al.'s target-score
    /// SDE): the weights need only denoiser values. For B = Σβ > 1 its particles contract
    /// too fast (for a Gaussian, variance (C + u)/(2B − 1) in place of (C + u)/B).
    Target,
    /// λ = 1/B: noise tempered by 1/√B, which transports a Gaussian ρ exactly (weights
    /// constant), at the price of divergence terms ∇·sᵢ = (tr ∂Dᵢ/∂x − d)/σ² in the weights:
    /// every expert needs [`Expert::trace`] with an exact trace.
    Tempered,
}

/// Options of [`fkc_sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct FkcOptions {
    /// η ≥ 0, the noise multiplier of the simulated SDE: η = 1 is the reverse SDE, η = 0 the
    /// probability-flow ODE (the weights stay valid, but resampled copies never separate).
    /// η > 1 adds Langevin moves on ρ_σ within each step (drift × (1 + η²), noise × η): the
    /// particles stay closer to ρ_σ, so the weights vary less (η = 2 is best on the analytic
    /// products of docs/methods.md; larger η needs finer grids).
    pub eta: f64,
    /// Resample a group when its ESS/K falls below this fraction, in (0, 1].
    pub ess_threshold: f64,
    /// K, the particles of one group: rows gK..(g+1)K form group g, weighted and resampled only
    /// among themselves. The batch must hold a whole number of groups.
    pub group_size: usize,
    /// Base seed of the groups' resampling uniforms ([`GroupUniforms`]).
    pub seed: u64,
    /// `false` runs the same SDE without weights or resampling: the naive sampler that just
    /// combines the scores.
    pub correct: bool,
    /// Resample every group once more at the end, so the returned particles are equally
    /// weighted.
    pub final_resample: bool,
    /// The simulated SDE.
    pub noise: FkcNoise,
}

impl Default for FkcOptions {
    fn default() -> Self {
        Self {
            eta: 1.0,
            ess_threshold: 0.5,
            group_size: 64,
            seed: 0,
            correct: true,
            final_resample: true,
            noise: FkcNoise::Target,
        }
    }
}

/// What [`fkc_sample`] returns.
#[derive(Clone, Debug)]
pub struct FkcOutput<S> {
    /// The particles (x̂₀ when the grid ends in 0).
    pub x: S,
    /// Each particle's log-weight since its group last resampled (all 0 after a final
    /// resampling).
    pub log_weights: Vec<f64>,
    /// Per group, ln Ẑ = Σ over resampling events and the end of ln((1/K) Σᵢ wᵢ): the SMC
    /// estimate of ln(Z_end/Z_start), whose exponential is unbiased (Del Moral 2004).
    pub log_normalisers: Vec<f64>,
    /// Resampling events, all groups together (the final one included).
    pub resamples: usize,
    /// The smallest ESS/K any group reached before resampling.
    pub min_ess_fraction: f64,
    /// Model evaluations per particle (one per expert per positive grid point).
    pub nfe: usize,
}

/// The experts of temperature annealing, p ∝ q^β (β > 0).
///
/// # Errors
/// β not finite or ≤ 0 ([`SolveError::InvalidOption`] `beta`).
pub fn annealed<'a, S>(
    beta: f64,
    model: &'a dyn Denoiser<S>,
) -> Result<Vec<Expert<'a, S>>, SolveError> {
    if !(beta.is_finite() && beta > 0.0) {
        return Err(SolveError::InvalidOption {
            name: "beta",
            value: beta,
            reason: "the annealing exponent must be finite and > 0",
        });
    }
    Ok(vec![Expert {
        beta,
        model,
        trace: None,
    }])
}

/// The experts of the product p ∝ q¹·q².
pub fn product<'a, S>(a: &'a dyn Denoiser<S>, b: &'a dyn Denoiser<S>) -> Vec<Expert<'a, S>> {
    vec![
        Expert {
            beta: 1.0,
            model: a,
            trace: None,
        },
        Expert {
            beta: 1.0,
            model: b,
            trace: None,
        },
    ]
}

/// The experts of classifier-free guidance as a geometric mixture,
/// p ∝ q(x|c)^γ · q(x)^(1−γ) (γ > 0; γ = 1 is the conditional model alone).
///
/// # Errors
/// γ not finite or ≤ 0 ([`SolveError::InvalidOption`] `guidance`).
pub fn guided<'a, S>(
    gamma: f64,
    conditional: &'a dyn Denoiser<S>,
    unconditional: &'a dyn Denoiser<S>,
) -> Result<Vec<Expert<'a, S>>, SolveError> {
    if !(gamma.is_finite() && gamma > 0.0) {
        return Err(SolveError::InvalidOption {
            name: "guidance",
            value: gamma,
            reason: "the guidance weight must be finite and > 0",
        });
    }
    Ok(vec![
        Expert {
            beta: gamma,
            model: conditional,
            trace: None,
        },
        Expert {
            beta: 1.0 - gamma,
            model: unconditional,
            trace: None,
        },
    ])
}

/// B = Σᵢ βᵢ. At large σ every qᵢ,σ ≈ N(0, σ²I), so ρ_σ ≈ N(0, (σ²/B)·I): start the particles
/// at x = (σ_max/√B)·z ([`start_scale`]).
pub fn total_beta<S>(experts: &[Expert<'_, S>]) -> f64 {
    experts.iter().map(|e| e.beta).sum()
}

/// 1/√B, the scale of the starting noise relative to σ_max (see [`total_beta`]).
pub fn start_scale<S>(experts: &[Expert<'_, S>]) -> f64 {
    1.0 / total_beta(experts).sqrt()
}

/// Feynman–Kac corrector sampling (Skreta et al. 2025, "Feynman-Kac Correctors in Diffusion:
/// Annealing, Guidance, and Product of Experts", Props. 3.1–3.3 and §4 (SMC)), in the α = 1
/// variables x_σ = x₀ + σε, for the geometric product of experts
///
/// ρ_σ(x) = Πᵢ qᵢ,σ(x)^βᵢ,  S = ∇ ln ρ_σ = Σᵢ βᵢ sᵢ,  sᵢ = (Dᵢ(x; σ) − x)/σ²,
///
/// with annealing ([`annealed`], one expert), products ([`product`], β = (1, 1)) and guidance
/// ([`guided`], β = (γ, 1 − γ)) as special cases.
///
/// **The weighted SDE.** Each qᵢ,σ solves the heat equation ∂_σ q = σΔq; in the time
/// τ = −σ and with c dτ = −σ dσ = −½ d(σ²) the particles follow
///
/// dx = λ(1 + η²)·S·c dτ + η·√(2λc) dW,
///
/// with λ = 1 ([`FkcNoise::Target`]: the reverse SDE of ρ for η = 1, its probability-flow ODE
/// for η = 0) or λ = 1/B ([`FkcNoise::Tempered`]). ρ_σ is not a heat-equation solution, and
/// the Feynman–Kac formula says what the particles miss: with d ln w = g dτ,
///
/// g = ∂_τ ln ρ + ∇·b + b·∇ ln ρ − (ν²/2)(Δ ln ρ + |∇ ln ρ|²)  (b the drift, ν² = 2λcη²),
///
/// E[w·φ(x_τ)] = ∫ρ_τ φ / Z_start. Substituting ∂_τ ln qᵢ = −c(∇·sᵢ + |sᵢ|²), the η terms
/// cancel and
///
/// d ln w = [(λ − 1)Σᵢ βᵢ∇·sᵢ + λ|Σᵢ βᵢ sᵢ|² − Σᵢ βᵢ|sᵢ|²]·c dτ.
///
/// For λ = 1 the divergences cancel too: β(β − 1)|s|² for annealing (Skreta et al.'s Prop. 3.2
/// in these variables), 2⟨s₁, s₂⟩ for the product (Prop. 3.3) and −γ(1 − γ)|s_c − s_u|² for
/// guidance, from denoiser values alone. For λ = 1/B annealing weighs by (1 − β)∇·s, which is
/// constant in x for a Gaussian: the tempered SDE then carries ρ exactly.
///
/// **Discretisation.** On a step σ → σ' (u = σ², u' = σ'²), with the denoisers frozen at
/// D̄ = Σᵢ βᵢDᵢ/B, the SDE is linear and is integrated exactly (an exponential integrator):
///
/// x' = D̄ + (u'/u)^κ (x − D̄) + √v·z,  κ = λ(1 + η²)B/2,
/// v = λη²u'(1 − (u'/u)^(2κ−1))/(2κ − 1)
///
/// (v = λη²u' ln(u/u') at 2κ = 1), which for B = 1, η = 1 is the DDPM posterior step and for
/// η = 0 the DDIM step. The weight integral ∫g c dτ uses the trapezoidal rule over
/// c dτ = (u − u')/2 with g from the denoiser calls the steps make anyway (no extra model
/// calls). A final step to σ = 0 moves x to D̄ and adds no weight: g grows like 1/σ² there,
/// while ρ_σ_min and ρ_0 differ by O(σ_min²).
///
/// **SMC.** Particles form groups of K ([`FkcOptions::group_size`]); at every grid point a group
/// whose ESS/K ([`effective_sample_size`]) is below the threshold is resampled
/// systematically ([`systematic_resample`]) with uniforms seeded by (seed, group)
/// ([`GroupUniforms`]) and its weights reset; the log-normaliser estimate accumulates
/// ln((1/K)Σw) at each event. Particle slots keep their own noise streams (`noise` is per
/// sample), so a group's result does not depend on the other groups in the batch.
///
/// `x` holds the starting particles at σ₀ = `sigmas[0]` (for the prior approximation,
/// (σ₀/√B)·z, [`start_scale`]); `initial_log_weights` corrects an inexact start when the
/// caller knows ln ρ_σ₀ − ln(start density). Weights and resampling need the particles on the
/// host: each grid point reads the batch and the denoisers' outputs back once.
///
/// # Errors
/// No experts, a tempered run with an expert lacking an exact trace
/// ([`SolveError::Unsupported`]), a zero or non-finite βᵢ, B = Σβᵢ ≤ 0, η < 0, an ESS threshold outside (0, 1],
/// a group size of 0 or not dividing the batch, initial weights of the wrong length, a grid not
/// starting above 0, a noise source that fails, and the models' own errors.
pub fn fkc_sample<S: State>(
    experts: &[Expert<'_, S>],
    x: S,
    sigmas: &SigmaGrid,
    noise: &mut dyn NoiseSampler<S>,
    initial_log_weights: Option<&[f64]>,
    options: &FkcOptions,
) -> Result<FkcOutput<S>, SolveError> {
    let b = validate(experts, options)?;
    let lambda = match options.noise {
        FkcNoise::Target => 1.0,
        FkcNoise::Tempered => {
            if experts.iter().any(|e| e.trace.is_none()) {
                return Err(SolveError::Unsupported {
                    solver: "fkc",
                    reason: "tempered noise needs every expert's exact Jacobian trace",
                });
            }
            1.0 / b
        }
    };
    let (n, m) = x.batch_layout();
    let k = options.group_size;
    if n % k != 0 {
        return Err(SolveError::InvalidOption {
            name: "group_size",
            value: k as f64,
            reason: "the batch must hold a whole number of groups",
        });
    }
    let groups = n / k;
    let s = sigmas.as_slice();
    if s[0] <= 0.0 {
        return Err(SolveError::InvalidInterval(
            "a Feynman–Kac corrector starts at σ₀ > 0".into(),
        ));
    }
    let mut log_w = match initial_log_weights {
        Some(w) if options.correct => {
            if w.len() != n {
                return Err(SolveError::InvalidOption {
                    name: "initial_log_weights",
                    value: w.len() as f64,
                    reason: "one log-weight per particle",
                });
            }
            w.to_vec()
        }
        _ => vec![0.0; n],
    };
    let mut uniforms: Vec<GroupUniforms> = (0..groups)
        .map(|g| GroupUniforms::new(options.seed, g as u64))
        .collect();
    let mut log_z = vec![0.0; groups];
    let mut resamples = 0;
    let mut min_ess = 1.0f64;
    let mut nfe = 0;
    let mut x = x;
    let mut g_prev: Option<Vec<f64>> = None;
    let steps = s.len() - 1;
    for i in 0..=steps {
        let sigma = s[i];
        if sigma == 0.0 {
            break;
        }
        let denoised = experts
            .iter()
            .map(|e| e.model.denoise(&x, sigma))
            .collect::<Result<Vec<S>, _>>()?;
        nfe += 1;
        let terms: Vec<(f64, &S)> = experts
            .iter()
            .zip(&denoised)
            .map(|(e, d)| (e.beta / b, d))
            .collect();
        let mut combined = x.zeros_like().lincomb(0.0, &terms);
        if options.correct {
            let xh = x.to_f64_vec();
            let dh: Vec<Vec<f64>> = denoised.iter().map(State::to_f64_vec).collect();
            let mut g = potential(experts, &xh, &dh, m, sigma, lambda);
            if lambda != 1.0 {
                for e in experts {
                    let trace = e
                        .trace
                        .expect("checked above")
                        .trace_jacobian(&x, sigma)?
                        .ok_or(SolveError::Unsupported {
                            solver: "fkc",
                            reason: "tempered noise needs every expert's exact Jacobian trace",
                        })?;
                    // (λ − 1)·βᵢ·∇·sᵢ with ∇·sᵢ = (tr ∂Dᵢ/∂x − d)/σ².
                    let coef = (lambda - 1.0) * e.beta / (sigma * sigma);
                    for (gi, t) in g.iter_mut().zip(trace) {
                        *gi += coef * (t - m as f64);
                    }
                }
            }
            if let Some(gp) = &g_prev {
                let c_dtau = 0.5 * (s[i - 1] * s[i - 1] - sigma * sigma);
                for ((lw, a), c) in log_w.iter_mut().zip(gp).zip(&g) {
                    *lw += 0.5 * (a + c) * c_dtau;
                }
            }
            let mut ancestors: Vec<usize> = (0..n).collect();
            let mut any = false;
            for (grp, u) in uniforms.iter_mut().enumerate() {
                let lw = &log_w[grp * k..(grp + 1) * k];
                let ess = effective_sample_size(lw) / k as f64;
                min_ess = min_ess.min(ess);
                if ess < options.ess_threshold {
                    log_z[grp] += log_sum_exp(lw) - (k as f64).ln();
                    for (j, a) in systematic_resample(lw, u.next_uniform())
                        .into_iter()
                        .enumerate()
                    {
                        ancestors[grp * k + j] = grp * k + a;
                    }
                    log_w[grp * k..(grp + 1) * k].fill(0.0);
                    resamples += 1;
                    any = true;
                }
            }
            let g = if any {
                x = x.with_host_data(&gather(&xh, m, &ancestors));
                combined = combined.with_host_data(&gather(&combined.to_f64_vec(), m, &ancestors));
                gather(&g, 1, &ancestors)
            } else {
                g
            };
            g_prev = Some(g);
        }
        if i == steps {
            break;
        }
        x = exponential_step(
            x,
            &combined,
            sigma,
            s[i + 1],
            lambda * b,
            options.eta,
            lambda,
            noise,
        )?;
    }
    if options.correct {
        for (grp, u) in uniforms.iter_mut().enumerate() {
            let lw = &log_w[grp * k..(grp + 1) * k];
            log_z[grp] += log_sum_exp(lw) - (k as f64).ln();
            if options.final_resample {
                let ancestors: Vec<usize> = systematic_resample(lw, u.next_uniform())
                    .into_iter()
                    .map(|a| grp * k + a)
                    .collect();
                resamples += 1;
                let xh = x.to_f64_vec();
                let mut moved = xh.clone();
                for (j, a) in ancestors.into_iter().enumerate() {
                    let dst = (grp * k + j) * m;
                    moved[dst..dst + m].copy_from_slice(&xh[a * m..(a + 1) * m]);
                }
                x = x.with_host_data(&moved);
                log_w[grp * k..(grp + 1) * k].fill(0.0);
            }
        }
    }
    Ok(FkcOutput {
        x,
        log_weights: log_w,
        log_normalisers: log_z,
        resamples,
        min_ess_fraction: min_ess,
        nfe: nfe * experts.len(),
    })
}

/// Checks the experts and options; returns B = Σβᵢ.
fn validate<S>(experts: &[Expert<'_, S>], options: &FkcOptions) -> Result<f64, SolveError> {
    if experts.is_empty() {
        return Err(SolveError::InvalidOption {
            name: "experts",
            value: 0.0,
            reason: "at least one expert is needed",
        });
    }
    for e in experts {
        if !(e.beta.is_finite() && e.beta != 0.0) {
            return Err(SolveError::InvalidOption {
                name: "beta",
                value: e.beta,
                reason: "every exponent must be finite and nonzero",
            });
        }
    }
    let b = total_beta(experts);
    if b.is_nan() || b <= 0.0 {
        return Err(SolveError::InvalidOption {
            name: "beta",
            value: b,
            reason: "the exponents must sum to > 0",
        });
    }
    if !(options.ess_threshold > 0.0 && options.ess_threshold <= 1.0) {
        return Err(SolveError::InvalidOption {
            name: "ess_threshold",
            value: options.ess_threshold,
            reason: "the ESS threshold is a fraction of the group in (0, 1]",
        });
    }
    if !(options.eta.is_finite() && options.eta >= 0.0) {
        return Err(SolveError::InvalidOption {
            name: "eta",
            value: options.eta,
            reason: "must be finite and >= 0",
        });
    }
    if options.group_size == 0 {
        return Err(SolveError::InvalidOption {
            name: "group_size",
            value: 0.0,
            reason: "a group holds at least one particle",
        });
    }
    Ok(b)
}

/// Per particle, λ|Σᵢ βᵢsᵢ|² − Σᵢ βᵢ|sᵢ|² with sᵢ = (Dᵢ − x)/σ² (host rows of width m).
fn potential<S>(
    experts: &[Expert<'_, S>],
    x: &[f64],
    denoised: &[Vec<f64>],
    m: usize,
    sigma: f64,
    lambda: f64,
) -> Vec<f64> {
    let inv = 1.0 / (sigma * sigma);
    let n = x.len() / m.max(1);
    (0..n)
        .map(|p| {
            let mut total = 0.0;
            for j in p * m..(p + 1) * m {
                let mut sum = 0.0;
                for (e, d) in experts.iter().zip(denoised) {
                    let si = (d[j] - x[j]) * inv;
                    sum += e.beta * si;
                    total -= e.beta * si * si;
                }
                total += lambda * sum * sum;
            }
            total
        })
        .collect()
}

/// Rows `ancestors[j]` of `host` (rows of width m) as row j.
fn gather(host: &[f64], m: usize, ancestors: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(host.len());
    for &a in ancestors {
        out.extend_from_slice(&host[a * m..(a + 1) * m]);
    }
    out
}

/// The exact step σ → σ' of dx = (1 + η²)·λB·(D̄ − x)/σ²·c dτ + η√(2λc) dW with D̄ frozen
/// (`lambda_b` = λB).
#[allow(clippy::too_many_arguments)]
fn exponential_step<S: State>(
    x: S,
    combined: &S,
    sigma: f64,
    sigma_next: f64,
    lambda_b: f64,
    eta: f64,
    lambda: f64,
    noise: &mut dyn NoiseSampler<S>,
) -> Result<S, SolveError> {
    if sigma_next == 0.0 {
        return Ok(combined.clone());
    }
    let log_ratio = 2.0 * (sigma_next / sigma).ln();
    let kappa = 0.5 * (1.0 + eta * eta) * lambda_b;
    let r = (kappa * log_ratio).exp();
    let x = x.lincomb(r, &[(1.0 - r, combined)]);
    if eta == 0.0 {
        return Ok(x);
    }
    let a = 2.0 * kappa - 1.0;
    let fraction = if a.abs() < 1e-12 {
        -log_ratio
    } else {
        -(a * log_ratio).exp_m1() / a
    };
    let v = lambda * eta * eta * sigma_next * sigma_next * fraction;
    let z = noise.sample(sigma, sigma_next)?;
    Ok(x.add_scaled(v.sqrt(), &z))
}
