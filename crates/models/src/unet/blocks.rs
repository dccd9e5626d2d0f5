//! The resolution levels of the UNet (Ronneberger et al. 2015; DDPM, Ho et al. 2020): diffusers'
//! `DownBlock2D` / `AttnDownBlock2D`, `UNetMidBlock2D` and `UpBlock2D` / `AttnUpBlock2D`, with
//! the same submodule names (`resnets.i`, `attentions.i`, `downsamplers.0.conv`,
//! `upsamplers.0.conv`) so that diffusers' keys apply.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use super::attention::AttentionBlock;
use super::resnet::{ResnetBlock2D, ResnetSettings, conv3x3};
use crate::conv::conv2d;

/// Halving of the resolution by a 3×3 stride-2 convolution (diffusers `Downsample2D` with
/// `use_conv=True`).
///
/// `padding = 0` reproduces the original DDPM / TensorFlow "SAME" behaviour: one zero row and
/// column are added at the bottom and right only, which diffusers does with `F.pad(0, 1, 0, 1)`.
#[derive(Module, Debug)]
pub struct Downsample2D {
    /// The strided convolution.
    pub conv: Conv2d,
}

impl Downsample2D {
    /// `channels → channels`, halving H and W.
    pub fn new(channels: usize, padding: usize, device: &Device) -> Self {
        let pad = if padding == 0 {
            // (top, left, bottom, right)
            PaddingConfig2d::Explicit(0, 0, 1, 1)
        } else {
            PaddingConfig2d::Explicit(padding, padding, padding, padding)
        };
        Self {
            conv: Conv2dConfig::new([channels, channels], [3, 3])
                .with_stride([2, 2])
                .with_padding(pad)
                .init(device),
        }
    }

    /// `[B, C, H, W]` → `[B, C, H/2, W/2]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv2d(&self.conv, x)
    }
}

/// Doubling of the resolution: nearest-neighbour ×2 followed by a 3×3 convolution (diffusers
/// `Upsample2D` with `use_conv=True`; Ho et al. 2020).
#[derive(Module, Debug)]
pub struct Upsample2D {
    /// The convolution after the nearest-neighbour upsampling.
    pub conv: Conv2d,
}

impl Upsample2D {
    /// `channels → channels`, doubling H and W.
    pub fn new(channels: usize, device: &Device) -> Self {
        Self {
            conv: conv3x3(channels, channels, device),
        }
    }

    /// `[B, C, H, W]` → `[B, C, 2H, 2W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let opts =
            InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([2 * h, 2 * w]);
        conv2d(&self.conv, interpolate(x, opts))
    }
}

/// One encoder level: `layers_per_block` residual blocks (each followed by attention in an
/// `AttnDownBlock2D`), then a downsampler except at the last level.
#[derive(Module, Debug)]
pub struct DownBlock2D {
    /// Residual blocks; the first changes the channel count.
    pub resnets: Vec<ResnetBlock2D>,
    /// Attention after each residual block (empty for a plain `DownBlock2D`).
    pub attentions: Vec<AttentionBlock>,
    /// Zero or one downsampler.
    pub downsamplers: Vec<Downsample2D>,
}

/// Attention settings of a block: head width, GroupNorm groups and ε.
#[derive(Debug, Clone, Copy)]
pub struct AttentionSettings {
    /// Width of one head; `None` means one head spanning all channels (diffusers' default when
    /// `attention_head_dim` is null).
    pub head_dim: Option<usize>,
    /// GroupNorm groups.
    pub groups: usize,
    /// GroupNorm ε.
    pub eps: f64,
}

impl AttentionSettings {
    fn block(&self, channels: usize, rescale: f64, device: &Device) -> AttentionBlock {
        let head_dim = self.head_dim.unwrap_or(channels);
        AttentionBlock::new(channels, head_dim, self.groups, self.eps, rescale, device)
    }
}

impl DownBlock2D {
    /// A level `in_channels → out_channels` with `layers` residual blocks; `attention` adds an
    /// attention block after each; `downsample_padding` is `Some` unless this is the last level.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        layers: usize,
        resnet: ResnetSettings,
        attention: Option<AttentionSettings>,
        downsample_padding: Option<usize>,
        device: &Device,
    ) -> Self {
        let resnets = (0..layers)
            .map(|i| {
                let c_in = if i == 0 { in_channels } else { out_channels };
                ResnetBlock2D::new(c_in, out_channels, resnet, device)
            })
            .collect();
        let attentions = match attention {
            Some(a) => (0..layers)
                .map(|_| a.block(out_channels, 1.0, device))
                .collect(),
            None => Vec::new(),
        };
        let downsamplers = downsample_padding
            .map(|p| Downsample2D::new(out_channels, p, device))
            .into_iter()
            .collect();
        Self {
            resnets,
            attentions,
            downsamplers,
        }
    }

    /// Runs the level and pushes every intermediate output onto `skips` (one per residual
    /// block, plus the downsampled map), the tensors the decoder concatenates back in.
    pub fn forward(
        &self,
        mut x: Tensor<4>,
        temb_act: &Tensor<2>,
        skips: &mut Vec<Tensor<4>>,
    ) -> Tensor<4> {
        for (i, resnet) in self.resnets.iter().enumerate() {
            x = resnet.forward(x, temb_act);
            if let Some(attn) = self.attentions.get(i) {
                x = attn.forward(x);
            }
            skips.push(x.clone());
        }
        if let Some(down) = self.downsamplers.first() {
            x = down.forward(x);
            skips.push(x.clone());
        }
        x
    }
}

