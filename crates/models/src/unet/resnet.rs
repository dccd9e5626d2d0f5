//! The residual block of DDPM (Ho et al. 2020, after Zagoruyko & Komodakis' wide ResNet), laid
//! out as diffusers' `ResnetBlock2D` with `time_embedding_norm="default"`, `pre_norm=True`.

use crate::conv::conv2d;
use crate::silu::silu;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Dropout, DropoutConfig, GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;

/// A 3×3, stride-1, zero-padded convolution (spatial size preserved).
pub(crate) fn conv3x3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// Residual block with time conditioning (Ho et al. 2020, appendix B; diffusers `ResnetBlock2D`):
///
/// ```text
/// h = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(temb))[:, :, None, None]
/// h = conv2(dropout(SiLU(norm2(h))))
/// y = (shortcut(x) + h) / output_scale_factor
/// ```
///
/// `shortcut` is a 1×1 convolution (`conv_shortcut`) when the channel count changes, else the
/// identity.
#[derive(Module, Debug)]
pub struct ResnetBlock2D {
    /// GroupNorm over the input channels.
    pub norm1: GroupNorm,
    /// 3×3 convolution `in → out`.
    pub conv1: Conv2d,
    /// Projection of the (activated) time embedding to a per-channel bias.
    pub time_emb_proj: Linear,
    /// GroupNorm over the output channels.
    pub norm2: GroupNorm,
    /// Dropout before the second convolution (DDPM uses 0.1 on CIFAR-10).
    pub dropout: Dropout,
    /// 3×3 convolution `out → out`.
    pub conv2: Conv2d,
    /// 1×1 convolution on the skip path when `in ≠ out`.
    pub conv_shortcut: Option<Conv2d>,
    /// Divisor of the block's output (1 except in some mid blocks).
    pub output_scale_factor: f64,
}

/// Settings of a [`ResnetBlock2D`].
#[derive(Debug, Clone, Copy)]
pub struct ResnetSettings {
    /// Width of the time embedding.
    pub temb_channels: usize,
    /// GroupNorm groups (both norms).
    pub groups: usize,
    /// GroupNorm ε.
    pub eps: f64,
    /// Dropout probability.
    pub dropout: f64,
    /// Output divisor.
    pub output_scale_factor: f64,
}

impl ResnetBlock2D {
    /// A block `in_channels → out_channels`.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        s: ResnetSettings,
        device: &Device,
    ) -> Self {
        let norm = |c: usize| {
            GroupNormConfig::new(s.groups, c)
                .with_epsilon(s.eps)
                .init(device)
        };
        let conv_shortcut = (in_channels != out_channels)
            .then(|| Conv2dConfig::new([in_channels, out_channels], [1, 1]).init(device));
        Self {
            norm1: norm(in_channels),
            conv1: conv3x3(in_channels, out_channels, device),
            time_emb_proj: LinearConfig::new(s.temb_channels, out_channels).init(device),
            norm2: norm(out_channels),
            dropout: DropoutConfig::new(s.dropout).init(),
            conv2: conv3x3(out_channels, out_channels, device),
            conv_shortcut,
            output_scale_factor: s.output_scale_factor,
        }
    }

    /// `x` `[B, in, H, W]`, `temb_act = SiLU(temb)` `[B, temb]` → `[B, out, H, W]`.
    ///
    /// The caller passes the *activated* embedding: every block of the network applies the same
    /// SiLU to the same `temb`, so it is computed once per forward pass.
    pub fn forward(&self, x: Tensor<4>, temb_act: &Tensor<2>) -> Tensor<4> {
        let h = conv2d(&self.conv1, silu(self.norm1.forward(x.clone())));
        let [b, c] = [h.dims()[0], h.dims()[1]];
        let t = self
            .time_emb_proj
            .forward(temb_act.clone())
            .reshape([b, c, 1, 1]);
        let h = h + t;
        let h = conv2d(
            &self.conv2,
            self.dropout.forward(silu(self.norm2.forward(h))),
        );
        let skip = match &self.conv_shortcut {
            Some(conv) => conv2d(conv, x),
            None => x,
        };
        let y = skip + h;
        if self.output_scale_factor == 1.0 {
            y
        } else {
            y.div_scalar(self.output_scale_factor)
        }
    }
}
