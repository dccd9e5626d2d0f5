//! Entropic OT (Sinkhorn): the returned plan is the entropic optimum — Gibbs form in its
//! potentials with the prescribed marginals, which the KKT conditions make unique — its transport
//! cost decreases with ε towards the exact OT cost within the proven bias ε·ln n, it stays finite
//! with its marginals met at ε = 10⁻³ × median cost, and pairs drawn from it follow it.

mod coupling_support;

use coupling_support::gaussian_batches;
use ndarray::{Array1, Array2, ArrayView2, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scoreflow_flow_matching::coupling::{
    Coupling, CouplingError, ExactOt, Sinkhorn, SinkhornPlan, cost,
};

/// ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁, computed here.
fn marginal_error(p: &SinkhornPlan, a: &Array1<f64>, b: &Array1<f64>) -> f64 {
    let rows = p.plan.sum_axis(ndarray::Axis(1));
    let cols = p.plan.sum_axis(ndarray::Axis(0));
    (&rows - a).mapv(f64::abs).sum() + (&cols - b).mapv(f64::abs).sum()
}

/// The largest relative gap between P_ij and exp((f_i + g_j − C_ij)/ε) over entries that are
/// not negligible (> 1e-250).
fn gibbs_gap(p: &SinkhornPlan, c: ArrayView2<'_, f64>) -> f64 {
    let mut worst = 0.0f64;
    for ((i, j), &pij) in p.plan.indexed_iter() {
        let gibbs = ((p.f[i] + p.g[j] - c[[i, j]]) / p.epsilon).exp();
        if gibbs > 1e-250 {
            worst = worst.max((pij - gibbs).abs() / gibbs);
        } else {
            assert!(
                pij <= 1e-200,
                "P[{i},{j}] = {pij} where the Gibbs form gives {gibbs}"
            );
        }
    }
    worst
}

fn uniform(n: usize) -> Array1<f64> {
    Array1::from_elem(n, 1.0 / n as f64)
}

#[test]
fn plan_has_the_gibbs_form_and_the_marginals() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (x0, x1) = gaussian_batches(40, 30, 2, 1.0, 0.5, 3);
    let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
    let mut a = Array1::from_shape_fn(40, |_| 0.2 + rng.random::<f64>());
    let mut b = Array1::from_shape_fn(30, |_| 0.2 + rng.random::<f64>());
    a /= a.sum();
    b /= b.sum();
    let cases = [
        ("non-uniform 40×30, 2-D", c.clone(), a, b),
        (
            "uniform 64×64, 2-D",
            {
                let (x0, x1) = gaussian_batches(64, 64, 2, 1.0, 0.5, 4);
                cost::squared_euclidean(x0.view(), x1.view()).unwrap()
            },
            uniform(64),
            uniform(64),
        ),
        (
            "uniform 48×48, 784-D",
            {
                let (x0, x1) = gaussian_batches(48, 48, 784, 1.0, 0.5, 5);
                cost::squared_euclidean(x0.view(), x1.view()).unwrap()
            },
            uniform(48),
            uniform(48),
        ),
    ];
    for (name, c, a, b) in cases {
        for factor in [0.5, 0.1, 0.05] {
            let eps = factor * cost::median_cost(c.view()).unwrap();
            let p = Sinkhorn::absolute(eps)
                .solve(c.view(), a.view(), b.view())
                .unwrap();
            assert!(p.plan.iter().all(|&v| v.is_finite() && v >= 0.0), "{name}");
            let err = marginal_error(&p, &a, &b);
            assert!(
                err <= 1e-9,
                "{name}, ε = {factor}·median: marginal error {err:e}"
            );
            assert!(
                (p.marginal_error - err).abs() <= 1e-14,
                "{name}: reported {:e}",
                p.marginal_error
            );
            let gap = gibbs_gap(&p, c.view());
            assert!(
                gap <= 1e-12,
                "{name}, ε = {factor}·median: Gibbs form off by {gap:e}"
            );
            let tc: f64 = (&p.plan * &c).sum();
            assert!((p.transport_cost - tc).abs() <= 1e-12 * tc, "{name}");
        }
    }
}

