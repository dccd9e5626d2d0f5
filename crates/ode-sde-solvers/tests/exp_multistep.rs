//! The exact-coefficient exponential multistep sampler and the extrapolated end: measured orders
//! on a Gaussian (closed-form probability-flow ODE), identities with Euler and with the wrapper,
//! exactness for denoisers that are polynomials in the integration variable, and the
//! extrapolation's order in σ_last.

mod common;

use common::gaussian::{MU, S2, denoise, flow, karras, max_abs, measured_order, start};
use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{
    DpmPP2M, EndVariable, Euler, ExpMultistep, ExtrapolatedEnd, Extrapolation, PolyVariable,
    SampleContext, Sampler, SamplerOptions, StepInfo, by_name,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, SolveError};

fn exp(order: usize, variable: PolyVariable, corrector: bool) -> ExpMultistep {
    ExpMultistep {
        order,
        variable,
        corrector,
        end: Extrapolation::DENOISE,
    }
}

/// The default Karras grid without its final 0 (ends at σ_min = 0.01).
fn karras_to_sigma_min(n: usize) -> SigmaGrid {
    let mut v = karras(n).into_vec();
    v.pop();
    SigmaGrid::new(v).unwrap()
}

/// A Karras grid σ ∈ [0.01, 1] without its final 0, where the warm-up's error is visible.
fn karras_low(n: usize) -> SigmaGrid {
    let mut v = SigmaGrid::karras(n, 0.01, 1.0, 7.0).unwrap().into_vec();
    v.pop();
    SigmaGrid::new(v).unwrap()
}

fn run<M: Sampler<Array2<f64>> + ?Sized>(
    sampler: &M,
    model: &dyn scoreflow_ode_sde_solvers::Denoiser<Array2<f64>>,
    x: Array2<f64>,
    grid: &SigmaGrid,
) -> Array2<f64> {
    sampler
        .sample(model, x, grid, &mut SampleContext::default())
        .unwrap()
}

// ---- (a) orders -----------------------------------------------------------------------------

/// Stated orders (warm-up included): without corrector 1, 2, 2; with corrector 2, 3, 3 —
/// the corrector raises each by one. Measured at 256–1024 steps on a Karras grid σ ∈ [0.01, 1].
///
/// On the default test grid (σ_max = 20) the order-3 methods show their interior orders instead
/// (3.0 without, 4.0 with corrector, up to 1024 steps): at large σ the denoiser hardly varies, so
/// the lower-order warm-up steps' error constants are tiny and their cap is not reached — the
/// cap is asymptotic, and here it is made visible by starting at σ = 1.
#[test]
fn orders_with_and_without_corrector_in_v_and_lambda() {
    let ns = [256usize, 362, 512, 724, 1024];
    for variable in [PolyVariable::V, PolyVariable::Lambda] {
        for (order, corrector, theory) in [
            (1, false, 1.0),
            (2, false, 2.0),
            (3, false, 2.0),
            (1, true, 2.0),
            (2, true, 3.0),
            (3, true, 3.0),
        ] {
            let sampler = exp(order, variable, corrector);
            assert_eq!(Sampler::<Array2<f64>>::order(&sampler), Some(theory));
            let (p, errs) = measured_order(&sampler, &ns, karras_low);
            assert!(
                (p - theory).abs() <= 0.15,
                "{variable:?} order {order} corrector {corrector}: measured {p:.3}, theory {theory}, errors {errs:?}"
            );
            assert!(errs.iter().all(|&e| e > 1e-13), "{errs:?} near round-off");
        }
    }
}

/// The warm-up cap is asymptotic: from σ_max = 20 the corrected order-3 method converges like
/// its interior order 4 over 256–1024 steps (see above), in both variables.
#[test]
fn corrected_order_three_shows_its_interior_order_from_sigma_max_20() {
    for variable in [PolyVariable::V, PolyVariable::Lambda] {
        let (p, errs) = measured_order(
            &exp(3, variable, true),
            &[256, 362, 512, 724, 1024],
            karras_to_sigma_min,
        );
        assert!((p - 4.0).abs() <= 0.15, "{variable:?}: {p:.3}, {errs:?}");
    }
}

// ---- (b) order 1 is DDIM / Euler --------------------------------------------------------------

