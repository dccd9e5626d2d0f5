//! OT-CFM and SB-CFM are minimised by the exact marginal velocity of their couplings: on small
//! discrete source and target sets (the whole sets form each minibatch), the exact-OT pairing is
//! the brute-force optimal permutation and the entropic pairing is drawn from the Sinkhorn plan,
//! so the marginal at t is a Gaussian mixture over the coupled pairs and E[u | x_t] is exact.
#![cfg(feature = "burn")]

mod cfm_support;

use burn::prelude::*;
use cfm_support::{host, mean_se, normals, tensor, uniforms};
use ndarray::Array2;
use scoreflow_flow_matching::coupling::{Coupling, ExactOt, Sinkhorn, cost::squared_euclidean};
use scoreflow_flow_matching::loss::{ConditionalFlowMatching, FlowPrediction, Icfm, SbCfm};

const N: usize = 6;
const ROUNDS: usize = 1500;
const SIGMA_OT: f64 = 0.2;
const SIGMA_SB: f64 = 0.5;

/// Six noise points and six points of the ring of radius 4 (fixed, not random draws).
fn atoms() -> (Array2<f64>, Array2<f64>) {
    let z = normals(2 * N, 91);
    let a = Array2::from_shape_vec((N, 2), z).unwrap();
    let b = Array2::from_shape_fn((N, 2), |(i, j)| {
        let angle = 2.0 * std::f64::consts::PI * i as f64 / N as f64 + 0.3;
        4.0 * if j == 0 { angle.cos() } else { angle.sin() }
    });
    (a, b)
}

/// The optimal assignment by enumerating all N! permutations.
fn brute_force_ot(a: &Array2<f64>, b: &Array2<f64>) -> Vec<usize> {
    let cost = |i: usize, j: usize| (0..2).map(|k| (a[[i, k]] - b[[j, k]]).powi(2)).sum::<f64>();
    let mut perm: Vec<usize> = (0..N).collect();
    let mut best = (f64::INFINITY, perm.clone());
    permutations(&mut perm, 0, &mut |p| {
        let c: f64 = p.iter().enumerate().map(|(i, &j)| cost(i, j)).sum();
        if c < best.0 {
            best = (c, p.to_vec());
        }
    });
    best.1
}

fn permutations(p: &mut Vec<usize>, k: usize, visit: &mut dyn FnMut(&[usize])) {
    if k == p.len() {
        visit(p);
        return;
    }
    for i in k..p.len() {
        p.swap(k, i);
        permutations(p, k + 1, visit);
        p.swap(k, i);
    }
}

/// E[u | x_t] for a coupling with weights w_ij over the pairs (a_i, b_j) and the flow
/// x_t = t b + (1 − t) a + c(t) ε, u = b − a + r(t) ε: the mixture responsibilities of
/// N(μ_ij, c²I), μ_ij = t b_j + (1 − t) a_i, and E[ε | x_t, ij] = (x_t − μ_ij)/c.
fn exact_velocity(
    weights: &Array2<f64>,
    a: &Array2<f64>,
    b: &Array2<f64>,
    x: &[f64],
    t: f64,
    c: f64,
    r: f64,
) -> [f64; 2] {
    let mut terms = Vec::new();
    for i in 0..N {
        for j in 0..N {
            if weights[[i, j]] <= 0.0 {
                continue;
            }
            let mu = [
                t * b[[j, 0]] + (1.0 - t) * a[[i, 0]],
                t * b[[j, 1]] + (1.0 - t) * a[[i, 1]],
            ];
            let d2 = (x[0] - mu[0]).powi(2) + (x[1] - mu[1]).powi(2);
            let log_w = weights[[i, j]].ln() - d2 / (2.0 * c * c);
            let u = [
                b[[j, 0]] - a[[i, 0]] + r * (x[0] - mu[0]) / c,
                b[[j, 1]] - a[[i, 1]] + r * (x[1] - mu[1]) / c,
            ];
            terms.push((log_w, u));
        }
    }
    let max = terms.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
    let (mut total, mut out) = (0.0, [0.0; 2]);
    for (lw, u) in terms {
        let w = (lw - max).exp();
        total += w;
        out[0] += w * u[0];
        out[1] += w * u[1];
    }
    [out[0] / total, out[1] / total]
}

fn delta(x: &[f64], t: f64, out: &mut [f64]) {
    for (j, (o, v)) in out.iter_mut().zip(x).enumerate() {
        *o = 5.0 * (0.8 * v + 0.5 * j as f64 - 2.0 * t).cos();
    }
}

