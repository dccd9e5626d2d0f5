//! The benchmark workloads: names, errors, and a training step that trains.

use burn::prelude::*;
use scoreflow_models::bench::{BenchError, BenchNetwork, ModelBench, Workload};
use scoreflow_models::{MlpConfig, UNet2DConfig};

#[test]
fn names_round_trip_and_unknown_names_are_errors() {
    for network in BenchNetwork::ALL {
        assert_eq!(network.name().parse::<BenchNetwork>().unwrap(), network);
    }
    for workload in Workload::ALL {
        assert_eq!(workload.name().parse::<Workload>().unwrap(), workload);
    }
    assert!(matches!(
        "unet".parse::<BenchNetwork>(),
        Err(BenchError::UnknownNetwork(_))
    ));
    assert!(matches!(
        "backward".parse::<Workload>(),
        Err(BenchError::UnknownWorkload(_))
    ));
    assert!(matches!(
        ModelBench::new(
            BenchNetwork::Mlp2d,
            Workload::Forward,
            0,
            &Device::flex(),
            0
        ),
        Err(BenchError::EmptyBatch)
    ));
}

#[test]
fn workloads_carry_the_presets_parameter_counts() {
    let device = Device::flex();
    let mlp = ModelBench::new(BenchNetwork::Mlp2d, Workload::TrainStep, 4, &device, 0).unwrap();
    assert_eq!(
        mlp.num_params(),
        MlpConfig::new(2).init(&device).num_params()
    );
    let small = ModelBench::new(BenchNetwork::UNetSmall, Workload::Forward, 2, &device, 0).unwrap();
    assert_eq!(
        small.num_params(),
        UNet2DConfig::small_mnist().init(&device).num_params()
    );
}

#[test]
fn the_training_step_lowers_the_loss_on_its_fixed_batch() {
    let device = Device::flex();
    let mut bench =
        ModelBench::new(BenchNetwork::Mlp2d, Workload::TrainStep, 256, &device, 7).unwrap();
    let losses: Vec<f32> = (0..40).map(|_| bench.step().unwrap()).collect();
    let (first, last) = (losses[0], losses[39]);
    eprintln!("MSE {first} → {last}");
    // Targets are N(0, 1): the loss starts near 1 + Var(output) and AdamW pulls it down.
    assert!(first > 0.9, "first loss {first}");
    assert!(last < 0.95 * first, "40 AdamW steps: {first} → {last}");
}