#[test]
fn order_one_without_corrector_is_euler_in_both_variables() {
    for n in [1, 2, 5, 17] {
        for grid in [
            karras(n),
            SigmaGrid::karras(n + 1, 0.01, 20.0, 7.0).unwrap(),
        ] {
            let x0 = start(grid.as_slice()[0]);
            let euler = run(&Euler::default(), &denoise, x0.clone(), &grid);
            for variable in [PolyVariable::V, PolyVariable::Lambda] {
                let out = run(&exp(1, variable, false), &denoise, x0.clone(), &grid);
                let scale = max_abs(&euler);
                assert!(
                    max_abs(&(out - &euler)) <= 1e-14 * scale,
                    "{variable:?}, {n} steps"
                );
            }
        }
    }
}

// ---- (c) exactness ----------------------------------------------------------------------------

/// Point-mass data: D ≡ μ, so dy/dv = μ and x(σ) = μ + (σ/σ₀)(x₀ − μ). Every order, variable,
/// corrector and end is exact to rounding (each coefficient set integrates constants exactly and
/// the extrapolation weights sum to 1).
#[test]
fn a_constant_denoiser_is_integrated_exactly_by_every_configuration() {
    let point = |x: &Array2<f64>, _sigma: f64| Array2::from_shape_fn(x.raw_dim(), |(_, j)| MU[j]);
    for grid in [karras(9), karras_to_sigma_min(9)] {
        let s = grid.as_slice();
        let x0 = start(s[0]);
        let last = *s.last().unwrap();
        let exact = Array2::from_shape_fn(x0.raw_dim(), |(i, j)| {
            MU[j] + last / s[0] * (x0[[i, j]] - MU[j])
        });
        for order in 1..=3 {
            for variable in [PolyVariable::V, PolyVariable::Lambda] {
                for corrector in [false, true] {
                    for points in 1..=3 {
                        let sampler = ExpMultistep {
                            order,
                            variable,
                            corrector,
                            end: Extrapolation::sigma_squared(points),
                        };
                        let err = max_abs(&(run(&sampler, &point, x0.clone(), &grid) - &exact));
                        assert!(err < 1e-12, "{sampler:?}: {err:e}");
                    }
                }
            }
        }
    }
}

/// A denoiser affine in the integration variable s and independent of x, D = a + b·s: the
/// corrected method of order ≥ 2 is exact (every corrected step has ≥ 2 nodes, every predictor
/// after the first ≥ 2), the uncorrected one is not (its first step is Euler's).
#[test]
fn an_affine_denoiser_is_exact_with_the_corrector_only() {
    let (a, b) = (0.7, -0.3);
    let grid = karras_to_sigma_min(12);
    let s = grid.as_slice();
    let x0 = start(s[0]);
    for variable in [PolyVariable::V, PolyVariable::Lambda] {
        let of = move |sigma: f64| match variable {
            PolyVariable::V => 1.0 / sigma,
            PolyVariable::Lambda => -sigma.ln(),
        };
        let model = move |x: &Array2<f64>, sigma: f64| x.mapv(|_| a + b * of(sigma));
        // y = x·v, dy/dv = a + b·s(v): ∫(a + bv)dv = av + bv²/2; ∫(a + b ln v)dv = av + b(v ln v − v).
        let antiderivative = move |v: f64| match variable {
            PolyVariable::V => a * v + b * v * v / 2.0,
            PolyVariable::Lambda => a * v + b * (v * v.ln() - v),
        };
        let (v0, v1) = (1.0 / s[0], 1.0 / s[s.len() - 1]);
        let exact = x0.mapv(|x| (x * v0 + antiderivative(v1) - antiderivative(v0)) / v1);
        for order in 2..=3 {
            let corrected = run(&exp(order, variable, true), &model, x0.clone(), &grid);
            let err = max_abs(&(corrected - &exact));
            assert!(
                err < 1e-10 * max_abs(&exact),
                "{variable:?} {order}: {err:e}"
            );
            let predicted = run(&exp(order, variable, false), &model, x0.clone(), &grid);
            assert!(
                max_abs(&(predicted - &exact)) > 1e-6,
                "{variable:?} {order}: the uncorrected method should not be exact"
            );
        }
    }
}

// ---- (d) the extrapolated end -----------------------------------------------------------------

