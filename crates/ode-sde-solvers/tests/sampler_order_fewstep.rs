//! iPNDM, DEIS-tAB and adaptive DPM-Solver on the Gaussian whose probability-flow ODE is
//! closed form: measured global orders, the identities behind their documentation, denoiser-call
//! counts, and k-diffusion's own outputs for `dpm-adaptive` (fixture written by
//! scripts/peers/dpm_adaptive_reference.py).

mod common;

use common::gaussian::{denoise, exact_end, karras, max_abs, measured_order, sampler_error, start};
use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{
    Deis, DpmAdaptive, Euler, Ipndm, Lms, SampleContext, Sampler, SamplerOptions, StepInfo, by_name,
};
use scoreflow_ode_sde_solvers::{CountingDenoiser, Denoiser, FallibleFn, SolveError};

/// The default Karras grid without its final 0 (ends at σ_min = 0.01).
fn karras_to_sigma_min(n: usize) -> SigmaGrid {
    let mut v = karras(n).into_vec();
    v.pop();
    SigmaGrid::new(v).unwrap()
}

/// Asserts the measured order on both Karras grids (ending in 0 and at σ_min) is the sampler's
/// stated order ± 0.15.
fn assert_order_both<M: Sampler<Array2<f64>>>(sampler: &M, ns: &[usize]) {
    for (label, grid) in [
        ("ends in 0", karras as fn(usize) -> SigmaGrid),
        ("ends at σ_min", karras_to_sigma_min),
    ] {
        let (p, errs) = measured_order(sampler, ns, grid);
        let theory = sampler.order().expect("deterministic sampler");
        assert!(
            (p - theory).abs() <= 0.15,
            "{} ({label}): measured order {p:.3}, theory {theory}, errors {errs:?}",
            sampler.name()
        );
        assert!(errs.iter().all(|&e| e > 1e-12), "{errs:?} near round-off");
    }
}

fn run<M: Sampler<Array2<f64>> + ?Sized>(
    sampler: &M,
    model: &dyn Denoiser<Array2<f64>>,
    x: Array2<f64>,
    grid: &SigmaGrid,
) -> Array2<f64> {
    sampler
        .sample(model, x, grid, &mut SampleContext::default())
        .unwrap()
}

fn calls<M: Sampler<Array2<f64>> + ?Sized>(sampler: &M, grid: &SigmaGrid) -> usize {
    let model = CountingDenoiser::new(&denoise);
    sampler
        .sample(
            &model,
            start(grid.as_slice()[0]),
            grid,
            &mut SampleContext::default(),
        )
        .unwrap();
    model.count()
}

fn linspace(from: f64, to: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| from + (to - from) * k as f64 / (n - 1) as f64)
        .collect()
}

// ---- iPNDM ------------------------------------------------------------------------------

#[test]
fn ipndm_1_is_euler() {
    let x0 = start(20.0);
    let grid = karras_to_sigma_min(20);
    let ipndm = Ipndm {
        order: 1,
        afs: false,
    };
    assert_eq!(
        run(&ipndm, &denoise, x0.clone(), &grid),
        run(&Euler::default(), &denoise, x0.clone(), &grid)
    );
    // Euler's step to 0 is x − σ·(x − D)/σ = D up to rounding.
    let grid = karras(20);
    let a = run(&ipndm, &denoise, x0.clone(), &grid);
    let b = run(&Euler::default(), &denoise, x0, &grid);
    assert!(max_abs(&(a - b)) < 1e-13);
}

#[test]
fn ipndm_2_to_4_are_second_order() {
    for order in 2..=4 {
        assert_order_both(&Ipndm { order, afs: false }, &[64, 91, 128, 181, 256]);
    }
}

