//! The conditional flow-matching loss.

use burn::prelude::*;

use super::{ConditionalFlow, FlowLossError, FlowNetwork, FlowRows};
use scoreflow_ode_sde_solvers::batch::{combine, per_sample};

/// What the network outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowPrediction {
    /// The velocity u_θ(x_t, t), regressed on u_t (the CFM objective).
    Velocity,
    /// The data end x̂₁(x_t, t), regressed on x₁ (x-prediction; its minimiser E[x₁ | x_t] gives
    /// the velocity through the path's conversion, e.g. u = (x̂₁ − x_t)/(1 − t) on CondOT).
    Data,
}

/// A loss on a batch: per-sample values and their mean.
#[derive(Clone, Debug)]
pub struct LossOutput {
    /// ℓᵢ, shape `[B]`.
    pub per_sample: Tensor<1>,
    /// (1/B) Σᵢ ℓᵢ, shape `[1]`.
    pub mean: Tensor<1>,
}

impl LossOutput {
    fn from_per_sample(per_sample: Tensor<1>) -> Self {
        let mean = per_sample.clone().mean();
        Self { per_sample, mean }
    }
}

/// Conditional flow matching (Lipman et al. 2023, eq. (9); Tong et al. 2024, eq. (8)):
/// ℓᵢ = (1/d)‖F_θ(x_t, tᵢ, yᵢ) − target‖² with x_t and the target built from the coupled pair
/// (x₀ᵢ, x₁ᵢ), εᵢ and tᵢ by the [`ConditionalFlow`], the target being u_t for
/// [`FlowPrediction::Velocity`] and x₁ for [`FlowPrediction::Data`]. Its minimiser over
/// functions is E[target | x_t], the marginal velocity (or data mean) of the flow.
///
/// The pairs come paired: apply a coupling to the host batch first and gather its rows
/// ([`Pairs`](crate::coupling::Pairs)). Times and noise are the caller's draws.
#[derive(Clone, Debug)]
pub struct ConditionalFlowMatching<F> {
    flow: F,
    prediction: FlowPrediction,
}

impl<F: ConditionalFlow> ConditionalFlowMatching<F> {
    /// The loss of `flow` for a network predicting `prediction`.
    pub fn new(flow: F, prediction: FlowPrediction) -> Self {
        Self { flow, prediction }
    }

    /// The flow.
    pub fn flow(&self) -> &F {
        &self.flow
    }

    /// What the network predicts.
    pub fn prediction(&self) -> FlowPrediction {
        self.prediction
    }

    /// x_t and the velocity target u_t of a batch (x₀, x₁ of shape `[B, …]`, noise of the same
    /// shape when the flow uses it, one t per sample).
    ///
    /// # Errors
    /// [`FlowLossError`] for mismatched shapes, missing noise or a time outside the flow's
    /// domain.
    pub fn conditional_sample<const D: usize>(
        &self,
        x0: Tensor<D>,
        x1: Tensor<D>,
        noise: Option<Tensor<D>>,
        t: &[f64],
    ) -> Result<(Tensor<D>, Tensor<D>), FlowLossError> {
        let rows = self.rows(&x0, &x1, noise.as_ref(), t)?;
        let build = |pick: fn(&FlowRows) -> [f64; 3]| {
            let coef = |k: usize| rows.iter().map(|r| pick(r)[k]).collect::<Vec<f64>>();
            let (a, b, c) = (coef(0), coef(1), coef(2));
            let mut terms = vec![(&a[..], &x1), (&b[..], &x0)];
            if let Some(eps) = noise.as_ref() {
                terms.push((&c[..], eps));
            }
            combine(&terms).unwrap_or_else(|| x1.zeros_like())
        };
        Ok((build(|r| r.x_t), build(|r| r.u)))
    }

    /// ℓᵢ for the network `network`; see the type docs.
    ///
    /// # Errors
    /// [`FlowLossError`] for bad shapes, times or noise, or the network's failure.
    pub fn loss<const D: usize, N: FlowNetwork<D>>(
        &self,
        network: &N,
        x0: Tensor<D>,
        x1: Tensor<D>,
        noise: Option<Tensor<D>>,
        t: &[f64],
        labels: Option<Tensor<1, Int>>,
    ) -> Result<LossOutput, FlowLossError> {
        let (x_t, u_t) = self.conditional_sample(x0, x1.clone(), noise, t)?;
        check_labels(labels.as_ref(), t.len())?;
        let target = match self.prediction {
            FlowPrediction::Velocity => u_t,
            FlowPrediction::Data => x1,
        };
        let times = vector(t, &x_t);
        let pred = network.forward(x_t, times, labels)?;
        if pred.dims() != target.dims() {
            return Err(FlowLossError::Shape {
                what: "network output",
                expected: target.dims().to_vec(),
                got: pred.dims().to_vec(),
            });
        }
        Ok(LossOutput::from_per_sample(mean_per_sample(
            (pred - target).square(),
        )))
    }

