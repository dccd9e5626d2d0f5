//! What a run reports: `metrics.jsonl` lines, progress on the terminal, sample grids.

mod grid;
mod jsonl;
mod progress;
mod quartiles;
mod sliced;

pub use grid::{write_image_grid, write_scatter};
pub use jsonl::{MetricsLine, MetricsLog};
pub use progress::Progress;
pub use quartiles::loss_by_quartile;
pub use sliced::SlicedW2;
