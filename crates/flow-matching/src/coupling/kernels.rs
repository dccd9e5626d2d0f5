//! Dense row-major matrix kernels of the Sinkhorn iteration: the Gibbs kernel
//! K̃_ij = exp((f_i + g_j − C_ij)/ε), and the products K̃v and K̃ᵀu. Each loop is compiled for
//! AVX-512 and AVX2 besides the baseline and picked at run time (as `models::silu::kernel`), and
//! split into row blocks on rayon's threads when the matrix is large.

use rayon::prelude::*;
use scoreflow_noise_schedules::multiversion;
use scoreflow_noise_schedules::simd::exp;

/// Below this many matrix entries one thread does the work: a rayon fork costs more than a
/// pass over a matrix that fits in L2.
pub(crate) const PARALLEL_MIN: usize = 1 << 17;

/// Σ_j a_j b_j with 16 independent partial sums, so that the loop vectorises (a single
/// accumulator would serialise on the floating-point add).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 16];
    let (ac, ar) = (a.chunks_exact(16), a.chunks_exact(16).remainder());
    let (bc, br) = (b.chunks_exact(16), b.chunks_exact(16).remainder());
    for (x, y) in ac.zip(bc) {
        for k in 0..16 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    acc.iter().sum::<f64>() + tail
}

/// Σ_j K_rj v_j for four rows at once: four independent accumulators hide the add latency, v is
/// loaded once for the four, and four memory streams keep more cache misses in flight than one.
#[inline(always)]
fn dot4(k: [&[f64]; 4], v: &[f64]) -> [f64; 4] {
    let (mut a0, mut a1, mut a2, mut a3) = ([0.0f64; 8], [0.0f64; 8], [0.0f64; 8], [0.0f64; 8]);
    let (vc, _) = v.as_chunks::<8>();
    let (c0, _) = k[0].as_chunks::<8>();
    let (c1, _) = k[1].as_chunks::<8>();
    let (c2, _) = k[2].as_chunks::<8>();
    let (c3, _) = k[3].as_chunks::<8>();
    for ((((vb, b0), b1), b2), b3) in vc.iter().zip(c0).zip(c1).zip(c2).zip(c3) {
        for l in 0..8 {
            a0[l] += b0[l] * vb[l];
            a1[l] += b1[l] * vb[l];
            a2[l] += b2[l] * vb[l];
            a3[l] += b3[l] * vb[l];
        }
    }
    let tail = vc.len() * 8;
    let mut out = [a0, a1, a2, a3].map(|acc| acc.iter().sum::<f64>());
    for (o, row) in out.iter_mut().zip(k) {
        *o += row[tail..]
            .iter()
            .zip(&v[tail..])
            .map(|(x, y)| x * y)
            .sum::<f64>();
    }
    out
}

/// col += Σ_r w_r K_r· for four rows: one load and store of `col` per four rows.
#[inline(always)]
fn axpy4(k: [&[f64]; 4], w: [f64; 4], col: &mut [f64]) {
    let [k0, k1, k2, k3] = k;
    for ((((c, &x0), &x1), &x2), &x3) in col.iter_mut().zip(k0).zip(k1).zip(k2).zip(k3) {
        *c += w[0] * x0 + w[1] * x1 + w[2] * x2 + w[3] * x3;
    }
}

/// The new scaling of a row with sum r: a/r, over-relaxed to u (a/(u r))^ω.
#[inline(always)]
fn rescale(u: f64, r: f64, a: f64, omega: f64) -> f64 {
    if omega == 1.0 {
        a / r
    } else {
        u * (a / (u * r)).powf(omega)
    }
}

