//! Conditional flow-matching losses against exact answers on Gaussian-mixture data: the exact
//! marginal velocity (or data mean) is the loss's minimiser for every flow, the minimum on a
//! Gaussian is its closed form, and SB-CFM's bridge has the Gaussian Schrödinger-bridge
//! marginal.
#![cfg(feature = "burn")]

mod cfm_support;

use burn::prelude::*;
use cfm_support::{host, mean_se, normals, tensor, uniforms};
use scoreflow_flow_matching::loss::{
    ConditionalFlow, ConditionalFlowMatching, FlowLossError, FlowPrediction, Icfm, PathCfm, SbCfm,
    TargetCfm, VpCfm,
};
use scoreflow_flow_matching::path::AffinePath;
use scoreflow_noise_schedules::CosinePath;
use scoreflow_score_matching::analytic::GaussianMixture;
use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;

/// A flow written out independently of the library: x_t = a x₁ + b x₀ + c ε,
/// u = p x₁ + q x₀ + r ε, as (a, b, c, p, q, r) at t.
type Rows = fn(f64) -> [f64; 6];

const SIGMA_ICFM: f64 = 0.3;
const SIGMA_MIN: f64 = 0.05;
const SIGMA_VP: f64 = 0.2;
const SIGMA_SB: f64 = 0.5;

fn icfm0(t: f64) -> [f64; 6] {
    [t, 1.0 - t, 0.0, 1.0, -1.0, 0.0]
}
fn icfm(t: f64) -> [f64; 6] {
    [t, 1.0 - t, SIGMA_ICFM, 1.0, -1.0, 0.0]
}
fn target(t: f64) -> [f64; 6] {
    [
        t,
        1.0 - (1.0 - SIGMA_MIN) * t,
        0.0,
        1.0,
        -(1.0 - SIGMA_MIN),
        0.0,
    ]
}
fn vp(t: f64) -> [f64; 6] {
    let (s, c) = (FRAC_PI_2 * t).sin_cos();
    [s, c, SIGMA_VP, FRAC_PI_2 * c, -FRAC_PI_2 * s, 0.0]
}
fn sb(t: f64) -> [f64; 6] {
    // σ_t = σ√(t(1 − t)); u = σ_t'/σ_t (x_t − μ_t) + x₁ − x₀ = σ_t' ε + x₁ − x₀.
    let st = SIGMA_SB * (t * (1.0 - t)).sqrt();
    let dst = SIGMA_SB * (1.0 - 2.0 * t) / (2.0 * (t * (1.0 - t)).sqrt());
    [t, 1.0 - t, st, 1.0, -1.0, dst]
}
fn cosine(t: f64) -> [f64; 6] {
    // flow_matching's CosineScheduler: α = sin(πt/2), σ = cos(πt/2).
    let (s, c) = (FRAC_PI_2 * t).sin_cos();
    [s, c, 0.0, FRAC_PI_2 * c, -FRAC_PI_2 * s, 0.0]
}

/// E[u | x_t] under the independent coupling: with y = x_t − a x₁ = b x₀ + c ε,
/// E[q x₀ + r ε | y] = (qb + rc)/(b² + c²)·y, and x̂₁ = E[x₁ | x_t] = D(x_t/a; √(b² + c²)/a) by
/// the mixture's exact denoiser. For x₁-prediction the minimiser is x̂₁ itself.
fn exact_prediction(
    mixture: &GaussianMixture,
    rows: Rows,
    prediction: FlowPrediction,
    x_t: &[f64],
    t: f64,
    out: &mut [f64],
) {
    let [a, b, c, p, q, r] = rows(t);
    let v = b * b + c * c;
    let x: Vec<f64> = x_t.iter().map(|x| x / a).collect();
    let mut x1 = vec![0.0; x.len()];
    mixture.denoise(&x, v.sqrt() / a, &mut x1);
    let k = (q * b + r * c) / v;
    for ((o, x1), xt) in out.iter_mut().zip(&x1).zip(x_t) {
        *o = match prediction {
            FlowPrediction::Velocity => p * x1 + k * (xt - a * x1),
            FlowPrediction::Data => *x1,
        };
    }
}

