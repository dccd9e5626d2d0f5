//! A model that fails is an error, never a panic: every sampler and both likelihood estimators
//! return the model's own error ([`SolveError::Model`]) and stop calling it.

mod common;

use std::cell::Cell;

use common::gaussian::{MU, S2, denoise, karras, start};
use ndarray::Array2;
use scoreflow_ode_sde_solvers::brownian::sample_seeds;
use scoreflow_ode_sde_solvers::likelihood::{
    Divergence, DivergenceDenoiser, LikelihoodOptions, ProbeKind, gaussian_prior_log_prob,
    negative_log_likelihood,
};
use scoreflow_ode_sde_solvers::ode::{Euler, SolveOptions, Tsit5, integrate};
use scoreflow_ode_sde_solvers::samplers::{
    GaussianNoise, SAMPLER_NAMES, SampleContext, SamplerOptions, by_name,
};
use scoreflow_ode_sde_solvers::{
    CountingDenoiser, DenoiseError, Denoiser, ErrorStash, FallibleFn, SolveError,
};

type A2 = Array2<f64>;

/// The model's own error type, to check that it arrives whole (message and type).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("input rejected at call {call}")]
struct Rejected {
    call: usize,
}

/// Which method of [`FailsAt`] fails.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Where {
    Denoise,
    Jvp,
    Trace,
}

/// The Gaussian target's exact denoiser (with its Jacobian), failing at the `k`-th call
/// (1-based) of the chosen method; it counts every call, so a test can see that the caller
/// stopped at the failure.
struct FailsAt {
    k: usize,
    at: Where,
    closed_form_trace: bool,
    calls: Cell<usize>,
}

impl FailsAt {
    fn new(k: usize, at: Where) -> Self {
        Self {
            k,
            at,
            closed_form_trace: false,
            calls: Cell::new(0),
        }
    }

    fn call(&self, at: Where) -> Result<(), DenoiseError> {
        if at != self.at {
            return Ok(());
        }
        let call = self.calls.get() + 1;
        self.calls.set(call);
        if call == self.k {
            Err(DenoiseError::new(Rejected { call }))
        } else {
            Ok(())
        }
    }
}

impl Denoiser<A2> for FailsAt {
    fn denoise(&self, x: &A2, sigma: f64) -> Result<A2, DenoiseError> {
        self.call(Where::Denoise)?;
        Ok(denoise(x, sigma))
    }
}

impl DivergenceDenoiser<A2> for FailsAt {
    /// J = diag(s²/(s² + σ²)).
    fn jvp(&self, x: &A2, sigma: f64, v: &A2) -> Result<A2, DenoiseError> {
        self.call(Where::Jvp)?;
        let mut out = v.clone();
        for mut row in out.rows_mut() {
            for j in 0..x.ncols() {
                row[j] *= S2[j] / (S2[j] + sigma * sigma);
            }
        }
        Ok(out)
    }

    fn trace_jacobian(&self, x: &A2, sigma: f64) -> Result<Option<Vec<f64>>, DenoiseError> {
        if !self.closed_form_trace {
            return Ok(None);
        }
        self.call(Where::Trace)?;
        let t: f64 = (0..2).map(|j| S2[j] / (S2[j] + sigma * sigma)).sum();
        Ok(Some(vec![t; x.nrows()]))
    }
}

/// `err` is the model's error of call `k`: the variant, the message and the type.
fn assert_model_error(err: &SolveError, k: usize, what: &str) {
    let SolveError::Model(e) = err else {
        panic!("{what}: expected SolveError::Model, got {err:?}");
    };
    assert_eq!(
        e.downcast_ref::<Rejected>(),
        Some(&Rejected { call: k }),
        "{what}"
    );
    assert!(
        err.to_string()
            .contains(&format!("input rejected at call {k}")),
        "{what}: {err}"
    );
}

