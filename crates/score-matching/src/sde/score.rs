//! Score sources: closures, and denoisers through Tweedie's formula.

use std::sync::Arc;

use scoreflow_noise_schedules::NoiseSchedule;
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, ErrorStash, State};

/// A score s(x, t) ≈ ∇ₓ ln p_t(x) of the marginal at schedule time t (Song et al. 2021, §3.2).
///
/// Any closure `Fn(&S, f64) -> S` is a score.
pub trait ScoreFn<S> {
    /// ∇ₓ ln p_t(x) for the whole batch at one time.
    fn score(&self, x: &S, t: f64) -> S;
}

impl<S, F: Fn(&S, f64) -> S> ScoreFn<S> for F {
    fn score(&self, x: &S, t: f64) -> S {
        self(x, t)
    }
}

/// The score of a σ-space [`Denoiser`] D(x; σ̃) on a schedule x_t = α(t)x₀ + σ(t)ε:
///
/// ∇ln p_t(x) = (α(t)·D(x/α(t); σ̃(t)) − x)/σ(t)², σ̃ = σ/α = `edm_sigma(t)`.
///
/// Tweedie's formula (Efron 2011) gives E[x₀ | x_t = x] = (x + σ²∇ln p_t(x))/α; the denoiser
/// answers that expectation in the α = 1 variables x/α = x₀ + σ̃ε (Karras et al. 2022, §4,
/// eq. (4)), so E[x₀ | x_t = x] = D(x/α; σ̃) and the score follows.
///
/// The subtraction αD − x cancels as σ → 0: an exact denoiser gives the score to a relative
/// accuracy of about u·‖x‖/(σ²‖∇ln p_t‖) (u = 2⁻⁵³), 1e-12 at σ² = 1e-4 for unit-scale data.
///
/// t must lie where α(t) > 0 and σ(t) > 0 (otherwise the result is infinite or NaN);
/// [`Sde::reverse`](super::Sde::reverse) and
/// [`Sde::probability_flow`](super::Sde::probability_flow) check this at the interval's ends.
///
/// **The denoiser's errors.** [`DenoiserScore::try_score`] returns them. [`ScoreFn::score`],
/// which the SDE and ODE terms call inside the solvers, has no error channel: it records the
/// first error in the score's [`ErrorStash`] and returns a NaN state, which stops the
/// integration, and stops calling the denoiser until the error is taken. After integrating a
/// term that holds this score, pass the solver's result through [`DenoiserScore::finish`] (the
/// term gives the score back, e.g. `ReverseSde::score`) to get the denoiser's error instead of
/// the solver's `NonFinite`:
///
/// ```text
/// let flow = sde.probability_flow(sde.denoiser_score(&denoiser), t0, t1)?;
/// let solution = flow.score().finish(integrate(&flow, &Tsit5, t0, t1, x, &options))?;
/// ```
pub struct DenoiserScore<'a, S> {
    denoiser: &'a dyn Denoiser<S>,
    schedule: Arc<dyn NoiseSchedule>,
    failure: ErrorStash<DenoiseError>,
}

impl<'a, S> DenoiserScore<'a, S> {
    /// The score of `denoiser` on `schedule`.
    pub fn new(denoiser: &'a dyn Denoiser<S>, schedule: Arc<dyn NoiseSchedule>) -> Self {
        Self {
            denoiser,
            schedule,
            failure: ErrorStash::new(),
        }
    }

    /// The schedule.
    pub fn schedule(&self) -> &Arc<dyn NoiseSchedule> {
        &self.schedule
    }

    /// Removes and returns the first denoiser error [`ScoreFn::score`] recorded, if any.
    pub fn take_error(&self) -> Option<DenoiseError> {
        self.failure.take()
    }

    /// `result` (of an integration that evaluated this score), unless [`ScoreFn::score`]
    /// recorded a denoiser error: then that error, whatever the solver made of the NaN state.
    /// Empties the record.
    ///
    /// # Errors
    /// The recorded denoiser error (e.g. as `SolveError::Model`), else `result`'s own.
    pub fn finish<T, R: From<DenoiseError>>(&self, result: Result<T, R>) -> Result<T, R> {
        self.failure.finish(result)
    }
}

impl<S: State> DenoiserScore<'_, S> {
    /// (α·D(x/α; σ/α) − x)/σ², or the denoiser's error.
    ///
    /// # Errors
    /// The denoiser's own failure.
    pub fn try_score(&self, x: &S, t: f64) -> Result<S, DenoiseError> {
        let (alpha, sigma) = (self.schedule.alpha(t), self.schedule.sigma(t));
        let sigma_tilde = self.schedule.edm_sigma(t);
        let x0 = self
            .denoiser
            .denoise(&x.clone().scale(1.0 / alpha), sigma_tilde)?;
        let inv_var = 1.0 / (sigma * sigma);
        Ok(x0.lincomb(alpha * inv_var, &[(-inv_var, x)]))
    }
}

/// A clone has its own record, starting with a copy of this one's.
impl<S> Clone for DenoiserScore<'_, S> {
    fn clone(&self) -> Self {
        Self {
            denoiser: self.denoiser,
            schedule: self.schedule.clone(),
            failure: self.failure.clone(),
        }
    }
}

impl<S> std::fmt::Debug for DenoiserScore<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenoiserScore")
            .field("schedule", &self.schedule)
            .finish_non_exhaustive()
    }
}

impl<S: State> ScoreFn<S> for DenoiserScore<'_, S> {
    /// [`DenoiserScore::try_score`]; on the denoiser's error a NaN state, the error recorded
    /// for [`DenoiserScore::finish`] (see the type's docs).
    fn score(&self, x: &S, t: f64) -> S {
        self.failure.state(x, || self.try_score(x, t))
    }
}
