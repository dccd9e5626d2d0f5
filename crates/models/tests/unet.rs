//! UNet2D: parameter count of the DDPM CIFAR-10 preset, parity with diffusers on a seeded
//! checkpoint, loader errors, and autodiff gradients against central finite differences.

use std::path::PathBuf;

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use scoreflow_models::diffusers::{
    DiffusersError, load_unet2d, load_unet2d_config, load_unet2d_weights,
};
use scoreflow_models::unet::{
    DownBlockType, UNet2D, UNet2DConfig, UpBlockType, sinusoidal_embedding,
};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/diffusers-unet2d"
);

/// The fixture folder, or `None` (with a message) when `../shared` is absent.
fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(FIXTURES);
    if dir.join("small.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!("skipping: fixtures not found at {}", dir.display());
        None
    }
}

fn read_f32(path: &std::path::Path) -> (Vec<f32>, Vec<usize>) {
    let a: ndarray::ArrayD<f32> = ndarray_npy::read_npy(path).expect("read .npy");
    let shape = a.shape().to_vec();
    (a.iter().copied().collect(), shape)
}

fn read_i64(path: &std::path::Path) -> Vec<i64> {
    let a: ndarray::ArrayD<i64> = ndarray_npy::read_npy(path).expect("read .npy");
    a.iter().copied().collect()
}

fn to_vec(t: Tensor<4>) -> Vec<f64> {
    t.try_to_vec_as::<f64>().expect("read back")
}

/// Runs the fixture inputs through `model` on `device` and returns (output, expected).
fn run_fixture(model: &UNet2D, dir: &std::path::Path, device: &Device) -> (Vec<f64>, Vec<f64>) {
    let (x, shape) = read_f32(&dir.join("input_x.npy"));
    let t = read_i64(&dir.join("input_t.npy"));
    let (expected, eshape) = read_f32(&dir.join("expected_out.npy"));
    assert_eq!(shape, eshape);
    let x = Tensor::<4>::from_data(TensorData::new(x, shape.clone()), device);
    let t: Vec<f32> = t.iter().map(|&v| v as f32).collect();
    let n = t.len();
    let t = Tensor::<1>::from_data(TensorData::new(t, [n]), device);
    let out = model.forward(x, t, None);
    assert_eq!(out.dims().to_vec(), shape);
    (to_vec(out), expected.iter().map(|&v| v as f64).collect())
}

#[test]
fn ddpm_cifar10_has_the_published_parameter_count() {
    let model = UNet2DConfig::ddpm_cifar10().init(&Device::flex());
    assert_eq!(model.num_params(), 35_746_307);
}

/// The count agrees with the independent PyTorch mirror in `scripts/bench_torch.py`.
#[test]
fn small_mnist_has_the_mirrors_parameter_count() {
    let model = UNet2DConfig::small_mnist().init(&Device::flex());
    assert_eq!(model.num_params(), 1_112_801);
    let x = Tensor::<4>::zeros([2, 1, 28, 28], &Device::flex());
    let out = model.forward(x, Tensor::from_floats([10.0, 900.0], &Device::flex()), None);
    assert_eq!(out.dims(), [2, 1, 28, 28]);
}

#[test]
fn ddpm_cifar10_preset_matches_its_diffusers_config() {
    let Some(dir) = fixtures() else { return };
    let parsed = load_unet2d_config(dir.join("ddpm-cifar10-32.config.json")).unwrap();
    let preset = UNet2DConfig::ddpm_cifar10();
    assert_eq!(
        serde_json::to_value(&parsed).unwrap(),
        serde_json::to_value(&preset).unwrap()
    );
}

#[test]
fn small_checkpoint_matches_diffusers_output() {
    let Some(dir) = fixtures() else { return };
    let device = Device::flex();
    let model = load_unet2d(
        dir.join("small.config.json"),
        dir.join("small.safetensors"),
        &device,
    )
    .expect("load the small diffusers UNet");
    assert_eq!(model.num_params(), 702_499);
    let (out, expected) = run_fixture(&model, &dir, &device);
    let max_err = out
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!("max |burn − diffusers| = {max_err:.3e}");
    assert!(max_err <= 1e-4, "max abs error {max_err}");
}

