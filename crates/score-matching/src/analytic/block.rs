//! Scratch and fused kernels for one block of rows of a batched mixture evaluation.
//!
//! The block is held transposed, component-major: row kd + j of Zᵀ holds (zₖ)ⱼ for every point
//! of the block. Every elementwise step (centring, quadratic forms, softmax, spectral weights)
//! is then a loop over points with a fixed (k, j), which vectorises whatever d is, where the
//! point-major layout's loops of length d do not for d = 2.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use super::basis::Basis;
use super::simd::{exp, multiversion};
use super::spectrum::Spectrum;

/// Work matrices for up to `rows = basis.block_rows` points: Zᵀ (Kd × rows), the weights Wᵀ
/// handed to the back-projection ((Kd + K) × rows), the responsibilities Rᵀ (K × rows), and
/// per point the log normaliser ln p(x), the running maximum and the softmax total.
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) rows: usize,
    pub(crate) zt: Array2<f64>,
    pub(crate) wt: Array2<f64>,
    pub(crate) rt: Array2<f64>,
    pub(crate) lse: Vec<f64>,
    max: Vec<f64>,
    total: Vec<f64>,
}

impl Block {
    pub(crate) fn new(basis: &Basis) -> Self {
        let (rows, d, k) = (basis.block_rows, basis.dim, basis.n_comp);
        Self {
            rows,
            zt: Array2::zeros((k * d, rows)),
            wt: Array2::zeros((k * d + k, rows)),
            rt: Array2::zeros((k, rows)),
            lse: vec![0.0; rows],
            max: vec![0.0; rows],
            total: vec![0.0; rows],
        }
    }

    /// For the b = x.nrows() points of `x`: zₖ = Qₖᵀ(x − aμₖ) into Zᵀ (one product
    /// [Q₁ | … | Q_K]ᵀ·Xᵀ, then the projected means subtracted), the normalised
    /// responsibilities rₖ = wₖNₖ(x) / Σⱼ wⱼNⱼ(x) into Rᵀ, and, if `want_lse`,
    /// ln Σₖ wₖNₖ(x) into `lse`. The log-sum-exp takes the maximum first, so nothing
    /// underflows far in the tails.
    pub(crate) fn posterior(
        &mut self,
        basis: &Basis,
        spec: &Spectrum,
        x: ArrayView2<'_, f64>,
        want_lse: bool,
    ) {
        let b = x.nrows();
        let (rows, d) = (self.rows, basis.dim);
        let mut zt = self.zt.slice_mut(s![.., ..b]);
        general_mat_mul(1.0, &basis.forward.t(), &x.t(), 0.0, &mut zt);
        let zt = self.zt.as_slice_mut().expect("row-major scratch");
        let rt = self.rt.as_slice_mut().expect("row-major scratch");
        let (max, total) = (&mut self.max[..b], &mut self.total[..b]);
        logits(zt, rt, (rows, b, d), spec);
        softmax(rt, rows, b, max, total);
        if want_lse {
            for ((l, m), t) in self
                .lse
                .iter_mut()
                .zip(&self.max[..b])
                .zip(&self.total[..b])
            {
                *l = m + t.ln();
            }
        }
    }

    /// out = Σₖ rₖ (mean_coef·μₖ + Qₖ diag(fₖ) zₖ) for the first b points, with
    /// fₖⱼ = f[kd + j]: the weights r ⊙ f ⊙ Z (and r·mean_coef) are laid out in Wᵀ, then one
    /// product with the stacked [Q₁ᵀ; …; Q_Kᵀ; μ₁ᵀ; …] (the μ rows skipped when mean_coef = 0).
    pub(crate) fn back_project(
        &mut self,
        basis: &Basis,
        b: usize,
        f: &[f64],
        mean_coef: f64,
        out: &mut ArrayViewMut2<'_, f64>,
    ) {
        let (rows, d) = (self.rows, basis.dim);
        let wt = self.wt.as_slice_mut().expect("row-major scratch");
        let zt = self.zt.as_slice().expect("row-major scratch");
        let rt = self.rt.as_slice().expect("row-major scratch");
        spectral_weights(wt, zt, rt, (rows, b, d), f, mean_coef);
        self.product(basis, b, mean_coef != 0.0, out);
    }

    /// out = (Wᵀ[.., ..b])ᵀ·[Q₁ᵀ; …; Q_Kᵀ] (plus the μ rows when `with_means`), for weights
    /// laid out in Wᵀ.
    pub(crate) fn product(
        &self,
        basis: &Basis,
        b: usize,
        with_means: bool,
        out: &mut ArrayViewMut2<'_, f64>,
    ) {
        let k_rows = if with_means {
            basis.back.nrows()
        } else {
            basis.n_comp * basis.dim
        };
        general_mat_mul(
            1.0,
            &self.wt.slice(s![..k_rows, ..b]).t(),
            &basis.back.slice(s![..k_rows, ..]),
            0.0,
            out,
        );
    }

