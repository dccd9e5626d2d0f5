//! Gaussian kernels of the forward SDE and the prior at T.

use std::f64::consts::PI;

use scoreflow_ode_sde_solvers::State;

use super::SdeError;

/// Checks that two states have the same batch layout.
fn same_layout<S: State>(a: &S, b: &S) -> Result<(usize, usize), SdeError> {
    let (left, right) = (a.batch_layout(), b.batch_layout());
    if left == right {
        Ok(left)
    } else {
        Err(SdeError::ShapeMismatch { left, right })
    }
}

/// Per-sample ln N(r; 0, std²I) = −‖r‖²/(2std²) − (d/2)·ln(2π std²) of a residual state.
fn gaussian_log_density<S: State>(r: &S, std: f64) -> Vec<f64> {
    let (n, d) = r.batch_layout();
    let var = std * std;
    let norm = 0.5 * d as f64 * (2.0 * PI * var).ln();
    let values = r.to_f64_vec();
    if n == 0 {
        return Vec::new();
    }
    values
        .chunks(d.max(1))
        .take(n)
        .map(|row| -row.iter().map(|v| v * v).sum::<f64>() / (2.0 * var) - norm)
        .collect()
}

/// A Gaussian kernel N(a·x_s, b²I) of the forward SDE (Song et al. 2021, App. B, eq. (29);
/// score_sde's `marginal_prob`): built by [`Sde::kernel`](super::Sde::kernel) (from data:
/// a = α(t), b = σ(t)) or [`Sde::transition`](super::Sde::transition) (from time s:
/// a = α_t/α_s, b² = σ_t² − a²σ_s²).
///
/// Mean, standard deviation, reparameterised sampling x_t = a·x_s + b·ε from a given ε, and the
/// per-sample log-density and score of x_t. States follow the batch layout of
/// [`State`]: densities are returned per sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerturbationKernel {
    pub(super) s: Option<f64>,
    pub(super) t: f64,
    pub(super) scale: f64,
    pub(super) std: f64,
}

impl PerturbationKernel {
    /// The start time s of a transition kernel, `None` for the kernel from data.
    pub fn from_time(&self) -> Option<f64> {
        self.s
    }

    /// The time t of x_t.
    pub fn time(&self) -> f64 {
        self.t
    }

    /// The mean coefficient a (α(t) for the kernel from data).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The standard deviation b (σ(t) for the kernel from data).
    pub fn std(&self) -> f64 {
        self.std
    }

    /// The mean a·x₀.
    pub fn mean<S: State>(&self, x0: &S) -> S {
        x0.clone().scale(self.scale)
    }

    /// x_t = a·x₀ + b·ε for standard-normal `noise` ε (the reparameterisation of DSM losses).
    ///
    /// # Errors
    /// [`SdeError::ShapeMismatch`] when `x0` and `noise` differ in layout.
    pub fn sample<S: State>(&self, x0: &S, noise: &S) -> Result<S, SdeError> {
        same_layout(x0, noise)?;
        Ok(noise.clone().lincomb(self.std, &[(self.scale, x0)]))
    }

    /// ln p(x_t | x₀) = −‖x_t − a x₀‖²/(2b²) − (d/2)·ln(2πb²), one value per sample.
    ///
    /// # Errors
    /// [`SdeError::ZeroNoise`] when b = 0 (the kernel is a point mass),
    /// [`SdeError::ShapeMismatch`] when the layouts differ.
    pub fn log_density<S: State>(&self, x_t: &S, x0: &S) -> Result<Vec<f64>, SdeError> {
        self.nonzero()?;
        same_layout(x_t, x0)?;
        let r = x_t.clone().add_scaled(-self.scale, x0);
        Ok(gaussian_log_density(&r, self.std))
    }

    /// ∇_{x_t} ln p(x_t | x₀) = −(x_t − a x₀)/b², the target of denoising score matching
    /// (Vincent 2011; Song et al. 2021, eq. (7)).
    ///
    /// # Errors
    /// As [`PerturbationKernel::log_density`].
    pub fn score<S: State>(&self, x_t: &S, x0: &S) -> Result<S, SdeError> {
        self.nonzero()?;
        same_layout(x_t, x0)?;
        let inv_var = 1.0 / (self.std * self.std);
        Ok(x_t.clone().lincomb(-inv_var, &[(self.scale * inv_var, x0)]))
    }

    fn nonzero(&self) -> Result<(), SdeError> {
        if self.std > 0.0 {
            Ok(())
        } else {
            Err(SdeError::ZeroNoise { t: self.t })
        }
    }
}

/// The prior N(0, std²I) at the terminal time, std = σ(T) (score_sde's `prior_sampling` and
/// `prior_logp`), built by [`Sde::prior`](super::Sde::prior).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prior {
    pub(super) t: f64,
    pub(super) std: f64,
}

impl Prior {
    /// The terminal time T.
    pub fn time(&self) -> f64 {
        self.t
    }

    /// σ(T).
    pub fn std(&self) -> f64 {
        self.std
    }

    /// A draw σ(T)·z from standard-normal `noise` z.
    pub fn sample<S: State>(&self, noise: S) -> S {
        noise.scale(self.std)
    }

    /// ln N(x; 0, σ(T)²I) = −‖x‖²/(2σ(T)²) − (d/2)·ln(2πσ(T)²), one value per sample.
    pub fn log_density<S: State>(&self, x: &S) -> Vec<f64> {
        gaussian_log_density(x, self.std)
    }
}
