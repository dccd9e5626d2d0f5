//! The data's first two moments as `fm-gauss` takes them.

use nalgebra::{DMatrix, SymmetricEigen};
use ndarray::{Array1, Array2};

use super::FlowSampleError;

/// The data's mean μ and covariance Σ = Q diag(λ) Qᵀ, as `fm-gauss` needs them.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianMoments {
    pub(super) mean: Array1<f64>,
    pub(super) lambda: Array1<f64>,
    /// Column i is the unit eigenvector qᵢ.
    pub(super) q: Array2<f64>,
}

impl GaussianMoments {
    /// μ, the eigenvalues λ of Σ and its eigenvectors as the columns of `q` (d × d).
    ///
    /// # Errors
    /// [`FlowSampleError::Moments`] when the shapes disagree, d = 0, a value is not finite, an
    /// eigenvalue is negative, or `q` is not orthogonal to 1e-8.
    pub fn new(
        mean: Array1<f64>,
        lambda: Array1<f64>,
        q: Array2<f64>,
    ) -> Result<Self, FlowSampleError> {
        let d = mean.len();
        let bad = |reason: String| Err(FlowSampleError::Moments(reason));
        if d == 0 || lambda.len() != d || q.dim() != (d, d) {
            return bad(format!(
                "mean of length {d}, {} eigenvalues and an eigenvector matrix of shape {:?}",
                lambda.len(),
                q.dim()
            ));
        }
        if mean.iter().chain(&lambda).chain(&q).any(|v| !v.is_finite()) {
            return bad("a moment is not finite".into());
        }
        if let Some(l) = lambda.iter().find(|&&l| l < 0.0) {
            return bad(format!("eigenvalue {l} of the covariance is negative"));
        }
        let gram = q.t().dot(&q);
        let off = gram
            .indexed_iter()
            .map(|((i, j), &g)| (g - if i == j { 1.0 } else { 0.0 }).abs())
            .fold(0.0, f64::max);
        if off > 1e-8 {
            return bad(format!(
                "the eigenvectors are not orthonormal (|QᵀQ − I| = {off:e})"
            ));
        }
        Ok(Self { mean, lambda, q })
    }

    /// μ and Σ (d × d, symmetric to 1e-9 relative to its largest entry): Σ's symmetric part is
    /// decomposed (nalgebra's symmetric QR algorithm: Householder tridiagonalisation and
    /// implicit shifts, O(d³) — 0.4 s at d = 784, where cyclic Jacobi takes tens of seconds)
    /// and eigenvalues below 0 by roundoff, as a rank-deficient sample covariance has, are set
    /// to 0.
    ///
    /// # Errors
    /// [`FlowSampleError::Moments`] for mismatched shapes, non-finite values, an asymmetric Σ
    /// or an eigenvalue below −1e-9·max|Σ| (not a covariance).
    pub fn from_covariance(
        mean: Array1<f64>,
        covariance: &Array2<f64>,
    ) -> Result<Self, FlowSampleError> {
        let d = mean.len();
        let bad = |reason: String| Err(FlowSampleError::Moments(reason));
        if d == 0 || covariance.dim() != (d, d) {
            return bad(format!(
                "mean of length {d} and a covariance of shape {:?}",
                covariance.dim()
            ));
        }
        if mean.iter().chain(covariance).any(|v| !v.is_finite()) {
            return bad("a moment is not finite".into());
        }
        let scale = covariance.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let asym = covariance
            .indexed_iter()
            .map(|((i, j), &c)| (c - covariance[(j, i)]).abs())
            .fold(0.0, f64::max);
        if asym > 1e-9 * scale {
            return bad(format!(
                "the covariance is not symmetric (|Σ − Σᵀ| = {asym:e})"
            ));
        }
        let sym = DMatrix::from_fn(d, d, |i, j| 0.5 * (covariance[(i, j)] + covariance[(j, i)]));
        let eig = SymmetricEigen::new(sym);
        if let Some(l) = eig.eigenvalues.iter().find(|&&l| l < -1e-9 * scale) {
            return bad(format!(
                "the covariance has a negative eigenvalue {l}: not a covariance"
            ));
        }
        let lambda = eig.eigenvalues.iter().map(|&l| l.max(0.0)).collect();
        let q = Array2::from_shape_fn((d, d), |(i, j)| eig.eigenvectors[(i, j)]);
        Self::new(mean, lambda, q)
    }

    /// d.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// μ.
    pub fn mean(&self) -> &Array1<f64> {
        &self.mean
    }

    /// The eigenvalues λ of Σ.
    pub fn lambda(&self) -> &Array1<f64> {
        &self.lambda
    }

    /// The eigenvectors of Σ as columns (Q of Σ = Q diag(λ) Qᵀ).
    pub fn q(&self) -> &Array2<f64> {
        &self.q
    }

    /// Σ = Q diag(λ) Qᵀ.
    pub fn covariance(&self) -> Array2<f64> {
        let scaled = &self.q * &self.lambda;
        scaled.dot(&self.q.t())
    }
}
