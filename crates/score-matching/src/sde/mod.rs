//! The SDEs of score-based diffusion on any noise schedule (Song et al. 2021, "Score-Based
//! Generative Modeling through Stochastic Differential Equations"; score_sde's `SDE` classes).
//!
//! A schedule x_t = α(t)x₀ + σ(t)ε with data at t = 0 is the marginal law of the linear SDE
//! dx = f(t)x dt + g(t) dW with f = α'/α and g² = dσ²/dt − 2fσ² = −2σ²λ' (Song et al. 2021,
//! eq. (5) and App. B; Lu et al. 2022, DPM-Solver, §2). Given the score ∇ln p_t:
//!
//! | object | equation | type | solver trait |
//! |---|---|---|---|
//! | forward SDE | dx = f x dt + g dW (eq. (5)) | [`ForwardSde`] | `SdeTerm` (additive) |
//! | reverse SDE | dx = [f x − g² ∇ln p_t(x)] dt + g dW̄ (eq. (6)) | [`ReverseSde`] | `SdeTerm` (additive) |
//! | probability-flow ODE | dx/dt = f x − ½ g² ∇ln p_t(x) (eq. (13)) | [`ProbabilityFlow`] | `OdeTerm` |
//! | perturbation kernel | p(x_t \| x₀) = N(α x₀, σ² I) (eq. (29), App. B) | [`PerturbationKernel`] | — |
//! | prior | p_T ≈ N(0, σ(T)² I) | [`Prior`] | — |
//!
//! The reverse SDE and the probability-flow ODE run backward in time, from T down to a small
//! ε > 0: pass t0 = T > t1 = ε to `integrate_sde` / `integrate` (the Brownian increment over a
//! backward step has variance |dt|, which is what the reverse-time motion W̄ needs).
//!
//! A score comes from any [`ScoreFn`] — a closure `Fn(&S, f64) -> S` — or from a σ-space
//! [`Denoiser`](scoreflow_ode_sde_solvers::Denoiser) through [`DenoiserScore`] (Tweedie's
//! formula in the schedule's variables).
//!
//! Every check happens when a term, kernel or prior is built ([`Sde::coefficients`] at the
//! ends of the interval); the terms then evaluate the schedule without checks, as the solvers
//! call them. Failures are [`SdeError`] values, never panics.

mod error;
mod kernel;
mod score;
mod terms;

use std::sync::Arc;

use scoreflow_noise_schedules::{DataEnd, NoiseSchedule};

pub use error::SdeError;
pub use kernel::{PerturbationKernel, Prior};
pub use score::{DenoiserScore, ScoreFn};
pub use terms::{ForwardSde, ProbabilityFlow, ReverseSde};

/// α, σ, f and g² of an [`Sde`] at one time, checked finite (α > 0, σ ≥ 0, g² ≥ 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SdeCoefficients {
    /// The time.
    pub t: f64,
    /// α(t).
    pub alpha: f64,
    /// σ(t).
    pub sigma: f64,
    /// Drift coefficient f(t) = α'/α (Song et al. 2021, eq. (5)).
    pub f: f64,
    /// Squared diffusion coefficient g²(t) = dσ²/dt − 2fσ².
    pub g2: f64,
}

/// The forward, reverse and probability-flow dynamics of a noise schedule with data at t = 0
/// (score_sde's `SDE`: `VPSDE` is [`VpLinear`](scoreflow_noise_schedules::VpLinear),
/// `subVPSDE` is [`SubVp`](scoreflow_noise_schedules::SubVp), `VESDE` is
/// [`Ve`](scoreflow_noise_schedules::Ve); any other schedule with data at t = 0 works the same).
///
/// Flow-matching paths (data at t = 1) are rejected: reparameterise them by s = 1 − t first.
#[derive(Clone, Debug)]
pub struct Sde {
    schedule: Arc<dyn NoiseSchedule>,
}

impl Sde {
    /// The SDE of `schedule`.
    ///
    /// # Errors
    /// [`SdeError::DataAtOne`] for a schedule whose data end is t = 1.
    pub fn new(schedule: Arc<dyn NoiseSchedule>) -> Result<Self, SdeError> {
        if schedule.data_end() == DataEnd::AtOne {
            return Err(SdeError::DataAtOne);
        }
        Ok(Self { schedule })
    }