/// One Sinkhorn iteration's pass over a block of rows of K̃: for each row, r_i = K̃_i·v, the
/// row error term |u_i r_i − a_i| (of the plan before the update), the update
/// u_i ← u_i (a_i/(u_i r_i))^ω, and then, with the rows still in cache, col += u_i K̃_i·.
/// Returns the block's row error, or NaN if a row sum is not a positive finite number.
#[inline(always)]
fn sweep_serial(
    k: &[f64],
    v: &[f64],
    a: &[f64],
    u: &mut [f64],
    col: &mut [f64],
    omega: f64,
) -> f64 {
    let n1 = v.len();
    col.fill(0.0);
    let mut err = 0.0;
    let mut rows = k.chunks_exact(n1);
    let mut i = 0;
    while i + 4 <= u.len() {
        let kr = [
            rows.next().expect("row"),
            rows.next().expect("row"),
            rows.next().expect("row"),
            rows.next().expect("row"),
        ];
        let r = dot4(kr, v);
        let mut w = [0.0; 4];
        for l in 0..4 {
            if !(r[l] > 0.0 && r[l].is_finite()) {
                return f64::NAN;
            }
            err += (u[i + l] * r[l] - a[i + l]).abs();
            w[l] = rescale(u[i + l], r[l], a[i + l], omega);
            u[i + l] = w[l];
        }
        axpy4(kr, w, col);
        i += 4;
    }
    for row in rows {
        let r = dot(row, v);
        if !(r > 0.0 && r.is_finite()) {
            return f64::NAN;
        }
        err += (u[i] * r - a[i]).abs();
        let w = rescale(u[i], r, a[i], omega);
        u[i] = w;
        for (c, &kij) in col.iter_mut().zip(row) {
            *c += w * kij;
        }
        i += 1;
    }
    err
}

#[inline(always)]
fn gibbs_serial(cost: &[f64], f: &[f64], g: &[f64], inv_eps: f64, out: &mut [f64]) {
    let n1 = g.len();
    for ((c, o), &fi) in cost.chunks_exact(n1).zip(out.chunks_exact_mut(n1)).zip(f) {
        for ((o, &cij), &gj) in o.iter_mut().zip(c).zip(g) {
            *o = exp((fi + gj - cij) * inv_eps);
        }
    }
}

/// The plan of a row block in place, K̃ → diag(u) K̃ diag(v), with its row sums, its column sums
/// added into `cols`, and Σ_ij P_ij C_ij returned.
#[inline(always)]
fn finish_serial(
    k: &mut [f64],
    cost: &[f64],
    u: &[f64],
    v: &[f64],
    rows: &mut [f64],
    cols: &mut [f64],
) -> f64 {
    let n1 = v.len();
    let mut total = 0.0;
    for (((row, c), &ui), r) in k
        .chunks_exact_mut(n1)
        .zip(cost.chunks_exact(n1))
        .zip(u)
        .zip(rows)
    {
        let (mut sum, mut dot) = ([0.0f64; 8], [0.0f64; 8]);
        let (pc, pt) = row.as_chunks_mut::<8>();
        let (cc, ct) = c.as_chunks::<8>();
        let (vc, vt) = v.as_chunks::<8>();
        let (oc, ot) = cols.as_chunks_mut::<8>();
        for (((p, c), v), o) in pc.iter_mut().zip(cc).zip(vc).zip(oc.iter_mut()) {
            for l in 0..8 {
                p[l] *= ui * v[l];
                sum[l] += p[l];
                dot[l] += p[l] * c[l];
                o[l] += p[l];
            }
        }
        let (mut s, mut t) = (sum.iter().sum::<f64>(), dot.iter().sum::<f64>());
        for (((p, c), v), o) in pt.iter_mut().zip(ct).zip(vt).zip(ot.iter_mut()) {
            *p *= ui * v;
            s += *p;
            t += *p * c;
            *o += *p;
        }
        *r = s;
        total += t;
    }
    total
}

/// Row minima f_i = min_j C_ij of a row block, and the block's column minima of C_ij − f_i
/// folded into `g`.
#[inline(always)]
fn c_transform_serial(cost: &[f64], f: &mut [f64], g: &mut [f64]) {
    for (row, fi) in cost.chunks_exact(g.len()).zip(f) {
        let mut m = [f64::INFINITY; 8];
        let (rc, rt) = row.as_chunks::<8>();
        for r in rc {
            for l in 0..8 {
                m[l] = if r[l] < m[l] { r[l] } else { m[l] };
            }
        }
        *fi = rt.iter().chain(&m).copied().fold(f64::INFINITY, f64::min);
        for (gj, &cij) in g.iter_mut().zip(row) {
            let h = cij - *fi;
            *gj = if h < *gj { h } else { *gj };
        }
    }
}

/// The largest entry of a slice of finite values, eight lanes at a time.
#[inline(always)]
fn max_serial(c: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; 8];
    let (cc, ct) = c.as_chunks::<8>();
    for x in cc {
        for l in 0..8 {
            m[l] = if x[l] > m[l] { x[l] } else { m[l] };
        }
    }
    m.iter()
        .chain(ct)
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
}

