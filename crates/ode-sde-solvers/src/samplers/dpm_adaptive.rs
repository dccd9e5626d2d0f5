//! DPM-Solver-12 / 23 with adaptive steps in λ = −ln σ (k-diffusion's `sample_dpm_adaptive`).

use scoreflow_noise_schedules::SigmaGrid;

use super::arctan_pid::ArctanPid;
use super::{SampleContext, Sampler, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// k-diffusion stops when the time left is below this (`while s < t_end - 1e-5`).
const END_TOLERANCE: f64 = 1e-5;

/// Adaptive DPM-Solver (Lu et al. 2022, "DPM-Solver: A Fast ODE Solver for Diffusion
/// Probabilistic Model Sampling in Around 10 Steps", §4 and Algorithm 4), exactly as
/// k-diffusion's `sample_dpm_adaptive` / `DPMSolver.dpm_solver_adaptive` with η = 0.
///
/// In t = λ = −ln σ with h = t − s, ε(x; s) = (x − D(x; e^{−s}))/e^{−s} and σₜ = e^{−t}, the
/// DPM-Solver steps from (x, s) are
///
/// * DPM-Solver-1: x − σₜ·expm1(h)·ε₀;
/// * DPM-Solver-2 (r₁): u₁ = x − σ_{s₁}·expm1(r₁h)·ε₀ at s₁ = s + r₁h, ε₁ = ε(u₁; s₁), and
///   x − σₜ·expm1(h)·ε₀ − σₜ/(2r₁)·expm1(h)·(ε₁ − ε₀);
/// * DPM-Solver-3 (r₁ = ⅓, r₂ = ⅔): u₁, ε₁ as above, u₂ = x − σ_{s₂}·expm1(r₂h)·ε₀ −
///   σ_{s₂}·(r₂/r₁)·(expm1(r₂h)/(r₂h) − 1)·(ε₁ − ε₀), ε₂ = ε(u₂; s₂), and
///   x − σₜ·expm1(h)·ε₀ − σₜ/r₂·(expm1(h)/h − 1)·(ε₂ − ε₀).
///
/// `order` 3 pairs x_low = DPM-Solver-2(r₁ = ⅓) with x_high = DPM-Solver-3 (they share ε₁: three
/// calls per attempt); `order` 2 pairs DPM-Solver-1 with DPM-Solver-2(½) (two calls). The error
/// norm is k-diffusion's
///
/// ε = ‖(x_low − x_high)/δ‖₂/√n,  δ = max(atol, rtol·max(|x_low|, |x_prev|)) element-wise,
///
/// over all n elements of the batch, where x_prev is x_low of the last *accepted* attempt (the
/// starting x before the first), and the step size is set by k-diffusion's PID controller with
/// the arctan limiter (p, i, d) = (`pcoeff`, `icoeff`, `dcoeff`) scaled by `order`, starting at
/// h = `h_init` and accepting when its factor is ≥ `accept_safety`. Steps are clamped to end at
/// t_end = −ln σ_min and the loop stops once s ≥ t_end − 10⁻⁵, so the last state may be up to a
/// relative 10⁻⁵ above σ_min, as in k-diffusion. On acceptance x ← x_high (local extrapolation).
///
/// **Grid.** Only σ₀ and the last positive σ (σ_min) of the grid matter. k-diffusion takes
/// (σ_min, σ_max) and returns the state at σ_min; so does this sampler on a grid that ends at
/// σ_min, and on a grid ending in 0 it adds one call and returns D(x; σ_min), like the crate's
/// other samplers' final step (and [`Rk45`](super::Rk45)). The callback is told only about that
/// final call (grid index N − 1), since attempts include rejected ones.
///
/// **Denoiser calls.** k-diffusion recomputes ε₀ at the unchanged (x, s) after a rejected
/// attempt (its cache is per attempt): `order` calls per attempt. Here ε₀ is kept across
/// rejections, so the count is `order`·(accepted + rejected) − rejected, plus one for a grid
/// ending in 0; the states are the same. Each attempt also reads x_low and x_high back to the
/// host for the error norm (as `float(error)` does in k-diffusion).
///
/// **Tolerances.** The defaults are k-diffusion's — rtol 0.05, atol 0.0078 (for data in
/// [−1, 1]: ≈ 1/128) — not the crate's `SamplerOptions` defaults (10⁻⁵, used by
/// [`Rk45`](super::Rk45)); the error roughly follows them. `order()` reports the order of
/// x_high in its own step size (3 or 2); the step count is chosen by the controller, not by the
/// grid. η > 0 (k-diffusion's ancestral variant) is not implemented.
///
/// Invalid options (order not 2 or 3, rtol < 0, atol ≤ 0, h_init ≤ 0, non-finite values) fail
/// with [`SolveError::InvalidOption`]; a non-finite error norm with [`SolveError::NonFinite`]; a
/// step that no longer advances λ with [`SolveError::StepSizeTooSmall`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpmAdaptive {
    /// 3 (DPM-Solver-23) or 2 (DPM-Solver-12).
    pub order: usize,
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// First step size in λ.
    pub h_init: f64,
    /// Proportional coefficient p of the controller.
    pub pcoeff: f64,
    /// Integral coefficient i.
    pub icoeff: f64,
    /// Derivative coefficient d.
    pub dcoeff: f64,
    /// Smallest controller factor that accepts an attempt.
    pub accept_safety: f64,
}

