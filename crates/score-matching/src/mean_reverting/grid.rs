//! Time grids for mean-reverting samplers.

use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule};

use super::MrError;

/// n + 1 times from `t_max` down to `t_min`, uniform in the log-SNR λ_t = ln(α_t/σ_t) — the
/// spacing DPM-Solver (Lu et al. 2022, §3.3 "logSNR") and MRS (Li et al. 2025, §4) use, on which
/// the exponential integrator's steps h = λ_{i+1} − λ_i are equal. Times come from the
/// schedule's closed-form inverse [`NoiseSchedule::t_from_lambda`].
///
/// # Errors
/// [`MrError::Grid`] unless 0 < t_min < t_max ≤ 1 and n ≥ 1.
pub fn log_snr_times(
    schedule: &MeanReverting,
    n: usize,
    t_max: f64,
    t_min: f64,
) -> Result<Vec<f64>, MrError> {
    let ok = n >= 1 && t_min > 0.0 && t_min < t_max && t_max <= 1.0;
    if !ok {
        return Err(MrError::Grid(format!(
            "need n >= 1 and 0 < t_min < t_max <= 1, got n = {n}, t_min = {t_min}, t_max = {t_max}"
        )));
    }
    let (l0, l1) = (schedule.lambda(t_max), schedule.lambda(t_min));
    let mut times = Vec::with_capacity(n + 1);
    times.push(t_max);
    for i in 1..n {
        let lam = l0 + (l1 - l0) * i as f64 / n as f64;
        times.push(schedule.t_from_lambda(lam)?);
    }
    times.push(t_min);
    Ok(times)
}

/// Checks a sampler's time grid: at least 2 points, finite, strictly decreasing, inside (0, 1].
pub(crate) fn check_times(times: &[f64]) -> Result<(), MrError> {
    if times.len() < 2 {
        return Err(MrError::Grid(format!(
            "needs at least 2 times, got {}",
            times.len()
        )));
    }
    for (i, &t) in times.iter().enumerate() {
        if !(t.is_finite() && t > 0.0 && t <= 1.0) {
            return Err(MrError::Grid(format!("time {i} = {t} is not in (0, 1]")));
        }
        if i > 0 && t >= times[i - 1] {
            return Err(MrError::Grid(format!(
                "times must decrease strictly: t[{i}] = {t} after {}",
                times[i - 1]
            )));
        }
    }
    Ok(())
}
