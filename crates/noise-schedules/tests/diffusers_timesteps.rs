//! Integer timestep spacings against hand-derived values of diffusers' definitions.

use scoreflow_noise_schedules::{ScheduleError, TimestepSpacing, diffusers_timesteps};

#[test]
fn t1000_n10_all_spacings() {
    // leading: step_ratio = 1000 // 10 = 100, arange(0, 10)·100 reversed.
    let leading: Vec<usize> = (0..10).rev().map(|i| i * 100).collect();
    assert_eq!(leading, [900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    assert_eq!(
        diffusers_timesteps(1000, 10, TimestepSpacing::Leading, 0).unwrap(),
        leading
    );
    let offset: Vec<usize> = leading.iter().map(|t| t + 1).collect();
    assert_eq!(
        diffusers_timesteps(1000, 10, TimestepSpacing::Leading, 1).unwrap(),
        offset
    );
    // trailing: arange(1000, 0, −100) − 1.
    let trailing: Vec<usize> = (0..10).map(|i| 1000 - 100 * i - 1).collect();
    assert_eq!(trailing, [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    assert_eq!(
        diffusers_timesteps(1000, 10, TimestepSpacing::Trailing, 0).unwrap(),
        trailing
    );
    // linspace: 999/9 = 111 exactly.
    assert_eq!(
        diffusers_timesteps(1000, 10, TimestepSpacing::Linspace, 0).unwrap(),
        [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]
    );
}

#[test]
fn trailing_rounds_half_to_even() {
    // T/n = 62.5: 1000 − 62.5·i hits .5 at odd i; numpy rounds to the even neighbour.
    let v = diffusers_timesteps(1000, 16, TimestepSpacing::Trailing, 0).unwrap();
    assert_eq!(v.len(), 16);
    assert_eq!(v[0], 999);
    assert_eq!(v[1], 937); // 937.5 → 938, − 1
    assert_eq!(v[2], 874); // 875 − 1
    assert_eq!(v[3], 811); // 812.5 → 812, − 1
    assert_eq!(v[5], 687); // 687.5 → 688, − 1
    assert_eq!(v[7], 561); // 562.5 → 562, − 1
    assert_eq!(v[15], 61); // 62.5 → 62, − 1
}

#[test]
fn linspace_rounds_half_to_even() {
    // linspace(0, 97, 3) = [0, 48.5, 97]; half-to-even gives 48, half-away would give 49.
    assert_eq!(
        diffusers_timesteps(98, 3, TimestepSpacing::Linspace, 0).unwrap(),
        [97, 48, 0]
    );
    // 999/15 = 66.6: i·66.6 rounded by hand for a few i.
    let v = diffusers_timesteps(1000, 16, TimestepSpacing::Linspace, 0).unwrap();
    assert_eq!(v.len(), 16);
    assert_eq!(v[0], 999);
    assert_eq!(v[14], 67); // 66.6
    assert_eq!(v[13], 133); // 133.2
    assert_eq!(v[12], 200); // 199.8
    assert_eq!(v[15], 0);
}

#[test]
fn trailing_never_emits_numpy_arange_overshoot() {
    // numpy's arange(1000, 0, −1000/61) has 62 elements, the last rounding to −1.
    for n in [61, 103, 121, 397, 999] {
        let v = diffusers_timesteps(1000, n, TimestepSpacing::Trailing, 0).unwrap();
        assert_eq!(v.len(), n);
        assert_eq!(v[0], 999);
        assert!(v.windows(2).all(|w| w[1] < w[0]));
    }
}

#[test]
fn all_spacings_are_descending_in_range() {
    for t in [1, 2, 10, 50, 1000] {
        for n in 1..=t.min(64) {
            for spacing in [
                TimestepSpacing::Leading,
                TimestepSpacing::Trailing,
                TimestepSpacing::Linspace,
            ] {
                let v = diffusers_timesteps(t, n, spacing, 0).unwrap();
                assert_eq!(v.len(), n, "T={t} n={n} {spacing:?}");
                assert!(v.iter().all(|&x| x < t));
                assert!(
                    v.windows(2).all(|w| w[1] < w[0]),
                    "T={t} n={n} {spacing:?} {v:?}"
                );
            }
        }
    }
}

#[test]
fn full_schedule_is_every_timestep() {
    let all: Vec<usize> = (0..1000).rev().collect();
    for spacing in [
        TimestepSpacing::Leading,
        TimestepSpacing::Trailing,
        TimestepSpacing::Linspace,
    ] {
        assert_eq!(diffusers_timesteps(1000, 1000, spacing, 0).unwrap(), all);
    }
}

#[test]
fn bad_step_counts_are_errors() {
    assert!(matches!(
        diffusers_timesteps(1000, 0, TimestepSpacing::Leading, 0),
        Err(ScheduleError::TooFewSteps { .. })
    ));
    assert!(matches!(
        diffusers_timesteps(0, 0, TimestepSpacing::Linspace, 0),
        Err(ScheduleError::TooFewSteps { .. })
    ));
    assert!(matches!(
        diffusers_timesteps(1000, 1001, TimestepSpacing::Trailing, 0),
        Err(ScheduleError::TooManySteps {
            num_inference_steps: 1001,
            num_train_timesteps: 1000
        })
    ));
}

#[test]
fn spacing_serde_uses_diffusers_names() {
    assert_eq!(
        serde_json::to_string(&TimestepSpacing::Trailing).unwrap(),
        "\"trailing\""
    );
    let s: TimestepSpacing = serde_json::from_str("\"linspace\"").unwrap();
    assert_eq!(s, TimestepSpacing::Linspace);
}
