//! Classifier-free guidance on a trained class-conditional network: the conditional and the
//! unconditional prediction from one batched call.

use burn::prelude::*;
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser};
use scoreflow_score_matching::guidance::{ClassifierFree, PairedDenoiser};

use crate::denoiser::{ModelView, NetDenoiser, RankForward, velocity};
use crate::error::TrainError;
use crate::model::Network;

/// Classifier-free guidance settings (Ho & Salimans 2022), in the convention of
/// `scoreflow_score_matching::guidance`: D̃ = D∅ + w(D_c − D∅), w = 1 the conditional model,
/// w = 0 the unconditional one; diffusers' `guidance_scale` is this w.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Guidance {
    /// The scale w.
    pub scale: f64,
    /// Guidance rescale φ ∈ [0, 1] (Lin et al. 2024, eqs. (15)–(16)); σ-space samplers only.
    pub rescale: Option<f64>,
    /// Guidance only for σ̃ in (lo, hi] (Kynkäänniemi et al. 2024).
    pub interval: Option<(f64, f64)>,
}

impl Guidance {
    /// Checks the settings: a finite scale, φ ∈ [0, 1], 0 ≤ lo < hi.
    ///
    /// # Errors
    /// [`TrainError::Sampling`] naming the bad value.
    pub fn validate(&self) -> Result<(), TrainError> {
        if !self.scale.is_finite() {
            return Err(TrainError::Sampling(format!(
                "the guidance scale must be finite, got {}",
                self.scale
            )));
        }
        if let Some(phi) = self.rescale
            && !(0.0..=1.0).contains(&phi)
        {
            return Err(TrainError::Sampling(format!(
                "the guidance rescale φ must be in [0, 1], got {phi}"
            )));
        }
        if let Some((lo, hi)) = self.interval
            && !(lo >= 0.0 && lo < hi)
        {
            return Err(TrainError::Sampling(format!(
                "the guidance interval ({lo}, {hi}] must satisfy 0 ≤ lo < hi"
            )));
        }
        Ok(())
    }

    /// Whether guidance applies at σ̃.
    pub fn guides_at(&self, sigma: f64) -> bool {
        self.interval
            .is_none_or(|(lo, hi)| sigma > lo && sigma <= hi)
    }
}

/// The labels of a doubled batch: the classes, then the null class for every sample.
///
/// # Errors
/// [`TrainError::Sampling`] when the network is not class-conditional.
pub fn paired_labels(
    network: &Network,
    labels: &Tensor<1, Int>,
) -> Result<Tensor<1, Int>, TrainError> {
    let null = network.null_class().ok_or_else(|| {
        TrainError::Sampling(
            "guidance needs a class-conditional model; this checkpoint is unconditional".into(),
        )
    })?;
    let n = labels.dims()[0];
    let nulls = Tensor::<1, Int>::full([n], null as i64, &labels.device());
    Ok(Tensor::cat(vec![labels.clone(), nulls], 0))
}

/// A class-conditional network's conditional and unconditional denoisers from one call on the
/// doubled batch [x; x] with labels [y; ∅] — the batched evaluation every CFG implementation
/// uses (diffusers' `torch.cat([latents] * 2)`), so guidance costs one network call per step.
pub struct PairedNetDenoiser<'a> {
    /// The network.
    pub network: &'a Network,
    /// How to read it.
    pub view: &'a ModelView,
    /// [y; ∅], from [`paired_labels`].
    pub labels: Tensor<1, Int>,
}

impl<const D: usize> PairedDenoiser<Tensor<D>> for PairedNetDenoiser<'_>
where
    Network: RankForward<D>,
{
    fn denoise_pair(
        &self,
        x: &Tensor<D>,
        sigma: f64,
    ) -> Result<(Tensor<D>, Tensor<D>), DenoiseError> {
        let n = x.dims()[0];
        let denoiser = NetDenoiser {
            network: self.network,
            view: self.view,
            labels: Some(self.labels.clone()),
        };
        let both = denoiser.denoise(&Tensor::cat(vec![x.clone(), x.clone()], 0), sigma)?;
        Ok((both.clone().narrow(0, 0, n), both.narrow(0, n, n)))
    }
}

/// The guided velocity of a flow network at (x, t): u∅ + w(u_c − u∅) from one call on the
/// doubled batch, the conditional u_c where `guidance` does not apply at the path's σ̃(t). The
/// velocity is affine in the denoised value with coefficients that depend on t only, so this is
/// the velocity of the guided denoiser of [`PairedNetDenoiser`].
///
/// # Errors
/// [`DenoiseError`] when the view is not a flow's or the network fails.
pub fn guided_velocity<const D: usize>(
    network: &Network,
    view: &ModelView,
    labels: &Tensor<1, Int>,
    guidance: &Guidance,
    x: &Tensor<D>,
    t: f64,
) -> Result<Tensor<D>, DenoiseError>
where
    Network: RankForward<D>,
{
    let n = x.dims()[0];
    let both = velocity(
        network,
        view,
        Some(labels),
        &Tensor::cat(vec![x.clone(), x.clone()], 0),
        t,
    )?;
    let conditional = both.clone().narrow(0, 0, n);
    let sigma = match view {
        ModelView::Flow { path, .. } => path.schedule().edm_sigma(t),
        ModelView::Denoising { .. } => f64::NAN,
    };
    if !guidance.guides_at(sigma) {
        return Ok(conditional);
    }
    let unconditional = both.narrow(0, n, n);
    let w = guidance.scale;
    Ok(unconditional.mul_scalar(1.0 - w) + conditional.mul_scalar(w))
}

/// A network as the denoiser of a sampling or editing request: conditional on `labels` when
/// given, and guided by classifier-free guidance (one batched call per evaluation) when
/// `guidance` is given.
pub struct GuidedNetDenoiser<'a> {
    plain: NetDenoiser<'a>,
    pair: Option<PairedNetDenoiser<'a>>,
    guidance: Option<Guidance>,
}

impl<'a> GuidedNetDenoiser<'a> {
    /// The denoiser of `network` read through `view`.
    ///
    /// # Errors
    /// [`TrainError::Sampling`] when guidance is asked of an unconditional network.
    pub fn new(
        network: &'a Network,
        view: &'a ModelView,
        labels: Option<Tensor<1, Int>>,
        guidance: Option<Guidance>,
    ) -> Result<Self, TrainError> {
        let pair = match (&guidance, &labels) {
            (Some(_), Some(l)) => Some(PairedNetDenoiser {
                network,
                view,
                labels: paired_labels(network, l)?,
            }),
            _ => None,
        };
        Ok(Self {
            plain: NetDenoiser {
                network,
                view,
                labels,
            },
            pair,
            guidance,
        })
    }

    /// [y; ∅] of the doubled batch, when guided.
    pub fn paired_labels(&self) -> Option<&Tensor<1, Int>> {
        self.pair.as_ref().map(|p| &p.labels)
    }
}

impl<const D: usize> Denoiser<Tensor<D>> for GuidedNetDenoiser<'_>
where
    Network: RankForward<D>,
{
    fn denoise(&self, x: &Tensor<D>, sigma: f64) -> Result<Tensor<D>, DenoiseError> {
        match (&self.pair, &self.guidance) {
            (Some(pair), Some(g)) => ClassifierFree {
                model: pair,
                scale: g.scale,
                rescale: g.rescale,
                interval: g.interval,
            }
            .denoise(x, sigma),
            _ => self.plain.denoise(x, sigma),
        }
    }
}
