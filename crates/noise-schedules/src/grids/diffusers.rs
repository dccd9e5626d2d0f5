//! Integer inference timesteps as diffusers' `DDIMScheduler.set_timesteps` chooses them.

use serde::{Deserialize, Serialize};

use crate::ScheduleError;
use crate::numerics::linspace;
use crate::validate;

/// diffusers' `timestep_spacing` (Lin et al. 2024, Common Diffusion Noise Schedules and
/// Sample Steps are Flawed, Table 2, compares the three).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestepSpacing {
    /// `(arange(0, n) · (T // n))` reversed, plus `steps_offset`; never reaches T − 1.
    Leading,
    /// `round(arange(T, 0, −T/n)) − 1`; always starts at T − 1.
    Trailing,
    /// `round(linspace(0, T − 1, n))` reversed; starts at T − 1, ends at 0.
    Linspace,
}

/// The n inference timesteps, in sampling order (descending), that diffusers'
/// `DDIMScheduler.set_timesteps(n)` produces for `num_train_timesteps` = T.
///
/// Rounding is numpy's round-half-to-even. `steps_offset` is applied only for
/// [`TimestepSpacing::Leading`], as in diffusers (and may push the first timestep to T).
///
/// One deliberate deviation: numpy's float `arange(T, 0, −T/n)` has ⌈T/(T/n)⌉ elements,
/// which rounding makes n + 1 for some (T, n) (e.g. T = 1000, n = 61); the extra element
/// is ≈ 0 and becomes the invalid index −1. It is dropped here, so exactly n timesteps are
/// returned; the first n agree with numpy's.
///
/// # Errors
/// [`ScheduleError::TooFewSteps`] for T = 0 or n = 0, [`ScheduleError::TooManySteps`] for
/// n > T.
pub fn diffusers_timesteps(
    num_train_timesteps: usize,
    num_inference_steps: usize,
    spacing: TimestepSpacing,
    steps_offset: usize,
) -> Result<Vec<usize>, ScheduleError> {
    let big_t = validate::at_least("num_train_timesteps", num_train_timesteps, 1)?;
    let n = validate::at_least("num_inference_steps", num_inference_steps, 1)?;
    if n > big_t {
        return Err(ScheduleError::TooManySteps {
            num_inference_steps: n,
            num_train_timesteps: big_t,
        });
    }
    Ok(match spacing {
        TimestepSpacing::Linspace => linspace(0.0, (big_t - 1) as f64, n)
            .into_iter()
            .rev()
            .map(round_to_index)
            .collect(),
        TimestepSpacing::Leading => {
            let step_ratio = big_t / n;
            (0..n)
                .rev()
                .map(|i| i * step_ratio + steps_offset)
                .collect()
        }
        TimestepSpacing::Trailing => {
            let start = big_t as f64;
            let step = -(start / n as f64);
            // numpy fills arange as start + i·delta with delta = (start + step) − start.
            let delta = (start + step) - start;
            (0..n)
                .map(|i| round_to_index(start + i as f64 * delta) - 1)
                .collect()
        }
    })
}

/// numpy `round` (half to even) of a value known to lie in [0, T]; the trailing branch only
/// feeds values ≥ T/n ≥ 1, so the subtraction of 1 there cannot underflow.
fn round_to_index(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}
