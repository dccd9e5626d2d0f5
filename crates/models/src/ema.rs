//! Exponential moving average (EMA) of model weights.
//!
//! After every optimiser step the averaged copy moves toward the trained weights:
//!
//! ```text
//! θ_ema ← β · θ_ema + (1 − β) · θ          (for every float parameter)
//! ```
//!
//! Sampling from θ_ema rather than θ is what every published diffusion model does (DDPM, NCSN++,
//! EDM): the average smooths out the SGD noise of the last few thousand steps.
//!
//! Two schedules for β are provided:
//!
//! * [`EmaSchedule::Fixed`] — a constant decay β (DDPM uses 0.9999, NCSN++ 0.999).
//! * [`EmaSchedule::EdmHalfLife`] — EDM's half-life in *images* with a ramp-up (Karras et al.
//!   2022, "Elucidating the Design Space of Diffusion-Based Generative Models", Appendix F.1,
//!   and `training/training_loop.py` of NVlabs/edm, lines 142–148):
//!
//!   ```python
//!   ema_halflife_nimg = ema_halflife_kimg * 1000
//!   if ema_rampup_ratio is not None:
//!       ema_halflife_nimg = min(ema_halflife_nimg, cur_nimg * ema_rampup_ratio)
//!   ema_beta = 0.5 ** (batch_size / max(ema_halflife_nimg, 1e-8))
//!   for p_ema, p_net in zip(ema.parameters(), net.parameters()):
//!       p_ema.copy_(p_net.detach().lerp(p_ema, ema_beta))
//!   ```
//!
//!   where `cur_nimg` is the number of images seen *before* the current step (EDM increments it
//!   after the EMA update). [`Ema`] keeps that counter itself.
//!
//! The module is generic over any burn [`Module`]: parameters of the trained model and of the
//! average are paired by their traversal order (which [`Module::visit`] and [`Module::map`]
//! share), and each pair is checked by module path and shape before anything is modified.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::Device;
use burn::tensor::{Shape, Tensor};

/// EDM's floor on the half-life, `max(ema_halflife_nimg, 1e-8)` in `training_loop.py`: at
/// `cur_nimg = 0` with ramp-up the half-life is 0, the floor makes β = 0.5^(B/1e-8) = 0 (an exact
/// copy of the trained weights) instead of a division by zero.
pub const EDM_MIN_HALFLIFE_NIMG: f64 = 1e-8;

/// Errors from configuring or updating an [`Ema`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmaError {
    /// A fixed decay β must lie in [0, 1] (β = 1 freezes the average, β = 0 copies the model).
    #[error("EMA decay must be in [0, 1], got {0}")]
    InvalidDecay(f64),
    /// The half-life (in images) must be finite and strictly positive.
    #[error("EMA half-life must be a finite positive number of images, got {0}")]
    InvalidHalfLife(f64),
    /// The ramp-up ratio must be finite and strictly positive (use `None` for no ramp-up).
    #[error("EMA ramp-up ratio must be finite and positive, got {0}")]
    InvalidRampup(f64),
    /// A batch size of zero images would leave β = 1 and is certainly a caller bug.
    #[error("EMA batch size must be positive")]
    ZeroBatchSize,
    /// The trained model and the average do not have the same parameters.
    #[error("EMA model and trained model differ: {0}")]
    StructureMismatch(String),
}

/// How the decay β of the moving average is chosen at each update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EmaSchedule {
    /// Constant β: θ_ema ← β θ_ema + (1 − β) θ. After n updates toward a constant θ,
    /// θ_ema = βⁿ θ_ema,0 + (1 − βⁿ) θ.
    Fixed {
        /// β ∈ [0, 1].
        decay: f64,
    },
    /// EDM's schedule (Karras et al. 2022, App. F.1; NVlabs/edm `training_loop.py`):
    ///
    /// ```text
    /// h    = min(halflife_nimg, cur_nimg · rampup_ratio)   (h = halflife_nimg without ramp-up)
    /// β    = 0.5^(batch_size / max(h, 1e-8))
    /// ```
    ///
    /// so the weight of an image's contribution halves every `h` images. EDM's defaults are
    /// `halflife_nimg = 500_000` (500 kimg) and `rampup_ratio = Some(0.05)`.
    EdmHalfLife {
        /// Half-life of the average, in training images (EDM: `ema_halflife_kimg · 1000`).
        halflife_nimg: f64,
        /// Ramp-up coefficient: the half-life is at most this fraction of the images seen so
        /// far, so early (bad) weights are forgotten quickly. `None`: no ramp-up.
        rampup_ratio: Option<f64>,
    },
}

impl EmaSchedule {
    /// EDM's published configuration: half-life 500 kimg, ramp-up ratio 0.05
    /// (`training_loop.py` defaults `ema_halflife_kimg=500`, `ema_rampup_ratio=0.05`).
    pub fn edm_default() -> Self {
        Self::EdmHalfLife {
            halflife_nimg: 500_000.0,
            rampup_ratio: Some(0.05),
        }
    }

