//! DEIS-tAB: Adams–Bashforth in σ with the Lagrange interpolation done in VP time t.

use scoreflow_noise_schedules::SigmaGrid;

use super::adams::adams_bashforth_in_sigma;
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The largest order [`Deis`] accepts.
const MAX_ORDER: usize = 4;

/// The VP schedule that defines DEIS's time variable: σ(ε_s) = 0.002, σ(1) = 80 with
/// ε_s = 10⁻³ (diff-sampler's `edm2t` defaults, used whatever the sampling grid is).
const VP_SIGMA_MIN: f64 = 0.002;
const VP_SIGMA_MAX: f64 = 80.0;
const VP_EPSILON_S: f64 = 1e-3;

/// Gauss–Legendre nodes per piece of the coefficient integrals.
const QUAD_NODES: usize = 16;

/// DEIS with the time-Adams–Bashforth rule, tAB (Zhang & Chen 2023, "Fast Sampling of Diffusion
/// Models with Exponential Integrator", ICLR, §4 with the ε-parameterisation), as
/// diff-sampler's `deis_sampler` with `get_deis_coeff_list(…, deis_mode='tab')` (Zhou et al.
/// 2024, a re-implementation of qsh-zh/deis in EDM variables).
///
/// In the α = 1 variables x = x₀ + σε the exponential integrator's linear factor is the identity
/// and the probability-flow ODE is dx/dσ = ε(x; σ) = (x − D(x; σ))/σ, so DEIS is the multistep
///
/// xᵢ₊₁ = xᵢ + Σⱼ₌₀^{k−1} cᵢⱼ·εᵢ₋ⱼ,  cᵢⱼ = ∫_{σᵢ}^{σᵢ₊₁} ℓⱼ(t(σ)) dσ,  k = min(i + 1, `order`),
///
/// whose interpolating polynomial lives in the *VP time* t, not in σ: ℓⱼ is the Lagrange basis
/// polynomial of the nodes tᵢ, …, tᵢ₋ₖ₊₁ (tₘ = t(σₘ)) that is 1 at tᵢ₋ⱼ, and t(σ) inverts the
/// VP-SDE noise level σ(t) = √(exp(β_d t²/2 + β_min t) − 1) of Karras et al. 2022 (Table 1) with
/// β_d, β_min fitted so that σ(10⁻³) = 0.002 and σ(1) = 80:
///
/// t(σ) = (√(β_min² + 2β_d·ln(1 + σ²)) − β_min)/β_d
///
/// (β_d ≈ 17.538, β_min ≈ −0.00477, in `f64`; β_min < 0 makes t(0) ≈ 5.4·10⁻⁴ rather than 0).
///
/// (diff-sampler writes cᵢⱼ = ∫_{tᵢ}^{tᵢ₊₁} σ'(τ)·ℓⱼ(τ) dτ with σ'(τ) = −½(d ln ᾱ/dτ)/√(ᾱ(1 − ᾱ)),
/// ᾱ = 1/(1 + σ²), and approximates it by a 10 000-point sum, which on a 10-step Karras grid
/// σ ∈ [0.01, 20] agrees with the coefficients here to ≈ 5·10⁻⁶ relative; the substitution
/// σ = σ(τ) gives the form above, which is integrated here to rounding by 16-point Gauss–Legendre
/// on pieces of [σᵢ₊₁, σᵢ] whose ends differ by at most a factor 2 — t(σ) is analytic with its
/// nearest singularities at σ = ±i·8.1·10⁻⁴ and ±i — in `f64` on the host, before the loop.) With
/// the nodes in σ itself (DEIS's ρAB, diff-sampler's `deis_mode='rhoab'`) the same rule is
/// k-diffusion's LMS, [`Lms`](super::Lms); t(σ) is not affine, so tAB is a different method.
///
/// The first step is Euler (cᵢ₀ = σ₁ − σ₀), the following ones use what history there is; the
/// step to σ = 0 returns D(xᵢ; σᵢ) (diff-sampler's `denoise_to_zero`). One denoiser call per step.
///
/// Global order: 1 for `order` = 1 (it is [`Euler`](super::Euler)); 2 for `order` 2–4, because the
/// Euler first step's O(h²) local error is never recovered (the interior steps have local error
/// O(h^{k+1})). `order` must be 1 to 4 (diff-sampler's DEIS-tAB3 is `order` = 3, the default);
/// other values fail at sample time with [`SolveError::InvalidOption`] and `order()` is NaN.
#[derive(Clone, Copy, Debug)]
pub struct Deis {
    /// The number of past ε values interpolated, k, 1 to 4.
    pub order: usize,
}

impl Default for Deis {
    fn default() -> Self {
        Self { order: 3 }
    }
}

impl Deis {
    /// DEIS's time variable t(σ) = (√(β_min² + 2β_d·ln(1 + σ²)) − β_min)/β_d, the inverse of the
    /// VP noise level σ(t) = √(exp(β_d t²/2 + β_min t) − 1) with σ(10⁻³) = 0.002 and σ(1) = 80
    /// (diff-sampler's `edm2t`).
    pub fn vp_time(sigma: f64) -> f64 {
        let (beta_min, beta_d) = vp_betas();
        ((beta_min * beta_min + 2.0 * beta_d * (sigma * sigma).ln_1p()).sqrt() - beta_min) / beta_d
    }

