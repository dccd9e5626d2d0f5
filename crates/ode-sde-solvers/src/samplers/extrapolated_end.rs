//! The extrapolated end: x(0) from the last denoiser outputs instead of a model call at σ_min.

use std::collections::VecDeque;

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler, StepInfo};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The largest number of denoiser outputs an [`Extrapolation`] combines.
pub const MAX_EXTRAPOLATION_POINTS: usize = 4;

/// The variable s(σ) in which the denoiser's output along the trajectory is extrapolated to
/// σ = 0.
///
/// Why σ² is the natural one: with τ = σ² the probability-flow ODE is
/// dx/dτ = −½·∇log p_τ(x), whose right-hand side is smooth in τ for a smooth full-rank data
/// density (p_τ is the heat flow of the data density at time τ/2), and
/// D(x; σ) = x + τ·∇log p_τ(x) (Tweedie; Karras et al. 2022, eq. (3)). So D(x(σ); σ) is a smooth
/// function of τ with D(x(0); 0) = x(0): a polynomial of degree m − 1 in τ through m outputs
/// errs by O(σ_last^{2m}), against O(σ_last^{2⌈m/2⌉}) for the polynomial in σ (an even function
/// interpolated in σ: m = 2 gains nothing over m = 1, m = 3 reaches σ⁴). λ = −ln σ cannot serve: σ = 0 is λ = ∞, where every non-constant
/// polynomial in λ diverges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndVariable {
    /// s = σ.
    Sigma,
    /// s = σ² (recommended; see the type's docs).
    SigmaSquared,
}

impl EndVariable {
    fn of(self, sigma: f64) -> f64 {
        match self {
            Self::Sigma => sigma,
            Self::SigmaSquared => sigma * sigma,
        }
    }
}

/// How a sampler reaches σ = 0 from its last model call at σ_last > 0:
///
/// x(0) ≈ P(s(0)) = Σⱼ₌₀^{m−1} wⱼ·D(x_{N−1−j}; σ_{N−1−j}),
/// wⱼ = Πₖ≠ⱼ (s(0) − sₖ)/(sⱼ − sₖ),  sₖ = s(σ_{N−1−k}),
///
/// P the Lagrange polynomial in s (an [`EndVariable`]) through the last m = `points` denoiser
/// outputs, newest first. m = 1 is the usual final step (k-diffusion's step to σ = 0 returns
/// D(x; σ_last)); m ≥ 2 extrapolates, as the numerical study in the project notes found useful
/// ("don't pay a call at σ_min": the last call is spent at σ_last ≈ 0.05–0.5 rather than on a
/// first-order step at σ_min). It costs no model call beyond the one at σ_last.
///
/// Error for exact outputs on the trajectory (which [`ExtrapolatedEnd`]'s and
/// [`super::ExpMultistep`]'s tests measure): O(σ_last^{2m}) in σ², O(σ_last^{2⌈m/2⌉}) in σ, for nodes
/// σ_{N−1−j} proportional to σ_last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extrapolation {
    /// m: the number of denoiser outputs combined, 1 to [`MAX_EXTRAPOLATION_POINTS`]. When
    /// fewer outputs exist (a grid of fewer steps), all of them are used.
    pub points: usize,
    /// The interpolation variable s(σ).
    pub variable: EndVariable,
}

impl Extrapolation {
    /// m = 1: return D(x; σ_last), the ordinary final step of a grid ending in 0.
    pub const DENOISE: Self = Self {
        points: 1,
        variable: EndVariable::SigmaSquared,
    };

    /// m outputs in σ² (see [`EndVariable`]).
    pub fn sigma_squared(points: usize) -> Self {
        Self {
            points,
            variable: EndVariable::SigmaSquared,
        }
    }

    /// Fails unless 1 ≤ `points` ≤ [`MAX_EXTRAPOLATION_POINTS`].
    ///
    /// # Errors
    /// [`SolveError::InvalidOption`].
    pub fn validate(&self) -> Result<(), SolveError> {
        if (1..=MAX_EXTRAPOLATION_POINTS).contains(&self.points) {
            Ok(())
        } else {
            Err(SolveError::InvalidOption {
                name: "extrapolation points",
                value: self.points as f64,
                reason: "must be 1 to 4",
            })
        }
    }

    /// The weights wⱼ at σ = 0 of outputs at the distinct noise levels `sigmas` (newest first;
    /// all of them are used, whatever `points` is).
    pub fn weights(&self, sigmas: &[f64]) -> Vec<f64> {
        let s: Vec<f64> = sigmas
            .iter()
            .map(|&sigma| self.variable.of(sigma))
            .collect();
        (0..s.len())
            .map(|j| {
                // (0 − sₖ)/(sⱼ − sₖ) = sₖ/(sₖ − sⱼ).
                s.iter()
                    .enumerate()
                    .filter(|&(k, _)| k != j)
                    .map(|(_, &sk)| sk / (sk - s[j]))
                    .product()
            })
            .collect()
    }
}

