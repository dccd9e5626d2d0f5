//! Grid calibration: fit a sampler's σ grid to the user's own denoiser on a small pilot set.
//!
//! Given a deterministic sampler, an N-step starting grid and pilot starting points, the
//! calibration minimises the sampler's RMS endpoint error against a tight reference solve of the
//! same points (Dopri5 on the probability-flow ODE dx/dσ = (x − D(x; σ))/σ, Karras et al. 2022
//! eq. (3)) over a smooth family of grids with the same end points ([`GridFamily`]), with a
//! Nelder–Mead search ([`NelderMead`]). This is the per-model calibration of "Align Your Steps"
//! (Sabour et al. 2024) and GITS (Chen et al. 2024), here with the endpoint error itself as the
//! objective; its calls are reported apart from the sampling NFE ([`Calibration`]).
//!
//! A fitted grid is data: [`SigmaGrid`] serialises as a plain JSON array that the CLI's
//! `--grid FILE.json` reads back exactly. Whether a grid fitted on some models serves others is
//! an empirical question; docs/samplers.md ("Grid calibration") has the measurements.
//!
//! Deterministic: the same pilot set, sampler, start and options give the same grid bit for bit.

mod error;
mod family;
mod nelder_mead;
mod options;
mod outcome;
mod pilot;

pub use error::CalibrationError;
pub use family::GridFamily;
pub use nelder_mead::{Minimum, NelderMead};
pub use options::{CALIBRATION_REFERENCE_TOL, CalibrationOptions};
pub use outcome::Calibration;
pub use pilot::PilotSet;

use scoreflow_noise_schedules::SigmaGrid;

use super::{Rk45, SampleContext, Sampler};
use crate::SolveError;
use crate::denoiser::CountingDenoiser;
use crate::state::State;

