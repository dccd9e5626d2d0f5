//! t_from_lambda ∘ lambda = id on every schedule, and the edge behaviour of the inverse.

mod common;

use common::{all_cases, close, interior_points, rel_close};
use scoreflow_noise_schedules::{
    BetaSchedule, CondOt, CosinePath, Discrete, NoiseSchedule, PolynomialPath, ScheduleError,
    SubVp, Ve, VpCosine, VpLinear, VpPath,
};

#[test]
fn round_trip_through_lambda() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 193) {
            let back = s.t_from_lambda(s.lambda(t)).unwrap();
            assert!(close(back, t, 1e-12), "{} t={t}: got {back}", case.name);
        }
    }
}

#[test]
fn round_trip_through_edm_sigma() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        for t in interior_points(s, 61) {
            let back = s.t_from_edm_sigma(s.edm_sigma(t)).unwrap();
            assert!(close(back, t, 1e-11), "{} t={t}: got {back}", case.name);
        }
    }
}

#[test]
fn round_trip_near_the_ends() {
    // Close to, but not at, the singular ends; the stable forms keep full precision here.
    let ts = [1e-6, 1e-4, 1e-3, 0.999, 0.9999];
    let schedules: Vec<Box<dyn NoiseSchedule>> = vec![
        Box::<VpLinear>::default(),
        Box::<SubVp>::default(),
        Box::<VpCosine>::default(),
        Box::new(CondOt),
        Box::new(PolynomialPath::new(2.0).unwrap()),
        Box::new(CosinePath),
        Box::<VpPath>::default(),
    ];
    for s in &schedules {
        for &t in &ts {
            let back = s.t_from_lambda(s.lambda(t)).unwrap();
            assert!(close(back, t, 1e-12), "{s:?} t={t}: got {back}");
        }
    }
}

#[test]
fn infinite_lambda_maps_to_the_ends() {
    // λ = +∞ is σ = 0 and λ = −∞ is α = 0, attained exactly at an end of the interval.
    assert_eq!(VpLinear::default().t_from_lambda(f64::INFINITY), Ok(0.0));
    assert_eq!(SubVp::default().t_from_lambda(f64::INFINITY), Ok(0.0));
    assert_eq!(VpCosine::default().t_from_lambda(f64::INFINITY), Ok(0.0));
    assert_eq!(
        VpCosine::default().t_from_lambda(f64::NEG_INFINITY),
        Ok(1.0)
    );
    assert_eq!(CondOt.t_from_lambda(f64::INFINITY), Ok(1.0));
    assert_eq!(CondOt.t_from_lambda(f64::NEG_INFINITY), Ok(0.0));
    assert_eq!(CosinePath.t_from_lambda(f64::NEG_INFINITY), Ok(0.0));
    assert_eq!(CosinePath.t_from_lambda(f64::INFINITY), Ok(1.0));
    assert_eq!(VpPath::default().t_from_lambda(f64::INFINITY), Ok(1.0));
    let zero_snr = Discrete::new(BetaSchedule::DDPM_LINEAR, 1000)
        .unwrap()
        .rescale_zero_terminal_snr()
        .unwrap();
    assert_eq!(zero_snr.t_from_lambda(f64::NEG_INFINITY), Ok(1.0));
    assert_eq!(zero_snr.t_from_lambda(f64::INFINITY), Ok(0.0));
}

#[test]
fn endpoint_lambda_is_accepted_and_beyond_is_rejected() {
    let vp = VpLinear::default();
    assert!(close(vp.t_from_lambda(vp.lambda(1.0)).unwrap(), 1.0, 1e-12));
    assert!(matches!(
        vp.t_from_lambda(vp.lambda(1.0) - 1e-3),
        Err(ScheduleError::LambdaOutOfRange { .. })
    ));
    let ve = Ve::default();
    assert!(close(ve.t_from_lambda(ve.lambda(0.0)).unwrap(), 0.0, 1e-12));
    assert!(close(ve.t_from_lambda(ve.lambda(1.0)).unwrap(), 1.0, 1e-12));
    assert!(matches!(
        ve.t_from_lambda(ve.lambda(0.0) + 0.5),
        Err(ScheduleError::LambdaOutOfRange { .. })
    ));
    assert!(matches!(
        ve.t_from_lambda(ve.lambda(1.0) - 0.5),
        Err(ScheduleError::LambdaOutOfRange { .. })
    ));
    let path = VpPath::default();
    assert!(matches!(
        path.t_from_lambda(path.lambda(0.0) - 1e-3),
        Err(ScheduleError::LambdaOutOfRange { .. })
    ));
    let table = Discrete::default();
    assert!(matches!(
        table.t_from_lambda(table.lambda(1.0) - 1e-3),
        Err(ScheduleError::LambdaOutOfRange { .. })
    ));
}

#[test]
fn nan_lambda_and_bad_edm_sigma_are_errors() {
    for case in all_cases() {
        let s = case.schedule.as_ref();
        assert!(
            matches!(
                s.t_from_lambda(f64::NAN),
                Err(ScheduleError::NonFinite { .. })
            ),
            "{}",
            case.name
        );
        assert!(
            matches!(
                s.t_from_edm_sigma(f64::NAN),
                Err(ScheduleError::NonFinite { .. })
            ),
            "{}",
            case.name
        );
        assert!(
            matches!(
                s.t_from_edm_sigma(-1.0),
                Err(ScheduleError::Negative { .. })
            ),
            "{}",
            case.name
        );
    }
}

#[test]
fn lambda_is_strictly_monotone() {
    // A unique inverse needs a strictly monotone λ; it decreases towards noise.
    for case in all_cases() {
        let s = case.schedule.as_ref();
        let pts = interior_points(s, 401);
        for w in pts.windows(2) {
            let (l0, l1) = (s.lambda(w[0]), s.lambda(w[1]));
            match s.data_end() {
                scoreflow_noise_schedules::DataEnd::AtZero => {
                    assert!(l1 < l0, "{} at {}", case.name, w[1])
                }
                scoreflow_noise_schedules::DataEnd::AtOne => {
                    assert!(l1 > l0, "{} at {}", case.name, w[1])
                }
            }
        }
    }
}

#[test]
fn discrete_tail_round_trip() {
    // The zero-terminal table interpolates α (not ln α) on its last segment.
    let s = Discrete::new(BetaSchedule::STABLE_DIFFUSION, 1000)
        .unwrap()
        .rescale_zero_terminal_snr()
        .unwrap();
    for t in [0.9991, 0.9995, 0.9999, 0.999_999] {
        let back = s.t_from_lambda(s.lambda(t)).unwrap();
        assert!(rel_close(back, t, 1e-12), "t={t}: got {back}");
    }
}
