//! [`Loader`]: deterministic, resumable batches read ahead by a worker thread.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rand::RngCore;

use super::random::{Stream, keyed, shuffle};
use super::{DataError, DataKind, Dataset};

/// Batches the worker may hold ready beyond the one it is building: enough to hide the reading
/// of one batch behind a training step, few enough that memory stays small.
pub const PREFETCH: usize = 2;

/// One batch: `shape[0]` samples of the dataset's sample shape, row-major, with their labels
/// (when the dataset has classes) and the place it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Samples, row-major `[B, …sample_shape]`.
    pub x: Vec<f32>,
    /// One label per sample, when the dataset has classes.
    pub labels: Option<Vec<u32>>,
    /// `[B, …sample_shape]`.
    pub shape: Vec<usize>,
    /// Epoch the batch belongs to.
    pub epoch: u64,
    /// Index of the batch's first sample within the epoch's permutation.
    pub position: usize,
}

impl Batch {
    /// Number of samples, `shape[0]`.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Whether the batch holds no samples (never, for batches of a [`Loader`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `start` that makes a new [`Loader`] continue right after this batch: the value to
    /// store in a checkpoint for an exact resume.
    pub fn next_start(&self) -> (u64, usize) {
        (self.epoch, self.position + self.len())
    }
}

/// The order of epoch `epoch`: a uniformly random permutation of `0..n`, a Fisher–Yates
/// shuffle driven by ChaCha8 keyed by (seed, epoch) only.
pub fn epoch_permutation(seed: u64, epoch: u64, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut keyed(seed, epoch, Stream::Permutation), &mut order);
    order
}

/// The horizontal flips of epoch `epoch`: entry p says whether the sample at position p of the
/// epoch's permutation is mirrored, a fair coin per position (the top bit of the p-th u32 of a
/// ChaCha8 stream keyed by (seed, epoch)). Entry p depends on (seed, epoch, p) only — not on
/// `n` or the batch size.
pub fn flip_mask(seed: u64, epoch: u64, n: usize) -> Vec<bool> {
    let mut rng = keyed(seed, epoch, Stream::Flip);
    (0..n).map(|_| rng.next_u32() >> 31 == 1).collect()
}

/// Deterministic batches of a dataset, read ahead by a worker thread.
///
/// Epoch e visits the samples in the order [`epoch_permutation`]`(seed, e, N)`, in batches of
/// exactly `batch` samples taken at positions 0, B, 2B, …; the last N mod B positions of an
/// epoch are dropped (each epoch drops different samples, so none is left out for good), and
/// the next batch is the start of epoch e + 1. With `flip`, images are mirrored along the width
/// axis where [`flip_mask`]`(seed, e, N)` says so. Every random choice is a function of
/// (seed, epoch, position), so a loader started at a batch's [`Batch::next_start`] yields
/// exactly the batches an uninterrupted one yields after it. The worker never touches a global
/// RNG (see "Training stack" in the burn notes: backends keep one that cannot be saved).
///
/// The worker keeps up to [`PREFETCH`] batches ready; dropping the loader disconnects it and
/// joins it. After an error the worker stops: that error is returned once, then
/// [`DataError::LoaderStopped`] (and the iterator ends).
pub struct Loader {
    receiver: Option<Receiver<Result<Batch, DataError>>>,
    worker: Option<JoinHandle<()>>,
    dataset: Arc<dyn Dataset>,
    batch: usize,
    stopped: Option<String>,
}

