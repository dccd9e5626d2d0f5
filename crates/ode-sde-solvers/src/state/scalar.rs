//! `f64` and `Vec<f64>` as states: one scalar sample, or a batch of scalar samples.

use super::State;

impl State for f64 {
    fn lincomb(self, a: f64, terms: &[(f64, &Self)]) -> Self {
        terms.iter().fold(a * self, |acc, (c, x)| acc + c * **x)
    }
    fn mul_elementwise(self, other: &Self) -> Self {
        self * other
    }
    fn zeros_like(&self) -> Self {
        0.0
    }
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        (err / (atol + rtol * y0.abs().max(y1.abs()))).abs()
    }
    fn rms(&self) -> f64 {
        self.abs()
    }
    fn mean_sample_norm(&self) -> f64 {
        self.abs()
    }
    fn batch_layout(&self) -> (usize, usize) {
        (1, 1)
    }
    fn with_host_data(&self, data: &[f64]) -> Self {
        data[0]
    }
    fn to_f64_vec(&self) -> Vec<f64> {
        vec![*self]
    }
}

impl State for Vec<f64> {
    fn lincomb(mut self, a: f64, terms: &[(f64, &Self)]) -> Self {
        for (i, y) in self.iter_mut().enumerate() {
            *y = terms.iter().fold(a * *y, |acc, (c, x)| acc + c * x[i]);
        }
        self
    }
    fn mul_elementwise(mut self, other: &Self) -> Self {
        self.iter_mut().zip(other).for_each(|(y, g)| *y *= g);
        self
    }
    fn zeros_like(&self) -> Self {
        vec![0.0; self.len()]
    }
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        let sum: f64 = err
            .iter()
            .zip(y0.iter().zip(y1))
            .map(|(e, (a, b))| (e / (atol + rtol * a.abs().max(b.abs()))).powi(2))
            .sum();
        (sum / err.len().max(1) as f64).sqrt()
    }
    fn rms(&self) -> f64 {
        (self.iter().map(|v| v * v).sum::<f64>() / self.len().max(1) as f64).sqrt()
    }
    fn mean_sample_norm(&self) -> f64 {
        self.iter().map(|v| v.abs()).sum::<f64>() / self.len().max(1) as f64
    }
    fn batch_layout(&self) -> (usize, usize) {
        (self.len(), 1)
    }
    fn with_host_data(&self, data: &[f64]) -> Self {
        data.to_vec()
    }
    fn to_f64_vec(&self) -> Vec<f64> {
        self.clone()
    }
}
