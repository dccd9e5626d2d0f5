//! Denoising score matching: one loss for every prediction type, weighting and schedule.

use std::sync::Arc;

use burn::prelude::*;
use scoreflow_noise_schedules::{Discrete, Edm, NoiseSchedule};

use super::batch::{
    batch_size, check_labels, check_weights, combine, mean_per_sample, per_sample_len, same_shape,
    vector,
};
use super::{
    LossError, LossOutput, NoiseConditionalNetwork, Prediction, PredictionCoefficients, Weighting,
};
use crate::parameterization::TimeInput;

/// The denoising score-matching loss (Vincent 2011; Song & Ermon 2019; Ho et al. 2020; Song et
/// al. 2021; Karras et al. 2022), per sample i with noise level tᵢ and noise εᵢ:
///
/// ℓᵢ = cᵢ · (w₀(tᵢ)/kᵢ) · (1/d) ‖F(aᵢx₀ + bᵢεᵢ, c(tᵢ), yᵢ) − (pᵢx₀ + qᵢεᵢ)‖²
///
/// where the input coefficients (a, b), conditioning c, target coefficients (p, q) and error
/// factor k come from the [`Prediction`] table at (α(t), σ(t)), w₀ is the [`Weighting`] on the
/// x₀ error, d the number of elements per sample, and cᵢ an optional per-sample weight (an
/// importance ratio, see [`crate::noise_level::importance_weight`]). So ℓᵢ =
/// cᵢ w₀(tᵢ) ‖x̂₀ − x₀‖²/d for the x̂₀ the network's output implies, whatever it predicts.
///
/// The noise levels and noise are inputs, drawn by the caller (from a generator keyed by seed
/// and step, for exact resume); coefficients are computed on the host in f64 and uploaded once
/// per call as `[B, 1, …]` tensors.
#[derive(Clone, Debug)]
pub struct DenoisingScoreMatching {
    schedule: Arc<dyn NoiseSchedule>,
    prediction: Prediction,
    weighting: Weighting,
    time_input: TimeInput,
}

