//! Sampling a velocity model trained on one path along another path's schedule.

use scoreflow_ode_sde_solvers::State;

use super::{AffinePath, PathError};

/// The scale–time map between two affine paths with the same coupling (Lipman et al. 2024,
/// "Flow Matching Guide and Code", §4.10, Theorem 10; flow_matching's
/// `ScheduleTransformedModel`): the process x̄_r = s(r)·x_{t(r)} of the original path has the
/// marginals of the new path when the two share a signal-to-noise ratio,
///
/// t(r) = λ⁻¹(λ̄(r)), s(r) = σ̄(r)/σ(t(r)) = ᾱ(r)/α(t(r)),
///
/// (λ = ln(α/σ)), so a velocity u_t trained on the original path samples the new one through
///
/// ū_r(x) = (ṡ/s)·x + s·ṫ·u_{t(r)}(x/s).
///
/// ṫ = ρ̄'(r)/ρ'(t) with ρ = α/σ, and ṡ follows from s = σ̄/σ; near the data end both are
/// written with α in place of σ (and 1/ρ in place of ρ), so every t ∈ [0, 1] is finite.
#[derive(Clone, Debug)]
pub struct ScheduleTransform {
    original: AffinePath,
    new: AffinePath,
}

/// t(r), s(r) and their derivatives at one r (see [`ScheduleTransform`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformPoint {
    /// The original path's time t(r).
    pub t: f64,
    /// The scale s(r).
    pub s: f64,
    /// dt/dr.
    pub dt: f64,
    /// ds/dr.
    pub ds: f64,
}

impl ScheduleTransform {
    /// Samples a model trained on `original` as if trained on `new`.
    pub fn new(original: AffinePath, new: AffinePath) -> Self {
        Self { original, new }
    }

    /// t(r), s(r), ṫ, ṡ.
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`] unless 0 ≤ r ≤ 1.
    pub fn at(&self, r: f64) -> Result<TransformPoint, PathError> {
        let cr = self.new.coefficients(r)?;
        let t = if r == 0.0 || r == 1.0 {
            r
        } else {
            self.original
                .schedule()
                .t_from_lambda(cr.alpha.ln() - cr.sigma.ln())
                .map_err(|_| PathError::TimeOutOfRange { t: r })?
        };
        let ct = self.original.coefficients(t)?;
        // Wronskians W = α'σ − ασ' of both paths: ρ' = W/σ², (1/ρ)' = −W/α².
        let w_r = cr.d_alpha * cr.sigma - cr.alpha * cr.d_sigma;
        let w_t = ct.d_alpha * ct.sigma - ct.alpha * ct.d_sigma;
        let point = if cr.sigma >= cr.alpha {
            let dt = ct.sigma * ct.sigma * w_r / (cr.sigma * cr.sigma * w_t);
            let s = cr.sigma / ct.sigma;
            let ds = (cr.d_sigma - s * ct.d_sigma * dt) / ct.sigma;
            TransformPoint { t, s, dt, ds }
        } else {
            let dt = ct.alpha * ct.alpha * w_r / (cr.alpha * cr.alpha * w_t);
            let s = cr.alpha / ct.alpha;
            let ds = (cr.d_alpha - s * ct.d_alpha * dt) / ct.alpha;
            TransformPoint { t, s, dt, ds }
        };
        Ok(point)
    }

    /// ū_r(x) from the original velocity field `velocity(x, t)`.
    ///
    /// # Errors
    /// [`PathError::TimeOutOfRange`] unless 0 ≤ r ≤ 1.
    pub fn velocity<S: State>(
        &self,
        velocity: &dyn Fn(&S, f64) -> S,
        x: &S,
        r: f64,
    ) -> Result<S, PathError> {
        let p = self.at(r)?;
        let u = velocity(&x.clone().scale(1.0 / p.s), p.t);
        Ok(u.lincomb(p.s * p.dt, &[(p.ds / p.s, x)]))
    }
}
