//! The batched denoiser, CondOT velocity and score with one matrix product per block instead
//! of two: the batch times the per-call precision matrices Aₖ = Cₖ⁻¹ (or times the output
//! gains Gₖ), where the eigen path (`block.rs`) projects on the eigenbases and then
//! back-projects.
//!
//! For one Gaussian family N(aμₖ, Cₖ), Cₖ = Qₖ diag(cₖ) Qₖᵀ with cₖ = αλₖ + β
//! (`component::Family`), write e = x − aμₖ, vₖ = Aₖe and qₖ = e·vₖ, the quadratic form of
//! the responsibilities. The denoiser D(x; σ) = Σₖ rₖ[μₖ + Σₖ(Σₖ + σ²I)⁻¹e] (Karras et al.
//! 2022, eq. 3; a = 1) and the CondOT velocity Σₖ rₖ[μₖ + (tΣₖ − (1 − t)I)Cₖ⁻¹e] (Lipman et
//! al. 2023; a = t) are both Σₖ rₖ[μₖ + Gₖe] with Gₖ = Qₖ diag(gₖ) Qₖᵀ and
//! gₖ = (1 − η/cₖ)/a, η = σ² resp. 1 − t (since tλ − (1 − t) = (c − (1 − t))/t). Hence
//! Gₖ = (I − ηAₖ)/a and Aₖ = (I − aGₖ)/η, and either matrix gives everything:
//!
//! - precision form, Y = X·[A₁ | … | A_K]: vₖ = Yₖ − Aₖaμₖ, and the output
//!   Σₖ rₖ(μₖ + (e − ηvₖ)/a) = (x − η Σₖ rₖvₖ)/a (Tweedie's formula for the denoiser;
//!   Efron 2011), needs a > 0;
//! - gain form, Y = X·[G₁ | … | G_K]: wₖ = Yₖ − Gₖaμₖ = Gₖe, vₖ = (e − a wₖ)/η, and the
//!   output Σₖ rₖ(μₖ + wₖ), needs η > 0;
//!
//! and the score is −Σₖ rₖvₖ in both. The matrices are rebuilt per call from the stored
//! eigendecompositions (K·d³ multiply-adds against the product's n·K·d²).
//!
//! Which form, if any, is chosen per call from a rounding-error bound relative to the eigen
//! path's (see [`Plan::new`]): both forms lose accuracy where Aₖ is ill-conditioned, the
//! precision form where the output x/a − (η/a)Σrv cancels (σ ≫ λ, t → 0), the gain form where
//! e − aw cancels (σ ≪ λ, t → 1).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};

use super::basis::Basis;
use super::block::Block;
use super::spectrum::Spectrum;
use scoreflow_noise_schedules::multiversion;

/// The one-product path is used only when its worst-case rounding bound, on both the logits
/// and the output, is at most this many times the eigen path's (three bits); the eigen path
/// itself agrees with the single-point methods to about 2e-13 relative at worst on the tests'
/// mixtures, against the 1e-12 they demand.
pub(crate) const RHO_MAX: f64 = 8.0;

/// Smallest dimension at which a block is kept point-major (Y = X·[M₁ | … | M_K], loops over
/// a point's d coordinates) rather than component-major (Yᵀ, loops over the block's points):
/// from d = 8 a point's coordinates fill a vector register, and the point-major layout needs
/// no transposes of X and of the output.
const POINT_MAJOR_MIN_DIM: usize = 8;

/// Which matrix multiplies the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Aₖ = Cₖ⁻¹; the output is (x − η Σₖ rₖvₖ)/a.
    Precision,
    /// Gₖ = (I − ηAₖ)/a; the output is Σₖ rₖ(μₖ + wₖ).
    Gain,
}

/// What a batch call returns per point.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Output<'g> {
    /// ∇ ln p = −Σₖ rₖ Aₖ(x − aμₖ).
    Score,
    /// Σₖ rₖ[μₖ + Gₖ(x − aμₖ)], Gₖ = Qₖ diag(gain) Qₖᵀ with gain = (1 − η/c)/a on every
    /// eigenvalue (index kd + j).
    Affine { eta: f64, gain: &'g [f64] },
}

