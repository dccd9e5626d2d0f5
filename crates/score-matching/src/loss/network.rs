//! The network as the losses see it.

use burn::prelude::*;

use super::LossError;

/// A network F(x, c, y) on a batch: input `x` of shape `[B, …]`, one conditioning value per
/// sample `c` (`[B]`: a time, a scaled time or EDM's c_noise, as the
/// [`Prediction`](super::Prediction) decides) and optional class labels `y` (`[B]`).
///
/// Any closure `Fn(Tensor<D>, Tensor<1>, Option<Tensor<1, Int>>) -> Tensor<D>` is one; a
/// network whose forward pass can fail (shape checks) implements the trait directly or is
/// wrapped in [`Fallible`].
pub trait NoiseConditionalNetwork<const D: usize> {
    /// F(x, c, y).
    ///
    /// # Errors
    /// [`LossError::Network`] with the network's own error.
    fn forward(
        &self,
        x: Tensor<D>,
        conditioning: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, LossError>;
}

impl<const D: usize, F> NoiseConditionalNetwork<D> for F
where
    F: Fn(Tensor<D>, Tensor<1>, Option<Tensor<1, Int>>) -> Tensor<D>,
{
    fn forward(
        &self,
        x: Tensor<D>,
        conditioning: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, LossError> {
        Ok(self(x, conditioning, labels))
    }
}

/// A closure returning `Result<Tensor<D>, E>` as a [`NoiseConditionalNetwork`], its error
/// boxed into [`LossError::Network`].
pub struct Fallible<F>(pub F);

impl<const D: usize, F, E> NoiseConditionalNetwork<D> for Fallible<F>
where
    F: Fn(Tensor<D>, Tensor<1>, Option<Tensor<1, Int>>) -> Result<Tensor<D>, E>,
    E: std::error::Error + Send + Sync + 'static,
{
    fn forward(
        &self,
        x: Tensor<D>,
        conditioning: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, LossError> {
        (self.0)(x, conditioning, labels).map_err(|e| LossError::Network(Box::new(e)))
    }
}
