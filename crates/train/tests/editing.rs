//! Editing with a network: known values come back exactly (inpainting pastes them at the last
//! step; colorisation keeps every pixel's grey level), results do not depend on the chunk
//! size, inversion round-trips, and bad inputs are errors. The exact-conditional checks of the
//! editing wrappers themselves are on Gaussian targets in scoreflow-score-matching's tests.

use burn::prelude::*;
use scoreflow_score_matching::editing::InversionMethod;
use scoreflow_train::config::{ModelConfig, ObjectiveConfig};
use scoreflow_train::editing::{DECOUPLE, Edit, edit};
use scoreflow_train::model::Network;
use scoreflow_train::objective::Objective;
use scoreflow_train::sampling::{GridKind, SampleRequest, standard_normals};

fn mlp(d: usize) -> Network {
    let config = ModelConfig::Mlp {
        hidden: 32,
        depth: 2,
        time_features: 16,
    };
    Network::build_seeded(&config, &[d], None, &Device::flex(), 11).unwrap()
}

fn tiny_unet() -> Network {
    use scoreflow_models::unet::{DownBlockType, UNet2DConfig, UpBlockType};
    let unet = UNet2DConfig::new(
        vec![8, 16],
        vec![DownBlockType::DownBlock2D, DownBlockType::DownBlock2D],
        vec![UpBlockType::UpBlock2D, UpBlockType::UpBlock2D],
    )
    .with_layers_per_block(1)
    .with_norm_num_groups(4);
    let config = ModelConfig::Unet {
        config: Box::new(unet),
    };
    Network::build_seeded(&config, &[3, 8, 8], None, &Device::flex(), 5).unwrap()
}

fn request(sampler: &str, steps: usize, chunk: usize) -> SampleRequest {
    SampleRequest {
        sampler: sampler.into(),
        steps,
        grid: GridKind::Karras { rho: 7.0 },
        sigma_min: None,
        sigma_max: None,
        seed: 4,
        options: Default::default(),
        chunk,
        first_sample: 0,
        guidance: None,
        moments: None,
    }
}

fn edm() -> scoreflow_train::denoiser::ModelView {
    Objective::build(&ObjectiveConfig::from_kind("edm").unwrap())
        .unwrap()
        .view()
}

#[test]
fn the_decoupled_basis_is_orthonormal_with_the_grey_axis_first() {
    for row in &DECOUPLE {
        assert!((row[0] - 1.0 / 3f64.sqrt()).abs() < 1e-15);
    }
    let column = |i: usize| DECOUPLE.map(|row| row[i]);
    for i in 0..3 {
        for j in 0..3 {
            let dot: f64 = column(i).iter().zip(column(j)).map(|(a, b)| a * b).sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-15, "columns {i}, {j}: {dot}");
        }
    }
}

#[test]
fn inpainting_keeps_the_known_values_and_ignores_the_chunk_size() {
    let (n, d) = (5, 4);
    let net = mlp(d);
    let view = edm();
    let known = standard_normals(1, n, d);
    let mask: Vec<f64> = (0..n * d).map(|i| f64::from(u8::from(i % d < 2))).collect();
    for (sampler, resamples, jump) in [
        ("heun", 1, 1),
        ("euler-ancestral", 1, 1),
        ("euler", 3, 1),
        ("euler", 3, 3),
    ] {
        let run = |chunk: usize| {
            let e = Edit::Inpaint {
                known: known.clone(),
                mask: mask.clone(),
                resamples,
                jump,
            };
            edit(
                &net,
                &view,
                &[d],
                &e,
                None,
                &request(sampler, 8, chunk),
                &Device::flex(),
            )
            .unwrap()
            .x
        };
        let whole = run(16);
        assert_eq!(
            whole,
            run(2),
            "{sampler} ×{resamples}: chunk size changed the result"
        );
        for (i, (x, y)) in whole.iter().zip(&known).enumerate() {
            if mask[i] == 1.0 {
                assert!((x - y).abs() < 1e-6, "{sampler}: known value {i} moved");
            }
        }
        let generated_moved = whole
            .iter()
            .zip(&known)
            .zip(&mask)
            .filter(|(_, m)| **m == 0.0)
            .any(|((x, y), _)| (x - y).abs() > 1e-3);
        assert!(
            generated_moved,
            "{sampler}: the masked part was not generated"
        );
    }
}