/// A fixed perturbation direction; its amplitude makes the second-order excess at ±0.1 stand
/// out of the first-order noise (the excess is 0.01‖δ‖² ± 0.2⟨residual, δ⟩).
fn delta(x: &[f64], t: f64, out: &mut [f64]) {
    for (j, (o, x)) in out.iter_mut().zip(x).enumerate() {
        *o = 5.0 * (0.9 * x - 0.4 * j as f64 + 3.0 * t).sin();
    }
}

/// Per-sample losses of `loss` with the exact network perturbed by θ·δ.
#[allow(clippy::too_many_arguments)]
fn per_sample<F: ConditionalFlow>(
    loss: &ConditionalFlowMatching<F>,
    mixture: &GaussianMixture,
    rows: Rows,
    theta: f64,
    x0: &[f64],
    x1: &[f64],
    eps: &[f64],
    t: &[f64],
) -> Vec<f64> {
    let (n, d) = (t.len(), mixture.dim());
    let net = |x: Tensor<2>, tt: Tensor<1>, _| {
        let (xs, ts) = (host(&x), host(&tt));
        let mut out = vec![0.0; n * d];
        let mut dl = vec![0.0; d];
        for i in 0..n {
            let (row, o) = (&xs[i * d..(i + 1) * d], &mut out[i * d..(i + 1) * d]);
            exact_prediction(mixture, rows, loss.prediction(), row, ts[i], o);
            delta(row, ts[i], &mut dl);
            o.iter_mut().zip(&dl).for_each(|(o, dv)| *o += theta * dv);
        }
        tensor(&out, n, d)
    };
    let noise = loss.flow().uses_noise().then(|| tensor(eps, n, d));
    let out = loss
        .loss(&net, tensor(x0, n, d), tensor(x1, n, d), noise, t, None)
        .unwrap();
    host(&out.per_sample)
}

/// The exact marginal velocity (and, for x₁-prediction, the exact data mean) minimises each
/// flow's loss: the derivative of the expected loss along a fixed perturbation δ of the output
/// is zero within 4 standard errors, and the loss at ±0.1·δ is larger by more than 4 standard
/// errors.
#[test]
fn exact_marginal_velocity_minimises_every_flow() {
    let mixture = GaussianMixture::builtin("ring8").unwrap();
    let n = 8000;
    let x1 = mixture.sample(n, 1);
    let x0 = normals(2 * n, 2);
    let eps = normals(2 * n, 3);
    let t = uniforms(n, 0.01, 0.99, 4);
    let cosine_path = AffinePath::new(Arc::new(CosinePath)).unwrap();
    // The test's own minimiser for I-CFM at σ = 0 is the oracle's CondOT velocity.
    for (i, &ti) in t.iter().enumerate().take(50) {
        let x = [
            x1[2 * i] * ti + (1.0 - ti) * x0[2 * i],
            x1[2 * i + 1] * ti + (1.0 - ti) * x0[2 * i + 1],
        ];
        let (mut mine, mut oracle) = ([0.0; 2], [0.0; 2]);
        exact_prediction(&mixture, icfm0, FlowPrediction::Velocity, &x, ti, &mut mine);
        mixture.condot_velocity(&x, ti, &mut oracle);
        for k in 0..2 {
            assert!((mine[k] - oracle[k]).abs() < 1e-10 * oracle[k].abs().max(1.0));
        }
    }
    let cases: Vec<(&str, Rows)> = vec![
        ("I-CFM σ = 0", icfm0),
        ("I-CFM σ = 0.3", icfm),
        ("target CFM", target),
        ("VP-CFM", vp),
        ("SB-CFM", sb),
        ("cosine path", cosine),
    ];
    for (name, rows) in cases {
        for prediction in [FlowPrediction::Velocity, FlowPrediction::Data] {
            let eval = |theta: f64| -> Vec<f64> {
                match name {
                    "I-CFM σ = 0" => per_sample(
                        &ConditionalFlowMatching::new(Icfm::new(0.0).unwrap(), prediction),
                        &mixture,
                        rows,
                        theta,
                        &x0,
                        &x1,
                        &eps,
                        &t,
                    ),
                    "I-CFM σ = 0.3" => per_sample(
                        &ConditionalFlowMatching::new(Icfm::new(SIGMA_ICFM).unwrap(), prediction),
                        &mixture,
                        rows,
                        theta,
                        &x0,
                        &x1,
                        &eps,
                        &t,
                    ),
                    "target CFM" => per_sample(
                        &ConditionalFlowMatching::new(
                            TargetCfm::new(SIGMA_MIN).unwrap(),
                            prediction,
                        ),
                        &mixture,
                        rows,
                        theta,
                        &x0,
                        &x1,
                        &eps,
                        &t,
                    ),
                    "VP-CFM" => per_sample(
                        &ConditionalFlowMatching::new(VpCfm::new(SIGMA_VP).unwrap(), prediction),
                        &mixture,
                        rows,
                        theta,
                        &x0,
                        &x1,
                        &eps,
                        &t,
                    ),
                    "SB-CFM" => per_sample(
                        &ConditionalFlowMatching::new(SbCfm::new(SIGMA_SB).unwrap(), prediction),
                        &mixture,
                        rows,
                        theta,
                        &x0,
                        &x1,
                        &eps,
                        &t,
                    ),
                    _ => per_sample(
                        &ConditionalFlowMatching::new(
                            PathCfm::new(cosine_path.clone()),
                            prediction,
                        ),
                        &mixture,
                        rows,
                        theta,
                        &x0,
                        &x1,
                        &eps,
                        &t,
                    ),
                }
            };
            let h = 0.1;
            let (lo, mid, hi) = (eval(-h), eval(0.0), eval(h));
            let slope: Vec<f64> = hi
                .iter()
                .zip(&lo)
                .map(|(p, m)| (p - m) / (2.0 * h))
                .collect();
            let (m, se) = mean_se(&slope);
            assert!(
                m.abs() < 4.0 * se,
                "{name}, {prediction:?}: derivative {m} ± {se}"
            );
            for side in [&lo, &hi] {
                let excess: Vec<f64> = side.iter().zip(&mid).map(|(a, b)| a - b).collect();
                let (m, se) = mean_se(&excess);
                assert!(
                    m > 4.0 * se,
                    "{name}, {prediction:?}: excess {m} ± {se} at ±0.1"
                );
            }
        }
    }
}

