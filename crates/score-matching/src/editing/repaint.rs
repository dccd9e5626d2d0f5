//! RePaint: replacement with resampling.

use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::NoiseSampler;
use scoreflow_ode_sde_solvers::{SolveError, State};

use super::{EditError, Inpaint};

/// RePaint (Lugmayr et al. 2022, "RePaint: Inpainting using Denoising Diffusion Probabilistic
/// Models", Algorithm 1 with the jumps of §4.2) on a σ grid, with the known values y and mask m
/// of `inpaint` and its model D. A step σᵢ → σᵢ₊₁ is
///
/// 1. replacement: x ← m ⊙ (y + σᵢξ) + (1 − m) ⊙ x, the known part freshly noised to σᵢ
///    (a sample of q(x_σ | y));
/// 2. an ancestral step with DDPM's larger reverse variance (σ_t² = β_t, Ho et al. 2020, §3.2),
///    x ← D + (σᵢ₊₁²/σᵢ²)(x − D) + √(σᵢ² − σᵢ₊₁²)·ξ: the mean of the exact reverse step, with
///    the variance of the forward one. The posterior variance σᵢ₊₁²(1 − σᵢ₊₁²/σᵢ²) (DDPM's β̃)
///    leaves out the uncertainty of x₀ itself, (1 − σᵢ₊₁²/σᵢ²)²·Var(x₀ | x); negligible once per
///    step, it shrinks the imputed spread when each step is redone many times (measured in
///    docs/guidance.md), while the forward variance keeps it.
///
/// The positive part of the grid is walked in segments of `jump` steps σₐ → σ_b; each segment is
/// run `resamples` times, and between runs undone by one forward diffusion jump,
/// x ← x + √(σₐ² − σ_b²)·ξ — so the generated part mixes with the known part's information at
/// every noise level. `jump = 1` redoes every step (the paper's j = 1); `resamples = 1` is plain
/// replacement sampling (Song et al. 2021, App. I.2). The last step, to σ = 0 when the grid ends
/// there, is taken once and returns m ⊙ y + (1 − m) ⊙ D: the known values pasted exactly.
///
/// Noise ξ comes from `noise` (per-sample seeded).
///
/// # Errors
/// [`EditError::Parameter`] for `resamples` = 0 or `jump` = 0; the noise source's or the
/// model's errors.
pub fn repaint<S: State>(
    inpaint: &Inpaint<'_, S>,
    x: S,
    sigmas: &SigmaGrid,
    resamples: usize,
    jump: usize,
    noise: &mut dyn NoiseSampler<S>,
) -> Result<S, EditError> {
    for (name, value) in [("resamples", resamples), ("jump", jump)] {
        if value == 0 {
            return Err(EditError::Parameter {
                name,
                value: 0.0,
                reason: "must be at least 1".into(),
            });
        }
    }
    let s = sigmas.as_slice();
    let known = inpaint.known();
    let step = |x: S, hi: f64, lo: f64, noise: &mut dyn NoiseSampler<S>| -> Result<S, EditError> {
        let xi = noise.sample(hi, lo)?;
        let x = inpaint.blend(&known.clone().add_scaled(hi, &xi), x);
        let d = inpaint.model().denoise(&x, hi).map_err(SolveError::from)?;
        if lo == 0.0 {
            return Ok(inpaint.blend(known, d));
        }
        let ratio = (lo * lo) / (hi * hi);
        let xi = noise.sample(hi, lo)?;
        Ok(d.lincomb(
            1.0 - ratio,
            &[(ratio, &x), ((hi * hi - lo * lo).sqrt(), &xi)],
        ))
    };
    // Steps between positive levels are resampled; a final step to 0 is taken once.
    let positive_steps = s.windows(2).take_while(|w| w[1] > 0.0).count();
    let mut x = x;
    let mut a = 0;
    while a < positive_steps {
        let b = (a + jump).min(positive_steps);
        for r in 0..resamples {
            for i in a..b {
                x = step(x, s[i], s[i + 1], noise)?;
            }
            if r + 1 < resamples {
                let xi = noise.sample(s[b], s[a])?;
                x = x.add_scaled((s[a] * s[a] - s[b] * s[b]).sqrt(), &xi);
            }
        }
        a = b;
    }
    if positive_steps + 1 < s.len() {
        x = step(x, s[positive_steps], s[positive_steps + 1], noise)?;
    }
    Ok(x)
}
