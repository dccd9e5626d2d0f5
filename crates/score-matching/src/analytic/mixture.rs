//! The Gaussian mixture, its validation, and its exact noised density, score and denoiser.

use std::sync::Arc;

use super::basis::Basis;
use super::component::{Component, Family, Posterior};
use super::error::MixtureError;
use super::linalg;

/// Tolerance on |Σ wₖ − 1|.
const WEIGHT_SUM_TOL: f64 = 1e-9;
/// Tolerance on |Σᵢⱼ − Σⱼᵢ|, relative to the largest absolute entry of Σ.
const SYMMETRY_TOL: f64 = 1e-12;

/// An exact Gaussian mixture p₀(x) = Σₖ wₖ N(x; μₖ, Σₖ) in d dimensions with full
/// covariances, used as ground truth for samplers and likelihoods.
///
/// Noising follows the EDM convention x_σ = x₀ + σε, ε ~ N(0, I) (Karras et al. 2022,
/// "Elucidating the Design Space of Diffusion-Based Generative Models", §2): the noised
/// marginal p_σ is again a mixture with the same weights and means and covariances
/// Σₖ + σ²I, so its density, score, denoiser and score divergence are all closed-form.
/// [`Self::condot_velocity`] and [`Self::condot_log_prob`] give the same for the
/// flow-matching CondOT path (Lipman et al. 2023).
///
/// Each covariance is factorised once at construction (Cholesky for sampling, a symmetric
/// eigendecomposition Σₖ = QₖΛₖQₖᵀ for everything else); since Σₖ + σ²I and t²Σₖ + (1 − t)²I
/// share Qₖ, every evaluation costs O(K d²) with no per-σ factorisation. Single-point
/// methods allocate one or two scratch vectors of length d per call. The `*_batch` methods
/// evaluate the same closed forms as two matrix products per block of rows over the stacked
/// eigenbases (n × d by d × Kd and back), or for the denoiser, velocity and score one product
/// with the per-call precision matrices (Σₖ + σ²I)⁻¹ where a rounding bound allows,
/// single-threaded unless [`Self::with_threads`] asks for more.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    dim: usize,
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    covs: Vec<Vec<Vec<f64>>>,
    pub(crate) components: Vec<Component>,
    /// The eigenbases stacked for the batched methods (src/analytic/batch.rs).
    pub(crate) basis: Basis,
    /// Threads of the batched methods; `None` runs them on the caller's thread.
    pub(crate) pool: Option<Arc<rayon::ThreadPool>>,
}

impl GaussianMixture {
    /// Validates and factorises p₀ = Σₖ wₖ N(μₖ, Σₖ).
    ///
    /// Requirements: at least one component, dimension ≥ 1 (the length of `means[0]`),
    /// matching counts and shapes, every number finite, weights > 0 summing to 1 within 1e-9
    /// (they are then renormalised to sum to 1 exactly), each Σₖ symmetric to within 1e-12
    /// times its largest absolute entry, and positive definite (its Cholesky factorisation
    /// succeeds and every eigenvalue is > 0). Anything else is a [`MixtureError`], never a
    /// panic.
    pub fn new(
        weights: Vec<f64>,
        means: Vec<Vec<f64>>,
        covs: Vec<Vec<Vec<f64>>>,
    ) -> Result<Self, MixtureError> {
        let n_comp = weights.len();
        if n_comp == 0 {
            return Err(MixtureError::Empty {
                what: "no components",
            });
        }
        if means.len() != n_comp || covs.len() != n_comp {
            return Err(MixtureError::ComponentCountMismatch {
                weights: n_comp,
                means: means.len(),
                covs: covs.len(),
            });
        }
        let dim = means[0].len();
        if dim == 0 {
            return Err(MixtureError::Empty {
                what: "dimension 0",
            });
        }
        validate_weights(&weights)?;
        for k in 0..n_comp {
            validate_mean(k, &means[k], dim)?;
            validate_cov(k, &covs[k], dim)?;
        }

        let sum: f64 = weights.iter().sum();
        let weights: Vec<f64> = weights.iter().map(|w| w / sum).collect();
        let mut components = Vec::with_capacity(n_comp);
        for k in 0..n_comp {
            components.push(factorise(k, weights[k], &means[k], &covs[k])?);
        }
        let basis = Basis::new(&components);
        Ok(Self {
            dim,
            weights,
            means,
            covs,
            components,
            basis,
            pool: None,
        })
    }