multiversion!(fn max_entry_chunk(c: &[f64]) -> f64 => max_serial);
multiversion!(fn finish_chunk(k: &mut [f64], cost: &[f64], u: &[f64], v: &[f64], rows: &mut [f64], cols: &mut [f64]) -> f64 => finish_serial);
multiversion!(fn sweep_chunk(k: &[f64], v: &[f64], a: &[f64], u: &mut [f64], col: &mut [f64], omega: f64) -> f64 => sweep_serial);
multiversion!(fn gibbs_chunk(cost: &[f64], f: &[f64], g: &[f64], inv_eps: f64, out: &mut [f64]) => gibbs_serial);
multiversion!(fn c_transform_chunk(cost: &[f64], f: &mut [f64], g: &mut [f64]) => c_transform_serial);

/// Rows per rayon task for an n₀ × n₁ matrix, or `None` for one thread.
fn rows_per_task(n0: usize, n1: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if threads == 1 || n0 < 2 || n0 * n1 < PARALLEL_MIN {
        return None;
    }
    Some(n0.div_ceil(threads))
}

/// The fused Sinkhorn half-steps over K̃ (`u.len()` × `v.len()`, row-major): u ← u^{1−ω}
/// (a ⊘ K̃v)^ω and `col` = K̃ᵀu with the new u, reading K̃ from memory once (each row block is
/// reused from cache for the column products). Returns ‖u ⊙ K̃v − a‖₁ for the u before the
/// update, or NaN if some row sum of K̃v is zero or not finite (u is then partly updated).
pub(crate) fn sweep(
    k: &[f64],
    v: &[f64],
    a: &[f64],
    u: &mut [f64],
    col: &mut [f64],
    omega: f64,
) -> f64 {
    let n1 = v.len();
    match rows_per_task(u.len(), n1) {
        None => sweep_chunk(k, v, a, u, col, omega),
        Some(rows) => {
            let (err, partial) = k
                .par_chunks(rows * n1)
                .zip(u.par_chunks_mut(rows))
                .zip(a.par_chunks(rows))
                .map(|((k, u), a)| {
                    let mut p = vec![0.0; n1];
                    let e = sweep_chunk(k, v, a, u, &mut p, omega);
                    (e, p)
                })
                .reduce_with(|(ea, mut pa), (eb, pb)| {
                    pa.iter_mut().zip(&pb).for_each(|(x, y)| *x += y);
                    (ea + eb, pa)
                })
                .expect("at least one row");
            col.copy_from_slice(&partial);
            err
        }
    }
}

/// `out_ij = exp((f_i + g_j − C_ij)/ε)` for row-major C (`f.len()` × `g.len()`).
pub(crate) fn gibbs(cost: &[f64], f: &[f64], g: &[f64], eps: f64, out: &mut [f64]) {
    let n1 = g.len();
    let inv_eps = 1.0 / eps;
    match rows_per_task(f.len(), n1) {
        None => gibbs_chunk(cost, f, g, inv_eps, out),
        Some(rows) => out
            .par_chunks_mut(rows * n1)
            .zip(cost.par_chunks(rows * n1))
            .zip(f.par_chunks(rows))
            .for_each(|((o, c), f)| gibbs_chunk(c, f, g, inv_eps, o)),
    }
}

/// The plan P = diag(u) K̃ diag(v) in place of K̃ (`u.len()` × `v.len()`), with its row sums in
/// `rows`, its column sums in `cols`, and ⟨P, C⟩ returned: one pass.
pub(crate) fn finish(
    k: &mut [f64],
    cost: &[f64],
    u: &[f64],
    v: &[f64],
    rows: &mut [f64],
    cols: &mut [f64],
) -> f64 {
    let n1 = v.len();
    cols.fill(0.0);
    match rows_per_task(u.len(), n1) {
        None => finish_chunk(k, cost, u, v, rows, cols),
        Some(block) => {
            let (total, partial) = k
                .par_chunks_mut(block * n1)
                .zip(cost.par_chunks(block * n1))
                .zip(u.par_chunks(block))
                .zip(rows.par_chunks_mut(block))
                .map(|(((k, c), u), r)| {
                    let mut p = vec![0.0; n1];
                    let t = finish_chunk(k, c, u, v, r, &mut p);
                    (t, p)
                })
                .reduce_with(|(ta, mut pa), (tb, pb)| {
                    pa.iter_mut().zip(&pb).for_each(|(x, y)| *x += y);
                    (ta + tb, pa)
                })
                .expect("at least one row");
            cols.copy_from_slice(&partial);
            total
        }
    }
}

