//! A virtual Brownian tree: any interval, queried in any order, from one path.

use super::descent::{Geometry, Step, shared_depth};
use super::rng::{SplitMix64, fill_normals};
use super::{BrownianIncrement, BrownianSource};
use crate::SolveError;
use crate::state::State;

/// A Brownian path on [t₀, t₁] that is never stored: W and its time integral at any t are
/// recomputed by descending a binary tree of Brownian-bridge splits whose randomness is a pure
/// function of (sample seed, node), in the manner of Li et al. 2020 ("Scalable gradients for
/// SDEs", the virtual Brownian tree) and Kidger et al. 2021 (diffrax; the Brownian interval of
/// "Efficient and accurate gradients for neural SDEs"), carrying the space-time Lévy area
/// through every split.
///
/// **Splitting.** A node of length h = la + lb with known (W, H) splits into pieces whose
/// (W₁, H₁, W₂, H₂) are drawn from their exact conditional law with two standard normals per
/// element (Foster 2020, Thm. 6.1.6; see `descent::Split`), so that W₁ + W₂ = W and
/// H = (lb·W₁ − la·W₂)/(2h) + (la·H₁ + lb·H₂)/h. A tree made [`Self::without_levy_area`]
/// carries W alone and splits by Lévy's bridge W₁ = (la/h)W + √(la·lb/h)·X, one normal per
/// element: half the draws, for samplers that only need increments.
///
/// **Queries.** The tree splits at midpoints down to width `tol`, then once more exactly at the
/// query time; dyadic times of [t₀, t₁] coarser than `tol` are exact nodes, so fixed steps of
/// (t₁ − t₀)/2ᵏ see one consistent path at every k. An increment over [s, u] comes from W and
/// K(t) = ∫_{t₀}^t (W(r) − W(t₀)) dr at both ends: ΔW = W(u) − W(s),
/// H = (K(u) − K(s) − (u − s)W(s))/(u − s) − ΔW/2.
///
/// **Cost.** A point costs one descent of depth L = ⌈log₂((t₁ − t₀)/tol)⌉ per sample, with d
/// normals (2d with H) per level from a SplitMix64 stream keyed by (seed, node). Successive
/// queries near each other share the top of their descents: the tree keeps the state of the
/// last descent every four levels (down to depth 28) and the values at the last two query
/// times, so a sampler stepping along a grid, whose query [σᵢ₊₁, σᵢ] shares σᵢ with the
/// previous one, pays only for the levels below the last shared checkpoint, about
/// log₂(|σᵢ₊₁ − σᵢ|/tol) (the caching of torchsde's `BrownianInterval`, here per sample).
/// These memos change no value: every W(t) is the same pure function of (seed, t) whatever
/// was queried before.
#[derive(Clone, Debug)]
pub struct VirtualBrownianTree<S> {
    template: S,
    seeds: Vec<u64>,
    per_sample: usize,
    geometry: Geometry,
    memo: Memo,
}

/// Levels between two saved states of the last descent.
const MARK_STRIDE: usize = 4;
/// Saved states per descent (depths 4, 8, …, 28).
const MAX_MARKS: usize = 7;

/// Speed-ups that change no value: the last descent's route and its saved states, and the
/// last query times' W and K.
#[derive(Clone, Debug, Default)]
struct Memo {
    route: Vec<Step>,
    /// marks[q]: every sample's state at the start of depth (q + 1)·MARK_STRIDE of `route`,
    /// sample-major, `lanes` blocks of d values per sample (w, W_node, then K, H_node).
    marks: Vec<Vec<f64>>,
    /// How many of `marks` belong to `route`.
    marked: usize,
    /// W(t) − W(t₀) and K(t) of all samples at the last two query times, newest last.
    recent: Vec<(f64, Vec<f64>, Vec<f64>)>,
}

