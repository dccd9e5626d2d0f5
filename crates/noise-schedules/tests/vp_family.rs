//! Structural identities between schedules and values at the ends of their intervals.

mod common;

use common::{close, interior_points, rel_close};
use scoreflow_noise_schedules::{
    CondOt, CosinePath, DataEnd, Edm, NoiseSchedule, PolynomialPath, SubVp, Ve, VpCosine, VpLinear,
    VpPath,
};

#[test]
fn vp_and_sub_vp_share_alpha_and_drift() {
    let (vp, sub) = (
        VpLinear::new(0.1, 20.0).unwrap(),
        SubVp::new(0.1, 20.0).unwrap(),
    );
    for t in interior_points(&vp, 101) {
        assert_eq!(vp.alpha(t), sub.alpha(t));
        assert_eq!(vp.f(t), sub.f(t));
        // sub-VP variance (1 − e^{−B})² never exceeds the VP variance 1 − e^{−B}.
        assert!(sub.sigma(t) <= vp.sigma(t));
        assert!(rel_close(sub.sigma(t), vp.sigma(t).powi(2), 1e-12));
    }
}

#[test]
fn variance_preserving_paths_have_unit_norm() {
    let schedules: Vec<Box<dyn NoiseSchedule>> = vec![
        Box::<VpLinear>::default(),
        Box::<VpCosine>::default(),
        Box::<VpPath>::default(),
        Box::new(CosinePath),
    ];
    for s in &schedules {
        for t in (0..=200).map(|i| i as f64 / 200.0) {
            let (a, b) = (s.alpha(t), s.sigma(t));
            assert!(close(a * a + b * b, 1.0, 1e-14), "{s:?} t={t}");
        }
    }
}

#[test]
fn vp_beta_matches_song_et_al() {
    let vp = VpLinear::default();
    for t in interior_points(&vp, 21) {
        let beta = 0.1 + t * 19.9;
        let b = 0.1 * t + 0.5 * 19.9 * t * t;
        assert!(rel_close(vp.g2(t), beta, 1e-14));
        assert!(rel_close(vp.alpha(t), (-0.5 * b).exp(), 1e-14));
        assert!(rel_close(vp.sigma(t), (1.0 - (-b).exp()).sqrt(), 1e-10));
    }
}

#[test]
fn vp_path_is_time_reversed_vp() {
    let (vp, path) = (
        VpLinear::new(0.1, 20.0).unwrap(),
        VpPath::new(0.1, 20.0).unwrap(),
    );
    for t in interior_points(&vp, 41) {
        assert!(rel_close(path.alpha(t), vp.alpha(1.0 - t), 1e-14));
        assert!(rel_close(path.sigma(t), vp.sigma(1.0 - t), 1e-14));
        assert!(rel_close(path.g2(t), -vp.g2(1.0 - t), 1e-14));
    }
}

#[test]
fn polynomial_n1_is_cond_ot() {
    let p = PolynomialPath::new(1.0).unwrap();
    for t in interior_points(&CondOt, 41) {
        assert!(rel_close(p.alpha(t), CondOt.alpha(t), 1e-15));
        assert!(rel_close(p.sigma(t), CondOt.sigma(t), 1e-14));
        assert!(rel_close(p.g2(t), CondOt.g2(t), 1e-14));
    }
}

#[test]
fn cosine_schedule_matches_nichol_dhariwal() {
    let s = VpCosine::default();
    let f = |t: f64| {
        ((t + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    for t in interior_points(&s, 41) {
        assert!(rel_close(s.alpha(t).powi(2), f(t) / f(0.0), 1e-12));
    }
}

#[test]
fn endpoint_values() {
    let vp = VpLinear::default();
    assert_eq!(
        (vp.alpha(0.0), vp.sigma(0.0), vp.lambda(0.0)),
        (1.0, 0.0, f64::INFINITY)
    );
    let cos = VpCosine::default();
    assert_eq!((cos.alpha(0.0), cos.sigma(0.0)), (1.0, 0.0));
    assert_eq!(
        (cos.alpha(1.0), cos.sigma(1.0), cos.lambda(1.0)),
        (0.0, 1.0, f64::NEG_INFINITY)
    );
    let ve = Ve::default();
    assert!(rel_close(ve.sigma(0.0), 0.01, 1e-15) && rel_close(ve.sigma(1.0), 50.0, 1e-14));
    let edm = Edm::default();
    assert_eq!((edm.sigma(3.0), edm.t_range()), (3.0, (0.0, 80.0)));
    assert_eq!(edm.t_from_edm_sigma(2.5), Ok(2.5));
    assert_eq!((CondOt.alpha(1.0), CondOt.sigma(1.0)), (1.0, 0.0));
    assert_eq!((CosinePath.alpha(1.0), CosinePath.sigma(1.0)), (1.0, 0.0));
    let path = VpPath::default();
    assert_eq!((path.alpha(1.0), path.sigma(1.0)), (1.0, 0.0));
    for s in [
        &CondOt as &dyn NoiseSchedule,
        &CosinePath,
        &path,
        &PolynomialPath::new(2.0).unwrap(),
    ] {
        assert_eq!(s.data_end(), DataEnd::AtOne);
    }
    for s in [
        &vp as &dyn NoiseSchedule,
        &cos,
        &ve,
        &edm,
        &SubVp::default(),
    ] {
        assert_eq!(s.data_end(), DataEnd::AtZero);
    }
}
