//! Noise-level distributions: draws against their own exact CDF (Kolmogorov–Smirnov, χ²),
//! densities against the CDF's derivative and against 1 (quadrature), exact identities of the
//! likelihood weighting, determinism, and typed errors.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scoreflow_noise_schedules::{
    CondOt, Discrete, Edm, NoiseSchedule, SubVp, Ve, VpCosine, VpLinear,
};
use scoreflow_score_matching::noise_level::{
    DiscreteTimesteps, LikelihoodImportance, LogNormalSigma, LogitNormalTime,
    NoiseLevelDistribution, NoiseLevelError, NoiseVariable, UniformTime, importance_weight,
};

/// Draws per Kolmogorov–Smirnov test.
const N_KS: usize = 20_000;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The one-sample Kolmogorov–Smirnov statistic D = sup |F_n − F| of `draws` against `cdf`.
fn ks_statistic(mut draws: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    draws.sort_by(f64::total_cmp);
    let n = draws.len() as f64;
    draws
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// The asymptotic 1 % critical value of D: √(−ln(0.005)/2)/√n = 1.6276/√n.
fn ks_critical(n: usize) -> f64 {
    (-(0.005f64).ln() / 2.0).sqrt() / (n as f64).sqrt()
}

/// Asserts that `N_KS` draws of `dist` pass a KS test against its own CDF at the 1 % level,
/// and returns D.
fn assert_ks(name: &str, dist: &dyn NoiseLevelDistribution, seed: u64) -> f64 {
    let draws = dist.sample_n(N_KS, &mut rng(seed));
    let (lo, hi) = dist.support();
    assert!(
        draws.iter().all(|&x| x >= lo && x <= hi),
        "{name}: a draw left the support"
    );
    let d = ks_statistic(draws, |x| dist.cdf(x));
    let crit = ks_critical(N_KS);
    println!("{name}: KS D = {d:.5} (1 % critical {crit:.5})");
    assert!(d < crit, "{name}: KS D = {d} ≥ {crit}");
    d
}

fn vp_linear() -> Arc<dyn NoiseSchedule> {
    Arc::new(VpLinear::default())
}

/// The bounded distributions of the tests, with a name.
fn bounded_cases() -> Vec<(String, Box<dyn NoiseLevelDistribution>)> {
    let mut cases: Vec<(String, Box<dyn NoiseLevelDistribution>)> = vec![
        ("uniform default".into(), Box::new(UniformTime::default())),
        (
            "uniform [0.2, 0.7]".into(),
            Box::new(UniformTime::new(0.2, 0.7).unwrap()),
        ),
        (
            "uniform [0, 80]".into(),
            Box::new(UniformTime::new(0.0, 80.0).unwrap()),
        ),
        (
            "logit-normal default".into(),
            Box::new(LogitNormalTime::default()),
        ),
        (
            "logit-normal (0.5, 0.8) on [1e-3, 1]".into(),
            Box::new(LogitNormalTime::new(0.5, 0.8, 1e-3, 1.0).unwrap()),
        ),
        (
            "logit-normal (-1, 2) on [0.1, 0.9]".into(),
            Box::new(LogitNormalTime::new(-1.0, 2.0, 0.1, 0.9).unwrap()),
        ),
    ];
    for (name, schedule, lo, hi) in likelihood_schedules() {
        cases.push((
            format!("likelihood {name} [{lo}, {hi}]"),
            Box::new(LikelihoodImportance::new(schedule, lo, hi).unwrap()),
        ));
    }
    cases
}

/// Schedules and ranges for the likelihood weighting (every one with a closed-form d_lambda).
fn likelihood_schedules() -> Vec<(&'static str, Arc<dyn NoiseSchedule>, f64, f64)> {
    vec![
        ("vp-linear", vp_linear(), 1e-5, 1.0),
        ("vp-linear", vp_linear(), 0.1, 0.6),
        ("vp-cosine", Arc::new(VpCosine::default()), 1e-4, 0.9946),
        ("sub-vp", Arc::new(SubVp::default()), 1e-5, 1.0),
        ("ve", Arc::new(Ve::default()), 0.0, 1.0),
        ("edm", Arc::new(Edm::default()), 0.002, 80.0),
    ]
}

fn log_normal_cases() -> Vec<LogNormalSigma> {
    vec![
        LogNormalSigma::default(),
        LogNormalSigma::new(0.5, 0.3).unwrap(),
        LogNormalSigma::new(-3.0, 2.0).unwrap(),
    ]
}

#[test]
fn every_continuous_sampler_passes_ks_against_its_own_cdf() {
    let mut seed = 100;
    for (name, dist) in bounded_cases() {
        assert_ks(&name, dist.as_ref(), seed);
        seed += 1;
    }
    for dist in log_normal_cases() {
        assert_ks(&format!("{dist:?}"), &dist, seed);
        seed += 1;
    }
    // The DDPM table (piecewise log-linear interpolation of ln ᾱ) through its own inverse.
    let table: Arc<dyn NoiseSchedule> = Arc::new(Discrete::default());
    assert_ks(
        "likelihood discrete DDPM table [1e-3, 1]",
        &LikelihoodImportance::new(table, 1e-3, 1.0).unwrap(),
        seed,
    );
}

#[test]
fn ks_test_rejects_a_slightly_wrong_distribution() {
    // Power check: the same test must fail when draws and CDF disagree by a little.
    let draws = LogNormalSigma::default().sample_n(N_KS, &mut rng(7));
    let shifted = LogNormalSigma::new(-1.2 + 0.05, 1.2).unwrap();
    let d = ks_statistic(draws.clone(), |x| shifted.cdf(x));
    println!("shifted P_mean by 0.05: D = {d:.5}");
    assert!(d > ks_critical(N_KS));
    let vp = LikelihoodImportance::new(vp_linear(), 1e-5, 1.0).unwrap();
    let uniform = UniformTime::new(1e-5, 1.0).unwrap();
    let d = ks_statistic(vp.sample_n(N_KS, &mut rng(8)), |x| uniform.cdf(x));
    assert!(d > ks_critical(N_KS));
}

/// The upper 1 % point of χ² with k degrees of freedom, by Wilson–Hilferty (relative error
/// below 1e-3 for k ≥ 9, far inside the margin a 1 % test needs).
fn chi2_critical(k: usize) -> f64 {
    let k = k as f64;
    let z = 2.326_347_874_040_841; // Φ⁻¹(0.99)
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + z * a.sqrt()).powi(3)
}