impl Default for DpmAdaptive {
    /// k-diffusion's defaults.
    fn default() -> Self {
        Self {
            order: 3,
            rtol: 0.05,
            atol: 0.0078,
            h_init: 0.05,
            pcoeff: 0.0,
            icoeff: 1.0,
            dcoeff: 0.0,
            accept_safety: 0.81,
        }
    }
}

impl DpmAdaptive {
    fn validate(&self) -> Result<(), SolveError> {
        let invalid = |name, value, reason| {
            Err(SolveError::InvalidOption {
                name,
                value,
                reason,
            })
        };
        if !(2..=3).contains(&self.order) {
            return invalid(
                "order",
                self.order as f64,
                "dpm-adaptive's order must be 2 or 3",
            );
        }
        if !(self.rtol.is_finite() && self.rtol >= 0.0) {
            return invalid("rtol", self.rtol, "must be finite and ≥ 0");
        }
        if !(self.atol.is_finite() && self.atol > 0.0) {
            return invalid("atol", self.atol, "must be finite and > 0");
        }
        if !(self.h_init.is_finite() && self.h_init > 0.0) {
            return invalid("h_init", self.h_init, "must be finite and > 0");
        }
        for (name, value) in [
            ("pcoeff", self.pcoeff),
            ("icoeff", self.icoeff),
            ("dcoeff", self.dcoeff),
            ("accept_safety", self.accept_safety),
        ] {
            if !value.is_finite() {
                return invalid(name, value, "must be finite");
            }
        }
        Ok(())
    }

