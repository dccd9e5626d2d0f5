//! Single-node data parallelism: one replica of the network per device, gradients averaged by
//! burn's collective during backward (`burn::tensor::distributed`, NCCL on CUDA).
//!
//! Every optimiser step splits each micro-batch's rows evenly over the devices; rank r draws its
//! noise levels, noise and couplings from its own generator, keyed by (seed, step, r), so a run
//! on R devices is deterministic but does not draw what a single-device run draws. The loss of
//! each rank is the mean over its shard; the all-reduce takes the mean over ranks, so every
//! replica receives the gradient of the mean loss over the global micro-batch and, with the same
//! optimiser state, takes the same step. The global batch is `train.batch` (not per device).
//! Rank 0 holds the EMA, writes metrics and checkpoints. burn 0.22.1 has no cross-machine
//! collective: this scales over the devices of one machine only.

use burn::module::{ModuleMapper, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Bytes;
use burn::tensor::distributed::{DistributedConfig, DistributedContext, ReduceOperation};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::data::Batch;
use crate::error::TrainError;
use crate::model::Network;
use crate::objective::{MicroBatch, Objective, StepLoss};

/// Marks every parameter so that autodiff all-reduces its gradient across the replicas during
/// backward.
struct Shard;

impl ModuleMapper for Shard {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = tensor.set_distributed(id);
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// The network marked for gradient all-reduction.
pub(crate) fn shard(network: Network) -> Network {
    network.map(&mut Shard)
}

/// One extra replica (rank ≥ 1).
pub(crate) struct Replica {
    /// Its autodiff device.
    pub device: Device,
    /// Its copy of the network.
    pub model: Network,
    /// Its optimiser, in the same state as rank 0's.
    pub optimizer: ModuleOptimizer,
}

/// The replicas of a data-parallel run and the collective that links them.
pub(crate) struct Replicas {
    /// Ranks 1…R−1.
    pub ranks: Vec<Replica>,
    /// Kept alive for the whole run: dropping it tears the communication down.
    _context: DistributedContext,
}

impl Replicas {
    /// Forks rank 0's network (already sharded) and optimiser state onto `devices` (ranks
    /// 1…R−1) and starts the collective over all ranks' devices.
    ///
    /// # Errors
    /// [`TrainError::Model`] when the optimiser state cannot be copied.
    pub fn new(
        rank0: &Network,
        rank0_device: &Device,
        optimizer: &ModuleOptimizer,
        fresh: &dyn Fn() -> ModuleOptimizer,
        devices: &[Device],
    ) -> Result<Self, TrainError> {
        let state = optimizer
            .into_bytes()
            .map_err(|e| TrainError::Model(format!("copying the optimiser state: {e}")))?;
        let mut all = vec![rank0_device.clone()];
        let mut ranks = Vec::with_capacity(devices.len());
        for d in devices {
            let device = d.clone().autodiff();
            all.push(device.clone());
            let optimizer = fresh()
                .from_bytes(Bytes::from_bytes_vec(state.to_vec()))
                .map_err(|e| TrainError::Model(format!("copying the optimiser state: {e}")))?;
            ranks.push(Replica {
                model: shard(rank0.clone().fork(&device)),
                device,
                optimizer,
            });
        }
        let context = DistributedContext::init(
            all,
            DistributedConfig {
                all_reduce_op: ReduceOperation::Mean,
            },
        );
        Ok(Self {
            ranks,
            _context: context,
        })
    }

    /// The number of ranks, rank 0 included.
    pub fn world(&self) -> usize {
        self.ranks.len() + 1
    }
}

/// Rank r's generator for step `step`: ChaCha8 keyed by (seed, step, r) with a domain tag.
pub(crate) fn rank_rng(seed: u64, step: u64, rank: usize) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&step.to_le_bytes());
    key[16..24].copy_from_slice(b"sf-ddp-r");
    key[24..32].copy_from_slice(&(rank as u64).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// Rows [r·B/R, (r+1)·B/R) of a batch.
pub(crate) fn shard_batch(batch: &Batch, rank: usize, world: usize) -> Batch {
    let b = batch.len();
    let (lo, hi) = (rank * b / world, (rank + 1) * b / world);
    let numel: usize = batch.shape[1..].iter().product();
    let mut shape = batch.shape.clone();
    shape[0] = hi - lo;
    Batch {
        x: batch.x[lo * numel..hi * numel].to_vec(),
        labels: batch.labels.as_ref().map(|l| l[lo..hi].to_vec()),
        shape,
        epoch: batch.epoch,
        position: batch.position,
    }
}

/// One micro-batch on every rank at once: each rank's loss and backward in its own thread (the
/// all-reduce inside backward needs all of them), returning every rank's loss and gradients.
///
/// # Errors
/// The first rank's [`TrainError`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn parallel_backward(
    objective: &Objective,
    rank0: (&Network, &Device),
    replicas: &Replicas,
    batch: &Batch,
    conditioning: Option<(u32, f64)>,
    seed: u64,
    step: u64,
    scale: f64,
) -> Result<Vec<(StepLoss, GradientsParams)>, TrainError> {
    let world = replicas.world();
    let mut models: Vec<(&Network, &Device)> = vec![rank0];
    models.extend(replicas.ranks.iter().map(|r| (&r.model, &r.device)));
    std::thread::scope(|scope| {
        let handles: Vec<_> = models
            .into_iter()
            .enumerate()
            .map(|(rank, (model, device))| {
                let shard = shard_batch(batch, rank, world);
                scope.spawn(move || -> Result<(StepLoss, GradientsParams), TrainError> {
                    let mut rng = rank_rng(seed, step, rank);
                    let loss = objective.loss(
                        model,
                        &MicroBatch {
                            batch: &shard,
                            device,
                            conditioning,
                        },
                        &mut rng,
                    )?;
                    let scaled = if scale == 1.0 {
                        loss.mean.clone()
                    } else {
                        loss.mean.clone().mul_scalar(scale)
                    };
                    let grads = GradientsParams::from_grads(scaled.backward(), model);
                    Ok((loss, grads))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(TrainError::Model("a replica's thread panicked".into()))
                })
            })
            .collect()
    })
}