    /// The schedule.
    pub fn schedule(&self) -> &Arc<dyn NoiseSchedule> {
        &self.schedule
    }

    /// The schedule's `t_range()`, (0, T) for the SDEs of Song et al. 2021.
    pub fn t_range(&self) -> (f64, f64) {
        self.schedule.t_range()
    }

    /// T, the end of the time range (where the prior sits).
    pub fn t_end(&self) -> f64 {
        self.schedule.t_range().1
    }

    /// α, σ, f and g² at t, checked.
    ///
    /// # Errors
    /// [`SdeError::NonFiniteTime`], [`SdeError::OutsideRange`] for t outside `t_range()`, and
    /// [`SdeError::InvalidCoefficient`] when α is not finite and > 0, σ not finite and ≥ 0, f
    /// not finite, or g² not finite and ≥ 0 (e.g. t = 1 on the cosine schedule, where α = 0).
    pub fn coefficients(&self, t: f64) -> Result<SdeCoefficients, SdeError> {
        if !t.is_finite() {
            return Err(SdeError::NonFiniteTime { t });
        }
        let (t_min, t_max) = self.schedule.t_range();
        if !(t_min..=t_max).contains(&t) {
            return Err(SdeError::OutsideRange { t, t_min, t_max });
        }
        let s = &self.schedule;
        let c = SdeCoefficients {
            t,
            alpha: s.alpha(t),
            sigma: s.sigma(t),
            f: s.f(t),
            g2: s.g2(t),
        };
        let bad = |name, value, requirement| {
            Err(SdeError::InvalidCoefficient {
                name,
                t,
                value,
                requirement,
            })
        };
        if !(c.alpha.is_finite() && c.alpha > 0.0) {
            return bad("alpha", c.alpha, "finite and > 0");
        }
        if !(c.sigma.is_finite() && c.sigma >= 0.0) {
            return bad("sigma", c.sigma, "finite and >= 0");
        }
        if !c.f.is_finite() {
            return bad("f", c.f, "finite");
        }
        if !(c.g2.is_finite() && c.g2 >= 0.0) {
            return bad("g2", c.g2, "finite and >= 0");
        }
        Ok(c)
    }

    /// Checks both ends of an interval (either order) and that it is not empty.
    fn interval(&self, t0: f64, t1: f64, need_noise: bool) -> Result<(), SdeError> {
        for t in [t0, t1] {
            let c = self.coefficients(t)?;
            if need_noise && c.sigma <= 0.0 {
                return Err(SdeError::ZeroNoise { t });
            }
        }
        if t0 == t1 {
            return Err(SdeError::InvalidInterval {
                t0,
                t1,
                reason: "the interval is empty",
            });
        }
        Ok(())
    }

    /// The forward SDE dx = f(t)x dt + g(t) dW (Song et al. 2021, eq. (5)) for integration
    /// between t0 and t1.
    ///
    /// # Errors
    /// [`Sde::coefficients`]'s errors at either end, [`SdeError::InvalidInterval`] for t0 = t1.
    pub fn forward(&self, t0: f64, t1: f64) -> Result<ForwardSde, SdeError> {
        self.interval(t0, t1, false)?;
        Ok(ForwardSde { sde: self.clone() })
    }

    /// The reverse-time SDE dx = [f(t)x − g²(t)∇ln p_t(x)] dt + g(t) dW̄ (Anderson 1982; Song et
    /// al. 2021, eq. (6)) with the score `score`, for integration from t0 = T down to t1 = ε.
    ///
    /// # Errors
    /// [`Sde::coefficients`]'s errors at either end, [`SdeError::ZeroNoise`] where σ = 0 (the
    /// score is undefined there), [`SdeError::InvalidInterval`] for t0 = t1.
    pub fn reverse<F>(&self, score: F, t0: f64, t1: f64) -> Result<ReverseSde<F>, SdeError> {
        self.interval(t0, t1, true)?;
        Ok(ReverseSde {
            sde: self.clone(),
            score,
        })
    }