/// One call's matrices and constants for the one-product path.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) form: Form,
    /// The largest ratio of this form's rounding bound to the eigen path's over components.
    #[cfg(test)]
    pub(crate) rho: f64,
    /// d × Kd, column block k the matrix Mₖ = Aₖ or Gₖ.
    m: Array2<f64>,
    /// aμₖ at index kd + j.
    centre: Vec<f64>,
    /// Mₖᵀ(aμₖ) at index kd + j.
    shift: Vec<f64>,
    /// μₖ at index kd + j (added to wₖ by the gain form's affine output).
    mean: Vec<f64>,
    log_norm: Vec<f64>,
    a: f64,
    eta: f64,
    score: bool,
}

/// The ratio of a form's worst-case rounding bound to the eigen path's, per component.
///
/// Model: a product row carries an absolute error δ ≲ γ_d(|x| + a|μ|) in both paths (the
/// eigen path's projections zₖ = Qₖᵀx − aQₖᵀμₖ with ‖Qₖ‖ = 1; here uₖ = Mₖx − Mₖaμₖ with
/// error ‖Mₖ‖δ). With c ∈ [c_min, c_max], κ = c_max/c_min and q = Σⱼ zⱼ²/cⱼ ≥ |e|²/c_max:
///
/// - eigen path: |δq| ≤ 2|C^{-1/2}z||C^{-1/2}δz| ≤ 2√q δ/√c_min, output error g_max δ
///   (g_max = maxⱼ |gⱼ|) for an affine output, δ/c_min for the score;
/// - precision form: |δv| ≤ δ/c_min, so |δq| ≤ |e|δ/c_min ≤ (√κ/2)·2√q δ/√c_min, and the
///   affine output (x − ηΣrv)/a errs by (1 + η/c_min)δ/a (the 1 from rounding x/a), i.e.
///   (1 + η/c_min)/(a g_max) times the eigen path's; the score's error is the same;
/// - gain form: a‖G‖ = maxⱼ |1 − η/cⱼ| ≤ max(1, η/c_min), so |δv| ≤ δ max(1/η, 1/c_min),
///   |δq| ≤ max(√(c_min c_max)/η, √κ)/2 · 2√q δ/√c_min; the affine output's error is the
///   eigen path's, the score's max(c_min/η, 1) times it.
///
/// The logits' error moves the outputs through the responsibilities by the same factor.
fn ratios(c: &[f64], gain: Option<&[f64]>, a: f64, eta: f64) -> (f64, f64) {
    // Non-finite σ or t: no bound, the eigen path.
    if !c.iter().all(|v| v.is_finite() && *v > 0.0) {
        return (f64::INFINITY, f64::INFINITY);
    }
    let (c_min, c_max) = c.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let root_kappa = (c_max / c_min).sqrt();
    let precision = if a > 0.0 {
        let out = match gain {
            Some(g) => {
                let g_max = g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                (1.0 + eta / c_min) / (a * g_max)
            }
            None => 1.0,
        };
        (root_kappa / 2.0).max(out)
    } else {
        f64::INFINITY
    };
    let gain_form = if eta > 0.0 {
        let logits = ((c_min * c_max).sqrt() / eta).max(root_kappa) / 2.0;
        let out = if gain.is_some() {
            1.0
        } else {
            (c_min / eta).max(1.0)
        };
        logits.max(out)
    } else {
        f64::INFINITY
    };
    (precision, gain_form)
}