/// flex and ndarray agree on the same weights (only with `--features ndarray`).
#[cfg(feature = "ndarray")]
#[test]
#[allow(deprecated)]
fn flex_and_ndarray_agree() {
    let Some(dir) = fixtures() else { return };
    let mut outs = Vec::new();
    for device in [Device::flex(), Device::ndarray()] {
        let model = load_unet2d(
            dir.join("small.config.json"),
            dir.join("small.safetensors"),
            &device,
        )
        .unwrap();
        outs.push(run_fixture(&model, &dir, &device).0);
    }
    let num: f64 = outs[0]
        .iter()
        .zip(&outs[1])
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let den: f64 = outs[0].iter().map(|a| a * a).sum();
    let rel = (num / den).sqrt();
    eprintln!("flex vs ndarray relative L2 = {rel:.3e}");
    assert!(rel <= 1e-5, "relative L2 {rel}");
}

#[test]
fn missing_weights_file_is_a_typed_error() {
    let Some(dir) = fixtures() else { return };
    let config = load_unet2d_config(dir.join("small.config.json")).unwrap();
    let mut model = config.init(&Device::flex());
    let err = load_unet2d_weights(&mut model, dir.join("absent.safetensors")).unwrap_err();
    assert!(matches!(err, DiffusersError::Io { .. }), "{err}");
    assert!(err.to_string().contains("absent.safetensors"));
    let err = load_unet2d_config(dir.join("absent.json")).unwrap_err();
    assert!(matches!(err, DiffusersError::Io { .. }), "{err}");
}

#[test]
fn mismatched_checkpoints_are_typed_errors() {
    let Some(dir) = fixtures() else { return };
    let weights = dir.join("small.safetensors");
    let base = load_unet2d_config(dir.join("small.config.json")).unwrap();
    let device = Device::flex();

    // A class table the file lacks.
    let mut model = base.clone().with_num_class_embeds(Some(10)).init(&device);
    match load_unet2d_weights(&mut model, &weights).unwrap_err() {
        DiffusersError::MissingKeys { keys, path } => {
            assert_eq!(keys, vec!["class_embedding.weight".to_string()]);
            assert!(path.ends_with("small.safetensors"));
        }
        e => panic!("expected MissingKeys, got {e}"),
    }

    // No mid-block attention: its tensors are left over.
    let mut model = base.clone().with_add_attention(false).init(&device);
    match load_unet2d_weights(&mut model, &weights).unwrap_err() {
        DiffusersError::UnexpectedKeys { keys, .. } => {
            assert!(!keys.is_empty());
            assert!(
                keys.iter()
                    .all(|k| k.starts_with("mid_block.attentions.0.")),
                "{keys:?}"
            );
        }
        e => panic!("expected UnexpectedKeys, got {e}"),
    }

    // Wider first level: shapes differ.
    let mut wider = base.clone();
    wider.block_out_channels = vec![40, 64];
    let mut model = wider.init(&device);
    match load_unet2d_weights(&mut model, &weights).unwrap_err() {
        DiffusersError::ShapeMismatch {
            key,
            expected,
            found,
            ..
        } => {
            assert_ne!(expected, found, "{key}");
        }
        e => panic!("expected ShapeMismatch, got {e}"),
    }
}

