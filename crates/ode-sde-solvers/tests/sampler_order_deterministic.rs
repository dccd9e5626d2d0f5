//! Measured convergence orders of the deterministic multistep / singlestep / adaptive samplers
//! (DPM-2, LMS, DPM-Solver++(2M)/(3M), DPM-Solver-1/2/3, UniPC, RK45) on a Gaussian, whose
//! probability-flow ODE has a closed-form solution, plus identities between them.

mod common;

use common::gaussian::{
    assert_order, denoise, exact_end, karras, max_abs, measured_order, sampler_error, start,
};
use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{
    Dpm2, DpmPP2M, DpmPP3M, DpmSolver, Euler, Lms, Rk45, SampleContext, Sampler, SamplerOptions,
    StepInfo, UniPc, UniPcVariant, by_name,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, SolveError};

const VARIANTS: [UniPcVariant; 2] = [UniPcVariant::Bh1, UniPcVariant::Bh2];

/// The default Karras grid without its final 0 (ends at σ_min = 0.01).
fn karras_to_sigma_min(n: usize) -> SigmaGrid {
    let mut v = karras(n).into_vec();
    v.pop();
    SigmaGrid::new(v).unwrap()
}

/// Asserts the measured order on `grid` is the sampler's stated order ± 0.15.
fn assert_order_on<M: Sampler<Array2<f64>>>(
    sampler: &M,
    ns: &[usize],
    grid: impl Fn(usize) -> SigmaGrid,
) {
    let (p, errs) = measured_order(sampler, ns, grid);
    let theory = sampler.order().expect("deterministic sampler");
    assert!(
        (p - theory).abs() <= 0.15,
        "{}: measured order {p:.3}, theory {theory}, errors {errs:?}",
        sampler.name()
    );
    assert!(errs.iter().all(|&e| e > 1e-12), "{errs:?} near round-off");
}

fn run<M: Sampler<Array2<f64>> + ?Sized>(
    sampler: &M,
    x: Array2<f64>,
    grid: &SigmaGrid,
) -> Array2<f64> {
    sampler
        .sample(&denoise, x, grid, &mut SampleContext::default())
        .unwrap()
}

// ---- orders -------------------------------------------------------------------------------

#[test]
fn dpm2_is_second_order() {
    assert_order(&Dpm2::default(), &[64, 91, 128, 181, 256]);
}

#[test]
fn dpmpp_2m_is_second_order() {
    assert_order(&DpmPP2M::default(), &[64, 91, 128, 181, 256]);
}

/// Third order inside, but the Euler first step caps it at 2; the O(h³) interior error is
/// comparable below ~100 steps, so the asymptotic range starts higher.
#[test]
fn dpmpp_3m_is_second_order_because_of_its_first_step() {
    assert_order(&DpmPP3M::default(), &[256, 362, 512, 724, 1024]);
}

#[test]
fn dpm_solver_1_and_2_orders() {
    assert_order(&DpmSolver { order: 1 }, &[64, 91, 128, 181, 256]);
    assert_order(&DpmSolver { order: 2 }, &[64, 91, 128, 181, 256]);
}

/// The O(h⁴) term has the opposite sign to the O(h³) one and the error dips near 100 steps;
/// the slope is within 0.1 of 3 from ~1000 steps on.
#[test]
fn dpm_solver_3_is_third_order() {
    assert_order(&DpmSolver { order: 3 }, &[1024, 1448, 2048, 2896, 4096]);
}

#[test]
fn unipc_orders_1_and_2_gain_one_from_the_corrector() {
    for variant in VARIANTS {
        assert_order(&UniPc { variant, order: 1 }, &[64, 91, 128, 181, 256]);
        assert_order(&UniPc { variant, order: 2 }, &[64, 91, 128, 181, 256]);
    }
}