impl Plan {
    /// The one-product plan of a call of family constants `spec` (mean scale `a`) for
    /// `output`, or None where the better form's rounding bound exceeds the eigen path's by
    /// more than [`RHO_MAX`] on some component (see [`ratios`]): then the caller takes the
    /// eigen path. Which form and whether is
    /// decided from (K, d, the spectra, σ or t) alone, never from the points.
    pub(crate) fn new(basis: &Basis, spec: &Spectrum, a: f64, output: Output<'_>) -> Option<Self> {
        let (d, n_comp) = (basis.dim, basis.n_comp);
        let (gain, eta) = match output {
            Output::Score => (None, 0.0),
            Output::Affine { eta, gain } => (Some(gain), eta),
        };
        let (mut rho_p, mut rho_g) = (0.0_f64, 0.0_f64);
        for k in 0..n_comp {
            let span = k * d..(k + 1) * d;
            let c: Vec<f64> = spec.inv_c[span.clone()].iter().map(|ic| 1.0 / ic).collect();
            let (p, g) = ratios(&c, gain.map(|g| &g[span]), a, eta);
            rho_p = if p > rho_p || p.is_nan() { p } else { rho_p };
            rho_g = if g > rho_g || g.is_nan() { g } else { rho_g };
        }
        let (form, rho, f) = if rho_p <= rho_g {
            (Form::Precision, rho_p, &spec.inv_c[..])
        } else {
            (Form::Gain, rho_g, gain?)
        };
        if rho.is_nan() || rho > RHO_MAX {
            return None;
        }
        // Mₖ = (Qₖ diag(fₖ)) Qₖᵀ.
        let kd = n_comp * d;
        let mut qf = basis.forward.clone();
        for (mut col, f) in qf.columns_mut().into_iter().zip(f) {
            col.iter_mut().for_each(|q| *q *= f);
        }
        let mut m = Array2::zeros((d, kd));
        let mut centre = Vec::with_capacity(kd);
        let mut mean = Vec::with_capacity(kd);
        let mut shift = vec![0.0; kd];
        for k in 0..n_comp {
            let cols = k * d..(k + 1) * d;
            general_mat_mul(
                1.0,
                &qf.slice(s![.., cols.clone()]),
                &basis.back.slice(s![cols.clone(), ..]),
                0.0,
                &mut m.slice_mut(s![.., cols.clone()]),
            );
            let mu = basis.back.row(kd + k);
            mean.extend(mu.iter());
            centre.extend(mu.iter().map(|v| a * v));
            for (j, sh) in shift[cols].iter_mut().enumerate() {
                *sh = m
                    .column(k * d + j)
                    .iter()
                    .zip(&centre[k * d..])
                    .map(|(m, c)| m * c)
                    .sum();
            }
        }
        Some(Self {
            form,
            #[cfg(test)]
            rho,
            m,
            centre,
            shift,
            mean,
            log_norm: spec.log_norm.clone(),
            a,
            eta,
            score: gain.is_none(),
        })
    }

    /// The output of the b = x.nrows() points of `x` into `out` (b × d): Yᵀ = [M₁ | … |
    /// M_K]ᵀ·Xᵀ into the block's Zᵀ, then vₖ, qₖ and the logits in one pass, the softmax, and
    /// Σₖ rₖ·(vₖ or μₖ + wₖ) in another.
    pub(crate) fn block(
        &self,
        scratch: &mut Scratch,
        x: ArrayView2<'_, f64>,
        out: &mut ArrayViewMut2<'_, f64>,
    ) {
        let b = x.nrows();
        let d = self.m.nrows();
        let xs = x.as_slice().expect("rows of a row-major batch");
        let out = out.as_slice_mut().expect("rows of a row-major output");
        // Precision form: (x − ηΣrv)/a; gain form: Σr(μ + w); the score: −Σrv.
        let c = match (self.score, self.form) {
            (true, _) => (0.0, -1.0),
            (false, Form::Precision) => (1.0 / self.a, -self.eta / self.a),
            (false, Form::Gain) => (0.0, 1.0),
        };
        if d >= POINT_MAJOR_MIN_DIM {
            let blk = &mut scratch.blk;
            let (rows, kd) = (blk.rows, self.m.ncols());
            let ys = &mut blk.zt.as_slice_mut().expect("row-major scratch")[..b * kd];
            let mut y = ArrayViewMut2::from_shape((b, kd), &mut *ys).expect("b × Kd");
            general_mat_mul(1.0, &x, &self.m, 0.0, &mut y);
            let rt = blk.rt.as_slice_mut().expect("row-major scratch");
            quadratic_forms_rows(ys, xs, rt, (rows, b, d), self);
            blk.normalise(b);
            let ys = &blk.zt.as_slice().expect("row-major scratch")[..b * kd];
            let rt = blk.rt.as_slice().expect("row-major scratch");
            combine_rows(out, xs, ys, rt, (rows, b, d), c);
            return;
        }
        let Scratch {
            blk,
            xt,
            acc,
            stride,
        } = scratch;
        let (rows, stride) = (blk.rows, *stride);
        general_mat_mul(
            1.0,
            &self.m.t(),
            &x.t(),
            0.0,
            &mut blk.zt.slice_mut(s![.., ..b]),
        );
        transpose(xs, (b, d), &mut xt[..], stride);
        let yt = blk.zt.as_slice_mut().expect("row-major scratch");
        let rt = blk.rt.as_slice_mut().expect("row-major scratch");
        quadratic_forms(yt, xt, rt, (rows, stride, b, d), self);
        blk.normalise(b);
        let yt = blk.zt.as_slice().expect("row-major scratch");
        let rt = blk.rt.as_slice().expect("row-major scratch");
        weighted(acc, yt, rt, (rows, stride, b, d));
        combine(out, xs, &acc[..], (b, d, stride), c);
    }
}

