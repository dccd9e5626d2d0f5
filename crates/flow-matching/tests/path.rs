//! Affine paths against exact answers: conversions round-trip, the path's conditional velocity
//! is the time derivative of x_t, the velocity derived from the exact denoiser of a Gaussian
//! mixture equals the oracle's CondOT velocity, and a schedule change of a model reproduces the
//! new path's exact velocity.

use std::sync::Arc;

use ndarray::{Array1, Array2, array};
use scoreflow_flow_matching::path::{AffinePath, FlowTarget, PathError, ScheduleTransform};
use scoreflow_flow_matching::views::{DenoiserVelocity, VelocityDenoiser};
use scoreflow_noise_schedules::{
    CondOt, CosinePath, NoiseSchedule, PolynomialPath, VpLinear, VpPath,
};
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_score_matching::analytic::{GaussianMixture, MixtureDenoiser};

const TARGETS: [FlowTarget; 4] = [
    FlowTarget::Velocity,
    FlowTarget::Data,
    FlowTarget::Noise,
    FlowTarget::Score,
];

fn paths() -> Vec<AffinePath> {
    let schedules: Vec<Arc<dyn NoiseSchedule>> = vec![
        Arc::new(CondOt),
        Arc::new(PolynomialPath::new(2.0).unwrap()),
        Arc::new(CosinePath),
        Arc::new(VpPath::new(0.1, 20.0).unwrap()),
    ];
    schedules
        .into_iter()
        .map(|s| AffinePath::new(s).unwrap())
        .collect()
}

fn max_rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / y.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn points() -> Array2<f64> {
    array![[0.3, -1.7], [2.5, 0.01], [-4.0, 3.2], [0.0, 0.0]]
}

/// Every pair of flow targets converts there and back to the original to 1e-12, on every path
/// at interior times.
#[test]
fn conversions_round_trip() {
    let x_t = points();
    let pred = array![[-0.8, 0.4], [1.1, -2.0], [0.05, 7.0], [3.0, -3.0]];
    for path in paths() {
        for t in [0.05, 0.3, 0.5, 0.77, 0.95] {
            for from in TARGETS {
                for to in TARGETS {
                    let there = path.convert(pred.clone(), from, to, &x_t, t).unwrap();
                    let back = path.convert(there, to, from, &x_t, t).unwrap();
                    assert!(
                        max_rel(&back, &pred) < 1e-12,
                        "{from:?} → {to:?} → back at t = {t} on {:?}",
                        path.schedule()
                    );
                }
            }
        }
    }
}

/// dx_t/dt of [`AffinePath::sample`] is the derivative of x_t in t (central differences,
/// O(h²)), and x_t is αx₁ + σx₀.
#[test]
fn conditional_velocity_is_the_time_derivative() {
    let x0 = points();
    let x1 = array![[1.0, 2.0], [-1.0, 0.5], [0.2, -0.3], [4.0, 4.0]];
    let h = 1e-5;
    for path in paths() {
        for t in [0.1, 0.4, 0.6, 0.9] {
            let s = path.sample(&x0, &x1, t).unwrap();
            let c = path.coefficients(t).unwrap();
            assert!(max_rel(&s.x_t, &(&x1 * c.alpha + &x0 * c.sigma)) < 1e-15);
            let fd = (path.sample(&x0, &x1, t + h).unwrap().x_t
                - path.sample(&x0, &x1, t - h).unwrap().x_t)
                / (2.0 * h);
            assert!(max_rel(&s.dx_t, &fd) < 1e-8, "t = {t}");
        }
    }
}

/// The CondOT velocity derived from the mixture's exact denoiser through the path's
/// conversion equals the oracle's analytic marginal velocity (Lipman et al. 2023) to 1e-10; and
/// the oracle velocity viewed as a denoiser equals the exact denoiser.
#[test]
fn condot_velocity_from_the_exact_denoiser_is_the_oracle_velocity() {
    let path = AffinePath::cond_ot();
    for name in ["ring8", "gauss16d"] {
        let mixture = GaussianMixture::builtin(name).unwrap();
        let d = mixture.dim();
        let xs = Array2::from_shape_vec((64, d), mixture.sample(64, 3))
            .unwrap()
            .mapv(|v| 0.7 * v);
        let denoiser = MixtureDenoiser::new(&mixture);
        let view = DenoiserVelocity {
            denoiser: &denoiser,
            path: &path,
        };
        let oracle = |x: &Array2<f64>, t: f64| {
            let flat: Vec<f64> = x.iter().copied().collect();
            let mut out = vec![0.0; flat.len()];
            mixture.condot_velocity_batch(&flat, t, &mut out);
            Array2::from_shape_vec(x.raw_dim(), out).unwrap()
        };
        for t in [0.02, 0.25, 0.5, 0.8, 0.98, 1.0] {
            let got = view.velocity(&xs, t).unwrap();
            assert!(max_rel(&got, &oracle(&xs, t)) < 1e-10, "{name} at t = {t}");
        }
        let as_denoiser = VelocityDenoiser {
            velocity: &oracle,
            path: &path,
        };
        for sigma in [0.01, 0.5, 2.0, 30.0] {
            let got = as_denoiser.denoise(&xs, sigma).unwrap();
            assert!(
                max_rel(&got, &denoiser.denoise(&xs, sigma).unwrap()) < 1e-9,
                "{name} at σ̃ = {sigma}"
            );
        }
    }
}

