//! The classifier objective and its training loop.

use std::sync::Arc;
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use scoreflow_models::Classifier;

use super::draws::{add_noise, shift_images, sigmas, step_rng};
use super::eval::{argmax, forward_host, host};
use super::{ClassifierReport, ClassifierRunConfig, c_noise};
use crate::config::ConfigError;
use crate::data::{DataKind, Dataset, Loader};
use crate::error::TrainError;

/// Steps between host reads of the losses: each read synchronises an asynchronous device.
const READ_EVERY: usize = 50;

/// Trains a noise-conditional classifier on the labelled `dataset` with the *classifier
/// objective* (Song et al. 2021, §5 and appendix I.1; Dhariwal & Nichol 2021, §4):
///
/// ```text
/// σ ~ σ_min w.p. clean_fraction, else ln σ ~ 𝒩(P_mean, P_std²)     (Karras et al. 2022, §5)
/// x_σ = shift(x) + σ·ε,   ε ~ 𝒩(0, I)
/// ℓ = −E[ ln softmax(f(x_σ, ¼ ln σ))_y ]
/// ```
///
/// minimised by AdamW (Loshchilov & Hutter 2019) with warm-up and cosine decay. Its minimiser is
/// the Bayes posterior p(y | x_σ) of the noised data at every σ, which is what classifier
/// guidance needs. Batches come from a [`Loader`] (order a function of (seed, epoch)); the
/// shifts, levels and noise of step k are drawn from ChaCha8 keyed by (seed, k), and the initial
/// weights from burn's generator seeded with `seed`. Returns the classifier on `device` without
/// autodiff.
///
/// # Errors
/// [`TrainError::Config`] / [`TrainError::Model`] for a configuration or a network that does not
/// fit the data (unlabelled data, another sample shape, fewer classes than labels, shifts of
/// points); [`TrainError::Data`] for unreadable data; [`TrainError::NonFinite`] for a non-finite
/// loss.
pub fn train_classifier(
    config: &ClassifierRunConfig,
    dataset: Arc<dyn Dataset>,
    device: &Device,
) -> Result<(Classifier, ClassifierReport), TrainError> {
    let started = Instant::now();
    config.check()?;
    check_fit(config, dataset.as_ref())?;
    let autodiff = device.clone().autodiff();
    autodiff.seed(config.seed);
    let mut model = config
        .network
        .try_init(&autodiff)
        .map_err(|e| TrainError::Model(e.to_string()))?;
    materialise(&model);
    let mut optimizer = AdamWConfig::new()
        .with_beta_1(config.beta1 as f32)
        .with_beta_2(config.beta2 as f32)
        .with_epsilon(config.eps as f32)
        .with_weight_decay(config.weight_decay as f32)
        .init();
    let mut loader = Loader::new(
        dataset.clone(),
        config.batch,
        config.seed,
        config.flip,
        (0, 0),
    )?;
    let shape = dataset.sample_shape().to_vec();
    let per_sample: usize = shape.iter().product();
    let k = config.network.num_classes;
    let mut report = ClassifierReport {
        steps: config.steps,
        losses: Vec::with_capacity(config.steps),
        train_accuracy: Vec::with_capacity(config.steps),
        seconds: 0.0,
    };
    let mut pending: Vec<(Tensor<1>, Tensor<2>, Vec<u32>)> = Vec::new();
    for step in 0..config.steps {
        let batch = loader.next_batch()?;
        let labels = batch.labels.clone().ok_or_else(unlabelled)?;
        let mut rng = step_rng(config.seed, step as u64);
        let mut x = batch.x;
        if config.shift > 0
            && let [c, h, w] = shape[..]
        {
            shift_images(&mut rng, &mut x, [c, h, w], config.shift);
        }
        let levels = sigmas(&mut rng, labels.len(), config);
        add_noise(&mut rng, &mut x, per_sample, &levels);
        let c = levels.iter().map(|&s| c_noise(s) as f32).collect();
        let logits = forward_host(&model, x, c, &autodiff)?;
        let targets = one_hot(&labels, k, &autodiff);
        let loss = (log_softmax(logits.clone(), 1) * targets)
            .sum_dim(1)
            .mean()
            .neg();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(config.lr_at(step), model, grads);
        pending.push((loss.detach().inner(), logits.detach().inner(), labels));
        if pending.len() == READ_EVERY || step + 1 == config.steps {
            let first = step + 1 - pending.len();
            read_pending(&mut pending, &mut report, first, k)?;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok((model.valid(), report))
}

/// The checks that need the data: labels, shape and classes.
fn check_fit(config: &ClassifierRunConfig, dataset: &dyn Dataset) -> Result<(), TrainError> {
    let classes = dataset.num_classes().ok_or_else(unlabelled)?;
    let network = &config.network;
    if network.input_shape != dataset.sample_shape() {
        return Err(TrainError::Model(format!(
            "the classifier takes samples of shape {:?}, the data has {:?}",
            network.input_shape,
            dataset.sample_shape()
        )));
    }
    if network.num_classes < classes {
        return Err(TrainError::Model(format!(
            "the classifier has {} classes, the data {classes}",
            network.num_classes
        )));
    }
    if config.shift > 0 && dataset.kind() != DataKind::Images {
        return Err(TrainError::Config(ConfigError::Invalid {
            key: "classifier.shift",
            reason: "translations apply to images [C, H, W] only".into(),
        }));
    }
    Ok(())
}

fn unlabelled() -> TrainError {
    TrainError::Config(ConfigError::Invalid {
        key: "classifier.data",
        reason: "a classifier needs labelled data".into(),
    })
}

/// The one-hot rows of `labels`, `[B, K]`: the cross-entropy as a product, no gather.
fn one_hot(labels: &[u32], k: usize, device: &Device) -> Tensor<2> {
    let mut rows = vec![0f32; labels.len() * k];
    for (i, &y) in labels.iter().enumerate() {
        rows[i * k + y as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(rows, [labels.len(), k]), device)
}

/// Reads the losses and logits of the steps since the last read into the report, failing on
/// the first non-finite loss.
fn read_pending(
    pending: &mut Vec<(Tensor<1>, Tensor<2>, Vec<u32>)>,
    report: &mut ClassifierReport,
    first_step: usize,
    k: usize,
) -> Result<(), TrainError> {
    let drained: Vec<_> = std::mem::take(pending);
    let losses: Vec<Tensor<1>> = drained.iter().map(|(l, _, _)| l.clone()).collect();
    let losses = Tensor::cat(losses, 0)
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap_or_default();
    for (i, (loss, (_, logits, labels))) in losses.iter().zip(drained).enumerate() {
        if !loss.is_finite() {
            return Err(TrainError::NonFinite {
                step: (first_step + i + 1) as u64,
                what: "loss",
            });
        }
        let predicted = argmax(&host(logits), k);
        let right = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
        report.losses.push(*loss);
        report
            .train_accuracy
            .push(right as f64 / labels.len() as f64);
    }
    Ok(())
}

/// Forces every lazily initialised parameter to take its value now, while the seeded generator
/// is the one drawing.
fn materialise(model: &Classifier) {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    model.visit(&mut Touch);
}