/// The analytic first step leaves an O(h) error (1 − σ₁/σ₀)·D(x₀; σ₀) behind; the Gaussian's
/// mean (1, −2) makes D(x₀; σ₀) ≈ μ ≠ 0.
#[test]
fn ipndm_with_afs_is_first_order() {
    for order in 2..=4 {
        assert_order_both(&Ipndm { order, afs: true }, &[256, 362, 512, 724, 1024]);
    }
}

/// AFS is exactly "D(x₀; σ₀) := 0": with a model that returns 0 at σ₀ both variants agree.
#[test]
fn afs_is_a_zero_denoiser_at_sigma_max() {
    let grid = karras(12);
    let sigma_max = grid.as_slice()[0];
    let zero_at_max = |x: &Array2<f64>, sigma: f64| {
        if sigma == sigma_max {
            Array2::zeros(x.raw_dim())
        } else {
            denoise(x, sigma)
        }
    };
    let x0 = start(sigma_max);
    for order in 1..=4 {
        let with = run(&Ipndm { order, afs: true }, &denoise, x0.clone(), &grid);
        let without = run(
            &Ipndm { order, afs: false },
            &zero_at_max,
            x0.clone(),
            &grid,
        );
        assert!(max_abs(&(with - without)) < 1e-15, "order {order}");
    }
}

/// On an equally spaced grid the variable-step Adams–Bashforth coefficients are the constant
/// ones: iPNDM is LMS there (and on a Karras grid it is not).
#[test]
fn ipndm_on_an_equally_spaced_grid_is_lms() {
    let grid = SigmaGrid::new(linspace(20.0, 0.01, 41)).unwrap();
    let x0 = start(20.0);
    for order in 1..=4 {
        let a = run(&Ipndm { order, afs: false }, &denoise, x0.clone(), &grid);
        let b = run(&Lms { order }, &denoise, x0.clone(), &grid);
        assert!(max_abs(&(a - b)) < 1e-12, "order {order}");
    }
    let grid = karras_to_sigma_min(40);
    let a = run(&Ipndm::default(), &denoise, x0.clone(), &grid);
    let b = run(&Lms::default(), &denoise, x0, &grid);
    assert!(max_abs(&(a - b)) > 1e-4);
}

/// diff-sampler's `ipndm_v` means to write LMS's variable-step coefficients in closed form (as
/// multiples of hₙ = σᵢ₊₁ − σᵢ). Its order-2 form is LMS-2's; its order-3 form is LMS-3's once
/// the parenthesis of `temp` is moved to (1 − hₙ/(3(hₙ + hₙ₋₁)))·hₙ(hₙ + hₙ₋₁)/(hₙ₋₁(hₙ₋₁ + hₙ₋₂))/2
/// — as written, the product sits inside 1 − (…), which agrees only for equal steps; and its
/// order-4 term is 11/24 for equal steps where Adams–Bashforth 4 has 9/24.
#[test]
fn ipndm_v_coefficients_are_lms_coefficients() {
    let three = |hn: f64, h1: f64, h2: f64, as_written: bool| {
        let temp = if as_written {
            (1.0 - hn / (3.0 * (hn + h1)) * (hn * (hn + h1)) / (h1 * (h1 + h2))) / 2.0
        } else {
            (1.0 - hn / (3.0 * (hn + h1))) * (hn * (hn + h1)) / (h1 * (h1 + h2)) / 2.0
        };
        [
            (2.0 + hn / h1) / 2.0 + temp,
            -(hn / h1) / 2.0 - (1.0 + h1 / h2) * temp,
            temp * h1 / h2,
        ]
    };
    let check = |closed: &[f64], lms: &[f64], hn: f64| {
        closed
            .iter()
            .zip(lms)
            .all(|(c, l)| (c * hn - l).abs() <= 1e-12 * hn.abs())
    };
    let s = karras(12).into_vec();
    for i in 2..s.len() - 2 {
        let hn = s[i + 1] - s[i];
        let (h1, h2) = (s[i] - s[i - 1], s[i - 1] - s[i - 2]);
        let two = [(2.0 + hn / h1) / 2.0, -(hn / h1) / 2.0];
        assert!(check(&two, &Lms::coefficients(&s, i, 2), hn), "step {i}");
        let lms3 = Lms::coefficients(&s, i, 3);
        assert!(check(&three(hn, h1, h2, false), &lms3, hn), "step {i}");
        assert!(!check(&three(hn, h1, h2, true), &lms3, hn), "step {i}");
    }
    // With equal steps the written order-3 form is Adams–Bashforth 3.
    let h = -0.5;
    let lms = Lms::coefficients(&[4.0, 3.5, 3.0, 2.5, 2.0], 3, 3);
    assert!(check(&three(h, h, h, true), &lms, h));
}

