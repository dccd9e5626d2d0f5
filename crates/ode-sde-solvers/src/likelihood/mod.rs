//! Exact log-likelihoods of a diffusion model through its probability-flow ODE.
//!
//! In the α = 1 ("EDM", Karras et al. 2022) convention x_σ = x₀ + σε, the probability-flow ODE
//! in σ is
//!
//! dx/dσ = f(x, σ) = (x − D(x; σ))/σ = −σ ∇ ln p_σ(x)
//!
//! (Song et al. 2021, "Score-Based Generative Modeling through SDEs", eq. (13); Karras et al.
//! 2022, eq. (4) with σ(t) = t). Its flow carries p_{σ_min} to p_{σ_max}, so the instantaneous
//! change of variables (Chen et al. 2018, "Neural Ordinary Differential Equations", Thm. 1;
//! Grathwohl et al. 2019, FFJORD; Song et al. 2021, App. D.2) gives the density of a data point
//! from the density of its image at σ_max.
//!
//! **Sign.** The marginals satisfy the continuity equation ∂_σ p_σ = −∇·(p_σ f), so along a
//! trajectory d/dσ ln p_σ(x(σ)) = ∂_σ ln p_σ + ∇ ln p_σ · f = −∇·f. Integrating from σ_min to
//! σ_max:
//!
//! **ln p_{σ_min}(x(σ_min)) = ln p_{σ_max}(x(σ_max)) + ∫_{σ_min}^{σ_max} ∇·f(x(σ), σ) dσ,**
//!
//! with ∇·f = (d − tr ∂D/∂x)/σ per sample (d elements per sample). Check on p₀ = N(0, s²I):
//! D = s²x/(s² + σ²), ∇·f = dσ/(s² + σ²) > 0, x(σ) = x₀√((s² + σ²)/s²), and the right-hand
//! side is −|x₀|²/(2s²) − (d/2) ln(2π(s² + σ_min²)) = ln p_{σ_min}(x₀) exactly; the opposite
//! sign would be off by d·ln((s² + σ_max²)/(s² + σ_min²)). The value returned is
//! −ln p = −ln p_{σ_max}(x(σ_max)) − ∫ ∇·f dσ.
//!
//! **Why σ_min > 0.** At σ = 0 both f = (x − D)/σ and ∇·f = (d − tr J)/σ are 0/0; computed,
//! x − D = O(σ²) carries an absolute rounding error ~ε|x| that 1/σ amplifies. For data on a
//! lower-dimensional set or a discrete set (quantised images) p₀ has no density: tr J → rank,
//! ∇·f ~ (d − rank)/σ and the integral diverges like ln(1/σ_min). For a smooth p₀ the value
//! computed is ln p_{σ_min}(x), which the heat equation ∂_σ p = σΔp puts within
//! (σ_min²/2)·|Δp₀/p₀| of ln p₀(x): ~1e-10 for σ_min = 1e-5 on unit-scale data.

mod augmented;
mod divergence;

use std::cell::Cell;

pub use divergence::{
    Divergence, DivergenceDenoiser, ProbeKind, draw_probes, jacobian_trace_by_jvp,
    jacobian_trace_hutchinson,
};

use self::augmented::Augmented;
use crate::SolveError;
use crate::denoiser::ErrorStash;
use crate::ode::{Dopri5, PidController, SaveAt, SolveOptions, StepControl, Tsit5, integrate};
use crate::state::State;

/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// The scale a of the usual 8-bit image map x = (k + u)/a − 1 onto [−1, 1] (k ∈ {0, …, 255},
/// dequantisation noise u ∈ [0, 1)): a = 255/2 = 127.5. Pass it to [`bits_per_dim`].
pub const EIGHT_BIT_TO_SYMMETRIC_SCALE: f64 = 127.5;

/// The adaptive Runge–Kutta pair that integrates the augmented ODE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdaptiveSolver {
    /// Dormand–Prince 5(4) ([`crate::ode::Dopri5`]; Dormand & Prince 1980), the solver of
    /// Song et al. 2021's likelihood code (scipy RK45).
    #[default]
    Dopri5,
    /// Tsitouras 5(4) ([`crate::ode::Tsit5`]; Tsitouras 2011).
    Tsit5,
}