/// D(x(σ); σ) along the exact Gaussian trajectory through x₀ at σ₀.
fn exact_output(x0: &Array2<f64>, sigma0: f64, sigma: f64) -> Array2<f64> {
    denoise(&flow(x0, sigma0, sigma), sigma)
}

/// Extrapolating exact outputs at σ_last·(1, 2, 4) to σ = 0: error O(σ_last^{2m}) in σ²,
/// O(σ_last^{2⌈m/2⌉}) in σ (the Gaussian's D(x(σ); σ) = μ + c·s²/√(s² + σ²) is even in σ, so
/// a polynomial in σ through 2 points is no better than 1 point).
#[test]
fn extrapolation_order_in_sigma_last() {
    let sigma0 = 20.0;
    let x0 = start(sigma0);
    let x_at_0 = flow(&x0, sigma0, 0.0);
    let lasts = [0.02, 0.01, 0.005, 0.0025];
    for variable in [EndVariable::SigmaSquared, EndVariable::Sigma] {
        for points in 1..=3usize {
            let extrapolation = Extrapolation { points, variable };
            let errs: Vec<f64> = lasts
                .iter()
                .map(|&last| {
                    let sigmas: Vec<f64> = (0..points).map(|j| last * f64::from(1 << j)).collect();
                    let w = extrapolation.weights(&sigmas);
                    let mut x = x_at_0.mapv(|_| 0.0);
                    for (wj, &sigma) in w.iter().zip(&sigmas) {
                        x = x + exact_output(&x0, sigma0, sigma) * *wj;
                    }
                    max_abs(&(x - &x_at_0))
                })
                .collect();
            let slope = common::loglog_slope(&lasts, &errs);
            let theory = match variable {
                EndVariable::SigmaSquared => 2.0 * points as f64,
                EndVariable::Sigma => 2.0 * points.div_ceil(2) as f64,
            };
            assert!(errs.iter().all(|&e| e > 1e-13), "{errs:?} near round-off");
            assert!(
                (slope - theory).abs() <= 0.15,
                "{variable:?} m = {points}: slope {slope:.3}, theory {theory}, errors {errs:?}"
            );
        }
    }
}

/// The end built into the sampler and the generic wrapper around it are the same computation;
/// both cost exactly N calls on a grid of N + 1 points ending in 0, and the wrapper's caller sees
/// every call, the last one included.
#[test]
fn built_in_end_equals_the_wrapper_and_costs_n_calls() {
    let grid = karras(8);
    let x0 = start(grid.as_slice()[0]);
    for variable in [PolyVariable::V, PolyVariable::Lambda] {
        for points in 1..=3 {
            let end = Extrapolation::sigma_squared(points);
            let built_in = ExpMultistep {
                end,
                ..exp(3, variable, true)
            };
            let counting = CountingDenoiser::new(&denoise);
            let a = run(&built_in, &counting, x0.clone(), &grid);
            assert_eq!(counting.count(), 8);
            let wrapper = ExtrapolatedEnd {
                inner: Box::new(exp(3, variable, true)),
                extrapolation: end,
            };
            let counting = CountingDenoiser::new(&denoise);
            let mut seen: Vec<(usize, f64)> = Vec::new();
            let mut cb = |info: &StepInfo<'_, Array2<f64>>| seen.push((info.i, info.sigma));
            let mut ctx = SampleContext {
                noise: None,
                callback: Some(&mut cb),
            };
            let b = wrapper
                .sample(&counting, x0.clone(), &grid, &mut ctx)
                .unwrap();
            assert_eq!(counting.count(), 8);
            assert_eq!(a, b, "{variable:?}, {points} points");
            let expected: Vec<(usize, f64)> = (0..8).map(|i| (i, grid.as_slice()[i])).collect();
            assert_eq!(seen, expected);
        }
    }
}

/// With one point the wrapper is the ordinary final step: DPM-Solver++(2M) on the full grid
/// (whose step to 0 returns D) is reproduced bit for bit.
#[test]
fn one_point_wrapper_is_the_ordinary_final_step() {
    let grid = karras(7);
    let x0 = start(grid.as_slice()[0]);
    let plain = run(
        &DpmPP2M {
            lower_order_final: false,
        },
        &denoise,
        x0.clone(),
        &grid,
    );
    let wrapped = ExtrapolatedEnd {
        inner: Box::new(DpmPP2M {
            lower_order_final: false,
        }),
        extrapolation: Extrapolation::DENOISE,
    };
    assert_eq!(run(&wrapped, &denoise, x0, &grid), plain);
}

