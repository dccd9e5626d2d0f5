//! Cutting a σ grid at σ_skip, where a teleported trajectory hands over to a sampler.

use scoreflow_noise_schedules::SigmaGrid;

use super::TeleportError;

/// The remainder of `grid` after a teleport to `sigma_skip`: σ_skip followed by every grid
/// value strictly below it (so the final 0, when present, is kept).
///
/// This is the hybrid sampler of Wang & Vastola 2024 (§5, "analytical teleportation"): the
/// trajectory from σ_max to σ_skip is the closed-form Gaussian flow, and the sampler runs on
/// the grid points below. A σ_skip equal to a grid value σ_k skips exactly the first k steps
/// (see [`skip_steps`]); any other value replaces the step that straddles it by a shorter one.
///
/// # Errors
/// [`TeleportError::SkipOutsideGrid`] unless σ_min ≤ σ_skip < σ_max, where σ_max is the
/// grid's first value and σ_min its last positive one (σ_skip ≥ σ_max would skip nothing,
/// σ_skip < σ_min everything the grid resolves), or σ_skip is not finite.
pub fn skip_grid(grid: &SigmaGrid, sigma_skip: f64) -> Result<SigmaGrid, TeleportError> {
    let s = grid.as_slice();
    let sigma_max = s[0];
    let sigma_min = grid.last_positive();
    check_skip(sigma_skip, sigma_min, sigma_max)?;
    let mut out = vec![sigma_skip];
    out.extend(s.iter().copied().filter(|&v| v < sigma_skip));
    if out.len() < 2 {
        // σ_skip = σ_min on a grid without a final 0: nothing would be left to integrate.
        return Err(TeleportError::SkipOutsideGrid {
            sigma_skip,
            sigma_min,
            sigma_max,
        });
    }
    Ok(SigmaGrid::new(out).expect("a tail of a valid grid is valid"))
}

/// Checks σ_min ≤ σ_skip < σ_max with σ_skip finite: where a teleport target lies inside a
/// grid from σ_max down to σ_min (σ_skip ≥ σ_max would skip nothing, σ_skip < σ_min everything
/// the grid resolves).
///
/// # Errors
/// [`TeleportError::SkipOutsideGrid`] otherwise.
pub fn check_skip(sigma_skip: f64, sigma_min: f64, sigma_max: f64) -> Result<(), TeleportError> {
    let inside = sigma_skip.is_finite() && sigma_skip >= sigma_min && sigma_skip < sigma_max;
    if inside {
        Ok(())
    } else {
        Err(TeleportError::SkipOutsideGrid {
            sigma_skip,
            sigma_min,
            sigma_max,
        })
    }
}

/// The grid without its first `skip` steps: teleport to σ_skip = σ_skip_index, then sample on
/// σ_skip, σ_skip+1, … . The skip fraction in grid steps is `skip / (grid.len() − 1)`.
///
/// # Errors
/// [`TeleportError::SkipTooManySteps`] unless `skip` < the grid's step count; `skip = 0`
/// returns the grid unchanged (no teleport).
pub fn skip_steps(grid: &SigmaGrid, skip: usize) -> Result<SigmaGrid, TeleportError> {
    let s = grid.as_slice();
    let steps = s.len() - 1;
    if skip >= steps {
        return Err(TeleportError::SkipTooManySteps { skip, steps });
    }
    Ok(SigmaGrid::new(s[skip..].to_vec()).expect("a tail of a valid grid is valid"))
}
