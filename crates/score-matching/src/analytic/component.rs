//! One mixture component in its eigenbasis, and the streaming log-sum-exp that turns
//! per-component log densities into posterior responsibilities.

/// ln(2π), the per-dimension normalising constant of a Gaussian log density.
pub(crate) const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A validated component with its factorisations, computed once at construction.
#[derive(Debug, Clone)]
pub(crate) struct Component {
    pub(crate) log_weight: f64,
    pub(crate) mean: Vec<f64>,
    /// Lower Cholesky factor of Σ, row-major; the exact sampling map is z ↦ μ + Lz.
    pub(crate) chol: Vec<f64>,
    /// Eigenvalues λᵢ of Σ, all > 0.
    pub(crate) eigvals: Vec<f64>,
    /// Row i is the unit eigenvector qᵢ of Σ (i.e. Qᵀ, row-major), so projections are
    /// contiguous dot products.
    pub(crate) eigvecs_t: Vec<f64>,
    /// Qᵀμ, needed by the CondOT velocity divergence.
    pub(crate) mean_eig: Vec<f64>,
}

/// A Gaussian family sharing the component's eigenvectors: N(a μ, Q diag(α λ + β) Qᵀ).
/// The σ-marginal of x₀ + σε is (a, α, β) = (1, 1, σ²); the CondOT marginal at time t is
/// (t, t², (1 − t)²).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    pub(crate) mean_scale: f64,
    pub(crate) cov_scale: f64,
    pub(crate) cov_shift: f64,
}

impl Family {
    /// The σ-marginal of x₀ + σε (Karras et al. 2022): N(μ, Σ + σ²I).
    pub(crate) fn sigma(sigma: f64) -> Self {
        Self {
            mean_scale: 1.0,
            cov_scale: 1.0,
            cov_shift: sigma * sigma,
        }
    }

    /// The CondOT marginal at time t (Lipman et al. 2023): N(tμ, t²Σ + (1 − t)²I).
    pub(crate) fn condot(t: f64) -> Self {
        let s = 1.0 - t;
        Self {
            mean_scale: t,
            cov_scale: t * t,
            cov_shift: s * s,
        }
    }

    /// Eigenvalue of the family's covariance along eigenvector i of Σ.
    #[inline]
    pub(crate) fn eig(&self, lambda: f64) -> f64 {
        self.cov_scale * lambda + self.cov_shift
    }
}

impl Component {
    pub(crate) fn new(
        log_weight: f64,
        mean: Vec<f64>,
        chol: Vec<f64>,
        eig: (Vec<f64>, Vec<f64>),
    ) -> Self {
        let (eigvals, eigvecs_t) = eig;
        let d = mean.len();
        let mut mean_eig = vec![0.0; d];
        project(&eigvecs_t, &mean, &mut mean_eig);
        Self {
            log_weight,
            mean,
            chol,
            eigvals,
            eigvecs_t,
            mean_eig,
        }
    }

    /// Writes z = Qᵀ(x − aμ) and returns ln N(x; aμ, Q diag(αλ + β) Qᵀ). The quadratic form
    /// and log-determinant are both diagonal in the eigenbasis, so this is O(d²) with no solve.
    pub(crate) fn log_density(&self, x: &[f64], fam: Family, z: &mut [f64]) -> f64 {
        let d = self.mean.len();
        let mut log_det = 0.0;
        let mut quad = 0.0;
        for (i, zi) in z.iter_mut().enumerate() {
            let q = &self.eigvecs_t[i * d..(i + 1) * d];
            let mut s = 0.0;
            for ((qj, xj), mj) in q.iter().zip(x).zip(&self.mean) {
                s += qj * (xj - fam.mean_scale * mj);
            }
            *zi = s;
            let c = fam.eig(self.eigvals[i]);
            log_det += c.ln();
            quad += s * s / c;
        }
        -0.5 * (d as f64 * LN_2PI + log_det + quad)
    }
}

/// z = Qᵀ v.
fn project(qt: &[f64], v: &[f64], z: &mut [f64]) {
    let d = v.len();
    for (i, zi) in z.iter_mut().enumerate() {
        *zi = qt[i * d..(i + 1) * d]
            .iter()
            .zip(v)
            .map(|(a, b)| a * b)
            .sum();
    }
}

/// Streaming log-sum-exp over components ("online softmax"): lets callers accumulate
/// Σₖ rₖ vₖ in a single pass without storing the K log densities, rescaling what has been
/// accumulated whenever a larger log density arrives. Exact up to roundoff, and immune to
/// the underflow that exponentiating raw densities suffers far from the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posterior {
    max: f64,
    total: f64,
}

impl Posterior {
    pub(crate) fn new() -> Self {
        Self {
            max: f64::NEG_INFINITY,
            total: 0.0,
        }
    }

    /// Registers a component with unnormalised log weight `log_w`. Returns (rescale, w):
    /// the caller multiplies its accumulators by `rescale`, then adds `w` times the
    /// component's contribution. Final responsibilities are w / [`Self::total`].
    #[inline]
    pub(crate) fn push(&mut self, log_w: f64) -> (f64, f64) {
        if log_w == f64::NEG_INFINITY {
            return (1.0, 0.0);
        }
        if log_w > self.max {
            let rescale = (self.max - log_w).exp();
            self.total = self.total * rescale + 1.0;
            self.max = log_w;
            (rescale, 1.0)
        } else {
            let w = (log_w - self.max).exp();
            self.total += w;
            (1.0, w)
        }
    }

    /// Σₖ exp(log_wₖ − max), the normaliser of the weights returned by [`Self::push`].
    pub(crate) fn total(&self) -> f64 {
        self.total
    }

    /// ln Σₖ exp(log_wₖ).
    pub(crate) fn log_sum_exp(&self) -> f64 {
        self.max + self.total.ln()
    }
}