    /// Checks the parameters: decay ∈ [0, 1], half-life and ramp-up finite and > 0.
    pub fn validate(&self) -> Result<(), EmaError> {
        match *self {
            Self::Fixed { decay } => {
                // `contains` is false for NaN, which is what we want.
                if !(0.0..=1.0).contains(&decay) {
                    return Err(EmaError::InvalidDecay(decay));
                }
            }
            Self::EdmHalfLife {
                halflife_nimg,
                rampup_ratio,
            } => {
                if !(halflife_nimg.is_finite() && halflife_nimg > 0.0) {
                    return Err(EmaError::InvalidHalfLife(halflife_nimg));
                }
                if let Some(r) = rampup_ratio
                    && !(r.is_finite() && r > 0.0)
                {
                    return Err(EmaError::InvalidRampup(r));
                }
            }
        }
        Ok(())
    }

    /// The decay β for an update made after `cur_nimg` images have been seen (before this
    /// batch), with a batch of `batch_size` images.
    ///
    /// `Fixed`: β = decay. `EdmHalfLife`: β = 0.5^(batch_size / max(h, 1e-8)) with
    /// h = min(halflife_nimg, cur_nimg · rampup_ratio) — EDM `training_loop.py` lines 143–146.
    pub fn beta(&self, cur_nimg: u64, batch_size: u64) -> Result<f64, EmaError> {
        self.validate()?;
        if batch_size == 0 {
            return Err(EmaError::ZeroBatchSize);
        }
        Ok(match *self {
            Self::Fixed { decay } => decay,
            Self::EdmHalfLife {
                halflife_nimg,
                rampup_ratio,
            } => {
                let h = match rampup_ratio {
                    Some(r) => halflife_nimg.min(cur_nimg as f64 * r),
                    None => halflife_nimg,
                };
                0.5f64.powf(batch_size as f64 / h.max(EDM_MIN_HALFLIFE_NIMG))
            }
        })
    }
}

/// A moving average of a model's weights: θ_ema ← β θ_ema + (1 − β) θ for every float
/// parameter, β from an [`EmaSchedule`].
///
/// The average is a full copy of the model in validation mode (no autodiff, dropout off), the
/// equivalent of EDM's `copy.deepcopy(net).eval().requires_grad_(False)`, so it can be used for
/// sampling directly through [`Ema::model`].
///
/// Every float tensor the module visits is averaged, including running statistics such as batch
/// norm's (EDM averages `parameters()` only; averaging running buffers too is what timm's
/// `ModelEmaV2` does and keeps them consistent with the averaged weights). Int and bool tensors
/// keep the values of the initial copy.
#[derive(Debug, Clone)]
pub struct Ema<M: Module> {
    /// `Option` only so that [`Module::map`], which consumes the module, can take it by value
    /// without cloning (a clone would keep a second reference to every tensor and block in-place
    /// updates); it is `Some` outside `update`.
    model: Option<M>,
    schedule: EmaSchedule,
    device: Device,
    /// Images seen before the next update (EDM's `cur_nimg`).
    nimg: u64,
    /// Number of updates applied.
    updates: u64,
}

impl<M: Module> Ema<M> {
    /// Starts the average as a copy of `model` (θ_ema,0 = θ_0), kept on `device` (its autodiff
    /// wrapper, if any, is dropped: the average is never differentiated).
    pub fn new(model: &M, schedule: EmaSchedule, device: &Device) -> Result<Self, EmaError> {
        schedule.validate()?;
        let device = device.clone().inner();
        let copy = model.valid().to_device(&device);
        Ok(Self {
            model: Some(copy),
            schedule,
            device,
            nimg: 0,
            updates: 0,
        })
    }