    /// The dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The number of components K.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }

    /// The weights wₖ (renormalised to sum to exactly 1).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The means μₖ, each of length d.
    pub fn means(&self) -> &[Vec<f64>] {
        &self.means
    }

    /// The covariances Σₖ of p₀ (σ = 0), each d × d as given.
    pub fn covs(&self) -> &[Vec<Vec<f64>>] {
        &self.covs
    }

    /// The exact mean of p₀: μ = Σₖ wₖ μₖ (also the mean of every p_σ).
    pub fn mean(&self) -> Vec<f64> {
        let mut m = vec![0.0; self.dim];
        for (w, mu) in self.weights.iter().zip(&self.means) {
            for (mi, x) in m.iter_mut().zip(mu) {
                *mi += w * x;
            }
        }
        m
    }

    /// The exact covariance of p₀, flat row-major d × d, by the law of total covariance:
    /// Σₖ wₖ (Σₖ + μₖμₖᵀ) − μμᵀ. Add σ²I for p_σ.
    pub fn covariance(&self) -> Vec<f64> {
        let d = self.dim;
        let m = self.mean();
        let mut c = vec![0.0; d * d];
        for ((w, mu), cov) in self.weights.iter().zip(&self.means).zip(&self.covs) {
            for i in 0..d {
                for j in 0..d {
                    c[i * d + j] += w * (cov[i][j] + mu[i] * mu[j]);
                }
            }
        }
        for i in 0..d {
            for j in 0..d {
                c[i * d + j] -= m[i] * m[j];
            }
        }
        c
    }