fn run_sampler(name: &str, model: &dyn Denoiser<A2>) -> Result<A2, SolveError> {
    let grid = karras(8);
    let x0 = start(20.0);
    let sampler = by_name::<A2>(name, &SamplerOptions::default()).unwrap();
    let mut noise = GaussianNoise::new(&x0, &sample_seeds(7, x0.nrows())).unwrap();
    let mut ctx = SampleContext {
        noise: Some(&mut noise),
        callback: None,
    };
    sampler.sample(model, x0, &grid, &mut ctx)
}

/// Every registered sampler, failing at its first call, at its last and in between, returns
/// that call's error and makes no further call.
#[test]
fn every_sampler_returns_the_models_error() {
    for &name in SAMPLER_NAMES {
        let counting = CountingDenoiser::new(&denoise);
        run_sampler(name, &counting).unwrap_or_else(|e| panic!("{name}: {e}"));
        let total = counting.count();
        // One call per grid step at least, except that the analytic first step saves one.
        let least = if name.ends_with("-afs") { 7 } else { 8 };
        assert!(total >= least, "{name}: {total} calls");
        let mut ks = vec![1, 2, total / 2, total];
        ks.dedup();
        for k in ks {
            let model = FailsAt::new(k, Where::Denoise);
            let err = run_sampler(name, &model).expect_err(name);
            assert_model_error(&err, k, &format!("{name}, failing at call {k} of {total}"));
            assert_eq!(model.calls.get(), k, "{name}: called again after failing");
        }
    }
}

/// A closure returning `Result` is a denoiser through `FallibleFn`, and `CountingDenoiser`
/// counts the failed call and passes its error on.
#[test]
fn fallible_closures_and_counting_pass_errors_on() {
    let fallible = FallibleFn(|x: &A2, sigma: f64| {
        if sigma < 1.0 {
            Err(Rejected { call: 0 })
        } else {
            Ok(denoise(x, sigma))
        }
    });
    let counting = CountingDenoiser::new(&fallible);
    let err = run_sampler("dpmpp-2m", &counting).unwrap_err();
    assert_model_error(&err, 0, "FallibleFn");
    // The Karras grid σ ∈ [0.01, 20] with 8 steps has 5 values ≥ 1 before the first < 1.
    let below = karras(8).as_slice().iter().position(|&s| s < 1.0).unwrap();
    assert_eq!(counting.count(), below + 1);
}

/// Exact divergence by JVPs, with a closed-form trace, and Hutchinson's estimator: a failure
/// in `denoise`, `jvp` or `trace_jacobian` is the likelihood's error.
#[test]
fn likelihoods_return_the_models_error() {
    let x = Array2::from_shape_fn((5, 2), |(i, j)| MU[j] + 0.3 * i as f64 - 0.5);
    let prior = gaussian_prior_log_prob::<A2>(80.0);
    let options = |divergence| LikelihoodOptions {
        rtol: 1e-6,
        atol: 1e-6,
        divergence,
        ..LikelihoodOptions::default()
    };
    let hutchinson = Divergence::Hutchinson {
        probes: 2,
        kind: ProbeKind::Rademacher,
        seed: 3,
    };
    let cases = [
        ("exact by JVPs", Divergence::Exact, false, Where::Denoise),
        ("exact by JVPs", Divergence::Exact, false, Where::Jvp),
        ("closed-form trace", Divergence::Exact, true, Where::Denoise),
        ("closed-form trace", Divergence::Exact, true, Where::Trace),
        ("Hutchinson", hutchinson, false, Where::Denoise),
        ("Hutchinson", hutchinson, false, Where::Jvp),
    ];
    for (what, divergence, closed_form_trace, at) in cases {
        // The same model without a failure integrates (a failure is not the test's artefact).
        let ok = FailsAt {
            closed_form_trace,
            ..FailsAt::new(usize::MAX, at)
        };
        let result = negative_log_likelihood(&ok, &x, &prior, &options(divergence)).unwrap();
        assert!(result.nll.iter().all(|v| v.is_finite()), "{what}");
        let calls = ok.calls.get();
        for k in [1, 2, calls / 2] {
            let model = FailsAt {
                closed_form_trace,
                ..FailsAt::new(k, at)
            };
            let err =
                negative_log_likelihood(&model, &x, &prior, &options(divergence)).expect_err(what);
            assert_model_error(&err, k, &format!("{what}, {at:?} failing at call {k}"));
            assert_eq!(model.calls.get(), k, "{what}: called again after failing");
        }
    }
}

