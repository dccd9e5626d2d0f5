//! UniPC: the unified predictor–corrector multistep solver (data prediction, B(h) variants).

use std::collections::VecDeque;

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// The choice of B(h) in UniPC's update (Zhao et al. 2023, §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UniPcVariant {
    /// B(h) = h (in the data-prediction form, B = −h with diffusers' sign convention).
    Bh1,
    /// B(h) = e^h − 1 (data-prediction form: expm1(−h)); diffusers' default.
    Bh2,
}

/// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of
/// Diffusion Models") in data-prediction (x₀) form, matching diffusers'
/// `UniPCMultistepScheduler` with `predict_x0=True`, `solver_type` "bh1"/"bh2",
/// `solver_order = order`, `lower_order_final=True` and no disabled corrector steps.
///
/// With λ = −ln σ, h = λ(σ_t) − λ(σ_s₀), h_φ₁ = expm1(−h), B = −h (bh1) or expm1(−h) (bh2),
/// model outputs mₖ = D(xₖ; σₖ) and rₖ = (λ(σ_sₖ) − λ(σ_s₀))/h for the earlier points sₖ:
///
/// - predictor UniP-p: x_t = (σ_t/σ_s₀)·x − h_φ₁·m₀ − B·Σₖ₌₁^{p−1} ρₖ·(mₖ − m₀)/rₖ, with ρ = 1/2
///   for p = 2 and ρ solving Σₖ ρₖ rₖ^{q−1} = b_q (q < p) for p = 3, b_q = q!·(−h)·φ_{q+1}(−h)/B
///   (φₖ the exponential-integrator φ functions, built by diffusers' recursion);
/// - corrector UniC-p, once the model has seen the predicted x_t: the same update from the
///   previous (corrected) x with the new output m_t as an extra node (r = 1): ρ solves the full
///   p × p system (ρ = 1/2 for p = 1) and the last term is ρ_p·(m_t − m₀).
///
/// Step i evaluates the model at the predicted xᵢ, corrects xᵢ with UniC (for i > 0, using the
/// previous step's order), then predicts xᵢ₊₁ from the corrected xᵢ with order
/// min(`order`, N − i, i + 1): warm-up from order 1, and `lower_order_final` (the last step is
/// order 1, the one before at most order 2). The corrector costs no extra denoiser call (the
/// output at the uncorrected point is reused); the final predicted state is never corrected.
/// One denoiser call per step.
///
/// **α = 1 variables.** diffusers works with x_vp = α·x and VP (α, σ_vp); with σ = σ_vp/α the
/// data-prediction update is x_t/α_t = (σ_t/σ_s)·x_s/α_s − h_φ₁·m₀ − B·(…): every term is
/// divided by the same α_t, and λ = ln(α/σ_vp) = −ln σ is unchanged, so this update in EDM
/// variables (α = 1) reproduces diffusers' VP results exactly (x_vp = α·x_edm).
///
/// **The step to σ = 0** (a grid ending in 0, diffusers' `final_sigmas_type = "zero"`): it is the
/// last step, hence order 1, and the UniP-1 update with σ_t = 0 (λ_t = ∞, e^{−h} = 0) is
/// x_t = m₀ = D(x_{N−1}; σ_{N−1}); we return that denoised value directly (for bh2 diffusers
/// computes exactly this; for bh1 its B = −h is infinite and multiplies a zero residual, and
/// m₀ is the limit).
///
/// **Global order** (grid ending in 0). UniC-p raises a p-th order step to order p + 1. Order 1:
/// 2. Order 2: 3 (the corrected warm-up step is order 2, local error O(h³); the final output is
/// D at the uncorrected order-2 prediction, local O(h³)). Order 3: 3, not 4 — the corrected
/// order-1 warm-up step and the uncorrected order-2 prediction of x_{N−1} (whose D is returned)
/// both have local error O(h³). On a grid ending at σ_min > 0 the last step is an uncorrected
/// order-1 step (local O(h²)), which caps orders 2 and 3 at 2 asymptotically.
#[derive(Clone, Copy, Debug)]
pub struct UniPc {
    /// B(h) = h or e^h − 1.
    pub variant: UniPcVariant,
    /// Solver order p: 1, 2 or 3 (others fail at sample time with
    /// [`SolveError::InvalidOption`], and `order()` is NaN).
    pub order: u8,
}

impl Default for UniPc {
    fn default() -> Self {
        Self {
            variant: UniPcVariant::Bh2,
            order: 2,
        }
    }
}