/// On data N(μ, s²I) the minimum of the velocity loss at t is Var(u | x_t) per coordinate,
/// p²s² + q² + r² − (pas² + qb + rc)²/(a²s² + b² + c²) for the flow's (a, b, c, p, q, r).
#[test]
fn minimum_on_a_gaussian_is_the_conditional_variance() {
    let s2 = 0.64;
    let mixture = GaussianMixture::new(
        vec![1.0],
        vec![vec![1.0, -2.0]],
        vec![vec![vec![s2, 0.0], vec![0.0, s2]]],
    )
    .unwrap();
    let n = 4000;
    let x1 = mixture.sample(n, 5);
    let x0 = normals(2 * n, 6);
    let eps = normals(2 * n, 7);
    let t = uniforms(n, 0.01, 0.99, 8);
    for (name, rows) in [("I-CFM", icfm as Rows), ("SB-CFM", sb as Rows)] {
        let per = if name == "I-CFM" {
            per_sample(
                &ConditionalFlowMatching::new(
                    Icfm::new(SIGMA_ICFM).unwrap(),
                    FlowPrediction::Velocity,
                ),
                &mixture,
                rows,
                0.0,
                &x0,
                &x1,
                &eps,
                &t,
            )
        } else {
            per_sample(
                &ConditionalFlowMatching::new(
                    SbCfm::new(SIGMA_SB).unwrap(),
                    FlowPrediction::Velocity,
                ),
                &mixture,
                rows,
                0.0,
                &x0,
                &x1,
                &eps,
                &t,
            )
        };
        let rel: Vec<f64> = per
            .iter()
            .zip(&t)
            .map(|(l, &ti)| {
                let [a, b, c, p, q, r] = rows(ti);
                let cov = p * a * s2 + q * b + r * c;
                let exact = p * p * s2 + q * q + r * r - cov * cov / (a * a * s2 + b * b + c * c);
                l / exact - 1.0
            })
            .collect();
        let (m, se) = mean_se(&rel);
        assert!(m.abs() < 4.0 * se, "{name}: relative excess {m} ± {se}");
        assert!(se < 0.05);
    }
}