/// Points per tile of the transposing copies: a tile touches TILE cache lines of the
/// point-major side and d of the component-major side, 8-wide runs of each.
const TILE: usize = 8;

/// dst[j·stride + i] = src[i·d + j] for i < b, j < d; `shape` is (b, d).
fn transpose(src: &[f64], shape: (usize, usize), dst: &mut [f64], stride: usize) {
    let (b, d) = shape;
    for i0 in (0..b).step_by(TILE) {
        let tile = &src[i0 * d..(i0 + TILE).min(b) * d];
        for j in 0..d {
            let run = &mut dst[j * stride + i0..j * stride + i0 + tile.len() / d];
            for (o, v) in run.iter_mut().zip(tile[j..].iter().step_by(d)) {
                *o = *v;
            }
        }
    }
}

/// out[i·d + j] = cx·x[i·d + j] + cs·sums[j·stride + i] for i < b, j < d; `shape` is
/// (b, d, stride).
fn combine(out: &mut [f64], x: &[f64], sums: &[f64], shape: (usize, usize, usize), c: (f64, f64)) {
    let (b, d, stride) = shape;
    let (cx, cs) = c;
    for i0 in (0..b).step_by(TILE) {
        let span = i0 * d..(i0 + TILE).min(b) * d;
        let (out, x) = (&mut out[span.clone()], &x[span]);
        for j in 0..d {
            let run = &sums[j * stride + i0..j * stride + i0 + out.len() / d];
            let outs = out[j..].iter_mut().step_by(d);
            if cx == 0.0 {
                for (o, s) in outs.zip(run) {
                    *o = cs * s;
                }
            } else {
                for ((o, x), s) in outs.zip(x[j..].iter().step_by(d)).zip(run) {
                    *o = cx * x + cs * s;
                }
            }
        }
    }
}

/// Independent partial sums of a quadratic form qₖ = e·vₖ over a point's d coordinates, so
/// that the sum vectorises (one AVX-512 register) and its order is fixed by d alone.
const LANES: usize = 8;

/// One point and component in the point-major layout: for every coordinate, e = x − aμ and
/// u = y − Mᵀaμ, `step(e, u, μ)` returns (what y is overwritten with, vₖ); returns qₖ = e·vₖ.
#[inline(always)]
fn point_terms(
    y: &mut [f64],
    x: &[f64],
    consts: (&[f64], &[f64], &[f64]),
    step: impl Fn(f64, f64, f64) -> (f64, f64),
) -> f64 {
    let (cen, sh, mu) = consts;
    let n = y.len() / LANES * LANES;
    let mut lanes = [0.0; LANES];
    let chunks = (y[..n].chunks_exact_mut(LANES))
        .zip(x.chunks_exact(LANES))
        .zip(cen.chunks_exact(LANES))
        .zip(sh.chunks_exact(LANES))
        .zip(mu.chunks_exact(LANES));
    for ((((y, x), cen), sh), mu) in chunks {
        for l in 0..LANES {
            let e = x[l] - cen[l];
            let (store, v) = step(e, y[l] - sh[l], mu[l]);
            y[l] = store;
            lanes[l] += e * v;
        }
    }
    let mut tail = 0.0;
    for j in n..y.len() {
        let e = x[j] - cen[j];
        let (store, v) = step(e, y[j] - sh[j], mu[j]);
        y[j] = store;
        tail += e * v;
    }
    lanes.iter().sum::<f64>() + tail
}

