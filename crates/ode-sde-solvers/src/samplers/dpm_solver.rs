//! DPM-Solver-1, -2 and -3: singlestep exponential integrators in ε form, one per grid interval.

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler, to_d};
use crate::SolveError;
use crate::denoiser::Denoiser;
use crate::state::State;

/// DPM-Solver (Lu et al. 2022, "DPM-Solver: A Fast ODE Solver for Diffusion Probabilistic Model
/// Sampling in Around 10 Steps", Algorithms 1 and 4 with r₁ = 1/2, and r₁ = 1/3, r₂ = 2/3),
/// as k-diffusion's `DPMSolver.dpm_solver_{1,2,3}_step`, applied on each interval of the σ grid.
/// In α = 1 variables, with t = −ln σ, h = tᵢ₊₁ − tᵢ, σ(t) = e^{−t} and the noise prediction
/// ε(x; t) = (x − D(x; σ(t)))/σ(t), ε₀ = ε(xᵢ; tᵢ):
///
/// - order 1 (DDIM; here exactly the Euler step in σ): xᵢ₊₁ = xᵢ − σᵢ₊₁·expm1(h)·ε₀;
/// - order 2: u₁ = xᵢ − σ(s₁)·expm1(r₁h)·ε₀ at s₁ = tᵢ + r₁h, r₁ = 1/2;
///   xᵢ₊₁ = xᵢ − σᵢ₊₁·expm1(h)·ε₀ − σᵢ₊₁/(2r₁)·expm1(h)·(ε(u₁; s₁) − ε₀);
/// - order 3: r₁ = 1/3, r₂ = 2/3, u₁ as above,
///   u₂ = xᵢ − σ(s₂)·expm1(r₂h)·ε₀ − σ(s₂)·(r₂/r₁)·(expm1(r₂h)/(r₂h) − 1)·(ε(u₁; s₁) − ε₀),
///   xᵢ₊₁ = xᵢ − σᵢ₊₁·expm1(h)·ε₀ − σᵢ₊₁/r₂·(expm1(h)/h − 1)·(ε(u₂; s₂) − ε₀).
///
/// The step to σ = 0 (t = ∞) returns D(xᵢ; σᵢ). Denoiser calls: `order` per step, 1 for the step
/// to 0. Global order = `order` (each step has local error O(h^{order+1}), no warm-up).
/// `order` must be 1, 2 or 3; other values fail at sample time with
/// [`SolveError::InvalidOption`] (and `order()` is NaN).
#[derive(Clone, Copy, Debug)]
pub struct DpmSolver {
    /// 1, 2 or 3.
    pub order: u8,
}

impl Default for DpmSolver {
    fn default() -> Self {
        Self { order: 3 }
    }
}

impl<S: State> Sampler<S> for DpmSolver {
    fn name(&self) -> &'static str {
        match self.order {
            1 => "dpm-solver-1",
            2 => "dpm-solver-2",
            _ => "dpm-solver-3",
        }
    }

    fn order(&self) -> Option<f64> {
        Some(match self.order {
            1..=3 => f64::from(self.order),
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
                reason: "the DPM-Solver order must be 1, 2 or 3",
            });
        }
        let s = sigmas.as_slice();
        let sigma_of = |t: f64| (-t).exp();
        let eps = |x: &S, t: f64| -> Result<S, SolveError> {
            let sigma = sigma_of(t);
            Ok(to_d(x, sigma, &model.denoise(x, sigma)?))
        };
        for i in 0..s.len() - 1 {
            let denoised = ctx.denoise(model, &x, i, s[i])?;
            if s[i + 1] == 0.0 {
                x = denoised;
                break;
            }
            let eps0 = to_d(&x, s[i], &denoised);
            let (t, t_next) = (-s[i].ln(), -s[i + 1].ln());
            let h = t_next - t;
            let sn = s[i + 1];
            let em1 = h.exp_m1();
            x = match self.order {
                1 => x.add_scaled(-sn * em1, &eps0),
                2 => {
                    let r1 = 0.5;
                    let s1 = t + r1 * h;
                    let u1 = x
                        .clone()
                        .add_scaled(-sigma_of(s1) * (r1 * h).exp_m1(), &eps0);
                    let eps1 = eps(&u1, s1)?;
                    let c = sn / (2.0 * r1) * em1;
                    x.lincomb(1.0, &[(-sn * em1 + c, &eps0), (-c, &eps1)])
                }
                _ => {
                    let (r1, r2) = (1.0 / 3.0, 2.0 / 3.0);
                    let (s1, s2) = (t + r1 * h, t + r2 * h);
                    let u1 = x
                        .clone()
                        .add_scaled(-sigma_of(s1) * (r1 * h).exp_m1(), &eps0);
                    let eps1 = eps(&u1, s1)?;
                    let e2 = (r2 * h).exp_m1();
                    let c1 = sigma_of(s2) * (r2 / r1) * (e2 / (r2 * h) - 1.0);
                    let u2 = x
                        .clone()
                        .lincomb(1.0, &[(-sigma_of(s2) * e2 + c1, &eps0), (-c1, &eps1)]);
                    let eps2 = eps(&u2, s2)?;
                    let c2 = sn / r2 * (em1 / h - 1.0);
                    x.lincomb(1.0, &[(-sn * em1 + c2, &eps0), (-c2, &eps2)])
                }
            };
        }
        Ok(x)
    }
}
