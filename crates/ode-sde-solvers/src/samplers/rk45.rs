//! Adaptive Dormand–Prince integration of the probability-flow ODE in σ.

use scoreflow_noise_schedules::SigmaGrid;

use super::{SampleContext, Sampler, to_d};
use crate::SolveError;
use crate::denoiser::{Denoiser, ErrorStash};
use crate::error::DenoiseError;
use crate::ode::{Dopri5, SolveOptions, integrate};
use crate::state::State;

/// The probability-flow ODE dx/dσ = (x − D(x; σ))/σ (Karras et al. 2022, eq. (1) with
/// σ(t) = t, s(t) = 1) integrated adaptively with Dormand–Prince 5(4) (Dormand & Prince 1980;
/// as `scipy`'s `RK45` / score_sde's ODE sampler, here with this crate's [`integrate`] and an
/// integral step-size controller at tolerances `rtol`, `atol`) from σ₀ to the last positive σ
/// of the grid; if the grid ends in 0, one more denoiser call returns D(x; σ_min).
///
/// Only the first and the last positive σ of the grid matter: the steps are chosen by the
/// controller, not by the grid. The callback is told only about the final denoiser call
/// (grid index N − 1, σ_min), since the integrator's stage evaluations include rejected steps;
/// a grid that ends at σ_min > 0 reports nothing.
///
/// `order()` is 5, the order of the Dormand–Prince pair in its own step size; the error is
/// controlled by the tolerances (roughly proportional to them) and does not depend on the
/// grid's step count.
#[derive(Clone, Copy, Debug)]
pub struct Rk45 {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
}

impl Default for Rk45 {
    fn default() -> Self {
        Self {
            rtol: 1e-5,
            atol: 1e-5,
        }
    }
}

impl<S: State> Sampler<S> for Rk45 {
    fn name(&self) -> &'static str {
        "rk45"
    }

    fn order(&self) -> Option<f64> {
        Some(5.0)
    }

    fn sample(
        &self,
        model: &dyn Denoiser<S>,
        x: S,
        sigmas: &SigmaGrid,
        ctx: &mut SampleContext<'_, S>,
    ) -> Result<S, SolveError> {
        let s = sigmas.as_slice();
        let ends_at_zero = sigmas.ends_at_zero();
        let last = if ends_at_zero {
            s.len() - 2
        } else {
            s.len() - 1
        };
        let (sigma_max, sigma_min) = (s[0], s[last]);
        let x = if sigma_min < sigma_max {
            // The model runs inside the ODE's vector field: its error goes through the stash.
            let stash = ErrorStash::<DenoiseError>::new();
            let term = |sigma: f64, y: &S| {
                stash.state(y, || Ok(to_d(y, sigma, &model.denoise(y, sigma)?)))
            };
            let options = SolveOptions::adaptive(self.rtol, self.atol);
            let result = integrate(&term, &Dopri5, sigma_max, sigma_min, x, &options);
            let mut sol = stash.finish(result)?;
            sol.ys.pop().expect("the solution keeps its end point")
        } else {
            x
        };
        if !ends_at_zero {
            return Ok(x);
        }
        let denoised = ctx.denoise(model, &x, last, sigma_min)?;
        Ok(denoised)
    }
}
