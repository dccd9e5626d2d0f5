//! `[model]`.

use scoreflow_models::UNet2DConfig;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The network, `kind = "mlp" | "unet-small" | "unet-cifar10" | "unet"`.
///
/// The data decides the input shape: an MLP takes points (its `data_dim` is the dataset's), a
/// UNet images (its channels are the dataset's); class conditioning is switched on by the
/// objective's label dropout on labelled data.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ModelConfig {
    /// The residual MLP of `scoreflow-models` for points.
    Mlp {
        /// Hidden width (default 256).
        #[serde(default = "default_hidden")]
        hidden: usize,
        /// Residual layers (default 3).
        #[serde(default = "default_depth")]
        depth: usize,
        /// Sinusoidal time features (default 64).
        #[serde(default = "default_time_features")]
        time_features: usize,
    },
    /// `UNet2DConfig::small_mnist` (28×28, 2.2 M parameters), channels from the data.
    UnetSmall,
    /// `UNet2DConfig::ddpm_cifar10` (32×32, 35.7 M parameters), channels from the data.
    UnetCifar10,
    /// Any UNet2D configuration, diffusers' field names.
    Unet {
        /// The configuration.
        config: Box<UNet2DConfig>,
    },
}

fn default_hidden() -> usize {
    256
}
fn default_depth() -> usize {
    3
}
fn default_time_features() -> usize {
    64
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self::Mlp {
            hidden: default_hidden(),
            depth: default_depth(),
            time_features: default_time_features(),
        }
    }
}

impl ModelConfig {
    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Mlp { .. } => "mlp",
            Self::UnetSmall => "unet-small",
            Self::UnetCifar10 => "unet-cifar10",
            Self::Unet { .. } => "unet",
        }
    }

    /// The default configuration of a kind named on the command line.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unknown name (listing the known ones), or `unet`, which
    /// needs a `[model.config]` table.
    pub fn from_kind(kind: &str) -> Result<Self, ConfigError> {
        match kind {
            "mlp" => Ok(Self::default()),
            "unet-small" => Ok(Self::UnetSmall),
            "unet-cifar10" => Ok(Self::UnetCifar10),
            "unet" => Err(ConfigError::Invalid {
                key: "model",
                reason: "`unet` needs a [model.config] table in a config file".into(),
            }),
            other => Err(ConfigError::Invalid {
                key: "model",
                reason: format!(
                    "unknown model `{other}` (known: mlp, unet-small, unet-cifar10, unet)"
                ),
            }),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::Mlp {
                hidden,
                depth: _,
                time_features,
            } => {
                if *hidden == 0 || *time_features == 0 || time_features % 2 == 1 {
                    return Err(ConfigError::Invalid {
                        key: "model",
                        reason: "an MLP needs hidden ≥ 1 and an even time_features ≥ 2".into(),
                    });
                }
                Ok(())
            }
            Self::UnetSmall | Self::UnetCifar10 => Ok(()),
            Self::Unet { config } => config.validate().map_err(|e| ConfigError::Invalid {
                key: "model.config",
                reason: e.to_string(),
            }),
        }
    }
}
