//! Classifier-free guidance, with guidance rescale and a guidance interval.

use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, State};

use super::PairedDenoiser;

/// Classifier-free guidance (Ho & Salimans 2022): D̃ = D∅ + w(D_c − D∅), w = 1 the conditional
/// model (see the [module docs](super) for the scale convention).
///
/// - `rescale: Some(φ)` — guidance rescale (Lin et al. 2024, "Common Diffusion Noise Schedules
///   and Sample Steps are Flawed", eqs. (15)–(16)), applied as diffusers' `rescale_noise_cfg`
///   applies it, to the noise prediction ε = (x − D)/σ: ε_r = ε_cfg·std(ε_c)/std(ε_cfg),
///   ε̃ = φ·ε_r + (1 − φ)·ε_cfg, the standard deviations over each sample's elements; then
///   D̃ = x − σε̃. φ = 0 is plain CFG.
/// - `interval: Some((σ_lo, σ_hi))` — guidance only where σ_lo < σ ≤ σ_hi, the conditional
///   model elsewhere (Kynkäänniemi et al. 2024, "Applying Guidance in a Limited Interval
///   Improves Sample and Distribution Quality in Diffusion Models"); outside the interval the
///   unconditional half is still computed (one batched call) but unused.
pub struct ClassifierFree<'a, S> {
    /// The model.
    pub model: &'a dyn PairedDenoiser<S>,
    /// The guidance scale w.
    pub scale: f64,
    /// Guidance rescale φ ∈ [0, 1].
    pub rescale: Option<f64>,
    /// The σ interval (σ_lo, σ_hi] where guidance applies.
    pub interval: Option<(f64, f64)>,
}

impl<S> ClassifierFree<'_, S> {
    /// Whether guidance applies at σ.
    pub fn guides_at(&self, sigma: f64) -> bool {
        self.interval
            .is_none_or(|(lo, hi)| sigma > lo && sigma <= hi)
    }
}

/// Each sample's standard deviation over its elements, with the unbiased 1/(d − 1) of torch's
/// default `std`, which diffusers' `rescale_noise_cfg` uses. The rescale reads the two noise
/// predictions back to the host once per call.
fn sample_std(values: &[f64], n: usize) -> Vec<f64> {
    let d = values.len() / n.max(1);
    values
        .chunks(d.max(1))
        .map(|row| {
            let m = row.iter().sum::<f64>() / d as f64;
            let var =
                row.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (d as f64 - 1.0).max(1.0);
            var.sqrt()
        })
        .collect()
}

impl<S: State> Denoiser<S> for ClassifierFree<'_, S> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        let (conditional, unconditional) = self.model.denoise_pair(x, sigma)?;
        if !self.guides_at(sigma) {
            return Ok(conditional);
        }
        let w = self.scale;
        let guided = unconditional.lincomb(1.0 - w, &[(w, &conditional)]);
        let phi = match self.rescale {
            Some(phi) if phi != 0.0 && sigma > 0.0 => phi,
            _ => return Ok(guided),
        };
        // ε = (x − D)/σ: the rescale compares the spreads of the noise predictions.
        let eps = |d: &S| x.clone().lincomb(1.0 / sigma, &[(-1.0 / sigma, d)]);
        let (eps_c, eps_g) = (eps(&conditional), eps(&guided));
        let (n, _) = x.batch_layout();
        let (std_c, std_g) = (
            sample_std(&eps_c.to_f64_vec(), n),
            sample_std(&eps_g.to_f64_vec(), n),
        );
        // ε̃ = ε_g·(φ·std_c/std_g + 1 − φ), a per-sample factor.
        let factors: Vec<f64> = std_c
            .iter()
            .zip(&std_g)
            .map(|(c, g)| phi * c / g + 1.0 - phi)
            .collect();
        let d = eps_g.to_f64_vec().len() / n.max(1);
        let scaled: Vec<f64> = eps_g
            .to_f64_vec()
            .chunks(d.max(1))
            .zip(&factors)
            .flat_map(|(row, f)| row.iter().map(move |v| v * f))
            .collect();
        let eps_tilde = x.with_host_data(&scaled);
        Ok(x.clone().lincomb(1.0, &[(-sigma, &eps_tilde)]))
    }
}
