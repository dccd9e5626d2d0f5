//! k-diffusion's PID step-size controller with the arctan limiter.

/// k-diffusion's `PIDStepSizeController` (Söderlind 2003, "Digital filters in adaptive
/// time-stepping", with Söderlind & Wang 2006's limiter f ↦ 1 + arctan(f − 1)). With εₙ the
/// error norm of attempt n and k the order it is scaled by, the step is multiplied by
///
/// f = 1 + arctan(ε̂ₙ^{β₁}·ε̂ₙ₋₁^{β₂}·ε̂ₙ₋₂^{β₃} − 1),  ε̂ = 1/(ε + 10⁻⁸),
/// β₁ = (p + i + d)/k, β₂ = −(p + 2d)/k, β₃ = d/k,
///
/// after every attempt, accepted or not; the attempt is accepted when f ≥ `accept_safety`, and
/// only accepted attempts shift the history ε̂ₙ₋₁, ε̂ₙ₋₂ (both start at the first ε̂). The
/// limiter keeps f in (1 − π/4, 1 + π/2). This differs from the crate's
/// [`PidController`](crate::ode::PidController) (safety factor, clamping, acceptance at ε ≤ 1),
/// which is why [`DpmAdaptive`](super::DpmAdaptive) has its own.
#[derive(Clone, Debug)]
pub(crate) struct ArctanPid {
    /// The current step size h.
    pub(crate) h: f64,
    betas: [f64; 3],
    accept_safety: f64,
    /// ε̂ₙ, ε̂ₙ₋₁, ε̂ₙ₋₂; `None` before the first attempt.
    inv_errors: Option<[f64; 3]>,
}

/// k-diffusion's ε in ε̂ = 1/(ε + eps).
const EPS: f64 = 1e-8;

impl ArctanPid {
    /// A controller starting at step `h` with PID coefficients (p, i, d) scaled by `order`.
    pub(crate) fn new(h: f64, pid: [f64; 3], order: f64, accept_safety: f64) -> Self {
        let [p, i, d] = pid;
        Self {
            h,
            betas: [(p + i + d) / order, -(p + 2.0 * d) / order, d / order],
            accept_safety,
            inv_errors: None,
        }
    }

    /// Scales h after an attempt with error norm `error` and says whether to accept it.
    pub(crate) fn propose_step(&mut self, error: f64) -> bool {
        let inv = 1.0 / (error + EPS);
        let errs = self.inv_errors.get_or_insert([inv; 3]);
        errs[0] = inv;
        let raw =
            errs[0].powf(self.betas[0]) * errs[1].powf(self.betas[1]) * errs[2].powf(self.betas[2]);
        let factor = 1.0 + (raw - 1.0).atan();
        let accept = factor >= self.accept_safety;
        if accept {
            errs[2] = errs[1];
            errs[1] = errs[0];
        }
        self.h *= factor;
        accept
    }
}
