//! `fm-gauss` (Adams–Bashforth on the flow's residual against the moment-matched Gaussian):
//! exact for Gaussian data on the CondOT and the cosine path, from noise or from a state at
//! t₀ > 0, convergence orders measured by log-log slope on a mixture, moments from a
//! covariance, and bad input as errors.

use std::sync::Arc;

use ndarray::{Array1, Array2, array};
use scoreflow_flow_matching::gauss_preconditioned::{
    FlowSampleError, GaussianMoments, sample_flow_gauss,
};
use scoreflow_flow_matching::path::AffinePath;
use scoreflow_noise_schedules::{CondOt, CosinePath, VpPath};

/// An orthonormal 3 × 3 matrix: Gram–Schmidt on fixed columns.
fn rotation() -> Array2<f64> {
    let a = array![[1.0, 0.3, -0.2], [0.4, 1.0, 0.5], [-0.3, 0.2, 1.0]];
    let mut q = Array2::<f64>::zeros((3, 3));
    for j in 0..3 {
        let mut v = a.column(j).to_owned();
        for k in 0..j {
            let qk = q.column(k).to_owned();
            v = &v - &(&qk * qk.dot(&v));
        }
        let n = v.dot(&v).sqrt();
        q.column_mut(j).assign(&(v / n));
    }
    q
}

fn condot() -> AffinePath {
    AffinePath::new(Arc::new(CondOt)).unwrap()
}

fn noise(n: usize, d: usize) -> Array2<f64> {
    // A deterministic spread of values in (−2.5, 2.5).
    Array2::from_shape_fn((n, d), |(i, j)| {
        (((i * 7 + j * 13) % 23) as f64 / 22.0 - 0.5) * 5.0
    })
}

/// The CondOT velocity of Gaussian data N(μ, Q diag(λ) Qᵀ): μ + Q diag(s′/s) Qᵀ(x − tμ).
#[test]
fn gaussian_data_are_transported_exactly_with_any_number_of_calls() {
    let q = rotation();
    let mean = array![0.5, -1.0, 2.0];
    let lambda = array![0.2, 1.5, 4.0];
    let moments = GaussianMoments::new(mean.clone(), lambda.clone(), q.clone()).unwrap();
    let velocity = |x: &Array2<f64>, t: f64| -> Array2<f64> {
        let s = lambda.mapv(|l| (t * t * l + (1.0 - t) * (1.0 - t)).sqrt());
        let ds = Array1::from_iter(
            lambda
                .iter()
                .zip(&s)
                .map(|(&l, &si)| (t * l - (1.0 - t)) / (si * si)),
        );
        let centred = x - &(&mean * t);
        (centred.dot(&q) * &ds).dot(&q.t()) + &mean
    };
    let z = noise(40, 3);
    // x(1) = μ + Q diag(√λ) Qᵀ z.
    let expected = (z.dot(&q) * &lambda.mapv(f64::sqrt)).dot(&q.t()) + &mean;
    for order in 1..=3 {
        for calls in [1, 2, 5] {
            let (x, nfe) =
                sample_flow_gauss(&velocity, &z, 0.0, &moments, &condot(), order, calls).unwrap();
            assert_eq!(nfe, calls);
            let err = (&x - &expected).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-12, "order {order}, {calls} calls: error {err:e}");
        }
    }
}

/// A 1-D two-component mixture: weights w, means m, standard deviations sd.
struct Mixture {
    w: [f64; 2],
    m: [f64; 2],
    sd: [f64; 2],
}

impl Mixture {
    /// u_t(x) = (E[x₁ | x_t = x] − x)/(1 − t), E[x₁ | x_t] in closed form per component.
    fn velocity(&self, x: &Array2<f64>, t: f64) -> Array2<f64> {
        x.mapv(|xv| {
            let mut num = 0.0;
            let mut den = 0.0;
            for k in 0..2 {
                let var = t * t * self.sd[k].powi(2) + (1.0 - t) * (1.0 - t);
                let e = xv - t * self.m[k];
                let r = self.w[k] * (-0.5 * e * e / var).exp() / var.sqrt();
                num += r * (self.m[k] + t * self.sd[k].powi(2) * e / var);
                den += r;
            }
            (num / den - xv) / (1.0 - t)
        })
    }

    fn moments(&self) -> GaussianMoments {
        let mean: f64 = (0..2).map(|k| self.w[k] * self.m[k]).sum();
        let second: f64 = (0..2)
            .map(|k| self.w[k] * (self.sd[k].powi(2) + self.m[k].powi(2)))
            .sum();
        GaussianMoments::new(array![mean], array![second - mean * mean], array![[1.0]]).unwrap()
    }
}