    /// Σₖ rₖ Σⱼ term(zₖⱼ, kd + j) for each of the first b points, into `out`.
    pub(crate) fn weighted_sum(
        &self,
        d: usize,
        b: usize,
        out: &mut [f64],
        inner: &mut [f64],
        term: impl Fn(f64, usize) -> f64,
    ) {
        let rows = self.rows;
        let zt = self.zt.as_slice().expect("row-major scratch");
        let rt = self.rt.as_slice().expect("row-major scratch");
        out[..b].fill(0.0);
        for (k, r_k) in rt.chunks_exact(rows).enumerate() {
            inner[..b].fill(0.0);
            for kj in k * d..(k + 1) * d {
                for (acc, &z) in inner[..b].iter_mut().zip(&zt[kj * rows..kj * rows + b]) {
                    *acc += term(z, kj);
                }
            }
            for ((o, acc), r) in out[..b].iter_mut().zip(&inner[..b]).zip(r_k) {
                *o += r * acc;
            }
        }
    }
}

/// zₖⱼ ← zₖⱼ − shiftₖⱼ and ℓₖ = log_normₖ − ½ Σⱼ zₖⱼ²/cₖⱼ for the first b points, Zᵀ and the
/// logits Rᵀ stored with row stride `rows`; `shape` is (rows, b, d).
#[inline(always)]
fn logits_serial(zt: &mut [f64], rt: &mut [f64], shape: (usize, usize, usize), spec: &Spectrum) {
    let (rows, b, d) = shape;
    let (shift, inv_c, log_norm) = (&spec.shift[..], &spec.inv_c[..], &spec.log_norm[..]);
    for (k, l_k) in rt.chunks_exact_mut(rows).enumerate() {
        let l_k = &mut l_k[..b];
        l_k.fill(0.0);
        for kj in k * d..(k + 1) * d {
            let (sh, ic) = (shift[kj], inv_c[kj]);
            for (q, z) in l_k.iter_mut().zip(&mut zt[kj * rows..kj * rows + b]) {
                let v = *z - sh;
                *z = v;
                *q += v * v * ic;
            }
        }
        let ln = log_norm[k];
        l_k.iter_mut().for_each(|q| *q = ln - 0.5 * *q);
    }
}

multiversion! {
    /// [`logits_serial`] on the widest vector unit.
    fn logits(zt: &mut [f64], rt: &mut [f64], shape: (usize, usize, usize), spec: &Spectrum) => logits_serial
}

/// In place over the logits Rᵀ (row stride `rows`, first b points): rₖ = e^{ℓₖ − m} / Σⱼ e^{ℓⱼ − m}
/// with m = maxⱼ ℓⱼ, leaving m in `max` and Σⱼ e^{ℓⱼ − m} in `total`.
#[inline(always)]
fn softmax_serial(rt: &mut [f64], rows: usize, b: usize, max: &mut [f64], total: &mut [f64]) {
    max.fill(f64::NEG_INFINITY);
    for l_k in rt.chunks_exact(rows) {
        for (m, &l) in max.iter_mut().zip(&l_k[..b]) {
            *m = if l > *m { l } else { *m };
        }
    }
    total.fill(0.0);
    for l_k in rt.chunks_exact_mut(rows) {
        for ((l, m), t) in l_k[..b].iter_mut().zip(&*max).zip(total.iter_mut()) {
            let e = exp(*l - m);
            *l = e;
            *t += e;
        }
    }
    // The reciprocal once per point, then multiplications: division does not pipeline.
    let inv: Vec<f64> = total.iter().map(|t| 1.0 / t).collect();
    for r_k in rt.chunks_exact_mut(rows) {
        for (r, i) in r_k[..b].iter_mut().zip(&inv) {
            *r *= i;
        }
    }
}

multiversion! {
    /// [`softmax_serial`] on the widest vector unit.
    fn softmax(rt: &mut [f64], rows: usize, b: usize, max: &mut [f64], total: &mut [f64]) => softmax_serial
}

/// Wᵀ rows kd + j = rₖ·fₖⱼ·zₖⱼ and rows Kd + k = rₖ·mean_coef, for the first b points;
/// `shape` is (rows, b, d).
#[inline(always)]
fn spectral_weights_serial(
    wt: &mut [f64],
    zt: &[f64],
    rt: &[f64],
    shape: (usize, usize, usize),
    f: &[f64],
    mean_coef: f64,
) {
    let (rows, b, d) = shape;
    let kd = f.len();
    for (k, r_k) in rt.chunks_exact(rows).enumerate() {
        let r_k = &r_k[..b];
        for kj in k * d..(k + 1) * d {
            let fk = f[kj];
            let z = &zt[kj * rows..kj * rows + b];
            for ((w, r), z) in wt[kj * rows..kj * rows + b].iter_mut().zip(r_k).zip(z) {
                *w = r * fk * z;
            }
        }
        let w_mean = &mut wt[(kd + k) * rows..(kd + k) * rows + b];
        for (w, r) in w_mean.iter_mut().zip(r_k) {
            *w = r * mean_coef;
        }
    }
}

multiversion! {
    /// [`spectral_weights_serial`] on the widest vector unit.
    fn spectral_weights(wt: &mut [f64], zt: &[f64], rt: &[f64], shape: (usize, usize, usize), f: &[f64], mean_coef: f64) => spectral_weights_serial
}