#[test]
fn sinusoidal_embedding_matches_the_formula() {
    let device = Device::flex();
    let t = Tensor::<1>::from_floats([0.0, 1.0, 873.0], &device);
    for (flip, shift) in [(false, 1.0), (true, 0.0)] {
        let dim = 7; // odd: one zero pad column
        let e: Vec<f64> = sinusoidal_embedding(t.clone(), dim, flip, shift, 10_000.0)
            .try_to_vec_as::<f64>()
            .unwrap();
        let half = dim / 2;
        for (b, &tv) in [0.0f64, 1.0, 873.0].iter().enumerate() {
            for i in 0..half {
                let w = (-(10_000f64.ln()) * i as f64 / (half as f64 - shift)).exp();
                let (s, c) = ((tv * w).sin(), (tv * w).cos());
                let (first, second) = if flip { (c, s) } else { (s, c) };
                let row = &e[b * dim..(b + 1) * dim];
                // f32 arguments near 873 carry ≈ 3e-5 absolute rounding.
                assert!((row[i] - first).abs() < 1e-4, "t={tv} i={i}");
                assert!((row[half + i] - second).abs() < 1e-4, "t={tv} i={i}");
                assert_eq!(row[dim - 1], 0.0);
            }
        }
    }
}

fn tiny_config() -> UNet2DConfig {
    UNet2DConfig::new(
        vec![8, 16],
        vec![DownBlockType::DownBlock2D, DownBlockType::AttnDownBlock2D],
        vec![UpBlockType::AttnUpBlock2D, UpBlockType::UpBlock2D],
    )
    .with_sample_size(8)
    .with_in_channels(2)
    .with_out_channels(2)
    .with_layers_per_block(1)
    .with_norm_num_groups(4)
    .with_norm_eps(1e-6)
    .with_attention_head_dim(Some(4))
    .with_downsample_padding(0)
    .with_num_class_embeds(Some(3))
    .with_add_null_class(true)
}

/// Host-side loss `Σ r ⊙ f(x)` in f64, so that finite differences are not drowned by an f32
/// reduction.
fn host_loss(model: &UNet2D, x: &Tensor<4>, t: &Tensor<1>, y: &Tensor<1, Int>, r: &[f64]) -> f64 {
    let out = to_vec(model.forward(x.clone(), t.clone(), Some(y.clone())));
    out.iter().zip(r).map(|(a, b)| a * b).sum()
}

/// `model` with one element of a parameter moved by `delta`.
fn perturbed<const D: usize>(
    model: &UNet2D,
    field: fn(&mut UNet2D) -> &mut Param<Tensor<D>>,
    index: usize,
    delta: f64,
) -> UNet2D {
    let mut m = model.clone();
    let p = field(&mut m);
    let w = p.val();
    let device = w.device();
    let shape = w.shape();
    let mut v: Vec<f32> = w.try_to_vec_as::<f32>().unwrap();
    v[index] += delta as f32;
    *p = Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), &device));
    m
}

fn check_gradient<const D: usize>(
    name: &str,
    ad_model: &UNet2D,
    grads: &burn::tensor::Gradients,
    plain: &UNet2D,
    field: fn(&mut UNet2D) -> &mut Param<Tensor<D>>,
    inputs: (&Tensor<4>, &Tensor<1>, &Tensor<1, Int>, &[f64]),
) {
    let mut ad = ad_model.clone();
    let g: Vec<f64> = field(&mut ad)
        .val()
        .grad(grads)
        .unwrap_or_else(|| panic!("no gradient for {name}"))
        .try_to_vec_as::<f64>()
        .unwrap();
    // The two largest-|g| entries: non-negligible gradients, far above the f32 noise floor.
    let mut order: Vec<usize> = (0..g.len()).collect();
    order.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
    let (x, t, y, r) = inputs;
    let h = 1e-2;
    for &i in order.iter().take(2) {
        let fp = host_loss(&perturbed(plain, field, i, h), x, t, y, r);
        let fm = host_loss(&perturbed(plain, field, i, -h), x, t, y, r);
        let fd = (fp - fm) / (2.0 * h);
        let rel = (fd - g[i]).abs() / g[i].abs().max(1e-3);
        eprintln!(
            "{name}[{i}]: autodiff {:+.6e}, central difference {fd:+.6e}, rel {rel:.1e}",
            g[i]
        );
        assert!(
            rel <= 5e-3,
            "{name}[{i}]: autodiff {} vs finite difference {fd}",
            g[i]
        );
    }
}

