//! The per-call constants of one Gaussian family on every component's eigenvalues.

/// One family N(aμₖ, Qₖ diag(αλₖ + β) Qₖᵀ) evaluated on every eigenvalue: 1/cₖⱼ, the
/// log normalisers ln wₖ − ½(d ln 2π + Σⱼ ln cₖⱼ), and the projected means aQₖᵀμₖ.
#[derive(Debug, Clone)]
pub(crate) struct Spectrum {
    pub(crate) inv_c: Vec<f64>,
    pub(crate) log_norm: Vec<f64>,
    pub(crate) shift: Vec<f64>,
}
