//! The exponential multistep sampler in data prediction with exactly integrated Lagrange
//! coefficients, its free (Adams–Moulton-type) corrector, and an extrapolated end.

use std::collections::VecDeque;

use scoreflow_noise_schedules::SigmaGrid;

use super::adams::lagrange_integrals;
use super::extrapolated_end::{Extrapolation, combine};
use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The largest order [`ExpMultistep`] accepts.
pub const MAX_EXP_ORDER: usize = 3;

/// The variable the interpolating polynomial of the denoiser outputs is a polynomial in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolyVariable {
    /// v = 1/σ (the signal-to-noise ratio α/σ; in CondOT time v = t/(1 − t)): the increment is
    /// ∫ P(v) dv, a polynomial integral (DEIS's ρ-AB with its exponential integrator in the
    /// "ρ = σ/α" time, Zhang & Chen 2023, with the roles of data and noise prediction swapped).
    V,
    /// λ = −ln σ = ln v (the half log-SNR of DPM-Solver++, Lu et al. 2022b): the increment is
    /// ∫ P(λ)·e^λ dλ, integrated exactly through φ-functions. DPM-Solver++(2M)/(3M) and UniPC use
    /// finite-difference approximations of these same integrals; here they are exact.
    Lambda,
}

/// One update of the scaled state w = a(v)·y (see [`ExpMultistep`]):
/// w′ = `ratio`·w + Σⱼ `weights[j]`·Dⱼ, the outputs newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpUpdate {
    /// a(v′)/a(v).
    pub ratio: f64,
    /// The coefficients of the denoiser outputs, newest first.
    pub weights: Vec<f64>,
}

/// Exponential multistep in data prediction with exact coefficients (Zhang & Chen 2023, "Fast
/// Sampling of Diffusion Models with Exponential Integrator" (DEIS), §4: the exponential
/// integrator with the Lagrange polynomial of past model outputs integrated exactly; here on the
/// data prediction D as in Lu et al. 2022b, "DPM-Solver++", whose multistep coefficients it
/// replaces by the exact ones; corrector as UniC, Zhao et al. 2023, "UniPC", §3.2).
///
/// **Equation.** In the α = 1 variables x = x₀ + σε, with v = 1/σ and y = x/σ = x·v, the
/// probability-flow ODE dx/dσ = (x − D(x; σ))/σ becomes exactly dy/dv = D(x; σ): the linear part
/// is solved exactly. Step i (vᵢ → vᵢ₊₁) of order k:
///
/// yᵢ₊₁ = yᵢ + ∫_{vᵢ}^{vᵢ₊₁} P(v) dv,  i.e.  xᵢ₊₁ = (σᵢ₊₁/σᵢ)·xᵢ + Σⱼ₌₀^{k−1} cᵢⱼ·Dᵢ₋ⱼ,
///
/// P the Lagrange polynomial through (sᵢ₋ⱼ, Dᵢ₋ⱼ), j < k, in s = v ([`PolyVariable::V`]:
/// cᵢⱼ = σᵢ₊₁∫ℓⱼ dv) or s = λ = ln v ([`PolyVariable::Lambda`]: cᵢⱼ = σᵢ₊₁∫ℓⱼ(λ)·e^λ dλ), with
/// k = min(`order`, i + 1) (lower-order warm-up). The integrals are exact: ℓⱼ is expanded in
/// powers of θ = (s − sᵢ)/(sᵢ₊₁ − sᵢ) and integrated against the moments ∫₀¹θᵐ dθ = 1/(m + 1)
/// (in v) or h∫₀¹θᵐe^{−h(1−θ)} dθ = h·m!·φₘ₊₁(−h), h = λᵢ₊₁ − λᵢ (in λ), all in `f64` on the
/// host before the loop. Order 1 in either variable is the DDIM / Euler step
/// xᵢ₊₁ = (σᵢ₊₁/σᵢ)·xᵢ + (1 − σᵢ₊₁/σᵢ)·Dᵢ.
///
/// **Corrector** (`corrector = true`, no extra call): once Dᵢ₊₁ = D(xᵢ₊₁; σᵢ₊₁) is evaluated at
/// the predicted xᵢ₊₁ for the next step, xᵢ₊₁ is recomputed from xᵢ with the implicit
/// (Adams–Moulton-type) polynomial through Dᵢ₊₁, Dᵢ, …, Dᵢ₊₁₋ₖ (k + 1 nodes, exactly integrated),
/// and the next step starts from the corrected xᵢ₊₁ with the same Dᵢ₊₁ — UniPC's UniC scheme, with
/// exact coefficients in place of its B(h) approximation. The last state is not corrected (there
/// is no call after it).
///
/// **Grid and NFE.** Model calls at σ₀, …, σ_{N−1} of the grid σ₀ > … > σ_N: exactly N calls.
/// A grid ending at σ_N > 0 returns x_N. A grid ending in σ_N = 0 (v = ∞, where no polynomial of
/// positive degree is integrable) ends with [`Extrapolation`] `end` through the last outputs,
/// the newest being D(x_{N−1}; σ_{N−1}): with m = 1 ([`Extrapolation::DENOISE`]) that is the
/// usual final step, returning D(x_{N−1}; σ_{N−1}); with m ≥ 2 it extrapolates to σ = 0 (so a
/// grid of N + 1 points ending in 0 costs exactly N calls either way, and its σ_{N−1} is the
/// σ_last of the extrapolation).
///
/// **Global order** on grids ending at σ_min > 0 (the end does not enter), warm-up included: a
/// first step of order 1 has local error O(h²) and caps the global order at 2 (see the module
/// docs); corrected, the warm-up step has two nodes and local error O(h³). Without corrector:
/// 1 for `order` 1, 2 for `order` 2 and 3. With corrector (order k + 1 per corrected step, and
/// the final, uncorrected order-k step has local error O(h^{k+1})): 2 for `order` 1, 3 for
/// `order` 2, 3 for `order` 3 (capped by the corrected warm-up step).
///
/// **Exactness.** The coefficients integrate polynomials in s of degree ≤ k − 1 (predictor) and
/// ≤ k (corrector) exactly, so when D along the path is such a polynomial the result is exact to
/// rounding: a constant D (point-mass data) for every configuration; D affine in s with the
/// corrector for `order` ≥ 2.
///
/// The same iteration on any scaled state w = a(v)·y is [`ExpMultistep::solve_in_v`], which the
/// flow sampler of `scoreflow-flow-matching` uses with a = 1 − t.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpMultistep {
    /// k: the number of outputs in the predictor's polynomial, 1 to [`MAX_EXP_ORDER`].
    pub order: usize,
    /// The variable of the polynomial (v or λ).
    pub variable: PolyVariable,
    /// Whether to apply the free corrector.
    pub corrector: bool,
    /// How a grid ending in 0 ends.
    pub end: Extrapolation,
}