/// One call per grid interval (the last returns D when the grid ends in 0), one fewer with AFS.
#[test]
fn ipndm_denoiser_calls() {
    let n = 9;
    for order in 1..=4 {
        let plain = Ipndm { order, afs: false };
        let afs = Ipndm { order, afs: true };
        assert_eq!(calls(&plain, &karras(n)), n);
        assert_eq!(calls(&afs, &karras(n)), n - 1);
        assert_eq!(calls(&plain, &karras_to_sigma_min(n)), n - 1);
        assert_eq!(calls(&afs, &karras_to_sigma_min(n)), n - 2);
    }
    // The step to 0 always calls the model, even as the first step.
    let one_step = SigmaGrid::new(vec![3.0, 0.0]).unwrap();
    assert_eq!(calls(&Ipndm::default(), &one_step), 1);
    assert_eq!(
        calls(
            &Ipndm {
                order: 4,
                afs: true
            },
            &one_step
        ),
        1
    );
}

// ---- DEIS -------------------------------------------------------------------------------

#[test]
fn deis_1_is_euler() {
    let x0 = start(20.0);
    let grid = karras_to_sigma_min(20);
    assert_eq!(
        run(&Deis { order: 1 }, &denoise, x0.clone(), &grid),
        run(&Euler::default(), &denoise, x0, &grid)
    );
}

/// Interior order k, but the Euler first step caps the global order at 2; DEIS-3's O(h³) interior
/// error dominates up to ~1000 steps (slope ≈ 3 on 64–256 steps), so its asymptotic range starts
/// later.
#[test]
fn deis_2_to_4_are_second_order() {
    assert_order_both(&Deis { order: 2 }, &[64, 91, 128, 181, 256]);
    assert_order_both(&Deis { order: 3 }, &[4096, 5793, 8192, 11585, 16384]);
    assert_order_both(&Deis { order: 4 }, &[256, 362, 512, 724, 1024]);
}

/// diff-sampler's `edm2t`: t(0.002) = ε_s = 10⁻³, t(80) = 1.
#[test]
fn deis_vp_time_maps_the_edm_range_to_eps_s_and_1() {
    assert!((Deis::vp_time(0.002) - 1e-3).abs() < 1e-15);
    assert!((Deis::vp_time(80.0) - 1.0).abs() < 1e-14);
}

