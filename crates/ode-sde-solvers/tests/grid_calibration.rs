//! Grid calibration: the search recovers a closed-form optimum, never ends above its start, is
//! deterministic, reports what it measured, and rejects bad input with typed errors.

use ndarray::Array2;
use scoreflow_noise_schedules::SigmaGrid;
use scoreflow_ode_sde_solvers::samplers::{
    CalibrationError, CalibrationOptions, NelderMead, PilotSet, SampleContext, Sampler,
    SamplerOptions, by_name, calibrate_grid, rms_endpoint_error,
};
use scoreflow_ode_sde_solvers::{Denoiser, SolveError};

/// Deterministic N(0, 1)-like values (Box–Muller on a low-discrepancy sequence).
fn noise(n: usize, d: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |(i, j)| {
        let k = (i * d + j) as f64;
        let u1 = (k * 0.754_877_666 + 0.1).fract().max(1e-9);
        let u2 = (k * 0.569_840_29 + 0.3).fract();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    })
}

/// D(x; σ) = μ + s²/(s² + σ²)·(x − μ) of N(μ, s²I) (Karras et al. 2022, eq. (2) for a Gaussian).
fn gaussian(mu: f64, s: f64) -> impl Fn(&Array2<f64>, f64) -> Array2<f64> {
    move |x: &Array2<f64>, sigma: f64| x.mapv(|v| mu + s * s / (s * s + sigma * sigma) * (v - mu))
}

/// A 1-D two-component mixture ½N(−2, 0.3²) + ½N(2, 0.5²): its denoiser is the posterior-weighted
/// sum of the components' Gaussian denoisers, so trajectories bend near the basin boundary.
fn mixture(x: &Array2<f64>, sigma: f64) -> Array2<f64> {
    let components = [(0.5, -2.0, 0.3), (0.5, 2.0, 0.5)];
    x.mapv(|v| {
        let mut weights = [0.0; 2];
        for (k, &(w, m, s)) in components.iter().enumerate() {
            let var: f64 = s * s + sigma * sigma;
            weights[k] = w * (-(v - m).powi(2) / (2.0 * var)).exp() / var.sqrt();
        }
        let total: f64 = weights.iter().sum();
        components
            .iter()
            .zip(weights)
            .map(|(&(_, m, s), w)| w / total * (m + s * s / (s * s + sigma * sigma) * (v - m)))
            .sum()
    })
}

fn sampler(name: &str) -> Box<dyn Sampler<Array2<f64>>> {
    by_name(name, &SamplerOptions::default()).unwrap()
}

/// Two Euler steps σ₀ → σ₁ → 0 on N(μ, s²): x₁ − μ = (r + (1 − r)c)(x₀ − μ) with r = σ₁/σ₀,
/// c = s²/(s² + σ₀²), and the output D(x₁; σ₁) − μ = g(σ₁)(x₀ − μ),
/// g(σ) = s²(aσ + c)/(s² + σ²), a = (1 − c)/σ₀. The exact endpoint is (s/√(s² + σ₀²))(x₀ − μ),
/// above g everywhere, so the best σ₁ maximises g: aσ² + 2cσ − as² = 0,
/// σ* = (−c + √(c² + a²s²))/a. The calibration, started from the Karras grid [σ₀, 0.002, 0],
/// must find it.
#[test]
fn two_euler_steps_on_a_gaussian_find_the_closed_form_optimum() {
    let (mu, s, sigma_max) = (0.5, 1.0, 10.0);
    let d = gaussian(mu, s);
    let start = SigmaGrid::karras(2, 0.002, sigma_max, 7.0).unwrap();
    let pilot = [PilotSet {
        denoiser: &d as &dyn Denoiser<Array2<f64>>,
        x: noise(64, 2) * sigma_max,
    }];
    let fit = calibrate_grid(
        sampler("euler").as_ref(),
        &start,
        &pilot,
        &CalibrationOptions::default(),
    )
    .unwrap();
    let c = s * s / (s * s + sigma_max * sigma_max);
    let a = (1.0 - c) / sigma_max;
    let optimum = (-c + (c * c + a * a * s * s).sqrt()) / a;
    let found = fit.grid.as_slice()[1];
    assert_eq!(fit.parameters.len(), 1);
    assert!(
        (found - optimum).abs() < 1e-4 * optimum,
        "σ₁ = {found}, closed form {optimum}"
    );
    // And the fitted error is the closed form's: |g(σ*) − s/√(s² + σ₀²)|·RMS‖x₀ − μ‖ up to the
    // reference's own σ_min = 0.002 (a relative 2e-6).
    let g = s * s * (a * optimum + c) / (s * s + optimum * optimum);
    let exact = s / (s * s + sigma_max * sigma_max).sqrt();
    let spread = rms_endpoint_error(&pilot[0].x, &pilot[0].x.mapv(|_| mu));
    let predicted = (exact - g) * spread;
    assert!(
        (fit.errors[0] - predicted).abs() < 1e-4 * predicted,
        "{} vs {predicted}",
        fit.errors[0]
    );
}