/// Options of [`negative_log_likelihood`].
#[derive(Clone, Debug, PartialEq)]
pub struct LikelihoodOptions {
    /// Lower end of the σ interval, > 0 (σ = 0 is singular: see the module docs). Default 1e-5
    /// (Song et al. 2021 use ε = 1e-5 for the same reason).
    pub sigma_min: f64,
    /// Upper end, where the prior ln p_{σ_max} is evaluated; > `sigma_min`. Default 80
    /// (Karras et al. 2022).
    pub sigma_max: f64,
    /// Relative tolerance of the step-size controller ([`PidController`]). Default 1e-5.
    pub rtol: f64,
    /// Absolute tolerance. Default 1e-5.
    pub atol: f64,
    /// How tr ∂D/∂x is computed. Default [`Divergence::Exact`].
    pub divergence: Divergence,
    /// The Runge–Kutta pair. Default Dopri5.
    pub solver: AdaptiveSolver,
    /// Upper bound on attempted steps. Default 100 000.
    pub max_steps: usize,
}

impl Default for LikelihoodOptions {
    fn default() -> Self {
        Self {
            sigma_min: 1e-5,
            sigma_max: 80.0,
            rtol: 1e-5,
            atol: 1e-5,
            divergence: Divergence::Exact,
            solver: AdaptiveSolver::Dopri5,
            max_steps: 100_000,
        }
    }
}

impl LikelihoodOptions {
    /// Checks every field; the first violation is an [`SolveError::InvalidOption`] (or
    /// [`SolveError::InvalidInterval`] when σ_min ≥ σ_max).
    pub fn validate(&self) -> Result<(), SolveError> {
        let positive = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(SolveError::InvalidOption {
                    name,
                    value: v,
                    reason: "must be finite and > 0",
                })
            }
        };
        positive("sigma_min", self.sigma_min)?;
        positive("sigma_max", self.sigma_max)?;
        if self.sigma_min >= self.sigma_max {
            return Err(SolveError::InvalidInterval(format!(
                "sigma_min = {} must be < sigma_max = {}",
                self.sigma_min, self.sigma_max
            )));
        }
        PidController::new(self.rtol, self.atol).validate()?;
        if self.max_steps == 0 {
            return Err(SolveError::InvalidOption {
                name: "max_steps",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if let Divergence::Hutchinson { probes: 0, .. } = self.divergence {
            return Err(SolveError::InvalidOption {
                name: "probes",
                value: 0.0,
                reason: "Hutchinson's estimator needs at least 1 probe",
            });
        }
        Ok(())
    }
}

/// The result of [`negative_log_likelihood`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Likelihood {
    /// −ln p_{σ_min}(xᵢ) ≈ −ln p₀(xᵢ) in nats, one per sample.
    pub nll: Vec<f64>,
    /// Denoiser evaluations D(·; σ) (batched over the samples), = vector-field evaluations.
    pub nfe: usize,
    /// Jacobian–vector products (batched): d per field evaluation for the exact trace by
    /// JVPs, K for Hutchinson, 0 with a closed-form trace.
    pub jvps: usize,
    /// Accepted steps.
    pub steps: usize,
    /// Rejected steps.
    pub rejected: usize,
}

