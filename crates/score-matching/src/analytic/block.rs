//! Scratch and fused kernels for one block of rows of a batched mixture evaluation.
//!
//! The block is held transposed, component-major: row kd + j of Zᵀ holds (zₖ)ⱼ for every point
//! of the block. Every elementwise step (centring, quadratic forms, softmax, spectral weights)
//! is then a loop over points with a fixed (k, j), which vectorises whatever d is, where the
//! point-major layout's loops of length d do not for d = 2.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use super::basis::Basis;
use super::spectrum::Spectrum;
use scoreflow_noise_schedules::multiversion;
use scoreflow_noise_schedules::simd::exp;

/// A term rₖ·[Qₖ wₖ + mₖ μₖ] of a back-projection is left out when a bound on its norm is at
/// most this fraction of the sum of all the terms' bounds for the same point. The sum is what
/// the reference's own rounding error is proportional to (about ε = 2⁻⁵² times it, summed over
/// d coordinates); 2⁻⁶⁰ is 256 times smaller, so leaving out up to K such terms changes the
/// result by less than the rounding of the full sum (for K < 256).
const NEGLIGIBLE: f64 = 1.0 / (1u64 << 60) as f64;

/// Only responsibilities below this can make a term negligible on data of ordinary scale
/// (|wₖ| within 2²⁰ of the largest term); a block whose responsibilities are all larger
/// skips the bound pass and takes the dense product at once.
const SCREEN: f64 = 1.0 / (1u64 << 40) as f64;

/// Smallest dimension at which the per-component products pay: below it the products are
/// a small part of the time, and the bound pass, the gathers and K calls on (d + 1)-wide
/// panels cost more than the one dense call they replace. Measured per denoiser call
/// (2026-12-03, σ over 80…0.01, single thread): gauss16d (d = 16, K = 3) 0.76 → 0.99 ms with
/// them, an 8-component 32-D mixture about 2 % faster, gauss64d 11 % faster.
const SPARSE_MIN_DIM: usize = 32;

/// The gathered products are used when at most this fraction of the K·b terms remains.
const SPARSE_MAX_FILL: f64 = 0.6;

/// Work matrices for up to `rows = basis.block_rows` points: Zᵀ (Kd × rows), the weights Wᵀ
/// handed to the back-projection ((Kd + K) × rows), the responsibilities Rᵀ (K × rows), and
/// per point the log normaliser ln p(x), the running maximum and the softmax total; and the
/// scratch of the gathered back-projection (`Self::product`).
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) rows: usize,
    pub(crate) zt: Array2<f64>,
    pub(crate) wt: Array2<f64>,
    pub(crate) rt: Array2<f64>,
    pub(crate) lse: Vec<f64>,
    max: Vec<f64>,
    total: Vec<f64>,
    /// Per component, the points of the block whose term is kept (this and the next four
    /// are empty until the first gathered product).
    active: Vec<Vec<u32>>,
    /// The bounds on the terms' norms, K × rows, then their sum per point.
    bound: Vec<f64>,
    bound_sum: Vec<f64>,
    /// One component's gathered weights, (d + 1) × m, and their product, m × d.
    gathered: Vec<f64>,
    partial: Vec<f64>,
}

impl Block {
    pub(crate) fn new(basis: &Basis) -> Self {
        Self::with_weights(basis, true)
    }

