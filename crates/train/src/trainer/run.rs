//! One training run, fresh or resumed.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use scoreflow_flow_matching::gauss_preconditioned::GaussianMoments;
use scoreflow_models::ema::Ema;

use super::distributed::{Replicas, parallel_backward, shard};
use super::grads::{clip_global_norm, global_norm};
use super::seeds::{device_seed, step_rng};
use crate::checkpoint::{ModelInfo, RunDir, Snapshot, TrainState};
use crate::config::{NonFinitePolicy, RunConfig};
use crate::data::{self, DataOptions, DataSpec, Dataset, Loader, data_moments};
use crate::error::TrainError;
use crate::metrics::{MetricsLine, MetricsLog, Progress, loss_by_quartile};
use crate::model::Network;
use crate::objective::{MicroBatch, Objective};

/// How to run: where, on what, and how loudly.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The run directory.
    pub out: PathBuf,
    /// Continue from the newest valid checkpoint in `out`.
    pub resume: bool,
    /// The device (its autodiff twin trains; the EMA lives on the plain device).
    pub device: Device,
    /// No progress output.
    pub quiet: bool,
    /// Stop (as if interrupted, after a checkpoint) once this many steps are done; for tests and
    /// time-sliced jobs. The configuration's `steps` stays the run's length.
    pub stop_after: Option<u64>,
}

/// What a finished (or stopped) run did.
#[derive(Clone, Debug)]
pub struct RunSummary {
    /// Optimiser steps done in total.
    pub step: u64,
    /// The checkpoint written last.
    pub checkpoint: PathBuf,
    /// The mean loss of each step this process ran, in order.
    pub losses: Vec<f64>,
    /// Steps skipped for non-finite values.
    pub skipped: u64,
    /// Wall-clock seconds of each step this process ran, everything included (data, draws,
    /// loss, backward, clipping, AdamW, EMA, metrics, checkpoints, grids). On an asynchronous
    /// device a step's figure is its host time; the reads at metrics lines synchronise.
    pub step_seconds: Vec<f64>,
}

/// Everything a run holds between steps.
struct Session {
    objective: Objective,
    dataset: Arc<dyn Dataset>,
    model: Network,
    ema: Option<Ema<Network>>,
    optimizer: ModuleOptimizer,
    state: TrainState,
    device: Device,
    null_class: Option<usize>,
    /// The data's moments, stored in every checkpoint (see [`data_moments`]).
    moments: Option<GaussianMoments>,
}

/// The optimiser of `config`: AdamW with every constant explicit.
fn optimizer(config: &RunConfig) -> ModuleOptimizer {
    let t = &config.train;
    AdamWConfig::new()
        .with_beta_1(t.beta1 as f32)
        .with_beta_2(t.beta2 as f32)
        .with_epsilon(t.eps as f32)
        .with_weight_decay(t.weight_decay as f32)
        .init()
}

/// Opens the dataset of `config`.
///
/// # Errors
/// [`TrainError::Data`].
pub fn open_dataset(config: &RunConfig) -> Result<Arc<dyn Dataset>, TrainError> {
    let spec = DataSpec::from_str(&config.data.spec)?;
    let options = DataOptions {
        toy_points: config.data.points,
        image_size: config.data.image_size,
        seed: config.train.seed,
        labels: config.data.labels.clone(),
        ..DataOptions::default()
    };
    Ok(Arc::from(data::open(&spec, &options)?))
}

/// The class count the network is conditioned on, if it is.
pub(crate) fn classes(
    config: &RunConfig,
    dataset: &dyn Dataset,
) -> Result<Option<usize>, TrainError> {
    if !config.train.conditional {
        return Ok(None);
    }
    dataset.num_classes().map(Some).ok_or_else(|| {
        TrainError::Config(crate::config::ConfigError::Invalid {
            key: "train.conditional",
            reason: format!("the data `{}` has no labels", config.data.spec),
        })
    })
}

/// The part of a configuration a checkpoint must share to be resumed or sampled: data, network
/// and objective (the `[train]` table may change, e.g. more steps).
fn identity(config: &RunConfig) -> serde_json::Value {
    serde_json::json!({
        "data": config.data,
        "model": config.model,
        "objective": config.objective,
        "conditional": config.train.conditional,
    })
}