/// The largest entry of `c` (finite values).
pub(crate) fn max_entry(c: &[f64]) -> f64 {
    max_entry_chunk(c)
}

/// The c-transforms of 0 on C (`f.len()` × `g.len()`): f_i = min_j C_ij, g_j = min_i (C_ij − f_i).
pub(crate) fn c_transforms(cost: &[f64], f: &mut [f64], g: &mut [f64]) {
    let n1 = g.len();
    g.fill(f64::INFINITY);
    match rows_per_task(f.len(), n1) {
        None => c_transform_chunk(cost, f, g),
        Some(block) => {
            let partial = cost
                .par_chunks(block * n1)
                .zip(f.par_chunks_mut(block))
                .map(|(c, f)| {
                    let mut p = vec![f64::INFINITY; n1];
                    c_transform_chunk(c, f, &mut p);
                    p
                })
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x = x.min(*y));
                    a
                })
                .expect("at least one row");
            g.copy_from_slice(&partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused passes against plain loops, on one thread and on row blocks (the larger size).
    #[test]
    fn passes_match_naive_loops() {
        for &(n0, n1) in &[(3, 5), (17, 33), (600, 300)] {
            let k: Vec<f64> = (0..n0 * n1)
                .map(|i| 0.1 + ((i * 7919) % 101) as f64 / 101.0)
                .collect();
            let c: Vec<f64> = (0..n0 * n1).map(|i| ((i * 31) % 17) as f64).collect();
            let a: Vec<f64> = (0..n0).map(|i| 1.0 + (i % 3) as f64).collect();
            let v: Vec<f64> = (0..n1).map(|j| 2.0 - j as f64 * 0.001).collect();
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1.0);
            for omega in [1.0, 1.5] {
                let u0: Vec<f64> = (0..n0).map(|i| 0.5 + i as f64 * 0.01).collect();
                let mut u = u0.clone();
                let mut col = vec![0.0; n1];
                let err = sweep(&k, &v, &a, &mut u, &mut col, omega);
                let mut want_err = 0.0;
                for i in 0..n0 {
                    let r: f64 = (0..n1).map(|j| k[i * n1 + j] * v[j]).sum();
                    want_err += (u0[i] * r - a[i]).abs();
                    assert!(close(u[i], u0[i] * (a[i] / (u0[i] * r)).powf(omega)));
                }
                assert!(close(err, want_err));
                for j in 0..n1 {
                    assert!(close(col[j], (0..n0).map(|i| u[i] * k[i * n1 + j]).sum()));
                }
            }
            let u: Vec<f64> = (0..n0).map(|i| 0.5 + i as f64 * 0.01).collect();
            let mut p = k.clone();
            let (mut rows, mut cols) = (vec![0.0; n0], vec![0.0; n1]);
            let total = finish(&mut p, &c, &u, &v, &mut rows, &mut cols);
            let mut want_total = 0.0;
            for i in 0..n0 {
                for j in 0..n1 {
                    assert!(close(p[i * n1 + j], u[i] * k[i * n1 + j] * v[j]));
                    want_total += p[i * n1 + j] * c[i * n1 + j];
                }
                assert!(close(rows[i], (0..n1).map(|j| p[i * n1 + j]).sum()));
            }
            for j in 0..n1 {
                assert!(close(cols[j], (0..n0).map(|i| p[i * n1 + j]).sum()));
            }
            assert!(close(total, want_total));
            let (mut f, mut g) = (vec![0.0; n0], vec![0.0; n1]);
            c_transforms(&c, &mut f, &mut g);
            for i in 0..n0 {
                assert_eq!(
                    f[i],
                    (0..n1).map(|j| c[i * n1 + j]).fold(f64::INFINITY, f64::min)
                );
            }
            for j in 0..n1 {
                assert_eq!(
                    g[j],
                    (0..n0)
                        .map(|i| c[i * n1 + j] - f[i])
                        .fold(f64::INFINITY, f64::min)
                );
            }
        }
    }
}
