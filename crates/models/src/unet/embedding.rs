//! Noise-level embeddings: the sinusoidal timestep embedding of Ho et al. (2020) and the Gaussian
//! Fourier features of Song et al. (2021), laid out as diffusers' `Timesteps`,
//! `GaussianFourierProjection` and `TimestepEmbedding` so that their state-dict keys apply.

use crate::silu::silu;
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::{DType, Distribution};

/// The period of the slowest sinusoid, as in Vaswani et al. (2017) and diffusers.
pub const MAX_PERIOD: f64 = 10_000.0;

/// Sinusoidal embedding of (possibly fractional) timesteps, diffusers' `get_timestep_embedding`.
///
/// With `h = dim / 2` and `s = freq_shift`, frequency `i` is `ωᵢ = exp(−ln(max_period)·i / (h − s))`
/// and the embedding is `[sin(t·ω), cos(t·ω)]` (`[cos, sin]` when `flip_sin_to_cos`), zero-padded
/// to `dim` when `dim` is odd (Ho et al. 2020, §B; Vaswani et al. 2017, §3.5). DDPM's original
/// code uses `s = 1`; most later models use `s = 0`.
///
/// Returns an **f32** tensor `[batch, dim]` whatever the device's float type: `t·ω` reaches
/// ≈ 1000, where half precision keeps no fractional digits and `sin` would be noise, so callers
/// cast the result to their working precision afterwards.
pub fn sinusoidal_embedding(
    t: Tensor<1>,
    dim: usize,
    flip_sin_to_cos: bool,
    freq_shift: f64,
    max_period: f64,
) -> Tensor<2> {
    let device = t.device();
    let [batch] = t.dims();
    let half = dim / 2;
    // Frequencies are formed with f32 arithmetic, in the order diffusers uses, so that they are
    // bit-for-bit those of the reference rather than a correctly rounded f64 version of them.
    let log_period = -(max_period.ln() as f32);
    let denom = half as f32 - freq_shift as f32;
    let freqs: Vec<f32> = (0..half)
        .map(|i| ((log_period * i as f32) / denom).exp())
        .collect();
    let freqs = Tensor::<1>::from_data(TensorData::new(freqs, [half]), (&device, DType::F32));
    let args = t.cast(DType::F32).reshape([batch, 1]) * freqs.reshape([1, half]);
    let (first, second) = if flip_sin_to_cos {
        (args.clone().cos(), args.sin())
    } else {
        (args.clone().sin(), args.cos())
    };
    let mut parts = vec![first, second];
    if dim % 2 == 1 {
        parts.push(Tensor::zeros([batch, 1], (&device, DType::F32)));
    }
    Tensor::cat(parts, 1)
}

/// Gaussian random Fourier features of the noise level (Song et al. 2021, score SDE; Tancik et
/// al. 2020): `γ(σ) = [sin(2π·log σ·W), cos(2π·log σ·W)]`, `W ~ 𝒩(0, scale²)` fixed, not trained.
///
/// diffusers' `GaussianFourierProjection(embedding_size, scale=16)` with `log=True`,
/// `flip_sin_to_cos=False`, the variant `UNet2DModel` builds for `time_embedding_type="fourier"`.
pub fn fourier_embedding(sigma: Tensor<1>, weight: Tensor<1>) -> Tensor<2> {
    let [batch] = sigma.dims();
    let [size] = weight.dims();
    let x = sigma.cast(DType::F32).log().reshape([batch, 1]);
    let w = weight.cast(DType::F32).reshape([1, size]);
    let proj = (x * w).mul_scalar(2.0 * core::f64::consts::PI);
    Tensor::cat(vec![proj.clone().sin(), proj.cos()], 1)
}

/// The parameter-free (sinusoidal) or fixed-random (Fourier) projection of the noise level,
/// diffusers' `time_proj`. Its only tensor, the Fourier `weight`, is stored under
/// `time_proj.weight` as in diffusers and excluded from training.
#[derive(Module, Debug)]
pub struct TimeProjection {
    /// Fourier frequencies `W` (`None` for the sinusoidal embedding).
    pub weight: Option<Param<Tensor<1>>>,
    /// Output width of the sinusoidal embedding.
    pub dim: usize,
    /// Sinusoidal layout: `[cos, sin]` instead of `[sin, cos]`.
    pub flip_sin_to_cos: bool,
    /// Sinusoidal frequency shift `s` (see [`sinusoidal_embedding`]).
    pub freq_shift: f64,
}

impl TimeProjection {
    /// Sinusoidal projection to `dim` features (Ho et al. 2020).
    pub fn sinusoidal(dim: usize, flip_sin_to_cos: bool, freq_shift: f64) -> Self {
        Self {
            weight: None,
            dim,
            flip_sin_to_cos,
            freq_shift,
        }
    }

    /// Gaussian Fourier projection to `2·size` features with `W ~ 𝒩(0, scale²)`, frozen
    /// (Song et al. 2021); diffusers' `UNet2DModel` uses `scale = 16`.
    pub fn fourier(size: usize, scale: f64, device: &Device) -> Self {
        let w = Tensor::<1>::random([size], Distribution::Normal(0.0, scale), device);
        // Frozen as in diffusers (`requires_grad=False`): the features are a fixed basis.
        let weight = Param::from_tensor(w).set_require_grad(false);
        Self {
            weight: Some(weight),
            dim: 2 * size,
            flip_sin_to_cos: false,
            freq_shift: 0.0,
        }
    }

    /// Width of the projection's output.
    pub fn out_dim(&self) -> usize {
        self.dim
    }

    /// `t` `[batch]` (timesteps, or σ for Fourier features) → f32 features `[batch, out_dim]`.
    pub fn forward(&self, t: Tensor<1>) -> Tensor<2> {
        match &self.weight {
            Some(w) => fourier_embedding(t, w.val()),
            None => sinusoidal_embedding(
                t,
                self.dim,
                self.flip_sin_to_cos,
                self.freq_shift,
                MAX_PERIOD,
            ),
        }
    }
}

/// diffusers' `TimestepEmbedding`: `linear_2(SiLU(linear_1(γ)))`, the two-layer MLP that DDPM
/// applies to the sinusoidal features (Ho et al. 2020, appendix B).
#[derive(Module, Debug)]
pub struct TimestepEmbedding {
    /// First projection, `in → dim`.
    pub linear_1: Linear,
    /// Second projection, `dim → dim`.
    pub linear_2: Linear,
}

impl TimestepEmbedding {
    /// A `in_dim → dim → dim` embedding MLP.
    pub fn new(in_dim: usize, dim: usize, device: &Device) -> Self {
        Self {
            linear_1: LinearConfig::new(in_dim, dim).init(device),
            linear_2: LinearConfig::new(dim, dim).init(device),
        }
    }

    /// `γ` `[batch, in]` (any float dtype; cast to the weights' dtype) → `[batch, dim]`.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        // The projection is computed in f32; the MLP runs in the weights' precision.
        let features = features.cast(self.linear_1.weight.val().dtype());
        self.linear_2.forward(silu(self.linear_1.forward(features)))
    }
}
