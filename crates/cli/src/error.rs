//! Every way a command can fail, each printed as one readable line.

use std::path::PathBuf;

use thiserror::Error;

/// A command's failure.
#[derive(Debug, Error)]
pub enum CliError {
    /// Reading or writing a file.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An argument out of its domain.
    #[error("invalid --{name}: {message}")]
    Argument {
        /// The option's name.
        name: &'static str,
        /// Why.
        message: String,
    },
    /// The target mixture.
    #[error("target: {0}")]
    Target(#[from] scoreflow_score_matching::analytic::MixtureError),
    /// Analytical teleportation (`--teleport`).
    #[error("invalid --teleport: {0}")]
    Teleport(#[from] scoreflow_score_matching::teleport::TeleportError),
    /// A mean-reverting sampler.
    #[error("{0}")]
    MeanReverting(#[from] scoreflow_score_matching::mean_reverting::MrError),
    /// A schedule or grid.
    #[error("grid: {0}")]
    Schedule(#[from] scoreflow_noise_schedules::ScheduleError),
    /// A solver or sampler.
    #[error("{0}")]
    Solve(#[from] scoreflow_ode_sde_solvers::SolveError),
    /// A grid calibration.
    #[error("{0}")]
    Calibration(#[from] scoreflow_ode_sde_solvers::samplers::CalibrationError),
    /// A device name this build cannot serve.
    #[error("{0}")]
    Device(#[from] scoreflow_models::DeviceError),
    /// A device that failed to start (burn's start-up panic, its first line).
    #[error("{0}")]
    DeviceStart(String),
    /// Training, sampling or likelihood of a trained model.
    #[error("{0}")]
    Train(#[from] scoreflow_train::TrainError),
    /// A run configuration.
    #[error("{0}")]
    Config(#[from] scoreflow_train::config::ConfigError),
    /// A dataset.
    #[error("{0}")]
    Data(#[from] scoreflow_train::data::DataError),
    /// A network benchmark.
    #[error("{0}")]
    Bench(#[from] scoreflow_models::bench::BenchError),
}