    /// [`Self::new`], without the weights Wᵀ (left 0 × rows) unless `weights`: the
    /// one-product path (`precision.rs`) never back-projects, and zeroing a buffer of
    /// (Kd + K) × rows per call is not free.
    pub(crate) fn with_weights(basis: &Basis, weights: bool) -> Self {
        let (rows, d, k) = (basis.block_rows, basis.dim, basis.n_comp);
        let w_rows = if weights { k * d + k } else { 0 };
        Self {
            rows,
            zt: Array2::zeros((k * d, rows)),
            wt: Array2::zeros((w_rows, rows)),
            rt: Array2::zeros((k, rows)),
            lse: vec![0.0; rows],
            max: vec![0.0; rows],
            total: vec![0.0; rows],
            // Sized on first use (`Self::select_terms`): the dense path never needs them.
            active: vec![Vec::new(); k],
            bound: Vec::new(),
            bound_sum: Vec::new(),
            gathered: Vec::new(),
            partial: Vec::new(),
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

    /// The logits now in Rᵀ, for the first b points, turned into responsibilities in place
    /// (the softmax of [`Self::posterior`]).
    pub(crate) fn normalise(&mut self, b: usize) {
        let rt = self.rt.as_slice_mut().expect("row-major scratch");
        softmax(rt, self.rows, b, &mut self.max[..b], &mut self.total[..b]);
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
    /// laid out in Wᵀ: Σₖ [Qₖ wₖ + mₖ μₖ] per point, wₖ = Wᵀ rows kd..(k + 1)d and mₖ = row
    /// Kd + k.
    ///
    /// Where the responsibilities make most terms negligible (σ small against the components'
    /// separation: then each point has one or two components above roundoff), the product is
    /// taken component by component over only the points whose term k is kept: a term is left
    /// out when its norm bound |wₖ| + |mₖ|·|μₖ| (Qₖ is orthogonal) is at most [`NEGLIGIBLE`]
    /// times the sum of the bounds of all terms of that point, i.e. below the rounding error
    /// of the full sum. Otherwise one dense product does all K·(d + 1) rows at once.
    pub(crate) fn product(
        &mut self,
        basis: &Basis,
        b: usize,
        with_means: bool,
        out: &mut ArrayViewMut2<'_, f64>,
    ) {
        if self.select_terms(basis, b, with_means) {
            self.gathered_product(basis, b, with_means, out);
            return;
        }
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

    /// Fills `active` with the kept terms of the first b points (see [`Self::product`]) and
    /// says whether few enough remain for the gathered product to pay.
    fn select_terms(&mut self, basis: &Basis, b: usize, with_means: bool) -> bool {
        let (rows, d, n_comp) = (self.rows, basis.dim, basis.n_comp);
        if d < SPARSE_MIN_DIM || n_comp == 1 || b == 0 {
            return false;
        }
        let rt = self.rt.as_slice().expect("row-major scratch");
        let small = rt
            .chunks_exact(rows)
            .map(|r_k| r_k[..b].iter().filter(|&&r| r < SCREEN).count())
            .sum::<usize>();
        let budget = (SPARSE_MAX_FILL * (n_comp * b) as f64) as usize;
        if n_comp * b - small > budget {
            return false;
        }
        if self.bound.is_empty() {
            self.bound = vec![0.0; n_comp * rows];
            self.bound_sum = vec![0.0; rows];
            self.gathered = vec![0.0; (d + 1) * rows];
            self.partial = vec![0.0; rows * d];
        }
        let wt = self.wt.as_slice().expect("row-major scratch");
        let mean_norm: &[f64] = if with_means { &basis.mean_norm } else { &[] };
        term_bounds(
            wt,
            &mut self.bound,
            &mut self.bound_sum,
            (rows, b, d),
            mean_norm,
        );
        let mut kept = 0;
        for (k, list) in self.active.iter_mut().enumerate() {
            list.clear();
            let bound = &self.bound[k * rows..k * rows + b];
            for (i, (&bk, &sum)) in bound.iter().zip(&self.bound_sum[..b]).enumerate() {
                // A NaN bound keeps the term: non-finite input stays visible.
                let negligible = bk <= NEGLIGIBLE * sum;
                if !negligible {
                    list.push(i as u32);
                }
            }
            kept += list.len();
        }
        kept <= budget
    }

    /// [`Self::product`] over the terms listed in `active`: per component, the kept points'
    /// weights are gathered, multiplied by [Qₖᵀ; μₖᵀ] and added to their rows of `out`.
    fn gathered_product(
        &mut self,
        basis: &Basis,
        b: usize,
        with_means: bool,
        out: &mut ArrayViewMut2<'_, f64>,
    ) {
        let (rows, d, kd) = (self.rows, basis.dim, basis.n_comp * basis.dim);
        let k_rows = if with_means { d + 1 } else { d };
        let wt = self.wt.as_slice().expect("row-major scratch");
        out.slice_mut(s![..b, ..]).fill(0.0);
        for (k, list) in self.active.iter().enumerate() {
            let m = list.len();
            if m == 0 {
                continue;
            }
            let gathered = &mut self.gathered[..k_rows * m];
            for (j, dst) in gathered.chunks_exact_mut(m).enumerate() {
                let src_row = if j < d { k * d + j } else { kd + k };
                let src = &wt[src_row * rows..src_row * rows + b];
                for (g, &i) in dst.iter_mut().zip(list) {
                    *g = src[i as usize];
                }
            }
            let g = ArrayView2::from_shape((k_rows, m), &*gathered).expect("gathered weights");
            let mut part =
                ArrayViewMut2::from_shape((m, d), &mut self.partial[..m * d]).expect("m × d");
            general_mat_mul(
                1.0,
                &g.t(),
                &basis.back_per[k].slice(s![..k_rows, ..]),
                0.0,
                &mut part,
            );
            for (p, &i) in part.rows().into_iter().zip(list) {
                for (o, v) in out.row_mut(i as usize).iter_mut().zip(p) {
                    *o += v;
                }
            }
        }
    }

    /// The number of terms a [`Self::product`] of the weights now in Wᵀ keeps, or None if it
    /// takes the dense product.
    #[cfg(test)]
    pub(crate) fn kept_terms(
        &mut self,
        basis: &Basis,
        b: usize,
        with_means: bool,
    ) -> Option<usize> {
        self.select_terms(basis, b, with_means)
            .then(|| self.active.iter().map(Vec::len).sum())
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

/// bound[k·rows + i] = |wₖ| + |mₖ|·|μₖ| for the first b points (the |mₖ| term only when
/// `mean_norm` is given), wₖ and mₖ read from Wᵀ, and their sum over k per point into `sum`;
/// `shape` is (rows, b, d).
#[inline(always)]
fn term_bounds_serial(
    wt: &[f64],
    bound: &mut [f64],
    sum: &mut [f64],
    shape: (usize, usize, usize),
    mean_norm: &[f64],
) {
    let (rows, b, d) = shape;
    let n_comp = bound.len() / rows;
    let kd = n_comp * d;
    let sum = &mut sum[..b];
    sum.fill(0.0);
    for (k, bound_k) in bound.chunks_exact_mut(rows).enumerate() {
        let bound_k = &mut bound_k[..b];
        bound_k.fill(0.0);
        for kj in k * d..(k + 1) * d {
            for (acc, w) in bound_k.iter_mut().zip(&wt[kj * rows..kj * rows + b]) {
                *acc += w * w;
            }
        }
        bound_k.iter_mut().for_each(|v| *v = v.sqrt());
        if let Some(&norm) = mean_norm.get(k) {
            let m_k = &wt[(kd + k) * rows..(kd + k) * rows + b];
            for (v, m) in bound_k.iter_mut().zip(m_k) {
                *v += m.abs() * norm;
            }
        }
        for (s, v) in sum.iter_mut().zip(&*bound_k) {
            *s += v;
        }
    }
}

multiversion! {
    /// [`term_bounds_serial`] on the widest vector unit.
    fn term_bounds(wt: &[f64], bound: &mut [f64], sum: &mut [f64], shape: (usize, usize, usize), mean_norm: &[f64]) => term_bounds_serial
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayView2};

    use super::Block;
    use crate::analytic::GaussianMixture;
    use crate::analytic::component::Family;

    /// Three components in 32-D with means 40 apart along different axes and unit
    /// covariances, and `per` samples near each mean.
    fn separated(per: usize) -> (GaussianMixture, Vec<f64>) {
        let d = 32;
        let means: Vec<Vec<f64>> = (0..3)
            .map(|k| (0..d).map(|j| if j == k { 40.0 } else { 0.0 }).collect())
            .collect();
        let eye: Vec<Vec<f64>> = (0..d)
            .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        let gm = GaussianMixture::new(vec![1.0 / 3.0; 3], means, vec![eye; 3]).unwrap();
        let xs = gm.sample(3 * per, 7);
        (gm, xs)
    }

    /// Terms the back-projection keeps for the block of `xs` at noise level σ, None if dense.
    fn kept(gm: &GaussianMixture, xs: &[f64], sigma: f64) -> Option<usize> {
        let basis = &gm.basis;
        let b = xs.len() / basis.dim;
        let mut blk = Block::new(basis);
        let spec = basis.spectrum(Family::sigma(sigma));
        let x = ArrayView2::from_shape((b, basis.dim), xs).unwrap();
        blk.posterior(basis, &spec, x, false);
        // The denoiser's weights: rₖ·(λ/c)·zₖ and rₖ for the means.
        let f: Vec<f64> = (basis.eigvals.iter().zip(&spec.inv_c))
            .map(|(lam, ic)| lam * ic)
            .collect();
        let mut out = Array2::zeros((b, basis.dim));
        blk.back_project(basis, b, &f, 1.0, &mut out.view_mut());
        blk.kept_terms(basis, b, true)
    }

    #[test]
    fn far_apart_components_keep_one_term_per_point_at_small_sigma() {
        let (gm, xs) = separated(30);
        // Each point is ~40 from the other means: their responsibilities are e^{-800}.
        assert_eq!(kept(&gm, &xs, 0.1), Some(90));
        assert_eq!(kept(&gm, &xs, 1.0), Some(90));
        // At σ = 80 the three are comparable everywhere: the dense product.
        assert_eq!(kept(&gm, &xs, 80.0), None);
    }

    #[test]
    fn a_point_between_two_components_keeps_both() {
        let (gm, mut xs) = separated(30);
        // The midpoint of μ₀ and μ₁: equal responsibilities ½, ½ (and e^{-400}·… for μ₂).
        xs[..32].fill(0.0);
        xs[0] = 20.0;
        xs[1] = 20.0;
        assert_eq!(kept(&gm, &xs, 0.1), Some(91));
    }
}
