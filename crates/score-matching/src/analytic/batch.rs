//! The batched closed forms: every `*_batch` method of [`GaussianMixture`] as two matrix
//! products per block of rows over the stacked eigenbases (`basis.rs`), with the
//! responsibilities, quadratic forms and spectral weights fused in between. The denoiser, the
//! CondOT velocity and the score take one product instead, with the per-call precision
//! matrices or output gains (`precision.rs`), wherever its rounding bound is within
//! `RHO_MAX` of this eigen path's.
//!
//! Per point the arithmetic is that of the single-point methods (same eigenbasis, same closed
//! forms); only the order of the floating-point sums differs, so batch and single-point
//! results agree to roundoff (tests/analytic_batch.rs checks 1e-12 relative). The dense
//! products run in matrixmultiply (ndarray's `general_mat_mul`), whose packed, cache-blocked
//! AVX2/AVX-512 kernels do the O(nKd²) work; the rows are cut into blocks small enough that a
//! block's projections stay in cache between the two products.
//!
//! Threads: single-threaded unless [`GaussianMixture::with_threads`] asked for more, in which
//! case blocks are spread over a rayon pool owned by the mixture. Block boundaries depend only
//! on (K, d), never on the thread count, so results are bit-identical for every thread count.

use std::ops::Range;
use std::sync::Arc;

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use rayon::prelude::*;

use super::basis::Basis;
use super::block::Block;
use super::component::Family;
use super::error::MixtureError;
use super::mixture::GaussianMixture;
use super::precision::{Output, Plan, Scratch};
use super::spectrum::Spectrum;