#[test]
fn discrete_timesteps_pass_chi_square_and_mass_is_cdf_increment() {
    // Wilson–Hilferty against tabulated χ²₀.₉₉: 21.666 (k = 9), 134.642 (k = 99).
    assert!((chi2_critical(9) - 21.666).abs() < 0.05);
    assert!((chi2_critical(99) - 134.642).abs() < 0.1);
    for (n_steps, seed) in [(10usize, 1u64), (100, 2), (1000, 3)] {
        let dist = DiscreteTimesteps::new(n_steps).unwrap();
        let draws = dist.sample_n(N_KS, &mut rng(seed));
        let mut counts = vec![0usize; n_steps];
        for &v in &draws {
            assert_eq!(v.fract(), 0.0);
            counts[v as usize] += 1;
        }
        let expected = N_KS as f64 / n_steps as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let crit = chi2_critical(n_steps - 1);
        println!("N = {n_steps}: chi2 = {chi2:.2} (1 % critical {crit:.2})");
        assert!(chi2 < crit, "N = {n_steps}: χ² = {chi2} ≥ {crit}");
        // Mass = CDF increment, total mass 1, zero off the integers.
        let mut total = 0.0;
        for k in 0..n_steps {
            let v = k as f64;
            let inc = dist.cdf(v) - dist.cdf(v - 1.0);
            assert!((dist.density(v) - inc).abs() < 1e-15);
            assert_eq!(dist.density(v + 0.5), 0.0);
            total += dist.density(v);
        }
        assert!((total - 1.0).abs() < 1e-12);
        assert_eq!(dist.cdf(-0.5), 0.0);
        assert_eq!(dist.cdf(n_steps as f64 + 3.0), 1.0);
    }
}

/// Central difference of the CDF at x with step h.
fn cdf_derivative(dist: &dyn NoiseLevelDistribution, x: f64, h: f64) -> f64 {
    (dist.cdf(x + h) - dist.cdf(x - h)) / (2.0 * h)
}

fn assert_density_is_cdf_derivative(name: &str, dist: &dyn NoiseLevelDistribution, seed: u64) {
    let (lo, hi) = dist.support();
    let mut draws = dist.sample_n(2000, &mut rng(seed));
    draws.sort_by(f64::total_cmp);
    let mut worst = 0.0f64;
    for q in 1..40 {
        let x = draws[q * draws.len() / 40];
        let gap = (x - lo).min(hi - x).min(x.abs().max(1e-3));
        let h = 1e-4 * gap;
        let (p, numeric) = (dist.density(x), cdf_derivative(dist, x, h));
        let rel = (p - numeric).abs() / p;
        worst = worst.max(rel);
        assert!(
            rel < 1e-6,
            "{name}: density {p} vs dF/dx {numeric} at {x} (rel {rel:e})"
        );
    }
    println!("{name}: worst relative |q − F'| = {worst:.2e}");
}