/// Whether `dir` holds only what a run leaves when it stops before its first checkpoint
/// (`config.toml`, `metrics.jsonl`, an empty `grids/`, a `checkpoints/` with at most an
/// interrupted write's temporary file): nothing a fresh run could lose, so it may start there
/// instead of leaving the directory unusable.
fn never_checkpointed(dir: &Path) -> bool {
    let only = |path: &Path, allowed: &dyn Fn(&str, bool) -> bool| {
        std::fs::read_dir(path).is_ok_and(|entries| {
            entries.into_iter().all(|e| {
                e.is_ok_and(|e| {
                    let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                    allowed(&e.file_name().to_string_lossy(), is_dir)
                })
            })
        })
    };
    only(dir, &|name, is_dir| match (name, is_dir) {
        ("config.toml" | "metrics.jsonl" | ".metrics.jsonl.tmp", false) => true,
        ("grids", true) => only(&dir.join("grids"), &|_, _| false),
        ("checkpoints", true) => only(&dir.join("checkpoints"), &|name, is_dir| {
            !is_dir && name.starts_with('.') && name.contains(".tmp")
        }),
        _ => false,
    })
}

impl Session {
    fn start(
        config: &RunConfig,
        options: &RunOptions,
        progress_warn: &mut dyn FnMut(String),
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let dataset = open_dataset(config)?;
        // A function of the data alone: a resumed run computes the same moments again.
        let moments = data_moments(dataset.as_ref())?;
        let objective = Objective::build(&config.objective)?;
        let num_classes = classes(config, dataset.as_ref())?;
        let device = options.device.clone().autodiff();
        let run_dir = RunDir::new(&options.out);
        let template_model = Network::build_seeded(
            &config.model,
            dataset.sample_shape(),
            num_classes,
            &device,
            config.train.seed,
        )?;
        if !options.resume {
            let occupied = std::fs::read_dir(&options.out).is_ok_and(|mut d| d.next().is_some());
            if occupied && !never_checkpointed(&options.out) {
                let what = if run_dir.checkpoints().is_empty() {
                    "this directory is not empty: a fresh run needs an empty or new --out"
                } else {
                    "this directory already holds a run's checkpoints: pass --resume to \
                     continue it, or choose another --out"
                };
                return Err(TrainError::Io {
                    path: options.out.clone(),
                    source: std::io::Error::other(what),
                });
            }
            let ema = config
                .train
                .ema
                .schedule()
                .map(|s| Ema::new(&template_model, s, &options.device))
                .transpose()
                .map_err(|e| TrainError::Model(e.to_string()))?;
            let null_class = template_model.null_class();
            return Ok(Self {
                objective,
                dataset,
                model: template_model,
                ema,
                optimizer: optimizer(config),
                state: TrainState {
                    step: 0,
                    epoch: 0,
                    position: 0,
                    nimg: 0,
                    seed: config.train.seed,
                    skipped: 0,
                },
                device,
                null_class,
                moments,
            });
        }
        let has_ema = config.train.ema.schedule().is_some();
        let template = || Snapshot {
            model: template_model.clone(),
            ema: has_ema.then(|| template_model.clone().valid()),
        };
        let foreign = |path: PathBuf| TrainError::Mismatch {
            path,
            reason: "was trained with other data, network or objective than this \
                     configuration; resume with the same [data], [model] and [objective]"
                .into(),
        };
        // Compared before the weights are read: those of another network would fail to load
        // with one shape error per tensor, where this says why in one line.
        if let Some((path, stored)) = run_dir.newest_config()
            && identity(&stored) != identity(config)
        {
            return Err(foreign(path));
        }
        let loaded =
            run_dir.load_newest(&template, &|| optimizer(config), &device, progress_warn)?;
        if identity(&loaded.config) != identity(config) {
            return Err(foreign(loaded.path.clone()));
        }
        if loaded.state.seed != config.train.seed {
            return Err(TrainError::Mismatch {
                path: loaded.path.clone(),
                reason: format!(
                    "was trained with seed {}, not {}",
                    loaded.state.seed, config.train.seed
                ),
            });
        }
        if loaded.state.step > config.train.steps {
            return Err(TrainError::Mismatch {
                path: loaded.path.clone(),
                reason: format!(
                    "is at step {}, past train.steps = {}: resume with at least as many steps",
                    loaded.state.step, config.train.steps
                ),
            });
        }
        let model = loaded.snapshot.model;
        let ema = match (config.train.ema.schedule(), loaded.snapshot.ema) {
            (Some(schedule), Some(avg)) => {
                let mut ema = Ema::new(&model, schedule, &options.device)
                    .map_err(|e| TrainError::Model(e.to_string()))?;
                ema.set_model(avg);
                ema.set_nimg(loaded.state.nimg);
                Some(ema)
            }
            (None, None) => None,
            _ => {
                return Err(TrainError::Mismatch {
                    path: loaded.path,
                    reason: "the EMA setting differs from the checkpoint's".into(),
                });
            }
        };
        let null_class = model.null_class();
        Ok(Self {
            objective,
            dataset,
            model,
            ema,
            optimizer: loaded.optimizer,
            state: loaded.state,
            device,
            null_class,
            moments,
        })
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            model: self.model.clone(),
            ema: self.ema.as_ref().map(|e| e.model().clone()),
        }
    }
}