/// −ln p₀(x) in nats for each sample of `x`, by integrating the probability-flow ODE with
/// the instantaneous change of variables (Chen et al. 2018; Grathwohl et al. 2019; Song et al.
/// 2021, App. D.2):
///
/// −ln p_{σ_min}(x) = −ln p_{σ_max}(x(σ_max)) − ∫_{σ_min}^{σ_max} (d − tr ∂D/∂x)/σ dσ,
///
/// the sign derived in the [module docs](self). The augmented state (x, ℓ), ℓᵢ the running
/// integral for sample i, starts at (x, 0) at σ_min and is integrated jointly to σ_max with
/// an adaptive 5(4) pair at (`rtol`, `atol`); the error norm is the larger of the scaled RMS
/// norms of x and of ℓ (torchdiffeq's mixed norm), so the accumulated log-determinant is
/// controlled as tightly as the trajectory, and its relative tolerance applies per dimension,
/// to ℓ/d (see `Augmented`'s error norm: relative to ℓ itself the error in nats grew with d
/// and σ_max). `prior_log_prob` returns ln p_{σ_max} per sample
/// of its argument: the exact noised density when it is known (analytic targets), or
/// [`gaussian_prior_log_prob`].
///
/// Errors: invalid options ([`LikelihoodOptions::validate`]), a non-finite `x`, the model's own
/// failure in `denoise`, `jvp` or `trace_jacobian` ([`SolveError::Model`]), a model or prior
/// that returns the wrong number of values, and every integration failure of [`integrate`]
/// (e.g. [`SolveError::NonFinite`]) are returned, never panicked on. An empty batch gives an
/// empty result.
pub fn negative_log_likelihood<S: State>(
    model: &dyn DivergenceDenoiser<S>,
    x: &S,
    prior_log_prob: &dyn Fn(&S) -> Vec<f64>,
    options: &LikelihoodOptions,
) -> Result<Likelihood, SolveError> {
    options.validate()?;
    let (n, d) = x.batch_layout();
    if n == 0 {
        return Ok(Likelihood::default());
    }
    let rms = x.rms();
    if !rms.is_finite() {
        return Err(SolveError::InvalidOption {
            name: "x",
            value: rms,
            reason: "every element must be finite",
        });
    }
    let probes = match options.divergence {
        Divergence::Exact => Vec::new(),
        Divergence::Hutchinson { probes, kind, seed } => draw_probes(x, probes, kind, seed),
    };
    let probes_host: Vec<Vec<f64>> = probes.iter().map(State::to_f64_vec).collect();
    let nfe = Cell::new(0usize);
    let jvps = Cell::new(0usize);
    // The model runs inside the augmented ODE's vector field: its errors, and a trace of the
    // wrong length, go through the stash (the field returns NaN, the integrator stops, and
    // `finish` returns the recorded error instead of the integrator's).
    let failure = ErrorStash::<SolveError>::new();
    let term = |sigma: f64, y: &Augmented<S>| -> Augmented<S> {
        failure.state(y, || {
            nfe.set(nfe.get() + 1);
            let (denoised, trace) = match options.divergence {
                Divergence::Exact => {
                    let denoised = model.denoise(&y.x, sigma)?;
                    let trace = match model.trace_jacobian(&y.x, sigma)? {
                        Some(t) => t,
                        None => {
                            jvps.set(jvps.get() + d);
                            jacobian_trace_by_jvp(model, &y.x, sigma)?
                        }
                    };
                    (denoised, trace)
                }
                Divergence::Hutchinson { .. } => {
                    jvps.set(jvps.get() + probes.len());
                    // D and the K products in one call: an analytic model shares the
                    // responsibilities and the score between them.
                    let (denoised, jvs) = model.denoise_and_jvps(&y.x, sigma, &probes)?;
                    let trace = divergence::hutchinson_from_jvps(&jvs, &probes_host, (n, d));
                    (denoised, trace)
                }
            };
            let inv = 1.0 / sigma;
            let fx = y.x.clone().lincomb(inv, &[(-inv, &denoised)]);
            if trace.len() != n {
                return Err(SolveError::InvalidOption {
                    name: "trace_jacobian",
                    value: trace.len() as f64,
                    reason: "the model must return one trace per sample",
                });
            }
            let logdet = trace.iter().map(|t| (d as f64 - t) * inv).collect();
            Ok(Augmented { x: fx, logdet })
        })
    };
    let solve = SolveOptions {
        control: StepControl::Adaptive(PidController::new(options.rtol, options.atol)),
        save_at: SaveAt::End,
        max_steps: options.max_steps,
    };
    let y0 = Augmented {
        x: x.clone(),
        logdet: vec![0.0; n],
    };
    let (t0, t1) = (options.sigma_min, options.sigma_max);
    let result = match options.solver {
        AdaptiveSolver::Dopri5 => integrate(&term, &Dopri5, t0, t1, y0, &solve),
        AdaptiveSolver::Tsit5 => integrate(&term, &Tsit5, t0, t1, y0, &solve),
    };
    let solution = failure.finish(result)?;
    let end = solution.ys.last().ok_or(SolveError::NonFinite {
        t: options.sigma_max,
    })?;
    let prior = prior_log_prob(&end.x);
    if prior.len() != n {
        return Err(SolveError::InvalidOption {
            name: "prior_log_prob",
            value: prior.len() as f64,
            reason: "the prior must return one value per sample",
        });
    }
    let nll: Vec<f64> = prior
        .iter()
        .zip(&end.logdet)
        .map(|(lp, l)| -(lp + l))
        .collect();
    if nll.iter().any(|v| !v.is_finite()) {
        return Err(SolveError::NonFinite {
            t: options.sigma_max,
        });
    }
    Ok(Likelihood {
        nll,
        nfe: nfe.get(),
        jvps: jvps.get(),
        steps: solution.stats.accepted,
        rejected: solution.stats.rejected,
    })
}

