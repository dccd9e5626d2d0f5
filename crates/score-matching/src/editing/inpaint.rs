//! Inpainting and imputation by replacement, as a denoiser.

use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, State};

use super::EditError;

/// Inpainting by replacement (Song et al. 2021, "Score-Based Generative Modeling through SDEs",
/// App. I.2) written as a denoiser wrapper, so that every sampler inpaints: with known values
/// y, a mask m (1 = known, 0 = to generate) and a fixed standard-normal draw z,
///
/// x̃ = m ⊙ (y + σz) + (1 − m) ⊙ x,   D̃(x; σ) = m ⊙ y + (1 − m) ⊙ D(x̃; σ).
///
/// The model sees the known part noised to the current level (the replacement step), and the
/// known values are pasted into every denoised output — the last step to σ = 0 returns D̃, so
/// the sample holds y exactly where m = 1. Fixing z keeps D̃ a deterministic function of (x, σ)
/// for the ODE samplers. The conditional this samples is biased (the generated part does not
/// see the known part's influence on the noise; Lugmayr et al. 2022); [`super::repaint`]
/// reduces the bias by resampling.
pub struct Inpaint<'a, S> {
    model: &'a dyn Denoiser<S>,
    known: S,
    mask: S,
    noise: S,
}

impl<'a, S: State> Inpaint<'a, S> {
    /// Wraps `model` with known values, a 0/1 mask and a standard-normal draw, all shaped like
    /// the samples the sampler runs on.
    ///
    /// # Errors
    /// [`EditError::Shape`] for mismatched shapes, [`EditError::Mask`] for a mask entry other
    /// than 0 or 1.
    pub fn new(model: &'a dyn Denoiser<S>, known: S, mask: S, noise: S) -> Result<Self, EditError> {
        let expected = known.batch_layout();
        for (what, s) in [("mask", &mask), ("noise", &noise)] {
            let got = s.batch_layout();
            if got != expected {
                return Err(EditError::Shape {
                    what,
                    expected: expected.0 * expected.1,
                    got: got.0 * got.1,
                });
            }
        }
        if let Some((index, &value)) = mask
            .to_f64_vec()
            .iter()
            .enumerate()
            .find(|(_, v)| **v != 0.0 && **v != 1.0)
        {
            return Err(EditError::Mask { index, value });
        }
        Ok(Self {
            model,
            known,
            mask,
            noise,
        })
    }

    /// The wrapped model.
    pub fn model(&self) -> &'a dyn Denoiser<S> {
        self.model
    }

    /// The known values y.
    pub fn known(&self) -> &S {
        &self.known
    }

    /// m ⊙ a + (1 − m) ⊙ b.
    pub fn blend(&self, a: &S, b: S) -> S {
        let kept = a.clone().mul_elementwise(&self.mask);
        let masked = b.clone().mul_elementwise(&self.mask);
        b.lincomb(1.0, &[(-1.0, &masked), (1.0, &kept)])
    }
}

impl<S: State> Denoiser<S> for Inpaint<'_, S> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        if x.batch_layout() != self.known.batch_layout() {
            return Err(DenoiseError::msg(
                "the inpainting mask does not have the sampled batch's shape",
            ));
        }
        let noised_known = self.known.clone().add_scaled(sigma, &self.noise);
        let input = self.blend(&noised_known, x.clone());
        let denoised = self.model.denoise(&input, sigma)?;
        Ok(self.blend(&self.known, denoised))
    }
}
