//! Guidance as denoiser wrappers: every sampler of `scoreflow-ode-sde-solvers` runs a guided
//! model like any other [`Denoiser`](scoreflow_ode_sde_solvers::Denoiser).
//!
//! | wrapper | D̃(x; σ) | source |
//! |---|---|---|
//! | [`ClassifierFree`] | D∅ + w(D_c − D∅) | Ho & Salimans 2022 |
//! | … with `rescale: Some(φ)` | ε̃ = φ·ε_cfg·std(ε_c)/std(ε_cfg) + (1 − φ)·ε_cfg, in ε = (x − D)/σ | Lin et al. 2024, eqs. (15)–(16) |
//! | … with `interval: Some((σ_lo, σ_hi))` | guided for σ_lo < σ ≤ σ_hi, D_c elsewhere | Kynkäänniemi et al. 2024 |
//! | [`ClassifierGuidance`] | D + s·σ²∇ₓ ln p(y \| x; σ) | Song et al. 2021 (§5, controllable generation); Dhariwal & Nichol 2021 |
//!
//! **Scale convention.** w = 1 is the conditional model, w = 0 the unconditional one, w > 1
//! extrapolates away from the unconditional prediction. diffusers' `guidance_scale` is this w
//! (its `noise_pred_uncond + guidance_scale·(noise_pred_text − noise_pred_uncond)`); the original
//! paper's w is ours minus one (Ho & Salimans 2022, eq. (6): (1 + w)ε_c − wε∅). The combination
//! is the same in ε, x₀ or score space, since each is affine in D with coefficients that depend
//! on σ only.

mod cfg;
mod classifier;
mod paired;

pub use cfg::ClassifierFree;
pub use classifier::{ClassifierGradient, ClassifierGuidance};
pub use paired::{PairedDenoiser, SeparatePair};
