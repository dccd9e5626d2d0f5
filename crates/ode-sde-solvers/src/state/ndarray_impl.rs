//! `ndarray` arrays of `f32` or `f64`, any dimensionality, as states.
//!
//! Linear combinations run in place in one pass over memory for up to three terms, which covers
//! every explicit step used by the samplers; longer combinations fall back to one pass per term.

use ndarray::{Array, Dimension, Zip};

use super::State;

/// The float element types an `ndarray` state may hold.
pub trait NdReal: ndarray::NdFloat + Send + Sync {
    /// Rounds an `f64` coefficient to the element type.
    fn from_coefficient(v: f64) -> Self;
    /// Widens an element to `f64`.
    fn widen(self) -> f64;
}

impl NdReal for f32 {
    fn from_coefficient(v: f64) -> Self {
        v as f32
    }
    fn widen(self) -> f64 {
        self as f64
    }
}

impl NdReal for f64 {
    fn from_coefficient(v: f64) -> Self {
        v
    }
    fn widen(self) -> f64 {
        self
    }
}

impl<A: NdReal, D: Dimension> State for Array<A, D> {
    fn lincomb(mut self, a: f64, terms: &[(f64, &Self)]) -> Self {
        let a = A::from_coefficient(a);
        let c = |i: usize| A::from_coefficient(terms[i].0);
        match terms.len() {
            0 => self.mapv_inplace(|y| a * y),
            1 => {
                let c0 = c(0);
                Zip::from(&mut self)
                    .and(terms[0].1)
                    .for_each(|y, &x0| *y = a * *y + c0 * x0)
            }
            2 => {
                let (c0, c1) = (c(0), c(1));
                Zip::from(&mut self)
                    .and(terms[0].1)
                    .and(terms[1].1)
                    .for_each(|y, &x0, &x1| *y = a * *y + c0 * x0 + c1 * x1)
            }
            3 => {
                let (c0, c1, c2) = (c(0), c(1), c(2));
                Zip::from(&mut self)
                    .and(terms[0].1)
                    .and(terms[1].1)
                    .and(terms[2].1)
                    .for_each(|y, &x0, &x1, &x2| *y = a * *y + c0 * x0 + c1 * x1 + c2 * x2)
            }
            _ => {
                self.mapv_inplace(|y| a * y);
                for (ci, x) in terms {
                    let ci = A::from_coefficient(*ci);
                    Zip::from(&mut self)
                        .and(*x)
                        .for_each(|y, &xi| *y += ci * xi);
                }
            }
        }
        self
    }

    fn mul_elementwise(mut self, other: &Self) -> Self {
        Zip::from(&mut self).and(other).for_each(|y, &g| *y *= g);
        self
    }

    fn zeros_like(&self) -> Self {
        Array::zeros(self.raw_dim())
    }

    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        let mut sum = 0.0f64;
        Zip::from(err).and(y0).and(y1).for_each(|&e, &a, &b| {
            let scale = atol + rtol * a.widen().abs().max(b.widen().abs());
            sum += (e.widen() / scale).powi(2);
        });
        (sum / err.len().max(1) as f64).sqrt()
    }

    fn rms(&self) -> f64 {
        let sum: f64 = self.iter().map(|v| v.widen().powi(2)).sum();
        (sum / self.len().max(1) as f64).sqrt()
    }

    fn mean_sample_norm(&self) -> f64 {
        let (n, m) = self.batch_layout();
        if n == 0 {
            return 0.0;
        }
        let flat: Vec<f64> = self.iter().map(|v| v.widen()).collect();
        flat.chunks(m.max(1))
            .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
            .sum::<f64>()
            / n as f64
    }

    fn batch_layout(&self) -> (usize, usize) {
        match self.shape().first() {
            None => (1, 1),
            Some(&0) => (0, 0),
            Some(&n) => (n, self.len() / n),
        }
    }

    fn with_host_data(&self, data: &[f64]) -> Self {
        let flat: Vec<A> = data.iter().map(|&v| A::from_coefficient(v)).collect();
        Array::from_shape_vec(self.raw_dim(), flat)
            .expect("with_host_data: data length must match the state's element count")
    }

    fn to_f64_vec(&self) -> Vec<f64> {
        self.iter().map(|v| v.widen()).collect()
    }
}