/// The Gaussian prior ln N(x; 0, σ_max² I) = −(d/2) ln(2πσ_max²) − |x|²/(2σ_max²) per
/// sample (Song et al. 2021, App. D.2; Karras et al. 2022 sample from it).
///
/// It is only an approximation of p_{σ_max} = p₀ ∗ N(0, σ_max² I): for data with mean m and
/// covariance C the true marginal is close to N(m, C + σ_max²I), and the bias in ln p is of
/// order (tr C + |m|²)/(2σ_max²) plus terms in |x|²·tr C/σ_max⁴, e.g. ~1e-3 nats for
/// unit-scale data at σ_max = 80. For analytic targets pass the exact noised density instead.
pub fn gaussian_prior_log_prob<S: State>(sigma_max: f64) -> impl Fn(&S) -> Vec<f64> {
    move |x: &S| {
        let (n, d) = x.batch_layout();
        let s2 = sigma_max * sigma_max;
        let norm = d as f64 * (LN_2PI + s2.ln());
        let flat = x.to_f64_vec();
        (0..n)
            .map(|i| {
                let sq: f64 = flat[i * d..(i + 1) * d].iter().map(|v| v * v).sum();
                -0.5 * (norm + sq / s2)
            })
            .collect()
    }
}

/// Bits per dimension of a dequantised discrete datum from the NLL of its continuous image.
///
/// With integer data k ∈ {0, …, 2ᵇ − 1}ᵈ, uniform dequantisation y = k + u, u ~ U[0, 1)ᵈ,
/// and the model's input x = y/a + c (`scale` = a = dy/dx per coordinate), the density of y is
/// p_y(y) = p_x(x)·a⁻ᵈ, so the variational bound −ln P(k) ≤ E_u[−ln p_y(k + u)] (Theis et al.
/// 2016, "A note on the evaluation of generative models"; Ho et al. 2019, Flow++) gives, in
/// bits per dimension,
///
/// bpd = (−ln p_x(x) + d ln a)/(d ln 2) = nll/(d ln 2) + log₂ a.
///
/// For 8-bit data scaled to [−1, 1] by x = (k + u)/127.5 − 1 ([`EIGHT_BIT_TO_SYMMETRIC_SCALE`])
/// that is nll/(d ln 2) + log₂ 127.5 ≈ nll/(d ln 2) + 6.994; for x = (k + u)/256 ∈ [0, 1),
/// a = 256 and bpd = nll/(d ln 2) + 8. A uniform p_x on the image [−1, 1 + 1/127.5)ᵈ of the
/// dequantised cube gives exactly b = 8 bits.
///
/// Errors: a NaN `nll_nats`, `dim` = 0, or `scale` not finite and > 0, is
/// [`SolveError::InvalidOption`] (+∞, a zero density, passes through).
pub fn bits_per_dim(nll_nats: f64, dim: usize, scale: f64) -> Result<f64, SolveError> {
    if nll_nats.is_nan() {
        return Err(SolveError::InvalidOption {
            name: "nll_nats",
            value: nll_nats,
            reason: "must not be NaN",
        });
    }
    if dim == 0 {
        return Err(SolveError::InvalidOption {
            name: "dim",
            value: 0.0,
            reason: "must be at least 1",
        });
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(SolveError::InvalidOption {
            name: "scale",
            value: scale,
            reason: "must be finite and > 0",
        });
    }
    Ok(nll_nats / (dim as f64 * std::f64::consts::LN_2) + scale.log2())
}
