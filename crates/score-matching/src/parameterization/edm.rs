//! EDM preconditioning.

use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser, State};

use super::Network;

/// Karras et al. 2022, Table 1 (EDM preconditioning): D(x; σ) = c_skip x + c_out F(c_in x, c_noise)
/// with c_skip = σ_d²/(σ² + σ_d²), c_out = σσ_d/√(σ² + σ_d²), c_in = 1/√(σ² + σ_d²),
/// c_noise = ¼ ln σ, where σ_d is the data standard deviation (0.5 for images in [−1, 1]).
///
/// The network's error is the denoiser's.
pub struct EdmPreconditioned<N> {
    /// The raw network F.
    pub network: N,
    /// σ_data.
    pub sigma_data: f64,
}

impl<N> EdmPreconditioned<N> {
    /// (c_skip, c_out, c_in, c_noise) at σ.
    pub fn coefficients(&self, sigma: f64) -> (f64, f64, f64, f64) {
        let sd2 = self.sigma_data * self.sigma_data;
        let n = (sigma * sigma + sd2).sqrt();
        (
            sd2 / (n * n),
            sigma * self.sigma_data / n,
            1.0 / n,
            0.25 * sigma.ln(),
        )
    }
}

impl<S: State, N: Network<S>> Denoiser<S> for EdmPreconditioned<N> {
    fn denoise(&self, x: &S, sigma: f64) -> Result<S, DenoiseError> {
        let (c_skip, c_out, c_in, c_noise) = self.coefficients(sigma);
        let f = self.network.forward(&x.clone().scale(c_in), c_noise)?;
        Ok(f.lincomb(c_out, &[(c_skip, x)]))
    }
}
