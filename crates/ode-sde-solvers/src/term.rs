//! Vector fields, kept apart from the solvers that integrate them (as in diffrax).

/// The right-hand side of an ODE `dy/dt = f(t, y)`.
///
/// Any closure `Fn(f64, &S) -> S` is an `OdeTerm`.
pub trait OdeTerm<S> {
    /// The vector field `f(t, y)`.
    fn vf(&self, t: f64, y: &S) -> S;
}

impl<S, F: Fn(f64, &S) -> S> OdeTerm<S> for F {
    fn vf(&self, t: f64, y: &S) -> S {
        self(t, y)
    }
}

/// How the diffusion of an SDE depends on the state; solvers of higher strong order need to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoiseKind {
    /// `g(t, y) ⊙ dW` with `g` depending on `y` element by element (diagonal noise).
    Diagonal,
    /// `g(t) ⊙ dW`: the diffusion does not depend on `y` (additive noise, Rößler's SRA class).
    Additive,
}

/// The terms of an SDE `dy = f(t, y) dt + g(t, y) ⊙ dW` with diagonal noise.
///
/// The diffusion is given as a product with an increment so that a scalar `g(t)` (the usual
/// case in diffusion models) never has to be materialised as a full state.
pub trait SdeTerm<S> {
    /// The drift `f(t, y)`.
    fn drift(&self, t: f64, y: &S) -> S;

    /// The diffusion applied to an increment: `g(t, y) ⊙ dw`.
    fn diffusion_times(&self, t: f64, y: &S, dw: S) -> S;

    /// Whether `g` depends on `y`; [`NoiseKind::Diagonal`] is always a safe answer.
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Diagonal
    }
}

/// An [`SdeTerm`] built from two closures: `drift(t, y)` and `diffusion(t, y, dw) = g ⊙ dw`.
#[derive(Clone, Debug)]
pub struct FnSde<F, G> {
    drift: F,
    diffusion: G,
    kind: NoiseKind,
}

impl<F, G> FnSde<F, G> {
    /// An SDE with diagonal, state-dependent noise.
    pub fn diagonal(drift: F, diffusion: G) -> Self {
        Self {
            drift,
            diffusion,
            kind: NoiseKind::Diagonal,
        }
    }

    /// An SDE whose diffusion ignores the state (additive noise); `diffusion` is still called
    /// with `y`, which it must not use.
    pub fn additive(drift: F, diffusion: G) -> Self {
        Self {
            drift,
            diffusion,
            kind: NoiseKind::Additive,
        }
    }
}

impl<S, F, G> SdeTerm<S> for FnSde<F, G>
where
    F: Fn(f64, &S) -> S,
    G: Fn(f64, &S, S) -> S,
{
    fn drift(&self, t: f64, y: &S) -> S {
        (self.drift)(t, y)
    }
    fn diffusion_times(&self, t: f64, y: &S, dw: S) -> S {
        (self.diffusion)(t, y, dw)
    }
    fn noise_kind(&self) -> NoiseKind {
        self.kind
    }
}