/// A model trained on CondOT, moved to the cosine and the polynomial path by the scale–time
/// transform, is the exact velocity of those paths (derived from the exact denoiser) to 1e-10,
/// at every r including the ends.
#[test]
fn schedule_transform_gives_the_new_paths_velocity() {
    let mixture = GaussianMixture::builtin("ring8").unwrap();
    let denoiser = MixtureDenoiser::new(&mixture);
    let condot = AffinePath::cond_ot();
    let oracle = |x: &Array2<f64>, t: f64| {
        let flat: Vec<f64> = x.iter().copied().collect();
        let mut out = vec![0.0; flat.len()];
        mixture.condot_velocity_batch(&flat, t, &mut out);
        Array2::from_shape_vec(x.raw_dim(), out).unwrap()
    };
    let xs = Array2::from_shape_vec((32, 2), mixture.sample(32, 9)).unwrap();
    for new in [
        AffinePath::new(Arc::new(CosinePath)).unwrap(),
        AffinePath::new(Arc::new(PolynomialPath::new(0.5).unwrap())).unwrap(),
    ] {
        let transform = ScheduleTransform::new(condot.clone(), new.clone());
        let exact = DenoiserVelocity {
            denoiser: &denoiser,
            path: &new,
        };
        for r in [0.03, 0.2, 0.5, 0.7, 0.97, 1.0] {
            let got = transform.velocity(&oracle, &xs, r).unwrap();
            let want = exact.velocity(&xs, r).unwrap();
            assert!(
                max_rel(&got, &want) < 1e-10,
                "r = {r} on {:?}",
                new.schedule()
            );
        }
        // r = 0: the exact marginal velocity is α'(0)E[x₁] + σ'(0)x.
        let mean = Array1::from(mixture.mean());
        let c = new.coefficients(0.0).unwrap();
        let want = xs.mapv(|v| v * c.d_sigma) + &(mean * c.d_alpha);
        let got = transform.velocity(&oracle, &xs, 0.0).unwrap();
        assert!(max_rel(&got, &want) < 1e-10);
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        AffinePath::new(Arc::new(VpLinear::default())),
        Err(PathError::NotAFlowPath(_))
    ));
    let path = AffinePath::cond_ot();
    let x = points();
    for t in [-0.1, 1.5, f64::NAN] {
        assert!(matches!(
            path.sample(&x, &x, t),
            Err(PathError::TimeOutOfRange { .. })
        ));
    }
    // σ(1) = 0: the noise and the score are not determined by x_t at the data end.
    assert!(matches!(
        path.convert(x.clone(), FlowTarget::Velocity, FlowTarget::Noise, &x, 1.0),
        Err(PathError::Singular { .. })
    ));
    let transform = ScheduleTransform::new(path.clone(), path);
    assert!(matches!(
        transform.at(2.0),
        Err(PathError::TimeOutOfRange { .. })
    ));
}

/// The views pass errors on instead of panicking: a σ̃ that maps to no time of the path is the
/// denoiser's error (the path's error inside), and a failing denoiser is the velocity's
/// `PathError::Model`.
#[test]
fn views_return_errors() {
    let path = AffinePath::cond_ot();
    let x = points();
    let identity = |x: &Array2<f64>, _: f64| x.clone();
    let as_denoiser = VelocityDenoiser {
        velocity: &identity,
        path: &path,
    };
    for sigma in [-1.0, f64::NAN] {
        let err = as_denoiser.denoise(&x, sigma).unwrap_err();
        assert!(
            matches!(
                err.downcast_ref::<PathError>(),
                Some(PathError::TimeOutOfRange { .. })
            ),
            "σ̃ = {sigma}: {err}"
        );
    }
    let mixture = GaussianMixture::builtin("ring8").unwrap();
    let wrong_dim = MixtureDenoiser::new(&mixture);
    let x3 = Array2::<f64>::zeros((4, 3));
    let view = DenoiserVelocity {
        denoiser: &wrong_dim,
        path: &path,
    };
    let err = view.velocity(&x3, 0.5).unwrap_err();
    assert!(matches!(err, PathError::Model(_)), "{err}");
    assert!(err.to_string().contains("3 columns"), "{err}");
}
