//! Parameterisation adapters against exact posteriors of a Gaussian.

use std::cell::Cell;
use std::sync::Arc;

use ndarray::{Array1, Array2, array};
use scoreflow_noise_schedules::{
    Coefficients, CondOt, CosinePath, NoiseSchedule, PolynomialPath, SigmaGrid, Ve, VpCosine,
    VpLinear,
};
use scoreflow_ode_sde_solvers::brownian::{SequentialBrownian, sample_seeds};
use scoreflow_ode_sde_solvers::likelihood::{
    DivergenceDenoiser, LikelihoodOptions, gaussian_prior_log_prob, negative_log_likelihood,
};
use scoreflow_ode_sde_solvers::ode::{SolveOptions, Tsit5, integrate};
use scoreflow_ode_sde_solvers::samplers::{DpmPP2M, SampleContext, Sampler};
use scoreflow_ode_sde_solvers::sde::{EulerMaruyama, integrate_sde};
use scoreflow_ode_sde_solvers::{Denoiser, FallibleFn, SolveError};
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};
use scoreflow_score_matching::parameterization::{
    EdmPreconditioned, OutsideSchedule, Parameterization, ScheduleDenoiser, TimeInput,
};
use scoreflow_score_matching::sde::Sde;

const ALL: [Parameterization; 5] = [
    Parameterization::Epsilon,
    Parameterization::Sample,
    Parameterization::Velocity,
    Parameterization::Score,
    Parameterization::FlowVelocity,
];

