//! The forward SDE, the reverse SDE and the probability-flow ODE as solver terms.

use scoreflow_ode_sde_solvers::{NoiseKind, OdeTerm, SdeTerm, State};

use super::{ScoreFn, Sde};

/// g(t) = √g²(t); g² is checked ≥ 0 at the interval's ends, and rounding inside cannot make a
/// square root of a negative number NaN.
fn g(sde: &Sde, t: f64) -> f64 {
    sde.schedule.g2(t).max(0.0).sqrt()
}

/// The forward SDE dx = f(t)x dt + g(t) dW (Song et al. 2021, eq. (5)), built by
/// [`Sde::forward`]. Additive noise: g does not depend on x, so SRA1 applies.
///
/// Started from x₀ at t = 0 it has the marginal N(α(t)x₀, σ(t)²I) on every schedule with
/// σ(0) = 0 (see [`Sde::transition`] for the general case).
#[derive(Clone, Debug)]
pub struct ForwardSde {
    pub(super) sde: Sde,
}

impl ForwardSde {
    /// The SDE.
    pub fn sde(&self) -> &Sde {
        &self.sde
    }
}

impl<S: State> SdeTerm<S> for ForwardSde {
    /// f(t)·x.
    fn drift(&self, t: f64, y: &S) -> S {
        y.clone().scale(self.sde.schedule.f(t))
    }

    /// g(t)·dw.
    fn diffusion_times(&self, t: f64, _y: &S, dw: S) -> S {
        dw.scale(g(&self.sde, t))
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Additive
    }
}

/// The reverse-time SDE dx = [f(t)x − g²(t)∇ln p_t(x)] dt + g(t) dW̄ (Anderson 1982; Song et
/// al. 2021, eq. (6)), built by [`Sde::reverse`]. Integrate it from t0 = T down to t1 = ε:
/// the solvers then take dt < 0 and Brownian increments of variance |dt|, which is the
/// reverse-time motion W̄. Additive noise.
#[derive(Clone, Debug)]
pub struct ReverseSde<F> {
    pub(super) sde: Sde,
    pub(super) score: F,
}

impl<F> ReverseSde<F> {
    /// The SDE.
    pub fn sde(&self) -> &Sde {
        &self.sde
    }

    /// The score.
    pub fn score(&self) -> &F {
        &self.score
    }
}

impl<S: State, F: ScoreFn<S>> SdeTerm<S> for ReverseSde<F> {
    /// f(t)·x − g²(t)·s(x, t).
    fn drift(&self, t: f64, y: &S) -> S {
        let schedule = &self.sde.schedule;
        let score = self.score.score(y, t);
        score.lincomb(-schedule.g2(t), &[(schedule.f(t), y)])
    }

    /// g(t)·dw.
    fn diffusion_times(&self, t: f64, _y: &S, dw: S) -> S {
        dw.scale(g(&self.sde, t))
    }

    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Additive
    }
}

/// The probability-flow ODE dx/dt = f(t)x − ½g²(t)∇ln p_t(x) (Song et al. 2021, eq. (13)),
/// built by [`Sde::probability_flow`]: its solutions carry p_T to p_ε deterministically
/// (integrate from T down to ε), and back for likelihoods.
#[derive(Clone, Debug)]
pub struct ProbabilityFlow<F> {
    pub(super) sde: Sde,
    pub(super) score: F,
}

impl<F> ProbabilityFlow<F> {
    /// The SDE.
    pub fn sde(&self) -> &Sde {
        &self.sde
    }

    /// The score.
    pub fn score(&self) -> &F {
        &self.score
    }
}

impl<S: State, F: ScoreFn<S>> OdeTerm<S> for ProbabilityFlow<F> {
    /// f(t)·x − ½g²(t)·s(x, t).
    fn vf(&self, t: f64, y: &S) -> S {
        let schedule = &self.sde.schedule;
        let score = self.score.score(y, t);
        score.lincomb(-0.5 * schedule.g2(t), &[(schedule.f(t), y)])
    }
}