#[test]
fn transport_cost_decreases_with_epsilon_towards_exact_ot() {
    for (d, seed) in [(2, 20), (2, 21), (5, 22)] {
        let n = 32;
        let (x0, x1) = gaussian_batches(n, n, d, 1.0, 0.5, seed);
        let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
        let pairs = ExactOt::new().assign(c.view()).unwrap();
        let ot: f64 = pairs
            .source
            .iter()
            .zip(&pairs.target)
            .map(|(&i, &j)| c[[i, j]])
            .sum::<f64>()
            / n as f64;
        let median = cost::median_cost(c.view()).unwrap();
        let max_cost = c.iter().copied().fold(0.0, f64::max);
        let tol = 1e-10;
        // A plan whose marginals are off by δ in L1 is within 2δ of a coupling (Altschuler et
        // al. 2017, Lemma 7), so its cost is within 2δ·max C of that coupling's.
        let slack = 2.0 * tol * max_cost;
        let mut previous = f64::INFINITY;
        let mut costs = Vec::new();
        // Smaller ε converge too slowly for this tolerance (see `Sinkhorn`'s docs).
        for factor in [1.0, 0.3, 0.1, 0.05, 0.03] {
            let eps = factor * median;
            let p = Sinkhorn::absolute(eps)
                .with_tolerance(tol)
                .solve_uniform(c.view())
                .unwrap_or_else(|e| panic!("d = {d}, ε = {factor}·median: {e}"));
            let tc = p.transport_cost;
            assert!(
                tc <= previous + slack,
                "d = {d}: cost rose from {previous} to {tc} at ε = {eps}"
            );
            assert!(
                tc >= ot - slack,
                "d = {d}: cost {tc} below OT {ot} at ε = {eps}"
            );
            // 0 ≤ ⟨P_ε, C⟩ − OT ≤ ε·min(H(a), H(b)) = ε ln n (see `Sinkhorn`).
            let bound = eps * (n as f64).ln();
            assert!(
                tc - ot <= bound + slack,
                "d = {d}, ε = {eps}: bias {} above ε ln n = {bound}",
                tc - ot
            );
            previous = tc;
            costs.push(tc - ot);
        }
        // Not a vacuous chain: the bias shrinks by an order of magnitude over the sequence.
        assert!(costs[0] > 10.0 * costs[4], "d = {d}: biases {costs:?}");
    }
}

#[test]
fn tiny_epsilon_gives_finite_plans_meeting_the_stated_tolerance() {
    // ε = 10⁻³ × median cost: Sinkhorn's rate tends to 1 there, so the tolerance is the one
    // these problems reach within the cap (measured: 2-D needs ~10⁴ iterations for 1e-6).
    for (n, d, tol, seed) in [
        (48, 2, 1e-6, 30),
        (48, 2, 1e-6, 31),
        (32, 784, 1e-9, 32),
        (64, 784, 1e-9, 33),
    ] {
        let (x0, x1) = gaussian_batches(n, n, d, 1.0, 0.5, seed);
        let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
        let p = Sinkhorn::relative(1e-3)
            .with_tolerance(tol)
            .with_max_iterations(300_000)
            .solve_uniform(c.view())
            .unwrap_or_else(|e| panic!("n = {n}, d = {d}: {e}"));
        assert!(p.plan.iter().all(|&v| v.is_finite() && v >= 0.0));
        assert!(p.f.iter().chain(&p.g).all(|v| v.is_finite()));
        let err = marginal_error(&p, &uniform(n), &uniform(n));
        assert!(err <= tol, "n = {n}, d = {d}: marginal error {err:e}");
        assert!(gibbs_gap(&p, c.view()) <= 1e-9);
        // Near the exact OT cost: the bias bound ε ln n.
        let pairs = ExactOt::new().assign(c.view()).unwrap();
        let ot: f64 = pairs
            .source
            .iter()
            .zip(&pairs.target)
            .map(|(&i, &j)| c[[i, j]])
            .sum::<f64>()
            / n as f64;
        let slack = 2.0 * tol * c.iter().copied().fold(0.0, f64::max);
        assert!(p.transport_cost - ot <= p.epsilon * (n as f64).ln() + slack);
        assert!(p.transport_cost >= ot - slack);
    }
}

