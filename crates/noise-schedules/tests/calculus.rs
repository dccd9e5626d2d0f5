//! Derivatives against finite differences, and the closed-form SDE coefficients against the
//! generic identities f = α'/α, g² = dσ²/dt − 2fσ² = −2σ² dλ/dt.

mod common;

use common::{Case, all_cases, close, fd4, interior_points, rel_close};

/// Sample points and a step small enough to keep the stencil inside a smooth piece.
fn fd_points(case: &Case) -> Vec<(f64, f64)> {
    let s = case.schedule.as_ref();
    match case.segments {
        Some(n) => {
            let n_f = n as f64;
            let ks: Vec<usize> = [0, 1, 2, n / 7, n / 3, n / 2, 2 * n / 3, n - 3, n - 2, n - 1]
                .into_iter()
                .filter(|&k| k < n)
                .collect();
            ks.into_iter()
                .flat_map(|k| [0.3, 0.5, 0.7].map(|frac| ((k as f64 + frac) / n_f, 0.002 / n_f)))
                .collect()
        }
        None => {
            let (a, b) = s.t_range();
            interior_points(s, 61)
                .into_iter()
                .map(|t| (t, 0.005 * (t - a).min(b - t).min(0.2)))
                .collect()
        }
    }
}

#[test]
fn d_alpha_matches_finite_difference() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for (t, h) in fd_points(&case) {
            let fd = fd4(|x| s.alpha(x), t, h);
            let exact = s.d_alpha(t);
            assert!(
                close(fd, exact, 1e-8),
                "{} t={t}: fd {fd} vs {exact}",
                case.name
            );
        }
    }
}

#[test]
fn d_sigma_matches_finite_difference() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for (t, h) in fd_points(&case) {
            let fd = fd4(|x| s.sigma(x), t, h);
            let exact = s.d_sigma(t);
            assert!(
                close(fd, exact, 1e-8),
                "{} t={t}: fd {fd} vs {exact}",
                case.name
            );
        }
    }
}

#[test]
fn d_lambda_matches_finite_difference() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for (t, h) in fd_points(&case) {
            let fd = fd4(|x| s.lambda(x), t, h);
            let exact = s.d_lambda(t);
            assert!(
                close(fd, exact, 1e-8),
                "{} t={t}: fd {fd} vs {exact}",
                case.name
            );
        }
    }
}

#[test]
fn lambda_equals_log_alpha_minus_log_sigma() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 97) {
            let generic = s.alpha(t).ln() - s.sigma(t).ln();
            assert!(
                close(s.lambda(t), generic, 1e-12),
                "{} t={t}: {} vs {generic}",
                case.name,
                s.lambda(t)
            );
        }
    }
}

#[test]
fn d_lambda_equals_generic_identity() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 97) {
            let generic = s.d_alpha(t) / s.alpha(t) - s.d_sigma(t) / s.sigma(t);
            assert!(
                rel_close(s.d_lambda(t), generic, 1e-12),
                "{} t={t}: {} vs {generic}",
                case.name,
                s.d_lambda(t)
            );
        }
    }
}

#[test]
fn closed_form_f_equals_dlog_alpha() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 97) {
            let generic = s.d_alpha(t) / s.alpha(t);
            assert!(
                close(s.f(t), generic, 1e-12),
                "{} t={t}: f {} vs {generic}",
                case.name,
                s.f(t)
            );
        }
    }
}

#[test]
fn closed_form_g2_equals_sde_identity() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 97) {
            let (sigma, d_sigma) = (s.sigma(t), s.d_sigma(t));
            let f = s.d_alpha(t) / s.alpha(t);
            let generic = 2.0 * sigma * d_sigma - 2.0 * f * sigma * sigma;
            let via_lambda = -2.0 * sigma * sigma * s.d_lambda(t);
            assert!(
                rel_close(s.g2(t), generic, 1e-12),
                "{} t={t}: g2 {} vs {generic}",
                case.name,
                s.g2(t)
            );
            assert!(
                rel_close(s.g2(t), via_lambda, 1e-12),
                "{} t={t}: g2 {} vs −2σ²λ' {via_lambda}",
                case.name,
                s.g2(t)
            );
        }
    }
}

#[test]
fn g2_sign_follows_data_end() {
    use scoreflow_noise_schedules::DataEnd;
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 31) {
            match s.data_end() {
                DataEnd::AtZero => assert!(s.g2(t) > 0.0, "{} t={t}", case.name),
                DataEnd::AtOne => assert!(s.g2(t) < 0.0, "{} t={t}", case.name),
            }
        }
    }
}

#[test]
fn edm_sigma_is_exp_minus_lambda() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 61) {
            let expected = (-s.lambda(t)).exp();
            assert!(
                rel_close(s.edm_sigma(t), expected, 1e-12),
                "{} t={t}: {} vs {expected}",
                case.name,
                s.edm_sigma(t)
            );
        }
    }
}