/// UniPC-3 has interior order 4, but its corrected order-1 warm-up step and the uncorrected
/// order-2 prediction of x_{N−1} (whose denoised value is returned) have local errors O(h³):
/// global order 3. Near σ_min = 0.01 the λ-derivatives of D are O(σ²), so on the standard grid the
/// O(h³) terms only take over beyond ~10⁴ steps, where the error is at round-off (there the
/// slope is ≈ 4, checked below). With σ_min = 0.5 the asymptotic range is reachable.
#[test]
fn unipc_order_3_is_third_order() {
    let grid = |n: usize| SigmaGrid::karras(n, 0.5, 20.0, 7.0).unwrap();
    for variant in VARIANTS {
        assert_order_on(
            &UniPc { variant, order: 3 },
            &[128, 181, 256, 362, 512],
            grid,
        );
    }
}

#[test]
fn unipc_order_3_shows_interior_order_4_before_the_asymptotic_range() {
    for variant in VARIANTS {
        let (p, errs) = measured_order(
            &UniPc { variant, order: 3 },
            &[64, 91, 128, 181, 256],
            karras,
        );
        assert!((p - 4.0).abs() <= 0.2, "{variant:?}: {p}, {errs:?}");
    }
}

#[test]
fn lms_1_is_first_order() {
    assert_order(&Lms { order: 1 }, &[64, 91, 128, 181, 256]);
}

/// On a grid ending at σ_min (see [`lms_does_not_converge_on_a_grid_ending_in_zero`]).
/// LMS-2..4 are second order because of the Euler first step; the Adams–Bashforth-3 interior
/// error is large on this grid, so LMS-3 reaches the asymptotic range late (LMS-3 and LMS-4 then
/// have the same error: the first step's).
#[test]
fn lms_2_to_4_are_second_order_because_of_the_euler_first_step() {
    assert_order_on(
        &Lms { order: 2 },
        &[256, 362, 512, 724, 1024],
        karras_to_sigma_min,
    );
    assert_order_on(
        &Lms { order: 3 },
        &[16384, 23170, 32768, 46341, 65536, 92682, 131072],
        karras_to_sigma_min,
    );
    assert_order_on(
        &Lms { order: 4 },
        &[1024, 1448, 2048, 2896, 4096],
        karras_to_sigma_min,
    );
    let e3 = sampler_error(&Lms { order: 3 }, &karras_to_sigma_min(131072));
    let e4 = sampler_error(&Lms { order: 4 }, &karras_to_sigma_min(131072));
    assert!((e3 / e4 - 1.0).abs() < 0.1, "{e3} {e4}");
}

/// The step to 0 extrapolates d over the fixed interval [0, σ_min] from nodes that crowd at σ_min:
/// for order ≥ 2 the error against D(x(σ_min); σ_min) levels off at O(σ_min²), as in k-diffusion.
#[test]
fn lms_does_not_converge_on_a_grid_ending_in_zero() {
    let e = sampler_error(&Lms { order: 4 }, &karras(4096));
    assert!(e > 1e-4 && e < 1e-3, "{e}");
}

#[test]
fn rk45_error_follows_the_tolerance() {
    let grid = karras(10);
    let mut last = f64::INFINITY;
    for tol in [1e-3, 1e-5, 1e-7, 1e-9] {
        let e = sampler_error(
            &Rk45 {
                rtol: tol,
                atol: tol,
            },
            &grid,
        );
        assert!(e < last, "tol {tol}: {e} ≥ {last}");
        last = e;
    }
    assert!(last < 1e-8, "{last}");
}

/// Only σ_max and σ_min of the grid matter.
#[test]
fn rk45_ignores_the_interior_grid() {
    let x0 = start(20.0);
    let rk = Rk45::default();
    assert_eq!(run(&rk, x0.clone(), &karras(5)), run(&rk, x0, &karras(50)));
}

// ---- identities -------------------------------------------------------------------------