impl Loader {
    /// A loader over `dataset` in batches of `batch`, whose first batch is the one at position
    /// `start.1` of epoch `start.0` (`(0, 0)` for a fresh run). A position with fewer than
    /// `batch` samples left starts at the next epoch instead.
    ///
    /// [`DataError::Loader`] if `batch` is 0 or larger than the dataset, or if `flip` is asked
    /// of data that are not images `[C, H, W]`.
    pub fn new(
        dataset: Arc<dyn Dataset>,
        batch: usize,
        seed: u64,
        flip: bool,
        start: (u64, usize),
    ) -> Result<Self, DataError> {
        let n = dataset.len();
        let problem = if batch == 0 {
            Some("batch size 0".to_owned())
        } else if batch > n {
            Some(format!(
                "batch size {batch} exceeds the dataset's {n} samples, so no epoch has a full batch"
            ))
        } else if flip && (dataset.kind() != DataKind::Images || dataset.sample_shape().len() != 3)
        {
            Some(format!(
                "horizontal flips need images [C, H, W], not {:?} samples of shape {:?}",
                dataset.kind(),
                dataset.sample_shape()
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(DataError::Loader { problem });
        }
        let (sender, receiver) = sync_channel(PREFETCH);
        let worker_dataset = Arc::clone(&dataset);
        let worker = std::thread::Builder::new()
            .name("scoreflow-data".into())
            .spawn(move || produce(&*worker_dataset, batch, seed, flip, start, &sender))
            .map_err(|e| DataError::LoaderStopped {
                reason: Some(format!("cannot start the worker thread: {e}")),
            })?;
        Ok(Self {
            receiver: Some(receiver),
            worker: Some(worker),
            dataset,
            batch,
            stopped: None,
        })
    }

    /// The next batch, blocking until the worker has it.
    pub fn next_batch(&mut self) -> Result<Batch, DataError> {
        let Some(receiver) = &self.receiver else {
            return Err(DataError::LoaderStopped {
                reason: self.stopped.clone(),
            });
        };
        match receiver.recv() {
            Ok(Ok(batch)) => Ok(batch),
            Ok(Err(e)) => {
                self.stop(Some(format!("after an earlier error: {e}")));
                Err(e)
            }
            Err(_) => {
                let reason = self.stop(None);
                Err(DataError::LoaderStopped { reason })
            }
        }
    }

    /// Samples per batch.
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Batches in an epoch: ⌊N / B⌋.
    pub fn batches_per_epoch(&self) -> usize {
        self.dataset.len() / self.batch
    }

    /// The dataset read.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// Disconnects and joins the worker; returns why it stopped (`reason`, or its panic).
    fn stop(&mut self, reason: Option<String>) -> Option<String> {
        self.receiver = None;
        let panic = self
            .worker
            .take()
            .and_then(|w| w.join().err())
            .map(|payload| {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                format!("it panicked: {message}")
            });
        self.stopped = reason.or(panic);
        self.stopped.clone()
    }
}

impl Iterator for Loader {
    type Item = Result<Batch, DataError>;

    /// [`Loader::next_batch`]; `None` once the worker has stopped and its error was returned.
    fn next(&mut self) -> Option<Self::Item> {
        self.receiver.as_ref()?;
        Some(self.next_batch())
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Dropping the receiver first makes a worker blocked in `send` return an error and
        // exit, so the join cannot hang.
        self.receiver = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("len", &self.dataset.len())
            .field("batch", &self.batch)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

/// The worker: builds batches in order until the receiver is gone or a read fails.
fn produce(
    dataset: &dyn Dataset,
    batch: usize,
    seed: u64,
    flip: bool,
    start: (u64, usize),
    sender: &SyncSender<Result<Batch, DataError>>,
) {
    let n = dataset.len();
    let (mut epoch, mut position) = start;
    loop {
        let order = epoch_permutation(seed, epoch, n);
        let flips = flip.then(|| flip_mask(seed, epoch, n));
        while position + batch <= n {
            let result = assemble(dataset, &order, flips.as_deref(), epoch, position, batch);
            let failed = result.is_err();
            if sender.send(result).is_err() || failed {
                return;
            }
            position += batch;
        }
        epoch += 1;
        position = 0;
    }
}

fn assemble(
    dataset: &dyn Dataset,
    order: &[usize],
    flips: Option<&[bool]>,
    epoch: u64,
    position: usize,
    batch: usize,
) -> Result<Batch, DataError> {
    let sample_shape = dataset.sample_shape();
    let sample_len: usize = sample_shape.iter().product();
    let labelled = dataset.num_classes().is_some();
    let mut x = vec![0.0f32; batch * sample_len];
    let mut labels = labelled.then(|| Vec::with_capacity(batch));
    for (i, out) in x.chunks_exact_mut(sample_len).enumerate() {
        let p = position + i;
        let label = dataset.read(order[p], out)?;
        if let Some(labels) = &mut labels {
            labels.push(label.ok_or_else(|| DataError::Read {
                problem: format!(
                    "sample {} has no label although the dataset has classes",
                    order[p]
                ),
            })?);
        }
        if flips.is_some_and(|f| f[p]) {
            let width = sample_shape[sample_shape.len() - 1];
            for row in out.chunks_exact_mut(width) {
                row.reverse();
            }
        }
    }
    let mut shape = Vec::with_capacity(sample_shape.len() + 1);
    shape.push(batch);
    shape.extend_from_slice(sample_shape);
    Ok(Batch {
        x,
        labels,
        shape,
        epoch,
        position,
    })
}
