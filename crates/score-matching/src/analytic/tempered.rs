//! Tempered and geometric targets: p^β of a Gaussian in closed form, and reference samples of
//! Πᵢ pᵢ^βᵢ for 2-D mixtures by quadrature.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::error::MixtureError;
use super::mixture::GaussianMixture;

impl GaussianMixture {
    /// p^β normalised, for a one-component mixture p = N(μ, Σ): N(μ, Σ/β), since
    /// N(x; μ, Σ)^β ∝ exp(−β(x − μ)ᵀΣ⁻¹(x − μ)/2). The exact target of temperature annealing
    /// (Skreta et al. 2025, §3.1) where one exists in closed form.
    ///
    /// # Errors
    /// β not finite or ≤ 0 ([`MixtureError::InvalidExponent`]), or more than one component
    /// ([`MixtureError::NotGaussian`]).
    pub fn gaussian_power(&self, beta: f64) -> Result<GaussianMixture, MixtureError> {
        check_exponent(beta)?;
        if self.n_components() != 1 {
            return Err(MixtureError::NotGaussian {
                components: self.n_components(),
            });
        }
        let covs = self.covs()[0]
            .iter()
            .map(|row| row.iter().map(|v| v / beta).collect())
            .collect();
        GaussianMixture::new(vec![1.0], vec![self.means()[0].clone()], vec![covs])
    }

    /// ln Z_β(σ) = ln ∫ N(x; μ, Σ + σ²I)^β dx for a one-component mixture:
    /// (1 − β)(d/2) ln 2π + ((1 − β)/2) ln det(Σ + σ²I) − (d/2) ln β. The ratio Z_β(σ_end)/Z_β(σ₀)
    /// is what a Feynman–Kac corrector's weights estimate without bias.
    ///
    /// # Errors
    /// As [`Self::gaussian_power`].
    pub fn gaussian_power_log_normaliser(
        &self,
        beta: f64,
        sigma: f64,
    ) -> Result<f64, MixtureError> {
        check_exponent(beta)?;
        if self.n_components() != 1 {
            return Err(MixtureError::NotGaussian {
                components: self.n_components(),
            });
        }
        let d = self.dim() as f64;
        let comp = &self.components[0];
        let log_det: f64 = comp.eigvals.iter().map(|l| (l + sigma * sigma).ln()).sum();
        Ok((1.0 - beta) * 0.5 * d * (2.0 * std::f64::consts::PI).ln()
            + 0.5 * (1.0 - beta) * log_det
            - 0.5 * d * beta.ln())
    }
}

/// n reference samples of the normalised geometric product ρ(x) ∝ Πᵢ pᵢ(x)^βᵢ of 2-D mixtures
/// (p^β for annealing, p_c^γ p_u^(1−γ) for guidance), by quadrature: ρ is evaluated (in log
/// space) at the centres of a `cells × cells` grid on the box `[lo, hi]²`, a cell is drawn with
/// probability ∝ ρ(centre) by inverting the cumulative sums, and the point is uniform within
/// it. The error is that of the midpoint rule, O(h²) in the cell width h, plus the mass outside
/// the box; choose the box to hold ρ's support.
///
/// # Errors
/// No factors, factors not 2-D, a non-finite exponent, fewer than 2 cells or an empty box
/// ([`MixtureError::InvalidExponent`] / [`MixtureError::DimensionMismatch`] /
/// [`MixtureError::Empty`]).
pub fn geometric_grid_samples(
    factors: &[(f64, &GaussianMixture)],
    lo: f64,
    hi: f64,
    cells: usize,
    n: usize,
    seed: u64,
) -> Result<Vec<f64>, MixtureError> {
    if factors.is_empty() || cells < 2 || lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        return Err(MixtureError::Empty {
            what: "quadrature needs a factor, 2 or more cells and lo < hi",
        });
    }
    for (beta, p) in factors {
        if !beta.is_finite() {
            return Err(MixtureError::InvalidExponent { beta: *beta });
        }
        if p.dim() != 2 {
            return Err(MixtureError::DimensionMismatch {
                component: 0,
                what: "quadrature factor".into(),
                expected: 2,
                found: p.dim(),
            });
        }
    }
    let h = (hi - lo) / cells as f64;
    let centre = |i: usize| lo + (i as f64 + 0.5) * h;
    let mut log_rho = Vec::with_capacity(cells * cells);
    for i in 0..cells {
        for j in 0..cells {
            let x = [centre(i), centre(j)];
            log_rho.push(
                factors
                    .iter()
                    .map(|(b, p)| b * p.log_prob(&x, 0.0))
                    .sum::<f64>(),
            );
        }
    }
    let max = log_rho.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut cumulative = Vec::with_capacity(log_rho.len());
    let mut acc = 0.0;
    for v in &log_rho {
        acc += (v - max).exp();
        cumulative.push(acc);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let u = rng.random::<f64>() * acc;
        let cell = cumulative
            .partition_point(|&c| c <= u)
            .min(cumulative.len() - 1);
        let (i, j) = (cell / cells, cell % cells);
        out.push(lo + (i as f64 + rng.random::<f64>()) * h);
        out.push(lo + (j as f64 + rng.random::<f64>()) * h);
    }
    Ok(out)
}

fn check_exponent(beta: f64) -> Result<(), MixtureError> {
    if beta.is_finite() && beta > 0.0 {
        Ok(())
    } else {
        Err(MixtureError::InvalidExponent { beta })
    }
}