/// Values of the steps since the last metrics line, kept on the device until it is written.
#[derive(Default)]
struct Pending {
    means: Vec<Tensor<1>>,
    per_sample: Vec<Tensor<1>>,
    levels: Vec<f64>,
    norms: Vec<Tensor<1>>,
    first_step: u64,
    samples: usize,
}

/// Reads a `[n]` tensor to the host.
fn host(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap_or_default()
}

/// Trains `config` into `options.out` (fresh, or resumed from its newest valid checkpoint).
///
/// # Errors
/// [`TrainError`] for bad configuration or data, a damaged or foreign checkpoint on resume, a
/// non-finite loss with `on_nonfinite = "stop"`, or I/O; files already in the directory are
/// never overwritten by a fresh run.
pub fn train(config: &RunConfig, options: &RunOptions) -> Result<RunSummary, TrainError> {
    train_on_devices(config, options, &[])
}

/// [`train`] with data parallelism over `options.device` (rank 0) and `more_devices` (ranks
/// 1…): see the `distributed` module for what that changes. The collective is burn's
/// (`burn::tensor::distributed`), which 0.22.1 implements for CUDA (NCCL) only.
///
/// # Errors
/// As [`train`].
pub fn train_on_devices(
    config: &RunConfig,
    options: &RunOptions,
    more_devices: &[Device],
) -> Result<RunSummary, TrainError> {
    run_loop(config, options, more_devices, &mut |_| Ok(()))
}

/// [`train`] that calls `between(step)` after each optimiser step, outside the step's entry in
/// [`RunSummary::step_seconds`] (`step` = steps done so far). For measurements that pair every
/// step of the loop with other work done at the same moment — `scoreflow bench-train`
/// alternates a bare training step with each loop step this way, so that the machine's drift
/// falls on both alike. An error from `between` stops the run and is returned.
///
/// # Errors
/// As [`train`], and `between`'s.
pub fn train_interleaved(
    config: &RunConfig,
    options: &RunOptions,
    between: &mut dyn FnMut(u64) -> Result<(), TrainError>,
) -> Result<RunSummary, TrainError> {
    run_loop(config, options, &[], between)
}