/// The bottleneck: residual block, attention, residual block (diffusers `UNetMidBlock2D` with
/// one layer).
#[derive(Module, Debug)]
pub struct UNetMidBlock2D {
    /// The two residual blocks.
    pub resnets: Vec<ResnetBlock2D>,
    /// The attention between them (empty when `add_attention` is false).
    pub attentions: Vec<AttentionBlock>,
}

impl UNetMidBlock2D {
    /// A bottleneck on `channels` channels; `scale` is diffusers' `mid_block_scale_factor`,
    /// the output divisor of all three sub-blocks.
    pub fn new(
        channels: usize,
        resnet: ResnetSettings,
        attention: Option<AttentionSettings>,
        device: &Device,
    ) -> Self {
        let scale = resnet.output_scale_factor;
        Self {
            resnets: vec![
                ResnetBlock2D::new(channels, channels, resnet, device),
                ResnetBlock2D::new(channels, channels, resnet, device),
            ],
            attentions: attention
                .map(|a| a.block(channels, scale, device))
                .into_iter()
                .collect(),
        }
    }

    /// `[B, C, H, W]` → `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>, temb_act: &Tensor<2>) -> Tensor<4> {
        let mut x = self.resnets[0].forward(x, temb_act);
        for (i, resnet) in self.resnets.iter().enumerate().skip(1) {
            if let Some(attn) = self.attentions.get(i - 1) {
                x = attn.forward(x);
            }
            x = resnet.forward(x, temb_act);
        }
        x
    }
}

/// One decoder level: `layers_per_block + 1` residual blocks, each taking the concatenation of
/// the running map and one encoder skip (attention after each in an `AttnUpBlock2D`), then an
/// upsampler except at the last level.
#[derive(Module, Debug)]
pub struct UpBlock2D {
    /// Residual blocks on `[running, skip]` concatenations.
    pub resnets: Vec<ResnetBlock2D>,
    /// Attention after each residual block (empty for a plain `UpBlock2D`).
    pub attentions: Vec<AttentionBlock>,
    /// Zero or one upsampler.
    pub upsamplers: Vec<Upsample2D>,
}

impl UpBlock2D {
    /// A level producing `out_channels`, with `prev_channels` coming from the level below and
    /// skips of `out_channels` (and `in_channels` for the last, which met the downsampler of the
    /// encoder level above), as diffusers' `res_skip_channels` / `resnet_in_channels`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        prev_channels: usize,
        out_channels: usize,
        layers: usize,
        resnet: ResnetSettings,
        attention: Option<AttentionSettings>,
        upsample: bool,
        device: &Device,
    ) -> Self {
        let resnets = (0..layers)
            .map(|i| {
                let skip = if i == layers - 1 {
                    in_channels
                } else {
                    out_channels
                };
                let c_in = if i == 0 { prev_channels } else { out_channels };
                ResnetBlock2D::new(c_in + skip, out_channels, resnet, device)
            })
            .collect();
        let attentions = match attention {
            Some(a) => (0..layers)
                .map(|_| a.block(out_channels, 1.0, device))
                .collect(),
            None => Vec::new(),
        };
        let upsamplers = upsample
            .then(|| Upsample2D::new(out_channels, device))
            .into_iter()
            .collect();
        Self {
            resnets,
            attentions,
            upsamplers,
        }
    }

    /// Runs the level, popping one skip per residual block from the end of `skips`.
    pub fn forward(
        &self,
        mut x: Tensor<4>,
        temb_act: &Tensor<2>,
        skips: &mut Vec<Tensor<4>>,
    ) -> Tensor<4> {
        for (i, resnet) in self.resnets.iter().enumerate() {
            let skip = skips
                .pop()
                .expect("UNet decoder ran out of skip connections (encoder/decoder mismatch)");
            x = resnet.forward(Tensor::cat(vec![x, skip], 1), temb_act);
            if let Some(attn) = self.attentions.get(i) {
                x = attn.forward(x);
            }
        }
        if let Some(up) = self.upsamplers.first() {
            x = up.forward(x);
        }
        x
    }
}