    /// One attempt from (x, s) to t with ε₀ = ε(x; s) given: (x_low, x_high).
    fn attempt<S: State>(
        &self,
        model: &dyn Denoiser<S>,
        x: &S,
        eps0: &S,
        s: f64,
        t: f64,
    ) -> Result<(S, S), SolveError> {
        let h = t - s;
        let sigma_t = (-t).exp();
        let first = sigma_t * h.exp_m1();
        let eps_at = |u: &S, tau: f64| -> Result<S, SolveError> {
            let sigma = (-tau).exp();
            Ok(to_d(u, sigma, &model.denoise(u, sigma)?))
        };
        let r1 = if self.order == 2 { 0.5 } else { 1.0 / 3.0 };
        let s1 = s + r1 * h;
        let u1 = x.clone().add_scaled(-(-s1).exp() * (r1 * h).exp_m1(), eps0);
        let eps1 = eps_at(&u1, s1)?;
        // DPM-Solver-2(r₁): x − a·ε₀ − b·(ε₁ − ε₀).
        let b = sigma_t / (2.0 * r1) * h.exp_m1();
        let dpm2 = x.clone().lincomb(1.0, &[(b - first, eps0), (-b, &eps1)]);
        if self.order == 2 {
            let dpm1 = x.clone().add_scaled(-first, eps0);
            return Ok((dpm1, dpm2));
        }
        let r2 = 2.0 / 3.0;
        let s2 = s + r2 * h;
        let sigma_s2 = (-s2).exp();
        let c = sigma_s2 * (r2 / r1) * ((r2 * h).exp_m1() / (r2 * h) - 1.0);
        let u2 = x.clone().lincomb(
            1.0,
            &[(c - sigma_s2 * (r2 * h).exp_m1(), eps0), (-c, &eps1)],
        );
        let eps2 = eps_at(&u2, s2)?;
        let e = sigma_t / r2 * (h.exp_m1() / h - 1.0);
        let dpm3 = x.clone().lincomb(1.0, &[(e - first, eps0), (-e, &eps2)]);
        Ok((dpm2, dpm3))
    }

    /// k-diffusion's error norm ‖(x_low − x_high)/max(atol, rtol·max(|x_low|, |x_prev|))‖₂/√n.
    fn error_norm(&self, low: &[f64], high: &[f64], prev: &[f64]) -> f64 {
        let sum: f64 = low
            .iter()
            .zip(high)
            .zip(prev)
            .map(|((&l, &h), &p)| {
                let delta = self.atol.max(self.rtol * l.abs().max(p.abs()));
                ((l - h) / delta).powi(2)
            })
            .sum();
        sum.sqrt() / (low.len() as f64).sqrt()
    }
}

impl<S: State> Sampler<S> for DpmAdaptive {
    fn name(&self) -> &'static str {
        "dpm-adaptive"
    }

    /// The order of x_high in its step size: `order` (2 or 3; NaN for an invalid order).
    fn order(&self) -> Option<f64> {
        Some(match self.order {
            2 | 3 => self.order as f64,
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
        self.validate()?;
        let grid = sigmas.as_slice();
        let last = if sigmas.ends_at_zero() {
            grid.len() - 2
        } else {
            grid.len() - 1
        };
        let (t_start, t_end) = (-grid[0].ln(), -grid[last].ln());
        let mut pid = ArctanPid::new(
            self.h_init,
            [self.pcoeff, self.icoeff, self.dcoeff],
            self.order as f64,
            self.accept_safety,
        );
        let mut s = t_start;
        let mut x_prev = x.to_f64_vec();
        // ε(x; s), kept until an attempt is accepted.
        let mut eps0: Option<S> = None;
        while s < t_end - END_TOLERANCE {
            let t = t_end.min(s + pid.h);
            if t <= s {
                return Err(SolveError::StepSizeTooSmall {
                    t: (-s).exp(),
                    dt: pid.h,
                });
            }
            let e0 = match eps0.take() {
                Some(e) => e,
                None => {
                    let sigma = (-s).exp();
                    to_d(&x, sigma, &model.denoise(&x, sigma)?)
                }
            };
            let (low, high) = self.attempt(model, &x, &e0, s, t)?;
            let low_host = low.to_f64_vec();
            let error = self.error_norm(&low_host, &high.to_f64_vec(), &x_prev);
            if !error.is_finite() {
                return Err(SolveError::NonFinite { t: (-s).exp() });
            }
            if pid.propose_step(error) {
                x_prev = low_host;
                x = high;
                s = t;
            } else {
                eps0 = Some(e0);
            }
        }
        if sigmas.ends_at_zero() {
            // The loop may stop up to 10⁻⁵ short of t_end: evaluate where x is.
            let reached = if s >= t_end { grid[last] } else { (-s).exp() };
            return ctx.denoise_at(model, &x, last, grid[last], reached);
        }
        Ok(x)
    }
}
