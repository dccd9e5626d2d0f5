//! A diagonal Gaussian data distribution N(μ, diag(s²)): its denoiser and its probability-flow
//! ODE are closed form, so sampler errors are measured against the exact trajectory.
#![allow(dead_code)]

use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{SampleContext, Sampler};

pub const MU: [f64; 2] = [1.0, -2.0];
pub const S2: [f64; 2] = [0.25, 2.25];

/// D(x; σ) = (s²x + σ²μ)/(s² + σ²), per coordinate.
pub fn denoise(x: &Array2<f64>, sigma: f64) -> Array2<f64> {
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        for j in 0..2 {
            row[j] = (S2[j] * row[j] + sigma * sigma * MU[j]) / (S2[j] + sigma * sigma);
        }
    }
    out
}

/// The PF-ODE dx/dσ = (x − D)/σ = σ(x − μ)/(s² + σ²) has x(σ) − μ ∝ √(s² + σ²).
pub fn flow(x: &Array2<f64>, from: f64, to: f64) -> Array2<f64> {
    let mut out = x.clone();
    for mut row in out.rows_mut() {
        for j in 0..2 {
            let ratio = ((S2[j] + to * to) / (S2[j] + from * from)).sqrt();
            row[j] = MU[j] + (row[j] - MU[j]) * ratio;
        }
    }
    out
}

/// A fixed batch of 16 starting points x = σ_max·z with deterministic, roughly normal z.
pub fn start(sigma_max: f64) -> Array2<f64> {
    Array2::from_shape_fn((16, 2), |(i, j)| {
        let u = ((i * 2 + j) as f64 * 0.618_033_988_749_895).fract();
        sigma_max * (2.0 * u - 1.0) * 1.7
    })
}

/// The exact end point of a grid: the flow to the last positive σ, then (if the grid ends in 0)
/// the denoiser there, which is what every sampler's final step to 0 returns.
pub fn exact_end(x0: &Array2<f64>, grid: &SigmaGrid) -> Array2<f64> {
    let s = grid.as_slice();
    let last_pos = if grid.ends_at_zero() {
        s[s.len() - 2]
    } else {
        s[s.len() - 1]
    };
    let x = flow(x0, s[0], last_pos);
    if grid.ends_at_zero() {
        denoise(&x, last_pos)
    } else {
        x
    }
}

pub fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Max error of a deterministic sampler's output against the exact end point.
pub fn sampler_error<M: Sampler<Array2<f64>>>(sampler: &M, grid: &SigmaGrid) -> f64 {
    let x0 = start(grid.as_slice()[0]);
    let out = sampler
        .sample(&denoise, x0.clone(), grid, &mut SampleContext::default())
        .unwrap();
    max_abs(&(out - exact_end(&x0, grid)))
}

/// The default test grid: Karras, σ ∈ [0.01, 20], ρ = 7, then 0.
pub fn karras(n: usize) -> SigmaGrid {
    SigmaGrid::karras(n, 0.01, 20.0, 7.0).unwrap()
}

/// Least-squares slope of log error against log(1/n): the global order in the step count.
pub fn measured_order<M: Sampler<Array2<f64>>>(
    sampler: &M,
    ns: &[usize],
    grid: impl Fn(usize) -> SigmaGrid,
) -> (f64, Vec<f64>) {
    let errs: Vec<f64> = ns
        .iter()
        .map(|&n| sampler_error(sampler, &grid(n)))
        .collect();
    let hs: Vec<f64> = ns.iter().map(|&n| 1.0 / n as f64).collect();
    (super::loglog_slope(&hs, &errs), errs)
}

/// Asserts the measured order is the sampler's stated order ± 0.15.
pub fn assert_order<M: Sampler<Array2<f64>>>(sampler: &M, ns: &[usize]) {
    let (p, errs) = measured_order(sampler, ns, karras);
    let theory = sampler.order().expect("deterministic sampler");
    assert!(
        (p - theory).abs() <= 0.15,
        "{}: measured order {p:.3}, theory {theory}, errors {errs:?}",
        sampler.name()
    );
}
