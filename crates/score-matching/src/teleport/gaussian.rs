//! The Gaussian approximation of the data and its exact probability-flow map.

use ndarray::Array2;

use super::TeleportError;
use crate::analytic::GaussianMixture;
use crate::analytic::linalg;

/// Relative tolerance on asymmetry and on negative eigenvalues of a covariance, against its
/// largest absolute entry: sample covariances are PSD only up to roundoff.
const PSD_TOL: f64 = 1e-12;

/// A Gaussian N(μ, Σ = QΛQᵀ) standing in for the data distribution, with the closed-form
/// solution of its EDM probability-flow ODE dx/dσ = (x − D(x; σ))/σ (Karras et al. 2022,
/// eq. (3) with σ(t) = t).
///
/// For Gaussian data the optimal denoiser is affine, D(x; σ) = μ + Σ(Σ + σ²I)⁻¹(x − μ), and the
/// ODE decouples along the eigenvectors of Σ: dzᵢ/dσ = σzᵢ/(λᵢ + σ²) for z = Qᵀ(x − μ), so
///
/// x(σ) = μ + Q diag(√((λᵢ + σ²)/(λᵢ + σ₀²))) Qᵀ (x(σ₀) − μ)
///
/// (Wang & Vastola 2024, "The Unreasonable Effectiveness of Gaussian Score Approximation for
/// Diffusion Models and its Applications", §3, the Gaussian PF-ODE solution in EDM variables).
/// Wang & Vastola show that for σ well above the data's scale the score of any bounded
/// distribution is close to that of its Gaussian approximation, which is what makes
/// [`Self::teleport`] a good replacement for the first steps of a sampler ("analytical
/// teleportation", their §5). Λ may have zero eigenvalues (a rank-deficient sample covariance):
/// the map stays finite for every σ, σ₀ > 0.
#[derive(Debug, Clone)]
pub struct GaussianApprox {
    mean: Vec<f64>,
    cov: Vec<f64>,
    eigvals: Vec<f64>,
    /// Row i is the unit eigenvector qᵢ (Qᵀ row-major).
    eigvecs_t: Vec<f64>,
}

impl GaussianApprox {
    /// N(`mean`, `cov`) with `cov` row-major d × d, symmetric positive semi-definite.
    ///
    /// # Errors
    /// [`TeleportError::Shape`] for a covariance that is not d × d (or d = 0),
    /// [`TeleportError::NonFinite`], and [`TeleportError::NotPsd`] for asymmetry or a negative
    /// eigenvalue beyond 1e-12 of the largest entry (smaller ones are roundoff and set to 0).
    pub fn new(mean: Vec<f64>, cov: Vec<f64>) -> Result<Self, TeleportError> {
        let d = mean.len();
        if d == 0 || cov.len() != d * d {
            return Err(TeleportError::Shape {
                what: "covariance",
                expected: d * d,
                found: cov.len(),
            });
        }
        if mean.iter().any(|v| !v.is_finite()) {
            return Err(TeleportError::NonFinite { what: "mean" });
        }
        if cov.iter().any(|v| !v.is_finite()) {
            return Err(TeleportError::NonFinite { what: "covariance" });
        }
        let scale = cov.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        for i in 0..d {
            for j in i + 1..d {
                if (cov[i * d + j] - cov[j * d + i]).abs() > PSD_TOL * scale {
                    return Err(TeleportError::NotPsd {
                        reason: format!("entry ({i},{j}) differs from ({j},{i})"),
                    });
                }
            }
        }
        let (mut eigvals, eigvecs_t) = linalg::symmetric_eigen(&cov, d);
        for lam in &mut eigvals {
            if *lam < -PSD_TOL * scale.max(f64::MIN_POSITIVE) {
                return Err(TeleportError::NotPsd {
                    reason: format!("eigenvalue {lam:e} is negative"),
                });
            }
            *lam = lam.max(0.0);
        }
        Ok(Self {
            mean,
            cov,
            eigvals,
            eigvecs_t,
        })
    }

    /// The moment-matched Gaussian of a mixture: its exact mean Σₖwₖμₖ and covariance
    /// Σₖwₖ(Σₖ + μₖμₖᵀ) − μμᵀ ([`GaussianMixture::mean`], [`GaussianMixture::covariance`]).
    /// For a one-component mixture this is the target itself, so the teleport is exact.
    pub fn from_mixture(mixture: &GaussianMixture) -> Self {
        Self::new(mixture.mean(), mixture.covariance())
            .expect("a valid mixture has finite, PSD moments")
    }