/// The coefficients are what diff-sampler integrates, ∫_{tᵢ}^{tᵢ₊₁} σ'(τ)·ℓⱼ(τ) dτ with
/// σ'(τ) = −½(d ln ᾱ/dτ)/√(ᾱ(1 − ᾱ)), ᾱ(τ) = exp(−½β_d τ² − β_min τ), here by composite Simpson
/// in τ (an independent quadrature in the other variable).
#[test]
fn deis_coefficients_are_diff_samplers_integral_in_vp_time() {
    let log_max = (80.0f64 * 80.0).ln_1p();
    let beta_d = 2.0 * ((0.002f64 * 0.002).ln_1p() / 1e-3 - log_max) / (1e-3 - 1.0);
    let beta_min = log_max - 0.5 * beta_d;
    let integrand = |tau: f64| {
        let alpha = (-0.5 * beta_d * tau * tau - beta_min * tau).exp();
        let d_log_alpha = -(beta_d * tau + beta_min);
        -0.5 * d_log_alpha / (alpha * (1.0 - alpha)).sqrt()
    };
    let s = karras_to_sigma_min(10).into_vec();
    let t: Vec<f64> = s.iter().map(|&v| Deis::vp_time(v)).collect();
    for order in 2..=4 {
        for i in order - 1..s.len() - 1 {
            let c = Deis::coefficients(&s, i, order);
            let nodes: Vec<f64> = (0..order).map(|m| t[i - m]).collect();
            let m = 20_000;
            let dt = (t[i + 1] - t[i]) / m as f64;
            for (j, cj) in c.iter().enumerate() {
                let f = |tau: f64| {
                    let l: f64 = (0..order)
                        .filter(|&k| k != j)
                        .map(|k| (tau - nodes[k]) / (nodes[j] - nodes[k]))
                        .product();
                    integrand(tau) * l
                };
                let simpson: f64 = (0..m)
                    .map(|k| {
                        let a = t[i] + k as f64 * dt;
                        (f(a) + 4.0 * f(a + 0.5 * dt) + f(a + dt)) * dt / 6.0
                    })
                    .sum();
                assert!(
                    (cj - simpson).abs() <= 1e-9 * (s[i] - s[i + 1]),
                    "order {order}, step {i}, j {j}: {cj} vs {simpson}"
                );
            }
        }
    }
}

/// Σⱼ cᵢⱼ = σᵢ₊₁ − σᵢ (the Lagrange basis is a partition of unity).
#[test]
fn deis_coefficients_sum_to_the_step() {
    let s = karras_to_sigma_min(12).into_vec();
    for order in 1..=4 {
        for i in order - 1..s.len() - 1 {
            let sum: f64 = Deis::coefficients(&s, i, order).iter().sum();
            let h = s[i + 1] - s[i];
            assert!(
                (sum - h).abs() <= 1e-13 * h.abs(),
                "{order} {i}: {sum} vs {h}"
            );
        }
    }
}

/// With the nodes in σ instead of t (diff-sampler's `rhoab`, closed-form integrals) the rule is
/// LMS: its second- and third-order coefficients are `Lms::coefficients`.
#[test]
fn deis_rhoab_is_lms() {
    let integral2 = |a: f64, b: f64, start: f64, end: f64, c: f64| {
        ((end.powi(3) - start.powi(3)) / 3.0 - (end * end - start * start) * (a + b) / 2.0
            + (end - start) * a * b)
            / ((c - a) * (c - b))
    };
    let s = karras(12).into_vec();
    for i in 2..s.len() - 2 {
        let (cur, next, p1, p2) = (s[i], s[i + 1], s[i - 1], s[i - 2]);
        let two = [
            ((next - p1).powi(2) - (cur - p1).powi(2)) / (2.0 * (cur - p1)),
            (next - cur).powi(2) / (2.0 * (p1 - cur)),
        ];
        let three = [
            integral2(p1, p2, cur, next, cur),
            integral2(cur, p2, cur, next, p1),
            integral2(cur, p1, cur, next, p2),
        ];
        for closed in [&two[..], &three[..]] {
            let lms = Lms::coefficients(&s, i, closed.len());
            for (c, l) in closed.iter().zip(&lms) {
                assert!((c - l).abs() <= 1e-10 * (cur - next), "{i}: {c} vs {l}");
            }
        }
    }
}

// ---- adaptive DPM-Solver ----------------------------------------------------------------

fn fixture() -> serde_json::Value {
    let text = include_str!("fixtures/dpm_adaptive_k_diffusion.json");
    serde_json::from_str(text).unwrap()
}

fn matrix(v: &serde_json::Value) -> Array2<f64> {
    let rows = v.as_array().unwrap();
    Array2::from_shape_fn((rows.len(), 2), |(i, j)| rows[i][j].as_f64().unwrap())
}

