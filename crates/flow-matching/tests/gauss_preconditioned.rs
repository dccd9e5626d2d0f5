//! `fm-gauss` (Adams–Bashforth on the flow's residual against the moment-matched Gaussian):
//! exact for Gaussian data, convergence orders measured by log-log slope on a mixture, and
//! bad input as errors.

use ndarray::{Array1, Array2, array};
use scoreflow_flow_matching::gauss_preconditioned::{
    FlowSampleError, GaussianMoments, sample_flow_gauss,
};

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
            let (x, nfe) = sample_flow_gauss(&velocity, &z, &moments, order, calls).unwrap();
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
    let (reference, _) = sample_flow_gauss(&v, &z, &moments, 3, 4096).unwrap();
    for (order, expected) in [(1, 1.0), (2, 2.0), (3, 3.0)] {
        let errs: Vec<f64> = [32, 64, 128]
            .iter()
            .map(|&calls| {
                let (x, _) = sample_flow_gauss(&v, &z, &moments, order, calls).unwrap();
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
            sample_flow_gauss(&v, &z, &moments, order, calls),
            Err(FlowSampleError::Argument(_))
        ));
    }
    assert!(matches!(
        sample_flow_gauss(&v, &noise(4, 2), &moments, 2, 3),
        Err(FlowSampleError::Argument(_))
    ));
    let nan = |x: &Array2<f64>, _t: f64| x.mapv(|_| f64::NAN);
    assert!(matches!(
        sample_flow_gauss(&nan, &z, &moments, 2, 3),
        Err(FlowSampleError::NonFinite { .. })
    ));
}
