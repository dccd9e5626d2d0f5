//! What an objective adds to a training step: the 2-D MLP at batch 1024 on the CPU default,
//! `bench-model`'s bare step (forward, MSE to a fixed target, backward, AdamW) beside the same
//! step with EDM's denoising score-matching loss and with the I-CFM loss — noise levels, noise
//! and times drawn on the host from ChaCha8 every step, as the training loop does. The goal
//! (docs/benchmarks.md): an objective adds ≤ 5 % to the bare step.
//!
//! `cargo bench --bench objectives`

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, StandardNormal, Uniform};
use scoreflow::flow::loss::{ConditionalFlowMatching, FlowPrediction, Icfm};
use scoreflow::models::bench::{BenchNetwork, ModelBench, Workload};
use scoreflow::models::{Mlp, MlpConfig, device_from_name};
use scoreflow::score::loss::DenoisingScoreMatching;
use scoreflow::score::noise_level::{LogNormalSigma, NoiseLevelDistribution};

const BATCH: usize = 1024;
const LR: f64 = 1e-4;

/// One objective's training step on the MLP.
struct ObjectiveStep {
    model: Option<Mlp>,
    optimizer: ModuleOptimizer,
    x: Tensor<2>,
    rng: ChaCha8Rng,
    device: Device,
}

impl ObjectiveStep {
    fn new(device: &Device) -> Self {
        let device = device.clone().autodiff();
        device.seed(0);
        Self {
            model: Some(MlpConfig::new(2).init(&device)),
            optimizer: AdamWConfig::new().init(),
            x: Tensor::random([BATCH, 2], Distribution::Normal(0.0, 1.0), &device),
            rng: ChaCha8Rng::seed_from_u64(0),
            device,
        }
    }

    fn normals(&mut self) -> Tensor<2> {
        let eps: Vec<f32> = (0..BATCH * 2)
            .map(|_| StandardNormal.sample(&mut self.rng))
            .collect();
        Tensor::from_data(TensorData::new(eps, [BATCH, 2]), &self.device)
    }

    fn finish(&mut self, model: Mlp, loss: Tensor<1>) -> f32 {
        let value = loss.clone().detach();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        self.model = Some(self.optimizer.step(LR, model, grads));
        self.device.sync().expect("the device runs");
        value
            .into_data()
            .convert::<f32>()
            .as_slice::<f32>()
            .unwrap()[0]
    }

    fn dsm(&mut self, loss: &DenoisingScoreMatching, sigmas: &LogNormalSigma) -> f32 {
        let model = self.model.take().unwrap();
        let sigma = sigmas.sample_n(BATCH, &mut self.rng);
        let eps = self.normals();
        let value = loss
            .loss(
                &|x, c, y| model.forward(x, c, y),
                self.x.clone(),
                eps,
                &sigma,
                None,
                None,
            )
            .expect("the loss runs")
            .mean;
        self.finish(model, value)
    }

    fn cfm(&mut self, loss: &ConditionalFlowMatching<Icfm>) -> f32 {
        let model = self.model.take().unwrap();
        let uniform = Uniform::new(0.0, 1.0).unwrap();
        let t: Vec<f64> = (0..BATCH).map(|_| uniform.sample(&mut self.rng)).collect();
        let x0 = self.normals();
        let value = loss
            .loss(
                &|x, t, y| model.forward(x, t, y),
                x0,
                self.x.clone(),
                None,
                &t,
                None,
            )
            .expect("the loss runs")
            .mean;
        self.finish(model, value)
    }
}

fn objectives(c: &mut Criterion) {
    let device = device_from_name("flex").expect("flex is the default backend");
    let mut group = c.benchmark_group("mlp-2d/train-step");
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut bare = ModelBench::new(BenchNetwork::Mlp2d, Workload::TrainStep, BATCH, &device, 0)
        .expect("the workload builds");
    group.bench_function(BenchmarkId::new("bare-mse", BATCH), |b| {
        b.iter(|| bare.step().expect("the step runs"))
    });
    let edm = DenoisingScoreMatching::edm(0.5, 1e4).expect("valid EDM loss");
    let sigmas = LogNormalSigma::new(-1.2, 1.2).expect("valid");
    let mut step = ObjectiveStep::new(&device);
    group.bench_function(BenchmarkId::new("dsm-edm", BATCH), |b| {
        b.iter(|| step.dsm(&edm, &sigmas))
    });
    let icfm = ConditionalFlowMatching::new(Icfm::new(0.0).unwrap(), FlowPrediction::Velocity);
    let mut step = ObjectiveStep::new(&device);
    group.bench_function(BenchmarkId::new("i-cfm", BATCH), |b| {
        b.iter(|| step.cfm(&icfm))
    });
    group.finish();
}

criterion_group!(benches, objectives);
criterion_main!(benches);
