//! Sequential Monte Carlo on σ grids: Feynman–Kac correctors (Skreta et al. 2025) and the
//! resampling machinery they use.
//!
//! - [`resampling`]: stable log-sum-exp, the effective sample size, systematic resampling and
//!   per-group seeded uniforms.
//! - [`fkc_sample`]: weighted reverse-SDE simulation of ρ_σ ∝ Πᵢ qᵢ,σ^βᵢ from any denoisers,
//!   with ESS-triggered resampling inside groups of K particles.
//!
//! **The population.** Resampling mixes particles, so batch-size invariance holds per group:
//! rows gK..(g+1)K of the batch are one group, weighted, resampled and normalised among
//! themselves with uniforms from (seed, g); a particle slot draws its SDE noise from its own
//! per-sample seed. A group therefore gives the same particles whatever batch it runs in.

mod fkc;
pub mod resampling;

pub use fkc::{
    Expert, FkcNoise, FkcOptions, FkcOutput, annealed, fkc_sample, guided, product, start_scale,
    total_beta,
};
pub use resampling::{GroupUniforms, effective_sample_size, log_sum_exp, systematic_resample};
