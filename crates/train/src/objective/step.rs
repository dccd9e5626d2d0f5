//! One micro-batch's loss on a network.

use burn::prelude::*;
use ndarray::ArrayView2;
use rand_chacha::ChaCha8Rng;
use scoreflow_flow_matching::coupling::ClassRespecting;
use scoreflow_flow_matching::loss::{FlowLossError, FlowNetwork};
use scoreflow_score_matching::loss::{LossError, NoiseConditionalNetwork};
use scoreflow_score_matching::noise_level::importance_weight;

use super::Objective;
use super::draws::{drop_labels, normals, open_unit_times, seed};
use crate::data::Batch;
use crate::error::TrainError;
use crate::model::Network;

/// A micro-batch's loss: per-sample values, their mean (what is differentiated), and each
/// sample's noise level (σ̃ for denoising objectives, t for flows) for per-level metrics.
#[derive(Clone, Debug)]
pub struct StepLoss {
    /// ℓᵢ, `[B]`.
    pub per_sample: Tensor<1>,
    /// Their mean, `[1]`.
    pub mean: Tensor<1>,
    /// The noise level of each sample.
    pub levels: Vec<f64>,
}

/// What the loss of one micro-batch needs besides the objective and the network.
pub struct MicroBatch<'a> {
    /// The data.
    pub batch: &'a Batch,
    /// The device (autodiff for training).
    pub device: &'a Device,
    /// Class conditioning: (null class, label-dropout probability) when training
    /// class-conditionally.
    pub conditioning: Option<(u32, f64)>,
}

/// The network as both loss crates see it.
struct Net<'a>(&'a Network);

macro_rules! network_impls {
    ($rank:literal, $forward:ident) => {
        impl NoiseConditionalNetwork<$rank> for Net<'_> {
            fn forward(
                &self,
                x: Tensor<$rank>,
                c: Tensor<1>,
                labels: Option<Tensor<1, Int>>,
            ) -> Result<Tensor<$rank>, LossError> {
                self.0
                    .$forward(x, c, labels)
                    .map_err(|e| LossError::Network(Box::new(e)))
            }
        }

        impl FlowNetwork<$rank> for Net<'_> {
            fn forward(
                &self,
                x: Tensor<$rank>,
                t: Tensor<1>,
                labels: Option<Tensor<1, Int>>,
            ) -> Result<Tensor<$rank>, FlowLossError> {
                self.0
                    .$forward(x, t, labels)
                    .map_err(|e| FlowLossError::Network(Box::new(e)))
            }
        }
    };
}

network_impls!(2, forward_points);
network_impls!(4, forward_images);

fn objective_err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Objective(e.to_string())
}

