//! The route from a Brownian tree's root to one query time, shared by every sample.

use super::rng::mix;

/// Streams ≥ 2⁶³ are leaf splits; below are tree nodes (root values on stream 0).
const LEAF_STREAMS: u64 = 1 << 63;

/// One level of the descent towards a query time t. The route depends on t and the tree's
/// geometry only, never on a sample's randomness, so it is computed once per query for the
/// whole batch, with every split's coefficients.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Step {
    /// t is the node's left end: W(t) and K(t) are what has been accumulated.
    AtLeft,
    /// t is the node's right end: the whole node is added, K += len·(W(a) + ΔW/2 + H).
    AtRight {
        /// The node's length.
        len: f64,
    },
    /// The node splits at `cut` (its midpoint, or t itself at a leaf) with the normals of
    /// stream `id`, and the descent continues in the piece that holds t.
    Split(Split),
}

/// A Brownian-bridge split of a node of length h = la + lb into [a, a + la] and [a + la, b],
/// with the coefficients of the left piece's (W₁, H₁) as functions of the node's (W, H) and
/// standard normals X₁ (and X₂ for H). The right piece follows from W₂ = W − W₁ and the
/// aggregation rule of the space-time Lévy area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Split {
    /// Stream of the split's normals.
    pub(crate) id: u64,
    /// Length of the left piece.
    pub(crate) la: f64,
    /// Whether t lies in the right piece (never at a leaf, where t is the cut).
    pub(crate) right: bool,
    /// Whether this split is at t itself, ending the descent.
    pub(crate) leaf: bool,
    /// W₁ = w_w·W + w_h·H + w_x·X₁ (w_h = 0 without H, w_x then √(la·lb/h): Lévy's bridge).
    pub(crate) w_w: f64,
    pub(crate) w_h: f64,
    pub(crate) w_x: f64,
    /// H₁ = h_h·H + h_x1·X₁ + h_x2·X₂.
    pub(crate) h_h: f64,
    pub(crate) h_x1: f64,
    pub(crate) h_x2: f64,
    /// H₂ = g_h·H + g_x1·X₁ + g_x2·X₂.
    pub(crate) g_h: f64,
    pub(crate) g_x1: f64,
    pub(crate) g_x2: f64,
}

impl Split {
    /// The split of a node of length la + lb. With `levy`, (W₁, H₁, H₂) are drawn from their
    /// exact conditional law given (W, H) with two normals per element (Foster 2020, PhD
    /// thesis, Thm. 6.1.6; the Brownian interval of Kidger et al. 2021, "Efficient and
    /// accurate gradients for neural SDEs", §4): with p = la/h, q = lb/h,
    /// v = ½√(la·lb/(la³ + lb³)), α = v·la²/h, β = v·lb²/h, γ = v/√3,
    ///
    /// W₁ = pW + 6pqH + 2(α·la + β·lb)/h·X₁, H₁ = p²H − αX₁ + γ·lb·X₂,
    /// H₂ = q²H − βX₁ − γ·la·X₂,
    ///
    /// which keep W₁ + W₂ = W and H = (lb·W₁ − la·W₂)/(2h) + (la·H₁ + lb·H₂)/h exactly.
    /// Without it, W₁ = pW + √(la·lb/h)·X₁ (Lévy's construction) and one normal suffices.
    fn new(id: u64, la: f64, lb: f64, right: bool, leaf: bool, levy: bool) -> Self {
        let h = la + lb;
        let (p, q) = (la / h, lb / h);
        if !levy {
            return Self {
                id,
                la,
                right,
                leaf,
                w_w: p,
                w_h: 0.0,
                w_x: (la * lb / h).sqrt(),
                h_h: 0.0,
                h_x1: 0.0,
                h_x2: 0.0,
                g_h: 0.0,
                g_x1: 0.0,
                g_x2: 0.0,
            };
        }
        let v = 0.5 * (la * lb / (la.powi(3) + lb.powi(3))).sqrt();
        let (alpha, beta, gamma) = (v * la * la / h, v * lb * lb / h, v / 3f64.sqrt());
        Self {
            id,
            la,
            right,
            leaf,
            w_w: p,
            w_h: 6.0 * p * q,
            w_x: 2.0 * (alpha * la + beta * lb) / h,
            h_h: p * p,
            h_x1: -alpha,
            h_x2: gamma * lb,
            g_h: q * q,
            g_x1: -beta,
            g_x2: -gamma * la,
        }
    }
}

/// The geometry of a tree on [t0, t1]: midpoint splits down to width `tol` or depth
/// `max_depth`, then one split exactly at the query time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) t0: f64,
    pub(crate) t1: f64,
    pub(crate) tol: f64,
    pub(crate) max_depth: u32,
    pub(crate) levy: bool,
}

impl Geometry {
    /// The steps from the root to t ∈ [t0, t1], into `out` (cleared first).
    pub(crate) fn route(&self, t: f64, out: &mut Vec<Step>) {
        out.clear();
        let (mut a, mut b) = (self.t0, self.t1);
        let (mut node, mut depth) = (1u64, 0u32);
        loop {
            if t == a {
                out.push(Step::AtLeft);
                return;
            }
            if t == b {
                out.push(Step::AtRight { len: b - a });
                return;
            }
            let leaf = b - a <= self.tol || depth >= self.max_depth;
            let (cut, id) = if leaf {
                (t, LEAF_STREAMS | mix(node ^ mix(t.to_bits())))
            } else {
                (0.5 * (a + b), node)
            };
            let right = !leaf && t >= cut;
            out.push(Step::Split(Split::new(
                id,
                cut - a,
                b - cut,
                right,
                leaf,
                self.levy,
            )));
            if leaf {
                return;
            }
            if right {
                a = cut;
                node = 2 * node + 1;
            } else {
                b = cut;
                node *= 2;
            }
            depth += 1;
        }
    }
}

/// How many leading steps two routes share as interior splits: the state at the start of
/// every depth up to that is the same for both.
pub(crate) fn shared_depth(a: &[Step], b: &[Step]) -> usize {
    a.iter()
        .zip(b)
        .take_while(|(x, y)| match (x, y) {
            (Step::Split(p), Step::Split(q)) => !p.leaf && p.id == q.id && p.right == q.right,
            _ => false,
        })
        .count()
}