#[test]
fn lms_1_is_exactly_euler() {
    let grid = karras(20);
    let x0 = start(20.0);
    assert_eq!(
        run(&Lms { order: 1 }, x0.clone(), &grid),
        run(&Euler::default(), x0, &grid)
    );
}

/// Σⱼ cᵢⱼ (σᵢ₋ⱼ − σᵢ)^m = ∫_{σᵢ}^{σᵢ₊₁} (τ − σᵢ)^m dτ for m < k: in particular (m = 0) the
/// coefficients sum to σᵢ₊₁ − σᵢ, the integral of the partition of unity.
#[test]
fn lms_coefficients_integrate_polynomials_exactly() {
    let s = karras(12).into_vec();
    for order in 1..=4 {
        for i in order - 1..s.len() - 1 {
            let c = Lms::coefficients(&s, i, order);
            assert_eq!(c.len(), order);
            let h = s[i + 1] - s[i];
            for m in 0..order {
                let quad: f64 = (0..order)
                    .map(|j| c[j] * (s[i - j] - s[i]).powi(m as i32))
                    .sum();
                let exact = h.powi(m as i32 + 1) / (m + 1) as f64;
                assert!(
                    (quad - exact).abs() <= 1e-12 * exact.abs(),
                    "order {order}, step {i}, m {m}: {quad} vs {exact}"
                );
            }
        }
    }
}

/// DPM-Solver-1 (DDIM) is the Euler step in σ: x − σₙ·expm1(h)·ε = x + (σₙ − σ)·d.
#[test]
fn dpm_solver_1_is_euler() {
    let grid = karras(30);
    let x0 = start(20.0);
    let a = run(&DpmSolver { order: 1 }, x0.clone(), &grid);
    let b = run(&Euler::default(), x0, &grid);
    assert!(max_abs(&(a - b)) < 1e-12);
}

/// With r₁ = 1/2, DPM-Solver-2's intermediate point is the Euler step to σ_mid = √(σσₙ) and its
/// update collapses to x + (σₙ − σ)·d(u₁; σ_mid): k-diffusion's DPM-2.
#[test]
fn dpm_solver_2_is_dpm2() {
    let grid = karras(30);
    let x0 = start(20.0);
    let a = run(&DpmSolver { order: 2 }, x0.clone(), &grid);
    let b = run(&Dpm2::default(), x0, &grid);
    assert!(max_abs(&(a - b)) < 1e-12);
}

/// The multistep samplers' first step is the DDIM / Euler step and their step to 0 returns D, so
/// on [σ_max, σ_min, 0] they all agree with Euler.
#[test]
fn first_order_warm_up_is_euler() {
    let grid = karras(2);
    let x0 = start(20.0);
    let euler = run(&Euler::default(), x0.clone(), &grid);
    let mut samplers: Vec<Box<dyn Sampler<Array2<f64>>>> = vec![
        Box::new(DpmPP2M::default()),
        Box::new(DpmPP3M::default()),
        Box::new(DpmSolver { order: 1 }),
    ];
    for variant in VARIANTS {
        for order in 1..=3 {
            samplers.push(Box::new(UniPc { variant, order }));
        }
    }
    for s in samplers {
        let out = run(s.as_ref(), x0.clone(), &grid);
        assert!(max_abs(&(out - &euler)) < 1e-12, "{}", s.name());
    }
}