#[test]
fn density_is_the_derivative_of_the_cdf() {
    let mut seed = 200;
    for (name, dist) in bounded_cases() {
        assert_density_is_cdf_derivative(&name, dist.as_ref(), seed);
        seed += 1;
    }
    for dist in log_normal_cases() {
        assert_density_is_cdf_derivative(&format!("{dist:?}"), &dist, seed);
        seed += 1;
    }
}

/// Composite Simpson's rule with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let h = (b - a) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(a) + inner + f(b)) * h / 3.0
}

#[test]
fn densities_integrate_to_one() {
    for (name, dist) in bounded_cases() {
        // t = lo + (hi − lo)·sigmoid(z) clusters nodes at both ends, where the densities of
        // the likelihood weighting (∝ 1/t near a VP schedule's t = 0) and of the logit-normal
        // concentrate.
        let (lo, hi) = dist.support();
        let w = hi - lo;
        let integral = simpson(
            |z| {
                let s = 1.0 / (1.0 + (-z).exp());
                dist.density(lo + w * s) * w * s * (1.0 - s)
            },
            -36.0,
            36.0,
            40_000,
        );
        println!("{name}: ∫q = {integral:.12}");
        assert!((integral - 1.0).abs() < 1e-6, "{name}: ∫ = {integral}");
    }
    for dist in log_normal_cases() {
        // σ = e^u, dσ = σ du, over P_mean ± 12 P_std.
        let (m, s) = (dist.p_mean(), dist.p_std());
        let integral = simpson(
            |u| dist.density(u.exp()) * u.exp(),
            m - 12.0 * s,
            m + 12.0 * s,
            4000,
        );
        println!("{dist:?}: ∫q = {integral:.12}");
        assert!((integral - 1.0).abs() < 1e-6, "{dist:?}: ∫ = {integral}");
    }
}

#[test]
fn standard_normal_cdf_matches_reference_values() {
    // LogNormalSigma(0, 1) has CDF Φ(ln σ); reference values of Φ to 16 digits.
    let dist = LogNormalSigma::new(0.0, 1.0).unwrap();
    for (z, phi) in [
        (-10.0, 7.619_853_024_160_527e-24),
        (-8.0, 6.220_960_574_271_785e-16),
        (-5.0, 2.866_515_718_791_939e-7),
        (-3.0, 1.349_898_031_630_094_6e-3),
        (-2.5, 6.209_665_325_776_132e-3),
        (-1.0, 0.158_655_253_931_457_05),
        (0.0, 0.5),
        (0.5, 0.691_462_461_274_013_1),
        (1.96, 0.975_002_104_851_780_2),
        (3.0, 0.998_650_101_968_369_9),
    ] {
        let got = dist.cdf(f64::exp(z));
        let rel = (got - phi).abs() / phi;
        assert!(rel < 1e-12, "Φ({z}) = {got} vs {phi} (rel {rel:e})");
    }
}

#[test]
fn likelihood_weighting_is_g2_over_sigma2_with_normalizer_z() {
    for (name, schedule, lo, hi) in likelihood_schedules() {
        let dist = LikelihoodImportance::new(schedule.clone(), lo, hi).unwrap();
        let z = dist.normalizer();
        assert!(
            (z - 2.0 * (schedule.lambda(lo) - schedule.lambda(hi))).abs() < 1e-12 * z,
            "{name}"
        );
        // g²(t)/(σ²(t)·q(t)) = Z at every t: the schedule's own g² and σ against q.
        for i in 0..=50 {
            let t = lo + (hi - lo) * (0.001 + 0.998 * i as f64 / 50.0);
            let sigma = schedule.sigma(t);
            let ratio = schedule.g2(t) / (sigma * sigma * dist.density(t));
            assert!(
                (ratio - z).abs() < 1e-9 * z,
                "{name} at t = {t}: g²/(σ²q) = {ratio} vs Z = {z}"
            );
        }
    }
    // VE: λ is linear in t, so the likelihood weighting is uniform in t.
    let ve = LikelihoodImportance::new(Arc::new(Ve::default()), 0.0, 1.0).unwrap();
    for t in [0.0, 0.3, 0.99] {
        assert!((ve.density(t) - 1.0).abs() < 1e-12);
        assert!((ve.cdf(t) - t).abs() < 1e-12);
    }
}

