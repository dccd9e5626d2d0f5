//! The divergence of the probability-flow vector field: the model interface that supplies it
//! and the estimators of tr ∂D/∂x built on Jacobian–vector products.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::brownian::{rng, sample_seeds};
use crate::denoiser::Denoiser;
use crate::error::DenoiseError;
use crate::state::State;

/// ChaCha stream reserved for Hutchinson probes, apart from the streams Brownian sources use.
const PROBE_STREAM: u64 = 0x4855_5443_4849_4E53; // "HUTCHINS"

/// A denoiser that can also differentiate itself: what likelihood evaluation needs beyond
/// [`Denoiser`].
///
/// The probability-flow field f(x, σ) = (x − D(x; σ))/σ (Karras et al. 2022, eq. (4) with
/// σ(t) = t) has divergence ∇·f = (d − tr ∂D/∂x)/σ per sample, so a model that gives
/// Jacobian–vector products J·v, J = ∂D/∂x (Griewank & Walther 2008, *Evaluating Derivatives*,
/// forward mode), supports both the exact trace (d JVPs with basis vectors) and Hutchinson's
/// estimator (Hutchinson 1989; Grathwohl et al. 2019, FFJORD).
///
/// **Batch layout.** `D` acts on each sample independently, so J is block diagonal over the
/// samples (leading axis, [`State::batch_layout`]): `jvp` applies every sample's own Jacobian
/// to that sample's rows of `v`.
///
/// Both methods are fallible like [`Denoiser::denoise`]: the model's error ends the likelihood
/// evaluation with [`SolveError::Model`](crate::SolveError::Model).
pub trait DivergenceDenoiser<S>: Denoiser<S> {
    /// J·v: the Jacobian–vector product of D(·; σ) at x, J·v = d/dε D(x + εv; σ) at ε = 0,
    /// sample by sample.
    ///
    /// # Errors
    /// The model's own failure.
    fn jvp(&self, x: &S, sigma: f64, v: &S) -> Result<S, DenoiseError>;

    /// J·vₖ for K directions at one x, as Hutchinson's estimator needs for its K probes at
    /// every field evaluation. The default makes K calls of [`Self::jvp`]; a model that can
    /// do better in one batched call — a network stacking [x; …; x] and [v₁; …; v_K] along the
    /// batch, an analytic model sharing the work of D(x) and its Jacobian across the probes —
    /// overrides it.
    ///
    /// # Errors
    /// The model's own failure.
    fn jvps(&self, x: &S, sigma: f64, vs: &[S]) -> Result<Vec<S>, DenoiseError> {
        vs.iter().map(|v| self.jvp(x, sigma, v)).collect()
    }

    /// D(x; σ) together with J·vₖ for K directions at the same x: what one field evaluation
    /// of a Hutchinson likelihood needs (the field (x − D)/σ and the K products of
    /// [`jacobian_trace_hutchinson`]). The default calls [`Denoiser::denoise`] and
    /// [`Self::jvps`]; a model whose denoiser and Jacobian share work (an analytic model's
    /// responsibilities and score, a network's forward pass under forward-mode
    /// differentiation) overrides it to do that work once.
    ///
    /// # Errors
    /// The model's own failure.
    fn denoise_and_jvps(&self, x: &S, sigma: f64, vs: &[S]) -> Result<(S, Vec<S>), DenoiseError> {
        Ok((self.denoise(x, sigma)?, self.jvps(x, sigma, vs)?))
    }

    /// tr ∂D/∂x for each sample, when it is known in closed form (analytic targets, e.g.
    /// d + σ²·Δ ln p_σ by Tweedie's formula D = x + σ²∇ ln p_σ, Efron 2011); `Ok(None)` (the
    /// default) makes [`Divergence::Exact`] fall back to d JVPs.
    ///
    /// # Errors
    /// The model's own failure.
    fn trace_jacobian(&self, x: &S, sigma: f64) -> Result<Option<Vec<f64>>, DenoiseError> {
        let _ = (x, sigma);
        Ok(None)
    }
}

