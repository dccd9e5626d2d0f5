//! `try_forward` reports inputs that do not fit the network as typed errors, not panics.

use burn::prelude::*;
use scoreflow_models::unet::{DownBlockType, UNet2DConfig, UpBlockType};
use scoreflow_models::{InputError, MlpConfig};

fn tiny_unet(num_classes: Option<usize>, null_class: bool) -> UNet2DConfig {
    UNet2DConfig::new(
        vec![8, 16],
        vec![DownBlockType::DownBlock2D, DownBlockType::DownBlock2D],
        vec![UpBlockType::UpBlock2D, UpBlockType::UpBlock2D],
    )
    .with_layers_per_block(1)
    .with_norm_num_groups(4)
    .with_in_channels(2)
    .with_out_channels(2)
    .with_num_class_embeds(num_classes)
    .with_add_null_class(null_class)
}

#[test]
fn unet_rejects_mismatched_shapes() {
    let device = Device::flex();
    let model = tiny_unet(None, false).init(&device);
    let t = Tensor::<1>::zeros([2], &device);
    let err = model
        .try_forward(Tensor::zeros([2, 3, 8, 8], &device), t.clone(), None)
        .unwrap_err();
    assert_eq!(
        err,
        InputError::Features {
            expected: 2,
            got: 3
        }
    );
    let err = model
        .try_forward(Tensor::zeros([2, 2, 8, 7], &device), t.clone(), None)
        .unwrap_err();
    assert_eq!(
        err,
        InputError::Resolution {
            height: 8,
            width: 7,
            factor: 2
        }
    );
    let err = model
        .try_forward(
            Tensor::zeros([2, 2, 8, 8], &device),
            Tensor::zeros([1], &device),
            None,
        )
        .unwrap_err();
    assert_eq!(
        err,
        InputError::BatchMismatch {
            what: "timesteps",
            expected: 2,
            got: 1
        }
    );
    let out = model
        .try_forward(Tensor::zeros([2, 2, 8, 8], &device), t, None)
        .expect("fitting inputs run");
    assert_eq!(out.dims(), [2, 2, 8, 8]);
}

#[test]
fn unet_checks_class_conditioning() {
    let device = Device::flex();
    let x = Tensor::<4>::zeros([2, 2, 8, 8], &device);
    let t = Tensor::<1>::zeros([2], &device);
    let labels = Tensor::<1, Int>::from_ints([0, 1], &device);

    let unconditional = tiny_unet(None, false).init(&device);
    assert_eq!(
        unconditional
            .try_forward(x.clone(), t.clone(), Some(labels.clone()))
            .unwrap_err(),
        InputError::UnexpectedLabels { network: "UNet2D" }
    );

    let without_null = tiny_unet(Some(3), false).init(&device);
    assert_eq!(
        without_null
            .try_forward(x.clone(), t.clone(), None)
            .unwrap_err(),
        InputError::MissingLabels { network: "UNet2D" }
    );
    assert_eq!(
        without_null
            .try_forward(
                x.clone(),
                t.clone(),
                Some(Tensor::<1, Int>::from_ints([0, 1, 2], &device))
            )
            .unwrap_err(),
        InputError::BatchMismatch {
            what: "class labels",
            expected: 2,
            got: 3
        }
    );

    // With a null class, omitted labels mean "unconditional": the same output as the null label.
    let with_null = tiny_unet(Some(3), true).init(&device);
    let implicit = with_null.try_forward(x.clone(), t.clone(), None).unwrap();
    let explicit = with_null
        .try_forward(x, t, Some(Tensor::<1, Int>::from_ints([3, 3], &device)))
        .unwrap();
    let diff = (implicit - explicit).abs().max().into_scalar::<f32>();
    assert_eq!(diff, 0.0);
}

#[test]
fn mlp_checks_its_inputs() {
    let device = Device::flex();
    let model = MlpConfig::new(2).with_hidden(16).init(&device);
    let t = Tensor::<1>::zeros([4], &device);
    assert_eq!(
        model
            .try_forward(Tensor::zeros([4, 3], &device), t.clone(), None)
            .unwrap_err(),
        InputError::Features {
            expected: 2,
            got: 3
        }
    );
    assert_eq!(
        model
            .try_forward(
                Tensor::zeros([4, 2], &device),
                t.clone(),
                Some(Tensor::<1, Int>::zeros([4], &device))
            )
            .unwrap_err(),
        InputError::UnexpectedLabels { network: "Mlp" }
    );
    assert_eq!(
        model
            .try_forward(
                Tensor::zeros([4, 2], &device),
                Tensor::zeros([5], &device),
                None
            )
            .unwrap_err(),
        InputError::BatchMismatch {
            what: "timesteps",
            expected: 4,
            got: 5
        }
    );
    let out = model
        .try_forward(Tensor::zeros([4, 2], &device), t, None)
        .unwrap();
    assert_eq!(out.dims(), [4, 2]);
}