/// Orders by log-log slope against a 4,096-call solve: k = 1, 2, 3 converge at order k. The
/// warm-up does not cost order 3: the Gaussian matches the data's first two moments, so the
/// residual f is O(t²) near t = 0 and the first step's zero increment errs by O(h³) only.
#[test]
fn convergence_orders_on_a_mixture() {
    let mix = Mixture {
        w: [0.3, 0.7],
        m: [-1.5, 1.0],
        sd: [0.6, 0.4],
    };
    let moments = mix.moments();
    let v = |x: &Array2<f64>, t: f64| mix.velocity(x, t);
    let z = noise(64, 1) * 0.8;
    let (reference, _) = sample_flow_gauss(&v, &z, 0.0, &moments, &condot(), 3, 4096).unwrap();
    for (order, expected) in [(1, 1.0), (2, 2.0), (3, 3.0)] {
        let errs: Vec<f64> = [32, 64, 128]
            .iter()
            .map(|&calls| {
                let (x, _) =
                    sample_flow_gauss(&v, &z, 0.0, &moments, &condot(), order, calls).unwrap();
                (&x - &reference).mapv(|e| e * e).mean().unwrap().sqrt()
            })
            .collect();
        let slope = (errs[0] / errs[2]).log2() / 2.0;
        assert!(
            (slope - expected).abs() <= 0.15,
            "order {order}: slope {slope} (errors {errs:?})"
        );
    }
}

#[test]
fn bad_moments_and_arguments_are_errors() {
    let bad_q = GaussianMoments::new(
        array![0.0, 0.0],
        array![1.0, 1.0],
        array![[1.0, 0.5], [0.0, 1.0]],
    );
    assert!(matches!(bad_q, Err(FlowSampleError::Moments(_))));
    let negative = GaussianMoments::new(array![0.0], array![-1.0], array![[1.0]]);
    assert!(matches!(negative, Err(FlowSampleError::Moments(_))));
    let shape = GaussianMoments::new(array![0.0, 1.0], array![1.0], array![[1.0]]);
    assert!(matches!(shape, Err(FlowSampleError::Moments(_))));
    let nan = GaussianMoments::new(array![f64::NAN], array![1.0], array![[1.0]]);
    assert!(matches!(nan, Err(FlowSampleError::Moments(_))));

    let moments = GaussianMoments::new(array![0.0], array![1.0], array![[1.0]]).unwrap();
    let v = |x: &Array2<f64>, _t: f64| -x.clone();
    let z = noise(4, 1);
    for (order, calls) in [(2, 0), (0, 3), (4, 3)] {
        assert!(matches!(
            sample_flow_gauss(&v, &z, 0.0, &moments, &condot(), order, calls),
            Err(FlowSampleError::Argument(_))
        ));
    }
    assert!(matches!(
        sample_flow_gauss(&v, &noise(4, 2), 0.0, &moments, &condot(), 2, 3),
        Err(FlowSampleError::Argument(_))
    ));
    // The VP path starts at α(0) = e^(−T(1)/2) > 0: its residual at t = 0 is not zero.
    let vp = AffinePath::new(Arc::new(VpPath::new(0.1, 20.0).unwrap())).unwrap();
    assert!(matches!(
        sample_flow_gauss(&v, &z, 0.0, &moments, &vp, 2, 3),
        Err(FlowSampleError::Argument(_))
    ));
    let nan = |x: &Array2<f64>, _t: f64| x.mapv(|_| f64::NAN);
    assert!(matches!(
        sample_flow_gauss(&nan, &z, 0.0, &moments, &condot(), 2, 3),
        Err(FlowSampleError::NonFinite { .. })
    ));
}

/// The velocity of Gaussian data N(μ, Q diag(λ) Qᵀ) on `path`: α′μ + Q diag(s′/s) Qᵀ(x − αμ),
/// sᵢ = √(α²λᵢ + σ²), s′ᵢ = (αα′λᵢ + σσ′)/sᵢ.
fn gaussian_velocity(
    path: &AffinePath,
    mean: &Array1<f64>,
    lambda: &Array1<f64>,
    q: &Array2<f64>,
    x: &Array2<f64>,
    t: f64,
) -> Array2<f64> {
    let c = path.coefficients(t).unwrap();
    let rate = lambda.mapv(|l| {
        let s2 = c.alpha * c.alpha * l + c.sigma * c.sigma;
        (c.alpha * c.d_alpha * l + c.sigma * c.d_sigma) / s2
    });
    let centred = x - &(mean * c.alpha);
    (centred.dot(q) * &rate).dot(&q.t()) + &(mean * c.d_alpha)
}

