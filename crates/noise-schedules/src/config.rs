//! Serde configuration for every schedule, validated when built.

use serde::{Deserialize, Serialize};

use crate::discrete::{BetaSchedule, Discrete};
use crate::schedules::{
    CondOt, CosinePath, Edm, PolynomialPath, SubVp, Ve, VpCosine, VpLinear, VpPath,
};
use crate::{NoiseSchedule, ScheduleError};

/// A schedule description, e.g. `{"type": "vp_linear", "beta_max": 20.0}`.
///
/// Omitted fields take the defaults of the paper each schedule comes from (see the schedule
/// types' `Default` impls). Unknown fields are rejected so that a misspelt parameter cannot
/// silently fall back to its default. Deserialisation checks only the shape; the values are
/// validated by [`build`](Self::build), which returns a [`ScheduleError`] rather than
/// panicking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleConfig {
    /// [`VpLinear`] (Song et al. 2021).
    VpLinear {
        /// β_min (default 0.1).
        #[serde(default = "default_beta_min")]
        beta_min: f64,
        /// β_max (default 20).
        #[serde(default = "default_beta_max")]
        beta_max: f64,
    },
    /// [`VpCosine`] (Nichol & Dhariwal 2021).
    VpCosine {
        /// Offset s (default 0.008).
        #[serde(default = "default_cosine_s")]
        s: f64,
    },
    /// [`SubVp`] (Song et al. 2021).
    SubVp {
        /// β_min (default 0.1).
        #[serde(default = "default_beta_min")]
        beta_min: f64,
        /// β_max (default 20).
        #[serde(default = "default_beta_max")]
        beta_max: f64,
    },
    /// [`Ve`] (Song et al. 2021).
    Ve {
        /// σ_min (default 0.01).
        #[serde(default = "default_ve_sigma_min")]
        sigma_min: f64,
        /// σ_max (default 50).
        #[serde(default = "default_ve_sigma_max")]
        sigma_max: f64,
    },
    /// [`Edm`] (Karras et al. 2022).
    Edm {
        /// Upper end of the time (= σ) interval (default 80).
        #[serde(default = "default_edm_sigma_max")]
        sigma_max: f64,
    },
    /// [`CondOt`] (Lipman et al. 2023). A struct variant, not a unit one, so that stray
    /// fields are rejected like everywhere else.
    CondOt {},
    /// [`PolynomialPath`] (facebookresearch/flow_matching).
    PolynomialPath {
        /// Exponent n (no default: the reference implementation requires it).
        n: f64,
    },
    /// [`CosinePath`] (facebookresearch/flow_matching).
    CosinePath {},
    /// [`VpPath`] (Lipman et al. 2023).
    VpPath {
        /// β_min (default 0.1).
        #[serde(default = "default_beta_min")]
        beta_min: f64,
        /// β_max (default 20).
        #[serde(default = "default_beta_max")]
        beta_max: f64,
    },
    /// [`Discrete`] (Ho et al. 2020; diffusers `DDPMScheduler` config names).
    Discrete {
        /// β table (default DDPM linear).
        #[serde(default)]
        beta_schedule: BetaSchedule,
        /// N (default 1000).
        #[serde(default = "default_num_train_timesteps")]
        num_train_timesteps: usize,
        /// Apply Lin et al. 2024's zero-terminal-SNR rescaling (default false).
        #[serde(default)]
        rescale_betas_zero_snr: bool,
    },
}

fn default_beta_min() -> f64 {
    0.1
}
fn default_beta_max() -> f64 {
    20.0
}
fn default_cosine_s() -> f64 {
    0.008
}
fn default_ve_sigma_min() -> f64 {
    0.01
}
fn default_ve_sigma_max() -> f64 {
    50.0
}
fn default_edm_sigma_max() -> f64 {
    80.0
}
fn default_num_train_timesteps() -> usize {
    1000
}

impl ScheduleConfig {
    /// Validates the parameters and builds the schedule.
    ///
    /// # Errors
    /// The error of the schedule's `new` constructor.
    pub fn build(&self) -> Result<Box<dyn NoiseSchedule>, ScheduleError> {
        Ok(match *self {
            Self::VpLinear { beta_min, beta_max } => Box::new(VpLinear::new(beta_min, beta_max)?),
            Self::VpCosine { s } => Box::new(VpCosine::new(s)?),
            Self::SubVp { beta_min, beta_max } => Box::new(SubVp::new(beta_min, beta_max)?),
            Self::Ve {
                sigma_min,
                sigma_max,
            } => Box::new(Ve::new(sigma_min, sigma_max)?),
            Self::Edm { sigma_max } => Box::new(Edm::new(sigma_max)?),
            Self::CondOt {} => Box::new(CondOt),
            Self::PolynomialPath { n } => Box::new(PolynomialPath::new(n)?),
            Self::CosinePath {} => Box::new(CosinePath),
            Self::VpPath { beta_min, beta_max } => Box::new(VpPath::new(beta_min, beta_max)?),
            Self::Discrete {
                beta_schedule,
                num_train_timesteps,
                rescale_betas_zero_snr,
            } => {
                let table = Discrete::new(beta_schedule, num_train_timesteps)?;
                if rescale_betas_zero_snr {
                    Box::new(table.rescale_zero_terminal_snr()?)
                } else {
                    Box::new(table)
                }
            }
        })
    }
}

impl From<VpLinear> for ScheduleConfig {
    fn from(s: VpLinear) -> Self {
        Self::VpLinear {
            beta_min: s.beta_min(),
            beta_max: s.beta_max(),
        }
    }
}

impl From<VpCosine> for ScheduleConfig {
    fn from(s: VpCosine) -> Self {
        Self::VpCosine { s: s.s() }
    }
}

impl From<SubVp> for ScheduleConfig {
    fn from(s: SubVp) -> Self {
        Self::SubVp {
            beta_min: s.beta_min(),
            beta_max: s.beta_max(),
        }
    }
}

impl From<Ve> for ScheduleConfig {
    fn from(s: Ve) -> Self {
        Self::Ve {
            sigma_min: s.sigma_min(),
            sigma_max: s.sigma_max(),
        }
    }
}

impl From<Edm> for ScheduleConfig {
    fn from(s: Edm) -> Self {
        Self::Edm {
            sigma_max: s.sigma_max(),
        }
    }
}

impl From<CondOt> for ScheduleConfig {
    fn from(_: CondOt) -> Self {
        Self::CondOt {}
    }
}

impl From<PolynomialPath> for ScheduleConfig {
    fn from(s: PolynomialPath) -> Self {
        Self::PolynomialPath { n: s.n() }
    }
}

impl From<CosinePath> for ScheduleConfig {
    fn from(_: CosinePath) -> Self {
        Self::CosinePath {}
    }
}

impl From<VpPath> for ScheduleConfig {
    fn from(s: VpPath) -> Self {
        Self::VpPath {
            beta_min: s.beta_min(),
            beta_max: s.beta_max(),
        }
    }
}