#[test]
fn importance_weights_reweight_expectations_to_the_target() {
    // E_q[(p/q)·ℓ(t)] = E_p[ℓ(t)] for p = U[ε, 1], q ∝ g²/σ² on VP linear and ℓ(t) = t²:
    // E_p[t²] = (1 − ε³)/(3(1 − ε)).
    let eps = 1e-3;
    let target = UniformTime::new(eps, 1.0).unwrap();
    let proposal = LikelihoodImportance::new(vp_linear(), eps, 1.0).unwrap();
    let n = 20_000;
    let values: Vec<f64> = proposal
        .sample_n(n, &mut rng(11))
        .into_iter()
        .map(|t| importance_weight(&target, &proposal, t).unwrap() * t * t)
        .collect();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    let exact = (1.0 - eps.powi(3)) / (3.0 * (1.0 - eps));
    println!("E_q[w t²] = {mean:.5} ± {se:.5}, exact {exact:.5}");
    assert!((mean - exact).abs() < 4.0 * se);
    // A weight is exactly p/q.
    let t = 0.37;
    let w = importance_weight(&target, &proposal, t).unwrap();
    assert_eq!(w, target.density(t) / proposal.density(t));
}

#[test]
fn draws_are_deterministic_in_the_seed() {
    let mut cases = bounded_cases();
    cases.push(("log-normal".into(), Box::new(LogNormalSigma::default())));
    cases.push((
        "discrete".into(),
        Box::new(DiscreteTimesteps::new(1000).unwrap()),
    ));
    for (name, dist) in cases {
        let a = dist.sample_n(64, &mut rng(5));
        let b = dist.sample_n(64, &mut rng(5));
        let c = dist.sample_n(64, &mut rng(6));
        assert_eq!(a, b, "{name}");
        assert_ne!(a, c, "{name}");
    }
}

#[test]
fn time_maps_each_variable_to_schedule_time() {
    let vp = VpLinear::default();
    let edm = Edm::default();
    // Time: the value itself.
    let u = UniformTime::default();
    assert_eq!(u.variable(), NoiseVariable::Time);
    assert_eq!(u.time(0.25, &vp).unwrap(), 0.25);
    // Sigma: through t_from_edm_sigma, a round trip through edm_sigma.
    let ln = LogNormalSigma::default();
    assert_eq!(ln.variable(), NoiseVariable::Sigma);
    for sigma in [0.01, 0.3, 1.0, 5.0, 50.0] {
        let t = ln.time(sigma, &vp).unwrap();
        assert!((vp.edm_sigma(t) - sigma).abs() < 1e-10 * sigma);
        assert_eq!(ln.time(sigma, &edm).unwrap(), sigma);
    }
    // Timestep: (n + 1)/N, where the DDPM table has α² = ᾱₙ.
    let table = Discrete::default();
    let d = DiscreteTimesteps::new(1000).unwrap();
    assert_eq!(d.variable(), NoiseVariable::Timestep);
    for n in [0usize, 1, 499, 999] {
        let t = d.time(n as f64, &table).unwrap();
        assert_eq!(t, (n + 1) as f64 / 1000.0);
        let a2 = table.alpha(t).powi(2);
        assert!((a2 - table.alphas_cumprod()[n]).abs() < 1e-12, "n = {n}");
    }
}

#[test]
fn time_rejects_values_outside_support_or_schedule() {
    let vp = VpLinear::default();
    let u = UniformTime::new(0.1, 0.5).unwrap();
    assert!(matches!(
        u.time(0.6, &vp),
        Err(NoiseLevelError::OutOfSupport { .. })
    ));
    assert!(matches!(
        u.time(f64::NAN, &vp),
        Err(NoiseLevelError::NonFinite { .. })
    ));
    let wide = UniformTime::new(0.0, 80.0).unwrap();
    assert!(matches!(
        wide.time(40.0, &vp),
        Err(NoiseLevelError::OutsideSchedule { .. })
    ));
    let ln = LogNormalSigma::default();
    assert!(matches!(
        ln.time(100.0, &Edm::default()),
        Err(NoiseLevelError::Schedule(_))
    ));
    assert!(matches!(
        ln.time(0.0, &vp),
        Err(NoiseLevelError::OutOfSupport { .. })
    ));
    let d = DiscreteTimesteps::new(10).unwrap();
    assert!(matches!(
        d.time(2.5, &vp),
        Err(NoiseLevelError::NotAnInteger { .. })
    ));
    assert!(matches!(
        d.time(10.0, &vp),
        Err(NoiseLevelError::OutOfSupport { .. })
    ));
}