    /// The sample mean and unbiased sample covariance (divisor n − 1) of n points stored
    /// row-major in `xs` (length n·d), as Wang & Vastola estimate them from training data.
    ///
    /// # Errors
    /// [`TeleportError::Shape`] if `xs.len()` is not a multiple of `dim` (or `dim` = 0),
    /// [`TeleportError::TooFewSamples`] for n < 2, [`TeleportError::NonFinite`].
    pub fn from_samples(xs: &[f64], dim: usize) -> Result<Self, TeleportError> {
        if dim == 0 || !xs.len().is_multiple_of(dim) {
            return Err(TeleportError::Shape {
                what: "samples",
                expected: dim.max(1) * (xs.len() / dim.max(1)),
                found: xs.len(),
            });
        }
        let n = xs.len() / dim;
        if n < 2 {
            return Err(TeleportError::TooFewSamples(n));
        }
        if xs.iter().any(|v| !v.is_finite()) {
            return Err(TeleportError::NonFinite { what: "samples" });
        }
        let mut mean = vec![0.0; dim];
        for x in xs.chunks_exact(dim) {
            mean.iter_mut().zip(x).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0.0; dim * dim];
        for x in xs.chunks_exact(dim) {
            for i in 0..dim {
                let ci = x[i] - mean[i];
                for j in i..dim {
                    cov[i * dim + j] += ci * (x[j] - mean[j]);
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let c = cov[i * dim + j] / (n - 1) as f64;
                cov[i * dim + j] = c;
                cov[j * dim + i] = c;
            }
        }
        Self::new(mean, cov)
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// μ.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Σ, row-major d × d.
    pub fn cov(&self) -> &[f64] {
        &self.cov
    }

    /// The eigenvalues λᵢ of Σ (≥ 0).
    pub fn eigvals(&self) -> &[f64] {
        &self.eigvals
    }

    /// The unit eigenvectors of the covariance, row i the eigenvector of `eigvals()[i]`
    /// (Qᵀ, row-major d × d).
    pub fn eigvecs_t(&self) -> &[f64] {
        &self.eigvecs_t
    }

    /// Moves every row of `x` (n × d) along the Gaussian's probability-flow ODE from σ₀ =
    /// `sigma_from` to σ = `sigma_to`: x ↦ μ + Q diag(√((λᵢ + σ²)/(λᵢ + σ₀²))) Qᵀ(x − μ)
    /// (see the type's documentation). Costs O(n d²) and no model evaluation.
    ///
    /// # Errors
    /// [`TeleportError::BadSigma`] for a negative or non-finite σ, or σ₀ = 0 with a zero
    /// eigenvalue (the map is then singular); [`TeleportError::Shape`] if `x` does not have d
    /// columns.
    pub fn teleport(
        &self,
        x: &Array2<f64>,
        sigma_from: f64,
        sigma_to: f64,
    ) -> Result<Array2<f64>, TeleportError> {
        let d = self.dim();
        if x.ncols() != d {
            return Err(TeleportError::Shape {
                what: "x (columns)",
                expected: d,
                found: x.ncols(),
            });
        }
        for (name, value) in [("sigma_from", sigma_from), ("sigma_to", sigma_to)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(TeleportError::BadSigma { name, value });
            }
        }
        let (s0, s1) = (sigma_from * sigma_from, sigma_to * sigma_to);
        let gains: Vec<f64> = self
            .eigvals
            .iter()
            .map(|lam| ((lam + s1) / (lam + s0)).sqrt())
            .collect();
        if gains.iter().any(|g| !g.is_finite()) {
            return Err(TeleportError::BadSigma {
                name: "sigma_from",
                value: sigma_from,
            });
        }
        let mut out = Array2::zeros(x.raw_dim());
        let mut z = vec![0.0; d];
        for (row, mut o) in x.rows().into_iter().zip(out.rows_mut()) {
            for (i, zi) in z.iter_mut().enumerate() {
                let q = &self.eigvecs_t[i * d..(i + 1) * d];
                let mut s = 0.0;
                for ((qj, xj), mj) in q.iter().zip(row.iter()).zip(&self.mean) {
                    s += qj * (xj - mj);
                }
                *zi = s * gains[i];
            }
            for (j, oj) in o.iter_mut().enumerate() {
                let mut s = self.mean[j];
                for (i, zi) in z.iter().enumerate() {
                    s += self.eigvecs_t[i * d + j] * zi;
                }
                *oj = s;
            }
        }
        Ok(out)
    }
}