    /// The averaged model θ_ema.
    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("EMA model is present outside update")
    }

    /// Consumes the average and returns the averaged model θ_ema.
    pub fn into_model(self) -> M {
        self.model.expect("EMA model is present outside update")
    }

    /// The schedule in use.
    pub fn schedule(&self) -> EmaSchedule {
        self.schedule
    }

    /// Images seen so far (EDM's `cur_nimg`): the sum of the batch sizes passed to
    /// [`update`](Self::update), plus any value set by [`set_nimg`](Self::set_nimg).
    pub fn nimg(&self) -> u64 {
        self.nimg
    }

    /// Sets the image counter, e.g. when resuming training (EDM's `resume_kimg · 1000`), so that
    /// the ramp-up continues where it stopped.
    pub fn set_nimg(&mut self, nimg: u64) {
        self.nimg = nimg;
    }

    /// Number of updates applied since construction.
    pub fn num_updates(&self) -> u64 {
        self.updates
    }

    /// Replaces the averaged model (e.g. with one loaded from a checkpoint). The model is moved
    /// to this average's device in validation mode.
    pub fn set_model(&mut self, model: M) {
        self.model = Some(model.valid().to_device(&self.device));
    }

    /// One EMA step after an optimiser step on a batch of `batch_size` images:
    /// β = schedule.beta(nimg, batch_size), θ_ema ← β θ_ema + (1 − β) θ, then
    /// nimg += batch_size (the order of EDM's loop). Returns the β used.
    pub fn update(&mut self, model: &M, batch_size: u64) -> Result<f64, EmaError> {
        let beta = self.schedule.beta(self.nimg, batch_size)?;
        self.update_with_beta(model, beta)?;
        self.nimg += batch_size;
        Ok(beta)
    }

    /// θ_ema ← β θ_ema + (1 − β) θ with an explicit β ∈ [0, 1]; the image counter is left alone.
    ///
    /// Computed as EDM's `θ.lerp(θ_ema, β)` with PyTorch's lerp formula: θ + β (θ_ema − θ) for
    /// β < 0.5, θ_ema − (1 − β)(θ_ema − θ) otherwise. It is exact at both ends: β = 0 copies θ bit
    /// for bit (the first EDM step with ramp-up) and β = 1 keeps θ_ema.
    /// Nothing is modified when the two models' parameters do not match (path or shape).
    pub fn update_with_beta(&mut self, model: &M, beta: f64) -> Result<(), EmaError> {
        if !(0.0..=1.0).contains(&beta) {
            return Err(EmaError::InvalidDecay(beta));
        }
        let mut online = Collector::default();
        model.visit(&mut online);
        let mut layout = LayoutCollector::default();
        self.model().visit(&mut layout);
        check_layout(&online.params, &layout.params)?;

        let ema = self
            .model
            .take()
            .expect("EMA model is present outside update");
        let mut mapper = Averager {
            sources: online.params.into_iter(),
            beta,
            device: &self.device,
        };
        self.model = Some(ema.map(&mut mapper));
        self.updates += 1;
        Ok(())
    }
}

/// Checks that the trained model's float parameters and the average's match one for one,
/// by module path and shape, so the mapper can pair them by position.
fn check_layout(online: &[OnlineParam], ema: &[(String, Shape)]) -> Result<(), EmaError> {
    if online.len() != ema.len() {
        return Err(EmaError::StructureMismatch(format!(
            "{} float parameters in the trained model, {} in the average",
            online.len(),
            ema.len()
        )));
    }
    for (o, (path, shape)) in online.iter().zip(ema) {
        if &o.path != path || &o.shape != shape {
            return Err(EmaError::StructureMismatch(format!(
                "trained `{}` {:?} vs average `{}` {:?}",
                o.path, o.shape, path, shape
            )));
        }
    }
    Ok(())
}

/// One float parameter of the trained model, flattened to rank 1 so that tensors of every rank
/// fit in one `Vec` (rank is a const generic); the reshape back is free for contiguous data.
struct OnlineParam {
    path: String,
    shape: Shape,
    flat: Tensor<1>,
}

/// Module path tracking shared by the visitors and the mapper (`enter_module` / `exit_module`
/// give the same names burn's record uses, e.g. `conv.weight`).
#[derive(Default)]
struct PathStack(Vec<String>);

impl PathStack {
    fn joined(&self) -> String {
        self.0.join(".")
    }
}

/// Collects the trained model's float parameters, detached from any autodiff graph.
#[derive(Default)]
struct Collector {
    path: PathStack,
    params: Vec<OnlineParam>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.0.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.0.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // `inner()` drops autodiff: the average must never enter the training graph
        // (EDM: `p_net.detach()`).
        let tensor = param.val().inner();
        let shape = tensor.shape();
        let n = shape.num_elements();
        self.params.push(OnlineParam {
            path: self.path.joined(),
            shape,
            flat: tensor.reshape([n]),
        });
    }
}

/// Collects the average's parameter paths and shapes without initialising lazy parameters.
#[derive(Default)]
struct LayoutCollector {
    path: PathStack,
    params: Vec<(String, Shape)>,
}

impl ModuleVisitor for LayoutCollector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.0.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.0.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.params.push((self.path.joined(), param.lazy_shape()));
    }
}

/// Applies θ_ema ← lerp(θ, θ_ema, β) = β θ_ema + (1 − β) θ to each float parameter of the average, in traversal order.
struct Averager<'a> {
    sources: std::vec::IntoIter<OnlineParam>,
    beta: f64,
    device: &'a Device,
}

impl ModuleMapper for Averager<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // The layout was checked beforehand, so there is exactly one source per parameter.
        let Some(src) = self.sources.next() else {
            return param;
        };
        let beta = self.beta;
        let device = self.device;
        param.map(|ema| {
            let online: Tensor<D> = src.flat.reshape(src.shape).to_device(device);
            // EDM's `p_net.lerp(p_ema, β)`, with PyTorch's two-sided lerp formula, which is exact
            // at both ends (β = 0 gives θ, β = 1 gives θ_ema, bit for bit) and keeps the
            // multiplier ≤ 0.5 so rounding is smallest.
            let diff = ema.clone() - online.clone();
            if beta < 0.5 {
                online + diff.mul_scalar(beta)
            } else {
                ema - diff.mul_scalar(1.0 - beta)
            }
        })
    }
}