/// Bunne et al. 2023 ("The Schrödinger Bridge between Gaussian Measures has a Closed Form"):
/// between N(μ₀, Σ₀) and N(μ₁, Σ₁), the entropic OT plan with ε = 2σ² is Gaussian with
/// cross-covariance C = ½(Σ₀^{1/2} D Σ₀^{−1/2} − σ²I), D = (4Σ₀^{1/2}Σ₁Σ₀^{1/2} + σ⁴I)^{1/2},
/// and the bridge's marginal at t is N((1 − t)μ₀ + tμ₁,
/// (1 − t)²Σ₀ + t²Σ₁ + t(1 − t)(C + Cᵀ + σ²I)). SB-CFM's x_t, built from pairs of that plan,
/// has this mean and covariance (4 standard errors).
#[test]
fn sb_cfm_bridge_has_the_gaussian_schrodinger_bridge_marginal() {
    let sigma = SIGMA_SB;
    let (mu0, mu1) = ([0.0, 0.0], [2.0, -1.0]);
    let s0 = [[1.0, 0.3], [0.3, 0.5]];
    let s1 = [[0.4, -0.1], [-0.1, 0.9]];
    let s0h = sqrtm(s0);
    let s0hi = inv(s0h);
    let inner = add_diag(scale(mul(mul(s0h, s1), s0h), 4.0), sigma.powi(4));
    let dm = sqrtm(inner);
    let c = add_diag(scale(mul(mul(s0h, dm), s0hi), 0.5), -0.5 * sigma * sigma);
    // Draw (x₀, x₁) from the joint Gaussian [[Σ₀, C], [Cᵀ, Σ₁]] by a 4×4 Cholesky factor.
    let joint = [
        [s0[0][0], s0[0][1], c[0][0], c[0][1]],
        [s0[1][0], s0[1][1], c[1][0], c[1][1]],
        [c[0][0], c[1][0], s1[0][0], s1[0][1]],
        [c[0][1], c[1][1], s1[1][0], s1[1][1]],
    ];
    let l = cholesky4(joint);
    let n = 20000;
    let z = normals(4 * n, 11);
    let (mut x0, mut x1) = (vec![0.0; 2 * n], vec![0.0; 2 * n]);
    for i in 0..n {
        let zi = &z[4 * i..4 * i + 4];
        let y: Vec<f64> = (0..4)
            .map(|r| (0..=r).map(|k| l[r][k] * zi[k]).sum())
            .collect();
        x0[2 * i..2 * i + 2].copy_from_slice(&[mu0[0] + y[0], mu0[1] + y[1]]);
        x1[2 * i..2 * i + 2].copy_from_slice(&[mu1[0] + y[2], mu1[1] + y[3]]);
    }
    let loss = ConditionalFlowMatching::new(SbCfm::new(sigma).unwrap(), FlowPrediction::Velocity);
    let eps = normals(2 * n, 12);
    for tt in [0.25, 0.5, 0.8] {
        let (x_t, _) = loss
            .conditional_sample(
                tensor(&x0, n, 2),
                tensor(&x1, n, 2),
                Some(tensor(&eps, n, 2)),
                &vec![tt; n],
            )
            .unwrap();
        let xs = host(&x_t);
        let mean_t = [
            (1.0 - tt) * mu0[0] + tt * mu1[0],
            (1.0 - tt) * mu0[1] + tt * mu1[1],
        ];
        let mut cov_t = [[0.0; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                cov_t[i][j] = (1.0 - tt).powi(2) * s0[i][j]
                    + tt * tt * s1[i][j]
                    + tt * (1.0 - tt)
                        * (c[i][j] + c[j][i] + if i == j { sigma * sigma } else { 0.0 });
            }
        }
        for i in 0..2 {
            let col: Vec<f64> = (0..n).map(|k| xs[2 * k + i]).collect();
            let (m, se) = mean_se(&col);
            assert!(
                (m - mean_t[i]).abs() < 4.0 * se,
                "t = {tt}: mean {m} vs {}",
                mean_t[i]
            );
            for j in 0..2 {
                let prod: Vec<f64> = (0..n)
                    .map(|k| (xs[2 * k + i] - mean_t[i]) * (xs[2 * k + j] - mean_t[j]))
                    .collect();
                let (m, se) = mean_se(&prod);
                assert!(
                    (m - cov_t[i][j]).abs() < 4.0 * se,
                    "t = {tt}: cov[{i}][{j}] {m} ± {se} vs {}",
                    cov_t[i][j]
                );
            }
        }
    }
}