/// [`quadratic_forms_serial`] in the point-major layout: Y row i holds the b points' Kd
/// products (row stride Kd), X row-major, the logits Rᵀ component-major with row stride
/// `rows`; `shape` is (rows, b, d).
#[inline(always)]
fn quadratic_forms_rows_serial(
    ys: &mut [f64],
    xs: &[f64],
    rt: &mut [f64],
    shape: (usize, usize, usize),
    plan: &Plan,
) {
    let (rows, b, d) = shape;
    let kd = plan.centre.len();
    let (a, inv_eta) = (plan.a, 1.0 / plan.eta);
    for (i, (y_i, x)) in ys[..b * kd]
        .chunks_exact_mut(kd)
        .zip(xs.chunks_exact(d))
        .enumerate()
    {
        for (k, y) in y_i.chunks_exact_mut(d).enumerate() {
            let span = k * d..(k + 1) * d;
            let consts = (
                &plan.centre[span.clone()],
                &plan.shift[span.clone()],
                &plan.mean[span],
            );
            let q = match (plan.form, plan.score) {
                (Form::Precision, _) => point_terms(y, x, consts, |_, u, _| (u, u)),
                (Form::Gain, false) => {
                    point_terms(y, x, consts, |e, u, mu| (mu + u, (e - a * u) * inv_eta))
                }
                (Form::Gain, true) => point_terms(y, x, consts, |e, u, _| {
                    let v = (e - a * u) * inv_eta;
                    (v, v)
                }),
            };
            rt[k * rows + i] = plan.log_norm[k] - 0.5 * q;
        }
    }
}

multiversion! {
    /// [`quadratic_forms_rows_serial`] on the widest vector unit.
    fn quadratic_forms_rows(ys: &mut [f64], xs: &[f64], rt: &mut [f64], shape: (usize, usize, usize), plan: &Plan) => quadratic_forms_rows_serial
}

/// out row i = cx·xᵢ + cs·Σₖ rₖ Y[i, kd..(k + 1)d] in the point-major layout; `shape` is
/// (rows, b, d).
#[inline(always)]
fn combine_rows_serial(
    out: &mut [f64],
    xs: &[f64],
    ys: &[f64],
    rt: &[f64],
    shape: (usize, usize, usize),
    c: (f64, f64),
) {
    let (rows, b, d) = shape;
    let (cx, cs) = c;
    let kd = ys.len() / b.max(1);
    for (i, ((o, x), y_i)) in (out.chunks_exact_mut(d).zip(xs.chunks_exact(d)))
        .zip(ys.chunks_exact(kd))
        .enumerate()
    {
        o.fill(0.0);
        for (k, y) in y_i.chunks_exact(d).enumerate() {
            let r = rt[k * rows + i];
            o.iter_mut().zip(y).for_each(|(o, y)| *o += r * y);
        }
        if cx == 0.0 {
            o.iter_mut().for_each(|o| *o *= cs);
        } else {
            o.iter_mut().zip(x).for_each(|(o, x)| *o = cx * x + cs * *o);
        }
    }
}

multiversion! {
    /// [`combine_rows_serial`] on the widest vector unit.
    fn combine_rows(out: &mut [f64], xs: &[f64], ys: &[f64], rt: &[f64], shape: (usize, usize, usize), c: (f64, f64)) => combine_rows_serial
}

/// One block's scratch: the eigen path's [`Block`] (its Zᵀ holds Yᵀ, its Rᵀ the
/// responsibilities), Xᵀ and Σₖ rₖ·(…), d rows of `stride` entries each.
pub(crate) struct Scratch {
    blk: Block,
    xt: Vec<f64>,
    acc: Vec<f64>,
    stride: usize,
}

impl Scratch {
    pub(crate) fn new(basis: &Basis) -> Self {
        let blk = Block::with_weights(basis, false);
        // Xᵀ and the sums are written resp. read across their rows, one column per point:
        // a row stride of a power of two (block_rows is often 512) would put the d entries
        // of a column in one L1 set; 8 more entries spread them.
        let stride = blk.rows + 8;
        let n = basis.dim * stride;
        Self {
            blk,
            xt: vec![0.0; n],
            acc: vec![0.0; n],
            stride,
        }
    }
}