    /// The probability-flow ODE dx/dt = f(t)x − ½g²(t)∇ln p_t(x) (Song et al. 2021, eq. (13)),
    /// whose solutions have the SDE's marginals p_t, for integration between t0 and t1.
    ///
    /// # Errors
    /// As [`Sde::reverse`].
    pub fn probability_flow<F>(
        &self,
        score: F,
        t0: f64,
        t1: f64,
    ) -> Result<ProbabilityFlow<F>, SdeError> {
        self.interval(t0, t1, true)?;
        Ok(ProbabilityFlow {
            sde: self.clone(),
            score,
        })
    }

    /// The perturbation kernel p(x_t | x₀) = N(α(t)x₀, σ(t)²I) (Song et al. 2021, eq. (29) and
    /// App. B; score_sde's `marginal_prob`).
    ///
    /// On the VE schedule σ(0) = σ_min > 0 and, as in score_sde, x₀ is taken to carry that
    /// noise already: the kernel is N(x₀, σ(t)²I), while the forward SDE started from x₀ at
    /// t = 0 reaches N(x₀, (σ(t)² − σ_min²)I) ([`Sde::transition`] from 0 to t).
    ///
    /// # Errors
    /// [`Sde::coefficients`]'s errors at t.
    pub fn kernel(&self, t: f64) -> Result<PerturbationKernel, SdeError> {
        let c = self.coefficients(t)?;
        Ok(PerturbationKernel {
            s: None,
            t,
            scale: c.alpha,
            std: c.sigma,
        })
    }

    /// The transition kernel of the forward SDE from time s to time t > s:
    /// p(x_t | x_s) = N((α_t/α_s)x_s, (σ_t² − (α_t/α_s)²σ_s²)I), since
    /// x_t = (α_t/α_s)x_s + √(σ_t² − (α_t/α_s)²σ_s²)·ε′ has the marginals of the schedule
    /// (Kingma et al. 2021, "Variational Diffusion Models", eq. (3)–(4)).
    ///
    /// # Errors
    /// [`Sde::coefficients`]'s errors at s or t, [`SdeError::InvalidInterval`] unless s < t.
    pub fn transition(&self, s: f64, t: f64) -> Result<PerturbationKernel, SdeError> {
        let (cs, ct) = (self.coefficients(s)?, self.coefficients(t)?);
        if s >= t {
            return Err(SdeError::InvalidInterval {
                t0: s,
                t1: t,
                reason: "a transition kernel runs forward in time, s < t",
            });
        }
        let scale = ct.alpha / cs.alpha;
        let var = ct.sigma * ct.sigma - scale * scale * cs.sigma * cs.sigma;
        Ok(PerturbationKernel {
            s: Some(s),
            t,
            scale,
            std: var.max(0.0).sqrt(),
        })
    }

    /// The prior p_T ≈ N(0, σ(T)²I) at the end T of the time range (score_sde's
    /// `prior_sampling`/`prior_logp`): N(0, I) up to σ(T) ≈ 1 for VP and sub-VP,
    /// N(0, σ_max²I) for VE, N(0, 80²I) for EDM. It neglects the data term α(T)x₀ of the
    /// marginal, which is small for VP (α(1) ≈ 0.0067 on the default linear schedule) and
    /// relative to σ_max for VE.
    ///
    /// # Errors
    /// [`Sde::coefficients`]'s errors at T (e.g. α(1) = 0 on the cosine schedule: use
    /// [`Sde::prior_at`] an earlier T) and [`SdeError::ZeroNoise`] if σ(T) = 0.
    pub fn prior(&self) -> Result<Prior, SdeError> {
        self.prior_at(self.t_end())
    }

    /// The prior N(0, σ(t)²I) at a chosen terminal time t (e.g. t = 0.9946 on the cosine
    /// schedule, as DPM-Solver does).
    ///
    /// # Errors
    /// As [`Sde::prior`].
    pub fn prior_at(&self, t: f64) -> Result<Prior, SdeError> {
        let c = self.coefficients(t)?;
        if c.sigma <= 0.0 {
            return Err(SdeError::ZeroNoise { t });
        }
        Ok(Prior { t, std: c.sigma })
    }

    /// The score of a σ-space denoiser on this SDE's schedule ([`DenoiserScore`]).
    pub fn denoiser_score<'a, S>(
        &self,
        denoiser: &'a dyn scoreflow_ode_sde_solvers::Denoiser<S>,
    ) -> DenoiserScore<'a, S> {
        DenoiserScore::new(denoiser, self.schedule.clone())
    }
}
