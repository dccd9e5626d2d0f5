//! The DDPM β tables, their cumulative products, zero-terminal-SNR rescaling and the
//! continuous interpolation through the table nodes.

mod common;

use common::rel_close;
use scoreflow_noise_schedules::{BetaSchedule, Discrete, NoiseSchedule, SQUAREDCOS_MAX_BETA};

fn linear() -> Discrete {
    Discrete::new(BetaSchedule::DDPM_LINEAR, 1000).unwrap()
}

/// ᾱ_n recomputed independently: ln(1 − β_i) summed from the largest index down with
/// Kahan compensation, then exponentiated.
fn alpha_bar_log_space(betas: &[f64], n: usize) -> f64 {
    let (mut sum, mut comp) = (0.0f64, 0.0f64);
    for &b in betas[..=n].iter().rev() {
        let y = (1.0 - b).ln() - comp;
        let t = sum + y;
        comp = (t - sum) - y;
        sum = t;
    }
    sum.exp()
}

#[test]
fn linear_betas_follow_ho_et_al() {
    let s = linear();
    let betas = s.betas();
    assert_eq!(betas.len(), 1000);
    assert_eq!(betas[0], 1e-4);
    assert_eq!(betas[999], 0.02);
    for (i, &b) in betas.iter().enumerate() {
        let expected = 1e-4 + (0.02 - 1e-4) * i as f64 / 999.0;
        assert!((b - expected).abs() <= 1e-17, "β_{i} = {b} vs {expected}");
    }
}

#[test]
fn alphas_cumprod_is_the_product() {
    let s = linear();
    let ab = s.alphas_cumprod();
    assert_eq!(ab[0], 1.0 - s.betas()[0]);
    for n in [0, 1, 2, 10, 100, 499, 500, 998, 999] {
        let expected = alpha_bar_log_space(s.betas(), n);
        assert!(
            rel_close(ab[n], expected, 1e-12),
            "ᾱ_{n} = {} vs {expected}",
            ab[n]
        );
    }
    // Known magnitude for the DDPM table: ᾱ_999 ≈ 4.04e-5.
    assert!((ab[999] - 4.035e-5).abs() < 1e-7, "{}", ab[999]);
}

#[test]
fn scaled_linear_is_linear_in_sqrt_beta() {
    let s = Discrete::new(BetaSchedule::STABLE_DIFFUSION, 1000).unwrap();
    let betas = s.betas();
    assert_eq!(betas[0], 0.00085);
    assert_eq!(betas[999], 0.012);
    let (r0, r1) = (0.00085f64.sqrt(), 0.012f64.sqrt());
    for (i, &b) in betas.iter().enumerate() {
        let r = r0 + (r1 - r0) * i as f64 / 999.0;
        assert!(rel_close(b, r * r, 1e-14), "β_{i} = {b} vs {}", r * r);
    }
}

#[test]
fn squaredcos_cap_v2_matches_cosine_alpha_bar() {
    let n = 1000;
    let s = Discrete::new(BetaSchedule::SquaredCosCapV2, n).unwrap();
    let betas = s.betas();
    assert!(betas.iter().all(|&b| b > 0.0 && b <= SQUAREDCOS_MAX_BETA));
    // The last step would destroy all signal (ᾱ(1) ≈ 0); the cap is what limits it.
    assert_eq!(betas[n - 1], SQUAREDCOS_MAX_BETA);
    // Independent form of ᾱ(t): cos(x) = sin(π/2 − x).
    let alpha_bar = |t: f64| {
        let x = std::f64::consts::FRAC_PI_2 * (1.0 - t) / 1.008;
        x.sin().powi(2)
    };
    for i in [0, 1, 250, 500, 900, 990] {
        let t1 = i as f64 / n as f64;
        let t2 = (i + 1) as f64 / n as f64;
        let expected = 1.0 - alpha_bar(t2) / alpha_bar(t1);
        assert!(
            rel_close(betas[i], expected, 1e-10),
            "β_{i} = {} vs {expected}",
            betas[i]
        );
    }
    // ᾱ of the table follows the cosine ᾱ(t)/ᾱ(0) until the cap bites.
    for i in [0, 100, 500, 900] {
        let expected = alpha_bar((i + 1) as f64 / n as f64) / alpha_bar(0.0);
        assert!(rel_close(s.alphas_cumprod()[i], expected, 1e-10));
    }
}

#[test]
fn zero_terminal_snr_rescaling_follows_lin_et_al() {
    for schedule in [BetaSchedule::DDPM_LINEAR, BetaSchedule::STABLE_DIFFUSION] {
        let original = Discrete::new(schedule, 1000).unwrap();
        let rescaled = original.rescale_zero_terminal_snr().unwrap();
        let (ab, ab_new) = (original.alphas_cumprod(), rescaled.alphas_cumprod());
        assert!(rescaled.is_zero_terminal_snr());
        assert!(!original.is_zero_terminal_snr());
        assert!(ab_new[999].abs() <= 1e-15);
        assert!((ab_new[0] - ab[0]).abs() <= 1e-12);
        // Algorithm 1: √ᾱ' = (√ᾱ − √ᾱ_T)·√ᾱ_0/(√ᾱ_0 − √ᾱ_T).
        let (a0, at) = (ab[0].sqrt(), ab[999].sqrt());
        for n in [1, 10, 300, 700, 998] {
            let expected = (ab[n].sqrt() - at) * a0 / (a0 - at);
            assert!(
                rel_close(ab_new[n].sqrt(), expected, 1e-11),
                "n={n}: {} vs {expected}",
                ab_new[n].sqrt()
            );
        }
        assert_eq!(rescaled.betas()[999], 1.0);
        // Rescaling an already zero-terminal table changes nothing.
        let twice = rescaled.rescale_zero_terminal_snr().unwrap();
        for (a, b) in twice.alphas_cumprod().iter().zip(ab_new) {
            assert!((a - b).abs() <= 1e-14);
        }
    }
}