    /// The score-matching term of a stochastic flow (SB-CFM's, [`SbCfm`](super::SbCfm)):
    /// ℓᵢ = λ(tᵢ)²·(1/d)‖s_θ(x_t, tᵢ) − target‖², at the same x_t as [`loss`](Self::loss) for
    /// the same inputs.
    ///
    /// # Errors
    /// [`FlowLossError::NoScoreTerm`] for a flow without one; otherwise as [`loss`](Self::loss).
    pub fn score_loss<const D: usize, N: FlowNetwork<D>>(
        &self,
        score_network: &N,
        x0: Tensor<D>,
        x1: Tensor<D>,
        noise: Tensor<D>,
        t: &[f64],
        labels: Option<Tensor<1, Int>>,
    ) -> Result<LossOutput, FlowLossError> {
        let score_rows = t
            .iter()
            .enumerate()
            .map(|(i, &ti)| {
                self.flow
                    .score_row(i, ti)
                    .unwrap_or(Err(FlowLossError::NoScoreTerm {
                        flow: self.flow.name(),
                    }))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (x_t, _) = self.conditional_sample(x0, x1, Some(noise.clone()), t)?;
        check_labels(labels.as_ref(), t.len())?;
        let target_eps: Vec<f64> = score_rows.iter().map(|r| r.target_eps).collect();
        let target = noise * per_sample(&target_eps, &x_t);
        let times = vector(t, &x_t);
        let pred = score_network.forward(x_t.clone(), times, labels)?;
        if pred.dims() != target.dims() {
            return Err(FlowLossError::Shape {
                what: "score network output",
                expected: target.dims().to_vec(),
                got: pred.dims().to_vec(),
            });
        }
        let weights: Vec<f64> = score_rows.iter().map(|r| r.weight).collect();
        Ok(LossOutput::from_per_sample(
            mean_per_sample((pred - target).square()) * vector(&weights, &x_t),
        ))
    }

    fn rows<const D: usize>(
        &self,
        x0: &Tensor<D>,
        x1: &Tensor<D>,
        noise: Option<&Tensor<D>>,
        t: &[f64],
    ) -> Result<Vec<FlowRows>, FlowLossError> {
        let dims = x1.dims();
        if dims.first().is_none_or(|&b| b == 0) || dims.contains(&0) {
            return Err(FlowLossError::EmptyBatch);
        }
        for (what, other) in [("x0", Some(x0)), ("noise", noise)] {
            if let Some(o) = other
                && o.dims() != dims
            {
                return Err(FlowLossError::Shape {
                    what,
                    expected: dims.to_vec(),
                    got: o.dims().to_vec(),
                });
            }
        }
        if t.len() != dims[0] {
            return Err(FlowLossError::Shape {
                what: "t",
                expected: vec![dims[0]],
                got: vec![t.len()],
            });
        }
        if self.flow.uses_noise() && noise.is_none() {
            return Err(FlowLossError::MissingNoise {
                flow: self.flow.name(),
            });
        }
        t.iter()
            .enumerate()
            .map(|(i, &ti)| self.flow.rows(i, ti))
            .collect()
    }
}

fn check_labels(labels: Option<&Tensor<1, Int>>, batch: usize) -> Result<(), FlowLossError> {
    match labels {
        Some(l) if l.dims()[0] != batch => Err(FlowLossError::Shape {
            what: "labels",
            expected: vec![batch],
            got: l.dims().to_vec(),
        }),
        _ => Ok(()),
    }
}

fn vector<const D: usize>(values: &[f64], like: &Tensor<D>) -> Tensor<1> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len()]),
        (&like.device(), like.dtype()),
    )
}

fn mean_per_sample<const D: usize>(x: Tensor<D>) -> Tensor<1> {
    let dims = x.dims();
    let rest = dims[1..].iter().product::<usize>();
    x.reshape([dims[0], rest]).mean_dim(1).reshape([dims[0]])
}
