//! Invalid parameters produce the documented error variant.

use scoreflow_noise_schedules::{
    BetaSchedule, Discrete, Edm, PolynomialPath, ScheduleError, SubVp, Ve, VpCosine, VpLinear,
    VpPath,
};

#[test]
fn linear_beta_schedules_reject_bad_parameters() {
    type Ctor = fn(f64, f64) -> Result<(), ScheduleError>;
    let ctors: [(&str, Ctor); 3] = [
        ("vp", |a, b| VpLinear::new(a, b).map(|_| ())),
        ("sub_vp", |a, b| SubVp::new(a, b).map(|_| ())),
        ("vp_path", |a, b| VpPath::new(a, b).map(|_| ())),
    ];
    for (name, ctor) in ctors {
        assert!(
            matches!(
                ctor(f64::NAN, 20.0),
                Err(ScheduleError::NonFinite {
                    name: "beta_min",
                    ..
                })
            ),
            "{name}"
        );
        assert!(
            matches!(
                ctor(0.1, f64::INFINITY),
                Err(ScheduleError::NonFinite {
                    name: "beta_max",
                    ..
                })
            ),
            "{name}"
        );
        assert!(
            matches!(
                ctor(-0.1, 20.0),
                Err(ScheduleError::Negative {
                    name: "beta_min",
                    ..
                })
            ),
            "{name}"
        );
        assert!(
            matches!(
                ctor(0.0, 0.0),
                Err(ScheduleError::NonPositive {
                    name: "beta_max",
                    ..
                })
            ),
            "{name}"
        );
        assert!(
            matches!(
                ctor(20.0, 0.1),
                Err(ScheduleError::Misordered {
                    low: "beta_min",
                    ..
                })
            ),
            "{name}"
        );
        assert!(ctor(0.1, 0.1).is_ok(), "{name}: constant β is legitimate");
    }
}

#[test]
fn ve_rejects_bad_sigmas() {
    assert!(matches!(
        Ve::new(-0.01, 50.0),
        Err(ScheduleError::NonPositive {
            name: "sigma_min",
            ..
        })
    ));
    assert!(matches!(
        Ve::new(0.0, 50.0),
        Err(ScheduleError::NonPositive { .. })
    ));
    assert!(matches!(
        Ve::new(0.01, -50.0),
        Err(ScheduleError::NonPositive {
            name: "sigma_max",
            ..
        })
    ));
    assert!(matches!(
        Ve::new(50.0, 0.01),
        Err(ScheduleError::Misordered {
            low: "sigma_min",
            high: "sigma_max",
            ..
        })
    ));
    assert!(matches!(
        Ve::new(1.0, 1.0),
        Err(ScheduleError::Misordered { .. })
    ));
    assert!(matches!(
        Ve::new(f64::NAN, 1.0),
        Err(ScheduleError::NonFinite { .. })
    ));
}

#[test]
fn single_parameter_schedules_reject_bad_values() {
    assert!(matches!(
        VpCosine::new(-0.008),
        Err(ScheduleError::Negative { name: "s", .. })
    ));
    assert!(matches!(
        VpCosine::new(f64::NAN),
        Err(ScheduleError::NonFinite { .. })
    ));
    assert!(matches!(
        PolynomialPath::new(0.0),
        Err(ScheduleError::NonPositive { name: "n", .. })
    ));
    assert!(matches!(
        PolynomialPath::new(-1.0),
        Err(ScheduleError::NonPositive { .. })
    ));
    assert!(matches!(
        PolynomialPath::new(f64::NAN),
        Err(ScheduleError::NonFinite { .. })
    ));
    assert!(matches!(
        Edm::new(0.0),
        Err(ScheduleError::NonPositive { .. })
    ));
    assert!(matches!(
        Edm::new(f64::INFINITY),
        Err(ScheduleError::NonFinite { .. })
    ));
}

#[test]
fn beta_tables_reject_bad_parameters() {
    assert!(matches!(
        Discrete::new(BetaSchedule::DDPM_LINEAR, 0),
        Err(ScheduleError::TooFewSteps { got: 0, .. })
    ));
    assert!(matches!(
        Discrete::new(BetaSchedule::SquaredCosCapV2, 1),
        Err(ScheduleError::TooFewSteps { got: 1, min: 2, .. })
    ));
    let lin = |beta_start, beta_end| BetaSchedule::Linear {
        beta_start,
        beta_end,
    };
    let scaled = |beta_start, beta_end| BetaSchedule::ScaledLinear {
        beta_start,
        beta_end,
    };
    for make in [lin, scaled] {
        assert!(matches!(
            Discrete::new(make(0.02, 1e-4), 10),
            Err(ScheduleError::Misordered { .. })
        ));
        assert!(matches!(
            Discrete::new(make(0.0, 0.02), 10),
            Err(ScheduleError::NonPositive { .. })
        ));
        assert!(matches!(
            Discrete::new(make(-1e-4, 0.02), 10),
            Err(ScheduleError::NonPositive { .. })
        ));
        assert!(matches!(
            Discrete::new(make(1e-4, 1.0), 10),
            Err(ScheduleError::OutOfRange { .. })
        ));
        assert!(matches!(
            Discrete::new(make(f64::NAN, 0.02), 10),
            Err(ScheduleError::NonFinite { .. })
        ));
    }
    assert!(matches!(
        Discrete::from_betas(vec![0.1, 1.0, 0.2]),
        Err(ScheduleError::OutOfRange { .. })
    ));
    assert!(matches!(
        Discrete::from_betas(vec![0.1, 0.0, 0.2]),
        Err(ScheduleError::OutOfRange { .. })
    ));
    assert!(matches!(
        Discrete::from_betas(vec![0.1, f64::NAN]),
        Err(ScheduleError::NonFinite { .. })
    ));
    // A terminal β of exactly 1 is the zero-terminal-SNR case and is accepted.
    assert!(Discrete::from_betas(vec![0.1, 0.2, 1.0]).is_ok());
    // Products that underflow to 0 before the end cannot be interpolated in ln α.
    let mut tiny = vec![0.999_999; 400];
    tiny.push(0.5);
    assert!(matches!(
        Discrete::from_betas(tiny),
        Err(ScheduleError::DegenerateBetaTable { .. })
    ));
}

#[test]
fn errors_display_the_parameter() {
    let e = Ve::new(50.0, 0.01).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("sigma_min") && msg.contains("sigma_max"),
        "{msg}"
    );
}
