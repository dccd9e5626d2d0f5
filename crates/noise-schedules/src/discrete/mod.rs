//! Discrete-time DDPM tables and their continuous interpolation.

mod beta_schedule;
mod table;
mod zero_snr;

pub use beta_schedule::{BetaSchedule, SQUAREDCOS_MAX_BETA};
pub use table::Discrete;
