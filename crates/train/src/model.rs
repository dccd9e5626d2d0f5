//! The networks a run can train, as one burn module.

use burn::prelude::*;
use scoreflow_models::{InputError, Mlp, MlpConfig, UNet2D, UNet2DConfig};

use crate::config::ModelConfig;
use crate::error::TrainError;

/// Scale applied to the conditioning value before a UNet's sinusoidal embedding: the UNets of
/// `scoreflow-models` follow diffusers and expect DDPM timesteps in [0, 1000), while the
/// objectives hand them t ∈ [0, 1] (or EDM's c_noise = ¼ ln σ ∈ [−3, 2]). The MLP applies its
/// own `time_scale` (1000) and takes the value as it is.
pub const UNET_CONDITIONING_SCALE: f64 = 1000.0;

/// A trained network: the residual MLP for points or a UNet for images.
// A UNet is large, an MLP small; only one of them lives per run, so boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    /// Points `[B, d]`.
    Mlp(Mlp),
    /// Images `[B, C, H, W]`.
    UNet(UNet2D),
}

/// Serialises every use of burn's device generator by this crate: burn keeps one process-wide
/// generator that cannot be saved or forked, so a seeded initialisation is reproducible only if
/// nothing else draws from it between the seeding and the last parameter.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Network {
    /// [`build`](Self::build) with burn's generator seeded by `seed` under this crate's lock, so
    /// that the initial weights are a function of the seed even when other runs (tests, other
    /// threads of the same program) initialise networks at the same time. Parameters are
    /// materialised before the lock is released (burn initialises them lazily otherwise).
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_seeded(
        config: &ModelConfig,
        sample_shape: &[usize],
        num_classes: Option<usize>,
        device: &Device,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let _guard = DEVICE_RNG
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        device.seed(seed);
        let network = Self::build(config, sample_shape, num_classes, device)?;
        materialise(&network);
        Ok(network)
    }

    /// Builds the network of `config` for samples of `sample_shape`, class-conditional (with a
    /// null class for guidance) when `num_classes` is given.
    ///
    /// # Errors
    /// [`TrainError::Model`] when the network does not fit the data (an MLP on images, a UNet on
    /// points, a UNet configuration that does not validate).
    pub fn build(
        config: &ModelConfig,
        sample_shape: &[usize],
        num_classes: Option<usize>,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let unet = |c: UNet2DConfig| -> Result<Self, TrainError> {
            let [channels, height, width] = match sample_shape {
                [c, h, w] => [*c, *h, *w],
                _ => {
                    return Err(TrainError::Model(format!(
                        "a UNet needs images [C, H, W], the data has samples of shape {sample_shape:?}"
                    )));
                }
            };
            let c = c
                .with_in_channels(channels)
                .with_out_channels(channels)
                .with_sample_size(height.max(width))
                .with_num_class_embeds(num_classes)
                // A conditional network has a null class, as the MLP does: the trainer passes
                // labels (with label dropout) only to a network that has one, and sampling
                // without a class uses it.
                .with_add_null_class(num_classes.is_some());
            c.validate().map_err(|e| TrainError::Model(e.to_string()))?;
            let factor = 1usize << (c.block_out_channels.len() - 1);
            if height % factor != 0 || width % factor != 0 {
                return Err(TrainError::Model(format!(
                    "{height}×{width} images cannot be halved {} times by this UNet: sides must \
                     be multiples of {factor}",
                    c.block_out_channels.len() - 1
                )));
            }
            c.try_init(device)
                .map(Self::UNet)
                .map_err(|e| TrainError::Model(e.to_string()))
        };
        match config {
            ModelConfig::Mlp {
                hidden,
                depth,
                time_features,
            } => match sample_shape {
                [d] => Ok(Self::Mlp(
                    MlpConfig::new(*d)
                        .with_hidden(*hidden)
                        .with_depth(*depth)
                        .with_time_features(*time_features)
                        .with_num_classes(num_classes)
                        .init(device),
                )),
                _ => Err(TrainError::Model(format!(
                    "an MLP needs points [d], the data has samples of shape {sample_shape:?} \
                     (use a UNet for images)"
                ))),
            },
            ModelConfig::UnetSmall => unet(UNet2DConfig::small_mnist()),
            ModelConfig::UnetCifar10 => unet(UNet2DConfig::ddpm_cifar10()),
            ModelConfig::Unet { config } => unet((**config).clone()),
        }
    }

    /// The null-class label (classifier-free guidance), if the network is class-conditional.
    pub fn null_class(&self) -> Option<usize> {
        match self {
            Self::Mlp(m) => m.null_class,
            Self::UNet(u) => u.null_class(),
        }
    }

    /// F(x, c, y) on points.
    ///
    /// # Errors
    /// [`InputError`] for shapes the network rejects, or images given to the MLP.
    pub fn forward_points(
        &self,
        x: Tensor<2>,
        c: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<2>, NetworkError> {
        match self {
            Self::Mlp(m) => Ok(m.try_forward(x, c, labels)?),
            Self::UNet(_) => Err(NetworkError::Rank {
                network: "UNet2D",
                expected: "images [B, C, H, W]",
            }),
        }
    }

    /// F(x, c, y) on images.
    ///
    /// # Errors
    /// [`InputError`] for shapes the network rejects, or points given to a UNet.
    pub fn forward_images(
        &self,
        x: Tensor<4>,
        c: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<4>, NetworkError> {
        match self {
            Self::UNet(u) => Ok(u.try_forward(x, c.mul_scalar(UNET_CONDITIONING_SCALE), labels)?),
            Self::Mlp(_) => Err(NetworkError::Rank {
                network: "Mlp",
                expected: "points [B, d]",
            }),
        }
    }
}

/// Why a network call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    /// The network rejected its input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Data of the other rank.
    #[error("the {network} takes {expected}")]
    Rank {
        /// The network.
        network: &'static str,
        /// What it takes.
        expected: &'static str,
    },
}

/// Forces every lazily initialised parameter to take its value now.
fn materialise(network: &Network) {
    struct Touch;
    impl burn::module::ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    network.visit(&mut Touch);
}