/// For the first b points (Yᵀ and the logits Rᵀ with row stride `rows`, Xᵀ with `stride`;
/// `shape` is (rows, stride, b, d)): e = x − aμₖ, uₖ = yₖ − Mₖᵀaμₖ, vₖ = uₖ (precision form) or (e − a uₖ)/η
/// (gain form), qₖ = e·vₖ and ℓₖ = log_normₖ − qₖ/2; Yᵀ is overwritten with what the output
/// sums: vₖ, or μₖ + uₖ for the gain form's affine output.
#[inline(always)]
fn quadratic_forms_serial(
    yt: &mut [f64],
    xt: &[f64],
    rt: &mut [f64],
    shape: (usize, usize, usize, usize),
    plan: &Plan,
) {
    let (rows, stride, b, d) = shape;
    let (a, inv_eta) = (plan.a, 1.0 / plan.eta);
    let gain = plan.form == Form::Gain;
    let keep_w = gain && !plan.score;
    for (k, l_k) in rt.chunks_exact_mut(rows).enumerate() {
        let l_k = &mut l_k[..b];
        l_k.fill(0.0);
        for j in 0..d {
            let kj = k * d + j;
            let (cen, sh, mu) = (plan.centre[kj], plan.shift[kj], plan.mean[kj]);
            let x = &xt[j * stride..j * stride + b];
            let y = &mut yt[kj * rows..kj * rows + b];
            let terms = l_k.iter_mut().zip(y).zip(x);
            if !gain {
                for ((q, y), x) in terms {
                    let v = *y - sh;
                    *y = v;
                    *q += (x - cen) * v;
                }
            } else if keep_w {
                for ((q, y), x) in terms {
                    let (e, w) = (x - cen, *y - sh);
                    *y = mu + w;
                    *q += e * ((e - a * w) * inv_eta);
                }
            } else {
                for ((q, y), x) in terms {
                    let e = x - cen;
                    let v = (e - a * (*y - sh)) * inv_eta;
                    *y = v;
                    *q += e * v;
                }
            }
        }
        let ln = plan.log_norm[k];
        l_k.iter_mut().for_each(|q| *q = ln - 0.5 * *q);
    }
}

multiversion! {
    /// [`quadratic_forms_serial`] on the widest vector unit.
    fn quadratic_forms(yt: &mut [f64], xt: &[f64], rt: &mut [f64], shape: (usize, usize, usize, usize), plan: &Plan) => quadratic_forms_serial
}

/// acc row j = Σₖ rₖ ⊙ (Yᵀ row kd + j) for the first b points; `shape` is (rows, stride, b,
/// d), `stride` that of acc.
#[inline(always)]
fn weighted_serial(acc: &mut [f64], yt: &[f64], rt: &[f64], shape: (usize, usize, usize, usize)) {
    let (rows, stride, b, d) = shape;
    for j in 0..d {
        acc[j * stride..j * stride + b].fill(0.0);
    }
    for (k, r_k) in rt.chunks_exact(rows).enumerate() {
        let r_k = &r_k[..b];
        for j in 0..d {
            let y = &yt[(k * d + j) * rows..(k * d + j) * rows + b];
            for ((s, r), y) in acc[j * stride..j * stride + b].iter_mut().zip(r_k).zip(y) {
                *s += r * y;
            }
        }
    }
}

