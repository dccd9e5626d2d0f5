//! Time and noise-level grids for samplers.

mod diffusers;
mod monotone;
mod sigma_grid;
mod time_grid;

pub use diffusers::{TimestepSpacing, diffusers_timesteps};
pub use sigma_grid::{KARRAS_RHO, SigmaGrid};
pub use time_grid::TimeGrid;