impl GaussianMixture {
    /// This mixture evaluating its `*_batch` methods on `threads` threads (a rayon pool owned
    /// by the mixture and shared by its clones); 1, the default of [`Self::new`], runs on the
    /// calling thread. Results do not depend on the thread count (see the module docs).
    ///
    /// # Errors
    /// [`MixtureError::Threads`] if `threads` is 0 or the pool cannot be built.
    pub fn with_threads(mut self, threads: usize) -> Result<Self, MixtureError> {
        self.pool = match threads {
            0 => {
                return Err(MixtureError::Threads {
                    threads,
                    message: "need at least one thread".into(),
                });
            }
            1 => None,
            _ => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .map_err(|e| MixtureError::Threads {
                        threads,
                        message: e.to_string(),
                    })?,
            )),
        };
        Ok(self)
    }

    /// The number of threads the `*_batch` methods use.
    pub fn threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
    }

    /// [`Self::log_prob`] for n points stored row-major in `xs` (length n·d), into `out`
    /// (length n).
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len()` is not n.
    pub fn log_prob_batch(&self, xs: &[f64], sigma: f64, out: &mut [f64]) {
        self.log_normaliser_batch(xs, Family::sigma(sigma), out);
    }

    /// [`Self::condot_log_prob`] for n points stored row-major in `xs` (length n·d), into
    /// `out` (length n).
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len()` is not n.
    pub fn condot_log_prob_batch(&self, xs: &[f64], t: f64, out: &mut [f64]) {
        self.log_normaliser_batch(xs, Family::condot(t), out);
    }

    /// [`Self::score`] for n points stored row-major in `xs` (length n·d), into `out`:
    /// Σₖ rₖ Qₖ diag(−1/(λₖ + σ²)) zₖ with zₖ = Qₖᵀ(x − μₖ).
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len() != xs.len()`.
    pub fn score_batch(&self, xs: &[f64], sigma: f64, out: &mut [f64]) {
        self.check_batch(xs, out);
        if let Some(plan) = self.score_plan(sigma) {
            return self.one_product_batch(xs, &plan, out);
        }
        let spec = self.basis.spectrum(Family::sigma(sigma));
        let f: Vec<f64> = spec.inv_c.iter().map(|ic| -ic).collect();
        self.spectral_batch(xs, Family::sigma(sigma), &f, 0.0, out);
    }

    /// [`Self::denoise`] for n points stored row-major in `xs` (length n·d), into `out`:
    /// Σₖ rₖ [μₖ + Qₖ diag(λₖ/(λₖ + σ²)) zₖ] with zₖ = Qₖᵀ(x − μₖ).
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len() != xs.len()`.
    pub fn denoise_batch(&self, xs: &[f64], sigma: f64, out: &mut [f64]) {
        self.check_batch(xs, out);
        if let Some(plan) = self.denoise_plan(sigma) {
            return self.one_product_batch(xs, &plan, out);
        }
        let spec = self.basis.spectrum(Family::sigma(sigma));
        let f = self.denoise_gain(&spec);
        self.spectral_batch(xs, Family::sigma(sigma), &f, 1.0, out);
    }

    /// [`Self::condot_velocity`] for n points stored row-major in `xs` (length n·d), into
    /// `out`: Σₖ rₖ [μₖ + Qₖ diag((tλₖ − (1 − t))/cₖ) zₖ] with cₖ = t²λₖ + (1 − t)² and
    /// zₖ = Qₖᵀ(x − tμₖ).
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len() != xs.len()`.
    pub fn condot_velocity_batch(&self, xs: &[f64], t: f64, out: &mut [f64]) {
        self.check_batch(xs, out);
        if let Some(plan) = self.velocity_plan(t) {
            return self.one_product_batch(xs, &plan, out);
        }
        let f = self.condot_gain(t);
        self.spectral_batch(xs, Family::condot(t), &f, 1.0, out);
    }

    /// [`Self::score_divergence`] for n points stored row-major in `xs` (length n·d), into
    /// `out` (length n): Σₖ rₖ Σⱼ (zₖⱼ²/cₖⱼ − 1)/cₖⱼ − |∇ ln p_σ(x)|², cₖⱼ = λₖⱼ + σ².
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len()` is not n.
    pub fn score_divergence_batch(&self, xs: &[f64], sigma: f64, out: &mut [f64]) {
        self.check_rows(xs, out);
        let d = self.dim();
        let fam = Family::sigma(sigma);
        let spec = self.basis.spectrum(fam);
        let minus_inv_c: Vec<f64> = spec.inv_c.iter().map(|ic| -ic).collect();
        let basis = &self.basis;
        let init = || {
            let rows = basis.block_rows;
            (Block::new(basis), Array2::zeros((rows, d)), vec![0.0; rows])
        };
        self.run_blocks(xs.len() / d, 1, out, init, |rows, out, (blk, g, inner)| {
            let b = rows.len();
            blk.posterior(basis, &spec, self.rows_view(xs, &rows), false);
            let mut g = g.slice_mut(s![..b, ..]);
            blk.back_project(basis, b, &minus_inv_c, 0.0, &mut g);
            blk.weighted_sum(d, b, out, inner, |z, kj| {
                let ic = spec.inv_c[kj];
                // gₖ in the eigenbasis is −z/c, so |gₖ|² = Σ z²/c² and tr Aₖ = Σ 1/c.
                (z * z * ic - 1.0) * ic
            });
            for (o, g) in out.iter_mut().zip(g.rows()) {
                *o -= g.iter().map(|v| v * v).sum::<f64>();
            }
        });
    }

    /// [`Self::condot_velocity_divergence`] for n points stored row-major in `xs` (length
    /// n·d), into `out` (length n): Σₖ rₖ [tr Mₖ + uₖ·hₖ] − ū·h̄ evaluated in each eigenbasis.
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d or `out.len()` is not n.
    pub fn condot_velocity_divergence_batch(&self, xs: &[f64], t: f64, out: &mut [f64]) {
        self.check_rows(xs, out);
        let d = self.dim();
        let fam = Family::condot(t);
        let spec = self.basis.spectrum(fam);
        let gain = self.condot_gain(t);
        let minus_inv_c: Vec<f64> = spec.inv_c.iter().map(|ic| -ic).collect();
        let basis = &self.basis;
        let init = || {
            let rows = basis.block_rows;
            let buf = || Array2::zeros((rows, d));
            (Block::new(basis), buf(), buf(), vec![0.0; rows])
        };
        self.run_blocks(
            xs.len() / d,
            1,
            out,
            init,
            |rows, out, (blk, u, h, inner)| {
                let b = rows.len();
                blk.posterior(basis, &spec, self.rows_view(xs, &rows), false);
                let mut u = u.slice_mut(s![..b, ..]);
                let mut h = h.slice_mut(s![..b, ..]);
                blk.back_project(basis, b, &gain, 1.0, &mut u);
                blk.back_project(basis, b, &minus_inv_c, 0.0, &mut h);
                // In the eigenbasis uₖ = Qᵀμₖ + m z and hₖ = −z/c, m = (tλ − (1 − t))/c.
                blk.weighted_sum(d, b, out, inner, |z, kj| {
                    let m = gain[kj];
                    m - (basis.mean_eig[kj] + m * z) * z * spec.inv_c[kj]
                });
                for ((o, u), h) in out.iter_mut().zip(u.rows()).zip(h.rows()) {
                    *o -= u.iter().zip(h).map(|(a, b)| a * b).sum::<f64>();
                }
            },
        );
    }

    /// [`Self::log_prob_hvp`] for n points and n vectors stored row-major in `xs` and `vs`
    /// (length n·d each), into `out`: Σₖ rₖ Qₖ uₖ − ḡ(ḡ·v) with, in eigenbasis k,
    /// uₖ = −(Qₖᵀv + (gₖ·v) zₖ)/cₖ and gₖ·v = −Σⱼ zₖⱼ(Qₖᵀv)ⱼ/cₖⱼ.
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d, or `vs` or `out` differs from `xs` in length.
    pub fn log_prob_hvp_batch(&self, xs: &[f64], sigma: f64, vs: &[f64], out: &mut [f64]) {
        self.check_batch(xs, out);
        self.check_batch(xs, vs);
        let d = self.dim();
        let spec = self.basis.spectrum(Family::sigma(sigma));
        let minus_inv_c: Vec<f64> = spec.inv_c.iter().map(|ic| -ic).collect();
        let basis = &self.basis;
        self.run_blocks(
            xs.len() / d,
            d,
            out,
            || HvpScratch::new(basis),
            |rows, out, scratch| {
                let b = rows.len();
                let HvpScratch { blk, pvt, g, gv } = scratch;
                blk.posterior(basis, &spec, self.rows_view(xs, &rows), false);
                let mut g = g.slice_mut(s![..b, ..]);
                blk.back_project(basis, b, &minus_inv_c, 0.0, &mut g);
                let mut out = ArrayViewMut2::from_shape((b, d), out).expect("block of d columns");
                let v = self.rows_view(vs, &rows);
                hvp_block(basis, &spec, blk, (pvt, gv), g.view(), v, &mut out);
            },
        );
    }

    /// [`Self::denoise_batch`] and [`Self::log_prob_hvp_batch`] for P direction batches at
    /// once, as a Hutchinson likelihood needs them at every field evaluation (Grathwohl et al.
    /// 2019): n points stored row-major in `xs` (length n·d), P batches of n directions
    /// `vs[p]` (length n·d each); D(x; σ) into `out_d` and H vₚ into `out_hv[p]`, with
    /// H = ∇² ln p_σ(x).
    ///
    /// One pass over the components serves all of them: the responsibilities and projections
    /// of x are computed once, the score ḡ = −Σₖ rₖ Qₖ (zₖ/cₖ) is back-projected once and gives
    /// both the denoiser by Tweedie's formula D = x + σ²ḡ (Efron 2011; equal to
    /// Σₖ rₖ[μₖ + Qₖ diag(λₖ/cₖ) zₖ] since λₖ/cₖ = 1 − σ²/cₖ and Σₖ rₖ(μₖ + Qₖzₖ) = x) and the
    /// −ḡ(ḡ·vₚ) term of every product; each direction then costs one projection Qₖᵀvₚ and one
    /// back-projection. Against separate [`Self::denoise_batch`] and
    /// [`Self::log_prob_hvp_batch`] calls that is 2 + 2P matrix products instead of 2 + 4P.
    ///
    /// # Panics
    /// If `xs.len()` is not a multiple of d, if `out_d` or any `vs[p]` differs from `xs` in
    /// length, or if `out_hv` does not hold one slice of that length per direction batch.
    pub fn denoise_and_hvp_batch(
        &self,
        xs: &[f64],
        sigma: f64,
        vs: &[&[f64]],
        out_d: &mut [f64],
        out_hv: &mut [&mut [f64]],
    ) {
        self.check_batch(xs, out_d);
        assert_eq!(
            vs.len(),
            out_hv.len(),
            "{} direction batches but {} outputs",
            vs.len(),
            out_hv.len()
        );
        for (v, o) in vs.iter().zip(out_hv.iter()) {
            self.check_batch(xs, v);
            self.check_batch(xs, o);
        }
        let d = self.dim();
        let s2 = sigma * sigma;
        let spec = self.basis.spectrum(Family::sigma(sigma));
        let minus_inv_c: Vec<f64> = spec.inv_c.iter().map(|ic| -ic).collect();
        let basis = &self.basis;
        let mut outs: Vec<&mut [f64]> = Vec::with_capacity(1 + out_hv.len());
        outs.push(out_d);
        outs.extend(out_hv.iter_mut().map(|o| &mut **o));
        self.run_blocks_multi(
            xs.len() / d,
            d,
            outs,
            || HvpScratch::new(basis),
            |rows, outs, scratch| {
                let b = rows.len();
                let HvpScratch { blk, pvt, g, gv } = scratch;
                let x = self.rows_view(xs, &rows);
                blk.posterior(basis, &spec, x, false);
                let mut g = g.slice_mut(s![..b, ..]);
                blk.back_project(basis, b, &minus_inv_c, 0.0, &mut g);
                let (den, hvs) = outs.split_first_mut().expect("the denoiser's output");
                for ((o, x), g) in den.chunks_exact_mut(d).zip(x.rows()).zip(g.rows()) {
                    for ((o, x), g) in o.iter_mut().zip(x).zip(g) {
                        *o = x + s2 * g;
                    }
                }
                for (hv, v) in hvs.iter_mut().zip(vs) {
                    let v = self.rows_view(v, &rows);
                    let mut hv = ArrayViewMut2::from_shape((b, d), hv).expect("block rows");
                    hvp_block(
                        basis,
                        &spec,
                        blk,
                        (&mut *pvt, &mut *gv),
                        g.view(),
                        v,
                        &mut hv,
                    );
                }
            },
        );
    }

    /// The one-product plan (src/analytic/precision.rs) of [`Self::score_batch`] at σ, or
    /// None where the eigen path is taken.
    pub(crate) fn score_plan(&self, sigma: f64) -> Option<Plan> {
        let spec = self.basis.spectrum(Family::sigma(sigma));
        Plan::new(&self.basis, &spec, 1.0, Output::Score)
    }

    /// The one-product plan of [`Self::denoise_batch`] at σ: a = 1, η = σ².
    pub(crate) fn denoise_plan(&self, sigma: f64) -> Option<Plan> {
        let spec = self.basis.spectrum(Family::sigma(sigma));
        let gain = self.denoise_gain(&spec);
        let eta = sigma * sigma;
        Plan::new(&self.basis, &spec, 1.0, Output::Affine { eta, gain: &gain })
    }

    /// The one-product plan of [`Self::condot_velocity_batch`] at t: a = t, η = 1 − t.
    pub(crate) fn velocity_plan(&self, t: f64) -> Option<Plan> {
        let spec = self.basis.spectrum(Family::condot(t));
        let gain = self.condot_gain(t);
        let eta = 1.0 - t;
        Plan::new(&self.basis, &spec, t, Output::Affine { eta, gain: &gain })
    }

    /// λ/(λ + σ²) on every eigenvalue: the denoiser's gain on zₖ.
    fn denoise_gain(&self, spec: &Spectrum) -> Vec<f64> {
        (self.basis.eigvals.iter().zip(&spec.inv_c))
            .map(|(lam, ic)| lam * ic)
            .collect()
    }

    /// (tλ − (1 − t))/(t²λ + (1 − t)²) on every eigenvalue: the CondOT velocity's gain on zₖ.
    fn condot_gain(&self, t: f64) -> Vec<f64> {
        let fam = Family::condot(t);
        let s = 1.0 - t;
        self.basis
            .eigvals
            .iter()
            .map(|&lam| (t * lam - s) / fam.eig(lam))
            .collect()
    }

    /// A d-wide output row by row through the one-product path of `plan`
    /// (src/analytic/precision.rs).
    fn one_product_batch(&self, xs: &[f64], plan: &Plan, out: &mut [f64]) {
        let d = self.dim();
        let basis = &self.basis;
        self.run_blocks(
            xs.len() / d,
            d,
            out,
            || Scratch::new(basis),
            |rows, out, scratch| {
                let b = rows.len();
                let mut out = ArrayViewMut2::from_shape((b, d), out).expect("block of d columns");
                plan.block(scratch, self.rows_view(xs, &rows), &mut out);
            },
        );
    }

    /// out = Σₖ rₖ (mean_coef·μₖ + Qₖ diag(f) zₖ) under family `fam`, row by row.
    fn spectral_batch(&self, xs: &[f64], fam: Family, f: &[f64], mean_coef: f64, out: &mut [f64]) {
        let d = self.dim();
        let spec = self.basis.spectrum(fam);
        let basis = &self.basis;
        self.run_blocks(
            xs.len() / d,
            d,
            out,
            || Block::new(basis),
            |rows, out, blk| {
                let b = rows.len();
                blk.posterior(basis, &spec, self.rows_view(xs, &rows), false);
                let mut out = ArrayViewMut2::from_shape((b, d), out).expect("block of d columns");
                blk.back_project(basis, b, f, mean_coef, &mut out);
            },
        );
    }

    /// ln Σₖ wₖ N(x; aμₖ, Cₖ) row by row under family `fam`.
    fn log_normaliser_batch(&self, xs: &[f64], fam: Family, out: &mut [f64]) {
        self.check_rows(xs, out);
        let d = self.dim();
        let spec = self.basis.spectrum(fam);
        let basis = &self.basis;
        self.run_blocks(
            xs.len() / d,
            1,
            out,
            || Block::new(basis),
            |rows, out, blk| {
                blk.posterior(basis, &spec, self.rows_view(xs, &rows), true);
                out.copy_from_slice(&blk.lse[..rows.len()]);
            },
        );
    }

    /// Rows `rows` of the row-major n × d batch `xs` as a matrix view.
    fn rows_view<'x>(&self, xs: &'x [f64], rows: &Range<usize>) -> ArrayView2<'x, f64> {
        let d = self.dim();
        ArrayView2::from_shape((rows.len(), d), &xs[rows.start * d..rows.end * d])
            .expect("rows of a checked batch")
    }

    /// Calls `kernel(rows, out_rows, scratch)` on consecutive blocks of `basis.block_rows`
    /// rows, where `out_rows` is the block's part of `out` (`width` entries per row): in order
    /// on this thread, or spread over the mixture's pool with one scratch per rayon job.
    fn run_blocks<S, I, F>(&self, n: usize, width: usize, out: &mut [f64], init: I, kernel: F)
    where
        I: Fn() -> S + Sync + Send,
        F: Fn(Range<usize>, &mut [f64], &mut S) + Sync + Send,
    {
        let rows = self.basis.block_rows;
        let block = |i: usize| i * rows..((i + 1) * rows).min(n);
        match &self.pool {
            Some(pool) if n > rows => pool.install(|| {
                out.par_chunks_mut(rows * width)
                    .enumerate()
                    .for_each_init(&init, |scratch, (i, chunk)| {
                        kernel(block(i), chunk, scratch)
                    });
            }),
            _ => {
                let mut scratch = init();
                for (i, chunk) in out.chunks_mut(rows * width).enumerate() {
                    kernel(block(i), chunk, &mut scratch);
                }
            }
        }
    }

    /// [`Self::run_blocks`] for several outputs of `width` entries per row: `kernel(rows,
    /// outs_rows, scratch)` gets each output's part for the block, in the order of `outs`.
    fn run_blocks_multi<S, I, F>(
        &self,
        n: usize,
        width: usize,
        outs: Vec<&mut [f64]>,
        init: I,
        kernel: F,
    ) where
        I: Fn() -> S + Sync + Send,
        F: Fn(Range<usize>, &mut [&mut [f64]], &mut S) + Sync + Send,
    {
        let rows = self.basis.block_rows;
        let block = |i: usize| i * rows..((i + 1) * rows).min(n);
        let mut blocks: Vec<Vec<&mut [f64]>> = (0..n.div_ceil(rows))
            .map(|_| Vec::with_capacity(outs.len()))
            .collect();
        for out in outs {
            for (parts, chunk) in blocks.iter_mut().zip(out.chunks_mut(rows * width)) {
                parts.push(chunk);
            }
        }
        match &self.pool {
            Some(pool) if n > rows => pool.install(|| {
                blocks
                    .into_par_iter()
                    .enumerate()
                    .for_each_init(&init, |scratch, (i, mut parts)| {
                        kernel(block(i), &mut parts, scratch)
                    });
            }),
            _ => {
                let mut scratch = init();
                for (i, mut parts) in blocks.into_iter().enumerate() {
                    kernel(block(i), &mut parts, &mut scratch);
                }
            }
        }
    }

    /// Checks a batch `xs` of n rows against a per-row scalar output of length n.
    fn check_rows(&self, xs: &[f64], out: &[f64]) {
        let d = self.dim();
        assert_eq!(
            xs.len() % d,
            0,
            "batch length {} is not a multiple of the dimension {d}",
            xs.len()
        );
        assert_eq!(
            out.len(),
            xs.len() / d,
            "output has length {} but the batch has {} rows",
            out.len(),
            xs.len() / d
        );
    }
}

