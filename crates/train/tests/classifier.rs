//! The noise-conditional classifier against exact mathematics:
//!
//! - trained by the classifier objective on a two-class Gaussian mixture, its p(y | x_σ) is the
//!   Bayes posterior π_y p_{y,σ}(x) / Σ_k π_k p_{k,σ}(x) with p_{y,σ} = Σ_{j∈y} w_j N(μ_j, Σ_j + σ²I),
//!   in closed form from the mixture, at σ ∈ {0.1, 1, 3};
//! - its autodiff gradient ∇ₓ ln p(y | x; σ), the classifier-guidance hook, is the central finite
//!   difference of ln p(y | x; σ), for points and for images;
//! - a saved classifier loads back bit-exact, and a file of anything else is refused.

use std::sync::Arc;

use burn::prelude::*;
use scoreflow_models::ClassifierConfig;
use scoreflow_score_matching::analytic::GaussianMixture;
use scoreflow_score_matching::guidance::ClassifierGradient;
use scoreflow_train::classifier::{
    ClassifierGuide, ClassifierRunConfig, accuracy, c_noise, load_classifier, logits, noised,
    predict, probabilities, save_classifier, train_classifier,
};
use scoreflow_train::data::{ArrayDataset, DataKind};

/// Prior of class 1 (class 0 has 1 − PRIOR).
const PRIOR: f64 = 0.6;

/// Class 0: one elongated component; class 1: two components flanking it, so that the
/// posterior's decision boundary is curved and moves with σ.
fn classes() -> [GaussianMixture; 2] {
    let class0 = GaussianMixture::new(
        vec![1.0],
        vec![vec![-1.0, 0.0]],
        vec![vec![vec![0.5, 0.2], vec![0.2, 1.0]]],
    )
    .unwrap();
    let class1 = GaussianMixture::new(
        vec![0.5, 0.5],
        vec![vec![1.0, 1.5], vec![1.0, -1.5]],
        vec![
            vec![vec![0.4, 0.0], vec![0.0, 0.3]],
            vec![vec![0.6, -0.1], vec![-0.1, 0.3]],
        ],
    )
    .unwrap();
    [class0, class1]
}

/// Exact p(y = 1 | x_σ) = π₁p₁,σ(x) / (π₀p₀,σ(x) + π₁p₁,σ(x)), by log-sum-exp.
fn posterior_one(classes: &[GaussianMixture; 2], x: &[f64], sigma: f64) -> f64 {
    let l0 = (1.0 - PRIOR).ln() + classes[0].log_prob(x, sigma);
    let l1 = PRIOR.ln() + classes[1].log_prob(x, sigma);
    1.0 / (1.0 + (l0 - l1).exp())
}

/// `n` labelled draws: exactly round(PRIOR·n) of class 1, so the empirical prior is PRIOR.
fn labelled(classes: &[GaussianMixture; 2], n: usize, seed: u64) -> (Vec<f64>, Vec<u32>) {
    let n1 = (PRIOR * n as f64).round() as usize;
    let mut x = classes[0].sample(n - n1, seed);
    x.extend(classes[1].sample(n1, seed + 1));
    let mut y = vec![0u32; n - n1];
    y.extend(vec![1u32; n1]);
    (x, y)
}

fn point_classifier() -> ClassifierConfig {
    ClassifierConfig::new(vec![2], 2)
        .with_hidden(64)
        .with_depth(2)
        .with_embedding(64)
}