type M2 = [[f64; 2]; 2];

fn mul(a: M2, b: M2) -> M2 {
    let mut c = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
        }
    }
    c
}

fn scale(a: M2, s: f64) -> M2 {
    a.map(|r| r.map(|v| v * s))
}

fn add_diag(mut a: M2, s: f64) -> M2 {
    a[0][0] += s;
    a[1][1] += s;
    a
}

fn inv(a: M2) -> M2 {
    let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
    [
        [a[1][1] / det, -a[0][1] / det],
        [-a[1][0] / det, a[0][0] / det],
    ]
}

/// The symmetric square root of a 2×2 SPD matrix: √A = (A + √det·I)/√(tr A + 2√det).
fn sqrtm(a: M2) -> M2 {
    let s = (a[0][0] * a[1][1] - a[0][1] * a[1][0]).sqrt();
    let t = (a[0][0] + a[1][1] + 2.0 * s).sqrt();
    scale(add_diag(a, s), 1.0 / t)
}

fn cholesky4(a: [[f64; 4]; 4]) -> [[f64; 4]; 4] {
    let mut l = [[0.0; 4]; 4];
    for i in 0..4 {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            l[i][j] = if i == j {
                (a[i][i] - s).sqrt()
            } else {
                (a[i][j] - s) / l[j][j]
            };
        }
    }
    l
}

#[test]
fn bad_input_is_a_typed_error() {
    let n = 3;
    let x = tensor(&[0.0; 6], n, 2);
    let net = |x: Tensor<2>, _t, _| x;
    let icfm = ConditionalFlowMatching::new(Icfm::new(0.1).unwrap(), FlowPrediction::Velocity);
    assert!(matches!(
        icfm.loss(&net, x.clone(), x.clone(), None, &[0.5; 3], None),
        Err(FlowLossError::MissingNoise { .. })
    ));
    assert!(matches!(
        icfm.loss(
            &net,
            x.clone(),
            tensor(&[0.0; 4], 2, 2),
            Some(x.clone()),
            &[0.5; 3],
            None
        ),
        Err(FlowLossError::Shape { .. })
    ));
    assert!(matches!(
        icfm.loss(&net, x.clone(), x.clone(), Some(x.clone()), &[0.5; 2], None),
        Err(FlowLossError::Shape { .. })
    ));
    assert!(matches!(
        icfm.loss(
            &net,
            x.clone(),
            x.clone(),
            Some(x.clone()),
            &[0.5, 1.2, 0.5],
            None
        ),
        Err(FlowLossError::Time { index: 1, .. })
    ));
    let sb = ConditionalFlowMatching::new(SbCfm::new(0.5).unwrap(), FlowPrediction::Velocity);
    assert!(matches!(
        sb.loss(
            &net,
            x.clone(),
            x.clone(),
            Some(x.clone()),
            &[0.5, 0.0, 0.5],
            None
        ),
        Err(FlowLossError::Time { index: 1, .. })
    ));
    assert!(matches!(
        icfm.score_loss(&net, x.clone(), x.clone(), x.clone(), &[0.5; 3], None),
        Err(FlowLossError::NoScoreTerm { .. })
    ));
    for bad in [-0.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Icfm::new(bad),
            Err(FlowLossError::InvalidParameter { .. })
        ));
        assert!(matches!(
            VpCfm::new(bad),
            Err(FlowLossError::InvalidParameter { .. })
        ));
        assert!(matches!(
            SbCfm::new(bad),
            Err(FlowLossError::InvalidParameter { .. })
        ));
    }
    assert!(matches!(
        SbCfm::new(0.0),
        Err(FlowLossError::InvalidParameter { .. })
    ));
    assert!(matches!(
        TargetCfm::new(1.0),
        Err(FlowLossError::InvalidParameter { .. })
    ));
    let wrong = |x: Tensor<2>, _t, _| x.narrow(1, 0, 1);
    assert!(matches!(
        icfm.loss(&wrong, x.clone(), x.clone(), Some(x), &[0.5; 3], None),
        Err(FlowLossError::Shape { .. })
    ));
}
