//! Analytical teleportation on the built-in mixtures: endpoint error vs NFE with and without
//! the jump, and the largest skip that keeps the error within 10 % of the un-skipped run
//! (Wang & Vastola 2024 report 15–30 % of the steps). Prints the Markdown tables of
//! docs/methods.md:
//!
//! `cargo run -p scoreflow-score-matching --example teleport_study --release`
//!
//! Setup (as `scoreflow bench-analytic`): Karras grid σ ∈ [0.002, 80], ρ = 7, ending in 0;
//! n = 500 standard-normal starts (seed 0); error = RMS over samples of ‖x − x*‖, x* the
//! Dopri5 (tol 1e-10) PF-ODE solution from the same noise to σ_min, then D(·; σ_min). A skip of
//! k steps teleports σ_max·z to σ_k with the moment-matched Gaussian and runs the sampler on
//! σ_k, …, 0 ([`skip_steps`]); its NFE counts denoiser calls only (the jump costs none).

use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::ode::{Dopri5, SolveOptions, integrate};
use scoreflow_ode_sde_solvers::samplers::{SampleContext, SamplerOptions, by_name};
use scoreflow_ode_sde_solvers::{CountingDenoiser, Denoiser};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};
use scoreflow_score_matching::teleport::{GaussianApprox, skip_steps};

const SAMPLERS: &[&str] = &["heun", "dpmpp-2m", "ipndm", "deis", "unipc"];
const STEPS: &[usize] = &[8, 16, 32];
const N: usize = 500;

fn denoise(target: &GaussianMixture, x: &Array2<f64>, sigma: f64) -> Array2<f64> {
    let mut out = Array2::zeros(x.raw_dim());
    target.denoise_batch(x.as_slice().unwrap(), sigma, out.as_slice_mut().unwrap());
    out
}

fn reference(target: &GaussianMixture, z: &Array2<f64>) -> Array2<f64> {
    let field = |sigma: f64, x: &Array2<f64>| (x - &denoise(target, x, sigma)) / sigma;
    let sol = integrate(
        &field,
        &Dopri5,
        80.0,
        0.002,
        z * 80.0,
        &SolveOptions::adaptive(1e-10, 1e-10),
    )
    .unwrap();
    denoise(target, sol.ys.last().unwrap(), 0.002)
}

/// (NFE, RMS error) of `sampler` on the grid after skipping `skip` steps.
fn run(
    target: &GaussianMixture,
    approx: &GaussianApprox,
    z: &Array2<f64>,
    exact: &Array2<f64>,
    sampler: &str,
    grid: &SigmaGrid,
    skip: usize,
) -> (usize, f64) {
    let cut = skip_steps(grid, skip).unwrap();
    let sigma_skip = cut.as_slice()[0];
    let x0 = approx.teleport(&(z * 80.0), 80.0, sigma_skip).unwrap();
    let s = by_name::<Array2<f64>>(sampler, &SamplerOptions::default()).unwrap();
    let d = MixtureDenoiser::new(target);
    let counting = CountingDenoiser::new(&d as &dyn Denoiser<Array2<f64>>);
    let x = s
        .sample(&counting, x0, &cut, &mut SampleContext::default())
        .unwrap();
    let err = ((&x - exact).iter().map(|v| v * v).sum::<f64>() / z.nrows() as f64).sqrt();
    (counting.count(), err)
}

fn main() {
    for name in ["ring8", "grid25", "gauss16d"] {
        let target = GaussianMixture::builtin(name).unwrap();
        let approx = GaussianApprox::from_mixture(&target);
        let d = target.dim();
        let unit = GaussianMixture::new(
            vec![1.0],
            vec![vec![0.0; d]],
            vec![
                (0..d)
                    .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
                    .collect(),
            ],
        )
        .unwrap();
        let z = Array2::from_shape_vec((N, d), unit.sample(N, 0)).unwrap();
        let exact = reference(&target, &z);
        println!("\n### {name} (d = {d})\n");
        println!(
            "| sampler | steps | NFE | error | largest skip k (σ_skip) | skip fraction | NFE with skip | NFE saved | error with skip | error, skip k+1 |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for &sampler in SAMPLERS {
            for &steps in STEPS {
                let grid = SigmaGrid::karras(steps, 0.002, 80.0, 7.0).unwrap();
                let (nfe0, e0) = run(&target, &approx, &z, &exact, sampler, &grid, 0);
                let mut best = (0, nfe0, e0);
                let mut next = f64::NAN;
                for k in 1..steps {
                    let (nfe, e) = run(&target, &approx, &z, &exact, sampler, &grid, k);
                    if e <= 1.1 * e0 {
                        best = (k, nfe, e);
                    } else {
                        next = e;
                        break;
                    }
                }
                let (k, nfe, e) = best;
                println!(
                    "| {sampler} | {steps} | {nfe0} | {e0:.3e} | {k} ({:.3}) | {:.0} % | {nfe} | {} | {e:.3e} | {next:.3e} |",
                    grid.as_slice()[k],
                    100.0 * k as f64 / steps as f64,
                    nfe0 - nfe
                );
            }
        }
    }
}