impl Default for ExpMultistep {
    /// `exp-2-lambda`: order 2 in λ, corrector on, the ordinary final step — the configuration
    /// the few-step study (`scoreflow-flow-matching`'s `examples/few_step_study.rs`) found best
    /// on every target, on the grid of [`SigmaGrid::condot_to_zero`](scoreflow_noise_schedules::SigmaGrid::condot_to_zero). (In v, orders ≥ 2 are
    /// unstable at few steps on grids whose v-steps grow by large ratios, such as Karras ρ = 7
    /// down to σ = 0.002, where v spans 1/80 to 500: variable-step Adams methods lose zero
    /// stability when consecutive steps differ by factors ≳ 2.)
    fn default() -> Self {
        Self {
            order: 2,
            variable: PolyVariable::Lambda,
            corrector: true,
            end: Extrapolation::DENOISE,
        }
    }
}

impl ExpMultistep {
    /// Fails on an order outside 1..=3 or an invalid `end`.
    ///
    /// # Errors
    /// [`SolveError::InvalidOption`].
    pub fn validate(&self) -> Result<(), SolveError> {
        if !(1..=MAX_EXP_ORDER).contains(&self.order) {
            return Err(SolveError::InvalidOption {
                name: "order",
                value: self.order as f64,
                reason: "the exponential multistep order must be 1, 2 or 3",
            });
        }
        self.end.validate()
    }