#[test]
fn trained_point_classifier_matches_the_bayes_posterior() {
    let device = Device::flex();
    let classes = classes();
    let (x, y) = labelled(&classes, 20_000, 7);
    let data = ArrayDataset::new(
        x.iter().map(|&v| v as f32).collect(),
        vec![2],
        Some(y),
        DataKind::Points,
    );
    // Levels spread over σ ∈ [0.05, 20] so that 0.1, 1 and 3 are all well covered.
    let config = ClassifierRunConfig::new(point_classifier())
        .with_steps(1500)
        .with_batch(256)
        .with_lr(3e-3)
        .with_warmup(50)
        .with_weight_decay(0.0)
        .with_p_mean(0.0)
        .with_p_std(1.5)
        .with_clean_fraction(0.05)
        .with_seed(1);
    let started = std::time::Instant::now();
    let (classifier, report) = train_classifier(&config, Arc::new(data), &device).unwrap();
    eprintln!(
        "trained {} steps in {:.1} s, last loss {:.4}",
        report.steps,
        started.elapsed().as_secs_f64(),
        report.losses.last().unwrap()
    );
    assert_eq!(report.losses.len(), 1500);

    // Test points: fresh draws of the noised data at each σ, where the posterior is used.
    let (clean, _) = labelled(&classes, 2000, 99);
    for (k, sigma) in [0.1, 1.0, 3.0].into_iter().enumerate() {
        let clean32: Vec<f32> = clean.iter().map(|&v| v as f32).collect();
        let xs = noised(&clean32, sigma, 1000 + k as u64);
        let p = probabilities(&classifier, &xs, sigma, &device).unwrap();
        let mut total = 0.0;
        let mut worst: f64 = 0.0;
        for (i, point) in xs.chunks_exact(2).enumerate() {
            let point = [f64::from(point[0]), f64::from(point[1])];
            let exact = posterior_one(&classes, &point, sigma);
            let err = (p[2 * i + 1] - exact).abs();
            total += err;
            worst = worst.max(err);
        }
        let mean = total / 2000.0;
        eprintln!("σ = {sigma}: mean |p̂ − p| = {mean:.4}, max {worst:.4}");
        assert!(
            mean < 0.05,
            "σ = {sigma}: mean |p̂(y|x_σ) − p(y|x_σ)| = {mean:.4} ≥ 0.05"
        );
    }
}

/// ln p(y | x; σ) of every sample on the host (f64 softmax of the f32 logits).
fn log_probs(
    classifier: &scoreflow_models::Classifier,
    x: &[f32],
    labels: &[u32],
    sigma: f64,
) -> Vec<f64> {
    let k = classifier.num_classes();
    let p = probabilities(classifier, x, sigma, &Device::flex()).unwrap();
    labels
        .iter()
        .enumerate()
        .map(|(i, &y)| p[i * k + y as usize].ln())
        .collect()
}

/// ‖g_autodiff − g_fd‖ / ‖g_fd‖ over a batch, g_fd by central differences with step h.
fn gradient_error(
    classifier: &scoreflow_models::Classifier,
    x: &[f32],
    labels: &[u32],
    sigma: f64,
) -> f64 {
    let device = Device::flex();
    let shape = classifier.input_shape.clone();
    let per_sample: usize = shape.iter().product();
    let n = labels.len();
    let mut dims = vec![n];
    dims.extend(&shape);
    let guide = ClassifierGuide::new(classifier, labels.to_vec());
    let grad = match dims[..] {
        [b, d] => {
            let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [b, d]), &device);
            guide.grad_log_prob(&t, sigma).unwrap().into_data()
        }
        [b, c, h, w] => {
            let t = Tensor::<4>::from_data(TensorData::new(x.to_vec(), [b, c, h, w]), &device);
            guide.grad_log_prob(&t, sigma).unwrap().into_data()
        }
        _ => unreachable!(),
    };
    let grad: Vec<f64> = grad.convert::<f64>().try_into_vec::<f64>().unwrap();

    // All 2·N·numel perturbed samples in one batch of host evaluations.
    let h = 1e-2f32;
    let mut perturbed = Vec::with_capacity(2 * n * per_sample * per_sample);
    let mut perturbed_labels = Vec::new();
    for i in 0..n {
        for j in 0..per_sample {
            for sign in [1.0f32, -1.0] {
                let mut sample = x[i * per_sample..(i + 1) * per_sample].to_vec();
                sample[j] += sign * h;
                perturbed.extend(sample);
                perturbed_labels.push(labels[i]);
            }
        }
    }
    let lp = log_probs(classifier, &perturbed, &perturbed_labels, sigma);
    // The step actually taken, in f32, is what the difference divides by.
    let (mut diff, mut norm) = (0.0, 0.0);
    for i in 0..n {
        for j in 0..per_sample {
            let v = x[i * per_sample + j];
            let step = f64::from(v + h) - f64::from(v - h);
            let row = 2 * (i * per_sample + j);
            let fd = (lp[row] - lp[row + 1]) / step;
            diff += (grad[i * per_sample + j] - fd).powi(2);
            norm += fd * fd;
        }
    }
    assert!(norm > 1e-8, "the gradient is trivially zero");
    (diff / norm).sqrt()
}

