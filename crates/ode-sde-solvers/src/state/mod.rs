//! The state a solver advances: anything that forms a real vector space with a batch layout.
//!
//! Solvers only ever need linear combinations `a·y + Σ cᵢ xᵢ`, element-wise products (for
//! diagonal noise), an error norm for step-size control and a way to build noise of the same
//! shape. Coefficients are always `f64`, computed on the host before they reach the state, so a
//! `State` on a GPU tensor never forces a device→host synchronisation except in
//! [`State::error_norm`] and [`State::to_f64_vec`], which adaptive stepping and diagnostics use.
//!
//! **Batch layout.** The leading axis is the sample axis: a state of shape `[n, d₁, …]` holds `n`
//! samples of `d₁·…` elements each (a 1-D array is `n` scalar samples; an `f64` is one sample).
//! Brownian sources draw each sample's noise from that sample's own seed, so a sample's path never
//! depends on the batch it is in.

mod scalar;

#[cfg(feature = "ndarray")]
mod ndarray_impl;
#[cfg(feature = "ndarray")]
pub use ndarray_impl::NdReal;

#[cfg(feature = "burn")]
mod burn_impl;

/// A point in the state space of an ODE or SDE.
pub trait State: Clone {
    /// `a·self + Σᵢ cᵢ·xᵢ`, consuming `self` so that implementations can work in place.
    fn lincomb(self, a: f64, terms: &[(f64, &Self)]) -> Self;

    /// The element-wise product `self ⊙ other` (diagonal noise g(t, y) ⊙ dW).
    fn mul_elementwise(self, other: &Self) -> Self;

    /// A state of zeros with the shape (and device) of `self`.
    fn zeros_like(&self) -> Self;

    /// Hairer's scaled RMS norm of an error estimate (Hairer, Nørsett & Wanner, *Solving ODEs I*,
    /// §II.4, eq. (4.11)): `sqrt(mean((errᵢ / (atol + rtol·max(|y0ᵢ|, |y1ᵢ|)))²))`.
    ///
    /// Returns NaN when any input is not finite, so a controller can reject the step.
    fn error_norm(err: &Self, y0: &Self, y1: &Self, rtol: f64, atol: f64) -> f64;

    /// The root-mean-square of the elements (used to choose a first step size).
    fn rms(&self) -> f64;

    /// The mean over samples of each sample's Euclidean norm, (1/n) Σᵢ ‖yᵢ‖₂ (score_sde's
    /// Langevin step size uses it; reads a device state back).
    fn mean_sample_norm(&self) -> f64;

    /// `(number of samples, elements per sample)`; see the module docs for the layout.
    fn batch_layout(&self) -> (usize, usize);

    /// A state of the same shape and device as `self` holding `data` (row-major, samples first).
    ///
    /// `data.len()` must equal `n·d` from [`State::batch_layout`]; Brownian sources guarantee it.
    fn with_host_data(&self, data: &[f64]) -> Self;

    /// The elements as `f64`, row-major (synchronises a device state with the host).
    fn to_f64_vec(&self) -> Vec<f64>;

    /// `self + c·x`, the most common combination.
    fn add_scaled(self, c: f64, x: &Self) -> Self {
        self.lincomb(1.0, &[(c, x)])
    }

    /// `a·self`.
    fn scale(self, a: f64) -> Self {
        self.lincomb(a, &[])
    }
}