#[test]
fn interpolation_passes_through_nodes() {
    let tables = [
        linear(),
        Discrete::new(BetaSchedule::STABLE_DIFFUSION, 1000).unwrap(),
        Discrete::new(BetaSchedule::SquaredCosCapV2, 1000).unwrap(),
        linear().rescale_zero_terminal_snr().unwrap(),
        Discrete::new(BetaSchedule::DDPM_LINEAR, 13).unwrap(),
    ];
    for s in &tables {
        let n_steps = s.num_train_timesteps();
        for (n, &ab) in s.alphas_cumprod().iter().enumerate() {
            let t_n = (n + 1) as f64 / n_steps as f64;
            assert_eq!(s.t_from_timestep(n as f64), t_n);
            let alpha = s.alpha(t_n);
            if ab == 0.0 {
                assert_eq!(alpha, 0.0);
            } else {
                assert!(
                    rel_close(alpha * alpha, ab, 1e-12),
                    "n={n}: {} vs {ab}",
                    alpha * alpha
                );
            }
        }
    }
}

#[test]
fn interpolation_is_log_linear_between_nodes() {
    let s = linear();
    let ab = s.alphas_cumprod();
    for n in [3usize, 400, 800] {
        let (t0, t1) = ((n + 1) as f64 / 1000.0, (n + 2) as f64 / 1000.0);
        let mid = 0.5 * (t0 + t1);
        // ln α at the midpoint is the mean of the node values: α(mid)² = √(ᾱ_n ᾱ_{n+1}).
        let expected = (ab[n] * ab[n + 1]).sqrt();
        assert!(rel_close(s.alpha(mid).powi(2), expected, 1e-12));
        // Continuity across the node: left and right limits agree.
        let eps = 1e-12;
        assert!(rel_close(s.alpha(t0 - eps), s.alpha(t0 + eps), 1e-9));
    }
}

#[test]
fn start_is_clean_data() {
    for s in [linear(), linear().rescale_zero_terminal_snr().unwrap()] {
        assert_eq!(s.alpha(0.0), 1.0);
        assert_eq!(s.sigma(0.0), 0.0);
        assert_eq!(s.lambda(0.0), f64::INFINITY);
        // α stays ≤ 1 below the first node (no extrapolation past ᾱ = 1).
        for t in [1e-6, 1e-4, 5e-4, 9.99e-4] {
            assert!(s.alpha(t) < 1.0 && s.sigma(t) > 0.0);
        }
    }
}

#[test]
fn zero_terminal_snr_is_finite_before_one() {
    let s = Discrete::new(BetaSchedule::STABLE_DIFFUSION, 1000)
        .unwrap()
        .rescale_zero_terminal_snr()
        .unwrap();
    assert_eq!(s.alpha(1.0), 0.0);
    assert_eq!(s.sigma(1.0), 1.0);
    assert_eq!(s.lambda(1.0), f64::NEG_INFINITY);
    assert_eq!(s.edm_sigma(1.0), f64::INFINITY);
    assert!(!s.d_alpha(1.0).is_nan());
    assert!(!s.d_sigma(1.0).is_nan());
    let ts = (0..=200).map(|i| 0.995 + 0.005 * i as f64 / 201.0);
    for t in ts.chain([0.5, 0.9, 0.998_999, 0.999, 0.999_000_1]) {
        let values = [
            s.alpha(t),
            s.sigma(t),
            s.d_alpha(t),
            s.d_sigma(t),
            s.lambda(t),
            s.d_lambda(t),
            s.f(t),
            s.g2(t),
        ];
        assert!(values.iter().all(|v| v.is_finite()), "t={t}: {values:?}");
        assert!(s.alpha(t) > 0.0 && s.sigma(t) < 1.0);
    }
    // Linear α on the tail: α(1 − h/2) is half the node value α((N − 1)/N).
    let node = s.alpha(0.999);
    assert!(rel_close(s.alpha(0.9995), 0.5 * node, 1e-12));
}

#[test]
fn sigmas_are_k_diffusion_noise_levels() {
    let s = linear();
    let sigmas = s.sigmas();
    for (n, (&sig, &ab)) in sigmas.iter().zip(s.alphas_cumprod()).enumerate() {
        assert!(rel_close(sig * sig, (1.0 - ab) / ab, 1e-14));
        // σ_n is e^{−λ} of the interpolated schedule at the node.
        let t_n = s.t_from_timestep(n as f64);
        assert!(rel_close(s.edm_sigma(t_n), sig, 1e-10), "n={n}");
    }
    assert!(sigmas.windows(2).all(|w| w[1] > w[0]));
    let zero = s.rescale_zero_terminal_snr().unwrap();
    assert_eq!(*zero.sigmas().last().unwrap(), f64::INFINITY);
}

#[test]
fn timestep_and_t_are_inverse() {
    let s = linear();
    for n in [0.0, 1.0, 499.5, 999.0] {
        assert!((s.timestep_from_t(s.t_from_timestep(n)) - n).abs() < 1e-9);
    }
}
