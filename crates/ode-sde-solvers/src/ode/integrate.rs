//! The integration loop: step-size control, saving and failure reporting.

use super::{OdeSolver, PidController, hermite};
use crate::SolveError;
use crate::state::State;
use crate::term::OdeTerm;

/// How the steps are chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum StepControl {
    /// `n` equal steps from t0 to t1.
    Steps(usize),
    /// The given times, which must run strictly monotonically from t0 to t1.
    Grid(Vec<f64>),
    /// Error-controlled steps (needs a solver with an error estimate).
    Adaptive(PidController),
}

/// Which states the solution keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveAt {
    /// Only y(t1).
    End,
    /// The state after every accepted step (and y(t0)).
    Steps,
    /// The given times (monotone in the direction of integration, inside [t0, t1]), by dense
    /// output ([`hermite`]) between steps.
    Times(Vec<f64>),
}

/// Options for [`integrate()`].
#[derive(Clone, Debug, PartialEq)]
pub struct SolveOptions {
    /// Step selection.
    pub control: StepControl,
    /// What to save.
    pub save_at: SaveAt,
    /// Upper bound on attempted steps (accepted + rejected).
    pub max_steps: usize,
}

impl SolveOptions {
    /// Fixed steps, saving the end point only.
    pub fn steps(n: usize) -> Self {
        Self {
            control: StepControl::Steps(n),
            save_at: SaveAt::End,
            max_steps: usize::MAX,
        }
    }

    /// Adaptive steps with an integral controller, saving the end point only.
    pub fn adaptive(rtol: f64, atol: f64) -> Self {
        Self {
            control: StepControl::Adaptive(PidController::new(rtol, atol)),
            save_at: SaveAt::End,
            max_steps: 100_000,
        }
    }

    /// The same options saving at `save_at`.
    pub fn save_at(mut self, save_at: SaveAt) -> Self {
        self.save_at = save_at;
        self
    }
}

/// Work counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Vector-field evaluations.
    pub nfe: usize,
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
}

/// The saved times and states.
#[derive(Clone, Debug)]
pub struct Solution<S> {
    /// Save times.
    pub ts: Vec<f64>,
    /// States at `ts`.
    pub ys: Vec<S>,
    /// Work done.
    pub stats: Stats,
}

impl<S> Solution<S> {
    /// The last saved state.
    pub fn last(&self) -> Option<&S> {
        self.ys.last()
    }
}

/// Integrates `dy/dt = term(t, y)` from `(t0, y0)` to `t1` (forward or backward in time).
///
/// Every failure is returned as a [`SolveError`]: bad options, too many steps, a step size that
/// collapses, or a solution that stops being finite.
pub fn integrate<S, T, M>(
    term: &T,
    solver: &M,
    t0: f64,
    t1: f64,
    y0: S,
    options: &SolveOptions,
) -> Result<Solution<S>, SolveError>
where
    S: State,
    T: OdeTerm<S>,
    M: OdeSolver<S>,
{
    if !t0.is_finite() || !t1.is_finite() || t0 == t1 {
        return Err(SolveError::InvalidInterval(format!("t0 = {t0}, t1 = {t1}")));
    }
    let mut saver = Saver::new(&options.save_at, t0, t1)?;
    saver.start(t0, &y0);
    match &options.control {
        StepControl::Adaptive(pid) => {
            adaptive(term, solver, t0, t1, y0, pid, options.max_steps, saver)
        }
        fixed_control => {
            let grid = step_grid(fixed_control, t0, t1)?;
            fixed(term, solver, &grid, y0, options.max_steps, saver)
        }
    }
}

/// The step times of a fixed-step control: `n` equal steps (landing on t1 exactly), or a user grid
/// checked to run strictly monotonically from t0 to t1. Shared by the ODE and SDE loops.
///
/// Must not be called with [`StepControl::Adaptive`], which has no grid.
pub(crate) fn step_grid(control: &StepControl, t0: f64, t1: f64) -> Result<Vec<f64>, SolveError> {
    match control {
        StepControl::Steps(0) => Err(SolveError::InvalidOption {
            name: "steps",
            value: 0.0,
            reason: "must be at least 1",
        }),
        StepControl::Steps(n) => {
            let h = (t1 - t0) / *n as f64;
            Ok((0..=*n)
                .map(|i| if i == *n { t1 } else { t0 + i as f64 * h })
                .collect())
        }
        StepControl::Grid(grid) => {
            let dir = (t1 - t0).signum();
            if grid.len() < 2 || grid[0] != t0 || grid[grid.len() - 1] != t1 {
                return Err(SolveError::InvalidInterval(
                    "a step grid must start at t0 and end at t1".into(),
                ));
            }
            if grid.windows(2).any(|w| not_positive((w[1] - w[0]) * dir)) {
                return Err(SolveError::InvalidInterval(
                    "a step grid must be strictly monotone".into(),
                ));
            }
            Ok(grid.clone())
        }
        StepControl::Adaptive(_) => Err(SolveError::Unsupported {
            solver: "step grid",
            reason: "adaptive control has no fixed grid",
        }),
    }
}

