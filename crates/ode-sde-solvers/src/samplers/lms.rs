//! k-diffusion's linear multistep sampler: variable-step Adams–Bashforth in σ.

use scoreflow_noise_schedules::SigmaGrid;

use super::adams::{adams_bashforth_in_sigma, lagrange_integrals};
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The largest order [`Lms`] accepts.
const MAX_ORDER: usize = 4;

/// k-diffusion `sample_lms`: the variable-step Adams–Bashforth method in σ on the
/// probability-flow ODE dx/dσ = d(x; σ) = (x − D(x; σ))/σ,
///
/// x ← x + Σⱼ₌₀^{k−1} cᵢⱼ·d(xᵢ₋ⱼ; σᵢ₋ⱼ),  cᵢⱼ = ∫_{σᵢ}^{σᵢ₊₁} ℓⱼ(τ) dτ,
///
/// where ℓⱼ is the Lagrange basis polynomial of the nodes σᵢ, …, σᵢ₋ₖ₊₁ that is 1 at σᵢ₋ⱼ and
/// k = min(i + 1, `order`) (the first steps warm up at lower order). k-diffusion integrates ℓⱼ
/// with `scipy.integrate.quad`; here the integral is exact: ℓⱼ is expanded into monomials of
/// τ − σᵢ and integrated term by term, in `f64` on the host, before the loop
/// ([`Lms::coefficients`]). The step to σ = 0 is an ordinary Adams–Bashforth step (as in
/// k-diffusion), one denoiser call per step.
///
/// `order` must be 1 to 4 (k-diffusion's default is 4; higher Adams–Bashforth orders have
/// vanishing stability regions); other values fail at sample time with
/// [`SolveError::InvalidOption`].
///
/// Global order: 1 for `order` = 1 (then it is exactly [`Euler`](super::Euler)); 2 for every
/// `order` ≥ 2, because the warm-up's first step is an Euler step whose O(h²) local error is
/// never recovered. (On a grid ending in 0 the last step extrapolates d over the fixed interval
/// [0, σ_min] from nodes that crowd together near σ_min, so for `order` ≥ 2 the result does not
/// converge to either the ODE's x(0) or D(x(σ_min); σ_min) but to a point O(σ_min²) away; the
/// order is measured on grids ending at σ_min.)
#[derive(Clone, Copy, Debug)]
pub struct Lms {
    /// The Adams–Bashforth order k, 1 to 4.
    pub order: usize,
}

impl Default for Lms {
    fn default() -> Self {
        Self { order: 4 }
    }
}

impl Lms {
    /// The coefficients cᵢⱼ, j = 0..k, of step i (σᵢ → σᵢ₊₁) of the order-k Adams–Bashforth
    /// method on the grid `sigmas`: ∫_{σᵢ}^{σᵢ₊₁} ℓⱼ(τ) dτ with ℓⱼ the Lagrange basis polynomial
    /// of the nodes σᵢ, σᵢ₋₁, …, σᵢ₋ₖ₊₁ that is 1 at σᵢ₋ⱼ. Computed exactly (up to rounding) by
    /// expanding ℓⱼ in powers of u = τ − σᵢ.
    ///
    /// # Panics
    /// If k = 0, k > i + 1 or i + 1 ≥ `sigmas.len()`.
    pub fn coefficients(sigmas: &[f64], i: usize, order: usize) -> Vec<f64> {
        assert!(
            order >= 1 && order <= i + 1,
            "order {order} too high for step {i}"
        );
        let h = sigmas[i + 1] - sigmas[i];
        // Nodes relative to σᵢ, so that the polynomial is well conditioned.
        let nodes: Vec<f64> = (0..order).map(|k| sigmas[i - k] - sigmas[i]).collect();
        // ∫₀^h u^m du = h^{m+1}/(m + 1).
        let moments: Vec<f64> = (0..order)
            .map(|m| h.powi(m as i32 + 1) / (m + 1) as f64)
            .collect();
        lagrange_integrals(&nodes, &moments)
    }
}

impl<S: State> Sampler<S> for Lms {
    fn name(&self) -> &'static str {
        "lms"
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
                reason: "the LMS order must be 1, 2, 3 or 4",
            });
        }
        let s = sigmas.as_slice();
        // Every step, the one to σ = 0 included, is an Adams–Bashforth step (k-diffusion).
        let coeffs: Vec<Vec<f64>> = (0..s.len() - 1)
            .map(|i| Self::coefficients(s, i, (i + 1).min(self.order)))
            .collect();
        adams_bashforth_in_sigma(model, x, s, &coeffs, false, ctx)
    }
}