    /// The predictor (`corrector = false`) or corrector update of step i (node i → i + 1) of
    /// order k on the nodes `v` (strictly increasing, finite at i + 1) with scales `scale`
    /// (aᵢ, the state being w = a(v)·y; a = σ = 1/v in σ-space).
    ///
    /// Predictor: nodes sᵢ, …, sᵢ₋ₖ₊₁, weights of Dᵢ, …, Dᵢ₋ₖ₊₁. Corrector: nodes sᵢ₊₁, sᵢ, …,
    /// sᵢ₋ₖ₊₁, weights of Dᵢ₊₁, Dᵢ, …, Dᵢ₋ₖ₊₁. In λ, a step whose oldest node is v = 0
    /// (λ = −∞: the flow's start) is taken in v instead.
    ///
    /// # Panics
    /// If k = 0, k > i + 1 or i + 1 ≥ `v.len()`.
    pub fn update(
        &self,
        v: &[f64],
        scale: &[f64],
        i: usize,
        k: usize,
        corrector: bool,
    ) -> ExpUpdate {
        assert!(k >= 1 && k <= i + 1, "order {k} too high for step {i}");
        // λ = ln v is −∞ at v = 0 (the flow's t = 0): steps with that node use v.
        let variable = if v[i + 1 - k] == 0.0 {
            PolyVariable::V
        } else {
            self.variable
        };
        let s = |j: usize| match variable {
            PolyVariable::V => v[j],
            PolyVariable::Lambda => v[j].ln(),
        };
        let width = s(i + 1) - s(i);
        let mut nodes: Vec<f64> = Vec::with_capacity(k + 1);
        if corrector {
            nodes.push(1.0);
        }
        nodes.extend((0..k).map(|j| (s(i - j) - s(i)) / width));
        // ∫θᵐ dμ(θ) for the measure of the step, in units of the state's weights.
        let moments: Vec<f64> = match variable {
            PolyVariable::V => {
                let factor = scale[i + 1] * (v[i + 1] - v[i]);
                (0..nodes.len()).map(|m| factor / (m + 1) as f64).collect()
            }
            PolyVariable::Lambda => {
                let factor = scale[i + 1] * v[i + 1] * width;
                exp_moments(width, nodes.len())
                    .into_iter()
                    .map(|e| factor * e)
                    .collect()
            }
        };
        ExpUpdate {
            ratio: scale[i + 1] / scale[i],
            weights: lagrange_integrals(&nodes, &moments),
        }
    }

    /// The method on a grid of v: from w₀ = a(v₀)·y₀ at v₀ up the strictly increasing nodes
    /// `v` (v₀ ≥ 0; the last may be +∞, i.e. σ = 0), the state w = a(v)·y scaled by
    /// `scale` (aᵢ > 0 at finite nodes; the entry at v = ∞ is unused). `model(i, w)` is the
    /// denoiser output D at node i for the state wᵢ. Calls `model` at nodes 0, …, M − 1 of the M + 1
    /// nodes (exactly M calls); returns w_M, or at v_M = ∞ the extrapolation `end` through the
    /// outputs at σᵢ = 1/vᵢ.
    ///
    /// # Errors
    /// Invalid options or nodes ([`SolveError::InvalidOption`]), and the model's error as soon as
    /// it fails.
    pub fn solve_in_v<S: State>(
        &self,
        model: &mut dyn FnMut(usize, &S) -> Result<S, SolveError>,
        w0: S,
        v: &[f64],
        scale: &[f64],
    ) -> Result<S, SolveError> {
        self.validate()?;
        check_nodes(v, scale)?;
        let calls = v.len() - 1;
        let to_infinity = v[calls] == f64::INFINITY;
        let steps = if to_infinity { calls - 1 } else { calls };
        let order_of = |i: usize| self.order.min(i + 1);
        let predictors: Vec<ExpUpdate> = (0..steps)
            .map(|i| self.update(v, scale, i, order_of(i), false))
            .collect();
        // Correcting w_{i+1} needs the call at node i + 1 and pays off only if a step leaves it.
        let correctors: Vec<ExpUpdate> = if self.corrector {
            (0..steps.saturating_sub(1))
                .map(|i| self.update(v, scale, i, order_of(i), true))
                .collect()
        } else {
            Vec::new()
        };
        let keep = self
            .order
            .max(if to_infinity { self.end.points } else { 1 });
        // Outputs newest first.
        let mut outputs: VecDeque<S> = VecDeque::with_capacity(keep + 1);
        let mut w = w0;
        let mut previous: Option<S> = None;
        for (i, predictor) in predictors.iter().enumerate() {
            let d = model(i, &w)?;
            if let (Some(c), Some(w_prev)) = (
                i.checked_sub(1).and_then(|j| correctors.get(j)),
                previous.take(),
            ) {
                let mut terms: Vec<(f64, &S)> = vec![(c.weights[0], &d)];
                terms.extend(c.weights[1..].iter().copied().zip(outputs.iter()));
                w = w_prev.lincomb(c.ratio, &terms);
            }
            outputs.push_front(d);
            outputs.truncate(keep);
            let terms: Vec<(f64, &S)> = predictor
                .weights
                .iter()
                .copied()
                .zip(outputs.iter())
                .collect();
            // The corrector redoes this step from w once the next output is known: keep w then.
            w = if self.corrector {
                let next = w.clone().lincomb(predictor.ratio, &terms);
                previous = Some(w);
                next
            } else {
                w.lincomb(predictor.ratio, &terms)
            };
        }
        if !to_infinity {
            return Ok(w);
        }
        let d = model(calls - 1, &w)?;
        outputs.push_front(d);
        let m = self.end.points.min(outputs.len());
        let nodes: Vec<(f64, &S)> = (0..m)
            .map(|j| (1.0 / v[calls - 1 - j], &outputs[j]))
            .collect();
        Ok(combine(&self.end, &nodes))
    }
}

