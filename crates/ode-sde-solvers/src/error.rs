//! Failures are values: every way an integration can go wrong is a variant here, and a model's
//! own failure travels through it as a [`DenoiseError`].

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use thiserror::Error;

/// Why a model (a [`Denoiser`](crate::Denoiser) or what it wraps) gave no output: a network that
/// rejects its input, an adapter asked for a σ outside its schedule, a shape mismatch.
///
/// It keeps the model's own error whole: `Display` and [`source`](StdError::source) are the
/// inner error's (transparent), and [`DenoiseError::downcast_ref`] recovers its type. Cloning is
/// cheap (shared), so [`SolveError`] stays `Clone`; two `DenoiseError`s compare equal when their
/// messages do.
#[derive(Clone)]
pub struct DenoiseError(Arc<dyn StdError + Send + Sync + 'static>);

/// The error of [`DenoiseError::msg`]: a message and nothing else.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

impl DenoiseError {
    /// Wraps a model's error.
    pub fn new<E: StdError + Send + Sync + 'static>(error: E) -> Self {
        Self(Arc::new(error))
    }

    /// An error that is only a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(Message(message.into()))
    }

    /// The wrapped error as `E`, if it is one (e.g. a network's typed input error).
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl From<Box<dyn StdError + Send + Sync + 'static>> for DenoiseError {
    fn from(error: Box<dyn StdError + Send + Sync + 'static>) -> Self {
        Self(Arc::from(error))
    }
}

impl fmt::Display for DenoiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for DenoiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DenoiseError").field(&self.0).finish()
    }
}

impl StdError for DenoiseError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl PartialEq for DenoiseError {
    /// Equal messages: the wrapped errors need not be comparable.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

/// Why an ODE or SDE integration, or a Brownian query, did not produce a result.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SolveError {
    /// t0, t1 or a save time is NaN or infinite, or t0 == t1.
    #[error("invalid time interval: {0}")]
    InvalidInterval(String),
    /// A tolerance, step size or option is out of its domain.
    #[error("invalid option `{name}` = {value}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What the value must satisfy.
        reason: &'static str,
    },
    /// The integration needed more steps than allowed.
    #[error("maximum number of steps ({max_steps}) reached at t = {t}")]
    MaxStepsReached {
        /// The time reached.
        t: f64,
        /// The limit.
        max_steps: usize,
    },
    /// The adaptive step size fell below its minimum (a stiff or singular problem).
    #[error("step size {dt:e} fell below the minimum at t = {t}")]
    StepSizeTooSmall {
        /// The time reached.
        t: f64,
        /// The rejected step size.
        dt: f64,
    },
    /// The solution became NaN or infinite.
    #[error("the solution is not finite at t = {t}")]
    NonFinite {
        /// The time at which it was detected.
        t: f64,
    },
    /// The solver cannot integrate this problem (e.g. SRA1 with non-additive noise).
    #[error("solver `{solver}` cannot integrate this problem: {reason}")]
    Unsupported {
        /// The solver.
        solver: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A Brownian source was queried outside its interval or out of order.
    #[error("Brownian query [{t0}, {t1}] is invalid: {reason}")]
    BrownianQuery {
        /// Start of the query.
        t0: f64,
        /// End of the query.
        t1: f64,
        /// Why it cannot be answered.
        reason: &'static str,
    },
    /// No sampler has this name.
    #[error("unknown sampler `{0}` (known: {known})", known = crate::samplers::SAMPLER_NAMES.join(", "))]
    UnknownSampler(String),
    /// The model failed (a [`Denoiser`](crate::Denoiser) returned an error); the sampler or
    /// integration stopped there.
    #[error("the model failed: {0}")]
    Model(#[from] DenoiseError),
    /// The seeds given do not match the state's batch.
    #[error("{seeds} seeds given for a state of {samples} samples")]
    SeedCount {
        /// Seeds given.
        seeds: usize,
        /// Samples in the state.
        samples: usize,
    },
}