/// On the Gaussian, the extrapolated end brings wrapped multistep samplers whose final step is
/// D(x; σ_last) much closer to x(0) on a fine grid, where the final step's O(σ_last²) bias
/// dominates. (LMS is left out: its own step to 0 is already an Adams–Bashforth extrapolation.)
#[test]
fn extrapolated_end_targets_x_at_zero() {
    let n = 400;
    let mut v = SigmaGrid::karras(n, 0.1, 20.0, 7.0).unwrap().into_vec();
    v.pop();
    v.push(0.0);
    let grid = SigmaGrid::new(v).unwrap();
    let x0 = start(20.0);
    let x_at_0 = flow(&x0, 20.0, 0.0);
    for name in ["dpmpp-2m", "dpmpp-3m", "unipc-bh2", "exp-3", "exp-2-lambda"] {
        let plain = by_name::<Array2<f64>>(name, &SamplerOptions::default()).unwrap();
        let extrapolated =
            by_name::<Array2<f64>>(&format!("{name}+x3"), &SamplerOptions::default()).unwrap();
        let e_plain = max_abs(&(run(plain.as_ref(), &denoise, x0.clone(), &grid) - &x_at_0));
        let e_ext = max_abs(&(run(extrapolated.as_ref(), &denoise, x0.clone(), &grid) - &x_at_0));
        assert!(e_ext < 0.2 * e_plain, "{name}: {e_ext:e} vs {e_plain:e}");
    }
    // The final-step bias of D(x(σ_last); σ_last) against x(0), for scale: c·σ²/s², here ≫ 1e-4.
    assert!(S2.iter().all(|&s2| 0.1f64.powi(2) / s2 > 1e-3));
}

// ---- options ----------------------------------------------------------------------------------

#[test]
fn invalid_options_fail_at_sample_time() {
    let grid = karras(4);
    let x0 = start(20.0);
    for sampler in [
        exp(0, PolyVariable::V, true),
        exp(4, PolyVariable::Lambda, false),
        ExpMultistep {
            end: Extrapolation::sigma_squared(0),
            ..ExpMultistep::default()
        },
        ExpMultistep {
            end: Extrapolation::sigma_squared(5),
            ..ExpMultistep::default()
        },
    ] {
        let r = sampler.sample(&denoise, x0.clone(), &grid, &mut SampleContext::default());
        assert!(
            matches!(r, Err(SolveError::InvalidOption { .. })),
            "{sampler:?}"
        );
    }
    assert!(by_name::<Array2<f64>>("lms+x9", &SamplerOptions::default()).is_err());
    assert!(by_name::<Array2<f64>>("nope+x2", &SamplerOptions::default()).is_err());
    for name in [
        "exp-1",
        "exp-2",
        "exp-3",
        "exp-2-lambda",
        "exp-3-lambda",
        "exp-3-pred",
    ] {
        let s = by_name::<Array2<f64>>(name, &SamplerOptions::default()).unwrap();
        assert_eq!(s.name(), name);
    }
}

// ---- the CondOT-uniform grid ------------------------------------------------------------------

/// N + 1 points, σ₀ = σ_max, a final 0, and t = 1/(1 + σ) equally spaced; bad input is an error.
#[test]
fn condot_uniform_grid_is_uniform_in_t() {
    let grid = scoreflow_noise_schedules::SigmaGrid::condot_to_zero(10, 80.0).unwrap();
    let s = grid.as_slice();
    assert_eq!(s.len(), 11);
    assert_eq!((s[0], s[10]), (80.0, 0.0));
    let t: Vec<f64> = s.iter().map(|&sigma| 1.0 / (1.0 + sigma)).collect();
    let dt = (1.0 - t[0]) / 10.0;
    for pair in t.windows(2) {
        assert!((pair[1] - pair[0] - dt).abs() < 1e-14);
    }
    assert!(scoreflow_noise_schedules::SigmaGrid::condot_to_zero(0, 80.0).is_err());
    assert!(scoreflow_noise_schedules::SigmaGrid::condot_to_zero(4, f64::NAN).is_err());
}