/// vᵢ strictly increasing from v₀ ≥ 0, finite but for a last +∞; positive finite
/// scales.
fn check_nodes(v: &[f64], scale: &[f64]) -> Result<(), SolveError> {
    let bad = |value: f64, reason: &'static str| SolveError::InvalidOption {
        name: "v",
        value,
        reason,
    };
    if v.len() < 2 || scale.len() != v.len() {
        return Err(bad(
            v.len() as f64,
            "need at least two nodes and one scale per node",
        ));
    }
    if v[0].is_nan() || v[0] < 0.0 {
        return Err(bad(v[0], "v0 must be >= 0"));
    }
    let last = v.len() - 1;
    for (i, pair) in v.windows(2).enumerate() {
        if pair[1].is_nan() || pair[1] <= pair[0] || (pair[1] == f64::INFINITY && i + 1 != last) {
            return Err(bad(
                pair[1],
                "nodes must increase strictly and be finite but for a last +inf",
            ));
        }
    }
    for (i, &a) in scale.iter().enumerate() {
        if v[i].is_finite() && !(a > 0.0 && a.is_finite()) {
            return Err(bad(a, "scales must be positive and finite"));
        }
    }
    Ok(())
}

/// Eₘ(h) = ∫₀¹θᵐe^{−h(1−θ)} dθ = m!·φₘ₊₁(−h) for m < `count`, h > 0.
///
/// For h ≤ 4 the series Eₘ = Σₙ (−h)ⁿ·m!/(m + n + 1)! (from the Beta integrals
/// ∫θᵐ(1 − θ)ⁿ = m!n!/(m + n + 1)!; its largest term is below 3, so at most one digit cancels);
/// above, the recurrence E₀ = −expm1(−h)/h, Eₘ = (1 − m·Eₘ₋₁)/h (integration by parts), which
/// is stable there because it multiplies errors by m/h < 1 for the m ≤ 3 used.
fn exp_moments(h: f64, count: usize) -> Vec<f64> {
    if h <= 4.0 {
        (0..count)
            .map(|m| {
                // term n = (−h)ⁿ·m!/(m + n + 1)!, starting from n = 0: 1/(m + 1).
                let mut term = 1.0 / (m + 1) as f64;
                let mut sum = term;
                for n in 1..80 {
                    term *= -h / (m + n + 1) as f64;
                    sum += term;
                    if term.abs() < 1e-18 * sum.abs() {
                        break;
                    }
                }
                sum
            })
            .collect()
    } else {
        let mut out = Vec::with_capacity(count);
        let mut e = -(-h).exp_m1() / h;
        for m in 0..count {
            if m > 0 {
                e = (1.0 - m as f64 * e) / h;
            }
            out.push(e);
        }
        out
    }
}

impl<S: State> Sampler<S> for ExpMultistep {
    fn name(&self) -> &'static str {
        match (self.order, self.variable, self.corrector) {
            (1, PolyVariable::V, false) => "exp-1-pred",
            (2, PolyVariable::V, false) => "exp-2-pred",
            (3, PolyVariable::V, false) => "exp-3-pred",
            (1, PolyVariable::V, true) => "exp-1",
            (2, PolyVariable::V, true) => "exp-2",
            (_, PolyVariable::V, _) => "exp-3",
            (1, PolyVariable::Lambda, false) => "exp-1-lambda-pred",
            (2, PolyVariable::Lambda, false) => "exp-2-lambda-pred",
            (3, PolyVariable::Lambda, false) => "exp-3-lambda-pred",
            (1, PolyVariable::Lambda, true) => "exp-1-lambda",
            (2, PolyVariable::Lambda, true) => "exp-2-lambda",
            (_, PolyVariable::Lambda, _) => "exp-3-lambda",
        }
    }

    /// See the type's docs: without corrector 1, 2, 2; with corrector 2, 3, 3 for orders 1, 2,
    /// 3; NaN for an invalid order.
    fn order(&self) -> Option<f64> {
        Some(match (self.order, self.corrector) {
            (1, false) => 1.0,
            (2 | 3, false) | (1, true) => 2.0,
            (2 | 3, true) => 3.0,
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
        let s = sigmas.as_slice();
        // v = 1/σ (+∞ at a final 0) and the state x = σ·y: a = σ.
        let v: Vec<f64> = s.iter().map(|&sigma| 1.0 / sigma).collect();
        let mut call = |i: usize, x: &S| ctx.denoise(model, x, i, s[i]);
        self.solve_in_v(&mut call, x, &v, s)
    }
}
