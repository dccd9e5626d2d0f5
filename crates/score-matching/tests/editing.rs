//! Editing against exact answers: inpainting a Gaussian (the exact conditional), inversion of
//! the probability-flow ODE (reconstruction error at the method's order), SDEdit's start.

use ndarray::{Array2, Axis};
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::samplers::{GaussianNoise, SampleContext, SamplerOptions, by_name};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};
use scoreflow_score_matching::editing::{
    EditError, Inpaint, InversionMethod, decode, invert, repaint, sdedit,
};

const MU: [f64; 2] = [1.0, -0.5];
const S00: f64 = 1.0;
const S11: f64 = 0.8;
const S01: f64 = 0.6;
const KNOWN: f64 = 2.0;

fn gaussian() -> GaussianMixture {
    GaussianMixture::new(
        vec![1.0],
        vec![MU.to_vec()],
        vec![vec![vec![S00, S01], vec![S01, S11]]],
    )
    .unwrap()
}

fn normals(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let identity = (0..d)
        .map(|i| (0..d).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let g = GaussianMixture::new(vec![1.0], vec![vec![0.0; d]], vec![identity]).unwrap();
    Array2::from_shape_vec((n, d), g.sample(n, seed)).unwrap()
}

fn mean_var(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    // SE of the mean and (Gaussian) SE of the variance.
    (m, (var / n).sqrt(), var, var * (2.0 / (n - 1.0)).sqrt())
}

/// Imputes coordinate 1 of N(μ, Σ) given coordinate 0 = 2 and returns its samples.
fn impute(resamples: usize, jump: usize, n: usize) -> Vec<f64> {
    let target = gaussian();
    let exact = MixtureDenoiser::new(&target);
    let known = Array2::from_shape_fn((n, 2), |(_, j)| if j == 0 { KNOWN } else { 0.0 });
    let mask = Array2::from_shape_fn((n, 2), |(_, j)| if j == 0 { 1.0 } else { 0.0 });
    let inpaint = Inpaint::new(&exact, known, mask, normals(n, 2, 7)).unwrap();
    let grid = SigmaGrid::karras(60, 0.01, 40.0, 7.0).unwrap();
    let x0 = normals(n, 2, 8) * 40.0;
    let mut noise = GaussianNoise::new(&x0, &sample_seeds(9, n)).unwrap();
    let x = repaint(&inpaint, x0, &grid, resamples, jump, &mut noise).unwrap();
    assert!(
        x.column(0).iter().all(|v| *v == KNOWN),
        "known values pasted"
    );
    x.column(1).to_vec()
}

/// RePaint with enough resamples reproduces the exact conditional x₁ | x₀ = 2 of a Gaussian,
/// N(μ₁ + Σ₁₀/Σ₀₀·(2 − μ₀), Σ₁₁ − Σ₁₀²/Σ₀₀), in mean and variance (4 standard errors), with
/// every step redone (jump 1) and with jumps of 5 steps; plain replacement (one pass) is biased,
/// and docs/guidance.md records by how much.
#[test]
fn repaint_imputes_the_exact_conditional_gaussian() {
    let (m_exact, v_exact) = (MU[1] + S01 / S00 * (KNOWN - MU[0]), S11 - S01 * S01 / S00);
    let mut report = Vec::new();
    for (resamples, jump) in [(20, 1), (20, 5)] {
        let (m, se_m, v, se_v) = mean_var(&impute(resamples, jump, 3000));
        assert!(
            (m - m_exact).abs() < 4.0 * se_m,
            "r {resamples}, j {jump}: mean {m} ± {se_m} vs {m_exact}"
        );
        assert!(
            (v - v_exact).abs() < 4.0 * se_v,
            "r {resamples}, j {jump}: variance {v} ± {se_v} vs {v_exact}"
        );
        report.push(format!(
            "RePaint (r {resamples}, j {jump}): mean {m:.4} ± {se_m:.4}, variance {v:.4} ± {se_v:.4}"
        ));
        if jump == 1 {
            let (m1, _, v1, _) = mean_var(&impute(1, 1, 3000));
            report.push(format!("replacement: mean {m1:.4}, variance {v1:.4}"));
            assert!(
                (m1 - m_exact).abs() > (m - m_exact).abs() + 4.0 * se_m,
                "resampling should reduce the bias of plain replacement"
            );
        }
    }
    eprintln!(
        "exact: mean {m_exact:.4}, variance {v_exact:.4}; {}",
        report.join("; ")
    );
}

fn karras_increasing(n: usize) -> Vec<f64> {
    let mut g: Vec<f64> = SigmaGrid::karras(n, 0.02, 80.0, 7.0)
        .unwrap()
        .as_slice()
        .iter()
        .copied()
        .filter(|s| *s > 0.0)
        .collect();
    g.reverse();
    g
}

fn reconstruction_error(method: InversionMethod, steps: usize) -> f64 {
    let target = GaussianMixture::builtin("gauss16d").unwrap();
    let model = MixtureDenoiser::new(&target);
    let x = Array2::from_shape_vec((64, 16), target.sample(64, 3)).unwrap();
    let up = karras_increasing(steps);
    let down: Vec<f64> = up.iter().rev().copied().collect();
    let z = invert(method, &model, x.clone(), &up).unwrap();
    assert!(z.iter().all(|v| v.is_finite()));
    let back = decode(method, &model, z, &down).unwrap();
    let num = (&back - &x).iter().map(|v| v * v).sum::<f64>().sqrt();
    num / x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// Encoding to σ_max and decoding with the same method returns x: relative error ≤ 1e-6 at
/// 200 steps of RK4 (Heun, order 2, reaches 2.9e-6 at 200 steps and 3.7e-7 at 400 on this
/// target: docs/guidance.md), and the error falls at the round trip's order (least-squares
/// log-log slope within ±0.15). For a one-step method Φ_h of order p, the round trip
/// Φ_{−h} ∘ Φ_h differs from the identity by the gap between Φ_h and its adjoint, whose leading
/// h^{p+1} terms cancel when p is even (Hairer, Lubich & Wanner, "Geometric Numerical
/// Integration", §II.3): the round trip has global order p for Euler (p = 1) and p + 1 = 3 for
/// Heun (p = 2).
#[test]
fn inversion_reconstructs_at_the_methods_order() {
    let e = reconstruction_error(InversionMethod::Rk4, 200);
    assert!(e <= 1e-6, "RK4: relative error {e}");
    let e = reconstruction_error(InversionMethod::Heun, 400);
    assert!(e <= 1e-6, "Heun at 400 steps: relative error {e}");
    for (method, order) in [(InversionMethod::Euler, 1.0), (InversionMethod::Heun, 3.0)] {
        let steps = [50usize, 100, 200, 400];
        let pts: Vec<(f64, f64)> = steps
            .iter()
            .map(|&n| ((n as f64).ln(), reconstruction_error(method, n).ln()))
            .collect();
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / 4.0,
            pts.iter().map(|p| p.1).sum::<f64>() / 4.0,
        );
        let slope = -pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>()
            / pts.iter().map(|p| (p.0 - mx).powi(2)).sum::<f64>();
        assert!(
            (slope - order).abs() < 0.15,
            "{method:?}: measured order {slope}"
        );
    }
}

/// SDEdit from the top of the grid is the sampler started at x + σ_max·z; σ₀ off the grid is
/// an error.
#[test]
fn sdedit_starts_the_sampler_at_sigma0() {
    let target = GaussianMixture::builtin("ring8").unwrap();
    let model = MixtureDenoiser::new(&target);
    let grid = SigmaGrid::karras(20, 0.002, 80.0, 7.0).unwrap();
    let sampler = by_name::<Array2<f64>>("heun", &SamplerOptions::default()).unwrap();
    let x = Array2::from_shape_vec((16, 2), target.sample(16, 4)).unwrap();
    let z = normals(16, 2, 5);
    let got = sdedit(
        sampler.as_ref(),
        &model,
        &x,
        &z,
        &grid,
        80.0,
        &mut SampleContext::default(),
    )
    .unwrap();
    let want = sampler
        .sample(
            &model,
            &x + &(&z * 80.0),
            &grid,
            &mut SampleContext::default(),
        )
        .unwrap();
    assert!((&got - &want).iter().all(|v| v.abs() < 1e-12));
    // From a small σ₀ the output stays near the input.
    let near = sdedit(
        sampler.as_ref(),
        &model,
        &x,
        &z,
        &grid,
        0.05,
        &mut SampleContext::default(),
    )
    .unwrap();
    let moved = (&near - &x).map_axis(Axis(1), |r| r.dot(&r).sqrt());
    assert!(moved.iter().all(|d| *d < 0.2), "{moved:?}");
    for bad in [100.0, 0.001, f64::NAN, -1.0] {
        assert!(matches!(
            sdedit(
                sampler.as_ref(),
                &model,
                &x,
                &z,
                &grid,
                bad,
                &mut SampleContext::default()
            ),
            Err(EditError::Parameter { .. })
        ));
    }
}

#[test]
fn bad_masks_are_typed_errors() {
    let target = gaussian();
    let model = MixtureDenoiser::new(&target);
    let a = Array2::<f64>::zeros((4, 2));
    assert!(matches!(
        Inpaint::new(&model, a.clone(), Array2::zeros((3, 2)), a.clone()),
        Err(EditError::Shape { .. })
    ));
    assert!(matches!(
        Inpaint::new(&model, a.clone(), Array2::from_elem((4, 2), 0.5), a.clone()),
        Err(EditError::Mask { .. })
    ));
    let inpaint = Inpaint::new(&model, a.clone(), a.clone(), a.clone()).unwrap();
    assert!(inpaint.denoise(&Array2::zeros((5, 2)), 1.0).is_err());
    let grid = SigmaGrid::karras(4, 0.1, 10.0, 7.0).unwrap();
    let mut noise = GaussianNoise::new(&a, &sample_seeds(0, 4)).unwrap();
    assert!(matches!(
        repaint(&inpaint, a.clone(), &grid, 0, 1, &mut noise),
        Err(EditError::Parameter { .. })
    ));
    assert!(matches!(
        repaint(&inpaint, a.clone(), &grid, 2, 0, &mut noise),
        Err(EditError::Parameter { .. })
    ));
    assert!(matches!(
        invert(InversionMethod::Heun, &model, a.clone(), &[1.0, 0.5]),
        Err(EditError::Parameter { .. })
    ));
}