/// Per-sample losses over `ROUNDS` minibatches, each the whole atom sets paired by `coupling`,
/// for the exact network (perturbed by θ·δ).
#[allow(clippy::too_many_arguments)]
fn losses<F: scoreflow_flow_matching::loss::ConditionalFlow>(
    loss: &ConditionalFlowMatching<F>,
    coupling: &dyn Coupling,
    weights: &Array2<f64>,
    a: &Array2<f64>,
    b: &Array2<f64>,
    c_of: &dyn Fn(f64) -> f64,
    r_of: &dyn Fn(f64) -> f64,
    theta: f64,
) -> Vec<f64> {
    let (mut x0, mut x1) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let pairs = coupling.pair(a.view(), b.view(), round as u64).unwrap();
        assert_eq!(pairs.len(), N);
        for (&i, &j) in pairs.source.iter().zip(&pairs.target) {
            x0.extend([a[[i, 0]], a[[i, 1]]]);
            x1.extend([b[[j, 0]], b[[j, 1]]]);
        }
    }
    let n = N * ROUNDS;
    let t = uniforms(n, 0.02, 0.98, 92);
    let eps = normals(2 * n, 93);
    let net = |x: Tensor<2>, tt: Tensor<1>, _| {
        let (xs, ts) = (host(&x), host(&tt));
        let mut out = vec![0.0; 2 * n];
        let mut dl = [0.0; 2];
        for k in 0..n {
            let row = &xs[2 * k..2 * k + 2];
            let u = exact_velocity(weights, a, b, row, ts[k], c_of(ts[k]), r_of(ts[k]));
            delta(row, ts[k], &mut dl);
            out[2 * k] = u[0] + theta * dl[0];
            out[2 * k + 1] = u[1] + theta * dl[1];
        }
        tensor(&out, n, 2)
    };
    let out = loss
        .loss(
            &net,
            tensor(&x0, n, 2),
            tensor(&x1, n, 2),
            Some(tensor(&eps, n, 2)),
            &t,
            None,
        )
        .unwrap();
    host(&out.per_sample)
}

fn assert_minimum(name: &str, eval: &dyn Fn(f64) -> Vec<f64>) {
    let h = 0.1;
    let (lo, mid, hi) = (eval(-h), eval(0.0), eval(h));
    let slope: Vec<f64> = hi
        .iter()
        .zip(&lo)
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    let (m, se) = mean_se(&slope);
    assert!(m.abs() < 4.0 * se, "{name}: derivative {m} ± {se}");
    for side in [&lo, &hi] {
        let excess: Vec<f64> = side.iter().zip(&mid).map(|(x, y)| x - y).collect();
        let (m, se) = mean_se(&excess);
        assert!(m > 4.0 * se, "{name}: excess {m} ± {se} at ±0.1");
    }
}

/// OT-CFM: the exact coupling of the two sets is the brute-force optimal permutation, and the
/// velocity of the resulting mixture path minimises the loss.
#[test]
fn ot_cfm_is_minimised_by_the_velocity_of_the_exact_ot_coupling() {
    let (a, b) = atoms();
    let perm = brute_force_ot(&a, &b);
    let pairs = ExactOt::new().pair(a.view(), b.view(), 0).unwrap();
    for (&i, &j) in pairs.source.iter().zip(&pairs.target) {
        assert_eq!(perm[i], j, "the coupling is the optimal permutation");
    }
    let weights = Array2::from_shape_fn(
        (N, N),
        |(i, j)| if perm[i] == j { 1.0 / N as f64 } else { 0.0 },
    );
    let loss = ConditionalFlowMatching::new(Icfm::new(SIGMA_OT).unwrap(), FlowPrediction::Velocity);
    assert_minimum("OT-CFM", &|theta| {
        losses(
            &loss,
            &ExactOt::new(),
            &weights,
            &a,
            &b,
            &|_| SIGMA_OT,
            &|_| 0.0,
            theta,
        )
    });
}

/// SB-CFM: pairs drawn from the entropic plan with ε = 2σ² (solved here to 1e-12), and the
/// Brownian bridge's velocity σ_t'/σ_t (x_t − μ_t) + x₁ − x₀ averaged over the plan's mixture
/// minimises the loss.
#[test]
fn sb_cfm_is_minimised_by_the_velocity_of_the_entropic_plan() {
    let (a, b) = atoms();
    let flow = SbCfm::new(SIGMA_SB).unwrap();
    let sinkhorn = Sinkhorn::absolute(flow.entropic_regularization()).with_tolerance(1e-12);
    let cost = squared_euclidean(a.view(), b.view()).unwrap();
    let plan = sinkhorn.solve_uniform(cost.view()).unwrap();
    assert!(plan.marginal_error < 1e-11);
    let loss = ConditionalFlowMatching::new(flow, FlowPrediction::Velocity);
    let c_of = |t: f64| SIGMA_SB * (t * (1.0 - t)).sqrt();
    let r_of = |t: f64| SIGMA_SB * (1.0 - 2.0 * t) / (2.0 * (t * (1.0 - t)).sqrt());
    assert_minimum("SB-CFM", &|theta| {
        losses(&loss, &sinkhorn, &plan.plan, &a, &b, &c_of, &r_of, theta)
    });
}