/// Deterministic inputs of moderate size.
fn inputs(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i as f32) * 0.731).sin() * 1.3).collect()
}

#[test]
fn autodiff_gradient_matches_finite_differences_on_points() {
    let device = Device::flex();
    device.seed(11);
    let classifier = ClassifierConfig::new(vec![3], 4)
        .with_hidden(32)
        .with_depth(2)
        .init(&device);
    let labels = [0, 1, 2, 3, 1, 0];
    for sigma in [0.05, 0.7, 4.0] {
        let err = gradient_error(&classifier, &inputs(6 * 3), &labels, sigma);
        eprintln!("points, σ = {sigma}: relative error {err:.2e}");
        assert!(err < 1e-3, "σ = {sigma}: relative error {err:.2e}");
    }
}

#[test]
fn autodiff_gradient_matches_finite_differences_on_images() {
    let device = Device::flex();
    device.seed(12);
    let classifier = ClassifierConfig::new(vec![2, 6, 6], 3)
        .with_channels(vec![8, 16])
        .with_groups(4)
        .with_embedding(32)
        .init(&device);
    let labels = [2, 0, 1];
    let err = gradient_error(&classifier, &inputs(3 * 2 * 6 * 6), &labels, 0.5);
    eprintln!("images: relative error {err:.2e}");
    assert!(err < 1e-3, "relative error {err:.2e}");
}

#[test]
fn guide_rejects_a_batch_without_one_label_per_sample() {
    let device = Device::flex();
    let classifier = point_classifier().init(&device);
    let guide = ClassifierGuide::new(&classifier, vec![0, 1, 1]);
    let x = Tensor::<2>::zeros([2, 2], &device);
    assert!(guide.grad_log_prob(&x, 1.0).is_err());
    let guide = ClassifierGuide::new(&classifier, vec![0, 5]);
    assert!(guide.grad_log_prob(&x, 1.0).is_err());
}

#[test]
fn saved_classifier_loads_back_bit_exact() {
    let device = Device::flex();
    let (x, y) = labelled(&classes(), 512, 3);
    let data = ArrayDataset::new(
        x.iter().map(|&v| v as f32).collect(),
        vec![2],
        Some(y.clone()),
        DataKind::Points,
    );
    let config = ClassifierRunConfig::new(point_classifier())
        .with_steps(20)
        .with_batch(64);
    let (classifier, _) = train_classifier(&config, Arc::new(data), &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("classifier.ckpt");
    save_classifier(&classifier, &config, &path).unwrap();
    let (loaded, loaded_config) = load_classifier(&path, &device).unwrap();
    assert_eq!(loaded_config.steps, 20);
    let probe: Vec<f32> = x.iter().take(64).map(|&v| v as f32).collect();
    for sigma in [0.002, 1.0] {
        let a = logits(&classifier, &probe, sigma, &device).unwrap();
        let b = logits(&loaded, &probe, sigma, &device).unwrap();
        assert_eq!(a, b, "σ = {sigma}");
    }
    assert_eq!(
        predict(&classifier, &probe, &device).unwrap(),
        predict(&loaded, &probe, &device).unwrap()
    );
    let acc = accuracy(&loaded, &probe, &y[..32], 0.002, &device).unwrap();
    assert!((0.0..=1.0).contains(&acc));
    assert!(
        accuracy(&loaded, &probe, &y[..31], 0.002, &device).is_err(),
        "31 labels for 32 samples"
    );

    // A file that is not a classifier checkpoint is refused, not misread.
    let other = dir.path().join("other.ckpt");
    scoreflow_models::checkpoint::save(
        &classifier,
        &scoreflow_models::checkpoint::CheckpointMeta::default(),
        &other,
    )
    .unwrap();
    assert!(load_classifier(&other, &device).is_err());
}

#[test]
fn conditioning_is_a_quarter_log_sigma() {
    assert!((c_noise(1.0)).abs() < 1e-15);
    assert!((c_noise(std::f64::consts::E.powi(4)) - 1.0).abs() < 1e-12);
}