impl Objective {
    /// The loss of one micro-batch, every random choice drawn from `rng`.
    ///
    /// # Errors
    /// [`TrainError`] from the objective, the coupling or the network.
    pub fn loss(
        &self,
        network: &Network,
        micro: &MicroBatch<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<StepLoss, TrainError> {
        match micro.batch.shape.len() {
            2 => self.loss_rank::<2>(network, micro, rng),
            4 => self.loss_rank::<4>(network, micro, rng),
            _ => Err(TrainError::Model(format!(
                "samples of shape {:?} are neither points nor images",
                &micro.batch.shape[1..]
            ))),
        }
    }

    fn loss_rank<const D: usize>(
        &self,
        network: &Network,
        micro: &MicroBatch<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<StepLoss, TrainError>
    where
        for<'a> Net<'a>: NoiseConditionalNetwork<D> + FlowNetwork<D>,
    {
        let batch = micro.batch;
        let shape: [usize; D] = batch
            .shape
            .clone()
            .try_into()
            .map_err(|_| TrainError::Model("batch rank mismatch".into()))?;
        let (b, numel) = (shape[0], shape[1..].iter().product::<usize>());
        let tensor =
            |data: Vec<f32>| Tensor::<D>::from_data(TensorData::new(data, shape), micro.device);
        let net = Net(network);
        match self {
            Self::Denoising {
                loss,
                noise,
                importance_target,
            } => {
                let values = noise.sample_n(b, rng);
                let t = values
                    .iter()
                    .map(|&v| noise.time(v, loss.schedule().as_ref()))
                    .collect::<Result<Vec<f64>, _>>()
                    .map_err(objective_err)?;
                let weights = match importance_target {
                    Some(target) => Some(
                        t.iter()
                            .map(|&ti| importance_weight(target, noise.as_ref(), ti))
                            .collect::<Result<Vec<f64>, _>>()
                            .map_err(objective_err)?,
                    ),
                    None => None,
                };
                let eps = tensor(normals(rng, b * numel));
                let labels = self.labels(batch.labels.clone(), micro, rng);
                let out = loss
                    .loss(
                        &net,
                        tensor(batch.x.clone()),
                        eps,
                        &t,
                        weights.as_deref(),
                        labels,
                    )
                    .map_err(|e| {
                        network_or_objective(e.to_string(), matches!(e, LossError::Network(_)))
                    })?;
                let schedule = loss.schedule();
                let levels = t.iter().map(|&ti| schedule.edm_sigma(ti)).collect();
                Ok(StepLoss {
                    per_sample: out.per_sample,
                    mean: out.mean,
                    levels,
                })
            }
            Self::Flow { loss, coupling, .. } => {
                let x0 = normals(rng, b * numel);
                let (x0, x1, labels) = match coupling {
                    None => (x0, batch.x.clone(), batch.labels.clone()),
                    Some(c) => {
                        let to_f64 =
                            |v: &[f32]| v.iter().map(|&a| f64::from(a)).collect::<Vec<_>>();
                        let (a, d) = (to_f64(&x0), to_f64(&batch.x));
                        let view =
                            |v: &[f64]| ArrayView2::from_shape((b, numel), v).map(|v| v.to_owned());
                        let (a, d) = (
                            view(&a).map_err(objective_err)?,
                            view(&d).map_err(objective_err)?,
                        );
                        // A conditional flow must not transport mass across classes: pair
                        // within each class, the noise rows taking the data rows' labels
                        // (exchangeable noise; ClassRespecting's docs).
                        let pairs = match &batch.labels {
                            Some(l) => {
                                let y: Vec<usize> = l.iter().map(|&v| v as usize).collect();
                                ClassRespecting::new(c.as_ref()).pair_labelled(
                                    a.view(),
                                    &y,
                                    d.view(),
                                    &y,
                                    seed(rng),
                                )
                            }
                            None => c.pair(a.view(), d.view(), seed(rng)),
                        }
                        .map_err(objective_err)?;
                        if pairs.len() != b {
                            return Err(TrainError::Objective(format!(
                                "the coupling paired {} of {b} samples",
                                pairs.len()
                            )));
                        }
                        let gather = |v: &[f32], rows: &[usize]| {
                            rows.iter()
                                .flat_map(|&r| v[r * numel..(r + 1) * numel].iter().copied())
                                .collect::<Vec<f32>>()
                        };
                        let labels = batch
                            .labels
                            .as_ref()
                            .map(|l| pairs.target.iter().map(|&r| l[r]).collect());
                        (
                            gather(&x0, &pairs.source),
                            gather(&batch.x, &pairs.target),
                            labels,
                        )
                    }
                };
                let t = open_unit_times(rng, b);
                let eps = loss
                    .flow()
                    .uses_noise()
                    .then(|| tensor(normals(rng, b * numel)));
                let labels = self.labels(labels, micro, rng);
                let out = loss
                    .loss(&net, tensor(x0), tensor(x1), eps, &t, labels)
                    .map_err(|e| {
                        network_or_objective(e.to_string(), matches!(e, FlowLossError::Network(_)))
                    })?;
                Ok(StepLoss {
                    per_sample: out.per_sample,
                    mean: out.mean,
                    levels: t,
                })
            }
        }
    }

    /// The label tensor of a class-conditional micro-batch, after label dropout.
    fn labels(
        &self,
        labels: Option<Vec<u32>>,
        micro: &MicroBatch<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Option<Tensor<1, Int>> {
        let (null, p) = micro.conditioning?;
        let mut labels = labels?;
        drop_labels(rng, &mut labels, null, p);
        let data: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
        let n = data.len();
        Some(Tensor::from_data(TensorData::new(data, [n]), micro.device))
    }
}

fn network_or_objective(message: String, network: bool) -> TrainError {
    if network {
        TrainError::Model(message)
    } else {
        TrainError::Objective(message)
    }
}
