//! Loading diffusers `UNet2DModel` checkpoints (`config.json` + `*.safetensors`, diffusers' own key
//! names) into [`UNet2D`].
//!
//! The weights go through burn-store: its [`PyTorchToBurnAdapter`] transposes `Linear` weights
//! (PyTorch `[out, in]` → burn `[in, out]`) and renames GroupNorm `weight`/`bias` to
//! `gamma`/`beta`; the few names that differ are rewritten by the regex rules of
//! [`DIFFUSERS_KEY_RULES`]. Convolution weights share PyTorch's `[out, in, kh, kw]` layout.
//! Tensors are cast to the model's float type, so fp16 checkpoints load into an f32 model.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{
    ApplyError, FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter,
    SafetensorsStore,
};
use serde::Deserialize;

use crate::unet::{
    DownBlockType, TimeEmbeddingType, UNet2D, UNet2DConfig, UNetConfigError, UpBlockType,
};

/// Key rewrites from diffusers' state-dict names to this crate's module paths, applied in order
/// as `(regex, replacement)`.
///
/// - `to_out.0` is a one-layer `ModuleList` in diffusers (the `.1` is a parameter-free dropout);
///   here it is a plain `Linear`.
/// - `query`/`key`/`value`/`proj_attn` are the attention names of checkpoints saved before
///   diffusers 0.15 (such as the original `google/ddpm-*` uploads), which diffusers itself
///   renames on load.
/// - `time_proj.W` is the pre-rename name of the Fourier frequencies.
pub const DIFFUSERS_KEY_RULES: &[(&str, &str)] = &[
    (r"\.to_out\.0\.", ".to_out."),
    (r"(attentions\.\d+)\.query\.", "$1.to_q."),
    (r"(attentions\.\d+)\.key\.", "$1.to_k."),
    (r"(attentions\.\d+)\.value\.", "$1.to_v."),
    (r"(attentions\.\d+)\.proj_attn\.", "$1.to_out."),
    (r"^time_proj\.W$", "time_proj.weight"),
];

/// Why a diffusers checkpoint could not be loaded. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum DiffusersError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config is not valid JSON for a `UNet2DModel`.
    #[error("{}: not a diffusers UNet2DModel config: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The config asks for a feature this crate does not implement.
    #[error("{}: unsupported setting {field} = {value}", path.display())]
    Unsupported {
        /// The config file.
        path: PathBuf,
        /// The config key.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// The config describes an inconsistent network.
    #[error("{}: {source}", path.display())]
    InvalidConfig {
        /// The config file.
        path: PathBuf,
        /// The inconsistency.
        source: UNetConfigError,
    },
    /// The safetensors file could not be parsed.
    #[error("{}: cannot read safetensors: {message}", path.display())]
    Store {
        /// The weights file.
        path: PathBuf,
        /// burn-store's message.
        message: String,
    },
    /// The model has parameters the file does not provide.
    #[error("{}: missing tensors (after key remapping): {}", path.display(), keys.join(", "))]
    MissingKeys {
        /// The weights file.
        path: PathBuf,
        /// Module paths without a tensor.
        keys: Vec<String>,
    },
    /// The file has tensors the model has no parameter for.
    #[error("{}: unexpected tensors (after key remapping): {}", path.display(), keys.join(", "))]
    UnexpectedKeys {
        /// The weights file.
        path: PathBuf,
        /// Tensor names without a parameter.
        keys: Vec<String>,
    },
    /// A tensor's shape differs from its parameter's.
    #[error("{}: shape mismatch for {key}: model expects {expected:?}, file has {found:?}", path.display())]
    ShapeMismatch {
        /// The weights file.
        path: PathBuf,
        /// The module path.
        key: String,
        /// The parameter's shape (burn layout).
        expected: Vec<usize>,
        /// The stored tensor's shape (after adaptation).
        found: Vec<usize>,
    },
    /// Another per-tensor failure (dtype, adapter, decoding).
    #[error("{}: {}", path.display(), messages.join("; "))]
    Tensor {
        /// The weights file.
        path: PathBuf,
        /// burn-store's messages.
        messages: Vec<String>,
    },
}

fn default_block_out_channels() -> Vec<usize> {
    vec![224, 448, 672, 896]
}
fn default_down_types() -> Vec<String> {
    [
        "DownBlock2D",
        "AttnDownBlock2D",
        "AttnDownBlock2D",
        "AttnDownBlock2D",
    ]
    .map(String::from)
    .to_vec()
}
fn default_up_types() -> Vec<String> {
    [
        "AttnUpBlock2D",
        "AttnUpBlock2D",
        "AttnUpBlock2D",
        "UpBlock2D",
    ]
    .map(String::from)
    .to_vec()
}
fn default_mid_type() -> Option<String> {
    Some("UNetMidBlock2D".into())
}
fn default_head_dim() -> Option<usize> {
    Some(8)
}
fn default_groups() -> Option<usize> {
    Some(32)
}