impl<S: State> VirtualBrownianTree<S> {
    /// A tree on [t0, t1] shaped like `template`, one seed per sample, resolving times to `tol`,
    /// carrying the space-time Lévy area.
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
            geometry: Geometry {
                t0,
                t1,
                tol,
                max_depth,
                levy: true,
            },
            memo: Memo::default(),
        })
    }

    /// The same tree carrying W alone: one normal per element and level instead of two, and a
    /// different path (the splits draw differently). Queries asking for the Lévy area are then
    /// [`SolveError::BrownianQuery`].
    pub fn without_levy_area(mut self) -> Self {
        self.geometry.levy = false;
        self.memo = Memo::default();
        self
    }

    /// W(t) − W(t₀) and K(t) of every sample (K empty without Lévy area).
    fn point(&mut self, t: f64) -> (Vec<f64>, Vec<f64>) {
        if let Some((_, w, k)) = self.memo.recent.iter().find(|(s, _, _)| *s == t) {
            return (w.clone(), k.clone());
        }
        let mut route = Vec::new();
        self.geometry.route(t, &mut route);
        let levy = self.geometry.levy;
        let lanes = if levy { 4 } else { 2 };
        let m = self.per_sample;
        let n = self.seeds.len();
        // Resume from the deepest saved state the new route shares with the last one.
        let shared = shared_depth(&route, &self.memo.route);
        let resume = (shared / MARK_STRIDE).min(self.memo.marked);
        let interior = route
            .iter()
            .take_while(|s| matches!(s, Step::Split(p) if !p.leaf));
        let reach = (interior.count() / MARK_STRIDE).min(MAX_MARKS);
        while self.memo.marks.len() < reach {
            self.memo.marks.push(vec![0.0; n * m * lanes]);
        }
        let mut w = vec![0.0; n * m];
        let mut k = vec![0.0; if levy { n * m } else { 0 }];
        let mut scratch = Scratch::new(m, levy);
        let len = self.geometry.t1 - self.geometry.t0;
        for (i, &seed) in self.seeds.iter().enumerate() {
            let at = i * m * lanes..(i + 1) * m * lanes;
            if resume == 0 {
                scratch.root(seed, len);
            } else {
                scratch.load(&self.memo.marks[resume - 1][at.clone()]);
            }
            for (depth, step) in route.iter().enumerate().skip(resume * MARK_STRIDE) {
                scratch.step(seed, step);
                let next = depth + 1;
                if next % MARK_STRIDE == 0 && next / MARK_STRIDE <= reach {
                    scratch.save(&mut self.memo.marks[next / MARK_STRIDE - 1][at.clone()]);
                }
            }
            w[i * m..(i + 1) * m].copy_from_slice(&scratch.w);
            if levy {
                k[i * m..(i + 1) * m].copy_from_slice(&scratch.k);
            }
        }
        self.memo.route = route;
        self.memo.marked = reach;
        if self.memo.recent.len() == 2 {
            self.memo.recent.remove(0);
        }
        self.memo.recent.push((t, w.clone(), k.clone()));
        (w, k)
    }
}

/// One sample's state during a descent: W(a) − W(t₀) and K(a) at the current node's left end
/// a, the node's (W, H), and the normals of a split.
struct Scratch {
    w: Vec<f64>,
    w_node: Vec<f64>,
    k: Vec<f64>,
    h_node: Vec<f64>,
    z: Vec<f64>,
    levy: bool,
}

impl Scratch {
    fn new(m: usize, levy: bool) -> Self {
        let l = if levy { m } else { 0 };
        Self {
            w: vec![0.0; m],
            w_node: vec![0.0; m],
            k: vec![0.0; l],
            h_node: vec![0.0; l],
            z: vec![0.0; m + l],
            levy,
        }
    }

    /// The root [t₀, t₁]: W ~ N(0, len), H ~ N(0, len/12) from stream 0.
    fn root(&mut self, seed: u64, len: f64) {
        let m = self.w.len();
        fill_normals(&mut SplitMix64::keyed(seed, 0), &mut self.z);
        let (sw, sh) = (len.sqrt(), (len / 12.0).sqrt());
        for j in 0..m {
            self.w[j] = 0.0;
            self.w_node[j] = sw * self.z[j];
        }
        if self.levy {
            for j in 0..m {
                self.k[j] = 0.0;
                self.h_node[j] = sh * self.z[m + j];
            }
        }
    }