/// Two steps σ₀ → σ₁ → σ₂ > 0 of UniPC (any order: both steps are order 1): DDIM to σ₁, the
/// model at the prediction, UniC-1 with ρ = 1/2 from x₀, then DDIM from the corrected state.
#[test]
fn unipc_two_steps_by_hand() {
    let (s0, s1, s2) = (5.0f64, 1.5f64, 0.4f64);
    let grid = SigmaGrid::new(vec![s0, s1, s2]).unwrap();
    let x0 = start(s0);
    let m0 = denoise(&x0, s0);
    let ddim = |x: &Array2<f64>, m: &Array2<f64>, from: f64, to: f64| {
        x * (to / from) + m * (1.0 - to / from)
    };
    let x1 = ddim(&x0, &m0, s0, s1);
    let m1 = denoise(&x1, s1);
    let h = s0.ln() - s1.ln();
    for variant in VARIANTS {
        let b = match variant {
            UniPcVariant::Bh1 => -h,
            UniPcVariant::Bh2 => (-h).exp_m1(),
        };
        let x1c = ddim(&x0, &m0, s0, s1) - (&m1 - &m0) * (0.5 * b);
        let expected = ddim(&x1c, &m1, s1, s2);
        for order in 1..=3 {
            let out = run(&UniPc { variant, order }, x0.clone(), &grid);
            assert!(max_abs(&(out - &expected)) < 1e-13, "{variant:?} {order}");
        }
    }
}

/// With a constant denoiser D ≡ c the flow is x(σ) = c + (x₀ − c)σ/σ₀, which every sampler
/// here integrates exactly.
#[test]
fn constant_denoiser_is_integrated_exactly() {
    let c = Array2::from_shape_fn((16, 2), |(i, j)| (i as f64 - 7.5) * 0.1 + j as f64);
    let model = |_: &Array2<f64>, _: f64| c.clone();
    let x0 = start(20.0);
    for grid in [karras(7), karras_to_sigma_min(7)] {
        let s = grid.as_slice();
        let end = s[s.len() - 1];
        let exact = &c + &((&x0 - &c) * (end / s[0]));
        for sampler in deterministic_samplers() {
            let out = sampler
                .sample(&model, x0.clone(), &grid, &mut SampleContext::default())
                .unwrap();
            assert!(max_abs(&(out - &exact)) < 1e-9, "{}", sampler.name());
        }
    }
}

fn deterministic_samplers() -> Vec<Box<dyn Sampler<Array2<f64>>>> {
    let mut v: Vec<Box<dyn Sampler<Array2<f64>>>> = vec![
        Box::new(Dpm2::default()),
        Box::new(DpmPP2M::default()),
        Box::new(DpmPP3M::default()),
        Box::new(Rk45 {
            rtol: 1e-8,
            atol: 1e-8,
        }),
    ];
    for order in 1..=4 {
        v.push(Box::new(Lms { order }));
    }
    for order in 1..=3 {
        v.push(Box::new(DpmSolver { order }));
        for variant in VARIANTS {
            v.push(Box::new(UniPc { variant, order }));
        }
    }
    v
}

// ---- bookkeeping ------------------------------------------------------------------------

#[test]
fn invalid_orders_fail_at_sample_time() {
    let bad: Vec<Box<dyn Sampler<Array2<f64>>>> = vec![
        Box::new(Lms { order: 0 }),
        Box::new(Lms { order: 5 }),
        Box::new(DpmSolver { order: 0 }),
        Box::new(DpmSolver { order: 4 }),
        Box::new(UniPc {
            variant: UniPcVariant::Bh1,
            order: 0,
        }),
        Box::new(UniPc {
            variant: UniPcVariant::Bh2,
            order: 4,
        }),
    ];
    for s in bad {
        let r = s.sample(
            &denoise,
            start(20.0),
            &karras(5),
            &mut SampleContext::default(),
        );
        assert!(
            matches!(r, Err(SolveError::InvalidOption { name: "order", .. })),
            "{}",
            s.name()
        );
    }
}

