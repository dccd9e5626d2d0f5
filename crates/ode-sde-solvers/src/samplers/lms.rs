//! k-diffusion's linear multistep sampler: variable-step Adams–Bashforth in σ.

use std::collections::VecDeque;

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler, to_d};
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
        (0..order)
            .map(|j| {
                // Monomial coefficients (ascending powers of u) of Π_{k≠j} (u − a_k).
                let mut poly = vec![1.0];
                let mut denom = 1.0;
                for (k, &a) in nodes.iter().enumerate() {
                    if k == j {
                        continue;
                    }
                    let mut next = vec![0.0; poly.len() + 1];
                    for (m, &c) in poly.iter().enumerate() {
                        next[m + 1] += c;
                        next[m] -= a * c;
                    }
                    poly = next;
                    denom *= nodes[j] - a;
                }
                // ∫₀^h Σ_m p_m u^m du = Σ_m p_m h^{m+1}/(m + 1).
                let integral: f64 = poly
                    .iter()
                    .enumerate()
                    .map(|(m, &c)| c * h.powi(m as i32 + 1) / (m + 1) as f64)
                    .sum();
                integral / denom
            })
            .collect()
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
        mut x: S,
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
        let steps = s.len() - 1;
        let coeffs: Vec<Vec<f64>> = (0..steps)
            .map(|i| Self::coefficients(s, i, (i + 1).min(self.order)))
            .collect();
        // ds[0] is the newest derivative, d(xᵢ; σᵢ).
        let mut ds: VecDeque<S> = VecDeque::with_capacity(self.order + 1);
        for (i, c) in coeffs.iter().enumerate() {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            ds.push_front(to_d(&x, s[i], &denoised));
            ds.truncate(self.order);
            let terms: Vec<(f64, &S)> = c.iter().copied().zip(ds.iter()).collect();
            x = x.lincomb(1.0, &terms);
        }
        Ok(x)
    }
}
