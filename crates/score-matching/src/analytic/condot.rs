//! Exact flow-matching quantities for the conditional optimal-transport (CondOT) path.

use super::component::Family;
use super::mixture::{GaussianMixture, add_spectral};

impl GaussianMixture {
    /// The exact marginal velocity of the CondOT path of Lipman et al. 2023 ("Flow Matching
    /// for Generative Modeling", §4.1, σ_min = 0), data at t = 1:
    /// x_t = t x₁ + (1 − t) x₀, x₀ ~ N(0, I), x₁ ~ p₀, and u_t(x) = E[x₁ − x₀ | x_t = x].
    ///
    /// Within component k, (x₁, x_t) is jointly Gaussian with x_t ~ N(tμₖ, Cₖ),
    /// Cₖ = t²Σₖ + (1 − t)²I, and Cov(x₁ − x₀, x_t) = tΣₖ − (1 − t)I, so
    /// E[x₁ − x₀ | x_t = x, k] = μₖ + (tΣₖ − (1 − t)I) Cₖ⁻¹ (x − tμₖ).
    /// This equals (E[x₁ | x_t, k] − x)/(1 − t) with E[x₁ | x_t, k] = μₖ + tΣₖCₖ⁻¹(x − tμₖ),
    /// but is written without the division so it holds on all of t ∈ [0, 1]: at t = 1 it
    /// returns the limit u₁(x) = x (x₀ is independent of x₁ and has mean 0). The mixture
    /// velocity averages the component velocities with responsibilities from N(x; tμₖ, Cₖ).
    /// Cₖ is PD for every real t, so other t evaluate without error, but only [0, 1] is
    /// meaningful.
    ///
    /// # Panics
    /// If `x` or `out` does not have length `self.dim()`.
    pub fn condot_velocity(&self, x: &[f64], t: f64, out: &mut [f64]) {
        self.check_len(x.len(), "x");
        self.check_len(out.len(), "out");
        let mut z = vec![0.0; self.dim()];
        self.condot_velocity_with(x, t, out, &mut z);
    }

    /// ln p_t(x) of the CondOT marginal p_t = Σₖ wₖ N(tμₖ, t²Σₖ + (1 − t)²I)
    /// (Lipman et al. 2023): N(0, I) at t = 0 and p₀ of this mixture at t = 1.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn condot_log_prob(&self, x: &[f64], t: f64) -> f64 {
        self.check_len(x.len(), "x");
        let mut z = vec![0.0; self.dim()];
        self.sweep(x, Family::condot(t), &mut z, |_, _, _, _| {})
            .log_sum_exp()
    }

    /// ∇·u_t(x), the divergence of [`Self::condot_velocity`], in closed form; with it,
    /// d ln p_t(x_t)/dt = −∇·u_t(x_t) along the flow gives exact flow-matching likelihoods
    /// (Chen et al. 2018; Lipman et al. 2023, §3).
    ///
    /// With u = Σₖ rₖuₖ, uₖ = μₖ + Mₖ(x − tμₖ), Mₖ = (tΣₖ − (1 − t)I)Cₖ⁻¹,
    /// hₖ = ∇ ln N(x; tμₖ, Cₖ) = −Cₖ⁻¹(x − tμₖ) and ∇rₖ = rₖ(hₖ − h̄):
    /// ∇·u = Σₖ rₖ [tr Mₖ + uₖ·hₖ] − ū·h̄.
    ///
    /// # Panics
    /// If `x.len() != self.dim()`.
    pub fn condot_velocity_divergence(&self, x: &[f64], t: f64) -> f64 {
        self.check_len(x.len(), "x");
        let d = self.dim();
        let fam = Family::condot(t);
        let s = 1.0 - t;
        let mut z = vec![0.0; d];
        let mut u_bar = vec![0.0; d];
        let mut h_bar = vec![0.0; d];
        let mut scalar = 0.0;
        let post = self.sweep(x, fam, &mut z, |comp, z, rescale, w| {
            if rescale != 1.0 {
                scalar *= rescale;
                u_bar.iter_mut().for_each(|v| *v *= rescale);
                h_bar.iter_mut().for_each(|v| *v *= rescale);
            }
            let mut term = 0.0;
            for ((zi, lam), mu) in z.iter().zip(&comp.eigvals).zip(&comp.mean_eig) {
                let c = fam.eig(*lam);
                let m = (t * lam - s) / c;
                // In the eigenbasis uₖ = Qᵀμ + m z and hₖ = −z/c.
                term += m - (mu + m * zi) * zi / c;
            }
            scalar += w * term;
            if w != 0.0 {
                for (u, mu) in u_bar.iter_mut().zip(&comp.mean) {
                    *u += w * mu;
                }
            }
            add_spectral(comp, z, |lam| (t * lam - s) / fam.eig(lam), w, &mut u_bar);
            add_spectral(comp, z, |lam| 1.0 / fam.eig(lam), -w, &mut h_bar);
        });
        let total = post.total();
        let dot: f64 = u_bar.iter().zip(&h_bar).map(|(u, h)| u * h).sum();
        scalar / total - dot / (total * total)
    }

    fn condot_velocity_with(&self, x: &[f64], t: f64, out: &mut [f64], z: &mut [f64]) {
        let fam = Family::condot(t);
        let s = 1.0 - t;
        out.fill(0.0);
        let post = self.sweep(x, fam, z, |comp, z, rescale, w| {
            if rescale != 1.0 {
                out.iter_mut().for_each(|o| *o *= rescale);
            }
            if w == 0.0 {
                return;
            }
            for (o, mu) in out.iter_mut().zip(&comp.mean) {
                *o += w * mu;
            }
            // (tΣ − (1 − t)I)C⁻¹(x − tμ) = Q diag((tλ − (1 − t))/c) z.
            add_spectral(comp, z, |lam| (t * lam - s) / fam.eig(lam), w, out);
        });
        let inv = 1.0 / post.total();
        out.iter_mut().for_each(|o| *o *= inv);
    }
}