/// On the mixture the fitted grid is never worse in-sample than its start and here clearly
/// better; the reported errors are those of the sampler re-run on the returned grid; the same
/// input gives the same grid bit for bit; the costs are counted.
#[test]
fn calibration_improves_in_sample_reports_truthfully_and_is_deterministic() {
    let sigma_max = 80.0;
    let start = SigmaGrid::karras(6, 0.002, sigma_max, 7.0).unwrap();
    let pilot = [PilotSet {
        denoiser: &mixture as &dyn Denoiser<Array2<f64>>,
        x: noise(128, 1) * sigma_max,
    }];
    let options = CalibrationOptions {
        search: NelderMead {
            max_evaluations: 120,
            ..NelderMead::default()
        },
        ..CalibrationOptions::default()
    };
    for name in ["dpmpp-2m", "ipndm", "exp-2-lambda"] {
        let s = sampler(name);
        let fit = calibrate_grid(s.as_ref(), &start, &pilot, &options).unwrap();
        assert!(fit.errors[0] <= fit.start_errors[0], "{name}");
        assert!(fit.objective <= 1.0, "{name}");
        assert!(
            fit.errors[0] < 0.9 * fit.start_errors[0],
            "{name}: {} vs start {}",
            fit.errors[0],
            fit.start_errors[0]
        );
        assert!((fit.objective - fit.errors[0] / fit.start_errors[0]).abs() < 1e-15);
        assert!(fit.evaluations <= 120);
        // Every evaluation runs the sampler once (6 calls), plus the start and the winner.
        assert_eq!(fit.search_calls, 6 * (fit.evaluations + 2), "{name}");
        assert!(fit.reference_calls > 20, "{name}");
        let g = fit.grid.as_slice();
        assert_eq!((g[0], g[6]), (sigma_max, 0.0));
        // Re-run: the same grid and numbers.
        let again = calibrate_grid(s.as_ref(), &start, &pilot, &options).unwrap();
        assert_eq!(again, fit, "{name}");
        // The reported error is the sampler's on the returned grid against an independent
        // reference (rk45 at the same tolerance, same σ_min).
        let x = s
            .sample(
                &mixture,
                pilot[0].x.clone(),
                &fit.grid,
                &mut SampleContext::default(),
            )
            .unwrap();
        let tight = scoreflow_ode_sde_solvers::samplers::Rk45 {
            rtol: 1e-10,
            atol: 1e-10,
        };
        let x_ref = tight
            .sample(
                &mixture,
                pilot[0].x.clone(),
                &SigmaGrid::new(vec![sigma_max, 0.002, 0.0]).unwrap(),
                &mut SampleContext::default(),
            )
            .unwrap();
        assert_eq!(rms_endpoint_error(&x, &x_ref), fit.errors[0], "{name}");
    }
}

/// Two pilot sets are weighted by their own starting errors: the objective is the RMS of the
/// two ratios, 1 at the start, and the first set's ratio alone decides a single-set fit.
#[test]
fn pooled_objective_normalises_each_pilot_set() {
    let start = SigmaGrid::condot_to_zero(5, 80.0).unwrap();
    let narrow = gaussian(0.0, 0.2);
    let pilots = [
        PilotSet {
            denoiser: &mixture as &dyn Denoiser<Array2<f64>>,
            x: noise(64, 1) * 80.0,
        },
        PilotSet {
            denoiser: &narrow as &dyn Denoiser<Array2<f64>>,
            x: noise(64, 3) * 80.0,
        },
    ];
    let options = CalibrationOptions {
        search: NelderMead {
            max_evaluations: 60,
            ..NelderMead::default()
        },
        ..CalibrationOptions::default()
    };
    let fit = calibrate_grid(sampler("dpmpp-2m").as_ref(), &start, &pilots, &options).unwrap();
    let ratios: Vec<f64> = fit
        .errors
        .iter()
        .zip(&fit.start_errors)
        .map(|(e, e0)| e / e0)
        .collect();
    let rms = ((ratios[0].powi(2) + ratios[1].powi(2)) / 2.0).sqrt();
    assert!((fit.objective - rms).abs() < 1e-15);
    assert!(fit.objective <= 1.0);
}