    /// ln p_σ(x) for the noised marginal p_σ = Σₖ wₖ N(μₖ, Σₖ + σ²I) of x_σ = x₀ + σε
    /// (Karras et al. 2022); σ = 0 gives p₀. Evaluated by log-sum-exp over components, so it
    /// stays finite far in the tails where the densities themselves underflow. Only σ²
    /// enters, so the sign of `sigma` is irrelevant.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn log_prob(&self, x: &[f64], sigma: f64) -> f64 {
        self.check_len(x.len(), "x");
        let mut z = vec![0.0; self.dim];
        self.sweep(x, Family::sigma(sigma), &mut z, |_, _, _, _| {})
            .log_sum_exp()
    }

    /// The score ∇ₓ ln p_σ(x) = Σₖ rₖ(x) (Σₖ + σ²I)⁻¹(μₖ − x), where
    /// rₖ(x) = wₖ N(x; μₖ, Σₖ + σ²I) / p_σ(x) are the posterior responsibilities
    /// (Song et al. 2021, "Score-Based Generative Modeling through SDEs", for the role of
    /// ∇ ln p_σ; the mixture form follows from differentiating the log-sum-exp).
    ///
    /// # Panics
    /// If `x` or `out` does not have length `self.dim()`.
    pub fn score(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        self.check_len(x.len(), "x");
        self.check_len(out.len(), "out");
        let mut z = vec![0.0; self.dim];
        self.score_with(x, sigma, out, &mut z);
    }

    /// The optimal denoiser D(x; σ) = E[x₀ | x_σ = x] of Karras et al. 2022 (EDM, eq. 3),
    /// computed directly from Gaussian conditioning within each component,
    /// D = Σₖ rₖ(x) [μₖ + Σₖ(Σₖ + σ²I)⁻¹(x − μₖ)],
    /// rather than through Tweedie's formula D = x + σ²∇ ln p_σ(x) (Efron 2011, "Tweedie's
    /// formula and selection bias"), so that the two can check each other. The direct form
    /// also keeps full relative accuracy as σ → ∞, where x + σ²·score cancels.
    ///
    /// # Panics
    /// If `x` or `out` does not have length `self.dim()`.
    pub fn denoise(&self, x: &[f64], sigma: f64, out: &mut [f64]) {
        self.check_len(x.len(), "x");
        self.check_len(out.len(), "out");
        let mut z = vec![0.0; self.dim];
        self.denoise_with(x, sigma, out, &mut z);
    }

    /// The divergence of the score, ∇·∇ ln p_σ(x) = tr ∇² ln p_σ(x), in closed form:
    /// Σₖ rₖ [−tr Aₖ + |Aₖ(μₖ − x)|²] − |Σₖ rₖ Aₖ(μₖ − x)|², Aₖ = (Σₖ + σ²I)⁻¹.
    /// It follows from ∇rₖ = rₖ(gₖ − ḡ) with gₖ = Aₖ(μₖ − x), ḡ = Σ rₖ gₖ, and ∇gₖ = −Aₖ.
    /// This is the trace term of the instantaneous change of variables
    /// d ln p/dt = −∇·v (Chen et al. 2018, "Neural ODEs"; Song et al. 2021, App. D.2), so
    /// probability-flow likelihoods can be computed exactly rather than with Hutchinson's
    /// estimator.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn score_divergence(&self, x: &[f64], sigma: f64) -> f64 {
        self.check_len(x.len(), "x");
        let s2 = sigma * sigma;
        let d = self.dim;
        let mut z = vec![0.0; d];
        let mut g_bar = vec![0.0; d];
        let mut scalar = 0.0;
        let post = self.sweep(x, Family::sigma(sigma), &mut z, |comp, z, rescale, w| {
            if rescale != 1.0 {
                scalar *= rescale;
                g_bar.iter_mut().for_each(|g| *g *= rescale);
            }
            let mut term = 0.0;
            for (zi, lam) in z.iter().zip(&comp.eigvals) {
                let c = lam + s2;
                // gₖ in the eigenbasis is −z/c, so |gₖ|² = Σ z²/c² and tr Aₖ = Σ 1/c.
                term += (zi * zi / c - 1.0) / c;
            }
            scalar += w * term;
            add_spectral(comp, z, |lam| 1.0 / (lam + s2), -w, &mut g_bar);
        });
        let total = post.total();
        let g_sq: f64 = g_bar.iter().map(|g| (g / total) * (g / total)).sum();
        scalar / total - g_sq
    }

    fn score_with(&self, x: &[f64], sigma: f64, out: &mut [f64], z: &mut [f64]) {
        let s2 = sigma * sigma;
        out.fill(0.0);
        let post = self.sweep(x, Family::sigma(sigma), z, |comp, z, rescale, w| {
            if rescale != 1.0 {
                out.iter_mut().for_each(|o| *o *= rescale);
            }
            // (Σ + σ²I)⁻¹(μ − x) = −Q diag(1/(λ + σ²)) z.
            add_spectral(comp, z, |lam| 1.0 / (lam + s2), -w, out);
        });
        let inv = 1.0 / post.total();
        out.iter_mut().for_each(|o| *o *= inv);
    }

    fn denoise_with(&self, x: &[f64], sigma: f64, out: &mut [f64], z: &mut [f64]) {
        let s2 = sigma * sigma;
        out.fill(0.0);
        let post = self.sweep(x, Family::sigma(sigma), z, |comp, z, rescale, w| {
            if rescale != 1.0 {
                out.iter_mut().for_each(|o| *o *= rescale);
            }
            for (o, m) in out.iter_mut().zip(&comp.mean) {
                *o += w * m;
            }
            // Σ(Σ + σ²I)⁻¹(x − μ) = Q diag(λ/(λ + σ²)) z.
            add_spectral(comp, z, |lam| lam / (lam + s2), w, out);
        });
        let inv = 1.0 / post.total();
        out.iter_mut().for_each(|o| *o *= inv);
    }

    /// One pass over the components of the family `fam`: for each, computes its log density
    /// at x (leaving z = Qᵀ(x − aμ) in `z`) and hands `visit(component, z, rescale, w)` the
    /// streaming responsibility weights of [`Posterior::push`].
    pub(crate) fn sweep(
        &self,
        x: &[f64],
        fam: Family,
        z: &mut [f64],
        mut visit: impl FnMut(&Component, &[f64], f64, f64),
    ) -> Posterior {
        let mut post = Posterior::new();
        for comp in &self.components {
            let log_density = comp.log_density(x, fam, z);
            let (rescale, w) = post.push(comp.log_weight + log_density);
            visit(comp, z, rescale, w);
        }
        post
    }

    pub(crate) fn check_len(&self, len: usize, what: &str) {
        assert_eq!(
            len, self.dim,
            "{what} has length {len} but the mixture has dimension {}",
            self.dim
        );
    }

    pub(crate) fn check_batch(&self, xs: &[f64], out: &[f64]) {
        assert_eq!(
            xs.len() % self.dim,
            0,
            "batch length {} is not a multiple of the dimension {}",
            xs.len(),
            self.dim
        );
        assert_eq!(
            out.len(),
            xs.len(),
            "output and input batches differ in length"
        );
    }
}