fn options(case: &serde_json::Value) -> DpmAdaptive {
    let o = &case["options"];
    let get = |name: &str, default: f64| o.get(name).map_or(default, |v| v.as_f64().unwrap());
    let d = DpmAdaptive::default();
    DpmAdaptive {
        order: o["order"].as_u64().unwrap() as usize,
        rtol: get("rtol", d.rtol),
        atol: get("atol", d.atol),
        h_init: get("h_init", d.h_init),
        pcoeff: get("pcoeff", d.pcoeff),
        icoeff: get("icoeff", d.icoeff),
        dcoeff: get("dcoeff", d.dcoeff),
        accept_safety: get("accept_safety", d.accept_safety),
    }
}

/// k-diffusion's `sample_dpm_adaptive` (float64) from the fixture: the same states to within the
/// reference's own rounding sensitivity (10⁻¹³ + 4× it, at most ≈ 1.3·10⁻¹¹), and its call count
/// less one per rejected attempt (ε at the unchanged point is kept here).
#[test]
fn dpm_adaptive_matches_k_diffusion() {
    let fx = fixture();
    let x0 = matrix(&fx["x0"]);
    let (sigma_max, sigma_min) = (
        fx["sigma_max"].as_f64().unwrap(),
        fx["sigma_min"].as_f64().unwrap(),
    );
    let to_sigma_min = SigmaGrid::new(vec![sigma_max, sigma_min]).unwrap();
    let to_zero = SigmaGrid::new(vec![sigma_max, sigma_min, 0.0]).unwrap();
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let sampler = options(case);
        let expected = matrix(&case["x"]);
        let reference_calls = case["nfe"].as_u64().unwrap() as usize;
        let rejected = case["n_reject"].as_u64().unwrap() as usize;
        let accepted = case["n_accept"].as_u64().unwrap() as usize;
        assert_eq!(reference_calls, sampler.order * (accepted + rejected));
        // k-diffusion's own output moves this much when x₀ is scaled by 1 ± 10⁻¹⁵ (the accepted
        // steps depend on ‖x_low − x_high‖, a difference of nearly equal states): ≈ 3·10⁻¹² for
        // the order-3 cases, ≤ 10⁻¹⁴ for the others.
        let sensitivity = case["rounding_sensitivity"].as_f64().unwrap();
        assert!(sensitivity < 1e-11, "{name}: {sensitivity:e}");
        let tol = 1e-13 + 4.0 * sensitivity;

        let model = CountingDenoiser::new(&denoise);
        let out = sampler
            .sample(
                &model,
                x0.clone(),
                &to_sigma_min,
                &mut SampleContext::default(),
            )
            .unwrap();
        let err = max_abs(&(&out - &expected));
        assert!(err <= tol, "{name}: {err:e} (tolerance {tol:e})");
        assert_eq!(model.count(), reference_calls - rejected, "{name}");

        // Ending in 0 adds D(x; σ_min).
        let model = CountingDenoiser::new(&denoise);
        let out = sampler
            .sample(&model, x0.clone(), &to_zero, &mut SampleContext::default())
            .unwrap();
        let err = max_abs(&(&out - &denoise(&expected, sigma_min)));
        assert!(err <= tol, "{name} to 0: {err:e} (tolerance {tol:e})");
        assert_eq!(model.count(), reference_calls - rejected + 1, "{name}");
    }
}

#[test]
fn dpm_adaptive_error_follows_the_tolerance() {
    for order in [2, 3] {
        for grid in [karras(10), karras_to_sigma_min(10)] {
            let mut last = f64::INFINITY;
            let mut last_calls = 0;
            for rtol in [5e-3, 5e-4, 5e-5, 5e-6] {
                // k-diffusion's ratio atol/rtol = 0.0078/0.05.
                let sampler = DpmAdaptive {
                    order,
                    rtol,
                    atol: rtol * 0.156,
                    ..Default::default()
                };
                let e = sampler_error(&sampler, &grid);
                let n = calls(&sampler, &grid);
                assert!(e < last, "order {order}, rtol {rtol}: {e} ≥ {last}");
                assert!(n > last_calls, "order {order}, rtol {rtol}: {n} calls");
                last = e;
                last_calls = n;
            }
            assert!(last < 1e-4, "order {order}: {last}");
        }
    }
}

