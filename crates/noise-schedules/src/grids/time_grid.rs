//! Strictly monotone time grids for ODE/SDE solvers.

use serde::{Deserialize, Serialize};

use super::monotone::check_strictly_monotone;
use crate::numerics::linspace;
use crate::validate;
use crate::{NoiseSchedule, ScheduleError};

/// A validated time grid: at least two finite entries, strictly increasing or strictly
/// decreasing. Serialises as a plain array and re-validates when deserialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct TimeGrid(Vec<f64>);

impl TimeGrid {
    /// A user-given grid.
    ///
    /// # Errors
    /// [`ScheduleError::GridTooShort`], [`ScheduleError::GridNonFinite`],
    /// [`ScheduleError::GridDuplicate`] or [`ScheduleError::GridNotMonotone`], naming the
    /// first offending index.
    pub fn new(times: Vec<f64>) -> Result<Self, ScheduleError> {
        check_strictly_monotone(&times)?;
        Ok(Self(times))
    }

    /// n_steps + 1 equally spaced points from `t_start` to `t_end`, endpoints exact
    /// (Lu et al. 2022, DPM-Solver reference code, `skip_type='time_uniform'`).
    ///
    /// # Errors
    /// [`ScheduleError::TooFewSteps`] for n_steps = 0, [`ScheduleError::NonFinite`] for a
    /// non-finite end, a grid error if t_start = t_end.
    pub fn uniform(t_start: f64, t_end: f64, n_steps: usize) -> Result<Self, ScheduleError> {
        check_ends(t_start, t_end, n_steps)?;
        Self::new(linspace(t_start, t_end, n_steps + 1))
    }

    /// n_steps + 1 points uniform in √t: t_i = linspace(√t_start, √t_end)² (DPM-Solver
    /// `skip_type='time_quadratic'` of the Lu et al. 2022 reference code), concentrating steps near the
    /// smaller end. Endpoints exact.
    ///
    /// # Errors
    /// As [`TimeGrid::uniform`], plus [`ScheduleError::Negative`] for t < 0.
    pub fn quadratic(t_start: f64, t_end: f64, n_steps: usize) -> Result<Self, ScheduleError> {
        check_ends(t_start, t_end, n_steps)?;
        validate::non_negative("t_start", t_start)?;
        validate::non_negative("t_end", t_end)?;
        let mut times: Vec<f64> = linspace(t_start.sqrt(), t_end.sqrt(), n_steps + 1)
            .into_iter()
            .map(|r| r * r)
            .collect();
        times[0] = t_start;
        times[n_steps] = t_end;
        Self::new(times)
    }

    /// n_steps + 1 points with λ uniform between λ(t_start) and λ(t_end), mapped back by
    /// `t_from_lambda` (Lu et al. 2022, DPM-Solver reference code, `skip_type='logSNR'`). Endpoints
    /// exact.
    ///
    /// # Errors
    /// As [`TimeGrid::uniform`]; [`ScheduleError::NonFinite`] when λ is infinite at an end
    /// (e.g. t = 0 of a VP schedule, where σ = 0); errors of `t_from_lambda`.
    pub fn log_snr_uniform<S: NoiseSchedule + ?Sized>(
        schedule: &S,
        t_start: f64,
        t_end: f64,
        n_steps: usize,
    ) -> Result<Self, ScheduleError> {
        check_ends(t_start, t_end, n_steps)?;
        let lambda_start = validate::finite("lambda(t_start)", schedule.lambda(t_start))?;
        let lambda_end = validate::finite("lambda(t_end)", schedule.lambda(t_end))?;
        let mut times = linspace(lambda_start, lambda_end, n_steps + 1)
            .into_iter()
            .map(|lambda| schedule.t_from_lambda(lambda))
            .collect::<Result<Vec<f64>, _>>()?;
        times[0] = t_start;
        times[n_steps] = t_end;
        Self::new(times)
    }

    /// The values.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    /// Number of points (steps + 1).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a valid grid has at least two points.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether time increases along the grid.
    pub fn is_increasing(&self) -> bool {
        self.0[1] > self.0[0]
    }

    /// The values, consuming the grid.
    pub fn into_vec(self) -> Vec<f64> {
        self.0
    }
}

fn check_ends(t_start: f64, t_end: f64, n_steps: usize) -> Result<(), ScheduleError> {
    validate::at_least("n_steps", n_steps, 1)?;
    validate::finite("t_start", t_start)?;
    validate::finite("t_end", t_end)?;
    Ok(())
}

impl TryFrom<Vec<f64>> for TimeGrid {
    type Error = ScheduleError;

    fn try_from(v: Vec<f64>) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<TimeGrid> for Vec<f64> {
    fn from(g: TimeGrid) -> Self {
        g.0
    }
}
