//! A virtual Brownian tree: any interval, queried in any order, from one path.

use super::rng::{fill_normals, mix, stream};
use super::{BrownianIncrement, BrownianSource};
use crate::SolveError;
use crate::state::State;

/// A Brownian path on [t₀, t₁] that is never stored: W and its time integral at any t are
/// recomputed by descending a binary tree of Brownian-bridge splits whose randomness is a pure
/// function of (sample seed, node), in the manner of Li et al. 2020 ("Scalable gradients for
/// SDEs", the virtual Brownian tree) and Kidger et al. 2021 (diffrax), extended to carry the
/// space-time Lévy area through every split.
///
/// **Splitting.** An interval of length h = a + b split at a known (ΔW, H) into pieces of
/// lengths a and b has independent W₁ ~ N(0, a), W₂ ~ N(0, b), H₁ ~ N(0, a/12), H₂ ~ N(0, b/12)
/// constrained by ΔW = W₁ + W₂ and H = (b W₁ − a W₂)/(2h) + (a H₁ + b H₂)/h. The constraints are
/// uncorrelated with variances h and h/12, so the exact conditional draw is Matheron's rule:
/// draw the four freely, then correct by ΣMᵀ(MΣMᵀ)⁻¹(observed − drawn).
///
/// **Queries.** The tree splits at midpoints down to width `tol`, then once more exactly at the
/// query time; dyadic times of [t₀, t₁] coarser than `tol` are exact nodes, so fixed steps of
/// (t₁ − t₀)/2ᵏ see one consistent path at every k. An increment over [s, u] comes from W and
/// K(t) = ∫_{t₀}^t (W(r) − W(t₀)) dr at both ends: ΔW = W(u) − W(s),
/// H = (K(u) − K(s) − (u − s)W(s))/(u − s) − ΔW/2.
#[derive(Clone, Debug)]
pub struct VirtualBrownianTree<S> {
    template: S,
    seeds: Vec<u64>,
    per_sample: usize,
    t0: f64,
    t1: f64,
    tol: f64,
    max_depth: u32,
}

/// Streams ≥ 2⁶³ are leaf splits; below are tree nodes (root values on stream 0).
const LEAF_STREAMS: u64 = 1 << 63;

impl<S: State> VirtualBrownianTree<S> {
    /// A tree on [t0, t1] shaped like `template`, one seed per sample, resolving times to `tol`.
    pub fn new(
        template: &S,
        t0: f64,
        t1: f64,
        tol: f64,
        seeds: &[u64],
    ) -> Result<Self, SolveError> {
        if !(t0.is_finite() && t1.is_finite() && t0 < t1) {
            return Err(SolveError::InvalidInterval(format!(
                "Brownian tree needs t0 < t1, got [{t0}, {t1}]"
            )));
        }
        if !(tol.is_finite() && tol > 0.0) {
            return Err(SolveError::InvalidOption {
                name: "tol",
                value: tol,
                reason: "must be finite and > 0",
            });
        }
        let max_depth = ((t1 - t0) / tol).log2().ceil().max(0.0) as u32;
        if max_depth > 60 {
            return Err(SolveError::InvalidOption {
                name: "tol",
                value: tol,
                reason: "must be at least (t1 - t0)·2⁻⁶⁰",
            });
        }
        let (n, m) = template.batch_layout();
        if seeds.len() != n {
            return Err(SolveError::SeedCount {
                seeds: seeds.len(),
                samples: n,
            });
        }
        Ok(Self {
            template: template.clone(),
            seeds: seeds.to_vec(),
            per_sample: m,
            t0,
            t1,
            tol,
            max_depth,
        })
    }