multiversion! {
    /// [`weighted_serial`] on the widest vector unit.
    fn weighted(acc: &mut [f64], yt: &[f64], rt: &[f64], shape: (usize, usize, usize, usize)) => weighted_serial
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    use super::{Form, RHO_MAX};
    use crate::analytic::GaussianMixture;

    /// K components in d dimensions with the eigenvalues λᵢ = λ_min·κ^{i/(d−1)} (condition
    /// number κ exactly) in the eigenbasis of a Householder reflection I − 2wwᵀ/|w|² per
    /// component (w random, so no eigenvector is an axis), means U(−2, 2)ᵈ, equal weights;
    /// components 0 and 1 share their covariance, so that their responsibilities tie exactly
    /// on the bisector of their means, where the output is most sensitive to the logits.
    fn conditioned(d: usize, k: usize, lambda_min: f64, kappa: f64, seed: u64) -> GaussianMixture {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let lambdas: Vec<f64> = (0..d)
            .map(|i| lambda_min * kappa.powf(i as f64 / (d - 1) as f64))
            .collect();
        let mut covs: Vec<Vec<Vec<f64>>> = (0..k)
            .map(|_| {
                let w: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
                let w2: f64 = w.iter().map(|v| v * v).sum();
                let h = |i: usize, j: usize| f64::from(u8::from(i == j)) - 2.0 * w[i] * w[j] / w2;
                let entry = |i: usize, j: usize| -> f64 {
                    (0..d).map(|l| h(i, l) * lambdas[l] * h(j, l)).sum()
                };
                (0..d)
                    .map(|i| (0..d).map(|j| 0.5 * (entry(i, j) + entry(j, i))).collect())
                    .collect()
            })
            .collect();
        covs[1] = covs[0].clone();
        let means = (0..k)
            .map(|_| (0..d).map(|_| 4.0 * rng.random::<f64>() - 2.0).collect())
            .collect();
        GaussianMixture::new(vec![1.0 / k as f64; k], means, covs).unwrap()
    }

    fn form(plan: Option<super::Plan>) -> Option<Form> {
        plan.map(|p| p.form)
    }

    #[test]
    fn the_rule_takes_the_gain_form_at_large_noise_and_the_precision_form_at_small() {
        // Eigenvalues in [0.5, 4.5], as in the benchmark's gauss64d.
        let gm = conditioned(16, 3, 0.5, 9.0, 1);
        for sigma in [80.0, 10.0, 1.0] {
            assert_eq!(
                form(gm.denoise_plan(sigma)),
                Some(Form::Gain),
                "σ = {sigma}"
            );
        }
        for sigma in [0.1, 0.01, 0.0] {
            assert_eq!(
                form(gm.denoise_plan(sigma)),
                Some(Form::Precision),
                "σ = {sigma}"
            );
        }
        // t = 1/(1 + σ); t = 0 has no precision form (a = 0), t = 1 no gain form (η = 0).
        for t in [0.0, 1.0 / 81.0, 1.0 / 11.0, 0.5] {
            assert_eq!(form(gm.velocity_plan(t)), Some(Form::Gain), "t = {t}");
        }
        for t in [1.0 / 1.1, 1.0 / 1.01, 1.0] {
            assert_eq!(form(gm.velocity_plan(t)), Some(Form::Precision), "t = {t}");
        }
        assert_eq!(form(gm.score_plan(80.0)), Some(Form::Precision));
    }

    #[test]
    fn ill_conditioned_covariances_keep_the_eigen_path_where_the_bound_exceeds_the_limit() {
        // κ = 10⁴ at σ = 0: √κ/2 = 50 > 8, and the gain form does not exist at σ = 0.
        let gm = conditioned(16, 2, 1e-3, 1e4, 2);
        assert!(gm.denoise_plan(0.0).is_none());
        assert!(gm.score_plan(0.0).is_none());
        assert!(gm.velocity_plan(1.0).is_none());
        // Noise regularises: at σ = 80 everything is well conditioned.
        assert_eq!(form(gm.denoise_plan(80.0)), Some(Form::Gain));
        assert!(gm.denoise_plan(f64::NAN).is_none());
    }

    fn norm(v: &[f64]) -> f64 {
        v.iter().map(|a| a * a).sum::<f64>().sqrt()
    }

    fn assert_close(what: &str, batch: &[f64], single: &[f64], scale: f64) {
        let err = norm(
            &batch
                .iter()
                .zip(single)
                .map(|(a, b)| a - b)
                .collect::<Vec<_>>(),
        );
        assert!(
            err <= 1e-12 * scale,
            "{what}: error {err:e} against scale {scale:e}"
        );
    }

    /// Samples of p₀ plus `noise`·N(0, I), every fifth point 8× further out, every fifth
    /// (offset 2) the midpoint of μ₀ and μ₁ (a tie).
    fn points(gm: &GaussianMixture, n: usize, noise: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = gm.dim();
        let mut xs = gm.sample(n, seed);
        for (i, x) in xs.chunks_exact_mut(d).enumerate() {
            for (j, v) in x.iter_mut().enumerate() {
                let e: f64 = rng.sample(StandardNormal);
                *v = match i % 5 {
                    4 => 8.0 * (*v + noise * e),
                    2 => 0.5 * (gm.means()[0][j] + gm.means()[1][j]),
                    _ => *v + noise * e,
                };
            }
        }
        xs
    }

    /// The rule's limit reached: covariances of condition number 255, so that at σ = 0 and
    /// t = 1 the precision form's bound is √255/2 ≈ 7.98 times the eigen path's, just inside
    /// [`RHO_MAX`]; and every σ and t of a fine grid that the rule admits, whichever form it
    /// picks. Batch against single-point methods to 1e-12, relative to the tests/
    /// analytic_batch.rs scales, with the blocks both point-major (d = 32) and
    /// component-major (d = 4).
    #[test]
    fn the_worst_admitted_conditioning_keeps_single_point_accuracy() {
        let lambda_min = 0.02;
        for gm in [
            conditioned(32, 3, lambda_min, 255.0, 3),
            conditioned(4, 3, lambda_min, 255.0, 4),
        ] {
            let d = gm.dim();
            let mut worst = [0.0_f64; 2];
            let sigmas =
                std::iter::once(0.0).chain((0..=40).map(|i| 10f64.powf(-3.0 + i as f64 / 8.0)));
            for sigma in sigmas {
                let t = 1.0 / (1.0 + sigma);
                let n = 300;
                let xs = points(&gm, n, sigma, 5);
                let (mut den, mut sc, mut u) =
                    (vec![0.0; n * d], vec![0.0; n * d], vec![0.0; n * d]);
                gm.denoise_batch(&xs, sigma, &mut den);
                gm.score_batch(&xs, sigma, &mut sc);
                gm.condot_velocity_batch(&xs, t, &mut u);
                for plan in [
                    gm.denoise_plan(sigma),
                    gm.velocity_plan(t),
                    gm.score_plan(sigma),
                ]
                .into_iter()
                .flatten()
                {
                    assert!(plan.rho <= RHO_MAX);
                    let w = &mut worst[usize::from(plan.form == Form::Gain)];
                    *w = w.max(plan.rho);
                }
                let (mut one_d, mut one_s, mut one_u) = (vec![0.0; d], vec![0.0; d], vec![0.0; d]);
                for (i, x) in xs.chunks_exact(d).enumerate() {
                    let rows = i * d..(i + 1) * d;
                    let what = format!("d = {d}, σ = {sigma}, t = {t}, point {i}");
                    gm.denoise(x, sigma, &mut one_d);
                    let scale_d = 1.0 + norm(x).max(norm(&one_d));
                    assert_close(
                        &format!("denoise {what}"),
                        &den[rows.clone()],
                        &one_d,
                        scale_d,
                    );
                    gm.score(x, sigma, &mut one_s);
                    let scale_s = 1.0 + norm(&one_s).max(scale_d / (sigma * sigma).max(lambda_min));
                    assert_close(&format!("score {what}"), &sc[rows.clone()], &one_s, scale_s);
                    gm.condot_velocity(x, t, &mut one_u);
                    // As in tests/analytic_batch.rs: the responsibilities carry the logits'
                    // rounding, ε·|x − tμ|²/c, in any evaluation (the reference's too), which
                    // the far points at t → 0 turn into up to ~1e-12·|x| either way.
                    let c_min = t * t * lambda_min + (1.0 - t) * (1.0 - t);
                    let logit_rounding = f64::EPSILON * norm(x).powi(2) / c_min / 1e-12;
                    let scale_u = (1.0 + norm(x).max(norm(&one_u))) * (1.0 + logit_rounding);
                    assert_close(&format!("velocity {what}"), &u[rows], &one_u, scale_u);
                }
            }
            // Both forms were exercised, the precision form at the limit.
            assert!(
                worst[0] > 0.99 * 255f64.sqrt() / 2.0,
                "precision form at worst {}",
                worst[0]
            );
            assert!(worst[1] > 0.0, "the gain form was never chosen");
        }
    }
}
