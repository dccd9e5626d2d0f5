//! Trained networks as the σ-space denoisers and velocity fields every sampler uses.

use std::sync::Arc;

use burn::prelude::*;
use scoreflow_flow_matching::loss::FlowPrediction;
use scoreflow_flow_matching::path::{AffinePath, FlowTarget};
use scoreflow_noise_schedules::NoiseSchedule;
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser};
use scoreflow_score_matching::loss::Prediction;
use scoreflow_score_matching::parameterization::TimeInput;

use crate::model::{Network, NetworkError};
use crate::objective::Objective;

/// What a trained network's output means: a denoising prediction on a diffusion schedule, or a
/// flow prediction on a path.
#[derive(Clone, Debug)]
pub enum ModelView {
    /// A network trained by denoising score matching.
    Denoising {
        /// Its schedule.
        schedule: Arc<dyn NoiseSchedule>,
        /// What it predicts (ε, x₀, v, score, EDM's F).
        prediction: Prediction,
        /// How it takes time.
        time_input: TimeInput,
    },
    /// A network trained by conditional flow matching.
    Flow {
        /// The path its velocity transports along.
        path: AffinePath,
        /// What it predicts.
        prediction: FlowPrediction,
    },
}

impl Objective {
    /// How a network trained by this objective is read.
    pub fn view(&self) -> ModelView {
        match self {
            Self::Denoising { loss, .. } => ModelView::Denoising {
                schedule: loss.schedule().clone(),
                prediction: loss.prediction(),
                time_input: loss.time_input(),
            },
            Self::Flow { loss, path, .. } => ModelView::Flow {
                path: path.clone(),
                prediction: loss.prediction(),
            },
        }
    }
}