    fn load(&mut self, saved: &[f64]) {
        let m = self.w.len();
        self.w.copy_from_slice(&saved[..m]);
        self.w_node.copy_from_slice(&saved[m..2 * m]);
        if self.levy {
            self.k.copy_from_slice(&saved[2 * m..3 * m]);
            self.h_node.copy_from_slice(&saved[3 * m..]);
        }
    }

    fn save(&self, out: &mut [f64]) {
        let m = self.w.len();
        out[..m].copy_from_slice(&self.w);
        out[m..2 * m].copy_from_slice(&self.w_node);
        if self.levy {
            out[2 * m..3 * m].copy_from_slice(&self.k);
            out[3 * m..].copy_from_slice(&self.h_node);
        }
    }

    fn step(&mut self, seed: u64, step: &Step) {
        let m = self.w.len();
        match *step {
            Step::AtLeft => {}
            Step::AtRight { len } => self.add_node(len),
            Step::Split(s) => {
                fill_normals(&mut SplitMix64::keyed(seed, s.id), &mut self.z);
                let (x1, x2) = self.z.split_at(m);
                if self.levy {
                    for j in 0..m {
                        let (wn, hn) = (self.w_node[j], self.h_node[j]);
                        let w1 = s.w_w * wn + s.w_h * hn + s.w_x * x1[j];
                        let h1 = s.h_h * hn + s.h_x1 * x1[j] + s.h_x2 * x2[j];
                        if s.right {
                            self.k[j] += s.la * (self.w[j] + 0.5 * w1 + h1);
                            self.w[j] += w1;
                            self.w_node[j] = wn - w1;
                            self.h_node[j] = s.g_h * hn + s.g_x1 * x1[j] + s.g_x2 * x2[j];
                        } else {
                            self.w_node[j] = w1;
                            self.h_node[j] = h1;
                        }
                    }
                } else {
                    for ((w, wn), x) in self.w.iter_mut().zip(&mut self.w_node).zip(x1) {
                        let w1 = s.w_w * *wn + s.w_x * x;
                        if s.right {
                            *w += w1;
                            *wn -= w1;
                        } else {
                            *wn = w1;
                        }
                    }
                }
                if s.leaf {
                    // The left piece of the final split ends exactly at t.
                    self.add_node(s.la);
                }
            }
        }
    }

    /// Moves the left end past the current node of length `len`.
    fn add_node(&mut self, len: f64) {
        if self.levy {
            for j in 0..self.w.len() {
                self.k[j] += len * (self.w[j] + 0.5 * self.w_node[j] + self.h_node[j]);
            }
        }
        for (w, wn) in self.w.iter_mut().zip(&self.w_node) {
            *w += wn;
        }
    }
}

impl<S: State> BrownianSource<S> for VirtualBrownianTree<S> {
    fn increment(
        &mut self,
        s: f64,
        u: f64,
        levy_area: bool,
    ) -> Result<BrownianIncrement<S>, SolveError> {
        let inside = |t: f64| t >= self.geometry.t0 && t <= self.geometry.t1;
        if !(inside(s) && inside(u)) || s == u {
            return Err(SolveError::BrownianQuery {
                t0: s,
                t1: u,
                reason: "outside the tree's interval, or empty",
            });
        }
        if levy_area && !self.geometry.levy {
            return Err(SolveError::BrownianQuery {
                t0: s,
                t1: u,
                reason: "this tree was made without the Lévy area",
            });
        }
        let (ws, ks) = self.point(s);
        let (wu, ku) = self.point(u);
        let dw: Vec<f64> = wu.iter().zip(&ws).map(|(a, b)| a - b).collect();
        let levy_h = levy_area.then(|| {
            let lh: Vec<f64> = (0..dw.len())
                .map(|j| (ku[j] - ks[j] - (u - s) * ws[j]) / (u - s) - 0.5 * dw[j])
                .collect();
            self.template.with_host_data(&lh)
        });
        Ok(BrownianIncrement {
            dw: self.template.with_host_data(&dw),
            levy_h,
        })
    }
}