#[test]
fn bad_input_is_a_typed_error() {
    let start = SigmaGrid::condot_to_zero(4, 80.0).unwrap();
    let options = CalibrationOptions::default();
    let euler = sampler("euler");
    let pilot = |n: usize| PilotSet {
        denoiser: &mixture as &dyn Denoiser<Array2<f64>>,
        x: noise(n, 1) * 80.0,
    };
    let err =
        |pilots: &[PilotSet<'_, Array2<f64>>],
         s: &dyn Sampler<Array2<f64>>,
         o: &CalibrationOptions| calibrate_grid(s, &start, pilots, o).unwrap_err();
    assert_eq!(
        err(&[], euler.as_ref(), &options),
        CalibrationError::NoPilots
    );
    assert_eq!(
        err(&[pilot(4), pilot(0)], euler.as_ref(), &options),
        CalibrationError::EmptyPilot { index: 1 }
    );
    assert_eq!(
        err(&[pilot(4)], sampler("euler-ancestral").as_ref(), &options),
        CalibrationError::Stochastic("euler-ancestral")
    );
    for bad in [
        CalibrationOptions {
            reference_sigma_min: 0.0,
            ..options
        },
        CalibrationOptions {
            reference_tolerance: f64::NAN,
            ..options
        },
        CalibrationOptions {
            search: NelderMead {
                initial_step: -1.0,
                ..NelderMead::default()
            },
            ..options
        },
    ] {
        assert!(matches!(
            err(&[pilot(4)], euler.as_ref(), &bad),
            CalibrationError::InvalidOption { .. }
        ));
    }
    let low = CalibrationOptions {
        reference_sigma_min: 100.0,
        ..options
    };
    assert!(matches!(
        err(&[pilot(4)], euler.as_ref(), &low),
        CalibrationError::StartGrid(_)
    ));
    // The model's failure ends the calibration with the model's error.
    let failing = scoreflow_ode_sde_solvers::FallibleFn(|x: &Array2<f64>, sigma: f64| {
        if sigma < 1.0 {
            Err(std::fmt::Error)
        } else {
            Ok(x.clone())
        }
    });
    let pilots = [PilotSet {
        denoiser: &failing as &dyn Denoiser<Array2<f64>>,
        x: noise(4, 1) * 80.0,
    }];
    assert!(matches!(
        calibrate_grid(euler.as_ref(), &start, &pilots, &options),
        Err(CalibrationError::Solve(SolveError::Model(_)))
    ));
}

/// Rosenbrock's valley (minimum f(1, 1) = 0) and a budget that is respected exactly.
#[test]
fn nelder_mead_finds_the_rosenbrock_minimum_within_its_budget() {
    let rosenbrock = |x: &[f64]| -> Result<f64, ()> {
        Ok(100.0 * (x[1] - x[0] * x[0]).powi(2) + (1.0 - x[0]).powi(2))
    };
    let search = NelderMead {
        max_evaluations: 2000,
        f_tolerance: 1e-14,
        x_tolerance: 1e-10,
        ..NelderMead::default()
    };
    let m = search.minimize(rosenbrock, &[-1.2, 1.0]).unwrap();
    assert!(
        (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
        "{:?}",
        m.x
    );
    assert!(m.evaluations <= 2000);
    let small = NelderMead {
        max_evaluations: 17,
        ..search
    };
    let mut calls = 0;
    let m = small
        .minimize(
            |x: &[f64]| -> Result<f64, ()> {
                calls += 1;
                rosenbrock(x)
            },
            &[-1.2, 1.0],
        )
        .unwrap();
    assert_eq!((m.evaluations, calls), (17, 17));
    assert!(m.f <= rosenbrock(&[-1.2, 1.0]).unwrap());
    // NaN counts as +∞: a search from a NaN region still returns its best finite point.
    let m = NelderMead::default()
        .minimize(
            |x: &[f64]| -> Result<f64, ()> {
                Ok(if x[0] < 0.2 {
                    f64::NAN
                } else {
                    (x[0] - 1.0).powi(2)
                })
            },
            &[0.0],
        )
        .unwrap();
    assert!((m.x[0] - 1.0).abs() < 1e-4, "{:?}", m.x);
}
