//! Errors from building a [`GaussianMixture`](super::GaussianMixture).

use std::path::PathBuf;

use thiserror::Error;

/// Why a mixture specification was rejected. Construction never panics on bad input: every
/// check that could fail on user data (JSON, files, hand-built vectors) lands here.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MixtureError {
    /// No components, or components of dimension zero.
    #[error("a Gaussian mixture needs at least one component of dimension ≥ 1 ({what})")]
    Empty {
        /// Which of the two was missing.
        what: &'static str,
    },
    /// `weights`, `means` and `covs` list different numbers of components.
    #[error("component counts disagree: {weights} weights, {means} means, {covs} covariances")]
    ComponentCountMismatch {
        /// Number of weights.
        weights: usize,
        /// Number of means.
        means: usize,
        /// Number of covariances.
        covs: usize,
    },
    /// A mean or covariance has the wrong shape; the dimension is that of mean 0.
    #[error("component {component}: {what} has length {found}, expected {expected}")]
    DimensionMismatch {
        /// Component index.
        component: usize,
        /// What had the wrong length ("mean", "covariance", "covariance row 3", …).
        what: String,
        /// The mixture dimension (length of mean 0).
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A NaN or infinity in a weight, mean or covariance.
    #[error("{what} is not finite ({value})")]
    NonFinite {
        /// Where the value sits, e.g. "mean of component 1, entry 0".
        what: String,
        /// The offending value.
        value: f64,
    },
    /// A weight is zero or negative.
    #[error("weight of component {component} is {weight}; weights must be strictly positive")]
    NonPositiveWeight {
        /// Component index.
        component: usize,
        /// The weight given.
        weight: f64,
    },
    /// The weights do not sum to 1 within 1e-9.
    #[error("weights sum to {sum}, not 1 (tolerance 1e-9)")]
    WeightsNotNormalized {
        /// The sum of the weights given.
        sum: f64,
    },
    /// |Σ_ij − Σ_ji| exceeds 1e-12 times the largest absolute entry of Σ.
    #[error(
        "covariance of component {component} is not symmetric: entry ({row},{col}) = {upper} \
         but ({col},{row}) = {lower}"
    )]
    NotSymmetric {
        /// Component index.
        component: usize,
        /// Row of the first entry.
        row: usize,
        /// Column of the first entry.
        col: usize,
        /// Σ_(row, col).
        upper: f64,
        /// Σ_(col, row).
        lower: f64,
    },
    /// The Cholesky factorisation broke down, or an eigenvalue is not positive.
    #[error("covariance of component {component} is not positive definite ({reason})")]
    NotPositiveDefinite {
        /// Component index.
        component: usize,
        /// Which test failed.
        reason: String,
    },
    /// The JSON could not be parsed into `{"weights", "means", "covs"}`.
    #[error(
        "invalid mixture JSON{}: {message}",
        .path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default()
    )]
    Json {
        /// The file it came from, when it came from one.
        path: Option<PathBuf>,
        /// serde_json's message (with line and column).
        message: String,
    },
    /// A mixture file could not be read.
    #[error("cannot read mixture file {}: {source}", .path.display())]
    Io {
        /// The path that was tried.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// [`GaussianMixture::builtin`](super::GaussianMixture::builtin) got a name it does not know.
    #[error("unknown builtin mixture {name:?}; known builtins: {}", .known.join(", "))]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: &'static [&'static str],
    },
    /// [`GaussianMixture::with_threads`](super::GaussianMixture::with_threads) got 0 threads,
    /// or its thread pool could not be built.
    #[error("cannot run the batched mixture methods on {threads} threads: {message}")]
    Threads {
        /// The thread count asked for.
        threads: usize,
        /// Why it was refused.
        message: String,
    },
    /// A temperature or geometric exponent that is not finite (or, for p^β, not > 0).
    #[error("exponent β = {beta} must be finite and > 0")]
    InvalidExponent {
        /// The exponent given.
        beta: f64,
    },
    /// A closed form that exists only for a single Gaussian was asked of a mixture.
    #[error("this closed form needs a single Gaussian, not a mixture of {components} components")]
    NotGaussian {
        /// The mixture's component count.
        components: usize,
    },
}