/// Denoiser calls: `order` per step for DPM-Solver (1 for the step to 0), 2 for DPM-2 (1 for the
/// step to 0), one per step for the multistep samplers.
#[test]
fn denoiser_calls_per_step() {
    let n = 9;
    let grid = karras(n);
    let count = |s: &dyn Sampler<Array2<f64>>| {
        let model = CountingDenoiser::new(&denoise);
        s.sample(&model, start(20.0), &grid, &mut SampleContext::default())
            .unwrap();
        model.count()
    };
    for order in 1..=3u8 {
        assert_eq!(
            count(&DpmSolver { order }),
            (n - 1) * usize::from(order) + 1
        );
    }
    assert_eq!(count(&Dpm2::default()), 2 * (n - 1) + 1);
    assert_eq!(count(&DpmPP2M::default()), n);
    assert_eq!(count(&DpmPP3M::default()), n);
    assert_eq!(count(&Lms::default()), n);
    for variant in VARIANTS {
        assert_eq!(count(&UniPc { variant, order: 3 }), n);
    }
}

/// Each grid step is reported once, with its σ, by the grid samplers; `rk45` reports its final
/// denoising only.
#[test]
fn callback_reports_each_step() {
    let grid = karras(8);
    for sampler in deterministic_samplers() {
        let mut seen = Vec::new();
        let mut cb = |info: &StepInfo<'_, Array2<f64>>| seen.push((info.i, info.sigma));
        let mut ctx = SampleContext {
            noise: None,
            callback: Some(&mut cb),
        };
        sampler
            .sample(&denoise, start(20.0), &grid, &mut ctx)
            .unwrap();
        let s = grid.as_slice();
        let expected: Vec<(usize, f64)> = if sampler.name() == "rk45" {
            vec![(s.len() - 2, s[s.len() - 2])]
        } else {
            (0..s.len() - 1).map(|i| (i, s[i])).collect()
        };
        assert_eq!(seen, expected, "{}", sampler.name());
    }
}

#[test]
fn registry_knows_the_deterministic_samplers() {
    let opts = SamplerOptions::default();
    let cases: &[(&str, &str, f64)] = &[
        ("dpm2", "dpm2", 2.0),
        ("lms", "lms", 2.0),
        ("dpmpp-2m", "dpmpp-2m", 2.0),
        ("dpmpp-3m", "dpmpp-3m", 2.0),
        ("dpm-solver-1", "dpm-solver-1", 1.0),
        ("dpm-solver-2", "dpm-solver-2", 2.0),
        ("dpm-solver-3", "dpm-solver-3", 3.0),
        ("dpm-solver", "dpm-solver-3", 3.0),
        ("unipc-bh1", "unipc-bh1", 3.0),
        ("unipc-bh2", "unipc-bh2", 3.0),
        ("unipc-bh1-1", "unipc-bh1-1", 2.0),
        ("unipc-bh2-2", "unipc-bh2", 3.0),
        ("unipc-bh2-3", "unipc-bh2-3", 3.0),
        ("rk45", "rk45", 5.0),
    ];
    for &(name, canonical, order) in cases {
        let s = by_name::<Array2<f64>>(name, &opts).unwrap();
        assert_eq!((s.name(), s.order()), (canonical, Some(order)), "{name}");
    }
    assert!(matches!(
        by_name::<Array2<f64>>("unipc-bh3", &opts),
        Err(SolveError::UnknownSampler(_))
    ));
    let names = scoreflow_ode_sde_solvers::samplers::SAMPLER_NAMES;
    for name in [
        "dpm2",
        "lms",
        "dpmpp-2m",
        "dpmpp-3m",
        "dpm-solver-3",
        "unipc-bh2",
        "rk45",
    ] {
        assert!(names.contains(&name), "{name}");
    }
}

/// The sampler's output is the exact end point for a one-step grid [σ, 0] (every sampler returns
/// D(x; σ) there, rk45 without integrating).
#[test]
fn single_step_to_zero_is_the_denoiser() {
    let grid = SigmaGrid::new(vec![3.0, 0.0]).unwrap();
    let x0 = start(3.0);
    let d = exact_end(&x0, &grid);
    for sampler in deterministic_samplers() {
        let out = run(sampler.as_ref(), x0.clone(), &grid);
        assert!(max_abs(&(out - &d)) < 1e-14, "{}", sampler.name());
    }
}
