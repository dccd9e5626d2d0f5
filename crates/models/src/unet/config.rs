//! Configuration of [`UNet2D`](super::UNet2D): the fields of diffusers' `UNet2DModel` that
//! change the network, with diffusers' defaults, so that a config written with the same
//! omitted fields means the same network.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Encoder level type (diffusers' `down_block_types` entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DownBlockType {
    /// Residual blocks only.
    DownBlock2D,
    /// Residual blocks, each followed by self-attention.
    AttnDownBlock2D,
}

/// Decoder level type (diffusers' `up_block_types` entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpBlockType {
    /// Residual blocks only.
    UpBlock2D,
    /// Residual blocks, each followed by self-attention.
    AttnUpBlock2D,
}

/// How the noise level enters the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeEmbeddingType {
    /// Sinusoidal embedding of the timestep (Ho et al. 2020; Vaswani et al. 2017).
    Positional,
    /// Gaussian Fourier features of log σ (Song et al. 2021); the output is divided by σ.
    Fourier,
}

/// A problem with a [`UNet2DConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid UNet2D configuration: {0}")]
pub struct UNetConfigError(pub String);

/// Configuration of a [`UNet2D`](super::UNet2D) (diffusers' `UNet2DModel` arguments).
///
/// The time-embedding width is `time_embedding_dim` or `4 × block_out_channels[0]`
/// (Ho et al. 2020).
#[derive(Config, Debug)]
pub struct UNet2DConfig {
    /// Channels of each resolution level, finest first.
    pub block_out_channels: Vec<usize>,
    /// Encoder level types, one per entry of `block_out_channels`.
    pub down_block_types: Vec<DownBlockType>,
    /// Decoder level types, coarsest first, one per level.
    pub up_block_types: Vec<UpBlockType>,
    /// Nominal height and width of the input (documentation only: any multiple of
    /// `2^(levels−1)` works).
    #[config(default = 32)]
    pub sample_size: usize,
    /// Input channels.
    #[config(default = 3)]
    pub in_channels: usize,
    /// Output channels.
    #[config(default = 3)]
    pub out_channels: usize,
    /// Residual blocks per encoder level (the decoder has one more per level).
    #[config(default = 2)]
    pub layers_per_block: usize,
    /// Width of one attention head; `None` gives one head over all channels.
    pub attention_head_dim: Option<usize>,
    /// GroupNorm groups of every norm layer.
    #[config(default = 32)]
    pub norm_num_groups: usize,
    /// GroupNorm groups of the mid-block attention (`None`: `norm_num_groups`).
    pub attn_norm_num_groups: Option<usize>,
    /// GroupNorm ε.
    #[config(default = 1e-5)]
    pub norm_eps: f64,
    /// Dropout in every residual block.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Sinusoidal or Gaussian-Fourier time features.
    #[config(default = "TimeEmbeddingType::Positional")]
    pub time_embedding_type: TimeEmbeddingType,
    /// Width of the time embedding (`None`: `4 × block_out_channels[0]`).
    pub time_embedding_dim: Option<usize>,
    /// Sinusoidal layout `[cos, sin]` instead of `[sin, cos]`.
    #[config(default = true)]
    pub flip_sin_to_cos: bool,
    /// Sinusoidal frequency shift (1 in the original DDPM code, 0 in most later models).
    #[config(default = 0.0)]
    pub freq_shift: f64,
    /// Output divisor of the mid block's sub-blocks.
    #[config(default = 1.0)]
    pub mid_block_scale_factor: f64,
    /// Padding of the downsampling convolutions; 0 pads bottom/right only (original DDPM).
    #[config(default = 1)]
    pub downsample_padding: usize,
    /// Whether the mid block has its attention layer.
    #[config(default = true)]
    pub add_attention: bool,
    /// Map inputs from [0, 1] to [−1, 1] first (`2x − 1`).
    #[config(default = false)]
    pub center_input_sample: bool,
    /// Number of class labels of the class embedding (added to the time embedding); `None` for
    /// an unconditional model.
    pub num_class_embeds: Option<usize>,
    /// Append one extra "null" class (label `num_class_embeds`) for classifier-free guidance
    /// (Ho & Salimans 2022). Off for checkpoints from diffusers, whose table has exactly
    /// `num_class_embeds` rows.
    #[config(default = false)]
    pub add_null_class: bool,
}