/// Only σ_max and the last positive σ matter.
#[test]
fn dpm_adaptive_ignores_the_interior_grid() {
    let x0 = start(20.0);
    let s = DpmAdaptive::default();
    assert_eq!(
        run(&s, &denoise, x0.clone(), &karras(5)),
        run(&s, &denoise, x0, &karras(50))
    );
}

#[test]
fn dpm_adaptive_rejects_invalid_options() {
    let d = DpmAdaptive::default();
    let bad = [
        ("order", DpmAdaptive { order: 1, ..d }),
        ("order", DpmAdaptive { order: 4, ..d }),
        ("rtol", DpmAdaptive { rtol: -1.0, ..d }),
        ("atol", DpmAdaptive { atol: 0.0, ..d }),
        ("h_init", DpmAdaptive { h_init: 0.0, ..d }),
        (
            "dcoeff",
            DpmAdaptive {
                dcoeff: f64::NAN,
                ..d
            },
        ),
    ];
    for (name, s) in bad {
        let r = s.sample(
            &denoise,
            start(20.0),
            &karras(5),
            &mut SampleContext::default(),
        );
        assert!(
            matches!(r, Err(SolveError::InvalidOption { name: n, .. }) if n == name),
            "{name}: {r:?}"
        );
    }
}

#[test]
fn dpm_adaptive_stops_at_the_models_failure() {
    let model = FallibleFn(|x: &Array2<f64>, sigma: f64| {
        if sigma < 1.0 {
            Err(std::fmt::Error)
        } else {
            Ok(denoise(x, sigma))
        }
    });
    let r = DpmAdaptive::default().sample(
        &model,
        start(20.0),
        &karras(5),
        &mut SampleContext::default(),
    );
    assert!(matches!(r, Err(SolveError::Model(_))), "{r:?}");
}

// ---- all three --------------------------------------------------------------------------

fn new_samplers() -> Vec<Box<dyn Sampler<Array2<f64>>>> {
    let mut v: Vec<Box<dyn Sampler<Array2<f64>>>> = vec![Box::new(DpmAdaptive::default())];
    for order in 1..=4 {
        v.push(Box::new(Ipndm { order, afs: false }));
        v.push(Box::new(Ipndm { order, afs: true }));
        v.push(Box::new(Deis { order }));
    }
    v
}

/// With D ≡ c the flow is x(σ) = c + (x₀ − c)σ/σ₀: d is constant along it, which every rule
/// here integrates exactly — except AFS, which assumes D(x₀; σ₀) = 0, so it is exact for c = 0
/// only.
#[test]
fn constant_denoiser_is_integrated_exactly() {
    let c = Array2::from_shape_fn((16, 2), |(i, j)| (i as f64 - 7.5) * 0.1 + j as f64);
    let zero = Array2::<f64>::zeros((16, 2));
    let x0 = start(20.0);
    for grid in [karras(7), karras_to_sigma_min(7)] {
        let s = grid.as_slice();
        let end = s[s.len() - 1];
        for target in [&c, &zero] {
            let model = |_: &Array2<f64>, _: f64| target.clone();
            let exact = target + &((&x0 - target) * (end / s[0]));
            for sampler in new_samplers() {
                if sampler.name().contains("afs") && *target == c {
                    continue;
                }
                let out = run(sampler.as_ref(), &model, x0.clone(), &grid);
                assert!(max_abs(&(out - &exact)) < 1e-9, "{}", sampler.name());
            }
        }
    }
}

