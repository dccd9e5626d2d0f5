//! `fm-gauss`: Adams–Bashforth on the non-Gaussian residual of the flow, in the coordinates where
//! the data's moment-matched Gaussian flows not at all.
//!
//! On the CondOT path x_t = t·x₁ + (1 − t)·x₀ (Lipman et al. 2023) with Gaussian data
//! N(μ, Σ), Σ = Q diag(λ) Qᵀ, the flow from noise z is x_t = tμ + Q diag(s(t)) Qᵀ z with
//! sᵢ(t) = √(t²λᵢ + (1 − t)²): in ξ = diag(1/s(t)) Qᵀ(x − tμ) it stands still, and its velocity
//! is u^G_t(x) = μ + Q diag(s′/s) Qᵀ(x − tμ), s′ᵢ = (tλᵢ − (1 − t))/sᵢ. For any data with
//! those first two moments the flow ODE in ξ is
//!
//! dξ/dt = f(ξ, t) = diag(1/s) Qᵀ (u_t(x) − u^G_t(x)) = diag(1/s) (Qᵀu_t(x) − Qᵀμ − diag(s′) ξ),
//!
//! the residual of the velocity against the Gaussian's: zero for Gaussian data, and zero at
//! t = 0 for any data (there D₀(x) = E[x₁] = μ, so both velocities are μ − z). The k-step
//! Adams–Bashforth method integrates ξ on the uniform grid tⱼ = j/N, each step the exact
//! integral of the Lagrange polynomial through the last k values of f (fewer during warm-up),
//! and x(1) = μ + Q diag(√λ) ξ(1). f(·, 0) = 0 costs no call and the model is never called at
//! t = 1, so N steps take N − 1 velocity calls: `calls` calls run N = `calls` + 1 steps.
//! This is the analytical-teleportation idea (Wang & Vastola 2024: the Gaussian part of the flow
//! in closed form) used as the linear part of an exponential-type integrator (Hochbruck &
//! Ostermann 2010) with the full covariance; docs/samplers.md reports what it gains.
//!
//! Global order k for smooth f (the warm-up steps are of lower order but few). Exact, for any
//! number of steps, when the data are Gaussian with the given moments.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Zip};

/// What `fm-gauss` rejects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowSampleError {
    /// Moments that do not describe a covariance and its eigendecomposition.
    #[error("fm-gauss moments: {0}")]
    Moments(String),
    /// A call count, order or noise shape the method cannot use.
    #[error("{0}")]
    Argument(String),
    /// The velocity returned a non-finite value or the wrong shape.
    #[error("the velocity at t = {t} is not finite or not of the state's shape")]
    NonFinite {
        /// Where.
        t: f64,
    },
}

/// The `fm-gauss` names: `fm-gauss` (= `fm-gauss-2`, k = 2, chosen on the built-in targets of
/// docs/samplers.md) and `fm-gauss-3`. They need the data's moments, which a trained network
/// does not carry: the analytic commands give them from the target.
pub const GAUSS_FLOW_SAMPLER_NAMES: &[&str] = &["fm-gauss", "fm-gauss-2", "fm-gauss-3"];

/// The order k of an `fm-gauss` name.
pub fn gauss_order(name: &str) -> Option<usize> {
    match name {
        "fm-gauss" | "fm-gauss-2" => Some(2),
        "fm-gauss-3" => Some(3),
        _ => None,
    }
}

/// The data's mean μ and covariance Σ = Q diag(λ) Qᵀ, as `fm-gauss` needs them.
#[derive(Clone, Debug)]
pub struct GaussianMoments {
    mean: Array1<f64>,
    lambda: Array1<f64>,
    /// Column i is the unit eigenvector qᵢ.
    q: Array2<f64>,
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

    /// d.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// s(t), s′(t) per eigendirection.
    fn scale(&self, t: f64) -> (Array1<f64>, Array1<f64>) {
        let s = self
            .lambda
            .mapv(|l| (t * t * l + (1.0 - t) * (1.0 - t)).sqrt());
        let ds = Array1::from_iter(
            self.lambda
                .iter()
                .zip(&s)
                .map(|(&l, &si)| (t * l - (1.0 - t)) / si),
        );
        (s, ds)
    }

    /// x = tμ + Q diag(s) ξ for every row, through the buffer `scaled` (= ξ ∘ s).
    fn to_x_into(
        &self,
        xi: &Array2<f64>,
        s: &Array1<f64>,
        t: f64,
        scaled: &mut Array2<f64>,
        x: &mut Array2<f64>,
    ) {
        Zip::from(&mut *scaled)
            .and(xi)
            .and_broadcast(s)
            .for_each(|o, &xi, &s| *o = xi * s);
        general_mat_mul(1.0, scaled, &self.q.t(), 0.0, x);
        x.rows_mut()
            .into_iter()
            .for_each(|mut row| row.scaled_add(t, &self.mean));
    }
}

