//! The mixture's exact denoiser as a sampler- and likelihood-ready model on ndarray batches.

use std::borrow::Cow;

use ndarray::Array2;
use scoreflow_ode_sde_solvers::dmcmc::NoisedLogDensity;
use scoreflow_ode_sde_solvers::likelihood::DivergenceDenoiser;
use scoreflow_ode_sde_solvers::{DenoiseError, Denoiser};

use super::mixture::GaussianMixture;

/// The exact denoiser D(x; σ) = E[x₀ | x₀ + σε = x] of a [`GaussianMixture`] (Karras et al.
/// 2022, eq. (3); [`GaussianMixture::denoise`]) for batches `Array2<f64>` of shape n × d
/// (one sample per row), with its exact Jacobian for likelihoods:
///
/// - [`Denoiser::denoise`] is [`GaussianMixture::denoise_batch`];
/// - [`DivergenceDenoiser::jvp`] is J_D v = v + σ² H v, from Tweedie's formula
///   D = x + σ²∇ ln p_σ (Efron 2011) and the Hessian–vector product
///   [`GaussianMixture::log_prob_hvp_batch`];
/// - [`DivergenceDenoiser::jvps`] and [`DivergenceDenoiser::denoise_and_jvps`] give K such
///   products, and D, from one pass over the components
///   ([`GaussianMixture::denoise_and_hvp_batch`]);
/// - [`DivergenceDenoiser::trace_jacobian`] is tr J_D = d + σ²·∇·∇ ln p_σ
///   ([`GaussianMixture::score_divergence_batch`]), so the exact divergence costs no JVPs.
///
/// # Errors
/// Every method returns a [`DenoiseError`] if a batch does not have d columns, or if `x` and
/// `v` differ in shape (samplers and likelihoods report it as `SolveError::Model`).
#[derive(Clone, Copy, Debug)]
pub struct MixtureDenoiser<'a> {
    mixture: &'a GaussianMixture,
}

impl<'a> MixtureDenoiser<'a> {
    /// Wraps `mixture`.
    pub fn new(mixture: &'a GaussianMixture) -> Self {
        Self { mixture }
    }

    /// The wrapped mixture.
    pub fn mixture(&self) -> &'a GaussianMixture {
        self.mixture
    }

    /// The rows of `x` as one row-major slice, after checking the column count: borrowed when
    /// `x` is in standard layout (what the samplers and likelihoods hand over), copied
    /// otherwise.
    fn flat<'x>(&self, x: &'x Array2<f64>, what: &str) -> Result<Cow<'x, [f64]>, DenoiseError> {
        if x.ncols() != self.mixture.dim() {
            return Err(DenoiseError::msg(format!(
                "{what} has {} columns but the mixture has dimension {}",
                x.ncols(),
                self.mixture.dim()
            )));
        }
        Ok(match x.as_slice() {
            Some(rows) => Cow::Borrowed(rows),
            None => Cow::Owned(x.iter().copied().collect()),
        })
    }

    /// Checks that every direction batch has the shape of `x`.
    fn check_directions(x: &Array2<f64>, vs: &[Array2<f64>]) -> Result<(), DenoiseError> {
        match vs.iter().find(|v| v.dim() != x.dim()) {
            Some(v) => Err(DenoiseError::msg(format!(
                "x and v differ in shape: {:?} vs {:?}",
                x.dim(),
                v.dim()
            ))),
            None => Ok(()),
        }
    }

    /// D(x; σ) and J vₚ = vₚ + σ² H vₚ for every direction batch, from one
    /// [`GaussianMixture::denoise_and_hvp_batch`] call.
    fn fused(
        &self,
        x: &Array2<f64>,
        sigma: f64,
        vs: &[Array2<f64>],
    ) -> Result<(Array2<f64>, Vec<Array2<f64>>), DenoiseError> {
        Self::check_directions(x, vs)?;
        let xs = self.flat(x, "x")?;
        let flats = vs
            .iter()
            .map(|v| self.flat(v, "v"))
            .collect::<Result<Vec<_>, _>>()?;
        let views: Vec<&[f64]> = flats.iter().map(|v| &v[..]).collect();
        let mut den = vec![0.0; xs.len()];
        let mut hv = vec![vec![0.0; xs.len()]; vs.len()];
        let mut outs: Vec<&mut [f64]> = hv.iter_mut().map(Vec::as_mut_slice).collect();
        self.mixture
            .denoise_and_hvp_batch(&xs, sigma, &views, &mut den, &mut outs);
        let s2 = sigma * sigma;
        let jvs = hv
            .into_iter()
            .zip(&views)
            .map(|(mut h, v)| {
                h.iter_mut().zip(*v).for_each(|(h, v)| *h = v + s2 * *h);
                Array2::from_shape_vec(x.raw_dim(), h).expect("same shape as x")
            })
            .collect();
        let den = Array2::from_shape_vec(x.raw_dim(), den).expect("same shape as x");
        Ok((den, jvs))
    }
}