/// The arguments of diffusers' `UNet2DModel.__init__`, with its defaults for absent keys (a
/// `null` is kept as `None`, which diffusers treats differently from an absent key for
/// `attention_head_dim`). Unknown keys (`_class_name`, `_use_default_values`, …) are ignored.
#[derive(Debug, Deserialize)]
struct DiffusersUNet2DConfig {
    #[serde(default)]
    sample_size: Option<serde_json::Value>,
    #[serde(default = "three")]
    in_channels: usize,
    #[serde(default = "three")]
    out_channels: usize,
    #[serde(default)]
    center_input_sample: bool,
    #[serde(default = "positional")]
    time_embedding_type: String,
    #[serde(default)]
    time_embedding_dim: Option<usize>,
    #[serde(default)]
    freq_shift: f64,
    #[serde(default = "yes")]
    flip_sin_to_cos: bool,
    #[serde(default = "default_down_types")]
    down_block_types: Vec<String>,
    #[serde(default = "default_mid_type")]
    mid_block_type: Option<String>,
    #[serde(default = "default_up_types")]
    up_block_types: Vec<String>,
    #[serde(default = "default_block_out_channels")]
    block_out_channels: Vec<usize>,
    #[serde(default = "two")]
    layers_per_block: usize,
    #[serde(default = "one_f")]
    mid_block_scale_factor: f64,
    #[serde(default = "one")]
    downsample_padding: usize,
    #[serde(default = "conv")]
    downsample_type: String,
    #[serde(default = "conv")]
    upsample_type: String,
    #[serde(default)]
    dropout: f64,
    #[serde(default = "silu_name")]
    act_fn: String,
    #[serde(default = "default_head_dim")]
    attention_head_dim: Option<usize>,
    #[serde(default = "default_groups")]
    norm_num_groups: Option<usize>,
    #[serde(default)]
    attn_norm_num_groups: Option<usize>,
    #[serde(default = "eps_default")]
    norm_eps: f64,
    #[serde(default = "default_name")]
    resnet_time_scale_shift: String,
    #[serde(default = "yes")]
    add_attention: bool,
    #[serde(default)]
    class_embed_type: Option<String>,
    #[serde(default)]
    num_class_embeds: Option<usize>,
}

fn three() -> usize {
    3
}
fn two() -> usize {
    2
}
fn one() -> usize {
    1
}
fn one_f() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}
fn eps_default() -> f64 {
    1e-5
}
fn positional() -> String {
    "positional".into()
}
fn conv() -> String {
    "conv".into()
}
fn silu_name() -> String {
    "silu".into()
}
fn default_name() -> String {
    "default".into()
}