/// The distribution of Hutchinson probe vectors: any v with E(v) = 0, E(vvᵀ) = I gives
/// E(vᵀMv) = tr M (Hutchinson 1989). The estimator is applied to M = I − ∂D/∂x = σ ∂f/∂x
/// ([`jacobian_trace_hutchinson`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeKind {
    /// Entries ±1 with probability ½: the minimum-variance choice,
    /// Var(vᵀMv) = 2 Σ_{i≠j} ((Mᵢⱼ + Mⱼᵢ)/2)² (Hutchinson 1989).
    Rademacher,
    /// Entries N(0, 1): Var(vᵀMv) = 2‖(M + Mᵀ)/2‖_F², larger than Rademacher's by 2 Σᵢ Mᵢᵢ²
    /// (Skilling 1989; Grathwohl et al. 2019).
    Gaussian,
}

/// How tr ∂D/∂x is obtained at each evaluation of the augmented vector field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Divergence {
    /// Exactly: [`DivergenceDenoiser::trace_jacobian`] when the model gives it, otherwise
    /// tr J = Σⱼ eⱼᵀ J eⱼ with d JVPs on the basis vectors eⱼ (coordinate j set to 1 in every
    /// sample at once, so each JVP serves the whole batch) — [`jacobian_trace_by_jvp`].
    Exact,
    /// Hutchinson's estimator ∇·f ≈ (1/K) Σₖ vₖᵀ (∂f/∂x) vₖ = (1/K) Σₖ vₖᵀ(vₖ − J vₖ)/σ
    /// (Hutchinson 1989; FFJORD, Grathwohl et al. 2019 §3.1; [`jacobian_trace_hutchinson`])
    /// with K = `probes` probe vectors per sample, drawn **once per
    /// integration** from per-sample ChaCha8 seeds derived from `seed`
    /// ([`crate::brownian::sample_seeds`]), so the augmented ODE is a smooth, deterministic
    /// ODE the adaptive solver can integrate; the resulting log-likelihood is an unbiased
    /// estimate of the one with the exact trace (x(σ) does not depend on the probes and the
    /// integral is linear in the trace, up to the solver's tolerance), with
    /// standard deviation ∝ 1/√K.
    Hutchinson {
        /// K ≥ 1.
        probes: usize,
        /// The probe distribution.
        kind: ProbeKind,
        /// Base seed; sample i's probes depend only on (seed, i).
        seed: u64,
    },
}

/// tr ∂D/∂x per sample exactly, by d JVPs: tr J = Σⱼ eⱼᵀ J eⱼ, where eⱼ has coordinate j
/// (of the d elements per sample) equal to 1 in every sample.
///
/// The per-sample sums read each JVP back to the host ([`State::to_f64_vec`]); this is a
/// likelihood evaluation, not a sampling loop, and d JVPs per field evaluation dominate the
/// cost anyway.
///
/// # Errors
/// The first JVP's error.
pub fn jacobian_trace_by_jvp<S: State>(
    model: &dyn DivergenceDenoiser<S>,
    x: &S,
    sigma: f64,
) -> Result<Vec<f64>, DenoiseError> {
    let (n, d) = x.batch_layout();
    let mut trace = vec![0.0; n];
    let mut basis = vec![0.0; n * d];
    for j in 0..d {
        for i in 0..n {
            basis[i * d + j] = 1.0;
        }
        let e = x.with_host_data(&basis);
        let jv = model.jvp(x, sigma, &e)?.to_f64_vec();
        for (i, t) in trace.iter_mut().enumerate() {
            *t += jv[i * d + j];
        }
        for i in 0..n {
            basis[i * d + j] = 0.0;
        }
    }
    Ok(trace)
}

