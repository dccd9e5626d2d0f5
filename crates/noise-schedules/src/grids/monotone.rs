//! The monotonicity scan both grid types share, so that they report duplicates and
//! direction changes identically.

use crate::ScheduleError;

/// Checks `values` is finite, has at least two entries and is strictly monotone in the
/// direction set by its first two entries. Returns `true` for increasing.
pub(crate) fn check_strictly_monotone(values: &[f64]) -> Result<bool, ScheduleError> {
    if values.len() < 2 {
        return Err(ScheduleError::GridTooShort {
            len: values.len(),
            min: 2,
        });
    }
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ScheduleError::GridNonFinite { index, value });
    }
    let increasing = values[1] > values[0];
    for (i, w) in values.windows(2).enumerate() {
        let index = i + 1;
        let (previous, value) = (w[0], w[1]);
        if value == previous {
            return Err(ScheduleError::GridDuplicate { index, value });
        }
        if (value > previous) != increasing {
            return Err(ScheduleError::GridNotMonotone {
                index,
                previous,
                value,
            });
        }
    }
    Ok(increasing)
}