/// One block's scratch for the Hessian–vector products: the block, Qₖᵀv component-major
/// (Kd × rows), the score ḡ (rows × d), and gₖ·v (K × rows).
struct HvpScratch {
    blk: Block,
    pvt: Array2<f64>,
    g: Array2<f64>,
    gv: Vec<f64>,
}

impl HvpScratch {
    fn new(basis: &Basis) -> Self {
        let (rows, d, n_comp) = (basis.block_rows, basis.dim, basis.n_comp);
        Self {
            blk: Block::new(basis),
            pvt: Array2::zeros((n_comp * d, rows)),
            g: Array2::zeros((rows, d)),
            gv: vec![0.0; n_comp * rows],
        }
    }
}

/// H v for the b points of a block whose posterior is in `blk` and whose score ḡ is `g`:
/// out = Σₖ rₖ Qₖ uₖ − ḡ(ḡ·v), uₖ = −(Qₖᵀv + (gₖ·v) zₖ)/cₖ, gₖ·v = −Σⱼ zₖⱼ(Qₖᵀv)ⱼ/cₖⱼ
/// ([`GaussianMixture::log_prob_hvp`]'s derivation). Overwrites `blk`'s weights.
fn hvp_block(
    basis: &Basis,
    spec: &Spectrum,
    blk: &mut Block,
    (pvt, gv): (&mut Array2<f64>, &mut Vec<f64>),
    g: ArrayView2<'_, f64>,
    v: ArrayView2<'_, f64>,
    out: &mut ArrayViewMut2<'_, f64>,
) {
    let b = v.nrows();
    let d = basis.dim;
    let stride = blk.rows;
    // (Qₖᵀv)ⱼ for every point, component-major like Zᵀ.
    let mut pvt_b = pvt.slice_mut(s![.., ..b]);
    general_mat_mul(1.0, &basis.forward.t(), &v.t(), 0.0, &mut pvt_b);
    let pvt = pvt.as_slice().expect("row-major scratch");
    let zt = blk.zt.as_slice().expect("row-major scratch");
    let rt = blk.rt.as_slice().expect("row-major scratch");
    // gₖ·v = −Σⱼ zₖⱼ (Qₖᵀv)ⱼ / cₖⱼ.
    for (k, gv_k) in gv.chunks_exact_mut(stride).enumerate() {
        gv_k[..b].fill(0.0);
        for kj in k * d..(k + 1) * d {
            let ic = spec.inv_c[kj];
            let span = kj * stride..kj * stride + b;
            for ((g, z), p) in gv_k[..b].iter_mut().zip(&zt[span.clone()]).zip(&pvt[span]) {
                *g -= z * p * ic;
            }
        }
    }
    // Wᵀ = rₖ uₖ with uₖ = −((Qₖᵀv) + (gₖ·v) zₖ)/cₖ.
    let wt = blk.wt.as_slice_mut().expect("row-major scratch");
    for k in 0..basis.n_comp {
        let (r_k, gv_k) = (
            &rt[k * stride..k * stride + b],
            &gv[k * stride..k * stride + b],
        );
        for kj in k * d..(k + 1) * d {
            let ic = spec.inv_c[kj];
            let span = kj * stride..kj * stride + b;
            let (z, p) = (&zt[span.clone()], &pvt[span.clone()]);
            for (i, w) in wt[span].iter_mut().enumerate() {
                *w = -r_k[i] * (p[i] + gv_k[i] * z[i]) * ic;
            }
        }
    }
    blk.product(basis, b, false, out);
    for ((mut o, g), v) in out.rows_mut().into_iter().zip(g.rows()).zip(v.rows()) {
        let g_dot_v: f64 = g.iter().zip(v).map(|(a, b)| a * b).sum();
        o.iter_mut().zip(g).for_each(|(o, g)| *o -= g * g_dot_v);
    }
}