fn max_rel(a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// Every pair of parameterisations converts both ways back to the original to 1e-12.
#[test]
fn conversions_round_trip() {
    let x_t = array![0.3, -1.7, 2.5, 0.01];
    let pred = array![-0.8, 0.4, 1.1, -2.0];
    // (α, σ, α', σ'): VP-like, flow-path-like (σ' < 0 < α') and VE-like coefficients.
    for (alpha, sigma, d_alpha, d_sigma) in [
        (0.99, 0.14, -0.2, 1.4),
        (0.6, 0.8, -1.1, 0.8),
        (0.05, 0.998, -0.1, 0.005),
        (1.0, 3.0, 0.0, 2.0),
        (0.7, 0.2, 1.0, -1.0),
        (0.3, 0.95, 1.5, -0.4),
    ] {
        let c = Coefficients {
            alpha,
            sigma,
            d_alpha,
            d_sigma,
        };
        for from in ALL {
            for to in ALL {
                let there = from.convert(pred.clone(), to, &x_t, &c);
                let back = to.convert(there, from, &x_t, &c);
                assert!(
                    max_rel(&back, &pred) < 1e-12,
                    "{from:?} → {to:?} at α={alpha}, σ={sigma}"
                );
            }
        }
    }
}

/// Data N(m, s²): the exact posterior mean of x₀ given x_t = αx₀ + σε is
/// m + αs²(x_t − αm)/(α²s² + σ²); every exact prediction follows from it.
const M: f64 = 0.7;
const S2: f64 = 0.36;

fn posterior_x0(x_t: &Array1<f64>, alpha: f64, sigma: f64) -> Array1<f64> {
    x_t.mapv(|x| M + alpha * S2 * (x - alpha * M) / (alpha * alpha * S2 + sigma * sigma))
}

/// The EDM denoiser of N(m, s²): (s²x + σ̃²m)/(s² + σ̃²).
fn exact_denoiser(x: &Array1<f64>, sigma: f64) -> Array1<f64> {
    x.mapv(|v| (S2 * v + sigma * sigma * M) / (S2 + sigma * sigma))
}

/// An ideal network of each kind on `schedule`, then the adapter: it must give the exact D.
fn check_schedule(schedule: &dyn NoiseSchedule, time_input: TimeInput, sigmas: &[f64]) {
    let x = array![-2.0, -0.3, 0.0, 0.9, 4.0];
    for kind in ALL {
        let network = |x_t: &Array1<f64>, c: f64| {
            // Invert the time input to find t, as an ideal network conditioned on c would.
            let t = match time_input {
                TimeInput::Continuous => c,
                TimeInput::Scaled(k) => c / k,
                TimeInput::DiscreteIndex {
                    num_train_timesteps,
                } => (c + 1.0) / num_train_timesteps as f64,
            };
            let c = schedule.coefficients(t);
            kind.from_x0(posterior_x0(x_t, c.alpha, c.sigma), x_t, &c)
        };
        let d = ScheduleDenoiser {
            network,
            schedule,
            parameterization: kind,
            time_input,
        };
        for &sigma in sigmas {
            let got = d.denoise(&x, sigma).unwrap();
            assert!(
                max_rel(&got, &exact_denoiser(&x, sigma)) < 1e-10,
                "{kind:?} on {schedule:?} at σ̃ = {sigma}"
            );
        }
    }
}

#[test]
fn adapters_give_the_exact_denoiser_on_every_schedule() {
    let sigmas = [0.01, 0.3, 1.0, 5.0, 40.0];
    check_schedule(&VpLinear::default(), TimeInput::Scaled(999.0), &sigmas);
    check_schedule(&VpCosine::default(), TimeInput::Continuous, &sigmas);
    check_schedule(
        &Ve::new(0.005, 50.0).unwrap(),
        TimeInput::Continuous,
        &sigmas,
    );
    // Flow paths (data at t = 1): a velocity network is a denoiser like any other.
    check_schedule(&CondOt, TimeInput::Continuous, &sigmas);
    check_schedule(&CosinePath, TimeInput::Continuous, &sigmas);
    check_schedule(
        &PolynomialPath::new(2.0).unwrap(),
        TimeInput::Continuous,
        &sigmas,
    );
}

/// An ideal raw network F = (D − c_skip x)/c_out under EDM preconditioning reproduces D.
#[test]
fn edm_preconditioning_is_exact() {
    let x = array![-2.0, 0.1, 3.0];
    let pre = EdmPreconditioned {
        network: (),
        sigma_data: 0.5,
    };
    for sigma in [0.002, 0.5, 80.0] {
        let (c_skip, c_out, c_in, c_noise) = pre.coefficients(sigma);
        assert!((c_noise - sigma.ln() / 4.0).abs() < 1e-15);
        // Karras et al. 2022 eq. (8): c_skip and c_out give the effective training target unit variance.
        assert!((c_skip - 0.25 / (sigma * sigma + 0.25)).abs() < 1e-15);
        let network = move |x_in: &Array1<f64>, _: f64| {
            let x = x_in / c_in;
            (exact_denoiser(&x, sigma) - &x * c_skip) / c_out
        };
        let d = EdmPreconditioned {
            network,
            sigma_data: 0.5,
        };
        assert!(max_rel(&d.denoise(&x, sigma).unwrap(), &exact_denoiser(&x, sigma)) < 1e-12);
    }
}

/// A network's typed error, to check that it reaches the caller whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the network rejects inputs of length {len}")]
struct InputRejected {
    len: usize,
}

/// A network that rejects inputs of length 2.
fn reject_length_2(x_t: &Array1<f64>, _: f64) -> Result<Array1<f64>, InputRejected> {
    if x_t.len() == 2 {
        Err(InputRejected { len: 2 })
    } else {
        Ok(x_t.clone())
    }
}

/// A σ̃ beyond the schedule's range is the adapter's error, not a panic; a failing network's
/// error passes through both adapters unchanged.
#[test]
fn adapters_return_errors() {
    let schedule = VpLinear::default();
    let network = |x_t: &Array1<f64>, _: f64| x_t.clone();
    let d = ScheduleDenoiser {
        network,
        schedule: &schedule,
        parameterization: Parameterization::Sample,
        time_input: TimeInput::Continuous,
    };
    let x = array![0.5, -1.0];
    // VP-linear reaches σ̃ = σ/α ≈ 150 at t = 1; 1e4 maps to no t.
    let beyond = schedule.edm_sigma(1.0) * 100.0;
    for sigma in [beyond, -1.0, f64::NAN] {
        let err = d.denoise(&x, sigma).unwrap_err();
        let outside = err
            .downcast_ref::<OutsideSchedule>()
            .unwrap_or_else(|| panic!("σ̃ = {sigma}: {err}"));
        assert!(outside.sigma.is_nan() || outside.sigma == sigma);
        assert!(err.to_string().contains("outside the schedule"), "{err}");
    }
    assert!(d.denoise(&x, schedule.edm_sigma(0.5)).is_ok());

    let d = ScheduleDenoiser {
        network: FallibleFn(reject_length_2),
        schedule: &schedule,
        parameterization: Parameterization::Epsilon,
        time_input: TimeInput::Scaled(999.0),
    };
    let err = d.denoise(&x, 1.0).unwrap_err();
    assert_eq!(
        err.downcast_ref::<InputRejected>(),
        Some(&InputRejected { len: 2 })
    );
    assert!(d.denoise(&array![1.0, 2.0, 3.0], 1.0).is_ok());
    let edm = EdmPreconditioned {
        network: FallibleFn(reject_length_2),
        sigma_data: 0.5,
    };
    let err = edm.denoise(&x, 1.0).unwrap_err();
    assert_eq!(err.to_string(), "the network rejects inputs of length 2");
    // Through a sampler, the error is the sampler's `SolveError::Model`.
    let grid = SigmaGrid::karras(4, 0.01, 20.0, 7.0).unwrap();
    let batch = Array2::from_shape_fn((3, 2), |(i, j)| (i + j) as f64);
    let network2 = FallibleFn(|x_t: &Array2<f64>, _: f64| {
        if x_t.ncols() == 2 {
            Err(InputRejected { len: 2 })
        } else {
            Ok(x_t.clone())
        }
    });
    let d = EdmPreconditioned {
        network: network2,
        sigma_data: 0.5,
    };
    let err = DpmPP2M::default()
        .sample(&d, batch, &grid, &mut SampleContext::default())
        .unwrap_err();
    assert!(
        matches!(&err, SolveError::Model(e) if e.downcast_ref::<InputRejected>().is_some()),
        "{err:?}"
    );
}

/// `MixtureDenoiser` rejects a batch with the wrong number of columns in every method.
#[test]
fn mixture_denoiser_rejects_the_wrong_column_count() {
    let mixture = GaussianMixture::builtin("ring8").unwrap();
    let model = MixtureDenoiser::new(&mixture);
    let (good, bad) = (Array2::<f64>::zeros((4, 2)), Array2::<f64>::zeros((4, 3)));
    assert!(model.denoise(&good, 0.5).is_ok());
    let err = model.denoise(&bad, 0.5).unwrap_err();
    assert!(
        err.to_string()
            .contains("x has 3 columns but the mixture has dimension 2"),
        "{err}"
    );
    assert!(model.jvp(&bad, 0.5, &bad).is_err());
    assert!(model.jvp(&good, 0.5, &bad).is_err());
    assert!(model.trace_jacobian(&bad, 0.5).is_err());
    assert!(model.trace_jacobian(&good, 0.5).unwrap().is_some());
    // A sampler and the likelihood return it.
    let grid = SigmaGrid::karras(4, 0.01, 20.0, 7.0).unwrap();
    let err = DpmPP2M::default()
        .sample(&model, bad.clone(), &grid, &mut SampleContext::default())
        .unwrap_err();
    assert!(matches!(err, SolveError::Model(_)), "{err:?}");
    let prior = gaussian_prior_log_prob::<Array2<f64>>(80.0);
    let err =
        negative_log_likelihood(&model, &bad, &prior, &LikelihoodOptions::default()).unwrap_err();
    assert!(matches!(err, SolveError::Model(_)), "{err:?}");
}

/// A denoiser that fails inside the reverse SDE and the probability-flow ODE: the score records
/// the error, the integration stops, and `finish` returns the denoiser's error, not NonFinite.
#[test]
fn denoiser_score_reports_the_denoisers_error_after_integration() {
    let schedule: Arc<dyn NoiseSchedule> = Arc::new(VpLinear::default());
    let sde = Sde::new(schedule.clone()).unwrap();
    let calls = Cell::new(0);
    let denoiser = FallibleFn(|x: &Array2<f64>, _sigma: f64| {
        calls.set(calls.get() + 1);
        if calls.get() == 5 {
            Err(InputRejected { len: x.ncols() })
        } else {
            Ok(x * 0.5)
        }
    });
    let x = Array2::from_shape_fn((3, 2), |(i, j)| 0.3 * (i as f64) - 0.2 * (j as f64));
    let score = sde.denoiser_score(&denoiser);
    assert!(score.try_score(&x, 0.5).is_ok());

    let flow = sde.probability_flow(score.clone(), 1.0, 1e-3).unwrap();
    let result = integrate(
        &flow,
        &Tsit5,
        1.0,
        1e-3,
        x.clone(),
        &SolveOptions::adaptive(1e-6, 1e-6),
    );
    assert!(result.is_err(), "the NaN score stops the integration");
    let calls_at_failure = calls.get();
    let err = flow.score().finish(result).unwrap_err();
    assert_eq!(calls_at_failure, 5, "no call after the failure");
    assert!(
        matches!(&err, SolveError::Model(e) if e.downcast_ref::<InputRejected>().is_some()),
        "{err:?}"
    );
    assert!(
        flow.score().take_error().is_none(),
        "finish empties the record"
    );

    calls.set(0);
    let reverse = sde.reverse(score, 1.0, 1e-3).unwrap();
    let mut bm = SequentialBrownian::new(&x, &sample_seeds(1, 3)).unwrap();
    let result = integrate_sde(
        &reverse,
        &EulerMaruyama,
        1.0,
        1e-3,
        x.clone(),
        &mut bm,
        &SolveOptions::steps(50),
    );
    let err = reverse.score().finish(result).unwrap_err();
    assert_eq!(calls.get(), 5);
    assert!(matches!(err, SolveError::Model(_)), "{err:?}");
}