/// A one-step grid [σ, 0] returns D(x; σ) for every sampler here (AFS does not apply to it).
#[test]
fn single_step_to_zero_is_the_denoiser() {
    let grid = SigmaGrid::new(vec![3.0, 0.0]).unwrap();
    let x0 = start(3.0);
    let d = exact_end(&x0, &grid);
    for sampler in new_samplers() {
        let out = run(sampler.as_ref(), &denoise, x0.clone(), &grid);
        assert!(max_abs(&(out - &d)) < 1e-14, "{}", sampler.name());
    }
}

#[test]
fn deis_denoiser_calls() {
    for order in 1..=4 {
        assert_eq!(calls(&Deis { order }, &karras(9)), 9);
        assert_eq!(calls(&Deis { order }, &karras_to_sigma_min(9)), 8);
    }
}

/// The grid samplers report each model call with its grid step (not the AFS step); dpm-adaptive
/// reports only its final D(x; σ_min), as rk45 does.
#[test]
fn callback_reports_each_call() {
    let grid = karras(8);
    let s = grid.as_slice();
    for sampler in new_samplers() {
        let mut seen = Vec::new();
        let mut cb = |info: &StepInfo<'_, Array2<f64>>| seen.push((info.i, info.sigma));
        let mut ctx = SampleContext {
            noise: None,
            callback: Some(&mut cb),
        };
        sampler
            .sample(&denoise, start(20.0), &grid, &mut ctx)
            .unwrap();
        let first = usize::from(sampler.name().contains("afs"));
        let expected: Vec<(usize, f64)> = if sampler.name() == "dpm-adaptive" {
            vec![(s.len() - 2, s[s.len() - 2])]
        } else {
            (first..s.len() - 1).map(|i| (i, s[i])).collect()
        };
        assert_eq!(seen, expected, "{}", sampler.name());
    }
}

#[test]
fn invalid_orders_fail_at_sample_time() {
    let bad: Vec<Box<dyn Sampler<Array2<f64>>>> = vec![
        Box::new(Ipndm {
            order: 0,
            afs: false,
        }),
        Box::new(Ipndm {
            order: 5,
            afs: true,
        }),
        Box::new(Deis { order: 0 }),
        Box::new(Deis { order: 5 }),
    ];
    for s in bad {
        assert!(s.order().unwrap().is_nan(), "{}", s.name());
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

#[test]
fn registry_knows_the_few_step_samplers() {
    let opts = SamplerOptions::default();
    let cases: &[(&str, &str, f64)] = &[
        ("ipndm", "ipndm", 2.0),
        ("ipndm-2", "ipndm-2", 2.0),
        ("ipndm-3", "ipndm-3", 2.0),
        ("ipndm-afs", "ipndm-afs", 1.0),
        ("deis", "deis", 2.0),
        ("deis-2", "deis-2", 2.0),
        ("deis-3", "deis", 2.0),
        ("dpm-adaptive", "dpm-adaptive", 3.0),
    ];
    for &(name, canonical, order) in cases {
        let s = by_name::<Array2<f64>>(name, &opts).unwrap();
        assert_eq!((s.name(), s.order()), (canonical, Some(order)), "{name}");
        let row = scoreflow_ode_sde_solvers::samplers::find(name).unwrap();
        assert_eq!(row.name, canonical, "{name}");
    }
    // dpm-adaptive keeps k-diffusion's tolerances whatever `options.rtol` says.
    let tight = SamplerOptions {
        rtol: 1e-9,
        atol: 1e-9,
        ..SamplerOptions::default()
    };
    let grid = karras(10);
    let a = by_name::<Array2<f64>>("dpm-adaptive", &tight).unwrap();
    let b = DpmAdaptive::default();
    assert_eq!(
        run(a.as_ref(), &denoise, start(20.0), &grid),
        run(&b, &denoise, start(20.0), &grid)
    );
}
