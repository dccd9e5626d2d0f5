//! Numerically stable scalar helpers. Each exists because the naive formula loses all
//! precision or overflows somewhere inside the λ ranges the schedules reach.

/// softplus(x) = ln(1 + eˣ), without overflow for large x and without losing the tiny
/// result for very negative x.
pub(crate) fn softplus(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Logistic sigmoid 1/(1 + e^{−x}), evaluated on the side that cannot overflow.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// ln σ(x) = −softplus(−x), accurate where σ(x) is tiny.
pub(crate) fn log_sigmoid(x: f64) -> f64 {
    -softplus(-x)
}

/// `n` points from `start` to `stop` with exact endpoints, as numpy's `linspace`
/// (`start + i·step`, last point overwritten by `stop`). For `n == 1` returns `[start]`.
pub(crate) fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => {
            let step = (stop - start) / (n - 1) as f64;
            let mut v: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
            v[n - 1] = stop;
            v
        }
    }
}

/// Positive root of ½·Δ·t² + β₀·t = b, in the cancellation-free form
/// t = 2b / (β₀ + √(β₀² + 2Δb)). This inverts B(t) = ∫₀ᵗ β for a linear β(t) = β₀ + Δt.
pub(crate) fn solve_linear_beta_integral(beta_0: f64, delta: f64, b: f64) -> f64 {
    if b == 0.0 {
        // Avoids 0/0 when β₀ = 0.
        return 0.0;
    }
    2.0 * b / (beta_0 + (beta_0 * beta_0 + 2.0 * delta * b).sqrt())
}

/// VP-family noise coefficient: σ = √(1 − e^{−B}) via expm1, exact for small B.
pub(crate) fn vp_sigma_from_integral(b: f64) -> f64 {
    (-(-b).exp_m1()).sqrt()
}

/// λ = ln α − ln σ for α = e^{−B/2}, σ = √(1 − e^{−B}): λ = −½(B + ln(1 − e^{−B})),
/// which stays finite and accurate for both small and large B.
pub(crate) fn vp_lambda_from_integral(b: f64) -> f64 {
    -0.5 * (b + (-(-b).exp_m1()).ln())
}

/// Inverse of [`vp_lambda_from_integral`]: B = ln(1 + e^{−2λ}) = softplus(−2λ).
pub(crate) fn vp_integral_from_lambda(lambda: f64) -> f64 {
    softplus(-2.0 * lambda)
}
