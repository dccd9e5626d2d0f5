//! The reverse SDE by Euler–Maruyama (the IR-SDE baseline) and the exact PF-ODE reference.

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, StandardNormal};
use scoreflow_noise_schedules::{MeanReverting, NoiseSchedule};
use scoreflow_ode_sde_solvers::ode::{Dopri5, SolveOptions, integrate};

use super::grid::check_times;
use super::model::predict_centred;
use super::{MrError, MrModel};
use crate::analytic::GaussianMixture;
use crate::teleport::GaussianApprox;

/// The reverse-time SDE dx = [θ_t(μ − x) − g_t²∇ ln p_t(x)]dt + g_t dW̄, g_t² = 2λ²θ_t
/// (Anderson 1982; Song et al. 2021, eq. (6); IR-SDE's sampler, Luo et al. 2023, eq. (7)),
/// by Euler–Maruyama along the decreasing `times`: with Δ = t_i − t_{i+1} > 0 and y = x − μ,
///
/// y_{i+1} = y_i + (θ_{t_i} y_i + g²_{t_i} ∇ ln p)Δ + g_{t_i}√Δ z,  ∇ ln p = −ε̂/σ_{t_i},
///
/// where ε̂ is the model's prediction converted to noise ([`MrPrediction::convert`](super::MrPrediction::convert)).
/// Weak order 1 in Δ; one model call per step. Noise from a ChaCha20 stream seeded with `seed`.
///
/// # Errors
/// As [`Mrs::sample`](super::Mrs::sample).
pub fn reverse_sde_euler_maruyama(
    model: &dyn MrModel,
    schedule: &MeanReverting,
    x: Array2<f64>,
    mu: &Array2<f64>,
    times: &[f64],
    seed: u64,
) -> Result<Array2<f64>, MrError> {
    check_times(times)?;
    if x.dim() != mu.dim() {
        return Err(MrError::Shape(format!(
            "x is {:?} but mu is {:?}",
            x.dim(),
            mu.dim()
        )));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut y = x - mu;
    for w in times.windows(2) {
        let (t, dt) = (w[0], w[0] - w[1]);
        let (alpha, sigma) = (schedule.alpha(t), schedule.sigma(t));
        let (theta, g2) = (schedule.theta(t), schedule.g2(t));
        let out = predict_centred(model, &y, mu, t)?;
        let eps = model
            .prediction()
            .convert(&out, &y, mu, alpha, sigma, false);
        let c_eps = -g2 / sigma * dt;
        let c_z = (g2 * dt).sqrt();
        y = y * (1.0 + theta * dt) + eps * c_eps;
        y.mapv_inplace(|v: f64| v + c_z * Distribution::<f64>::sample(&StandardNormal, &mut rng));
    }
    Ok(y + mu)
}

/// The exact probability-flow ODE solution from `t_from` to `t_to` for Gaussian-mixture data.
///
/// The mean-reverting PF-ODE is the EDM PF-ODE in disguise: u = (x − μ)/α_t + μ obeys
/// du/dσ̃ = (u − D(u; σ̃))/σ̃ with σ̃ = σ_t/α_t (Karras et al. 2022, eq. (4) with s = α_t; the
/// same change of variables as [`MixtureMrModel`](super::MixtureMrModel)). So a
/// one-component mixture (Gaussian data) is solved in closed form by
/// [`GaussianApprox::teleport`], and any other by Dopri5 in σ̃ at rtol = atol = `tol`.
///
/// # Errors
/// [`MrError::Shape`] for mismatched shapes, [`MrError::Solve`] if Dopri5 fails.
pub fn pf_ode_solution(
    mixture: &GaussianMixture,
    schedule: &MeanReverting,
    x: &Array2<f64>,
    mu: &Array2<f64>,
    t_from: f64,
    t_to: f64,
    tol: f64,
) -> Result<Array2<f64>, MrError> {
    if x.dim() != mu.dim() || x.ncols() != mixture.dim() {
        return Err(MrError::Shape(format!(
            "x {:?} and mu {:?} must both be n × {}",
            x.dim(),
            mu.dim(),
            mixture.dim()
        )));
    }
    let (a0, a1) = (schedule.alpha(t_from), schedule.alpha(t_to));
    let (s0, s1) = (schedule.edm_sigma(t_from), schedule.edm_sigma(t_to));
    let u = (x - mu) / a0 + mu;
    let u1 = if mixture.n_components() == 1 {
        GaussianApprox::from_mixture(mixture)
            .teleport(&u, s0, s1)
            .map_err(|e| MrError::Shape(e.to_string()))?
    } else {
        let field = |sigma: f64, u: &Array2<f64>| {
            let u = u.as_standard_layout();
            let mut d = Array2::zeros(u.raw_dim());
            mixture.denoise_batch(
                u.as_slice().expect("standard layout"),
                sigma,
                d.as_slice_mut().expect("standard layout"),
            );
            (&u - &d) / sigma
        };
        let sol = integrate(
            &field,
            &Dopri5,
            s0,
            s1,
            u,
            &SolveOptions::adaptive(tol, tol),
        )?;
        sol.ys
            .last()
            .expect("a solution keeps its end point")
            .clone()
    };
    Ok((u1 - mu) * a1 + mu)
}
