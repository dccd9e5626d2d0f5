//! `scoreflow check-diffusers`: loads a diffusers `UNet2DModel` checkpoint, runs the recorded
//! inputs through it on a device, and compares with the output diffusers produced — the parity
//! check of one network across devices (CPU here, `cuda` and `vulkan` on a GPU machine).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;
use scoreflow_models::device_from_name;
use scoreflow_models::diffusers::load_unet2d;

use crate::error::CliError;

/// Arguments of `check-diffusers`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Device: flex, ndarray, wgpu, vulkan, cuda or cuda:N.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Folder with `<name>.config.json`, `<name>.safetensors`, `input_x.npy` (f32 [B, C, H, W]),
    /// `input_t.npy` (i64, shape B) and `expected_out.npy` (f32, diffusers' output).
    #[arg(long)]
    fixture: PathBuf,
    /// Checkpoint name inside the folder.
    #[arg(long, default_value = "small")]
    name: String,
    /// Largest relative L2 error ‖out − expected‖ / ‖expected‖ accepted (exit status 1 above it).
    #[arg(long, default_value_t = 1e-3)]
    tolerance: f64,
}

fn read<T: ndarray_npy::ReadableElement>(path: &Path) -> Result<ArrayD<T>, CliError> {
    let file = std::fs::File::open(path).map_err(|e| CliError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    ArrayD::<T>::read_npy(file).map_err(|e| CliError::File {
        path: path.to_path_buf(),
        message: format!("not a .npy array of the expected type ({e})"),
    })
}

/// Runs the command.
pub fn run(args: &Args) -> Result<(), CliError> {
    let device = device_from_name(&args.device)?;
    if !(args.tolerance.is_finite() && args.tolerance > 0.0) {
        return Err(CliError::Argument {
            name: "tolerance",
            message: format!("{} must be finite and > 0", args.tolerance),
        });
    }
    let dir = &args.fixture;
    let x = read::<f32>(&dir.join("input_x.npy"))?;
    let t = read::<i64>(&dir.join("input_t.npy"))?;
    let expected = read::<f32>(&dir.join("expected_out.npy"))?;
    if x.ndim() != 4 || t.ndim() != 1 || t.len() != x.shape()[0] {
        return Err(CliError::File {
            path: dir.join("input_x.npy"),
            message: format!(
                "inputs of shapes {:?} and {:?}: expected [B, C, H, W] and [B]",
                x.shape(),
                t.shape()
            ),
        });
    }
    crate::device::start(&device)?;
    let start = Instant::now();
    let model = load_unet2d(
        dir.join(format!("{}.config.json", args.name)),
        dir.join(format!("{}.safetensors", args.name)),
        &device,
    )
    .map_err(|e| CliError::File {
        path: dir.clone(),
        message: e.to_string(),
    })?;
    let shape = x.shape().to_vec();
    let x = Tensor::<4>::from_data(
        TensorData::new(x.iter().copied().collect::<Vec<f32>>(), shape.clone()),
        &device,
    );
    let t_values: Vec<f32> = t.iter().map(|&v| v as f32).collect();
    let t = Tensor::<1>::from_data(TensorData::new(t_values, [shape[0]]), &device);
    let out = model
        .try_forward(x, t, None)
        .map_err(|e| CliError::Argument {
            name: "fixture",
            message: e.to_string(),
        })?;
    let out_shape = out.dims().to_vec();
    let out: Vec<f64> = out.try_to_vec_as::<f64>().map_err(|e| CliError::Argument {
        name: "device",
        message: format!("reading the output back failed: {e:?}"),
    })?;
    let seconds = start.elapsed().as_secs_f64();
    if out_shape != expected.shape() {
        return Err(CliError::Argument {
            name: "fixture",
            message: format!(
                "output shape {out_shape:?}, expected_out.npy has {:?}",
                expected.shape()
            ),
        });
    }
    let (mut err2, mut ref2, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
    for (&o, &e) in out.iter().zip(expected.iter()) {
        let d = o - e as f64;
        err2 += d * d;
        ref2 += (e as f64) * (e as f64);
        max_abs = max_abs.max(d.abs());
    }
    let rel_l2 = (err2 / ref2).sqrt();
    println!(
        "{}",
        serde_json::json!({
            "device": args.device,
            "checkpoint": args.name,
            "params": model.num_params(),
            "max_abs": max_abs,
            "rel_l2": rel_l2,
            "seconds": seconds,
        })
    );
    // A NaN error (non-finite output) fails too.
    if rel_l2.is_nan() || rel_l2 > args.tolerance {
        return Err(CliError::Argument {
            name: "tolerance",
            message: format!(
                "relative L2 error {rel_l2:.3e} on {} exceeds {:.1e}",
                args.device, args.tolerance
            ),
        });
    }
    Ok(())
}
