//! The Adams–Bashforth loop in σ shared by `lms`, `ipndm` and `deis`, which differ only in their
//! coefficients, and the exact integrals of Lagrange basis polynomials behind `lms` and `exp-*`.

use std::collections::VecDeque;

use super::{SampleContext, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// Runs x ← x + Σⱼ cᵢⱼ·dᵢ₋ⱼ, dₘ = (xₘ − D(xₘ; σₘ))/σₘ (the PF-ODE's dx/dσ), for each step i
/// whose coefficients (newest derivative first, computed on the host before the loop) are
/// `coeffs[i]`; the derivatives kept are the last `max(coeffs[i].len())`. With
/// `analytic_first`, d₀ = x₀/σ₀ without a model call (the denoiser's output taken as 0). Steps
/// of `sigmas` beyond `coeffs` — at most one, the step to σ = 0 — return D(x; σᵢ).
pub(crate) fn adams_bashforth_in_sigma<S: State>(
    model: &dyn Denoiser<S>,
    mut x: S,
    sigmas: &[f64],
    coeffs: &[Vec<f64>],
    analytic_first: bool,
    ctx: &mut SampleContext<'_, S>,
) -> Result<S, SolveError> {
    let history = coeffs.iter().map(Vec::len).max().unwrap_or(1);
    // ds[0] is the newest derivative, dᵢ.
    let mut ds: VecDeque<S> = VecDeque::with_capacity(history + 1);
    for (i, c) in coeffs.iter().enumerate() {
        let d = if analytic_first && i == 0 {
            x.clone().scale(1.0 / sigmas[0])
        } else {
            let denoised = ctx.denoise(model, &x, i, sigmas[i])?;
            to_d(&x, sigmas[i], &denoised)
        };
        ds.push_front(d);
        ds.truncate(history);
        let terms: Vec<(f64, &S)> = c.iter().copied().zip(ds.iter()).collect();
        x = x.lincomb(1.0, &terms);
    }
    let done = coeffs.len();
    if done + 1 < sigmas.len() {
        return ctx.denoise(model, &x, done, sigmas[done]);
    }
    Ok(x)
}

/// ∫ℓⱼ dμ for the Lagrange basis ℓⱼ of `nodes` (ℓⱼ(θₖ) = δⱼₖ), given the moments
/// μₘ = ∫θᵐ dμ, m < `nodes.len()`: ℓⱼ is expanded in monomials and integrated term by term.
pub(crate) fn lagrange_integrals(nodes: &[f64], moments: &[f64]) -> Vec<f64> {
    (0..nodes.len())
        .map(|j| {
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
            poly.iter().zip(moments).map(|(c, mu)| c * mu).sum::<f64>() / denom
        })
        .collect()
}
