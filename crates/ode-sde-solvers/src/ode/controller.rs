//! Adaptive step-size control.

/// A PID step-size controller (Söderlind 2003, "Digital filters in adaptive time-stepping",
/// ACM TOMS 29(1); Söderlind & Wang 2006), in the parameterisation diffrax uses.
///
/// With εₙ the scaled RMS error norm of step n ([`crate::State::error_norm`]) and k the
/// solver's error order, the next step is h·f with
/// f = safety · εₙ^(−β₁) · εₙ₋₁^(−β₂) · εₙ₋₂^(−β₃),
/// β₁ = (p + i + d)/k, β₂ = −(p + 2d)/k, β₃ = d/k, clamped to [`factor_min`, `factor_max`].
/// The defaults (p, i, d) = (0, 1, 0) give the classical integral controller
/// f = safety·ε^(−1/k) (Hairer, Nørsett & Wanner, *Solving ODEs I*, eq. (4.13)).
/// A step is accepted when ε ≤ 1.
///
/// [`factor_min`]: PidController::factor_min
/// [`factor_max`]: PidController::factor_max
#[derive(Clone, Debug, PartialEq)]
pub struct PidController {
    /// Relative tolerance.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Proportional coefficient p.
    pub pcoeff: f64,
    /// Integral coefficient i.
    pub icoeff: f64,
    /// Derivative coefficient d.
    pub dcoeff: f64,
    /// Safety factor applied to every proposal.
    pub safety: f64,
    /// Smallest factor by which a step may shrink.
    pub factor_min: f64,
    /// Largest factor by which a step may grow.
    pub factor_max: f64,
    /// First step size; chosen by Hairer's algorithm when `None`.
    pub dt0: Option<f64>,
    /// Smallest step size before giving up with [`crate::SolveError::StepSizeTooSmall`].
    pub dt_min: f64,
    /// Largest step size.
    pub dt_max: f64,
}

impl PidController {
    /// An integral controller with the given tolerances and the usual constants
    /// (safety 0.9, factors in [0.2, 10]).
    pub fn new(rtol: f64, atol: f64) -> Self {
        Self {
            rtol,
            atol,
            pcoeff: 0.0,
            icoeff: 1.0,
            dcoeff: 0.0,
            safety: 0.9,
            factor_min: 0.2,
            factor_max: 10.0,
            dt0: None,
            dt_min: 0.0,
            dt_max: f64::INFINITY,
        }
    }

    /// The step-size factor after a step with error norm `err`, given the inverse error norms
    /// `prev` of the two previous accepted steps (1.0 when there were none).
    pub(crate) fn factor(&self, err: f64, prev: [f64; 2], error_order: u32) -> f64 {
        let k = error_order as f64;
        let beta1 = (self.pcoeff + self.icoeff + self.dcoeff) / k;
        let beta2 = -(self.pcoeff + 2.0 * self.dcoeff) / k;
        let beta3 = self.dcoeff / k;
        // An exact step (err = 0) would ask for an infinite factor; factor_max clamps it.
        let inv = if err > 0.0 { 1.0 / err } else { f64::INFINITY };
        let f = self.safety * inv.powf(beta1) * prev[0].powf(beta2) * prev[1].powf(beta3);
        if f.is_nan() {
            self.factor_min
        } else {
            f.clamp(self.factor_min, self.factor_max)
        }
    }

    pub(crate) fn validate(&self) -> Result<(), crate::SolveError> {
        use crate::SolveError::InvalidOption;
        let positive = |name, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(InvalidOption {
                    name,
                    value: v,
                    reason: "must be finite and > 0",
                })
            }
        };
        let non_negative = |name, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(InvalidOption {
                    name,
                    value: v,
                    reason: "must be finite and >= 0",
                })
            }
        };
        non_negative("rtol", self.rtol)?;
        non_negative("atol", self.atol)?;
        if self.rtol == 0.0 && self.atol == 0.0 {
            return Err(InvalidOption {
                name: "atol",
                value: 0.0,
                reason: "rtol and atol cannot both be 0",
            });
        }
        non_negative("pcoeff", self.pcoeff)?;
        non_negative("icoeff", self.icoeff)?;
        non_negative("dcoeff", self.dcoeff)?;
        positive("safety", self.safety)?;
        positive("factor_min", self.factor_min)?;
        if self.factor_min >= 1.0 {
            return Err(InvalidOption {
                name: "factor_min",
                value: self.factor_min,
                reason: "must be < 1",
            });
        }
        if self.factor_max.is_nan() || self.factor_max <= 1.0 {
            return Err(InvalidOption {
                name: "factor_max",
                value: self.factor_max,
                reason: "must be > 1",
            });
        }
        if let Some(dt0) = self.dt0 {
            positive("dt0", dt0)?;
        }
        non_negative("dt_min", self.dt_min)?;
        if self.dt_max.is_nan() || self.dt_max <= 0.0 {
            return Err(InvalidOption {
                name: "dt_max",
                value: self.dt_max,
                reason: "must be > 0",
            });
        }
        Ok(())
    }
}
