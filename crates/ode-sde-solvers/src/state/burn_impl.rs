//! burn float tensors of any rank, on any device, as states.
//!
//! Every operation stays on the device and is lazy; only [`State::error_norm`], [`State::rms`]
//! and [`State::to_f64_vec`] read back to the host. Operations consume their tensors, so a
//! backend that owns the only reference to a buffer may reuse it in place.

use burn::tensor::{Tensor, TensorData};

use super::State;

impl<const D: usize> State for Tensor<D> {
    fn lincomb(self, a: f64, terms: &[(f64, &Self)]) -> Self {
        let base = if a == 1.0 { self } else { self.mul_scalar(a) };
        terms
            .iter()
            .fold(base, |acc, (c, x)| acc + (*x).clone().mul_scalar(*c))
    }

    fn mul_elementwise(self, other: &Self) -> Self {
        self * other.clone()
    }

    fn zeros_like(&self) -> Self {
        Tensor::zeros_like(self)
    }

    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64 {
        let scale = y0
            .clone()
            .abs()
            .max_pair(y1.clone().abs())
            .mul_scalar(rtol)
            .add_scalar(atol);
        let mean_sq: f64 = (err.clone() / scale).square().mean().into_scalar::<f64>();
        mean_sq.sqrt()
    }

    fn rms(&self) -> f64 {
        self.clone().square().mean().into_scalar::<f64>().sqrt()
    }

    fn mean_sample_norm(&self) -> f64 {
        let (n, m) = self.batch_layout();
        if n == 0 {
            return 0.0;
        }
        let flat: Tensor<2> = self.clone().reshape([n, m]);
        flat.square().sum_dim(1).sqrt().mean().into_scalar::<f64>()
    }

    fn batch_layout(&self) -> (usize, usize) {
        let dims = self.dims();
        match dims.first() {
            None => (1, 1),
            Some(&0) => (0, 0),
            Some(&n) => (n, dims.iter().product::<usize>() / n),
        }
    }

    fn with_host_data(&self, data: &[f64]) -> Self {
        let data = TensorData::new(data.to_vec(), self.shape());
        Tensor::from_data(data, &self.device())
    }

    fn to_f64_vec(&self) -> Vec<f64> {
        self.try_to_vec_as::<f64>()
            .expect("reading a tensor back to the host failed")
    }
}
