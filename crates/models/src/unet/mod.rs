//! The DDPM UNet (Ho et al. 2020) in the layout of diffusers' `UNet2DModel`: every submodule
//! carries diffusers' name, so a diffusers state dict maps onto it key for key
//! (see [`crate::diffusers`]).
//!
//! ```text
//! temb = time_embedding(time_proj(t)) [+ class_embedding(y)]
//! h = conv_in(x);  skips = [h]
//! for level in down_blocks: h = level(h, temb), pushing its outputs onto skips
//! h = mid_block(h, temb)
//! for level in up_blocks:   h = level(h, skips…, temb), popping one skip per residual block
//! ε̂ = conv_out(SiLU(conv_norm_out(h)))     [/ σ for Fourier features]
//! ```

pub mod attention;
pub mod blocks;
pub mod config;
pub mod embedding;
pub mod resnet;

use crate::conv::conv2d;
use crate::silu::silu;
use burn::nn::conv::Conv2d;
use burn::nn::{Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig};
use burn::prelude::*;

pub use attention::AttentionBlock;
pub use blocks::{
    AttentionSettings, DownBlock2D, Downsample2D, UNetMidBlock2D, UpBlock2D, Upsample2D,
};
pub use config::{DownBlockType, TimeEmbeddingType, UNet2DConfig, UNetConfigError, UpBlockType};
pub use embedding::{TimeProjection, TimestepEmbedding, fourier_embedding, sinusoidal_embedding};
pub use resnet::{ResnetBlock2D, ResnetSettings};

use crate::input::{InputError, check_conditioning};
use resnet::conv3x3;

/// Scale of the Gaussian Fourier frequencies, as diffusers' `UNet2DModel` (Song et al. 2021).
pub const FOURIER_SCALE: f64 = 16.0;

/// The UNet noise / score network (Ho et al. 2020; Song et al. 2021 with Fourier features),
/// module for module diffusers' `UNet2DModel`. Build it with [`UNet2DConfig::init`].
#[derive(Module, Debug)]
pub struct UNet2D {
    /// 3×3 input convolution `in_channels → block_out_channels[0]`.
    pub conv_in: Conv2d,
    /// Sinusoidal or Fourier features of the noise level.
    pub time_proj: TimeProjection,
    /// Two-layer MLP on the time features.
    pub time_embedding: TimestepEmbedding,
    /// Class-label embedding added to the time embedding.
    pub class_embedding: Option<Embedding>,
    /// Encoder levels, finest first.
    pub down_blocks: Vec<DownBlock2D>,
    /// Bottleneck.
    pub mid_block: UNetMidBlock2D,
    /// Decoder levels, coarsest first.
    pub up_blocks: Vec<UpBlock2D>,
    /// Final GroupNorm.
    pub conv_norm_out: GroupNorm,
    /// 3×3 output convolution `block_out_channels[0] → out_channels`.
    pub conv_out: Conv2d,
    /// Map inputs from [0, 1] to [−1, 1] first.
    pub center_input_sample: bool,
    /// Divide the output by σ (Fourier features, Song et al. 2021).
    pub divide_by_sigma: bool,
    /// Rows of the class table (0 when unconditional).
    pub num_class_rows: usize,
    /// Whether the last class row is the null class.
    pub has_null_class: bool,
}

impl UNet2DConfig {
    /// Builds the network on `device`, panicking on an invalid configuration (see
    /// [`try_init`](Self::try_init)).
    pub fn init(&self, device: &Device) -> UNet2D {
        self.try_init(device).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the network on `device` after [`validate`](Self::validate).
    pub fn try_init(&self, device: &Device) -> Result<UNet2D, UNetConfigError> {
        self.validate()?;
        let ch = &self.block_out_channels;
        let levels = ch.len();
        let temb_dim = self.time_embed_dim();

        let time_proj = match self.time_embedding_type {
            TimeEmbeddingType::Positional => {
                TimeProjection::sinusoidal(ch[0], self.flip_sin_to_cos, self.freq_shift)
            }
            TimeEmbeddingType::Fourier => TimeProjection::fourier(ch[0], FOURIER_SCALE, device),
        };
        let time_embedding = TimestepEmbedding::new(time_proj.out_dim(), temb_dim, device);
        let num_class_rows = self
            .num_class_embeds
            .map_or(0, |n| n + usize::from(self.add_null_class));
        let class_embedding = (num_class_rows > 0)
            .then(|| EmbeddingConfig::new(num_class_rows, temb_dim).init(device));

        let resnet = ResnetSettings {
            temb_channels: temb_dim,
            groups: self.norm_num_groups,
            eps: self.norm_eps,
            dropout: self.dropout,
            output_scale_factor: 1.0,
        };
        let attn = AttentionSettings {
            head_dim: self.attention_head_dim,
            groups: self.norm_num_groups,
            eps: self.norm_eps,
        };

        let mut down_blocks = Vec::with_capacity(levels);
        let mut out_c = ch[0];
        for (i, kind) in self.down_block_types.iter().enumerate() {
            let in_c = out_c;
            out_c = ch[i];
            let is_last = i + 1 == levels;
            down_blocks.push(DownBlock2D::new(
                in_c,
                out_c,
                self.layers_per_block,
                resnet,
                (*kind == DownBlockType::AttnDownBlock2D).then_some(attn),
                (!is_last).then_some(self.downsample_padding),
                device,
            ));
        }

        let mid_resnet = ResnetSettings {
            output_scale_factor: self.mid_block_scale_factor,
            ..resnet
        };
        let mid_attn = AttentionSettings {
            groups: self.attn_norm_num_groups.unwrap_or(self.norm_num_groups),
            ..attn
        };
        let mid_block = UNetMidBlock2D::new(
            ch[levels - 1],
            mid_resnet,
            self.add_attention.then_some(mid_attn),
            device,
        );

        // Channel bookkeeping of diffusers' `UNet2DModel.__init__`, on the reversed levels.
        let rev: Vec<usize> = ch.iter().rev().copied().collect();
        let mut up_blocks = Vec::with_capacity(levels);
        let mut out_c = rev[0];
        for (i, kind) in self.up_block_types.iter().enumerate() {
            let prev_c = out_c;
            out_c = rev[i];
            let in_c = rev[(i + 1).min(levels - 1)];
            let is_last = i + 1 == levels;
            up_blocks.push(UpBlock2D::new(
                in_c,
                prev_c,
                out_c,
                self.layers_per_block + 1,
                resnet,
                (*kind == UpBlockType::AttnUpBlock2D).then_some(attn),
                !is_last,
                device,
            ));
        }

        Ok(UNet2D {
            conv_in: conv3x3(self.in_channels, ch[0], device),
            time_proj,
            time_embedding,
            class_embedding,
            down_blocks,
            mid_block,
            up_blocks,
            conv_norm_out: GroupNormConfig::new(self.norm_num_groups, ch[0])
                .with_epsilon(self.norm_eps)
                .init(device),
            conv_out: conv3x3(ch[0], self.out_channels, device),
            center_input_sample: self.center_input_sample,
            divide_by_sigma: self.time_embedding_type == TimeEmbeddingType::Fourier,
            num_class_rows,
            has_null_class: self.add_null_class && num_class_rows > 0,
        })
    }
}

impl UNet2D {
    /// The label of the null class (classifier-free guidance), when the model has one.
    pub fn null_class(&self) -> Option<usize> {
        self.has_null_class.then(|| self.num_class_rows - 1)
    }