    /// The coefficients cᵢⱼ = ∫_{σᵢ}^{σᵢ₊₁} ℓⱼ(t(σ)) dσ, j = 0..k, of step i (σᵢ → σᵢ₊₁ > 0) of
    /// the order-k rule, with ℓⱼ the Lagrange basis polynomial in t of the nodes
    /// t(σᵢ), …, t(σᵢ₋ₖ₊₁) that is 1 at t(σᵢ₋ⱼ). For k = 1 this is σᵢ₊₁ − σᵢ exactly.
    ///
    /// # Panics
    /// If k = 0, k > i + 1, i + 1 ≥ `sigmas.len()` or σᵢ₊₁ = 0 with k > 1.
    pub fn coefficients(sigmas: &[f64], i: usize, order: usize) -> Vec<f64> {
        assert!(
            order >= 1 && order <= i + 1,
            "order {order} too high for step {i}"
        );
        let (hi, lo) = (sigmas[i], sigmas[i + 1]);
        if order == 1 {
            return vec![lo - hi];
        }
        assert!(lo > 0.0, "the step to σ = 0 has no DEIS coefficients");
        let nodes: Vec<f64> = (0..order).map(|m| Self::vp_time(sigmas[i - m])).collect();
        let (gl_x, gl_w) = gauss_legendre(QUAD_NODES);
        let pieces = (hi / lo).log2().ceil().max(1.0) as usize;
        let ratio = (hi / lo).powf(1.0 / pieces as f64);
        let mut coeffs = vec![0.0; order];
        let mut a = lo;
        for p in 0..pieces {
            let b = if p + 1 == pieces { hi } else { a * ratio };
            let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
            for (&x, &w) in gl_x.iter().zip(&gl_w) {
                let t = Self::vp_time(mid + half * x);
                for (j, c) in coeffs.iter_mut().enumerate() {
                    let l: f64 = (0..order)
                        .filter(|&m| m != j)
                        .map(|m| (t - nodes[m]) / (nodes[j] - nodes[m]))
                        .product();
                    // The integral runs from σᵢ down to σᵢ₊₁.
                    *c -= half * w * l;
                }
            }
            a = b;
        }
        coeffs
    }
}

/// (β_min, β_d) of the VP schedule with σ(ε_s) = σ_min and σ(1) = σ_max:
/// β_d = 2(ln(1 + σ_min²)/ε_s − ln(1 + σ_max²))/(ε_s − 1), β_min = ln(1 + σ_max²) − β_d/2.
fn vp_betas() -> (f64, f64) {
    let log_max = (VP_SIGMA_MAX * VP_SIGMA_MAX).ln_1p();
    let log_min = (VP_SIGMA_MIN * VP_SIGMA_MIN).ln_1p();
    let beta_d = 2.0 * (log_min / VP_EPSILON_S - log_max) / (VP_EPSILON_S - 1.0);
    (log_max - 0.5 * beta_d, beta_d)
}

/// The n-point Gauss–Legendre nodes and weights on [−1, 1] (Newton on Pₙ from the Chebyshev
/// guesses cos(π(m − ¼)/(n + ½)); Golub & Welsch's alternative is not needed at n = 16).
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    for m in 1..=n {
        let mut x = (std::f64::consts::PI * (m as f64 - 0.25) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            // Three-term recurrence for Pₙ(x) and Pₙ₋₁(x).
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        nodes.push(x);
        weights.push(2.0 / ((1.0 - x * x) * dp * dp));
    }
    (nodes, weights)
}

impl<S: State> Sampler<S> for Deis {
    fn name(&self) -> &'static str {
        match self.order {
            1 => "deis-1",
            2 => "deis-2",
            4 => "deis-4",
            _ => "deis",
        }
    }

    /// 1 for `order` = 1, 2 for `order` 2–4 (Euler warm-up), NaN for an invalid order.
    fn order(&self) -> Option<f64> {
        Some(match self.order {
            1 => 1.0,
            2..=MAX_ORDER => 2.0,
            _ => f64::NAN,
        })
    }

    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError> {
        if !(1..=MAX_ORDER).contains(&self.order) {
            return Err(SolveError::InvalidOption {
                name: "order",
                value: self.order as f64,
                reason: "the DEIS order must be 1, 2, 3 or 4",
            });
        }
        let s = sigmas.as_slice();
        // The step to σ = 0 returns D (diff-sampler's `denoise_to_zero`).
        let ab_steps = s.len() - 1 - usize::from(sigmas.ends_at_zero());
        let coeffs: Vec<Vec<f64>> = (0..ab_steps)
            .map(|i| Self::coefficients(s, i, (i + 1).min(self.order)))
            .collect();
        adams_bashforth_in_sigma(model, x, s, &coeffs, false, ctx)
    }
}
