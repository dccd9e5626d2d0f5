//! A trained network's `InputError` reaches the caller of a sampler or a likelihood as an error
//! value (`SolveError::Model`, the `InputError` inside), through the parameterisation adapter:
//! the path a network takes from `scoreflow-models` to the samplers, with nothing panicking.

use burn::prelude::*;
use ndarray::Array2;
use scoreflow_models::{InputError, Mlp, MlpConfig, device_from_name};
use scoreflow_noise_schedules::{SigmaGrid, VpLinear};
use scoreflow_ode_sde_solvers::samplers::{
    GaussianNoise, SAMPLER_NAMES, SampleContext, SamplerOptions, by_name,
};
use scoreflow_ode_sde_solvers::{FallibleFn, SolveError};
use scoreflow_score_matching::parameterization::{Parameterization, ScheduleDenoiser, TimeInput};

/// The network on an ndarray batch: f32 tensors on the device, `try_forward`, back to f64.
fn forward(mlp: &Mlp, device: &Device, x: &Array2<f64>, c: f64) -> Result<Array2<f64>, InputError> {
    let (n, d) = x.dim();
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let x_t = Tensor::<2>::from_data(TensorData::new(data, [n, d]), device);
    let t = Tensor::<1>::from_data(TensorData::new(vec![c as f32; n], [n]), device);
    let out: Vec<f64> = mlp
        .try_forward(x_t, t, None)?
        .try_to_vec_as()
        .expect("read back");
    Ok(Array2::from_shape_vec((n, d), out).expect("same shape"))
}

#[test]
fn a_networks_input_error_is_every_samplers_error() {
    let device = device_from_name("flex").unwrap();
    let mlp = MlpConfig::new(3)
        .with_hidden(16)
        .with_depth(1)
        .init(&device);
    let schedule = VpLinear::default();
    let network = FallibleFn(|x: &Array2<f64>, c: f64| forward(&mlp, &device, x, c));
    let model = ScheduleDenoiser {
        network,
        schedule: &schedule,
        parameterization: Parameterization::Epsilon,
        time_input: TimeInput::Scaled(999.0),
    };
    let grid = SigmaGrid::karras(4, 0.01, 80.0, 7.0).unwrap();
    // Points of the right width go through; 2-D points into a 3-D network do not.
    for (width, fails) in [(3, false), (2, true)] {
        for &name in SAMPLER_NAMES {
            let x0 = Array2::from_shape_fn((5, width), |(i, j)| (i as f64 - 2.0) + 0.5 * j as f64);
            let sampler = by_name::<Array2<f64>>(name, &SamplerOptions::default()).unwrap();
            let mut noise = GaussianNoise::new(&x0, &[1, 2, 3, 4, 5]).unwrap();
            let mut ctx = SampleContext {
                noise: Some(&mut noise),
                callback: None,
            };
            let result = sampler.sample(&model, x0, &grid, &mut ctx);
            if !fails {
                assert!(result.is_ok(), "{name}: {:?}", result.err());
                continue;
            }
            let err = result.expect_err(name);
            let SolveError::Model(e) = &err else {
                panic!("{name}: expected the model's error, got {err:?}");
            };
            assert!(
                matches!(
                    e.downcast_ref::<InputError>(),
                    Some(InputError::Features {
                        expected: 3,
                        got: 2
                    })
                ),
                "{name}: {err}"
            );
            assert!(
                err.to_string()
                    .contains("the network expects 3 input channels/features, got 2"),
                "{name}: {err}"
            );
        }
    }
}