impl Denoiser<Array2<f64>> for MixtureDenoiser<'_> {
    fn denoise(&self, x: &Array2<f64>, sigma: f64) -> Result<Array2<f64>, DenoiseError> {
        let xs = self.flat(x, "x")?;
        let mut out = vec![0.0; xs.len()];
        self.mixture.denoise_batch(&xs, sigma, &mut out);
        Ok(Array2::from_shape_vec(x.raw_dim(), out).expect("same shape as x"))
    }
}

impl DivergenceDenoiser<Array2<f64>> for MixtureDenoiser<'_> {
    fn jvp(
        &self,
        x: &Array2<f64>,
        sigma: f64,
        v: &Array2<f64>,
    ) -> Result<Array2<f64>, DenoiseError> {
        Self::check_directions(x, std::slice::from_ref(v))?;
        let xs = self.flat(x, "x")?;
        let vs = self.flat(v, "v")?;
        let mut hv = vec![0.0; xs.len()];
        self.mixture.log_prob_hvp_batch(&xs, sigma, &vs, &mut hv);
        let s2 = sigma * sigma;
        hv.iter_mut()
            .zip(vs.iter())
            .for_each(|(h, v)| *h = v + s2 * *h);
        Ok(Array2::from_shape_vec(x.raw_dim(), hv).expect("same shape as x"))
    }

    /// All K products from one pass over the components
    /// ([`GaussianMixture::denoise_and_hvp_batch`]); the denoiser it also gives is dropped.
    fn jvps(
        &self,
        x: &Array2<f64>,
        sigma: f64,
        vs: &[Array2<f64>],
    ) -> Result<Vec<Array2<f64>>, DenoiseError> {
        Ok(self.fused(x, sigma, vs)?.1)
    }

    /// D(x; σ) and the K products from one pass over the components
    /// ([`GaussianMixture::denoise_and_hvp_batch`]).
    fn denoise_and_jvps(
        &self,
        x: &Array2<f64>,
        sigma: f64,
        vs: &[Array2<f64>],
    ) -> Result<(Array2<f64>, Vec<Array2<f64>>), DenoiseError> {
        self.fused(x, sigma, vs)
    }

    fn trace_jacobian(
        &self,
        x: &Array2<f64>,
        sigma: f64,
    ) -> Result<Option<Vec<f64>>, DenoiseError> {
        let xs = self.flat(x, "x")?;
        let d = self.mixture.dim() as f64;
        let s2 = sigma * sigma;
        let mut div = vec![0.0; x.nrows()];
        self.mixture.score_divergence_batch(&xs, sigma, &mut div);
        Ok(Some(div.into_iter().map(|v| d + s2 * v).collect()))
    }
}

impl NoisedLogDensity for MixtureDenoiser<'_> {
    /// ln p_σ(xᵢ) per row ([`GaussianMixture::log_prob`]), the exact noise-level posterior
    /// Denoising MCMC's Gibbs move needs.
    fn log_density(&self, x: &Array2<f64>, sigma: f64) -> Result<Vec<f64>, DenoiseError> {
        let xs = self.flat(x, "x")?;
        Ok(xs
            .chunks_exact(self.mixture.dim())
            .map(|row| self.mixture.log_prob(row, sigma))
            .collect())
    }
}
