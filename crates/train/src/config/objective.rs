//! `[objective]`.

use serde::{Deserialize, Serialize};

use super::{ConfigError, non_negative, positive};

/// The objective, `kind = "edm" | "dsm" | "vp-likelihood" | "i-cfm" | "ot-cfm" | "sb-cfm" |
/// "vp-cfm" | "target-cfm"`; see docs/objectives.md for each loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ObjectiveConfig {
    /// EDM (Karras et al. 2022): preconditioned network, λ(σ) weighting, ln σ ~ N(P_mean, P_std²).
    Edm {
        /// σ_data (default 0.5).
        #[serde(default = "half")]
        sigma_data: f64,
        /// P_mean (default −1.2).
        #[serde(default = "p_mean")]
        p_mean: f64,
        /// P_std (default 1.2).
        #[serde(default = "p_std")]
        p_std: f64,
    },
    /// Denoising score matching on a diffusion schedule with any prediction, weighting and
    /// noise distribution.
    Dsm {
        /// The schedule (default `vp-linear`).
        #[serde(default)]
        schedule: DsmSchedule,
        /// What the network predicts (default `epsilon`).
        #[serde(default)]
        prediction: DsmPrediction,
        /// The weighting (default `unit`: unit weight in the prediction's own space).
        #[serde(default)]
        weighting: WeightingConfig,
        /// The noise-level distribution (default `uniform`).
        #[serde(default)]
        noise: DsmNoise,
        /// γ of min-SNR and soft-min-SNR (default 5).
        #[serde(default = "five")]
        gamma: f64,
        /// σ_data of the EDM weighting (default 0.5).
        #[serde(default = "half")]
        sigma_data: f64,
        /// Smallest training time ε (default 1e-3).
        #[serde(default = "t_min")]
        t_min: f64,
    },
    /// score_sde's maximum-likelihood training (Song, Durkan et al. 2021): VP linear,
    /// ε-prediction, likelihood weighting, t drawn ∝ g²/σ² and importance-weighted.
    VpLikelihood {
        /// Smallest training time ε (default 1e-3).
        #[serde(default = "t_min")]
        t_min: f64,
    },
    /// Independent conditional flow matching (Tong et al. 2024).
    ICfm {
        /// Path noise σ (default 0).
        #[serde(default)]
        sigma: f64,
        /// What the network predicts (default `velocity`).
        #[serde(default)]
        prediction: FlowTargetConfig,
    },
    /// I-CFM with exact minibatch OT pairs (Tong et al. 2024).
    OtCfm {
        /// Path noise σ (default 0).
        #[serde(default)]
        sigma: f64,
        /// What the network predicts (default `velocity`).
        #[serde(default)]
        prediction: FlowTargetConfig,
    },
    /// Schrödinger-bridge CFM with entropic OT pairs, ε = 2σ² (Tong et al. 2024).
    SbCfm {
        /// Bridge diffusion σ (default 1).
        #[serde(default = "one")]
        sigma: f64,
    },
    /// The variance-preserving interpolant (Albergo & Vanden-Eijnden 2023).
    VpCfm {
        /// Path noise σ (default 0).
        #[serde(default)]
        sigma: f64,
    },
    /// Lipman et al. 2023's conditional OT flow with σ_min.
    TargetCfm {
        /// σ_min (default 0).
        #[serde(default)]
        sigma_min: f64,
    },
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        Self::Edm {
            sigma_data: half(),
            p_mean: p_mean(),
            p_std: p_std(),
        }
    }
}

fn half() -> f64 {
    0.5
}
fn p_mean() -> f64 {
    -1.2
}
fn p_std() -> f64 {
    1.2
}
fn five() -> f64 {
    5.0
}
fn one() -> f64 {
    1.0
}
fn t_min() -> f64 {
    1e-3
}

/// The diffusion schedules a DSM objective can use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DsmSchedule {
    /// VP, linear β (Song et al. 2021).
    #[default]
    VpLinear,
    /// VP, cosine ᾱ (Nichol & Dhariwal 2021).
    VpCosine,
    /// Sub-VP (Song et al. 2021).
    SubVp,
    /// VE (Song et al. 2021).
    Ve,
}