    /// The conditioning vector `temb` `[B, temb_dim]`: time embedding plus class embedding.
    ///
    /// `t` holds timesteps (or σ for Fourier features), one per sample. For a class-conditional
    /// model, `None` labels select the null class; without a null class they are required.
    ///
    /// # Panics
    /// If labels are given to an unconditional model, or omitted where no null class exists.
    pub fn embed(&self, t: Tensor<1>, class_labels: Option<Tensor<1, Int>>) -> Tensor<2> {
        let [batch] = t.dims();
        let device = t.device();
        let temb = self.time_embedding.forward(self.time_proj.forward(t));
        match (&self.class_embedding, class_labels) {
            (None, None) => temb,
            (None, Some(_)) => panic!("class labels given to an unconditional UNet2D"),
            (Some(table), labels) => {
                let labels = labels.unwrap_or_else(|| {
                    let null = self
                        .null_class()
                        .expect("class-conditional UNet2D without a null class needs labels");
                    Tensor::<1, Int>::full([batch], null as i64, &device)
                });
                let cemb = table.forward(labels.reshape([batch, 1]));
                let [_, _, d] = cemb.dims();
                temb + cemb.reshape([batch, d])
            }
        }
    }

    /// [`forward`](Self::forward) after checking the shapes and the class conditioning, with
    /// the failure as a value. Label values are not read back from the device: a label past the
    /// table is the caller's to avoid.
    pub fn try_forward(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        class_labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<4>, InputError> {
        let [batch, channels, height, width] = x.dims();
        let [_, expected, _, _] = self.conv_in.weight.dims();
        if channels != expected {
            return Err(InputError::Features {
                expected,
                got: channels,
            });
        }
        let factor = 1usize << (self.down_blocks.len() - 1);
        if !height.is_multiple_of(factor) || !width.is_multiple_of(factor) {
            return Err(InputError::Resolution {
                height,
                width,
                factor,
            });
        }
        check_conditioning(
            "UNet2D",
            batch,
            t.dims()[0],
            class_labels.as_ref().map(|l| l.dims()[0]),
            self.class_embedding.is_some(),
            self.has_null_class,
        )?;
        Ok(self.forward(x, t, class_labels))
    }

    /// `x` `[B, C, H, W]` at noise levels `t` `[B]` → output `[B, out_channels, H, W]`
    /// (ε̂ for DDPM checkpoints; in general whatever the training objective targets). H and W
    /// must be divisible by `2^(levels − 1)`; [`try_forward`](Self::try_forward) checks that and
    /// the conditioning, where this panics or broadcasts.
    pub fn forward(
        &self,
        x: Tensor<4>,
        t: Tensor<1>,
        class_labels: Option<Tensor<1, Int>>,
    ) -> Tensor<4> {
        let sigma = self.divide_by_sigma.then(|| t.clone());
        let temb = self.embed(t, class_labels);
        // Every residual block applies SiLU to the same embedding: do it once.
        let temb_act = silu(temb);

        let x = if self.center_input_sample {
            x.mul_scalar(2.0).sub_scalar(1.0)
        } else {
            x
        };
        let mut h = conv2d(&self.conv_in, x);
        let mut skips = vec![h.clone()];
        for level in &self.down_blocks {
            h = level.forward(h, &temb_act, &mut skips);
        }
        h = self.mid_block.forward(h, &temb_act);
        for level in &self.up_blocks {
            h = level.forward(h, &temb_act, &mut skips);
        }
        let out = conv2d(&self.conv_out, silu(self.conv_norm_out.forward(h)));
        match sigma {
            Some(s) => {
                let [b] = s.dims();
                let s = s.cast(out.dtype()).reshape([b, 1, 1, 1]);
                out / s
            }
            None => out,
        }
    }
}
