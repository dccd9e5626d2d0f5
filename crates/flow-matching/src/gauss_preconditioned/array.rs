//! `fm-gauss` on `ndarray` rows in f64, with its buffers reused across steps.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Zip};

use super::plan::Plan;
use super::{FlowSampleError, GaussianMoments};
use crate::path::AffinePath;

/// Integrates dx/dt = `velocity`(x, t) (rows of x are samples) on `path` from x(t₀) = `x0` at
/// t₀ = `t_start` to t = 1 with the k-step method of the module docs (`order` = k ∈ {1, 2, 3})
/// in `calls` velocity calls (`calls` + 1 uniform steps of [t₀, 1]); returns x(1) and the calls
/// made. From t₀ = 0 (x0 = noise) f(·, 0) = 0 is exact; from t₀ > 0 it is the analytic first
/// step (see the module docs).
///
/// # Errors
/// [`FlowSampleError::Argument`] for `calls` = 0, an order outside 1–3, t₀ outside [0, 1), a
/// path that cannot start there or `x0` of another dimension than the moments;
/// [`FlowSampleError::NonFinite`] when a velocity is not finite.
pub fn sample_flow_gauss(
    velocity: &dyn Fn(&Array2<f64>, f64) -> Array2<f64>,
    x0: &Array2<f64>,
    t_start: f64,
    moments: &GaussianMoments,
    path: &AffinePath,
    order: usize,
    calls: usize,
) -> Result<(Array2<f64>, usize), FlowSampleError> {
    let plan = Plan::new(moments, path, t_start, order, calls)?;
    let z = x0;
    if z.ncols() != moments.dim() {
        return Err(FlowSampleError::Argument(format!(
            "noise of dimension {} for moments of dimension {}",
            z.ncols(),
            moments.dim()
        )));
    }
    let mu_q = moments.mean.dot(&moments.q);
    // ξ(t₀) = diag(1/s(t₀)) Qᵀ(x₀ − α(t₀)μ).
    let mut centred = z.clone();
    centred
        .rows_mut()
        .into_iter()
        .for_each(|mut row| row.scaled_add(-plan.alpha[0], &moments.mean));
    let mut xi = centred.dot(&moments.q) / &plan.s[0];
    let mut x = Array2::<f64>::zeros(z.raw_dim());
    let mut scaled = Array2::<f64>::zeros(z.raw_dim());
    // The last k residuals, oldest first; each step overwrites the oldest buffer.
    let mut history: Vec<Array2<f64>> = (0..order).map(|_| Array2::zeros(z.raw_dim())).collect();
    let mut nfe = 0;
    for j in 0..plan.steps() {
        history.rotate_left(1);
        let f = history.last_mut().expect("order ≥ 1");
        if j == 0 {
            f.fill(0.0);
        } else {
            let (s, ds, t) = (&plan.s[j], &plan.ds[j], plan.t[j]);
            to_x_into(moments, &xi, s, plan.alpha[j], &mut scaled, &mut x);
            let u = velocity(&x, t);
            nfe += 1;
            if u.dim() != x.dim() || u.iter().any(|v| !v.is_finite()) {
                return Err(FlowSampleError::NonFinite { t });
            }
            general_mat_mul(1.0, &u, &moments.q, 0.0, f);
            let d_alpha = plan.d_alpha[j];
            Zip::from(f)
                .and(&xi)
                .and_broadcast(&mu_q)
                .and_broadcast(ds)
                .and_broadcast(s)
                .for_each(|f, &xi, &m, &ds, &s| *f = (*f - d_alpha * m - xi * ds) / s);
        }
        let weights = &plan.weights[j];
        for (w, fi) in weights.iter().zip(&history[order - weights.len()..]) {
            xi.scaled_add(*w, fi);
        }
    }
    let last = plan.steps();
    to_x_into(
        moments,
        &xi,
        &plan.s[last],
        plan.alpha[last],
        &mut scaled,
        &mut x,
    );
    Ok((x, nfe))
}

/// x = αμ + Q diag(s) ξ for every row, through the buffer `scaled` (= ξ ∘ s).
fn to_x_into(
    moments: &GaussianMoments,
    xi: &Array2<f64>,
    s: &Array1<f64>,
    alpha: f64,
    scaled: &mut Array2<f64>,
    x: &mut Array2<f64>,
) {
    Zip::from(&mut *scaled)
        .and(xi)
        .and_broadcast(s)
        .for_each(|o, &xi, &s| *o = xi * s);
    general_mat_mul(1.0, scaled, &moments.q.t(), 0.0, x);
    x.rows_mut()
        .into_iter()
        .for_each(|mut row| row.scaled_add(alpha, &moments.mean));
}
