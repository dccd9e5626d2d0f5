//! Synthetic throughput workloads shared by the criterion benches and `scoreflow bench-model`,
//! so that both time exactly the same computation.
//!
//! A workload is one network at one batch size on one device, doing either a forward pass or a
//! training step: forward, mean squared error against a fixed random target of the output's
//! shape, backward, and one AdamW update (Loshchilov & Hutter 2019) with burn's defaults
//! (β = (0.9, 0.999), ε = 1e-5, weight decay 1e-4). The loss is not a diffusion objective —
//! this crate knows none — but it costs the same as one: the objectives only change what the
//! target holds. `scripts/bench_torch.py` mirrors every workload in PyTorch.

use std::fmt;
use std::str::FromStr;

use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;

use crate::{Mlp, MlpConfig, UNet2D, UNet2DConfig};

/// Learning rate of the benchmark's AdamW step; its value does not change the cost.
const LEARNING_RATE: f64 = 1e-4;

/// The benchmarked networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchNetwork {
    /// [`UNet2DConfig::ddpm_cifar10`] on 3×32×32 images (35,746,307 parameters).
    UNetCifar10,
    /// [`UNet2DConfig::small_mnist`] on 1×28×28 images.
    UNetSmall,
    /// [`MlpConfig::new(2)`](MlpConfig) with its defaults, on 2-D points.
    Mlp2d,
}

impl BenchNetwork {
    /// Every network, in the order reports list them.
    pub const ALL: [Self; 3] = [Self::UNetCifar10, Self::UNetSmall, Self::Mlp2d];

    /// The command-line name: `unet-cifar10`, `unet-small`, `mlp-2d`.
    pub fn name(self) -> &'static str {
        match self {
            Self::UNetCifar10 => "unet-cifar10",
            Self::UNetSmall => "unet-small",
            Self::Mlp2d => "mlp-2d",
        }
    }

    /// The batch the CPU comparisons use: 8 CIFAR images, 32 MNIST images, 1024 points.
    pub fn default_batch(self) -> usize {
        match self {
            Self::UNetCifar10 => 8,
            Self::UNetSmall => 32,
            Self::Mlp2d => 1024,
        }
    }

    /// Shape of one input sample (without the batch axis).
    pub fn sample_shape(self) -> &'static [usize] {
        match self {
            Self::UNetCifar10 => &[3, 32, 32],
            Self::UNetSmall => &[1, 28, 28],
            Self::Mlp2d => &[2],
        }
    }
}

impl fmt::Display for BenchNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BenchNetwork {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Self, BenchError> {
        Self::ALL
            .into_iter()
            .find(|n| n.name() == s)
            .ok_or_else(|| BenchError::UnknownNetwork(s.to_owned()))
    }
}

/// What one iteration does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One forward pass without autodiff.
    Forward,
    /// Forward, MSE, backward and an AdamW update.
    TrainStep,
}

impl Workload {
    /// Both workloads.
    pub const ALL: [Self; 2] = [Self::Forward, Self::TrainStep];

    /// `forward` or `train-step`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::TrainStep => "train-step",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = BenchError;

    fn from_str(s: &str) -> Result<Self, BenchError> {
        Self::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| BenchError::UnknownWorkload(s.to_owned()))
    }
}

/// Why a benchmark could not be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Not one of [`BenchNetwork::ALL`].
    #[error("unknown network `{0}`: expected unet-cifar10, unet-small or mlp-2d")]
    UnknownNetwork(String),
    /// Not one of [`Workload::ALL`].
    #[error("unknown workload `{0}`: expected forward or train-step")]
    UnknownWorkload(String),
    /// A batch of zero samples.
    #[error("the batch size must be at least 1")]
    EmptyBatch,
    /// The device failed while executing the work.
    #[error("the device failed: {0}")]
    Execution(String),
}

/// The network with its input and target, in the rank it needs. One lives per benchmark and
/// moves once per step: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Net {
    UNet {
        model: UNet2D,
        x: Tensor<4>,
        target: Tensor<4>,
    },
    Mlp {
        model: Mlp,
        x: Tensor<2>,
        target: Tensor<2>,
    },
}

/// One prepared workload: weights, a fixed random batch and (for training) the optimiser state.
pub struct ModelBench {
    net: Option<Net>,
    t: Tensor<1>,
    workload: Workload,
    optimizer: ModuleOptimizer,
    device: Device,
    params: usize,
}

