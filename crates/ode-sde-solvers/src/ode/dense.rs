//! Dense output between accepted steps.

use crate::state::State;

/// Cubic Hermite interpolation on a step (Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.6,
/// eq. (6.7)): with θ = (t − t₀)/h,
/// y(θ) = (1 + 2θ)(1 − θ)² y₀ + θ(1 − θ)² h f₀ + θ²(3 − 2θ) y₁ + θ²(θ − 1) h f₁,
/// which matches y and f at both ends and is accurate to O(h⁴) locally (third-order dense output)
/// for any solver of order ≥ 3.
pub fn hermite<S: State>(t0: f64, t1: f64, y0: &S, y1: &S, f0: &S, f1: &S, t: f64) -> S {
    let h = t1 - t0;
    let th = (t - t0) / h;
    let h00 = (1.0 + 2.0 * th) * (1.0 - th) * (1.0 - th);
    let h10 = th * (1.0 - th) * (1.0 - th);
    let h01 = th * th * (3.0 - 2.0 * th);
    let h11 = th * th * (th - 1.0);
    y0.clone()
        .lincomb(h00, &[(h01, y1), (h10 * h, f0), (h11 * h, f1)])
}