fn run_loop(
    config: &RunConfig,
    options: &RunOptions,
    more_devices: &[Device],
    between: &mut dyn FnMut(u64) -> Result<(), TrainError>,
) -> Result<RunSummary, TrainError> {
    let mut warnings = Vec::new();
    let mut session = Session::start(config, options, &mut |w| warnings.push(w))?;
    let replicas = if more_devices.is_empty() {
        None
    } else {
        session.model = shard(session.model);
        Some(Replicas::new(
            &session.model,
            &session.device,
            &session.optimizer,
            &|| optimizer(config),
            more_devices,
        )?)
    };
    let mut replicas = replicas;
    let run_dir = RunDir::new(&options.out);
    run_dir.create()?;
    write_config(&options.out, config)?;
    let settings = config.train.clone();
    let progress = Progress::new(session.state.step, settings.steps, options.quiet);
    for w in &warnings {
        progress.note(&format!("warning: {w}"));
    }
    // A fresh run (step 0) may start where an earlier attempt stopped before its first
    // checkpoint: its lines are dropped as a resume drops those past its checkpoint.
    let mut metrics = MetricsLog::open(&options.out, Some(session.state.step))?;
    let micro = settings.batch / settings.accumulation;
    let mut loader = Loader::new(
        session.dataset.clone(),
        micro,
        settings.seed,
        config.data.flip,
        (session.state.epoch, session.state.position),
    )?;
    let conditioning = session
        .null_class
        .map(|null| (null as u32, settings.label_dropout));
    let mut losses = Vec::new();
    let mut pending = Pending {
        first_step: session.state.step,
        ..Pending::default()
    };
    let mut clock = Instant::now();
    let mut last_checkpoint = run_dir
        .checkpoints()
        .last()
        .map(|f| f.path.clone())
        .unwrap_or_default();
    let stop = options
        .stop_after
        .map_or(settings.steps, |s| s.min(settings.steps));
    let mut step_seconds = Vec::new();
    while session.state.step < stop {
        let step_started = Instant::now();
        let step = session.state.step;
        let mut rng = step_rng(settings.seed, step);
        session.device.seed(device_seed(settings.seed, step));
        let mut accumulator = GradientsAccumulator::new();
        // Without accumulation the one micro-batch's gradients are the step's.
        let mut single = None;
        let world = replicas.as_ref().map_or(1, Replicas::world);
        let mut rank_grads: Vec<(GradientsAccumulator<Network>, Option<GradientsParams>)> = (1
            ..world)
            .map(|_| (GradientsAccumulator::new(), None))
            .collect();
        let mut step_mean: Option<Tensor<1>> = None;
        for k in 0..settings.accumulation {
            let batch = loader.next_batch()?;
            let scale = 1.0 / settings.accumulation as f64;
            let (loss, grads) = match &replicas {
                None => {
                    let loss = session.objective.loss(
                        &session.model,
                        &MicroBatch {
                            batch: &batch,
                            device: &session.device,
                            conditioning,
                        },
                        &mut rng,
                    )?;
                    let scaled = if settings.accumulation == 1 {
                        loss.mean.clone()
                    } else {
                        loss.mean.clone().mul_scalar(scale)
                    };
                    let grads = GradientsParams::from_grads(scaled.backward(), &session.model);
                    (loss, grads)
                }
                Some(reps) => {
                    let mut results = parallel_backward(
                        &session.objective,
                        (&session.model, &session.device),
                        reps,
                        &batch,
                        conditioning,
                        settings.seed,
                        step * settings.accumulation as u64 + k as u64,
                        scale,
                    )?
                    .into_iter();
                    let first = results.next().expect("rank 0 is always present");
                    for ((acc, one), (rank, (_, grads))) in
                        rank_grads.iter_mut().zip(reps.ranks.iter().zip(results))
                    {
                        if settings.accumulation == 1 {
                            *one = Some(grads);
                        } else {
                            acc.accumulate(&rank.model, grads);
                        }
                    }
                    first
                }
            };
            if settings.accumulation == 1 {
                single = Some(grads);
            } else {
                accumulator.accumulate(&session.model, grads);
            }
            let mean = loss.mean.detach().inner();
            step_mean = Some(match step_mean {
                Some(m) => m + mean,
                None => mean,
            });
            pending.per_sample.push(loss.per_sample.detach().inner());
            pending.levels.extend(loss.levels);
            (session.state.epoch, session.state.position) = batch.next_start();
        }
        let step_mean = step_mean.expect("accumulation ≥ 1");
        let step_mean = if settings.accumulation == 1 {
            step_mean
        } else {
            step_mean.div_scalar(settings.accumulation as f64)
        };
        let mut grads = single.take().unwrap_or_else(|| accumulator.grads());
        let norm = global_norm(&session.model, &grads)
            .unwrap_or_else(|| Tensor::zeros([1], &session.device.clone().inner()));
        let mut skip = false;
        if settings.on_nonfinite == NonFinitePolicy::Skip {
            // Deciding to skip needs the values on the host: one read per step in this mode.
            let values = host(step_mean.clone() + norm.clone().cast(step_mean.dtype()));
            skip = !values.iter().all(|v| v.is_finite());
        }
        if settings.clip > 0.0 && !skip {
            grads = clip_global_norm(&session.model, grads, &norm, settings.clip);
        }
        if skip {
            session.state.skipped += 1;
        } else {
            let lr = settings.lr_at(step);
            session.model = session.optimizer.step(lr, session.model, grads);
            if let Some(reps) = replicas.as_mut() {
                // Every rank received the same averaged gradients: each takes the same step.
                for (rank, (acc, one)) in reps.ranks.iter_mut().zip(rank_grads.iter_mut()) {
                    let mut g = one.take().unwrap_or_else(|| acc.grads());
                    if settings.clip > 0.0
                        && let Some(n) = global_norm(&rank.model, &g)
                    {
                        g = clip_global_norm(&rank.model, g, &n, settings.clip);
                    }
                    rank.model = rank.optimizer.step(lr, rank.model.clone(), g);
                }
            }
            if let Some(ema) = session.ema.as_mut() {
                ema.update(&session.model, settings.batch as u64)
                    .map_err(|e| TrainError::Model(e.to_string()))?;
            }
            pending.means.push(step_mean);
            pending.norms.push(norm);
        }
        session.state.step += 1;
        session.state.nimg += settings.batch as u64;
        pending.samples += settings.batch;
        progress.step();
        let done = session.state.step;
        let last = done == stop;
        let log_now = done % settings.log_every == 0 || last;
        let save_now = done % settings.checkpoint_every == 0 || last;
        if log_now || save_now {
            // The pending values are read (and checked) before anything is saved, so no
            // checkpoint ever holds weights updated from a non-finite step.
            let line = flush(
                &mut pending,
                &session,
                settings.lr_at(step),
                &mut clock,
                &mut losses,
            )?;
            if let Some(line) = line
                && log_now
            {
                metrics.write(&line)?;
                progress.metrics(&line);
            }
            pending.first_step = done;
        }
        if save_now {
            last_checkpoint = run_dir.save(
                &session.snapshot(),
                &session.optimizer,
                &session.state,
                config,
                &ModelInfo {
                    sample_shape: session.dataset.sample_shape().to_vec(),
                    num_classes: session.null_class,
                },
                session.moments.as_ref(),
                settings.keep,
            )?;
        }
        let grid_now =
            (settings.grid_every > 0 && done % settings.grid_every == 0) || done == settings.steps;
        if grid_now {
            // A grid is a diagnostic: a model that cannot be sampled yet (or a full disk) is
            // reported, not a reason to stop training.
            match write_grid(&session, &options.out, &settings, done, &options.device) {
                Ok(path) => progress.note(&format!("samples: {}", path.display())),
                Err(e) => progress.note(&format!("warning: no sample grid at step {done}: {e}")),
            }
        }
        step_seconds.push(step_started.elapsed().as_secs_f64());
        between(done)?;
    }
    progress.finish();
    Ok(RunSummary {
        step: session.state.step,
        checkpoint: last_checkpoint,
        losses,
        skipped: session.state.skipped,
        step_seconds,
    })
}

