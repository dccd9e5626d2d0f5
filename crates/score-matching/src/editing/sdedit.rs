//! SDEdit: start the sampler from a noised input.

use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{SampleContext, Sampler};
use scoreflow_ode_sde_solvers::{Denoiser, State};

use super::EditError;

/// SDEdit (Meng et al. 2022, "SDEdit: Guided Image Synthesis and Editing with Stochastic
/// Differential Equations"): perturb an input x to noise level σ₀, x + σ₀z, and run `sampler`
/// from σ₀ down the rest of `sigmas` (σ₀ is inserted when it is not a grid point). σ₀ near
/// σ_max gives a free sample; small σ₀ keeps the input's structure.
///
/// # Errors
/// [`EditError::Parameter`] when σ₀ is not within the grid's positive range; the sampler's
/// errors.
pub fn sdedit<S: State>(
    sampler: &dyn Sampler<S>,
    model: &dyn Denoiser<S>,
    x: &S,
    z: &S,
    sigmas: &SigmaGrid,
    sigma0: f64,
    ctx: &mut SampleContext<'_, S>,
) -> Result<S, EditError> {
    let s = sigmas.as_slice();
    let (top, bottom) = (
        s[0],
        s.iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min),
    );
    if !(sigma0 > 0.0 && sigma0 <= top && sigma0 >= bottom) {
        return Err(EditError::Parameter {
            name: "sigma0",
            value: sigma0,
            reason: format!("must lie within the grid's range [{bottom}, {top}]"),
        });
    }
    let mut rest: Vec<f64> = vec![sigma0];
    rest.extend(s.iter().copied().filter(|v| *v < sigma0));
    if rest.len() < 2 {
        return Ok(x.clone());
    }
    let grid = SigmaGrid::new(rest).map_err(|e| EditError::Parameter {
        name: "sigma0",
        value: sigma0,
        reason: e.to_string(),
    })?;
    let start = x.clone().add_scaled(sigma0, z);
    Ok(sampler.sample(model, start, &grid, ctx)?)
}
