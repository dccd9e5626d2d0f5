//! The affine path and its training pair.

use std::sync::Arc;

use scoreflow_noise_schedules::{Coefficients, CondOt, DataEnd, NoiseSchedule};
use scoreflow_ode_sde_solvers::State;

use super::{FlowTarget, PathError};

/// An affine probability path x_t = α(t)x₁ + σ(t)x₀ over a flow schedule of
/// `scoreflow-noise-schedules` (data at t = 1: [`CondOt`], `PolynomialPath`, `CosinePath`,
/// `VpPath`): Lipman et al. 2023, "Flow Matching for Generative Modeling", §4; Lipman et al.
/// 2024, "Flow Matching Guide and Code", §4.8 (flow_matching's `AffineProbPath`).
///
/// Given a coupling (x₀, x₁) and t, [`sample`](Self::sample) returns x_t and the conditional
/// velocity dx_t/dt = α'(t)x₁ + σ'(t)x₀, whose regression target is the marginal velocity
/// u_t(x) = E[dx_t/dt | x_t = x]; [`convert`](Self::convert) moves between velocity, data,
/// noise and score predictions ([`FlowTarget`]).
#[derive(Clone, Debug)]
pub struct AffinePath {
    schedule: Arc<dyn NoiseSchedule>,
}

/// A point on the conditional path: x_t and its time derivative (flow_matching's
/// `PathSample`).
#[derive(Clone, Debug)]
pub struct PathSample<S> {
    /// x_t = α(t)x₁ + σ(t)x₀.
    pub x_t: S,
    /// dx_t/dt = α'(t)x₁ + σ'(t)x₀, the conditional velocity.
    pub dx_t: S,
}

impl AffinePath {
    /// The path of a flow schedule.
    ///
    /// # Errors
    /// [`PathError::NotAFlowPath`] when the schedule has data at t = 0 (a diffusion schedule:
    /// use `scoreflow-score-matching`'s SDEs instead).
    pub fn new(schedule: Arc<dyn NoiseSchedule>) -> Result<Self, PathError> {
        match schedule.data_end() {
            DataEnd::AtOne => Ok(Self { schedule }),
            end => Err(PathError::NotAFlowPath(end)),
        }
    }

    /// The conditional optimal-transport path α = t, σ = 1 − t (Lipman et al. 2023, §4.1).
    pub fn cond_ot() -> Self {
        Self {
            schedule: Arc::new(CondOt),
        }
    }

    /// The schedule.
    pub fn schedule(&self) -> &Arc<dyn NoiseSchedule> {
        &self.schedule
    }

    /// α, σ, α', σ' at t.
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`] unless 0 ≤ t ≤ 1.
    pub fn coefficients(&self, t: f64) -> Result<Coefficients, PathError> {
        if !(0.0..=1.0).contains(&t) {
            return Err(PathError::TimeOutOfRange { t });
        }
        Ok(self.schedule.coefficients(t))
    }

    /// x_t and dx_t/dt for a coupled pair (x₀ noise, x₁ data) at one time t for the batch.
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`] unless 0 ≤ t ≤ 1.
    pub fn sample<S: State>(&self, x0: &S, x1: &S, t: f64) -> Result<PathSample<S>, PathError> {
        let c = self.coefficients(t)?;
        Ok(PathSample {
            x_t: x1.clone().lincomb(c.alpha, &[(c.sigma, x0)]),
            dx_t: x1.clone().lincomb(c.d_alpha, &[(c.d_sigma, x0)]),
        })
    }

    /// Converts a prediction `pred` of kind `from` at (x_t, t) into kind `to`
    /// ([`FlowTarget`]'s table).
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`], or [`PathError::Singular`] where the conversion's
    /// coefficients are not finite (noise or score at t = 1, data from noise at t = 0).
    pub fn convert<S: State>(
        &self,
        pred: S,
        from: FlowTarget,
        to: FlowTarget,
        x_t: &S,
        t: f64,
    ) -> Result<S, PathError> {
        let c = self.coefficients(t)?;
        let (a, b) = from.conversion_coefficients(to, &c);
        if !(a.is_finite() && b.is_finite()) {
            return Err(PathError::Singular {
                from: from.name(),
                to: to.name(),
                t,
            });
        }
        Ok(if b == 0.0 {
            pred.scale(a)
        } else {
            pred.lincomb(a, &[(b, x_t)])
        })
    }
}