/// The stash keeps the first error, stops calling after it, returns NaN states and replaces the
/// integrator's own verdict by the recorded error.
#[test]
fn the_stash_reports_the_first_error_instead_of_the_integrators() {
    let stash = ErrorStash::<DenoiseError>::new();
    assert_eq!(stash.guard(|| Ok(1)), Some(1));
    assert!(!stash.is_set());
    assert_eq!(stash.guard::<i32>(|| Err(DenoiseError::msg("first"))), None);
    assert_eq!(
        stash.guard::<i32>(|| panic!("not called after an error")),
        None
    );
    stash.record(DenoiseError::msg("second"));
    let y: f64 = stash.state(&2.0, || Ok(3.0));
    assert!(y.is_nan());
    let r: Result<(), SolveError> = stash.finish(Ok(()));
    assert_eq!(r, Err(SolveError::Model(DenoiseError::msg("first"))));
    assert!(!stash.is_set(), "finish empties the stash");

    // Inside an adaptive integration: the model fails below σ = 0.5, the field goes NaN, and
    // the result is the model's error, not NonFinite or a step-size failure.
    let model = FallibleFn(|x: &f64, sigma: f64| {
        if sigma < 0.5 {
            Err(Rejected { call: 1 })
        } else {
            Ok(0.5 * x)
        }
    });
    for adaptive in [false, true] {
        let stash = ErrorStash::<DenoiseError>::new();
        let calls = Cell::new(0);
        let field = |sigma: f64, x: &f64| {
            stash.state(x, || {
                calls.set(calls.get() + 1);
                Ok((x - model.denoise(x, sigma)?) / sigma)
            })
        };
        let options = if adaptive {
            SolveOptions::adaptive(1e-6, 1e-6)
        } else {
            SolveOptions::steps(20)
        };
        let result = if adaptive {
            integrate(&field, &Tsit5, 2.0, 0.1, 1.0, &options)
        } else {
            integrate(&field, &Euler, 2.0, 0.1, 1.0, &options)
        };
        assert!(result.is_err(), "the NaN state stops the integrator");
        let calls_at_failure = calls.get();
        let err = stash.finish(result).unwrap_err();
        assert_model_error(&err, 1, "stash in integrate");
        assert_eq!(calls.get(), calls_at_failure);
    }
}

/// `DenoiseError` is transparent (message, source, type) and compares by message.
#[test]
fn denoise_errors_keep_the_models_error() {
    let e = DenoiseError::new(Rejected { call: 4 });
    assert_eq!(e.to_string(), "input rejected at call 4");
    assert_eq!(e.downcast_ref::<Rejected>(), Some(&Rejected { call: 4 }));
    assert!(e.downcast_ref::<std::fmt::Error>().is_none());
    assert_eq!(e, DenoiseError::msg("input rejected at call 4"));
    assert_ne!(e, DenoiseError::msg("something else"));
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Rejected { call: 5 });
    assert_eq!(
        DenoiseError::from(boxed).to_string(),
        "input rejected at call 5"
    );
    let solve = SolveError::from(e.clone());
    assert_eq!(
        solve.to_string(),
        "the model failed: input rejected at call 4"
    );
    let source = std::error::Error::source(&solve).expect("the model's error is the source");
    assert_eq!(source.to_string(), e.to_string());
    assert_eq!(solve.clone(), solve);
}