/// Reads the pending values, checks them, and turns them into a metrics line.
fn flush(
    pending: &mut Pending,
    session: &Session,
    lr: f64,
    clock: &mut Instant,
    losses: &mut Vec<f64>,
) -> Result<Option<MetricsLine>, TrainError> {
    if pending.means.is_empty() && pending.per_sample.is_empty() {
        return Ok(None);
    }
    // One read per list; a list is empty when every step since the last line was skipped.
    let read = |list: &mut Vec<Tensor<1>>| {
        let list = std::mem::take(list);
        if list.is_empty() {
            Vec::new()
        } else {
            host(Tensor::cat(list, 0))
        }
    };
    let means = read(&mut pending.means);
    let norms = read(&mut pending.norms);
    let per_sample = read(&mut pending.per_sample);
    let levels = std::mem::take(&mut pending.levels);
    for (k, m) in means.iter().enumerate() {
        if !m.is_finite() {
            return Err(TrainError::NonFinite {
                step: pending.first_step + k as u64 + 1,
                what: "loss",
            });
        }
    }
    for (k, g) in norms.iter().enumerate() {
        if !g.is_finite() {
            return Err(TrainError::NonFinite {
                step: pending.first_step + k as u64 + 1,
                what: "gradient norm",
            });
        }
    }
    losses.extend(&means);
    let elapsed = clock.elapsed().as_secs_f64();
    *clock = Instant::now();
    let samples = std::mem::take(&mut pending.samples);
    let (loss_quartiles, level_quartile_edges) = loss_by_quartile(&levels, &per_sample);
    let mean = |v: &[f64]| {
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    Ok(Some(MetricsLine {
        step: session.state.step,
        loss: mean(&means),
        loss_quartiles,
        level_quartile_edges,
        lr,
        grad_norm: mean(&norms),
        samples_per_sec: samples as f64 / elapsed.max(1e-9),
        skipped: session.state.skipped,
    }))
}

/// Samples a grid from the EMA weights (the trained ones without EMA) at a fixed seed and writes
/// `grids/step-NNNNNNNNN.png`: an image grid, or a scatter plot over data points.
fn write_grid(
    session: &Session,
    dir: &Path,
    settings: &crate::config::TrainSettings,
    step: u64,
    device: &Device,
) -> Result<PathBuf, TrainError> {
    let grids = dir.join("grids");
    std::fs::create_dir_all(&grids).map_err(TrainError::io(&grids))?;
    let path = grids.join(format!("step-{step:09}.png"));
    let network = match &session.ema {
        Some(ema) => ema.model().clone(),
        None => session.model.clone().valid(),
    };
    let shape = session.dataset.sample_shape().to_vec();
    let numel: usize = shape.iter().product();
    let images = shape.len() == 3;
    let n = settings
        .grid_samples
        .unwrap_or(if images { 64 } else { 2000 });
    let view = session.objective.view();
    let request = crate::sampling::SampleRequest {
        sampler: if session.objective.is_flow() {
            "fm-midpoint"
        } else {
            "heun"
        }
        .into(),
        steps: settings.grid_steps,
        grid: crate::sampling::GridKind::Karras { rho: 7.0 },
        sigma_min: None,
        sigma_max: None,
        seed: settings.seed,
        options: Default::default(),
        chunk: if images { 64 } else { 4096 },
        first_sample: 0,
        guidance: None,
        moments: None,
    };
    let labels: Option<Vec<u32>> = session
        .null_class
        .map(|null| (0..n as u32).map(|i| i % null.max(1) as u32).collect());
    let z = crate::sampling::standard_normals(settings.seed, n, numel);
    let sampled = crate::sampling::sample(
        &network,
        &view,
        &shape,
        &z,
        labels.as_deref(),
        &request,
        &device.clone().inner(),
    )?;
    if images {
        let cols = (n as f64).sqrt().ceil() as usize;
        crate::metrics::write_image_grid(&path, &sampled.x, &shape, cols)?;
    } else if numel >= 2 {
        let count = n.min(session.dataset.len());
        let mut reference = vec![0f32; count * numel];
        for (i, row) in reference.chunks_exact_mut(numel).enumerate() {
            session.dataset.read(i, row)?;
        }
        let reference: Vec<f64> = reference.into_iter().map(f64::from).collect();
        crate::metrics::write_scatter(&path, &sampled.x, Some(&reference), numel, 512)?;
    }
    Ok(path)
}

/// Writes the resolved configuration beside the checkpoints (atomically).
fn write_config(dir: &Path, config: &RunConfig) -> Result<(), TrainError> {
    let path = dir.join("config.toml");
    let tmp = dir.join(".config.toml.tmp");
    let text = config.to_toml_string()?;
    std::fs::write(&tmp, text).map_err(TrainError::io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(TrainError::io(&path))
}