#[test]
fn the_stabilised_iteration_stays_finite_without_epsilon_scaling() {
    // ε = 10⁻⁴ × median, no ε-scaling: exp(−C/ε) underflows almost everywhere, which only the
    // log-domain potentials survive. The run may stop at the cap, but as a value, finite.
    let (x0, x1) = gaussian_batches(24, 24, 2, 1.0, 0.5, 40);
    let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
    assert!(
        c.iter()
            .any(|&v| (-v / (1e-4 * cost::median_cost(c.view()).unwrap())).exp() == 0.0)
    );
    let s = Sinkhorn::relative(1e-4)
        .with_epsilon_scaling(None)
        .with_max_iterations(2000);
    match s.solve_uniform(c.view()) {
        Ok(p) => assert!(p.plan.iter().all(|v| v.is_finite()) && p.marginal_error <= 1e-9),
        Err(CouplingError::NotConverged {
            marginal_error,
            iterations,
            ..
        }) => {
            assert!(marginal_error.is_finite() && marginal_error < 2.0);
            assert_eq!(iterations, 2000);
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn drawn_pairs_follow_the_plan() {
    let x0 = array![[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]];
    let x1 = array![[0.5, 0.0], [1.0, 1.0], [0.0, 1.0], [2.0, 0.0]];
    let c = cost::squared_euclidean(x0.view(), x1.view()).unwrap();
    let p = Sinkhorn::absolute(0.5).solve_uniform(c.view()).unwrap();
    let total: f64 = p.plan.sum();
    let draws = 400_000;
    let pairs = p.draw(draws, 17);
    assert_eq!(pairs.len(), draws);
    let mut counts = Array2::<f64>::zeros((3, 4));
    for (&i, &j) in pairs.source.iter().zip(&pairs.target) {
        counts[[i, j]] += 1.0;
    }
    // Pearson's χ² with 11 degrees of freedom: mean 11, P(χ² > 45) ≈ 1e-6.
    let mut chi2 = 0.0;
    for ((i, j), &o) in counts.indexed_iter() {
        let prob = p.plan[[i, j]] / total;
        let e = prob * draws as f64;
        chi2 += (o - e) * (o - e) / e;
        let se = (draws as f64 * prob * (1.0 - prob)).sqrt();
        assert!(
            (o - e).abs() <= 5.0 * se,
            "cell ({i},{j}): {o} draws, {e} expected"
        );
    }
    assert!(chi2 < 45.0, "χ² = {chi2}");
    // A seed is a function of the pairs; another seed, other pairs.
    assert_eq!(p.draw(1000, 17), p.draw(1000, 17));
    assert_ne!(p.draw(1000, 17), p.draw(1000, 18));
}

#[test]
fn sinkhorn_coupling_draws_n0_seeded_pairs() {
    let (x0, x1) = gaussian_batches(20, 25, 3, 1.0, 0.5, 50);
    let s = Sinkhorn::relative(0.05);
    let a = s.pair(x0.view(), x1.view(), 7).unwrap();
    assert_eq!(a.len(), 20);
    assert!(a.source.iter().all(|&i| i < 20) && a.target.iter().all(|&j| j < 25));
    assert_eq!(a, s.pair(x0.view(), x1.view(), 7).unwrap());
    assert_ne!(a, s.pair(x0.view(), x1.view(), 8).unwrap());
    // With ε tiny relative to the cost gaps, the draws are the exact OT permutation's pairs.
    let (x0, x1) = gaussian_batches(6, 6, 2, 3.0, 0.2, 51);
    let exact = ExactOt::new().pair(x0.view(), x1.view(), 0).unwrap();
    let drawn = Sinkhorn::relative(1e-3)
        .with_tolerance(1e-6)
        .pair(x0.view(), x1.view(), 3)
        .unwrap();
    for (i, j) in drawn.source.iter().zip(&drawn.target) {
        assert_eq!(exact.target[*i], *j);
    }
}
