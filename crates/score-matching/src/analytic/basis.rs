//! Every component's eigenbasis stacked into two matrices, so that a batch is projected onto
//! all K eigenbases with one matrix product and brought back with another.

use ndarray::{Array2, s};

use super::component::{Component, Family, LN_2PI};
use super::spectrum::Spectrum;

/// Working-set target of one row block, in f64 entries per buffer: 32 Ki entries (256 KiB)
/// keeps a block's projections and weights in a typical per-core L2 cache between the two
/// matrix products, which is where the batched path gains over unfused tensor code. Measured
/// on the denoiser (CPU time per call, 2026-12-03): 4× and 16× this were no faster at d = 64
/// and up to 1.8× slower at d = 2 and 16.
const BLOCK_ENTRIES: usize = 1 << 15;

/// Fewest rows per block. Each product packs the whole stacked basis (Kd × d) again for every
/// block, so blocks of few rows (Kd large) spend their time packing: at d = 64, K = 8
/// (56 rows by [`BLOCK_ENTRIES`]) packing took 14 % of a denoiser call, and 128 rows made the
/// call about 5 % faster (2026-12-03), the working set (about 1 MiB) still within L2.
const MIN_BLOCK_ROWS: usize = 128;

/// The stacked eigenbases of Σₖ = QₖΛₖQₖᵀ, built once per mixture.
///
/// With X the n × d batch, Z = X·[Q₁ | … | Q_K] − 1·[a Q₁ᵀμ₁ | … | a Q_Kᵀμ_K] holds every
/// zₖ = Qₖᵀ(x − aμₖ), and any Σₖ rₖ (b μₖ + Qₖ diag(fₖ) zₖ) is [r ⊙ f ⊙ Z | b r]·[Q₁ᵀ; …;
/// Q_Kᵀ; μ₁ᵀ; …; μ_Kᵀ]: two (n × d)·(d × Kd)-sized products per call, the rest O(nKd).
#[derive(Debug, Clone)]
pub(crate) struct Basis {
    pub(crate) dim: usize,
    pub(crate) n_comp: usize,
    /// d × Kd: column block k is Qₖ (column j the eigenvector for λₖⱼ).
    pub(crate) forward: Array2<f64>,
    /// (Kd + K) × d: row block k is Qₖᵀ, then row Kd + k is μₖᵀ.
    pub(crate) back: Array2<f64>,
    /// K matrices (d + 1) × d, [Qₖᵀ; μₖᵀ]: component k's rows of `back`, contiguous, for the
    /// back-projection of only the points where component k matters (`Block::product`).
    pub(crate) back_per: Vec<Array2<f64>>,
    /// |μₖ|, which bounds the mean term of a back-projected weight.
    pub(crate) mean_norm: Vec<f64>,
    /// λₖⱼ at index kd + j.
    pub(crate) eigvals: Vec<f64>,
    /// Qₖᵀμₖ at indices kd..(k + 1)d.
    pub(crate) mean_eig: Vec<f64>,
    /// ln wₖ.
    pub(crate) log_weights: Vec<f64>,
    /// Rows per block, chosen from (K, d) alone so that results never depend on threading.
    pub(crate) block_rows: usize,
}

impl Basis {
    pub(crate) fn new(components: &[Component]) -> Self {
        let n_comp = components.len();
        let dim = components[0].mean.len();
        let kd = n_comp * dim;
        let mut forward = Array2::zeros((dim, kd));
        let mut back = Array2::zeros((kd + n_comp, dim));
        let mut eigvals = Vec::with_capacity(kd);
        let mut mean_eig = Vec::with_capacity(kd);
        for (k, comp) in components.iter().enumerate() {
            for j in 0..dim {
                for i in 0..dim {
                    // eigvecs_t is Qᵀ row-major: entry (j, i) is Q[i, j].
                    let q = comp.eigvecs_t[j * dim + i];
                    forward[(i, k * dim + j)] = q;
                    back[(k * dim + j, i)] = q;
                }
            }
            for i in 0..dim {
                back[(kd + k, i)] = comp.mean[i];
            }
            eigvals.extend_from_slice(&comp.eigvals);
            mean_eig.extend_from_slice(&comp.mean_eig);
        }
        let back_per = (0..n_comp)
            .map(|k| {
                let mut m = Array2::zeros((dim + 1, dim));
                m.slice_mut(s![..dim, ..])
                    .assign(&back.slice(s![k * dim..(k + 1) * dim, ..]));
                m.row_mut(dim).assign(&back.row(kd + k));
                m
            })
            .collect();
        let mean_norm = components
            .iter()
            .map(|c| c.mean.iter().map(|m| m * m).sum::<f64>().sqrt())
            .collect();
        let block_rows = (BLOCK_ENTRIES / (kd + n_comp)).clamp(MIN_BLOCK_ROWS, 512) / 8 * 8;
        Self {
            dim,
            n_comp,
            forward,
            back,
            back_per,
            mean_norm,
            eigvals,
            mean_eig,
            log_weights: components.iter().map(|c| c.log_weight).collect(),
            block_rows,
        }
    }

    /// The family's per-call constants: what [`super::component::Component::log_density`]
    /// recomputes per point, computed here once per σ or t.
    pub(crate) fn spectrum(&self, fam: Family) -> Spectrum {
        let d = self.dim;
        let mut inv_c = Vec::with_capacity(self.eigvals.len());
        let mut log_norm = Vec::with_capacity(self.n_comp);
        for (k, lams) in self.eigvals.chunks_exact(d).enumerate() {
            let mut log_det = 0.0;
            for &lam in lams {
                let c = fam.eig(lam);
                log_det += c.ln();
                inv_c.push(1.0 / c);
            }
            log_norm.push(self.log_weights[k] - 0.5 * (d as f64 * LN_2PI + log_det));
        }
        let shift = self.mean_eig.iter().map(|m| fam.mean_scale * m).collect();
        Spectrum {
            inv_c,
            log_norm,
            shift,
        }
    }
}