impl UniPc {
    /// The coefficient of x and of each model output in one UniP (`corrector = false`) or UniC
    /// (`corrector = true`) update to σ_t > 0 from σ_s₀ of order `order`.
    ///
    /// `lambdas[k]` is λ of stored model output k, newest (m₀ at s₀) first; the first `order`
    /// outputs are used. Returns (coefficient of x, coefficients of m₀, m₁, …); for UniC the
    /// latter have one more entry at the front, for the new output m_t.
    fn coefficients(
        &self,
        sigma_s0: f64,
        sigma_t: f64,
        lambdas: &[f64],
        order: usize,
        corrector: bool,
    ) -> (f64, Vec<f64>) {
        let lambda_s0 = -sigma_s0.ln();
        let h = -sigma_t.ln() - lambda_s0;
        // rₖ for the earlier outputs, then 1 (the new point).
        let mut rks: Vec<f64> = (1..order).map(|k| (lambdas[k] - lambda_s0) / h).collect();
        rks.push(1.0);
        let hh = -h;
        let h_phi_1 = hh.exp_m1();
        let mut h_phi_k = h_phi_1 / hh - 1.0;
        let mut factorial = 1.0;
        let b_h = match self.variant {
            UniPcVariant::Bh1 => hh,
            UniPcVariant::Bh2 => hh.exp_m1(),
        };
        let mut b = Vec::with_capacity(order);
        for q in 1..=order {
            b.push(h_phi_k * factorial / b_h);
            factorial *= (q + 1) as f64;
            h_phi_k = h_phi_k / hh - 1.0 / factorial;
        }
        // R[q][k] = rₖ^q.
        let r_matrix = |n: usize| -> Vec<Vec<f64>> {
            (0..n)
                .map(|q| rks[..n].iter().map(|r| r.powi(q as i32)).collect())
                .collect()
        };
        let rhos: Vec<f64> = if corrector {
            if order == 1 {
                vec![0.5]
            } else {
                solve(r_matrix(order), b.clone())
            }
        } else {
            match order {
                1 => Vec::new(),
                2 => vec![0.5],
                _ => solve(r_matrix(order - 1), b[..order - 1].to_vec()),
            }
        };
        // x_t = ratio·x − h_φ₁·m₀ − B·(Σₖ ρₖ (mₖ − m₀)/rₖ [+ ρ_last (m_t − m₀)]).
        let ratio = sigma_t / sigma_s0;
        let mut out = Vec::with_capacity(order + 1);
        if corrector {
            out.push(-b_h * rhos[order - 1]);
        }
        let mut c_m0 = -h_phi_1;
        let mut earlier = Vec::with_capacity(order);
        for k in 1..order {
            let c = -b_h * rhos[k - 1] / rks[k - 1];
            c_m0 -= c;
            earlier.push(c);
        }
        if corrector {
            c_m0 += b_h * rhos[order - 1];
        }
        out.push(c_m0);
        out.extend(earlier);
        (ratio, out)
    }
}

/// Solves the small dense system `a·x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col].clone();
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (v, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x
}

impl<S: State> Sampler<S> for UniPc {
    fn name(&self) -> &'static str {
        match (self.variant, self.order) {
            (UniPcVariant::Bh1, 1) => "unipc-bh1-1",
            (UniPcVariant::Bh1, 3) => "unipc-bh1-3",
            (UniPcVariant::Bh1, _) => "unipc-bh1",
            (UniPcVariant::Bh2, 1) => "unipc-bh2-1",
            (UniPcVariant::Bh2, 3) => "unipc-bh2-3",
            (UniPcVariant::Bh2, _) => "unipc-bh2",
        }
    }

    /// 2 for order 1, 3 for orders 2 and 3 (see the type's docs), NaN for an invalid order.
    fn order(&self) -> Option<f64> {
        Some(match self.order {
            1 => 2.0,
            2 | 3 => 3.0,
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
        if !(1..=3).contains(&self.order) {
            return Err(SolveError::InvalidOption {
                name: "order",
                value: f64::from(self.order),
                reason: "the UniPC order must be 1, 2 or 3",
            });
        }
        let p = usize::from(self.order);
        let s = sigmas.as_slice();
        let steps = s.len() - 1;
        // The last p model outputs and their λ, newest first.
        let mut outputs: VecDeque<S> = VecDeque::with_capacity(p + 1);
        let mut lambdas: VecDeque<f64> = VecDeque::with_capacity(p + 1);
        // The corrected state the last prediction started from, and that prediction's order.
        let mut last: Option<(S, usize)> = None;
        let mut lower_order_nums = 0;
        for i in 0..steps {
            let m = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                // The last step, of order 1: x_t = m₀ at σ_t = 0.
                return Ok(m);
            }
            if let Some((last_x, k)) = last.take() {
                let lam: Vec<f64> = lambdas.iter().copied().collect();
                let (ratio, c) = self.coefficients(s[i - 1], s[i], &lam, k, true);
                let mut terms: Vec<(f64, &S)> = vec![(c[0], &m)];
                terms.extend(c[1..].iter().copied().zip(outputs.iter()));
                x = last_x.lincomb(ratio, &terms);
            }
            outputs.push_front(m);
            outputs.truncate(p);
            lambdas.push_front(-s[i].ln());
            lambdas.truncate(p);
            let this_order = p.min(steps - i).min(lower_order_nums + 1);
            let lam: Vec<f64> = lambdas.iter().copied().collect();
            let (ratio, c) = self.coefficients(s[i], s[i + 1], &lam, this_order, false);
            let terms: Vec<(f64, &S)> = c.iter().copied().zip(outputs.iter()).collect();
            let predicted = x.clone().lincomb(ratio, &terms);
            if i + 1 < steps {
                last = Some((x, this_order));
            }
            x = predicted;
            lower_order_nums = (lower_order_nums + 1).min(p);
        }
        Ok(x)
    }
}