#[test]
fn colorisation_keeps_every_pixels_grey_level() {
    let net = tiny_unet();
    let view = edm();
    let (n, numel) = (2, 3 * 8 * 8);
    let images: Vec<f64> = standard_normals(2, n, numel)
        .iter()
        .map(|v| (0.5 * v).tanh())
        .collect();
    let e = Edit::Colorize {
        images: images.clone(),
        resamples: 1,
        jump: 1,
    };
    let out = edit(
        &net,
        &view,
        &[3, 8, 8],
        &e,
        None,
        &request("heun", 6, 4),
        &Device::flex(),
    )
    .unwrap()
    .x;
    let plane = 64;
    let mut colour_changed = false;
    for r in 0..n {
        for p in 0..plane {
            let grey = |v: &[f64]| (0..3).map(|c| v[r * numel + c * plane + p]).sum::<f64>() / 3.0;
            assert!(
                (grey(&out) - grey(&images)).abs() < 1e-5,
                "row {r} pixel {p}: grey {} vs {}",
                grey(&out),
                grey(&images)
            );
            colour_changed |= (out[r * numel + p] - images[r * numel + p]).abs() > 1e-3;
        }
    }
    assert!(colour_changed, "the colour was not generated");
}

#[test]
fn inversion_round_trips_and_heun_beats_euler() {
    let (n, d) = (4, 3);
    let net = mlp(d);
    let view = edm();
    let x: Vec<f64> = standard_normals(3, n, d).iter().map(|v| 0.5 * v).collect();
    let round_trip = |method: InversionMethod, steps: usize| {
        let req = SampleRequest {
            sigma_max: Some(5.0),
            ..request("heun", steps, 8)
        };
        let latent = edit(
            &net,
            &view,
            &[d],
            &Edit::Invert {
                input: x.clone(),
                method,
            },
            None,
            &req,
            &Device::flex(),
        )
        .unwrap()
        .x;
        let back = edit(
            &net,
            &view,
            &[d],
            &Edit::Decode { latent, method },
            None,
            &req,
            &Device::flex(),
        )
        .unwrap()
        .x;
        let num: f64 = back.iter().zip(&x).map(|(a, b)| (a - b).powi(2)).sum();
        let den: f64 = x.iter().map(|b| b * b).sum();
        (num / den).sqrt()
    };
    let heun = round_trip(InversionMethod::Heun, 64);
    let euler = round_trip(InversionMethod::Euler, 64);
    assert!(heun < 1e-3, "Heun round trip: relative error {heun:e}");
    assert!(heun < euler, "Heun {heun:e} vs Euler {euler:e}");
}

#[test]
fn bad_edits_are_errors() {
    let d = 2;
    let net = mlp(d);
    let view = edm();
    let x = standard_normals(0, 3, d);
    let run = |e: Edit| {
        edit(
            &net,
            &view,
            &[d],
            &e,
            None,
            &request("heun", 6, 8),
            &Device::flex(),
        )
        .unwrap_err()
        .to_string()
    };
    let err = run(Edit::SdEdit {
        input: x.clone(),
        sigma0: 500.0,
    });
    assert!(err.contains("sigma0"), "{err}");
    let err = run(Edit::Inpaint {
        known: x.clone(),
        mask: vec![1.0; 4],
        resamples: 1,
        jump: 1,
    });
    assert!(err.contains("mask"), "{err}");
    let err = run(Edit::Inpaint {
        known: x.clone(),
        mask: vec![0.5; 6],
        resamples: 1,
        jump: 1,
    });
    assert!(err.contains("mask"), "{err}");
    let err = run(Edit::Colorize {
        images: x.clone(),
        resamples: 1,
        jump: 1,
    });
    assert!(err.contains("RGB"), "{err}");
    let err = run(Edit::Invert {
        input: vec![0.0; 5],
        method: InversionMethod::Heun,
    });
    assert!(err.contains("multiple"), "{err}");
}