/// Parses a diffusers `UNet2DModel` `config.json` (its text) into a [`UNet2DConfig`]; `path` only
/// labels errors. Settings this crate does not implement (`resnet_time_scale_shift =
/// "scale_shift"`, `class_embed_type`, resnet down/upsamplers, activations other than SiLU, …)
/// are reported as [`DiffusersError::Unsupported`] rather than silently ignored.
pub fn parse_unet2d_config(json: &str, path: &Path) -> Result<UNet2DConfig, DiffusersError> {
    let c: DiffusersUNet2DConfig =
        serde_json::from_str(json).map_err(|e| DiffusersError::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let unsupported = |field: &'static str, value: String| DiffusersError::Unsupported {
        path: path.to_path_buf(),
        field,
        value,
    };
    if !matches!(c.act_fn.as_str(), "silu" | "swish") {
        return Err(unsupported("act_fn", c.act_fn));
    }
    if c.resnet_time_scale_shift != "default" {
        return Err(unsupported(
            "resnet_time_scale_shift",
            c.resnet_time_scale_shift,
        ));
    }
    if c.downsample_type != "conv" {
        return Err(unsupported("downsample_type", c.downsample_type));
    }
    if c.upsample_type != "conv" {
        return Err(unsupported("upsample_type", c.upsample_type));
    }
    if c.mid_block_type.as_deref() != Some("UNetMidBlock2D") {
        return Err(unsupported(
            "mid_block_type",
            format!("{:?}", c.mid_block_type),
        ));
    }
    if let Some(kind) = c.class_embed_type {
        return Err(unsupported("class_embed_type", kind));
    }
    let Some(norm_num_groups) = c.norm_num_groups else {
        return Err(unsupported("norm_num_groups", "null".into()));
    };
    let time_embedding_type = match c.time_embedding_type.as_str() {
        "positional" => TimeEmbeddingType::Positional,
        "fourier" => TimeEmbeddingType::Fourier,
        _ => return Err(unsupported("time_embedding_type", c.time_embedding_type)),
    };
    let down_block_types = c
        .down_block_types
        .iter()
        .map(|s| match s.as_str() {
            "DownBlock2D" => Ok(DownBlockType::DownBlock2D),
            "AttnDownBlock2D" => Ok(DownBlockType::AttnDownBlock2D),
            _ => Err(unsupported("down_block_types", s.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let up_block_types = c
        .up_block_types
        .iter()
        .map(|s| match s.as_str() {
            "UpBlock2D" => Ok(UpBlockType::UpBlock2D),
            "AttnUpBlock2D" => Ok(UpBlockType::AttnUpBlock2D),
            _ => Err(unsupported("up_block_types", s.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // `sample_size` is an int or an [h, w] pair; only documentation here.
    let sample_size = match &c.sample_size {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(32) as usize,
        Some(serde_json::Value::Array(a)) => {
            a.first().and_then(|v| v.as_u64()).unwrap_or(32) as usize
        }
        _ => 32,
    };

    let mut config = UNet2DConfig::new(c.block_out_channels, down_block_types, up_block_types)
        .with_sample_size(sample_size)
        .with_in_channels(c.in_channels)
        .with_out_channels(c.out_channels)
        .with_layers_per_block(c.layers_per_block)
        .with_norm_num_groups(norm_num_groups)
        .with_norm_eps(c.norm_eps)
        .with_dropout(c.dropout)
        .with_time_embedding_type(time_embedding_type)
        .with_flip_sin_to_cos(c.flip_sin_to_cos)
        .with_freq_shift(c.freq_shift)
        .with_mid_block_scale_factor(c.mid_block_scale_factor)
        .with_downsample_padding(c.downsample_padding)
        .with_add_attention(c.add_attention)
        .with_center_input_sample(c.center_input_sample)
        .with_add_null_class(false);
    config.attention_head_dim = c.attention_head_dim;
    config.attn_norm_num_groups = c.attn_norm_num_groups;
    config.time_embedding_dim = c.time_embedding_dim;
    config.num_class_embeds = c.num_class_embeds;
    config
        .validate()
        .map_err(|source| DiffusersError::InvalidConfig {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(config)
}

/// Reads a diffusers `UNet2DModel` `config.json` (see [`parse_unet2d_config`]).
pub fn load_unet2d_config(path: impl AsRef<Path>) -> Result<UNet2DConfig, DiffusersError> {
    let path = path.as_ref();
    let json = std::fs::read_to_string(path).map_err(|source| DiffusersError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_unet2d_config(&json, path)
}

/// Loads diffusers `UNet2DModel` weights (a safetensors file under diffusers' key names) into
/// `model`, which must have been built from the matching config. Every parameter must be found
/// and every tensor used, with matching shapes; otherwise the model is left partially loaded
/// and a typed error names the file and the keys. Returns the number of tensors applied.
pub fn load_unet2d_weights(
    model: &mut UNet2D,
    path: impl AsRef<Path>,
) -> Result<usize, DiffusersError> {
    let path = path.as_ref();
    // burn-store reports a missing file as a generic I/O error; check first to name it.
    std::fs::metadata(path).map_err(|source| DiffusersError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // burn-store loads an f16 file as f16 parameters; cast every tensor to the model's float
    // type instead, so fp16 checkpoint variants load into an f32 (or bf16) model.
    let dtype = model.conv_in.weight.val().dtype();
    let remapper = KeyRemapper::from_patterns(DIFFUSERS_KEY_RULES.to_vec())
        .expect("DIFFUSERS_KEY_RULES are valid regular expressions");
    // Partial application and no validation: the ApplyResult is inspected below and turned
    // into typed errors instead of burn-store's formatted strings.
    let mut store = SafetensorsStore::from_file(path)
        .remap(remapper)
        .with_from_adapter(PyTorchToBurnAdapter.chain(FloatCastAdapter::to(dtype)))
        .allow_partial(true)
        .validate(false);
    let result = model
        .load_from(&mut store)
        .map_err(|e| DiffusersError::Store {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;

    let mut others = Vec::new();
    for error in &result.errors {
        match error {
            ApplyError::ShapeMismatch {
                path: key,
                expected,
                found,
            } => {
                return Err(DiffusersError::ShapeMismatch {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    expected: expected.to_vec(),
                    found: found.to_vec(),
                });
            }
            other => others.push(other.to_string()),
        }
    }
    if !others.is_empty() {
        return Err(DiffusersError::Tensor {
            path: path.to_path_buf(),
            messages: others,
        });
    }
    if !result.missing.is_empty() {
        return Err(DiffusersError::MissingKeys {
            path: path.to_path_buf(),
            keys: result.missing.iter().map(|(k, _)| k.clone()).collect(),
        });
    }
    if !result.unused.is_empty() {
        return Err(DiffusersError::UnexpectedKeys {
            path: path.to_path_buf(),
            keys: result.unused.clone(),
        });
    }
    Ok(result.applied.len())
}

/// Builds a [`UNet2D`] from a diffusers `config.json` and loads its safetensors weights, on
/// `device`.
pub fn load_unet2d(
    config_path: impl AsRef<Path>,
    weights_path: impl AsRef<Path>,
    device: &Device,
) -> Result<UNet2D, DiffusersError> {
    let config_path = config_path.as_ref();
    let config = load_unet2d_config(config_path)?;
    let mut model = config
        .try_init(device)
        .map_err(|source| DiffusersError::InvalidConfig {
            path: config_path.to_path_buf(),
            source,
        })?;
    load_unet2d_weights(&mut model, weights_path)?;
    Ok(model)
}
