//! From `[objective]` to the losses of the objective crates.

use std::sync::Arc;

use scoreflow_flow_matching::coupling::{Coupling, ExactOt, Sinkhorn};
use scoreflow_flow_matching::loss::{
    ConditionalFlow, ConditionalFlowMatching, FlowPrediction, Icfm, SbCfm, TargetCfm, VpCfm,
};
use scoreflow_flow_matching::path::AffinePath;
use scoreflow_noise_schedules::{CondOt, CosinePath, NoiseSchedule, SubVp, Ve, VpCosine, VpLinear};
use scoreflow_score_matching::loss::{DenoisingScoreMatching, Prediction, Weighting};
use scoreflow_score_matching::noise_level::{
    LikelihoodImportance, LogNormalSigma, LogitNormalTime, NoiseLevelDistribution, UniformTime,
};
use scoreflow_score_matching::parameterization::TimeInput;

use crate::config::{
    DsmNoise, DsmPrediction, DsmSchedule, FlowTargetConfig, ObjectiveConfig, WeightingConfig,
};
use crate::error::TrainError;

/// A training objective: a denoising loss with its noise-level distribution, or a conditional
/// flow with its coupling.
#[derive(Debug)]
pub enum Objective {
    /// Denoising score matching.
    Denoising {
        /// The loss (schedule, prediction, weighting, time input).
        loss: DenoisingScoreMatching,
        /// Where noise levels are drawn from.
        noise: Box<dyn NoiseLevelDistribution>,
        /// With importance sampling: the distribution the loss is defined under (uniform t);
        /// each sample is weighted by its density over `noise`'s.
        importance_target: Option<UniformTime>,
    },
    /// Conditional flow matching.
    Flow {
        /// The loss.
        loss: ConditionalFlowMatching<Box<dyn ConditionalFlow>>,
        /// How noise and data are paired (`None`: row by row, the independent coupling).
        coupling: Option<Box<dyn Coupling>>,
        /// The path the learned velocity transports along (CondOT, or the cosine path of
        /// VP-CFM), for samplers and the denoiser view.
        path: AffinePath,
    },
}

fn objective_err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Objective(e.to_string())
}

impl Objective {
    /// Builds the objective of `config`.
    ///
    /// # Errors
    /// [`TrainError::Objective`] when a component rejects its parameters.
    pub fn build(config: &ObjectiveConfig) -> Result<Self, TrainError> {
        config.validate()?;
        match *config {
            ObjectiveConfig::Edm {
                sigma_data,
                p_mean,
                p_std,
            } => Ok(Self::Denoising {
                // σ is unbounded under the log-normal: a cap far above its draws (P(σ > 1e4) is
                // below 1e-12 for the defaults) so that no draw is rejected.
                loss: DenoisingScoreMatching::edm(sigma_data, 1e6).map_err(objective_err)?,
                noise: Box::new(LogNormalSigma::new(p_mean, p_std).map_err(objective_err)?),
                importance_target: None,
            }),
            ObjectiveConfig::Dsm {
                schedule,
                prediction,
                weighting,
                noise,
                gamma,
                sigma_data,
                t_min,
            } => {
                let schedule = dsm_schedule(schedule);
                let prediction = match prediction {
                    DsmPrediction::Epsilon => Prediction::Epsilon,
                    DsmPrediction::Sample => Prediction::Sample,
                    DsmPrediction::Velocity => Prediction::Velocity,
                    DsmPrediction::Score => Prediction::Score,
                };
                let weighting = match weighting {
                    WeightingConfig::Unit => Weighting::Unit(prediction),
                    WeightingConfig::Likelihood => Weighting::Likelihood,
                    WeightingConfig::Snr => Weighting::Snr,
                    WeightingConfig::MinSnr => Weighting::MinSnr { gamma },
                    WeightingConfig::SoftMinSnr => Weighting::SoftMinSnr { gamma },
                    WeightingConfig::Edm => Weighting::Edm { sigma_data },
                };
                Self::denoising(schedule, prediction, weighting, noise, t_min)
            }
            ObjectiveConfig::VpLikelihood { t_min } => Self::denoising(
                Arc::new(VpLinear::default()),
                Prediction::Epsilon,
                Weighting::Likelihood,
                DsmNoise::Importance,
                t_min,
            ),
            ObjectiveConfig::ICfm { sigma, prediction } => Self::flow(
                Box::new(Icfm::new(sigma).map_err(objective_err)?),
                prediction,
                None,
            ),
            ObjectiveConfig::OtCfm { sigma, prediction } => Self::flow(
                Box::new(Icfm::new(sigma).map_err(objective_err)?),
                prediction,
                Some(Box::new(ExactOt::new())),
            ),
            ObjectiveConfig::SbCfm { sigma } => {
                let flow = SbCfm::new(sigma).map_err(objective_err)?;
                let coupling = Sinkhorn::absolute(flow.entropic_regularization());
                Self::flow(
                    Box::new(flow),
                    FlowTargetConfig::Velocity,
                    Some(Box::new(coupling)),
                )
            }
            ObjectiveConfig::VpCfm { sigma } => {
                let mut objective = Self::flow(
                    Box::new(VpCfm::new(sigma).map_err(objective_err)?),
                    FlowTargetConfig::Velocity,
                    None,
                )?;
                if let Self::Flow { path, .. } = &mut objective {
                    // sin/cos of πt/2 is flow_matching's cosine path.
                    *path = AffinePath::new(Arc::new(CosinePath)).map_err(objective_err)?;
                }
                Ok(objective)
            }
            ObjectiveConfig::TargetCfm { sigma_min } => Self::flow(
                Box::new(TargetCfm::new(sigma_min).map_err(objective_err)?),
                FlowTargetConfig::Velocity,
                None,
            ),
        }
    }