/// out += scale · Q diag(f(λᵢ)) z: every closed form here is a spectral function of Σₖ
/// applied to z = Qᵀ(x − aμₖ).
pub(crate) fn add_spectral(
    comp: &Component,
    z: &[f64],
    f: impl Fn(f64) -> f64,
    scale: f64,
    out: &mut [f64],
) {
    if scale == 0.0 {
        return;
    }
    let d = z.len();
    for (i, (zi, lam)) in z.iter().zip(&comp.eigvals).enumerate() {
        let coef = scale * zi * f(*lam);
        let q = &comp.eigvecs_t[i * d..(i + 1) * d];
        for (o, qj) in out.iter_mut().zip(q) {
            *o += coef * qj;
        }
    }
}

fn validate_weights(weights: &[f64]) -> Result<(), MixtureError> {
    for (k, &w) in weights.iter().enumerate() {
        if !w.is_finite() {
            return Err(MixtureError::NonFinite {
                what: format!("weight of component {k}"),
                value: w,
            });
        }
        if w <= 0.0 {
            return Err(MixtureError::NonPositiveWeight {
                component: k,
                weight: w,
            });
        }
    }
    let sum: f64 = weights.iter().sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOL {
        return Err(MixtureError::WeightsNotNormalized { sum });
    }
    Ok(())
}

fn validate_mean(k: usize, mean: &[f64], dim: usize) -> Result<(), MixtureError> {
    if mean.len() != dim {
        return Err(MixtureError::DimensionMismatch {
            component: k,
            what: "mean".into(),
            expected: dim,
            found: mean.len(),
        });
    }
    for (i, &m) in mean.iter().enumerate() {
        if !m.is_finite() {
            return Err(MixtureError::NonFinite {
                what: format!("mean of component {k}, entry {i}"),
                value: m,
            });
        }
    }
    Ok(())
}

fn validate_cov(k: usize, cov: &[Vec<f64>], dim: usize) -> Result<(), MixtureError> {
    if cov.len() != dim {
        return Err(MixtureError::DimensionMismatch {
            component: k,
            what: "covariance (number of rows)".into(),
            expected: dim,
            found: cov.len(),
        });
    }
    let mut scale = 0.0_f64;
    for (i, row) in cov.iter().enumerate() {
        if row.len() != dim {
            return Err(MixtureError::DimensionMismatch {
                component: k,
                what: format!("covariance row {i}"),
                expected: dim,
                found: row.len(),
            });
        }
        for (j, &v) in row.iter().enumerate() {
            if !v.is_finite() {
                return Err(MixtureError::NonFinite {
                    what: format!("covariance of component {k}, entry ({i},{j})"),
                    value: v,
                });
            }
            scale = scale.max(v.abs());
        }
    }
    for (i, row) in cov.iter().enumerate() {
        for (j, &upper) in row.iter().enumerate().skip(i + 1) {
            let lower = cov[j][i];
            if (upper - lower).abs() > SYMMETRY_TOL * scale {
                return Err(MixtureError::NotSymmetric {
                    component: k,
                    row: i,
                    col: j,
                    upper,
                    lower,
                });
            }
        }
    }
    Ok(())
}

/// Cholesky and eigendecomposition of a validated covariance. The symmetric part is
/// factorised, so roundoff-level asymmetry admitted by the tolerance cannot leak in.
fn factorise(
    k: usize,
    weight: f64,
    mean: &[f64],
    cov: &[Vec<f64>],
) -> Result<Component, MixtureError> {
    let d = mean.len();
    let mut flat = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            flat[i * d + j] = 0.5 * (cov[i][j] + cov[j][i]);
        }
    }
    let chol = linalg::cholesky(&flat, d).map_err(|pivot| MixtureError::NotPositiveDefinite {
        component: k,
        reason: format!("Cholesky pivot {pivot} is not positive"),
    })?;
    let (eigvals, eigvecs_t) = linalg::symmetric_eigen(&flat, d);
    let min = eigvals.iter().copied().fold(f64::INFINITY, f64::min);
    // Cholesky can succeed on matrices whose smallest eigenvalue is at roundoff level; the
    // closed forms divide by λ at σ = 0, so such a matrix is rejected as well.
    if min <= 0.0 {
        return Err(MixtureError::NotPositiveDefinite {
            component: k,
            reason: format!("smallest eigenvalue {min:e} is not positive"),
        });
    }
    Ok(Component::new(
        weight.ln(),
        mean.to_vec(),
        chol,
        (eigvals, eigvecs_t),
    ))
}
