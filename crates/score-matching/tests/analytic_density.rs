//! log p_σ and the CondOT log p_t against closed forms computed independently here.

use scoreflow_score_matching::analytic::GaussianMixture;

/// ln N(x; m, S) for 2-D, with the 2 × 2 inverse and determinant written out by hand.
fn log_normal_2d(x: [f64; 2], m: [f64; 2], s: [[f64; 2]; 2]) -> f64 {
    let det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
    let inv = [
        [s[1][1] / det, -s[0][1] / det],
        [-s[1][0] / det, s[0][0] / det],
    ];
    let d = [x[0] - m[0], x[1] - m[1]];
    let quad =
        d[0] * (inv[0][0] * d[0] + inv[0][1] * d[1]) + d[1] * (inv[1][0] * d[0] + inv[1][1] * d[1]);
    -(2.0 * std::f64::consts::PI).ln() - 0.5 * det.ln() - 0.5 * quad
}

fn add_iso(s: [[f64; 2]; 2], v: f64) -> [[f64; 2]; 2] {
    [[s[0][0] + v, s[0][1]], [s[1][0], s[1][1] + v]]
}

/// Weights, means and covariances of a skewed 2-D mixture, kept as fixed-size arrays for the
/// hand-written reference formulas.
type Params = ([f64; 3], [[f64; 2]; 3], [[[f64; 2]; 2]; 3]);

fn three_component() -> (Params, GaussianMixture) {
    let w = [0.2, 0.5, 0.3];
    let m = [[-1.0, 0.5], [2.0, 1.0], [0.0, -2.0]];
    let s = [
        [[1.0, 0.3], [0.3, 0.5]],
        [[0.4, -0.1], [-0.1, 0.9]],
        [[2.0, 1.2], [1.2, 1.0]],
    ];
    let gm = GaussianMixture::new(
        w.to_vec(),
        m.iter().map(|v| v.to_vec()).collect(),
        s.iter()
            .map(|c| c.iter().map(|r| r.to_vec()).collect())
            .collect(),
    )
    .unwrap();
    ((w, m, s), gm)
}

#[test]
fn single_gaussian_log_prob_matches_closed_form() {
    let m = [0.7, -1.3];
    let s = [[1.5, -0.4], [-0.4, 0.8]];
    let gm = GaussianMixture::new(
        vec![1.0],
        vec![m.to_vec()],
        vec![vec![s[0].to_vec(), s[1].to_vec()]],
    )
    .unwrap();
    for sigma in [0.0, 0.05, 0.7, 3.0, 40.0] {
        for x in [[0.0, 0.0], [0.7, -1.3], [3.0, 2.0], [-5.0, 1.0]] {
            let expect = log_normal_2d(x, m, add_iso(s, sigma * sigma));
            let got = gm.log_prob(&x, sigma);
            assert!(
                (got - expect).abs() < 1e-12 * (1.0 + expect.abs()),
                "σ={sigma} x={x:?}: {got} vs {expect}"
            );
        }
    }
}

#[test]
fn mixture_log_prob_is_log_of_weighted_density_sum() {
    let ((w, m, s), gm) = three_component();
    for sigma in [0.0, 0.3, 1.0, 4.0] {
        for x in [
            [0.0, 0.0],
            [-1.0, 0.5],
            [2.5, -0.5],
            [1.0, 3.0],
            [-3.0, -3.0],
        ] {
            let p: f64 = (0..3)
                .map(|k| w[k] * log_normal_2d(x, m[k], add_iso(s[k], sigma * sigma)).exp())
                .sum();
            let got = gm.log_prob(&x, sigma);
            assert!(
                (got - p.ln()).abs() < 1e-12 * (1.0 + got.abs()),
                "σ={sigma} x={x:?}"
            );
        }
    }
}

#[test]
fn log_prob_stays_exact_where_densities_underflow() {
    let ((w, m, s), gm) = three_component();
    let x = [60.0, -45.0];
    let logs: Vec<f64> = (0..3)
        .map(|k| w[k].ln() + log_normal_2d(x, m[k], s[k]))
        .collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        max < -745.0,
        "the test point must make every density underflow"
    );
    let expect = max + logs.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
    let got = gm.log_prob(&x, 0.0);
    assert!((got - expect).abs() < 1e-12 * expect.abs());
}

#[test]
fn ring8_density_integrates_to_one() {
    let gm = GaussianMixture::builtin("ring8").unwrap();
    for sigma in [0.0, 0.5] {
        // Midpoint rule on [−9, 9]²; the neglected tail mass is < e^{-40}.
        let h = 0.03;
        let n = (18.0 / h) as usize;
        let mut total = 0.0;
        for i in 0..n {
            for j in 0..n {
                let x = [-9.0 + (i as f64 + 0.5) * h, -9.0 + (j as f64 + 0.5) * h];
                total += gm.log_prob(&x, sigma).exp();
            }
        }
        total *= h * h;
        assert!((total - 1.0).abs() < 1e-8, "σ={sigma}: ∫p = {total}");
    }
}

#[test]
fn condot_log_prob_endpoints_and_change_of_variables() {
    let gm = GaussianMixture::builtin("gauss16d").unwrap();
    let d = gm.dim() as f64;
    let xs = gm.sample(5, 3);
    for x in xs.chunks_exact(gm.dim()) {
        // t = 1 is the data distribution.
        assert!((gm.condot_log_prob(x, 1.0) - gm.log_prob(x, 0.0)).abs() < 1e-10);
        // t = 0 is N(0, I).
        let sq: f64 = x.iter().map(|v| v * v).sum();
        let std_normal = -0.5 * (d * (2.0 * std::f64::consts::PI).ln() + sq);
        assert!((gm.condot_log_prob(x, 0.0) - std_normal).abs() < 1e-10);
        // x_t = t (x₁ + σε) with σ = (1 − t)/t, so p_t(x) = p_σ(x/t) / tᵈ.
        for t in [0.1, 0.5, 0.9] {
            let sigma = (1.0 - t) / t;
            let y: Vec<f64> = x.iter().map(|v| v / t).collect();
            let expect = gm.log_prob(&y, sigma) - d * f64::ln(t);
            let got = gm.condot_log_prob(x, t);
            assert!((got - expect).abs() < 1e-10 * (1.0 + expect.abs()), "t={t}");
        }
    }
}

#[test]
fn exact_moments_match_law_of_total_covariance() {
    let ((w, m, s), gm) = three_component();
    let mean = gm.mean();
    let mu = [
        (0..3).map(|k| w[k] * m[k][0]).sum::<f64>(),
        (0..3).map(|k| w[k] * m[k][1]).sum::<f64>(),
    ];
    let cov = gm.covariance();
    for i in 0..2 {
        assert!((mean[i] - mu[i]).abs() < 1e-15);
        for j in 0..2 {
            let second: f64 = (0..3)
                .map(|k| w[k] * (s[k][i][j] + m[k][i] * m[k][j]))
                .sum();
            assert!((cov[i * 2 + j] - (second - mu[i] * mu[j])).abs() < 1e-14);
        }
    }
}