impl Default for Extrapolation {
    fn default() -> Self {
        Self::DENOISE
    }
}

/// Any sampler with an [`Extrapolation`] as its last step.
///
/// On a grid σ₀ > … > σ_{N−1} > σ_N = 0 it runs `inner` on σ₀, …, σ_{N−1} (the grid without its
/// final 0, so `inner`'s own last step lands on σ_last = σ_{N−1} > 0), calls the model once at
/// σ_last on the state `inner` returned, and returns the extrapolation through that output and
/// the m − 1 newest outputs `inner` reported through [`SampleContext`]'s callback
/// ([`StepInfo::denoised`] at [`StepInfo::sigma_hat`]; every sampler reports one output per grid
/// step, at the start of the step, so these are D(xᵢ; σᵢ) at the grid's noise levels, or at σ̂ᵢ
/// with churn). The caller's callback still sees every report, the final call included (as step
/// N − 1).
///
/// **NFE**: `inner`'s calls on the N − 1 steps σ₀ → … → σ_{N−1}, plus one. For samplers with one
/// call per step (euler, lms, dpmpp-2m, dpmpp-3m, unipc, exp-*) that is N, the same as on the
/// full grid, where the N-th call would be spent on D(x; σ_{N−1}) as the final step. With
/// m = 1 the result is exactly that ordinary final step.
///
/// On a grid that does not end in 0 there is nothing to extrapolate: `inner` runs unchanged.
///
/// The wrapper keeps the inner sampler's name and [`Sampler::order`]: the extrapolation adds a
/// bias of O(σ_last^{2m}) (in σ²) that does not shrink when the grid is refined at fixed
/// σ_last, and measured orders use grids ending at σ_min > 0, where the wrapper is transparent.
pub struct ExtrapolatedEnd<S> {
    /// The sampler that integrates down to σ_last.
    pub inner: Box<dyn Sampler<S>>,
    /// The final step from σ_last to 0.
    pub extrapolation: Extrapolation,
}

impl<S: State> Sampler<S> for ExtrapolatedEnd<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn order(&self) -> Option<f64> {
        self.inner.order()
    }

    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError> {
        self.extrapolation.validate()?;
        if !sigmas.ends_at_zero() {
            return self.inner.sample(model, x, sigmas, ctx);
        }
        let s = sigmas.as_slice();
        let last = s.len() - 2;
        let keep = self.extrapolation.points - 1;
        // (σ̂, D) of the newest reports, oldest first.
        let mut recorded: VecDeque<(f64, S)> = VecDeque::with_capacity(keep + 1);
        let x_last = if last == 0 {
            x
        } else {
            let truncated = SigmaGrid::new(s[..=last].to_vec())
                .map_err(|e| SolveError::InvalidInterval(e.to_string()))?;
            let outer = &mut ctx.callback;
            let mut record = |info: &StepInfo<'_, S>| {
                if let Some(cb) = outer.as_mut() {
                    cb(info);
                }
                if keep > 0 {
                    recorded.push_back((info.sigma_hat, info.denoised.clone()));
                    if recorded.len() > keep {
                        recorded.pop_front();
                    }
                }
            };
            let noise = ctx
                .noise
                .as_mut()
                .map(|n| &mut **n as &mut dyn super::NoiseSampler<S>);
            let mut inner_ctx = SampleContext {
                noise,
                callback: Some(&mut record),
            };
            self.inner.sample(model, x, &truncated, &mut inner_ctx)?
        };
        let d_last = ctx.denoise(model, &x_last, last, s[last])?;
        let mut nodes: Vec<(f64, &S)> = vec![(s[last], &d_last)];
        for (sigma, d) in recorded.iter().rev() {
            // Distinct nodes only (a sampler reporting twice at one σ adds nothing).
            if nodes.iter().all(|&(other, _)| other != *sigma) {
                nodes.push((*sigma, d));
            }
        }
        Ok(combine(&self.extrapolation, &nodes))
    }
}

/// Σⱼ wⱼ·Dⱼ over `nodes` (σⱼ, Dⱼ), newest first.
pub(crate) fn combine<S: State>(extrapolation: &Extrapolation, nodes: &[(f64, &S)]) -> S {
    let sigmas: Vec<f64> = nodes.iter().map(|&(sigma, _)| sigma).collect();
    let w = extrapolation.weights(&sigmas);
    let terms: Vec<(f64, &S)> = w[1..]
        .iter()
        .copied()
        .zip(nodes[1..].iter().map(|n| n.1))
        .collect();
    nodes[0].1.clone().lincomb(w[0], &terms)
}
