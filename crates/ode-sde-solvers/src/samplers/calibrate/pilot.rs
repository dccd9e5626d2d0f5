//! The points a calibration fits to.

use crate::denoiser::Denoiser;

/// A pilot set: a denoiser and starting points x(σ₀) = σ₀·z (z ~ N(0, I), one row per
/// trajectory) at the grid's first noise level σ₀. Several sets (e.g. several targets) can be
/// fitted at once; each set's error is then normalised by its own error on the starting grid.
pub struct PilotSet<'a, S> {
    /// The user's own denoiser D(x; σ).
    pub denoiser: &'a dyn Denoiser<S>,
    /// The starting points, a batch of trajectories.
    pub x: S,
}