/// Fits the grid of `sampler` to the pilot sets, starting from `start` (see the module docs).
///
/// For each pilot set p the reference x*_p is the sampler-independent endpoint of the
/// probability-flow ODE from the same points (Dopri5 at [`CalibrationOptions::reference_tolerance`]
/// down to [`CalibrationOptions::reference_sigma_min`], then D, when the grid ends in 0; down to
/// the grid's last σ otherwise). The objective of a grid g is
/// J(g) = √(1/P Σ_p (e_p(g)/e_p(start))²), e_p the RMS over the set's trajectories of
/// ‖x_p(g) − x*_p‖₂; J(start) = 1. A grid on which the sampler fails or returns non-finite
/// values scores +∞.
///
/// # Errors
/// [`CalibrationError::NoPilots`], [`CalibrationError::EmptyPilot`],
/// [`CalibrationError::Stochastic`], [`CalibrationError::StartGrid`] (σ₀ not above the reference
/// σ_min),[`CalibrationError::InvalidOption`], [`CalibrationError::NonFiniteStart`], and the
/// model's failure or a failed reference solve as [`CalibrationError::Solve`].
pub fn calibrate_grid<S: State>(
    sampler: &dyn Sampler<S>,
    start: &SigmaGrid,
    pilots: &[PilotSet<'_, S>],
    options: &CalibrationOptions,
) -> Result<Calibration, CalibrationError> {
    check(sampler, start, pilots, options)?;
    let family = GridFamily::new(start, options.degree)?;
    let mut reference_calls = 0;
    let mut references = Vec::with_capacity(pilots.len());
    let reference_grid = reference_grid(start, options.reference_sigma_min)?;
    let reference_solver = Rk45 {
        rtol: options.reference_tolerance,
        atol: options.reference_tolerance,
    };
    for pilot in pilots {
        let counting = CountingDenoiser::new(pilot.denoiser);
        let x = reference_solver.sample(
            &counting,
            pilot.x.clone(),
            &reference_grid,
            &mut SampleContext::default(),
        )?;
        reference_calls += counting.count();
        references.push(x);
    }
    let search_calls = std::cell::Cell::new(0);
    // e_p(g) for every pilot set; `None` when the sampler breaks down on g.
    let errors = |grid: &SigmaGrid| -> Result<Option<Vec<f64>>, CalibrationError> {
        let mut out = Vec::with_capacity(pilots.len());
        for (pilot, reference) in pilots.iter().zip(&references) {
            let counting = CountingDenoiser::new(pilot.denoiser);
            let run = sampler.sample(
                &counting,
                pilot.x.clone(),
                grid,
                &mut SampleContext::default(),
            );
            search_calls.set(search_calls.get() + counting.count());
            let x = match run {
                Ok(x) => x,
                Err(e @ SolveError::Model(_)) => return Err(e.into()),
                Err(_) => return Ok(None),
            };
            let e = rms_endpoint_error(&x, reference);
            if !e.is_finite() {
                return Ok(None);
            }
            out.push(e);
        }
        Ok(Some(out))
    };
    let start_errors = match errors(start)? {
        Some(e) => e,
        None => {
            return Err(CalibrationError::NonFiniteStart {
                index: first_failing(sampler, start, pilots),
            });
        }
    };
    let scale: Vec<f64> = start_errors
        .iter()
        .map(|&e| if e > 0.0 { e } else { 1.0 })
        .collect();
    let objective = |e: &[f64]| -> f64 {
        let mean: f64 = e
            .iter()
            .zip(&scale)
            .map(|(e, s)| (e / s).powi(2))
            .sum::<f64>()
            / e.len() as f64;
        mean.sqrt()
    };
    let minimum = options.search.minimize(
        |c: &[f64]| -> Result<f64, CalibrationError> {
            let Ok(grid) = family.grid(c) else {
                return Ok(f64::INFINITY);
            };
            Ok(errors(&grid)?.map_or(f64::INFINITY, |e| objective(&e)))
        },
        &vec![0.0; family.dimension()],
    )?;
    let grid = family
        .grid(&minimum.x)
        .expect("the best point was evaluated on a valid grid");
    // One more run of the winner for its per-set errors (the search kept only the objective).
    let final_errors = errors(&grid)?.expect("the best point had a finite objective");
    Ok(Calibration {
        objective: objective(&final_errors),
        grid,
        parameters: minimum.x,
        start_errors,
        errors: final_errors,
        evaluations: minimum.evaluations,
        reference_calls,
        search_calls: search_calls.get(),
    })
}

/// RMS over samples of the per-sample Euclidean distance, √(1/n Σᵢ ‖xᵢ − rᵢ‖²): the elements'
/// RMS times √d.
pub fn rms_endpoint_error<S: State>(x: &S, reference: &S) -> f64 {
    let (_, d) = x.batch_layout();
    let diff = x.clone().add_scaled(-1.0, reference);
    diff.rms() * (d as f64).sqrt()
}

fn check<S: State>(
    sampler: &dyn Sampler<S>,
    start: &SigmaGrid,
    pilots: &[PilotSet<'_, S>],
    options: &CalibrationOptions,
) -> Result<(), CalibrationError> {
    if pilots.is_empty() {
        return Err(CalibrationError::NoPilots);
    }
    if let Some(index) = pilots.iter().position(|p| p.x.batch_layout().0 == 0) {
        return Err(CalibrationError::EmptyPilot { index });
    }
    if sampler.is_stochastic() {
        return Err(CalibrationError::Stochastic(sampler.name()));
    }
    let invalid = |name, value, reason| CalibrationError::InvalidOption {
        name,
        value,
        reason,
    };
    let tol = options.reference_tolerance;
    if !(tol.is_finite() && tol > 0.0) {
        return Err(invalid(
            "reference_tolerance",
            tol,
            "must be finite and positive",
        ));
    }
    let sigma_min = options.reference_sigma_min;
    if !(sigma_min.is_finite() && sigma_min > 0.0) {
        return Err(invalid(
            "reference_sigma_min",
            sigma_min,
            "must be finite and positive",
        ));
    }
    let step = options.search.initial_step;
    if !(step.is_finite() && step > 0.0) {
        return Err(invalid("initial_step", step, "must be finite and positive"));
    }
    if start.ends_at_zero() && start.as_slice()[0] <= sigma_min {
        return Err(CalibrationError::StartGrid(format!(
            "σ₀ = {} is not above the reference σ_min = {sigma_min}",
            start.as_slice()[0]
        )));
    }
    Ok(())
}

/// [σ₀, σ_min, 0] for a grid ending in 0 (Rk45 integrates to σ_min and denoises), else
/// [σ₀, σ_N].
fn reference_grid(start: &SigmaGrid, sigma_min: f64) -> Result<SigmaGrid, CalibrationError> {
    let s = start.as_slice();
    let values = if start.ends_at_zero() {
        vec![s[0], sigma_min, 0.0]
    } else {
        vec![s[0], s[s.len() - 1]]
    };
    SigmaGrid::new(values).map_err(|e| CalibrationError::StartGrid(e.to_string()))
}

/// The first pilot set on which the sampler fails on `grid` (for the error message).
fn first_failing<S: State>(
    sampler: &dyn Sampler<S>,
    grid: &SigmaGrid,
    pilots: &[PilotSet<'_, S>],
) -> usize {
    pilots
        .iter()
        .position(|p| {
            sampler
                .sample(p.denoiser, p.x.clone(), grid, &mut SampleContext::default())
                .map_or(true, |x| x.to_f64_vec().iter().any(|v| !v.is_finite()))
        })
        .unwrap_or(0)
}