impl UNet2DConfig {
    /// google/ddpm-cifar10-32 (Ho et al. 2020): channels (128, 256, 256, 256), 2 blocks per
    /// level, attention at 16×16, GroupNorm(32, ε = 1e-6), dropout 0 as published (the paper
    /// trained with 0.1: set it with `with_dropout`), sinusoidal
    /// embedding with shift 1 and `[sin, cos]` order, downsampling padded bottom/right.
    /// 35,746,307 parameters.
    pub fn ddpm_cifar10() -> Self {
        use DownBlockType::*;
        use UpBlockType::*;
        Self::new(
            vec![128, 256, 256, 256],
            vec![DownBlock2D, AttnDownBlock2D, DownBlock2D, DownBlock2D],
            vec![UpBlock2D, UpBlock2D, AttnUpBlock2D, UpBlock2D],
        )
        .with_sample_size(32)
        .with_layers_per_block(2)
        .with_norm_num_groups(32)
        .with_norm_eps(1e-6)
        .with_dropout(0.0)
        .with_flip_sin_to_cos(false)
        .with_freq_shift(1.0)
        .with_downsample_padding(0)
    }

    /// A small UNet for 28×28 single-channel images (MNIST): channels (32, 64, 64), one residual
    /// block per level, attention at 14×14 and in the middle, GroupNorm(8), `[cos, sin]`
    /// embedding with shift 0. The benchmarks' and examples' small network.
    pub fn small_mnist() -> Self {
        use DownBlockType::*;
        use UpBlockType::*;
        Self::new(
            vec![32, 64, 64],
            vec![DownBlock2D, AttnDownBlock2D, DownBlock2D],
            vec![UpBlock2D, AttnUpBlock2D, UpBlock2D],
        )
        .with_sample_size(28)
        .with_in_channels(1)
        .with_out_channels(1)
        .with_layers_per_block(1)
        .with_norm_num_groups(8)
    }

    /// Width of the time embedding.
    pub fn time_embed_dim(&self) -> usize {
        self.time_embedding_dim
            .unwrap_or(4 * self.block_out_channels.first().copied().unwrap_or(0))
    }

    /// Checks that the levels agree and that every GroupNorm divides its channels.
    pub fn validate(&self) -> Result<(), UNetConfigError> {
        let err = |m: String| Err(UNetConfigError(m));
        let n = self.block_out_channels.len();
        if n == 0 {
            return err("block_out_channels is empty".into());
        }
        if self.down_block_types.len() != n || self.up_block_types.len() != n {
            return err(format!(
                "{} block_out_channels but {} down and {} up block types",
                n,
                self.down_block_types.len(),
                self.up_block_types.len()
            ));
        }
        if self.layers_per_block == 0 {
            return err("layers_per_block must be at least 1".into());
        }
        let g = self.norm_num_groups;
        if g == 0 {
            return err("norm_num_groups must be positive".into());
        }
        for &c in &self.block_out_channels {
            if !c.is_multiple_of(g) {
                return err(format!("{c} channels are not divisible into {g} groups"));
            }
        }
        if let Some(ga) = self.attn_norm_num_groups
            && (ga == 0 || !self.block_out_channels[n - 1].is_multiple_of(ga))
        {
            return err(format!(
                "{} mid-block channels are not divisible into {ga} attention groups",
                self.block_out_channels[n - 1]
            ));
        }
        if self.attention_head_dim == Some(0) {
            return err("attention_head_dim must be positive".into());
        }
        if self.num_class_embeds == Some(0) {
            return err("num_class_embeds must be positive".into());
        }
        if self.block_out_channels.contains(&0) {
            return err("a level has zero channels".into());
        }
        Ok(())
    }
}