    /// W(t) − W(t₀) and K(t) for one sample, written into `w` and `k` (length = elements per sample).
    fn point(&self, seed: u64, t: f64, w: &mut [f64], k: &mut [f64]) {
        let m = w.len();
        let mut z = vec![0.0; 4 * m];
        let (mut a, mut b) = (self.t0, self.t1);
        let len = b - a;
        fill_normals(&mut stream(seed, 0), &mut z[..2 * m]);
        let mut w_ab: Vec<f64> = z[..m].iter().map(|v| v * len.sqrt()).collect();
        let mut h_ab: Vec<f64> = z[m..2 * m]
            .iter()
            .map(|v| v * (len / 12.0).sqrt())
            .collect();
        w.fill(0.0);
        k.fill(0.0);
        let (mut node, mut depth) = (1u64, 0u32);
        loop {
            if t == a {
                return;
            }
            if t == b {
                for j in 0..m {
                    k[j] += (b - a) * (w[j] + 0.5 * w_ab[j] + h_ab[j]);
                    w[j] += w_ab[j];
                }
                return;
            }
            let leaf = b - a <= self.tol || depth >= self.max_depth;
            let (cut, id) = if leaf {
                (t, LEAF_STREAMS | mix(node ^ mix(t.to_bits())))
            } else {
                (0.5 * (a + b), node)
            };
            fill_normals(&mut stream(seed, id), &mut z);
            let (la, lb) = (cut - a, b - cut);
            let go_left = leaf || t < cut;
            for j in 0..m {
                let (w1, h1, w2, h2) = split(w_ab[j], h_ab[j], la, lb, &z[4 * j..4 * j + 4]);
                if go_left {
                    w_ab[j] = w1;
                    h_ab[j] = h1;
                } else {
                    k[j] += la * (w[j] + 0.5 * w1 + h1);
                    w[j] += w1;
                    w_ab[j] = w2;
                    h_ab[j] = h2;
                }
            }
            if leaf {
                // The left piece of the final split ends exactly at t.
                for j in 0..m {
                    k[j] += la * (w[j] + 0.5 * w_ab[j] + h_ab[j]);
                    w[j] += w_ab[j];
                }
                return;
            }
            if go_left {
                b = cut;
                node *= 2;
            } else {
                a = cut;
                node = 2 * node + 1;
            }
            depth += 1;
        }
    }
}

/// Draws (W₁, H₁, W₂, H₂) for pieces of lengths `la`, `lb` given the whole interval's (W, H).
fn split(w: f64, h: f64, la: f64, lb: f64, z: &[f64]) -> (f64, f64, f64, f64) {
    let len = la + lb;
    let w1 = la.sqrt() * z[0];
    let w2 = lb.sqrt() * z[1];
    let h1 = (la / 12.0).sqrt() * z[2];
    let h2 = (lb / 12.0).sqrt() * z[3];
    let r_w = (w - (w1 + w2)) / len;
    let r_h = 12.0 * (h - ((lb * w1 - la * w2) / (2.0 * len) + (la * h1 + lb * h2) / len)) / len;
    let cross = la * lb / (2.0 * len);
    (
        w1 + la * r_w + cross * r_h,
        h1 + la * la / (12.0 * len) * r_h,
        w2 + lb * r_w - cross * r_h,
        h2 + lb * lb / (12.0 * len) * r_h,
    )
}

impl<S: State> BrownianSource<S> for VirtualBrownianTree<S> {
    fn increment(
        &mut self,
        s: f64,
        u: f64,
        levy_area: bool,
    ) -> Result<BrownianIncrement<S>, SolveError> {
        let inside = |t: f64| t >= self.t0 && t <= self.t1;
        if !(inside(s) && inside(u)) || s == u {
            return Err(SolveError::BrownianQuery {
                t0: s,
                t1: u,
                reason: "outside the tree's interval, or empty",
            });
        }
        let m = self.per_sample;
        let n = self.seeds.len();
        let mut dw = vec![0.0; n * m];
        let mut lh = vec![0.0; if levy_area { n * m } else { 0 }];
        let (mut ws, mut ks, mut wu, mut ku) =
            (vec![0.0; m], vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        for (i, &seed) in self.seeds.iter().enumerate() {
            self.point(seed, s, &mut ws, &mut ks);
            self.point(seed, u, &mut wu, &mut ku);
            for j in 0..m {
                let d = wu[j] - ws[j];
                dw[i * m + j] = d;
                if levy_area {
                    lh[i * m + j] = (ku[j] - ks[j] - (u - s) * ws[j]) / (u - s) - 0.5 * d;
                }
            }
        }
        Ok(BrownianIncrement {
            dw: self.template.with_host_data(&dw),
            levy_h: levy_area.then(|| self.template.with_host_data(&lh)),
        })
    }
}