impl ModelBench {
    /// Builds `network` on `device` (its autodiff twin for [`Workload::TrainStep`]) with a batch
    /// drawn from a generator seeded with `seed`: `x ~ N(0, I)`, targets `~ N(0, I)`, and times
    /// as the networks see them in training (integer DDPM steps in [0, 1000) for the UNets,
    /// `t ~ U(0, 1)` for the MLP). The seed goes to the device's generator, which burn shares
    /// across the process: runs are repeatable when nothing else draws from it meanwhile.
    pub fn new(
        network: BenchNetwork,
        workload: Workload,
        batch: usize,
        device: &Device,
        seed: u64,
    ) -> Result<Self, BenchError> {
        if batch == 0 {
            return Err(BenchError::EmptyBatch);
        }
        let device = match workload {
            Workload::Forward => device.clone().inner(),
            Workload::TrainStep => device.clone().autodiff(),
        };
        device.seed(seed);
        let normal = Distribution::Normal(0.0, 1.0);
        let shape: Vec<usize> = std::iter::once(batch)
            .chain(network.sample_shape().iter().copied())
            .collect();
        let (net, t) = match network {
            BenchNetwork::UNetCifar10 | BenchNetwork::UNetSmall => {
                let config = if network == BenchNetwork::UNetCifar10 {
                    UNet2DConfig::ddpm_cifar10()
                } else {
                    UNet2DConfig::small_mnist()
                };
                let model = config.init(&device);
                let dims: [usize; 4] = shape.try_into().expect("images have rank 4");
                let t = Tensor::<1>::random([batch], Distribution::Uniform(0.0, 1000.0), &device)
                    .floor();
                let net = Net::UNet {
                    model,
                    x: Tensor::random(dims, normal, &device),
                    target: Tensor::random(dims, normal, &device),
                };
                (net, t)
            }
            BenchNetwork::Mlp2d => {
                let model = MlpConfig::new(2).init(&device);
                let dims: [usize; 2] = shape.try_into().expect("points have rank 2");
                let t = Tensor::<1>::random([batch], Distribution::Uniform(0.0, 1.0), &device);
                let net = Net::Mlp {
                    model,
                    x: Tensor::random(dims, normal, &device),
                    target: Tensor::random(dims, normal, &device),
                };
                (net, t)
            }
        };
        let params = match &net {
            Net::UNet { model, .. } => model.num_params(),
            Net::Mlp { model, .. } => model.num_params(),
        };
        let bench = Self {
            net: Some(net),
            t,
            workload,
            optimizer: AdamWConfig::new().init(),
            device,
            params,
        };
        // Lazily initialised parameters and the batch are materialised before the first timing.
        bench.sync()?;
        Ok(bench)
    }

    /// Number of trainable parameters of the network.
    pub fn num_params(&self) -> usize {
        self.params
    }

    /// The device the work runs on (the autodiff twin for training).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs one iteration and waits for the device to finish it.
    ///
    /// For training, returns the loss before the update; for a forward pass, the mean of the
    /// output (one scalar read to the host per iteration, after the device is idle).
    pub fn step(&mut self) -> Result<f32, BenchError> {
        let net = self.net.take().expect("the network is always put back");
        let (net, scalar) = match self.workload {
            Workload::Forward => self.forward(net),
            Workload::TrainStep => self.train_step(net),
        };
        self.net = Some(net);
        // The optimiser's update is not an input of the scalar: wait for it explicitly.
        self.sync()?;
        let value = scalar
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| BenchError::Execution(format!("{e:?}")))?;
        Ok(value.first().copied().unwrap_or(f32::NAN))
    }

    fn forward(&self, net: Net) -> (Net, Tensor<1>) {
        let mean = match &net {
            Net::UNet { model, x, .. } => model.forward(x.clone(), self.t.clone(), None).mean(),
            Net::Mlp { model, x, .. } => model.forward(x.clone(), self.t.clone(), None).mean(),
        };
        (net, mean)
    }

    fn train_step(&mut self, net: Net) -> (Net, Tensor<1>) {
        match net {
            Net::UNet { model, x, target } => {
                let t = self.t.clone();
                let (model, loss) = fit_step(&mut self.optimizer, model, &target, |m| {
                    m.forward(x.clone(), t.clone(), None)
                });
                (Net::UNet { model, x, target }, loss)
            }
            Net::Mlp { model, x, target } => {
                let t = self.t.clone();
                let (model, loss) = fit_step(&mut self.optimizer, model, &target, |m| {
                    m.forward(x.clone(), t.clone(), None)
                });
                (Net::Mlp { model, x, target }, loss)
            }
        }
    }

    fn sync(&self) -> Result<(), BenchError> {
        self.device
            .sync()
            .map_err(|e| BenchError::Execution(format!("{e:?}")))
    }
}

/// One AdamW step on `‖forward(model) − target‖² / n`; returns the updated model and the loss
/// before the update.
fn fit_step<M: Module, const D: usize>(
    optimizer: &mut ModuleOptimizer,
    model: M,
    target: &Tensor<D>,
    forward: impl FnOnce(&M) -> Tensor<D>,
) -> (M, Tensor<1>) {
    let loss = MseLoss::new().forward(forward(&model), target.clone(), Reduction::Mean);
    let value = loss.clone().detach();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optimizer.step(LEARNING_RATE, model, grads), value)
}
