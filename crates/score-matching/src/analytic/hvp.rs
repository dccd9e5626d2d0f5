//! The exact Hessian–vector product of ln p_σ for the mixture.

use super::component::Family;
use super::mixture::GaussianMixture;

impl GaussianMixture {
    /// H v with H = ∇² ln p_σ(x), the Hessian of the noised log density
    /// p_σ = Σₖ wₖ N(μₖ, Σₖ + σ²I) (EDM convention, Karras et al. 2022), in closed form:
    ///
    /// H v = Σₖ rₖ (−Aₖv + gₖ(gₖ·v)) − ḡ(ḡ·v),
    ///
    /// with Aₖ = (Σₖ + σ²I)⁻¹, gₖ = Aₖ(μₖ − x), ḡ = Σₖ rₖgₖ = ∇ ln p_σ(x) and rₖ the posterior
    /// responsibilities. Derivation: ∇ ln p_σ = Σₖ rₖgₖ; differentiating, ∇gₖ = −Aₖ and
    /// ∇rₖ = rₖ(gₖ − ḡ) (from rₖ ∝ wₖNₖ, ∇ ln Nₖ = gₖ), so
    /// H = Σₖ rₖ(−Aₖ + gₖgₖᵀ) − ḡḡᵀ; its trace is [`Self::score_divergence`]. Through
    /// Tweedie's formula D = x + σ²∇ ln p_σ (Efron 2011) this gives the denoiser's Jacobian
    /// ∂D/∂x = I + σ²H, which the probability-flow likelihood needs (Chen et al. 2018;
    /// Grathwohl et al. 2019). Costs O(K d²), in each component's eigenbasis.
    ///
    /// # Panics
    /// If `x`, `v` or `out` does not have length `self.dim()`.
    pub fn log_prob_hvp(&self, x: &[f64], sigma: f64, v: &[f64], out: &mut [f64]) {
        self.check_len(x.len(), "x");
        self.check_len(v.len(), "v");
        self.check_len(out.len(), "out");
        let mut scratch = Scratch::new(self.dim());
        self.hvp_with(x, sigma, v, out, &mut scratch);
    }

    fn hvp_with(&self, x: &[f64], sigma: f64, v: &[f64], out: &mut [f64], s: &mut Scratch) {
        let s2 = sigma * sigma;
        let d = self.dim();
        let fam = Family::sigma(sigma);
        out.fill(0.0);
        s.g_bar.fill(0.0);
        let Scratch { z, pv, u, g_bar } = s;
        let post = self.sweep(x, fam, z, |comp, z, rescale, w| {
            if rescale != 1.0 {
                out.iter_mut().for_each(|o| *o *= rescale);
                g_bar.iter_mut().for_each(|g| *g *= rescale);
            }
            if w == 0.0 {
                return;
            }
            // In the eigenbasis of Σₖ = QΛQᵀ: Aₖ = Q diag(1/c) Qᵀ with c = λ + σ², and
            // gₖ = Aₖ(μₖ − x) = −Q (z/c) with z = Qᵀ(x − μₖ).
            for (i, p) in pv.iter_mut().enumerate() {
                let q = &comp.eigvecs_t[i * d..(i + 1) * d];
                *p = q.iter().zip(v).map(|(a, b)| a * b).sum();
            }
            let mut g_dot_v = 0.0;
            for ((zi, pi), lam) in z.iter().zip(pv.iter()).zip(&comp.eigvals) {
                g_dot_v -= zi * pi / (lam + s2);
            }
            // u = Qᵀ(−Aₖv + gₖ(gₖ·v)) = −pv/c − (gₖ·v) z/c.
            for (i, ui) in u.iter_mut().enumerate() {
                let c = comp.eigvals[i] + s2;
                *ui = -(pv[i] + g_dot_v * z[i]) / c;
            }
            for (i, (ui, zi)) in u.iter().zip(z.iter()).enumerate() {
                let c = comp.eigvals[i] + s2;
                let q = &comp.eigvecs_t[i * d..(i + 1) * d];
                let (a, b) = (w * ui, -w * zi / c);
                for ((o, g), qj) in out.iter_mut().zip(g_bar.iter_mut()).zip(q) {
                    *o += a * qj;
                    *g += b * qj;
                }
            }
        });
        let inv = 1.0 / post.total();
        out.iter_mut().for_each(|o| *o *= inv);
        g_bar.iter_mut().for_each(|g| *g *= inv);
        let gb_dot_v: f64 = g_bar.iter().zip(v).map(|(a, b)| a * b).sum();
        for (o, g) in out.iter_mut().zip(g_bar.iter()) {
            *o -= g * gb_dot_v;
        }
    }
}

/// Work vectors of length d, allocated once per call.
struct Scratch {
    z: Vec<f64>,
    pv: Vec<f64>,
    u: Vec<f64>,
    g_bar: Vec<f64>,
}

impl Scratch {
    fn new(d: usize) -> Self {
        Self {
            z: vec![0.0; d],
            pv: vec![0.0; d],
            u: vec![0.0; d],
            g_bar: vec![0.0; d],
        }
    }
}
