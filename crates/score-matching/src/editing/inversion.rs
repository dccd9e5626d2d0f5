//! Deterministic inversion along the probability-flow ODE.

use scoreflow_ode_sde_solvers::ode::{
    Euler, Heun, Midpoint, Rk4, SolveOptions, StepControl, integrate,
};
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, ErrorStash, SolveError, State};

use super::EditError;

/// The one-step method of an inversion; each is also the deterministic sampler of the same name
/// (k-diffusion's `euler` and `heun` are Euler's and Heun's methods on dx/dσ = (x − D)/σ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InversionMethod {
    /// Euler, order 1.
    Euler,
    /// Heun (explicit trapezoidal), order 2.
    Heun,
    /// Explicit midpoint, order 2.
    Midpoint,
    /// Classic Runge–Kutta, order 4.
    Rk4,
}

/// Integrates dx/dσ = (x − D(x; σ))/σ (Karras et al. 2022, eq. (3)) with `method` on the
/// grid `sigmas` in the order given (increasing: encoding, decreasing: decoding).
fn pf_ode<S: State>(
    method: InversionMethod,
    model: &dyn Denoiser<S>,
    x: S,
    sigmas: &[f64],
) -> Result<S, EditError> {
    if sigmas.len() < 2 || sigmas.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(EditError::Parameter {
            name: "sigmas",
            value: sigmas.first().copied().unwrap_or(f64::NAN),
            reason: "an inversion grid needs at least two positive, finite noise levels".into(),
        });
    }
    let stash = ErrorStash::<DenoiseError>::new();
    let field = |sigma: f64, x: &S| {
        stash.state(x, || {
            let d = model.denoise(x, sigma)?;
            Ok(x.clone().lincomb(1.0 / sigma, &[(-1.0 / sigma, &d)]))
        })
    };
    let options = SolveOptions {
        control: StepControl::Grid(sigmas.to_vec()),
        ..SolveOptions::steps(sigmas.len() - 1)
    };
    let (t0, t1) = (sigmas[0], sigmas[sigmas.len() - 1]);
    let solution = match method {
        InversionMethod::Euler => integrate(&field, &Euler, t0, t1, x, &options),
        InversionMethod::Heun => integrate(&field, &Heun, t0, t1, x, &options),
        InversionMethod::Midpoint => integrate(&field, &Midpoint, t0, t1, x, &options),
        InversionMethod::Rk4 => integrate(&field, &Rk4, t0, t1, x, &options),
    };
    let solution: Result<_, SolveError> = stash.finish(solution);
    solution?
        .ys
        .into_iter()
        .last()
        .ok_or_else(|| EditError::Parameter {
            name: "sigmas",
            value: t1,
            reason: "the integration returned no state".into(),
        })
}

/// Encodes data x at σ_min = `sigmas[0]` to its noise at σ_max along the probability-flow ODE
/// (Song et al. 2021, §4.3 "exact likelihood / latent encoding"; DDIM inversion, Song, Meng &
/// Ermon 2020, §4.3): `sigmas` increasing from σ_min > 0.
///
/// # Errors
/// [`EditError::Parameter`] for a grid that is not increasing and positive; the model's error.
pub fn invert<S: State>(
    method: InversionMethod,
    model: &dyn Denoiser<S>,
    x: S,
    sigmas: &[f64],
) -> Result<S, EditError> {
    if sigmas.windows(2).any(|w| w[1] <= w[0]) {
        return Err(EditError::Parameter {
            name: "sigmas",
            value: sigmas[0],
            reason: "an encoding grid must increase strictly".into(),
        });
    }
    pf_ode(method, model, x, sigmas)
}

/// Decodes a latent at σ_max = `sigmas[0]` back to σ_min with the same method: `sigmas`
/// decreasing; `decode(invert(x, g), reverse(g))` returns x up to the method's global error,
/// O(h^order).
///
/// # Errors
/// [`EditError::Parameter`] for a grid that is not decreasing and positive; the model's error.
pub fn decode<S: State>(
    method: InversionMethod,
    model: &dyn Denoiser<S>,
    z: S,
    sigmas: &[f64],
) -> Result<S, EditError> {
    if sigmas.windows(2).any(|w| w[1] >= w[0]) {
        return Err(EditError::Parameter {
            name: "sigmas",
            value: sigmas[0],
            reason: "a decoding grid must decrease strictly".into(),
        });
    }
    pf_ode(method, model, z, sigmas)
}
