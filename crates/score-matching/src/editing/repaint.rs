//! RePaint: replacement with resampling.

use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::NoiseSampler;
use scoreflow_ode_sde_solvers::{SolveError, State};

use super::{EditError, Inpaint};

/// RePaint (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion Probabilistic
/// Models", Algorithm 1, jump length 1) on a σ grid, with the known values y and mask m of
/// `inpaint` and its model D. Each step σᵢ → σᵢ₊₁:
///
/// 1. replacement: x ← m ⊙ (y + σᵢξ) + (1 − m) ⊙ x, the known part freshly noised to σᵢ
///    (a sample of q(x_σ | y));
/// 2. an ancestral step with DDPM's larger reverse variance (σ_t² = β_t, Ho et al. 2020, §3.2),
///    x ← D + (σᵢ₊₁²/σᵢ²)(x − D) + √(σᵢ² − σᵢ₊₁²)·ξ: the mean of the exact reverse step, with
///    the variance of the forward one. The posterior variance σᵢ₊₁²(1 − σᵢ₊₁²/σᵢ²) (DDPM's β̃)
///    leaves out the uncertainty of x₀ itself, (1 − σᵢ₊₁²/σᵢ²)²·Var(x₀ | x); negligible once per
///    step, it shrinks the imputed spread when each step is redone many times (measured in
///    docs/guidance.md), while the forward variance keeps it;
/// 3. `resamples − 1` times: undo the step by forward diffusion, x ← x + √(σᵢ² − σᵢ₊₁²)·ξ, and
///    redo 1–2 — so the generated part mixes with the known part's information at every noise
///    level. `resamples = 1` is plain replacement sampling (Song et al. 2021, App. I.2).
///
/// Noise ξ comes from `noise` (per-sample seeded). A grid ending in 0 ends with
/// m ⊙ y + (1 − m) ⊙ D: the known values pasted exactly.
///
/// # Errors
/// [`EditError::Parameter`] for `resamples` = 0; the noise source's or the model's errors.
pub fn repaint<S: State>(
    inpaint: &Inpaint<'_, S>,
    x: S,
    sigmas: &SigmaGrid,
    resamples: usize,
    noise: &mut dyn NoiseSampler<S>,
) -> Result<S, EditError> {
    if resamples == 0 {
        return Err(EditError::Parameter {
            name: "resamples",
            value: 0.0,
            reason: "at least one pass per step".into(),
        });
    }
    let s = sigmas.as_slice();
    let known = inpaint.known();
    let mut x = x;
    for i in 0..s.len() - 1 {
        let (hi, lo) = (s[i], s[i + 1]);
        for r in 0..resamples {
            let xi = noise.sample(hi, lo)?;
            x = inpaint.blend(&known.clone().add_scaled(hi, &xi), x);
            let d = inpaint.model().denoise(&x, hi).map_err(SolveError::from)?;
            x = if lo == 0.0 {
                inpaint.blend(known, d)
            } else {
                let ratio = (lo * lo) / (hi * hi);
                let xi = noise.sample(hi, lo)?;
                d.lincomb(
                    1.0 - ratio,
                    &[(ratio, &x), ((hi * hi - lo * lo).sqrt(), &xi)],
                )
            };
            if r + 1 < resamples && lo > 0.0 {
                let xi = noise.sample(lo, hi)?;
                x = x.add_scaled((hi * hi - lo * lo).sqrt(), &xi);
            }
        }
    }
    Ok(x)
}
