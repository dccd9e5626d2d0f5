//! A residual MLP for low-dimensional data (2-D toy distributions, Gaussian mixtures), with the
//! same sinusoidal time conditioning and optional class conditioning as the UNet.

use crate::silu::silu;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::DType;

use crate::input::{InputError, check_conditioning};
use crate::unet::embedding::MAX_PERIOD;
use crate::unet::{TimestepEmbedding, sinusoidal_embedding};

/// Configuration of an [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Dimension of the data (input and output).
    pub data_dim: usize,
    /// Width of the hidden layers and of the time embedding.
    #[config(default = 256)]
    pub hidden: usize,
    /// Number of residual hidden layers.
    #[config(default = 3)]
    pub depth: usize,
    /// Width of the sinusoidal time features.
    #[config(default = 64)]
    pub time_features: usize,
    /// Factor applied to `t` before the sinusoidal features: continuous times in [0, 1] need
    /// ≈ 1000 so that the fastest sinusoid turns over many times across the range, as integer
    /// DDPM timesteps do (Ho et al. 2020; Song et al. 2021).
    #[config(default = 1000.0)]
    pub time_scale: f64,
    /// Number of classes for class conditioning (`None`: unconditional).
    pub num_classes: Option<usize>,
    /// Append a null class (label `num_classes`) for classifier-free guidance
    /// (Ho & Salimans 2022).
    #[config(default = true)]
    pub add_null_class: bool,
}

/// Residual MLP conditioned on time (and optionally a class):
///
/// ```text
/// e = time_embedding(γ(time_scale·t)) [+ class_embedding(y)]      γ: sinusoidal (Ho et al. 2020)
/// h = input(x)
/// h ← h + layerᵢ(SiLU(h + e))      for i = 1…depth
/// out = output(SiLU(h))
/// ```
///
/// The embedding is added before every activation so that each layer sees the noise level, not
/// only the first.
#[derive(Module, Debug)]
pub struct Mlp {
    /// `data_dim → hidden`.
    pub input: Linear,
    /// Sinusoidal features → `hidden` (two layers with SiLU, as the UNet's).
    pub time_embedding: TimestepEmbedding,
    /// Class table (`num_classes [+ 1]` rows × `hidden`).
    pub class_embedding: Option<Embedding>,
    /// Residual layers `hidden → hidden`.
    pub layers: Vec<Linear>,
    /// `hidden → data_dim`.
    pub output: Linear,
    /// Width of the sinusoidal features.
    pub time_features: usize,
    /// Scale applied to `t` before the features.
    pub time_scale: f64,
    /// Label of the null class, if any.
    pub null_class: Option<usize>,
}

impl MlpConfig {
    /// Builds the network on `device`.
    pub fn init(&self, device: &Device) -> Mlp {
        assert!(
            self.data_dim > 0 && self.hidden > 0,
            "MLP dimensions must be positive"
        );
        let rows = self
            .num_classes
            .map(|n| n + usize::from(self.add_null_class));
        Mlp {
            input: LinearConfig::new(self.data_dim, self.hidden).init(device),
            time_embedding: TimestepEmbedding::new(self.time_features, self.hidden, device),
            class_embedding: rows.map(|r| EmbeddingConfig::new(r, self.hidden).init(device)),
            layers: (0..self.depth)
                .map(|_| LinearConfig::new(self.hidden, self.hidden).init(device))
                .collect(),
            output: LinearConfig::new(self.hidden, self.data_dim).init(device),
            time_features: self.time_features,
            time_scale: self.time_scale,
            null_class: self.num_classes.filter(|_| self.add_null_class),
        }
    }
}

impl Mlp {
    /// [`forward`](Self::forward) after checking the shapes and the class conditioning, with
    /// the failure as a value.
    pub fn try_forward(
        &self,
        x: Tensor<2>,
        t: Tensor<1>,
        class_labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<2>, InputError> {
        let [batch, features] = x.dims();
        let [expected, _] = self.input.weight.dims();
        if features != expected {
            return Err(InputError::Features {
                expected,
                got: features,
            });
        }
        check_conditioning(
            "Mlp",
            batch,
            t.dims()[0],
            class_labels.as_ref().map(|l| l.dims()[0]),
            self.class_embedding.is_some(),
            self.null_class.is_some(),
        )?;
        Ok(self.forward(x, t, class_labels))
    }

    /// `x` `[B, data_dim]` at times `t` `[B]` → `[B, data_dim]`. For a class-conditional model,
    /// `None` labels select the null class.
    ///
    /// # Panics
    /// If labels are given to an unconditional model, or omitted where no null class exists.
    pub fn forward(
        &self,
        x: Tensor<2>,
        t: Tensor<1>,
        class_labels: Option<Tensor<1, Int>>,
    ) -> Tensor<2> {
        let [batch, _] = x.dims();
        let device = x.device();
        // Flip and shift as the common "[cos, sin], shift 0" convention of later diffusion code.
        let features = sinusoidal_embedding(
            // Scale in f32: in half precision t·1000 would already be rounded.
            t.cast(DType::F32).mul_scalar(self.time_scale),
            self.time_features,
            true,
            0.0,
            MAX_PERIOD,
        );
        let mut e = self.time_embedding.forward(features);
        match (&self.class_embedding, class_labels) {
            (None, None) => {}
            (None, Some(_)) => panic!("class labels given to an unconditional Mlp"),
            (Some(table), labels) => {
                let labels = labels.unwrap_or_else(|| {
                    let null = self
                        .null_class
                        .expect("class-conditional Mlp without a null class needs labels");
                    Tensor::<1, Int>::full([batch], null as i64, &device)
                });
                let c = table.forward(labels.reshape([batch, 1]));
                let [_, _, d] = c.dims();
                e = e + c.reshape([batch, d]);
            }
        }
        let mut h = self.input.forward(x);
        for layer in &self.layers {
            h = h.clone() + layer.forward(silu(h + e.clone()));
        }
        self.output.forward(silu(h))
    }
}