#[test]
fn gradients_match_central_finite_differences() {
    let device = Device::flex().autodiff();
    device.seed(7);
    let model = tiny_config().init(&device);
    let x = Tensor::<4>::random([2, 2, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<1>::from_floats([3.0, 611.0], &device);
    let y = Tensor::<1, Int>::from_ints([1, 3], &device); // 3 is the null class
    let r: Vec<f64> = Tensor::<4>::random([2, 2, 8, 8], Distribution::Normal(0.0, 1.0), &device)
        .try_to_vec_as::<f64>()
        .unwrap();

    let out = model.forward(x.clone(), t.clone(), Some(y.clone()));
    let weights = Tensor::<4>::from_data(TensorData::new(r.clone(), [2, 2, 8, 8]), &device);
    let grads = (out * weights).sum().backward();

    let plain = model.valid();
    let (xp, tp, yp) = (x.inner(), t.inner(), y.inner());
    let inputs = (&xp, &tp, &yp, r.as_slice());
    check_gradient(
        "conv_in.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.conv_in.weight,
        inputs,
    );
    check_gradient(
        "time_embedding.linear_1.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.time_embedding.linear_1.weight,
        inputs,
    );
    check_gradient(
        "class_embedding.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.class_embedding.as_mut().unwrap().weight,
        inputs,
    );
    check_gradient(
        "down_blocks.1.attentions.0.to_q.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.down_blocks[1].attentions[0].to_q.weight,
        inputs,
    );
    check_gradient(
        "down_blocks.0.downsamplers.0.conv.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.down_blocks[0].downsamplers[0].conv.weight,
        inputs,
    );
    check_gradient(
        "mid_block.resnets.1.norm2.gamma",
        &model,
        &grads,
        &plain,
        |m| m.mid_block.resnets[1].norm2.gamma.as_mut().unwrap(),
        inputs,
    );
    check_gradient(
        "up_blocks.0.resnets.1.conv_shortcut.weight",
        &model,
        &grads,
        &plain,
        |m| {
            &mut m.up_blocks[0].resnets[1]
                .conv_shortcut
                .as_mut()
                .unwrap()
                .weight
        },
        inputs,
    );
    check_gradient(
        "up_blocks.0.upsamplers.0.conv.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.up_blocks[0].upsamplers[0].conv.weight,
        inputs,
    );
    check_gradient(
        "conv_out.weight",
        &model,
        &grads,
        &plain,
        |m| &mut m.conv_out.weight,
        inputs,
    );
}

#[test]
fn fourier_features_build_a_score_sde_unet() {
    use scoreflow_models::unet::TimeEmbeddingType;
    // Autodiff device: there the frozen frequencies must not require gradients.
    let device = Device::flex().autodiff();
    let config = tiny_config()
        .with_num_class_embeds(None)
        .with_time_embedding_type(TimeEmbeddingType::Fourier);
    let model = config.init(&device);
    // diffusers: GaussianFourierProjection(8) holds 8 frozen frequencies, and the embedding MLP
    // takes 2·8 features.
    let w = model
        .time_proj
        .weight
        .as_ref()
        .expect("Fourier frequencies");
    assert_eq!(w.val().dims(), [8]);
    assert!(!w.val().is_require_grad());
    assert!(model.conv_in.weight.val().is_require_grad());
    assert_eq!(model.time_embedding.linear_1.weight.val().dims(), [16, 32]);
    let x = Tensor::<4>::random([2, 2, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    // σ = 1 and 2: the output is divided by σ (Song et al. 2021's parameterisation).
    let out = model.forward(x, Tensor::<1>::from_floats([1.0, 2.0], &device), None);
    assert_eq!(out.dims(), [2, 2, 8, 8]);
    assert!(to_vec(out).iter().all(|v| v.is_finite()));
}