/// The forward pass of a network at the rank of a state.
pub trait RankForward<const D: usize> {
    /// F(x, c, y).
    ///
    /// # Errors
    /// The network's [`NetworkError`].
    fn forward_rank(
        &self,
        x: Tensor<D>,
        c: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, NetworkError>;
}

impl RankForward<2> for Network {
    fn forward_rank(
        &self,
        x: Tensor<2>,
        c: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<2>, NetworkError> {
        self.forward_points(x, c, labels)
    }
}

impl RankForward<4> for Network {
    fn forward_rank(
        &self,
        x: Tensor<4>,
        c: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<4>, NetworkError> {
        self.forward_images(x, c, labels)
    }
}

/// A trained network as a σ-space denoiser D(x; σ̃) (Karras et al. 2022, §4), for every sampler
/// of `scoreflow-ode-sde-solvers` and the likelihood code:
///
/// - denoising networks: t = t(σ̃) on the schedule, input aₜ·x with aₜ the prediction table's
///   input coefficient of x₀ (α for ε/x₀/v/score, c_in for EDM), conditioning t (through the
///   time input) or c_noise, and x̂₀ = a·F + b·x_t from the table's inverse
///   ([`Prediction::to_x0_coefficients`]);
/// - flow networks: t = t(σ̃) on the path, x_t = α·x, and x̂₁ from the velocity (or the data
///   prediction) by the path's conversion ([`FlowTarget`]).
///
/// Labels (class conditioning) go to every call; a σ̃ the schedule cannot reach, or a network
/// that rejects its input, is a [`DenoiseError`].
pub struct NetDenoiser<'a> {
    /// The network.
    pub network: &'a Network,
    /// How to read it.
    pub view: &'a ModelView,
    /// Class labels, one per sample of every batch the denoiser sees.
    pub labels: Option<Tensor<1, Int>>,
}

fn err(e: impl std::fmt::Display) -> DenoiseError {
    DenoiseError::msg(e.to_string())
}

impl<const D: usize> Denoiser<Tensor<D>> for NetDenoiser<'_>
where
    Network: RankForward<D>,
{
    fn denoise(&self, x: &Tensor<D>, sigma: f64) -> Result<Tensor<D>, DenoiseError> {
        let batch = x.dims()[0];
        let device = x.device();
        let conditioning = |c: f64| Tensor::<1>::full([batch], c, &device);
        match self.view {
            ModelView::Denoising {
                schedule,
                prediction,
                time_input,
            } => {
                let t = schedule.t_from_edm_sigma(sigma).map_err(err)?;
                let (alpha, sigma_t) = (schedule.alpha(t), schedule.sigma(t));
                let row = prediction.coefficients(alpha, sigma_t);
                let c = row.conditioning.unwrap_or_else(|| time_input.apply(t));
                let out = self
                    .network
                    .forward_rank(
                        x.clone().mul_scalar(row.input_x0),
                        conditioning(c),
                        self.labels.clone(),
                    )
                    .map_err(DenoiseError::new)?;
                let (a, b) = prediction.to_x0_coefficients(alpha, sigma_t);
                Ok(out.mul_scalar(a) + x.clone().mul_scalar(b * alpha))
            }
            ModelView::Flow { path, prediction } => {
                let t = path.schedule().t_from_edm_sigma(sigma).map_err(err)?;
                let c = path.coefficients(t).map_err(err)?;
                let x_t = x.clone().mul_scalar(c.alpha);
                let out = self
                    .network
                    .forward_rank(x_t.clone(), conditioning(t), self.labels.clone())
                    .map_err(DenoiseError::new)?;
                let target = match prediction {
                    FlowPrediction::Velocity => FlowTarget::Velocity,
                    FlowPrediction::Data => FlowTarget::Data,
                };
                let (a, b) = target.to_data_coefficients(&c);
                if !(a.is_finite() && b.is_finite()) {
                    return Err(err(format!("the flow's conversion is singular at t = {t}")));
                }
                Ok(out.mul_scalar(a) + x_t.mul_scalar(b))
            }
        }
    }
}

/// A trained flow network's velocity u(x, t) on its path (converted from an x₁-prediction
/// network by the path), for the `fm-*` samplers.
///
/// # Errors
/// [`DenoiseError`] when the view is not a flow's, or the network fails.
pub fn velocity<const D: usize>(
    network: &Network,
    view: &ModelView,
    labels: Option<&Tensor<1, Int>>,
    x: &Tensor<D>,
    t: f64,
) -> Result<Tensor<D>, DenoiseError>
where
    Network: RankForward<D>,
{
    let ModelView::Flow { path, prediction } = view else {
        return Err(err(
            "fm-* samplers integrate a velocity: this model was trained as a denoiser; use a \
             σ-space sampler (heun, dpmpp-2m, …)",
        ));
    };
    let batch = x.dims()[0];
    let out = network
        .forward_rank(
            x.clone(),
            Tensor::<1>::full([batch], t, &x.device()),
            labels.cloned(),
        )
        .map_err(DenoiseError::new)?;
    match prediction {
        FlowPrediction::Velocity => Ok(out),
        FlowPrediction::Data => path
            .convert(out, FlowTarget::Data, FlowTarget::Velocity, x, t)
            .map_err(err),
    }
}

/// The Jacobian products the likelihood code needs, by reverse-mode autodiff (burn has no
/// forward mode): [`jvp`](scoreflow_ode_sde_solvers::likelihood::DivergenceDenoiser::jvp)
/// returns Jᵀv — the vector–Jacobian product ∇ₓ(vᵀD(x; σ)), one backward pass — in place of Jv.
/// Both traces the likelihood takes are unchanged by the swap: the exact trace reads
/// e_jᵀ(J e_j) = J_jj = e_jᵀ(Jᵀe_j), and Hutchinson's estimator reads vᵀJv = vᵀJᵀv. The
/// networks treat samples independently (group norm, no batch statistics), so the batch's
/// Jacobian is block diagonal and one backward pass serves every sample.
impl<const D: usize> scoreflow_ode_sde_solvers::likelihood::DivergenceDenoiser<Tensor<D>>
    for NetDenoiser<'_>
where
    Network: RankForward<D>,
{
    fn jvp(&self, x: &Tensor<D>, sigma: f64, v: &Tensor<D>) -> Result<Tensor<D>, DenoiseError> {
        let tracked = x.clone().autodiff().require_grad();
        let out = self.denoise(&tracked, sigma)?;
        let product = (out * v.clone().autodiff()).sum();
        let grads = product.backward();
        tracked
            .grad(&grads)
            .map(|g| g.cast(x.dtype()))
            .ok_or_else(|| err("the input received no gradient"))
    }
}
