//! The SDE integration loop.

use super::SdeSolver;
use crate::SolveError;
use crate::brownian::BrownianSource;
use crate::ode::{PidController, SaveAt, Solution, SolveOptions, Stats, StepControl};
use crate::state::State;
use crate::term::SdeTerm;

/// Integrates an SDE from `(t0, y0)` to `t1` with Brownian motion from `brownian`.
///
/// Fixed steps ([`StepControl::Steps`], [`StepControl::Grid`]) work with any source; adaptive
/// steps need a solver with an error estimate and a source that can answer sub-intervals of a
/// rejected step consistently ([`crate::brownian::VirtualBrownianTree`]). Only
/// [`SaveAt::End`] and [`SaveAt::Steps`] are supported: an SDE path has no dense output.
pub fn integrate_sde<S, T, M, B>(
    term: &T,
    solver: &M,
    t0: f64,
    t1: f64,
    y0: S,
    brownian: &mut B,
    options: &SolveOptions,
) -> Result<Solution<S>, SolveError>
where
    S: State,
    T: SdeTerm<S>,
    M: SdeSolver<S>,
    B: BrownianSource<S>,
{
    if !t0.is_finite() || !t1.is_finite() || t0 == t1 {
        return Err(SolveError::InvalidInterval(format!("t0 = {t0}, t1 = {t1}")));
    }
    let save_steps = match options.save_at {
        SaveAt::End => false,
        SaveAt::Steps => true,
        SaveAt::Times(_) => {
            return Err(SolveError::Unsupported {
                solver: solver.name(),
                reason: "SDE paths have no dense output; save at End or Steps",
            });
        }
    };
    let mut state = solver.init(term, t0, &y0)?;
    let levy = solver.needs_levy_area();
    let mut out = Solution {
        ts: Vec::new(),
        ys: Vec::new(),
        stats: Stats::default(),
    };
    if save_steps {
        out.ts.push(t0);
        out.ys.push(y0.clone());
    }
    let mut y = y0;
    if let StepControl::Adaptive(pid) = &options.control {
        return adaptive(
            term,
            solver,
            t0,
            t1,
            y,
            state,
            brownian,
            pid,
            options.max_steps,
            out,
            save_steps,
        );
    }
    let grid = crate::ode::step_grid(&options.control, t0, t1)?;
    for (i, w) in grid.windows(2).enumerate() {
        if i >= options.max_steps {
            return Err(SolveError::MaxStepsReached {
                t: w[0],
                max_steps: options.max_steps,
            });
        }
        let inc = brownian.increment(w[0], w[1], levy)?;
        let step = solver.step(term, w[0], w[1], &y, &inc, &state)?;
        out.stats.nfe += step.nfe;
        out.stats.accepted += 1;
        y = step.y1;
        state = step.state;
        if save_steps {
            out.ts.push(w[1]);
            out.ys.push(y.clone());
        }
    }
    finish(out, y, t1, save_steps)
}

#[allow(clippy::too_many_arguments)]
fn adaptive<S, T, M, B>(
    term: &T,
    solver: &M,
    t0: f64,
    t1: f64,
    mut y: S,
    mut state: M::SolverState,
    brownian: &mut B,
    pid: &PidController,
    max_steps: usize,
    mut out: Solution<S>,
    save_steps: bool,
) -> Result<Solution<S>, SolveError>
where
    S: State,
    T: SdeTerm<S>,
    M: SdeSolver<S>,
    B: BrownianSource<S>,
{
    pid.validate()?;
    let error_order = solver.error_order().ok_or(SolveError::Unsupported {
        solver: solver.name(),
        reason: "it has no error estimate; use fixed steps",
    })?;
    let dt0 = pid.dt0.ok_or(SolveError::InvalidOption {
        name: "dt0",
        value: f64::NAN,
        reason: "adaptive SDE steps need an explicit first step size",
    })?;
    let dir = (t1 - t0).signum();
    let mut dt = dt0.min(pid.dt_max).min((t1 - t0).abs());
    let mut t = t0;
    let mut prev = [1.0f64, 1.0f64];
    let levy = solver.needs_levy_area();
    while (t1 - t) * dir > 0.0 {
        if out.stats.accepted + out.stats.rejected >= max_steps {
            return Err(SolveError::MaxStepsReached { t, max_steps });
        }
        let last = dt >= (t1 - t).abs() * (1.0 - 1e-12);
        let t_next = if last { t1 } else { t + dir * dt };
        let inc = brownian.increment(t, t_next, levy)?;
        let step = solver.step(term, t, t_next, &y, &inc, &state)?;
        out.stats.nfe += step.nfe;
        let err = step
            .y_error
            .as_ref()
            .map(|e| S::error_norm(e, &y, &step.y1, pid.rtol, pid.atol))
            .unwrap_or(f64::NAN);
        // The controller exponent is fractional for SDEs; scale it to an integer order of 2k.
        let factor = pid
            .factor(err, prev, (2.0 * error_order).round() as u32)
            .powi(2);
        let h_taken = (t_next - t).abs();
        if err <= 1.0 {
            out.stats.accepted += 1;
            t = t_next;
            y = step.y1;
            state = step.state;
            prev = [1.0 / err.max(f64::MIN_POSITIVE), prev[0]];
            dt = (h_taken * factor.min(pid.factor_max)).min(pid.dt_max);
            if save_steps {
                out.ts.push(t);
                out.ys.push(y.clone());
            }
        } else {
            out.stats.rejected += 1;
            dt = h_taken * factor.clamp(pid.factor_min, 1.0);
        }
        if dt < pid.dt_min || dt <= f64::EPSILON * t.abs().max(1.0) {
            return Err(if err.is_finite() {
                SolveError::StepSizeTooSmall { t, dt }
            } else {
                SolveError::NonFinite { t }
            });
        }
    }
    finish(out, y, t1, save_steps)
}

fn finish<S: State>(
    mut out: Solution<S>,
    y: S,
    t1: f64,
    save_steps: bool,
) -> Result<Solution<S>, SolveError> {
    if !y.rms().is_finite() {
        return Err(SolveError::NonFinite { t: t1 });
    }
    if !save_steps {
        out.ts.push(t1);
        out.ys.push(y);
    }
    Ok(out)
}