#[test]
fn uniform_time_rejects_misordered_negative_and_non_finite_ends() {
    assert!(matches!(
        UniformTime::new(0.5, 0.5),
        Err(NoiseLevelError::Misordered { .. })
    ));
    assert!(matches!(
        UniformTime::new(0.7, 0.2),
        Err(NoiseLevelError::Misordered { .. })
    ));
    assert!(matches!(
        UniformTime::new(-0.1, 1.0),
        Err(NoiseLevelError::Negative { name: "t_min", .. })
    ));
    assert!(matches!(
        UniformTime::new(0.0, f64::INFINITY),
        Err(NoiseLevelError::NonFinite { name: "t_max", .. })
    ));
}

#[test]
fn log_normal_sigma_rejects_non_positive_std_and_non_finite_mean() {
    assert!(matches!(
        LogNormalSigma::new(-1.2, 0.0),
        Err(NoiseLevelError::NonPositive { name: "p_std", .. })
    ));
    assert!(matches!(
        LogNormalSigma::new(-1.2, -1.0),
        Err(NoiseLevelError::NonPositive { name: "p_std", .. })
    ));
    assert!(matches!(
        LogNormalSigma::new(f64::NAN, 1.0),
        Err(NoiseLevelError::NonFinite { name: "p_mean", .. })
    ));
}

#[test]
fn logit_normal_rejects_non_positive_scale_and_bad_interval() {
    assert!(matches!(
        LogitNormalTime::new(0.0, 0.0, 0.0, 1.0),
        Err(NoiseLevelError::NonPositive { name: "s", .. })
    ));
    assert!(matches!(
        LogitNormalTime::new(f64::INFINITY, 1.0, 0.0, 1.0),
        Err(NoiseLevelError::NonFinite { name: "m", .. })
    ));
    assert!(matches!(
        LogitNormalTime::new(0.0, 1.0, 1.0, 0.0),
        Err(NoiseLevelError::Misordered { .. })
    ));
}

#[test]
fn discrete_timesteps_reject_zero_steps() {
    assert!(matches!(
        DiscreteTimesteps::new(0),
        Err(NoiseLevelError::ZeroCount { .. })
    ));
}

#[test]
fn likelihood_importance_rejects_infinite_lambda_and_ranges_outside_the_schedule() {
    // σ(0) = 0 on VP linear: λ(0) = +∞.
    assert!(matches!(
        LikelihoodImportance::new(vp_linear(), 0.0, 1.0),
        Err(NoiseLevelError::LambdaRange { .. })
    ));
    // α(1) = 0 on the cosine schedule: λ(1) = −∞.
    assert!(matches!(
        LikelihoodImportance::new(Arc::new(VpCosine::default()), 1e-3, 1.0),
        Err(NoiseLevelError::LambdaRange { .. })
    ));
    assert!(matches!(
        LikelihoodImportance::new(vp_linear(), 1e-3, 2.0),
        Err(NoiseLevelError::OutsideSchedule { .. })
    ));
    assert!(matches!(
        LikelihoodImportance::new(vp_linear(), 0.5, 0.1),
        Err(NoiseLevelError::Misordered { .. })
    ));
    // A flow path (data at t = 1) is accepted: λ is monotone there too.
    let flow = LikelihoodImportance::new(Arc::new(CondOt::new()), 0.01, 0.99).unwrap();
    assert!(flow.density(0.5) > 0.0 && (flow.cdf(0.5) - 0.5).abs() < 1e-12);
}

#[test]
fn importance_weight_rejects_mismatched_variables_and_zero_proposal_density() {
    let u = UniformTime::new(0.1, 0.5).unwrap();
    let ln = LogNormalSigma::default();
    assert!(matches!(
        importance_weight(&u, &ln, 0.3),
        Err(NoiseLevelError::VariableMismatch {
            target: NoiseVariable::Time,
            proposal: NoiseVariable::Sigma
        })
    ));
    let wide = UniformTime::new(0.0, 1.0).unwrap();
    assert!(matches!(
        importance_weight(&wide, &u, 0.9),
        Err(NoiseLevelError::ZeroProposalDensity { .. })
    ));
    assert!(matches!(
        importance_weight(&wide, &u, f64::NAN),
        Err(NoiseLevelError::NonFinite { .. })
    ));
}