impl DenoisingScoreMatching {
    /// A loss on `schedule` for a network predicting `prediction`, weighted by `weighting`,
    /// that receives schedule time through `time_input` (ignored by [`Prediction::Edm`], whose
    /// conditioning is c_noise).
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] for an invalid prediction or weighting parameter.
    pub fn new(
        schedule: Arc<dyn NoiseSchedule>,
        prediction: Prediction,
        weighting: Weighting,
        time_input: TimeInput,
    ) -> Result<Self, LossError> {
        prediction.validate()?;
        weighting.validate()?;
        Ok(Self {
            schedule,
            prediction,
            weighting,
            time_input,
        })
    }

    /// EDM's loss (Karras et al. 2022, Table 1 "Ours"): σ = t on the [`Edm`] schedule,
    /// preconditioned F, weight λ(σ) = (σ² + σ_d²)/(σσ_d)² — unit weight on F's error. Draw σ
    /// from [`LogNormalSigma`](crate::noise_level::LogNormalSigma).
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] for σ_d ≤ 0.
    pub fn edm(sigma_data: f64, sigma_max: f64) -> Result<Self, LossError> {
        let schedule = Edm::new(sigma_max).map_err(|_| LossError::InvalidParameter {
            name: "sigma_max",
            value: sigma_max,
            reason: "must be positive and finite",
        })?;
        Self::new(
            Arc::new(schedule),
            Prediction::Edm { sigma_data },
            Weighting::Edm { sigma_data },
            TimeInput::Continuous,
        )
    }

    /// DDPM's loss (Ho et al. 2020, Algorithm 1): ‖ε − ε_θ(√ᾱₙ x₀ + √(1 − ᾱₙ) ε, n)‖² at integer
    /// timesteps n of a discrete table, the network conditioned on n. Draw n from
    /// [`DiscreteTimesteps`](crate::noise_level::DiscreteTimesteps) and pass t = (n + 1)/N (its
    /// [`time`](crate::noise_level::NoiseLevelDistribution::time)); the table's α(t), σ(t) at
    /// those nodes are √ᾱₙ and √(1 − ᾱₙ).
    pub fn ddpm(table: Discrete) -> Self {
        let num_train_timesteps = table.num_train_timesteps();
        Self {
            schedule: Arc::new(table),
            prediction: Prediction::Epsilon,
            weighting: Weighting::Unit(Prediction::Epsilon),
            time_input: TimeInput::DiscreteIndex {
                num_train_timesteps,
            },
        }
    }

    /// The schedule.
    pub fn schedule(&self) -> &Arc<dyn NoiseSchedule> {
        &self.schedule
    }

    /// The prediction type.
    pub fn prediction(&self) -> Prediction {
        self.prediction
    }

    /// The weighting.
    pub fn weighting(&self) -> Weighting {
        self.weighting
    }

    /// The network's time input.
    pub fn time_input(&self) -> TimeInput {
        self.time_input
    }

    /// The table row of one sample at time t, with its conditioning value filled in and the
    /// weight w₀/k in `error_factor`'s place.
    ///
    /// # Errors
    /// [`LossError::NoiseLevel`] when t is outside the schedule's range, α(t) ≤ 0, σ(t) ≤ 0, or
    /// a coefficient is not finite (e.g. the ε-weight at σ → 0).
    pub fn sample_coefficients(&self, index: usize, t: f64) -> Result<SampleRow, LossError> {
        let bad = |reason: String| LossError::NoiseLevel { index, t, reason };
        let (lo, hi) = self.schedule.t_range();
        if !(t >= lo && t <= hi) {
            return Err(bad(format!("outside the schedule's range [{lo}, {hi}]")));
        }
        let (alpha, sigma) = (self.schedule.alpha(t), self.schedule.sigma(t));
        if !(alpha > 0.0 && sigma > 0.0) {
            return Err(bad(format!(
                "needs α > 0 and σ > 0, got α = {alpha}, σ = {sigma}"
            )));
        }
        let g2 = match self.weighting {
            Weighting::Likelihood => self.schedule.g2(t),
            _ => 0.0,
        };
        let row = self.prediction.coefficients(alpha, sigma);
        // Exactly 1 where the weighting is the prediction's own unit weight, rather than a
        // ratio of two equal floating-point expressions.
        let weight = if self.weighting.is_unit_for(&self.prediction) {
            1.0
        } else {
            self.weighting.x0_weight(alpha, sigma, g2) / row.error_factor
        };
        let conditioning = row.conditioning.unwrap_or_else(|| self.time_input.apply(t));
        let out = SampleRow {
            coefficients: row,
            conditioning,
            weight,
        };
        if out.is_finite() {
            Ok(out)
        } else {
            Err(bad(format!("a loss coefficient is not finite: {out:?}")))
        }
    }

    /// ℓᵢ for the batch `x0` (`[B, …]`), noise `noise` (same shape, standard normal), times `t`
    /// (B values in the schedule's range), optional per-sample weights and labels; see the type
    /// docs.
    ///
    /// # Errors
    /// [`LossError`] for shape mismatches, an unusable noise level or weight, or the network's
    /// failure.
    pub fn loss<const D: usize, N: NoiseConditionalNetwork<D>>(
        &self,
        network: &N,
        x0: Tensor<D>,
        noise: Tensor<D>,
        t: &[f64],
        sample_weights: Option<&[f64]>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<LossOutput, LossError> {
        let batch = batch_size(&x0)?;
        same_shape("noise", &x0, &noise)?;
        per_sample_len("noise levels t", t.len(), batch)?;
        check_weights(sample_weights, batch)?;
        check_labels(labels.as_ref(), batch)?;
        let rows = t
            .iter()
            .enumerate()
            .map(|(i, &ti)| self.sample_coefficients(i, ti))
            .collect::<Result<Vec<_>, _>>()?;
        let column = |f: &dyn Fn(&SampleRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
        let weights = match sample_weights {
            Some(c) => rows.iter().zip(c).map(|(r, c)| r.weight * c).collect(),
            None => column(&|r| r.weight),
        };
        let (input_x0, input_eps) = (
            column(&|r| r.coefficients.input_x0),
            column(&|r| r.coefficients.input_eps),
        );
        let (target_x0, target_eps) = (
            column(&|r| r.coefficients.target_x0),
            column(&|r| r.coefficients.target_eps),
        );
        let zero = || x0.zeros_like();
        let input = combine(&[(&input_x0, &x0), (&input_eps, &noise)]).unwrap_or_else(zero);
        let target = combine(&[(&target_x0, &x0), (&target_eps, &noise)]).unwrap_or_else(zero);
        let conditioning = vector(&column(&|r| r.conditioning), &x0);
        let prediction = network.forward(input, conditioning, labels)?;
        same_shape("network output", &target, &prediction)?;
        let per_sample_error = mean_per_sample((prediction - target).square());
        // A weight that is the same for every sample (e.g. EDM's unit weight on F) is a scalar.
        let first = weights[0];
        let weighted = if weights.iter().all(|&w| w == first) {
            if first == 1.0 {
                per_sample_error
            } else {
                per_sample_error.mul_scalar(first)
            }
        } else {
            per_sample_error * vector(&weights, &x0)
        };
        Ok(LossOutput::from_per_sample(weighted))
    }
}

/// One sample's loss coefficients: the [`Prediction`] row, the network's conditioning value,
/// and the weight w₀/k on the prediction's squared error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleRow {
    /// The prediction table row.
    pub coefficients: PredictionCoefficients,
    /// The conditioning value the network receives.
    pub conditioning: f64,
    /// The weight on the prediction-space squared error.
    pub weight: f64,
}

impl SampleRow {
    fn is_finite(&self) -> bool {
        let c = &self.coefficients;
        [
            c.input_x0,
            c.input_eps,
            c.target_x0,
            c.target_eps,
            self.conditioning,
            self.weight,
        ]
        .iter()
        .all(|v| v.is_finite())
    }
}
