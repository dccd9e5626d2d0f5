//! The one model interface samplers see, and the way a model's error leaves a vector field.

use std::cell::{Cell, RefCell};

use crate::error::DenoiseError;
use crate::state::State;

/// A denoiser D(x; σ) ≈ E[x₀ | x₀ + σε = x], ε ~ N(0, I) (Karras et al. 2022, "Elucidating the
/// Design Space of Diffusion-Based Generative Models", eq. (2)–(3)).
///
/// Samplers work in this α = 1 parameterisation: the probability-flow ODE is
/// dx/dσ = (x − D(x; σ))/σ and the score is ∇ log p_σ(x) = (D(x; σ) − x)/σ². Networks trained with
/// other parameterisations or schedules (ε, x₀, v, score, VP α(t)) become denoisers through the
/// adapters of `scoreflow-score-matching`.
///
/// The call is fallible: a network that rejects its input, or an adapter asked for a σ its
/// schedule does not reach, returns a [`DenoiseError`], which every sampler and likelihood
/// returns as [`SolveError::Model`](crate::SolveError::Model) instead of panicking.
///
/// Any closure `Fn(&S, f64) -> S` is a denoiser (one that never fails); a closure returning
/// `Result<S, E>` is one through [`FallibleFn`].
pub trait Denoiser<S> {
    /// D(x; σ) for the whole batch at one noise level.
    ///
    /// # Errors
    /// The model's own failure, as a [`DenoiseError`].
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError>;
}

impl<S, F: Fn(&S, f64) -> S> Denoiser<S> for F {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        Ok(self(x, sigma))
    }
}

/// A closure `Fn(&S, f64) -> Result<S, E>` as a [`Denoiser`], its error wrapped in a
/// [`DenoiseError`] (e.g. `FallibleFn(|x, sigma| network.try_forward(…))`).
#[derive(Clone, Copy, Debug)]
pub struct FallibleFn<F>(pub F);

impl<S, E, F> Denoiser<S> for FallibleFn<F>
where
    F: Fn(&S, f64) -> Result<S, E>,
    E: std::error::Error + Send + Sync + 'static,
{
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        (self.0)(x, sigma).map_err(DenoiseError::new)
    }
}

/// Counts the evaluations of a denoiser (the NFE samplers are compared by). A failed call
/// counts, and its error is passed on.
pub struct CountingDenoiser<'a, S> {
    inner: &'a dyn Denoiser<S>,
    count: Cell<usize>,
}

impl<'a, S> CountingDenoiser<'a, S> {
    /// Wraps `inner` with a zeroed counter.
    pub fn new(inner: &'a dyn Denoiser<S>) -> Self {
        Self {
            inner,
            count: Cell::new(0),
        }
    }

    /// Evaluations so far.
    pub fn count(&self) -> usize {
        self.count.get()
    }
}

impl<S> Denoiser<S> for CountingDenoiser<'_, S> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        self.count.set(self.count.get() + 1);
        self.inner.denoise(x, sigma)
    }
}

/// The first error of a model evaluated inside a vector field, whose signature
/// ([`OdeTerm::vf`](crate::OdeTerm::vf), [`SdeTerm::drift`](crate::SdeTerm::drift)) has no
/// error channel.
///
/// **The pattern.** The field evaluates the model through [`ErrorStash::state`] (or
/// [`ErrorStash::guard`]): on the first error the stash records it and the field returns a NaN
/// state; from then on the field returns NaN without calling the model again. The integrator
/// stops on the non-finite state (its own error is
/// [`SolveError::NonFinite`](crate::SolveError::NonFinite) or a step-size failure), and
/// [`ErrorStash::finish`] replaces whatever it returned by the recorded error, so the caller
/// sees the model's error, not its symptom:
///
/// ```
/// use scoreflow_ode_sde_solvers::ode::{Euler, SolveOptions, integrate};
/// use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, ErrorStash, FallibleFn, SolveError};
///
/// let model = FallibleFn(|x: &f64, sigma: f64| {
///     if sigma < 0.5 { Err(std::fmt::Error) } else { Ok(0.5 * x) }
/// });
/// let stash = ErrorStash::<DenoiseError>::new();
/// let field = |sigma: f64, x: &f64| stash.state(x, || Ok((x - model.denoise(x, sigma)?) / sigma));
/// let result = stash.finish(integrate(&field, &Euler, 1.0, 0.1, 1.0, &SolveOptions::steps(10)));
/// assert!(matches!(result, Err(SolveError::Model(_))));
/// ```
///
/// `E` is the error recorded: [`DenoiseError`] by default, or the caller's own error type
/// (anything the model's error converts into with `?`).
#[derive(Debug)]
pub struct ErrorStash<E = DenoiseError> {
    first: RefCell<Option<E>>,
}

impl<E> Default for ErrorStash<E> {
    fn default() -> Self {
        Self {
            first: RefCell::new(None),
        }
    }
}

impl<E: Clone> Clone for ErrorStash<E> {
    fn clone(&self) -> Self {
        Self {
            first: RefCell::new(self.first.borrow().clone()),
        }
    }
}

impl<E> ErrorStash<E> {
    /// An empty stash.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` unless an error is already recorded; records its error if it fails. `None`
    /// means "no value": `f` failed now or an earlier call did.
    pub fn guard<T>(&self, f: impl FnOnce() -> Result<T, E>) -> Option<T> {
        if self.is_set() {
            return None;
        }
        match f() {
            Ok(v) => Some(v),
            Err(e) => {
                self.record(e);
                None
            }
        }
    }

    /// [`ErrorStash::guard`] for a vector field: `f`'s state, or a NaN state shaped like `like`
    /// (which stops the integrator) when there is no value.
    pub fn state<S: State>(&self, like: &S, f: impl FnOnce() -> Result<S, E>) -> S {
        self.guard(f)
            .unwrap_or_else(|| like.clone().scale(f64::NAN))
    }

    /// Records `error` unless an earlier one is recorded (the first error is the cause; later
    /// ones are consequences).
    pub fn record(&self, error: E) {
        self.first.borrow_mut().get_or_insert(error);
    }

    /// Whether an error is recorded.
    pub fn is_set(&self) -> bool {
        self.first.borrow().is_some()
    }

    /// Removes and returns the recorded error, leaving the stash empty.
    pub fn take(&self) -> Option<E> {
        self.first.borrow_mut().take()
    }

    /// The integration's `result`, unless an error was recorded: then that error (converted),
    /// whatever the integrator made of the NaN state. Empties the stash.
    pub fn finish<T, R: From<E>>(&self, result: Result<T, R>) -> Result<T, R> {
        match self.take() {
            Some(e) => Err(R::from(e)),
            None => result,
        }
    }
}