fn fixed<S: State, T: OdeTerm<S>, M: OdeSolver<S>>(
    term: &T,
    solver: &M,
    grid: &[f64],
    y0: S,
    max_steps: usize,
    mut saver: Saver<S>,
) -> Result<Solution<S>, SolveError> {
    let mut stats = Stats::default();
    let mut y = y0;
    let (mut state, init_nfe) = solver.init(term, grid[0], &y);
    stats.nfe += init_nfe;
    for (i, w) in grid.windows(2).enumerate() {
        if i >= max_steps {
            return Err(SolveError::MaxStepsReached { t: w[0], max_steps });
        }
        let step = solver.step(term, w[0], w[1], &y, &state);
        stats.nfe += step.nfe;
        stats.accepted += 1;
        saver.after_step(
            term,
            w[0],
            w[1],
            &y,
            &step.y1,
            &step.f0,
            step.f1.as_ref(),
            &mut stats,
        );
        y = step.y1;
        state = step.state;
    }
    finish(saver, y, grid[grid.len() - 1], stats)
}

#[allow(clippy::too_many_arguments)]
fn adaptive<S: State, T: OdeTerm<S>, M: OdeSolver<S>>(
    term: &T,
    solver: &M,
    t0: f64,
    t1: f64,
    y0: S,
    pid: &PidController,
    max_steps: usize,
    mut saver: Saver<S>,
) -> Result<Solution<S>, SolveError> {
    pid.validate()?;
    let error_order = solver.error_order().ok_or(SolveError::Unsupported {
        solver: solver.name(),
        reason: "it has no error estimate; use StepControl::Steps or Grid",
    })?;
    let dir = (t1 - t0).signum();
    let mut stats = Stats::default();
    let mut y = y0;
    let (mut state, init_nfe) = solver.init(term, t0, &y);
    stats.nfe += init_nfe;
    let mut dt = match pid.dt0 {
        Some(dt0) => dt0,
        None => {
            let f0 = solver.initial_derivative(&state);
            initial_step(term, t0, &y, f0, pid, error_order, &mut stats)
        }
    }
    .min(pid.dt_max)
    .min((t1 - t0).abs());
    let mut prev = [1.0f64, 1.0f64];
    let mut t = t0;
    while (t1 - t) * dir > 0.0 {
        if stats.accepted + stats.rejected >= max_steps {
            return Err(SolveError::MaxStepsReached { t, max_steps });
        }
        // Land on t1 exactly, and do not leave a sliver of a step behind.
        let remaining = (t1 - t).abs();
        let last = dt >= remaining * (1.0 - 1e-12);
        let t_next = if last { t1 } else { t + dir * dt };
        let step = solver.step(term, t, t_next, &y, &state);
        stats.nfe += step.nfe;
        let err = step
            .y_error
            .as_ref()
            .map(|e| S::error_norm(e, &y, &step.y1, pid.rtol, pid.atol))
            .unwrap_or(f64::NAN);
        let factor = pid.factor(err, prev, error_order);
        let h_taken = (t_next - t).abs();
        if err <= 1.0 {
            stats.accepted += 1;
            saver.after_step(
                term,
                t,
                t_next,
                &y,
                &step.y1,
                &step.f0,
                step.f1.as_ref(),
                &mut stats,
            );
            t = t_next;
            y = step.y1;
            state = step.state;
            prev = [1.0 / err.max(f64::MIN_POSITIVE), prev[0]];
            dt = (h_taken * factor).min(pid.dt_max);
        } else {
            stats.rejected += 1;
            // A NaN error (non-finite solution) shrinks the step as hard as allowed.
            dt = h_taken * factor.min(1.0);
            if !err.is_finite() && dt < pid.dt_min.max(f64::EPSILON * t.abs().max(1.0)) {
                return Err(SolveError::NonFinite { t });
            }
        }
        if dt < pid.dt_min || dt <= f64::EPSILON * t.abs().max(1.0) {
            return Err(SolveError::StepSizeTooSmall { t, dt });
        }
    }
    finish(saver, y, t1, stats)
}

/// Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4, "Starting step size" (algorithm (a)–(f)),
/// with f(t₀, y₀) taken from `f0` when the solver already has it (as torchdiffeq's
/// `_select_initial_step` does), else evaluated here.
fn initial_step<S: State, T: OdeTerm<S>>(
    term: &T,
    t0: f64,
    y0: &S,
    f0: Option<&S>,
    pid: &PidController,
    error_order: u32,
    stats: &mut Stats,
) -> f64 {
    let evaluated;
    let f0 = match f0 {
        Some(f0) => f0,
        None => {
            stats.nfe += 1;
            evaluated = term.vf(t0, y0);
            &evaluated
        }
    };
    let d0 = S::error_norm(y0, y0, y0, pid.rtol, pid.atol);
    let d1 = S::error_norm(f0, y0, y0, pid.rtol, pid.atol);
    let h0 = if !(d0 >= 1e-5 && d1 >= 1e-5) {
        1e-6
    } else {
        0.01 * d0 / d1
    };
    let y1 = y0.clone().add_scaled(h0, f0);
    let f1 = term.vf(t0 + h0, &y1);
    stats.nfe += 1;
    let d2 = S::error_norm(&f1.add_scaled(-1.0, f0), y0, y0, pid.rtol, pid.atol) / h0;
    let d = d1.max(d2);
    let h1 = if d.is_nan() || d <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / d).powf(1.0 / error_order as f64)
    };
    (100.0 * h0).min(h1)
}

fn finish<S: State>(
    saver: Saver<S>,
    y: S,
    t1: f64,
    stats: Stats,
) -> Result<Solution<S>, SolveError> {
    // One read-back at the end, never per step.
    if !y.rms().is_finite() {
        return Err(SolveError::NonFinite { t: t1 });
    }
    Ok(saver.finish(t1, y, stats))
}

/// Saving, including dense output at requested times.
struct Saver<S> {
    mode: SaveMode,
    ts: Vec<f64>,
    ys: Vec<S>,
    dir: f64,
}

enum SaveMode {
    End,
    Steps,
    Times { times: Vec<f64>, next: usize },
}

impl<S: State> Saver<S> {
    fn new(save_at: &SaveAt, t0: f64, t1: f64) -> Result<Self, SolveError> {
        let dir = (t1 - t0).signum();
        let mode = match save_at {
            SaveAt::End => SaveMode::End,
            SaveAt::Steps => SaveMode::Steps,
            SaveAt::Times(times) => {
                let inside =
                    |t: f64| t.is_finite() && (t - t0) * dir >= 0.0 && (t1 - t) * dir >= 0.0;
                if times.is_empty() || !times.iter().all(|&t| inside(t)) {
                    return Err(SolveError::InvalidInterval(
                        "save times must lie in [t0, t1]".into(),
                    ));
                }
                if times.windows(2).any(|w| (w[1] - w[0]) * dir < 0.0) {
                    return Err(SolveError::InvalidInterval(
                        "save times must be monotone in the direction of integration".into(),
                    ));
                }
                SaveMode::Times {
                    times: times.clone(),
                    next: 0,
                }
            }
        };
        Ok(Self {
            mode,
            ts: Vec::new(),
            ys: Vec::new(),
            dir,
        })
    }

    fn start(&mut self, t0: f64, y0: &S) {
        match &mut self.mode {
            SaveMode::End => {}
            SaveMode::Steps => {
                self.ts.push(t0);
                self.ys.push(y0.clone());
            }
            SaveMode::Times { times, next } => {
                while *next < times.len() && times[*next] == t0 {
                    self.ts.push(t0);
                    self.ys.push(y0.clone());
                    *next += 1;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn after_step<T: OdeTerm<S>>(
        &mut self,
        term: &T,
        ta: f64,
        tb: f64,
        ya: &S,
        yb: &S,
        fa: &S,
        fb: Option<&S>,
        stats: &mut Stats,
    ) {
        match &mut self.mode {
            SaveMode::End => {}
            SaveMode::Steps => {
                self.ts.push(tb);
                self.ys.push(yb.clone());
            }
            SaveMode::Times { times, next } => {
                let mut fb_owned = None;
                while *next < times.len() && (tb - times[*next]) * self.dir >= 0.0 {
                    let ts = times[*next];
                    let y = if ts == tb {
                        yb.clone()
                    } else {
                        let fb = match fb {
                            Some(f) => f,
                            None => fb_owned.get_or_insert_with(|| {
                                stats.nfe += 1;
                                term.vf(tb, yb)
                            }),
                        };
                        hermite(ta, tb, ya, yb, fa, fb, ts)
                    };
                    self.ts.push(ts);
                    self.ys.push(y);
                    *next += 1;
                }
            }
        }
    }

    fn finish(mut self, t1: f64, y: S, stats: Stats) -> Solution<S> {
        if let SaveMode::End = self.mode {
            self.ts.push(t1);
            self.ys.push(y);
        }
        Solution {
            ts: self.ts,
            ys: self.ys,
            stats,
        }
    }
}

/// `v <= 0` or NaN: a grid step that does not advance.
fn not_positive(v: f64) -> bool {
    v.is_nan() || v <= 0.0
}
