//! What a grid calibration found and what it cost.

use scoreflow_noise_schedules::SigmaGrid;

/// The result of [`calibrate_grid`](super::calibrate_grid).
///
/// Errors are the RMS over a pilot set's trajectories of the Euclidean endpoint error,
/// √(1/n Σᵢ ‖xᵢ − xᵢ*‖²), against the reference solve from the same start. The objective is
/// √(1/P Σ_p (e_p/e⁰_p)²) over the P pilot sets, e⁰_p being the starting grid's error: 1 at the
/// start, and never above 1 for the returned grid (the search keeps its best point, and the
/// start is its first).
///
/// Calibration cost is reported apart from the sampling NFE: `reference_calls` and
/// `search_calls` count batched denoiser calls (each over one whole pilot set); multiply by the
/// set's size for per-trajectory evaluations.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The fitted grid (same length and end points as the starting grid).
    pub grid: SigmaGrid,
    /// The family parameters of `grid` (all 0: the starting grid was not improved on).
    pub parameters: Vec<f64>,
    /// Per pilot set, the error of the starting grid.
    pub start_errors: Vec<f64>,
    /// Per pilot set, the error of the fitted grid.
    pub errors: Vec<f64>,
    /// The normalised objective of the fitted grid (1 = the start).
    pub objective: f64,
    /// Objective evaluations (sampler runs over all pilot sets), the start included.
    pub evaluations: usize,
    /// Denoiser calls of the reference solves (adaptive Dopri5 and the final D).
    pub reference_calls: usize,
    /// Denoiser calls of the search (every sampler run).
    pub search_calls: usize,
}
