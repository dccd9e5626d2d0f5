//! The network as the flow losses see it.

use burn::prelude::*;

use super::FlowLossError;

/// A network u_θ(x, t, y) on a batch: `x` `[B, …]`, one time per sample `t` `[B]`, optional
/// labels `[B]`. Any closure `Fn(Tensor<D>, Tensor<1>, Option<Tensor<1, Int>>) -> Tensor<D>` is
/// one; a fallible network implements it directly or is wrapped in [`FallibleFlow`].
pub trait FlowNetwork<const D: usize> {
    /// u_θ(x, t, y).
    ///
    /// # Errors
    /// [`FlowLossError::Network`] with the network's own error.
    fn forward(
        &self,
        x: Tensor<D>,
        t: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, FlowLossError>;
}

impl<const D: usize, F> FlowNetwork<D> for F
where
    F: Fn(Tensor<D>, Tensor<1>, Option<Tensor<1, Int>>) -> Tensor<D>,
{
    fn forward(
        &self,
        x: Tensor<D>,
        t: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, FlowLossError> {
        Ok(self(x, t, labels))
    }
}

/// A closure returning `Result<Tensor<D>, E>` as a [`FlowNetwork`].
pub struct FallibleFlow<F>(pub F);

impl<const D: usize, F, E> FlowNetwork<D> for FallibleFlow<F>
where
    F: Fn(Tensor<D>, Tensor<1>, Option<Tensor<1, Int>>) -> Result<Tensor<D>, E>,
    E: std::error::Error + Send + Sync + 'static,
{
    fn forward(
        &self,
        x: Tensor<D>,
        t: Tensor<1>,
        labels: Option<Tensor<1, Int>>,
    ) -> Result<Tensor<D>, FlowLossError> {
        (self.0)(x, t, labels).map_err(|e| FlowLossError::Network(Box::new(e)))
    }
}