/// ∫_a^b ℓⱼ(τ) dτ for the Lagrange basis ℓⱼ of `nodes` (at most 3, so degree ≤ 2): two-point
/// Gauss–Legendre, exact up to degree 3.
fn lagrange_weights(nodes: &[f64], a: f64, b: f64) -> Vec<f64> {
    let (mid, half) = ((a + b) / 2.0, (b - a) / 2.0);
    let g = half / 3f64.sqrt();
    let basis = |j: usize, tau: f64| {
        nodes
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != j)
            .map(|(_, &n)| (tau - n) / (nodes[j] - n))
            .product::<f64>()
    };
    (0..nodes.len())
        .map(|j| half * (basis(j, mid - g) + basis(j, mid + g)))
        .collect()
}

/// Integrates dx/dt = `velocity`(x, t) (rows of x are samples) from x(0) = `z` to t = 1 with
/// the k-step method of the module docs (`order` = k ∈ {1, 2, 3}) in `calls` velocity calls
/// (`calls` + 1 uniform steps); returns x(1) and the calls made.
///
/// # Errors
/// [`FlowSampleError::Argument`] for `calls` = 0, an order outside 1–3 or `z` of another
/// dimension than the moments; [`FlowSampleError::NonFinite`] when a velocity is not finite.
pub fn sample_flow_gauss(
    velocity: &dyn Fn(&Array2<f64>, f64) -> Array2<f64>,
    z: &Array2<f64>,
    moments: &GaussianMoments,
    order: usize,
    calls: usize,
) -> Result<(Array2<f64>, usize), FlowSampleError> {
    if calls == 0 || !(1..=3).contains(&order) {
        return Err(FlowSampleError::Argument(format!(
            "fm-gauss needs at least one call and an order of 1 to 3 (got {calls} calls, order {order})"
        )));
    }
    if z.ncols() != moments.dim() {
        return Err(FlowSampleError::Argument(format!(
            "noise of dimension {} for moments of dimension {}",
            z.ncols(),
            moments.dim()
        )));
    }
    let steps = calls + 1;
    let t: Vec<f64> = (0..=steps).map(|j| j as f64 / steps as f64).collect();
    // The coefficients of every step, on the host before the loop.
    let weights: Vec<Vec<f64>> = (0..steps)
        .map(|j| {
            let first = (j + 1).saturating_sub(order);
            lagrange_weights(&t[first..=j], t[j], t[j + 1])
        })
        .collect();
    // s(tⱼ), s′(tⱼ) at every node, also on the host before the loop.
    let nodes: Vec<(Array1<f64>, Array1<f64>)> = t.iter().map(|&tj| moments.scale(tj)).collect();
    let mu_q = moments.mean.dot(&moments.q);
    // s(0) = 1: ξ(0) = Qᵀz.
    let mut xi = z.dot(&moments.q);
    let mut x = Array2::<f64>::zeros(z.raw_dim());
    let mut scaled = Array2::<f64>::zeros(z.raw_dim());
    // The last k residuals, oldest first; each step overwrites the oldest buffer.
    let mut history: Vec<Array2<f64>> = (0..order).map(|_| Array2::zeros(z.raw_dim())).collect();
    let mut nfe = 0;
    for j in 0..steps {
        history.rotate_left(1);
        let f = history.last_mut().expect("order ≥ 1");
        if j == 0 {
            f.fill(0.0);
        } else {
            let (s, ds) = &nodes[j];
            moments.to_x_into(&xi, s, t[j], &mut scaled, &mut x);
            let u = velocity(&x, t[j]);
            nfe += 1;
            if u.dim() != x.dim() || u.iter().any(|v| !v.is_finite()) {
                return Err(FlowSampleError::NonFinite { t: t[j] });
            }
            general_mat_mul(1.0, &u, &moments.q, 0.0, f);
            Zip::from(f)
                .and(&xi)
                .and_broadcast(&mu_q)
                .and_broadcast(ds)
                .and_broadcast(s)
                .for_each(|f, &xi, &m, &ds, &s| *f = (*f - m - xi * ds) / s);
        }
        let known = weights[j].len();
        for (w, fi) in weights[j].iter().zip(&history[order - known..]) {
            xi.scaled_add(*w, fi);
        }
    }
    let (s1, _) = &nodes[steps];
    moments.to_x_into(&xi, s1, 1.0, &mut scaled, &mut x);
    Ok((x, nfe))
}