    fn denoising(
        schedule: Arc<dyn NoiseSchedule>,
        prediction: Prediction,
        weighting: Weighting,
        noise: DsmNoise,
        t_min: f64,
    ) -> Result<Self, TrainError> {
        let t_max = schedule.t_range().1;
        let uniform = UniformTime::new(t_min, t_max).map_err(objective_err)?;
        let (noise, importance_target): (Box<dyn NoiseLevelDistribution>, _) = match noise {
            DsmNoise::Uniform => (Box::new(uniform), None),
            DsmNoise::LogitNormal => (
                Box::new(LogitNormalTime::new(0.0, 1.0, t_min, t_max).map_err(objective_err)?),
                None,
            ),
            DsmNoise::Importance => (
                Box::new(
                    LikelihoodImportance::new(schedule.clone(), t_min, t_max)
                        .map_err(objective_err)?,
                ),
                Some(uniform),
            ),
        };
        Ok(Self::Denoising {
            loss: DenoisingScoreMatching::new(
                schedule,
                prediction,
                weighting,
                TimeInput::Continuous,
            )
            .map_err(objective_err)?,
            noise,
            importance_target,
        })
    }

    fn flow(
        flow: Box<dyn ConditionalFlow>,
        prediction: FlowTargetConfig,
        coupling: Option<Box<dyn Coupling>>,
    ) -> Result<Self, TrainError> {
        let prediction = match prediction {
            FlowTargetConfig::Velocity => FlowPrediction::Velocity,
            FlowTargetConfig::Data => FlowPrediction::Data,
        };
        Ok(Self::Flow {
            loss: ConditionalFlowMatching::new(flow, prediction),
            coupling,
            path: AffinePath::new(Arc::new(CondOt)).map_err(objective_err)?,
        })
    }

    /// Whether the objective trains a velocity field.
    pub fn is_flow(&self) -> bool {
        matches!(self, Self::Flow { .. })
    }
}

fn dsm_schedule(schedule: DsmSchedule) -> Arc<dyn NoiseSchedule> {
    match schedule {
        DsmSchedule::VpLinear => Arc::new(VpLinear::default()),
        DsmSchedule::VpCosine => Arc::new(VpCosine::default()),
        DsmSchedule::SubVp => Arc::new(SubVp::default()),
        DsmSchedule::Ve => Arc::new(Ve::default()),
    }
}
