//! Spatial self-attention over the pixels of a feature map, as in DDPM's 16×16 attention
//! (Ho et al. 2020) — diffusers' `Attention` with `_from_deprecated_attn_block=True`,
//! `residual_connection=True`, run by `AttnProcessor2_0`.

use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

/// Multi-head self-attention block (Vaswani et al. 2017) over the `H·W` positions:
///
/// ```text
/// h = GroupNorm(x) viewed as [B, H·W, C]
/// q, k, v = h·W_q, h·W_k, h·W_v          split into heads of width d
/// a = softmax(q kᵀ / √d) v              per head, heads concatenated
/// y = (a·W_o + x) / rescale_output_factor
/// ```
///
/// Keys follow diffusers: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0` (stored here as
/// `to_out`; the loader renames the key).
#[derive(Module, Debug)]
pub struct AttentionBlock {
    /// GroupNorm over channels before the projections.
    pub group_norm: GroupNorm,
    /// Query projection `C → heads·d`.
    pub to_q: Linear,
    /// Key projection `C → heads·d`.
    pub to_k: Linear,
    /// Value projection `C → heads·d`.
    pub to_v: Linear,
    /// Output projection `heads·d → C` (diffusers' `to_out.0`).
    pub to_out: Linear,
    /// Number of heads.
    pub heads: usize,
    /// Divisor of the output, after the residual sum.
    pub rescale_output_factor: f64,
}

impl AttentionBlock {
    /// Attention over `channels`, heads of width `head_dim` (`heads = channels / head_dim`,
    /// floored as in diffusers), GroupNorm with `groups` groups and ε = `eps`.
    pub fn new(
        channels: usize,
        head_dim: usize,
        groups: usize,
        eps: f64,
        rescale_output_factor: f64,
        device: &Device,
    ) -> Self {
        let heads = (channels / head_dim).max(1);
        let inner = heads * head_dim;
        Self {
            group_norm: GroupNormConfig::new(groups, channels)
                .with_epsilon(eps)
                .init(device),
            to_q: LinearConfig::new(channels, inner).init(device),
            to_k: LinearConfig::new(channels, inner).init(device),
            to_v: LinearConfig::new(channels, inner).init(device),
            to_out: LinearConfig::new(inner, channels).init(device),
            heads,
            rescale_output_factor,
        }
    }

    /// `x` `[B, C, H, W]` → `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let n = h * w;
        let tokens = self
            .group_norm
            .forward(x.clone())
            .reshape([b, c, n])
            .swap_dims(1, 2);
        let split = |t: Tensor<3>| {
            let inner = t.dims()[2];
            t.reshape([b, n, self.heads, inner / self.heads])
                .swap_dims(1, 2)
        };
        let q = split(self.to_q.forward(tokens.clone()));
        let k = split(self.to_k.forward(tokens.clone()));
        let v = split(self.to_v.forward(tokens));
        // Default options: scale 1/√d, no mask, no softcap — PyTorch's SDPA as diffusers calls it.
        let a = attention(q, k, v, None, None, AttentionModuleOptions::default());
        let [_, heads, _, d] = a.dims();
        let a = a.swap_dims(1, 2).reshape([b, n, heads * d]);
        let out = self.to_out.forward(a).swap_dims(1, 2).reshape([b, c, h, w]);
        let y = out + x;
        if self.rescale_output_factor == 1.0 {
            y
        } else {
            y.div_scalar(self.rescale_output_factor)
        }
    }
}
