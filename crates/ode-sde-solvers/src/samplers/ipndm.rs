//! iPNDM: fixed-coefficient Adams–Bashforth steps in σ with lower-order warm-up.

use scoreflow_noise_schedules::SigmaGrid;

use super::adams::adams_bashforth_in_sigma;
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The largest order [`Ipndm`] accepts.
const MAX_ORDER: usize = 4;

/// The constant-step Adams–Bashforth weights bₖⱼ of orders k = 1..4 (newest derivative first):
/// 1; (3, −1)/2; (23, −16, 5)/12; (55, −59, 37, −9)/24.
const AB_WEIGHTS: [&[f64]; MAX_ORDER] = [
    &[1.0],
    &[3.0 / 2.0, -1.0 / 2.0],
    &[23.0 / 12.0, -16.0 / 12.0, 5.0 / 12.0],
    &[55.0 / 24.0, -59.0 / 24.0, 37.0 / 24.0, -9.0 / 24.0],
];

/// iPNDM, the improved pseudo numerical method (Zhang & Chen 2023, "Fast Sampling of Diffusion
/// Models with Exponential Integrator", ICLR; diff-sampler's `ipndm_sampler`, Zhou et al. 2024):
/// Adams–Bashforth with the *constant-step* weights bₖⱼ on the probability-flow ODE
/// dx/dσ = d(x; σ) = (x − D(x; σ))/σ,
///
/// xᵢ₊₁ = xᵢ + (σᵢ₊₁ − σᵢ)·Σⱼ₌₀^{k−1} bₖⱼ·dᵢ₋ⱼ,  k = min(i + 1, `order`),
///
/// with b₁ = (1), b₂ = (3, −1)/2, b₃ = (23, −16, 5)/12, b₄ = (55, −59, 37, −9)/24: the first step
/// is Euler, the next ones use what history there is. The weights ignore the grid's step ratios.
/// The variable-step form is k-diffusion's LMS, [`Lms`](super::Lms), whose exact Lagrange
/// coefficients reduce to bₖⱼ·(σᵢ₊₁ − σᵢ) on an equally spaced grid; it is what diff-sampler's
/// `ipndm_v` means to compute, but its closed forms agree with it only at order 2 (order 3 has a
/// misplaced parenthesis, harmless for equal steps only; the order-4 term is 11/24 for equal
/// steps instead of 9/24), so there is no separate variable-step iPNDM here. The step to σ = 0
/// returns D(xᵢ; σᵢ) (diff-sampler's `denoise_to_zero`; an Adams–Bashforth step over [0, σ_min]
/// would extrapolate d far outside its nodes, see [`Lms`](super::Lms)). The products
/// (σᵢ₊₁ − σᵢ)·bₖⱼ are computed on the host before the loop.
///
/// **Analytic first step** (`afs`; Dockhorn et al. 2022, "GENIE: Higher-Order Denoising Diffusion
/// Solvers", as used by Zhou et al. 2024, "Fast ODE-based Sampling for Diffusion Models in Around
/// 5 Steps", and diff-sampler): the first derivative is taken without a model call as
/// d₀ = x₀/σ₀, i.e. D̂(x₀; σ₀) = 0, and it stays in the history like a computed one.
/// (diff-sampler writes d₀ = x₀/√(1 + σ₀²), the same up to a relative O(σ₀⁻²), which assumes
/// unit-variance data; D̂ = 0 assumes only centred data.) The step to 0 always calls the model,
/// so AFS applies only when σ₁ > 0.
///
/// **Denoiser calls.** One per step, minus one with `afs`: a grid of M intervals costs M calls
/// (M − 1 with `afs` and M ≥ 2), whether it ends at σ_min > 0 or in 0 (the call at σ_{M−1} then
/// returns D). With `afs`, N calls cover N + 1 intervals. The callback reports each call, so the
/// AFS step (i = 0) is not reported.
///
/// **Global order.**
/// * `order` = 1: 1 (it is [`Euler`](super::Euler)).
/// * `order` = 2, 3, 4: 2, for two reasons. The Euler first step's O(h²) local error is never
///   recovered; and even without it, constant weights on a non-uniform grid (Karras, log-SNR, …)
///   are only second order: they integrate a linear d(σ) with an error O(h²·(hᵢ/hᵢ₋₁ − 1)) per
///   step, and on a smoothly graded grid the step ratio is 1 + O(h), so the local error is O(h³).
/// * `afs` = true: 1. The first step's error is (1 − σ₁/σ₀)·D(x₀; σ₀), which is O(h) and vanishes
///   only when the denoiser's output at σ₀ is 0. It is small when the data are centred and
///   σ₀ ≫ the data scale (D(x; σ₀) = the data mean + O(σ₀⁻¹)), which is why AFS helps at 5–10
///   calls, but it is what dominates as the number of steps grows.
///
/// `order` must be 1 to 4 (diff-sampler's default is 4); other values fail at sample time with
/// [`SolveError::InvalidOption`] and `order()` is NaN.
#[derive(Clone, Copy, Debug)]
pub struct Ipndm {
    /// The Adams–Bashforth order k, 1 to 4.
    pub order: usize,
    /// Analytic first step: d₀ = x₀/σ₀ without a model call.
    pub afs: bool,
}

impl Default for Ipndm {
    fn default() -> Self {
        Self {
            order: MAX_ORDER,
            afs: false,
        }
    }
}

impl<S: State> Sampler<S> for Ipndm {
    fn name(&self) -> &'static str {
        match (self.order, self.afs) {
            (_, true) => "ipndm-afs",
            (2, false) => "ipndm-2",
            (3, false) => "ipndm-3",
            _ => "ipndm",
        }
    }

    /// 1 for `order` = 1 or `afs`, 2 for `order` 2–4, NaN for an invalid order.
    fn order(&self) -> Option<f64> {
        Some(match self.order {
            1..=MAX_ORDER if self.afs => 1.0,
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
                reason: "the iPNDM order must be 1, 2, 3 or 4",
            });
        }
        let s = sigmas.as_slice();
        // The step to σ = 0 returns D, as in diff-sampler (`denoise_to_zero`).
        let ab_steps = s.len() - 1 - usize::from(sigmas.ends_at_zero());
        let coeffs: Vec<Vec<f64>> = (0..ab_steps)
            .map(|i| {
                let h = s[i + 1] - s[i];
                AB_WEIGHTS[(i + 1).min(self.order) - 1]
                    .iter()
                    .map(|b| h * b)
                    .collect()
            })
            .collect();
        adams_bashforth_in_sigma(model, x, s, &coeffs, self.afs, ctx)
    }
}
