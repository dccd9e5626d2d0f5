//! The product of two Gaussian mixtures, again a Gaussian mixture, in closed form.

use super::error::MixtureError;
use super::linalg;
use super::mixture::GaussianMixture;

impl GaussianMixture {
    /// The normalised product p(x) ∝ p¹(x)·p²(x) of two mixtures of the same dimension, the
    /// exact target of a product of experts (Hinton 2002, "Training Products of Experts by
    /// Minimizing Contrastive Divergence"; Skreta et al. 2025 sample it with Feynman–Kac
    /// correctors). With the Gaussian product identity (Petersen & Pedersen, *The Matrix
    /// Cookbook*, §8.1.8)
    ///
    /// N(x; a, A)·N(x; b, B) = N(a; b, A + B)·N(x; c, C),
    /// C = A(A + B)⁻¹B,  c = B(A + B)⁻¹a + A(A + B)⁻¹b,
    ///
    /// the product of Σₖ wₖN(μₖ, Σₖ) and Σₗ vₗN(νₗ, Γₗ) has K·L components (k, l) (row-major,
    /// k outer) of weight ∝ wₖvₗN(μₖ; νₗ, Σₖ + Γₗ) (normalised by log-sum-exp), mean c and
    /// covariance C.
    ///
    /// # Errors
    /// A dimension mismatch ([`MixtureError::DimensionMismatch`]); a product covariance that
    /// roundoff leaves not positive definite is reported by [`GaussianMixture::new`].
    pub fn product(&self, other: &GaussianMixture) -> Result<GaussianMixture, MixtureError> {
        let d = self.dim();
        if other.dim() != d {
            return Err(MixtureError::DimensionMismatch {
                component: 0,
                what: "mean of the second factor".into(),
                expected: d,
                found: other.dim(),
            });
        }
        let mut log_w = Vec::new();
        let mut means = Vec::new();
        let mut covs = Vec::new();
        for (k, (wa, (a, ca))) in self
            .weights()
            .iter()
            .zip(self.means().iter().zip(self.covs()))
            .enumerate()
        {
            for (wb, (b, cb)) in other
                .weights()
                .iter()
                .zip(other.means().iter().zip(other.covs()))
            {
                let ca: Vec<f64> = ca.iter().flatten().copied().collect();
                let cb: Vec<f64> = cb.iter().flatten().copied().collect();
                let sum: Vec<f64> = ca.iter().zip(&cb).map(|(x, y)| x + y).collect();
                let l = linalg::cholesky(&sum, d).map_err(|pivot| {
                    MixtureError::NotPositiveDefinite {
                        component: k,
                        reason: format!("Σ + Γ has Cholesky pivot {pivot} not positive"),
                    }
                })?;
                let diff: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
                let m_inv_diff = chol_solve(&l, d, &diff);
                let quad: f64 = diff.iter().zip(&m_inv_diff).map(|(x, y)| x * y).sum();
                let log_det: f64 = (0..d).map(|i| 2.0 * l[i * d + i].ln()).sum();
                log_w.push(
                    wa.ln() + wb.ln()
                        - 0.5 * (quad + log_det + d as f64 * (2.0 * std::f64::consts::PI).ln()),
                );
                // c = B M⁻¹a + A M⁻¹b, C = A M⁻¹ B (symmetrised against roundoff).
                let m_inv_a = chol_solve(&l, d, a);
                let m_inv_b = chol_solve(&l, d, b);
                let mean: Vec<f64> = (0..d)
                    .map(|i| {
                        (0..d)
                            .map(|j| cb[i * d + j] * m_inv_a[j] + ca[i * d + j] * m_inv_b[j])
                            .sum()
                    })
                    .collect();
                let mut m_inv_cb = vec![0.0; d * d];
                for j in 0..d {
                    let col: Vec<f64> = (0..d).map(|i| cb[i * d + j]).collect();
                    for (i, v) in chol_solve(&l, d, &col).into_iter().enumerate() {
                        m_inv_cb[i * d + j] = v;
                    }
                }
                let entry = |i: usize, j: usize| -> f64 {
                    (0..d).map(|t| ca[i * d + t] * m_inv_cb[t * d + j]).sum()
                };
                let cov: Vec<Vec<f64>> = (0..d)
                    .map(|i| (0..d).map(|j| 0.5 * (entry(i, j) + entry(j, i))).collect())
                    .collect();
                means.push(mean);
                covs.push(cov);
            }
        }
        let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let raw: Vec<f64> = log_w.iter().map(|v| (v - max).exp()).collect();
        let total: f64 = raw.iter().sum();
        // Components far from the other factor's mass underflow to weight 0, which
        // GaussianMixture::new rejects: they carry no probability, so drop them.
        let keep: Vec<usize> = (0..raw.len()).filter(|&i| raw[i] / total > 0.0).collect();
        GaussianMixture::new(
            keep.iter().map(|&i| raw[i] / total).collect(),
            keep.iter().map(|&i| means[i].clone()).collect(),
            keep.iter().map(|&i| covs[i].clone()).collect(),
        )
    }
}

/// x with L Lᵀ x = b.
fn chol_solve(l: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}