/// What a DSM network predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DsmPrediction {
    /// ε.
    #[default]
    Epsilon,
    /// x₀.
    Sample,
    /// v.
    Velocity,
    /// The score.
    Score,
}

/// The weighting of a DSM objective.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightingConfig {
    /// Unit weight on the prediction's own squared error ("simple" for ε).
    #[default]
    Unit,
    /// g²(t) on the score error.
    Likelihood,
    /// SNR on the x₀ error.
    Snr,
    /// min(SNR, γ) on the x₀ error.
    MinSnr,
    /// SNR·γ/(SNR + γ) on the x₀ error.
    SoftMinSnr,
    /// EDM's λ(σ) with `sigma_data`.
    Edm,
}

/// The noise-level distribution of a DSM objective.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DsmNoise {
    /// t ~ U[t_min, T].
    #[default]
    Uniform,
    /// Logit-normal t on [t_min, T] (m = 0, s = 1).
    LogitNormal,
    /// t ∝ g²/σ², importance-weighted back to uniform.
    Importance,
}

/// What a flow network predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowTargetConfig {
    /// The velocity.
    #[default]
    Velocity,
    /// The data end x₁.
    Data,
}

impl ObjectiveConfig {
    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Edm { .. } => "edm",
            Self::Dsm { .. } => "dsm",
            Self::VpLikelihood { .. } => "vp-likelihood",
            Self::ICfm { .. } => "i-cfm",
            Self::OtCfm { .. } => "ot-cfm",
            Self::SbCfm { .. } => "sb-cfm",
            Self::VpCfm { .. } => "vp-cfm",
            Self::TargetCfm { .. } => "target-cfm",
        }
    }

    /// The default configuration of a kind named on the command line.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unknown name, listing the known ones.
    pub fn from_kind(kind: &str) -> Result<Self, ConfigError> {
        let text = format!("kind = \"{kind}\"");
        toml::from_str(&text).map_err(|_| ConfigError::Invalid {
            key: "objective",
            reason: format!(
                "unknown objective `{kind}` (known: edm, dsm, vp-likelihood, i-cfm, ot-cfm, \
                 sb-cfm, vp-cfm, target-cfm)"
            ),
        })
    }

    /// Whether the objective trains a velocity (flow) model rather than a denoiser.
    pub fn is_flow(&self) -> bool {
        matches!(
            self,
            Self::ICfm { .. }
                | Self::OtCfm { .. }
                | Self::SbCfm { .. }
                | Self::VpCfm { .. }
                | Self::TargetCfm { .. }
        )
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match *self {
            Self::Edm {
                sigma_data,
                p_mean,
                p_std,
            } => {
                positive("objective.sigma_data", sigma_data)?;
                positive("objective.p_std", p_std)?;
                if !p_mean.is_finite() {
                    return Err(ConfigError::Invalid {
                        key: "objective.p_mean",
                        reason: "must be finite".into(),
                    });
                }
                Ok(())
            }
            Self::Dsm {
                gamma,
                sigma_data,
                t_min,
                ..
            } => {
                positive("objective.gamma", gamma)?;
                positive("objective.sigma_data", sigma_data)?;
                t_min_in_range(t_min)
            }
            Self::VpLikelihood { t_min } => t_min_in_range(t_min),
            Self::ICfm { sigma, .. } | Self::OtCfm { sigma, .. } | Self::VpCfm { sigma } => {
                non_negative("objective.sigma", sigma)
            }
            Self::SbCfm { sigma } => positive("objective.sigma", sigma),
            Self::TargetCfm { sigma_min } => {
                if (0.0..1.0).contains(&sigma_min) {
                    Ok(())
                } else {
                    Err(ConfigError::Invalid {
                        key: "objective.sigma_min",
                        reason: format!("must be in [0, 1), got {sigma_min}"),
                    })
                }
            }
        }
    }
}

fn t_min_in_range(t_min: f64) -> Result<(), ConfigError> {
    if t_min > 0.0 && t_min < 1.0 {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: "objective.t_min",
            reason: format!("must be in (0, 1), got {t_min}"),
        })
    }
}