/// On the cosine path (α = sin(πt/2), σ = cos(πt/2)) the Gaussian's flow is still closed-form,
/// so the method is exact there too: x(1) = α(1)μ + Q diag(s(1)/σ(0)) Qᵀz = μ + Q diag(√λ) Qᵀz.
#[test]
fn gaussian_data_are_transported_exactly_on_the_cosine_path() {
    let path = AffinePath::new(Arc::new(CosinePath::new())).unwrap();
    let q = rotation();
    let (mean, lambda) = (array![-0.5, 1.0, 0.25], array![0.05, 0.8, 3.0]);
    let moments = GaussianMoments::new(mean.clone(), lambda.clone(), q.clone()).unwrap();
    let velocity = |x: &Array2<f64>, t: f64| gaussian_velocity(&path, &mean, &lambda, &q, x, t);
    let z = noise(30, 3);
    let expected = (z.dot(&q) * &lambda.mapv(f64::sqrt)).dot(&q.t()) + &mean;
    for (order, calls) in [(1, 1), (2, 4), (3, 7)] {
        let (x, _) = sample_flow_gauss(&velocity, &z, 0.0, &moments, &path, order, calls).unwrap();
        let err = (&x - &expected).iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-12, "order {order}, {calls} calls: error {err:e}");
    }
}

/// From a state x at t₀ > 0 on the Gaussian's flow (the σ-space start x = σ_max·z is the CondOT
/// state t₀·σ_max·z at t₀ = 1/(1 + σ_max)), the method reaches that flow's end exactly: x(1) =
/// μ + Q diag(√λ/s(t₀)) Qᵀ(x − t₀μ); and a start outside [0, 1) is an error.
#[test]
fn gaussian_data_are_transported_exactly_from_any_start() {
    let path = condot();
    let q = rotation();
    let (mean, lambda) = (array![1.0, 0.0, -2.0], array![0.3, 2.0, 0.01]);
    let moments = GaussianMoments::new(mean.clone(), lambda.clone(), q.clone()).unwrap();
    let velocity = |x: &Array2<f64>, t: f64| gaussian_velocity(&path, &mean, &lambda, &q, x, t);
    let w = noise(25, 3);
    for t0 in [1.0 / 81.0, 0.3, 0.9] {
        let x = &w * (80.0 * t0);
        let s = lambda.mapv(|l| (t0 * t0 * l + (1.0 - t0) * (1.0 - t0)).sqrt());
        let centred = &x - &(&mean * t0);
        let expected = (centred.dot(&q) * &(lambda.mapv(f64::sqrt) / &s)).dot(&q.t()) + &mean;
        for (order, calls) in [(1, 1), (2, 5), (3, 8)] {
            let (got, nfe) =
                sample_flow_gauss(&velocity, &x, t0, &moments, &path, order, calls).unwrap();
            assert_eq!(nfe, calls);
            let err = (&got - &expected)
                .iter()
                .fold(0.0_f64, |m, v| m.max(v.abs()));
            assert!(err < 1e-11, "t0 = {t0}, order {order}: error {err:e}");
        }
    }
    for bad in [1.0, -0.1, f64::NAN] {
        assert!(matches!(
            sample_flow_gauss(&velocity, &w, bad, &moments, &path, 2, 3),
            Err(FlowSampleError::Argument(_))
        ));
    }
}

/// `from_covariance` decomposes Σ: Q diag(λ) Qᵀ gives Σ back and the eigenvalues are the
/// closed-form ones of a rotated diagonal matrix; a rank-deficient Σ keeps λ = 0, and what is
/// not a covariance is refused.
#[test]
fn moments_from_a_covariance() {
    let q = rotation();
    let lambda = array![0.0, 0.7, 2.5];
    let sigma = (&q * &lambda).dot(&q.t());
    let moments = GaussianMoments::from_covariance(array![0.1, 0.2, 0.3], &sigma).unwrap();
    let err = (&moments.covariance() - &sigma)
        .iter()
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    assert!(err < 1e-12, "reconstruction error {err:e}");
    let mut got = moments.lambda().to_vec();
    got.sort_by(f64::total_cmp);
    for (g, e) in got.iter().zip(&lambda) {
        assert!((g - e).abs() < 1e-12, "eigenvalue {g} against {e}");
    }
    assert!(got.iter().all(|&l| l >= 0.0));
    let asymmetric = array![[1.0, 0.5], [0.0, 1.0]];
    let indefinite = array![[1.0, 2.0], [2.0, 1.0]];
    for bad in [asymmetric, indefinite] {
        assert!(matches!(
            GaussianMoments::from_covariance(array![0.0, 0.0], &bad),
            Err(FlowSampleError::Moments(_))
        ));
    }
    assert!(matches!(
        GaussianMoments::from_covariance(array![0.0], &array![[1.0, 0.0], [0.0, 1.0]]),
        Err(FlowSampleError::Moments(_))
    ));
}