/// Hutchinson's estimate of tr ∂D/∂x per sample for given probes vₖ (each a state shaped like
/// `x`; see [`draw_probes`]), applied — as in FFJORD (Grathwohl et al. 2019), which estimates
/// the trace of the vector field's own Jacobian — to I − J, the σ-scaled Jacobian of
/// f = (x − D)/σ:
///
/// tr J ≈ d − (1/K) Σₖ vₖᵀ(vₖ − J vₖ) = (1/K) Σₖ [vₖᵀJvₖ − (|vₖ|² − d)].
///
/// For Rademacher probes |vₖ|² = d and this is the plain (1/K) Σₖ vₖᵀJvₖ of Hutchinson (1989).
/// For Gaussian probes the zero-mean term |vₖ|² − d removes the identity part, whose
/// variance 2d/σ² per unit σ would otherwise make the error of ∫ ∇·f dσ grow like
/// ln(σ_max/σ_min); what remains has variance 2‖(I − J)_sym‖²_F/K, which vanishes as σ → 0.
/// Like [`jacobian_trace_by_jvp`] it reduces on the host ([`State::to_f64_vec`]).
///
/// # Errors
/// The first JVP's error.
pub fn jacobian_trace_hutchinson<S: State>(
    model: &dyn DivergenceDenoiser<S>,
    x: &S,
    sigma: f64,
    probes: &[S],
) -> Result<Vec<f64>, DenoiseError> {
    let (n, d) = x.batch_layout();
    if probes.is_empty() {
        return Ok(vec![f64::NAN; n]);
    }
    let host: Vec<Vec<f64>> = probes.iter().map(State::to_f64_vec).collect();
    Ok(hutchinson_from_jvps(
        &model.jvps(x, sigma, probes)?,
        &host,
        (n, d),
    ))
}

/// The reduction of [`jacobian_trace_hutchinson`] for products J vₖ already computed (e.g. by
/// [`DivergenceDenoiser::denoise_and_jvps`]) and the probes' host copies `host`, read once per
/// integration by the likelihood: d − (1/K) Σₖ vₖᵀ(vₖ − J vₖ) per sample, `shape` = (n, d),
/// reduced row by row on the host with no allocation per sample; NaN for every sample when
/// there are no probes.
pub(crate) fn hutchinson_from_jvps<S: State>(
    jvs: &[S],
    host: &[Vec<f64>],
    (n, d): (usize, usize),
) -> Vec<f64> {
    if host.is_empty() {
        return vec![f64::NAN; n];
    }
    // Σₖ vₖᵀ(vₖ − J vₖ), per sample.
    let mut quad = vec![0.0; n];
    for (jv, v_host) in jvs.iter().zip(host) {
        let jv = jv.to_f64_vec();
        for ((q, vr), jr) in quad
            .iter_mut()
            .zip(v_host.chunks(d.max(1)))
            .zip(jv.chunks(d.max(1)))
        {
            *q += vr.iter().zip(jr).map(|(a, b)| a * (a - b)).sum::<f64>();
        }
    }
    let inv = 1.0 / host.len() as f64;
    quad.iter().map(|q| d as f64 - q * inv).collect()
}

/// K probe states shaped like `like`, with i.i.d. entries of the given kind. Sample i's entries
/// come from a ChaCha8 stream on `sample_seeds(seed, n)[i]` (probe 0's d entries first), so
/// a sample's probes do not depend on the batch it is in.
pub fn draw_probes<S: State>(like: &S, probes: usize, kind: ProbeKind, seed: u64) -> Vec<S> {
    let (n, d) = like.batch_layout();
    let mut data = vec![vec![0.0; n * d]; probes];
    for (i, s) in sample_seeds(seed, n).into_iter().enumerate() {
        let mut r = rng::stream(s, PROBE_STREAM);
        for probe in data.iter_mut() {
            for v in &mut probe[i * d..(i + 1) * d] {
                *v = match kind {
                    ProbeKind::Rademacher => {
                        if r.random::<bool>() {
                            1.0
                        } else {
                            -1.0
                        }
                    }
                    ProbeKind::Gaussian => StandardNormal.sample(&mut r),
                };
            }
        }
    }
    data.iter().map(|p| like.with_host_data(p)).collect()
}
