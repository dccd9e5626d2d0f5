//! ScheduleConfig: JSON round trips, defaults, and bad configurations.

mod common;

use scoreflow_noise_schedules::{
    BetaSchedule, CondOt, CosinePath, Discrete, Edm, NoiseSchedule, PolynomialPath, ScheduleConfig,
    ScheduleError, SubVp, Ve, VpCosine, VpLinear, VpPath,
};

fn every_variant() -> Vec<ScheduleConfig> {
    vec![
        ScheduleConfig::VpLinear {
            beta_min: 0.2,
            beta_max: 15.0,
        },
        ScheduleConfig::VpCosine { s: 0.01 },
        ScheduleConfig::SubVp {
            beta_min: 0.1,
            beta_max: 20.0,
        },
        ScheduleConfig::Ve {
            sigma_min: 0.02,
            sigma_max: 100.0,
        },
        ScheduleConfig::Edm { sigma_max: 120.0 },
        ScheduleConfig::CondOt {},
        ScheduleConfig::PolynomialPath { n: 2.5 },
        ScheduleConfig::CosinePath {},
        ScheduleConfig::VpPath {
            beta_min: 0.1,
            beta_max: 19.0,
        },
        ScheduleConfig::Discrete {
            beta_schedule: BetaSchedule::STABLE_DIFFUSION,
            num_train_timesteps: 1000,
            rescale_betas_zero_snr: true,
        },
        ScheduleConfig::Discrete {
            beta_schedule: BetaSchedule::SquaredCosCapV2,
            num_train_timesteps: 500,
            rescale_betas_zero_snr: false,
        },
        ScheduleConfig::Discrete {
            beta_schedule: BetaSchedule::Linear {
                beta_start: 2e-4,
                beta_end: 0.03,
            },
            num_train_timesteps: 100,
            rescale_betas_zero_snr: false,
        },
    ]
}

/// Two schedules are the same if they print the same and agree at many t, bit for bit.
fn assert_same(a: &dyn NoiseSchedule, b: &dyn NoiseSchedule) {
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert_eq!(a.t_range(), b.t_range());
    assert_eq!(a.data_end(), b.data_end());
    let (lo, hi) = a.t_range();
    for i in 0..=64 {
        let t = lo + (hi - lo) * i as f64 / 64.0;
        for (x, y) in [
            (a.alpha(t), b.alpha(t)),
            (a.sigma(t), b.sigma(t)),
            (a.d_alpha(t), b.d_alpha(t)),
            (a.d_sigma(t), b.d_sigma(t)),
            (a.g2(t), b.g2(t)),
        ] {
            assert!(x.to_bits() == y.to_bits(), "{a:?} t={t}: {x} vs {y}");
        }
    }
}

#[test]
fn json_round_trip_rebuilds_identical_schedule() {
    for cfg in every_variant() {
        let json = serde_json::to_string(&cfg).unwrap();
        let back: ScheduleConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cfg, "{json}");
        assert_same(
            cfg.build().unwrap().as_ref(),
            back.build().unwrap().as_ref(),
        );
    }
}

#[test]
fn schedules_convert_to_their_config() {
    let pairs: Vec<(ScheduleConfig, Box<dyn NoiseSchedule>)> = vec![
        (
            VpLinear::new(0.3, 12.0).unwrap().into(),
            Box::new(VpLinear::new(0.3, 12.0).unwrap()),
        ),
        (VpCosine::default().into(), Box::<VpCosine>::default()),
        (SubVp::default().into(), Box::<SubVp>::default()),
        (Ve::default().into(), Box::<Ve>::default()),
        (Edm::default().into(), Box::<Edm>::default()),
        (CondOt.into(), Box::new(CondOt)),
        (
            PolynomialPath::new(3.0).unwrap().into(),
            Box::new(PolynomialPath::new(3.0).unwrap()),
        ),
        (CosinePath.into(), Box::new(CosinePath)),
        (VpPath::default().into(), Box::<VpPath>::default()),
    ];
    for (cfg, schedule) in pairs {
        assert_same(cfg.build().unwrap().as_ref(), schedule.as_ref());
    }
}

#[test]
fn omitted_fields_take_paper_defaults() {
    let cases: Vec<(&str, Box<dyn NoiseSchedule>)> = vec![
        (r#"{"type":"vp_linear"}"#, Box::<VpLinear>::default()),
        (r#"{"type":"vp_cosine"}"#, Box::<VpCosine>::default()),
        (r#"{"type":"sub_vp"}"#, Box::<SubVp>::default()),
        (r#"{"type":"ve"}"#, Box::<Ve>::default()),
        (r#"{"type":"edm"}"#, Box::<Edm>::default()),
        (r#"{"type":"cond_ot"}"#, Box::new(CondOt)),
        (r#"{"type":"cosine_path"}"#, Box::new(CosinePath)),
        (r#"{"type":"vp_path"}"#, Box::<VpPath>::default()),
        (r#"{"type":"discrete"}"#, Box::<Discrete>::default()),
        (
            r#"{"type":"discrete","beta_schedule":{"kind":"scaled_linear"}}"#,
            Box::new(Discrete::new(BetaSchedule::STABLE_DIFFUSION, 1000).unwrap()),
        ),
        (
            r#"{"type":"discrete","beta_schedule":{"kind":"squaredcos_cap_v2"},"num_train_timesteps":250}"#,
            Box::new(Discrete::new(BetaSchedule::SquaredCosCapV2, 250).unwrap()),
        ),
    ];
    for (json, expected) in cases {
        let cfg: ScheduleConfig = serde_json::from_str(json).unwrap();
        assert_same(cfg.build().unwrap().as_ref(), expected.as_ref());
    }
    assert_eq!(VpLinear::default().beta_max(), 20.0);
    assert_eq!(Ve::default().sigma_max(), 50.0);
    assert_eq!(VpCosine::default().s(), 0.008);
}

#[test]
fn malformed_json_is_a_deserialisation_error() {
    for json in [
        r#"{"type":"vp_lineer"}"#,
        r#"{"beta_min":0.1}"#,
        r#"{"type":"vp_linear","beta_mim":0.1}"#,
        r#"{"type":"vp_linear","beta_min":"0.1"}"#,
        r#"{"type":"polynomial_path"}"#,
        r#"{"type":"discrete","num_train_timesteps":-5}"#,
        r#"{"type":"discrete","beta_schedule":{"kind":"cosine"}}"#,
        r#"{"type":"discrete","beta_schedule":{"kind":"linear","beta_begin":0.1}}"#,
        r#"[1, 2]"#,
    ] {
        assert!(
            serde_json::from_str::<ScheduleConfig>(json).is_err(),
            "{json}"
        );
    }
}

#[test]
fn invalid_values_fail_at_build_with_typed_error() {
    let build = |json: &str| {
        serde_json::from_str::<ScheduleConfig>(json)
            .unwrap()
            .build()
            .map(|_| ())
    };
    assert!(matches!(
        build(r#"{"type":"ve","sigma_min":-1.0}"#),
        Err(ScheduleError::NonPositive {
            name: "sigma_min",
            ..
        })
    ));
    assert!(matches!(
        build(r#"{"type":"ve","sigma_min":60.0}"#),
        Err(ScheduleError::Misordered { .. })
    ));
    assert!(matches!(
        build(r#"{"type":"vp_linear","beta_min":30.0}"#),
        Err(ScheduleError::Misordered { .. })
    ));
    assert!(matches!(
        build(r#"{"type":"sub_vp","beta_min":-0.1}"#),
        Err(ScheduleError::Negative { .. })
    ));
    assert!(matches!(
        build(r#"{"type":"polynomial_path","n":0}"#),
        Err(ScheduleError::NonPositive { name: "n", .. })
    ));
    assert!(matches!(
        build(r#"{"type":"vp_cosine","s":-0.5}"#),
        Err(ScheduleError::Negative { .. })
    ));
    assert!(matches!(
        build(r#"{"type":"edm","sigma_max":0}"#),
        Err(ScheduleError::NonPositive { .. })
    ));
    assert!(matches!(
        build(r#"{"type":"discrete","num_train_timesteps":0}"#),
        Err(ScheduleError::TooFewSteps { .. })
    ));
    assert!(matches!(
        build(r#"{"type":"discrete","beta_schedule":{"kind":"linear","beta_end":1.5}}"#),
        Err(ScheduleError::OutOfRange { .. })
    ));
}

#[test]
fn unit_variants_reject_stray_fields() {
    assert!(serde_json::from_str::<ScheduleConfig>(r#"{"type":"cond_ot","n":2}"#).is_err());
    assert!(serde_json::from_str::<ScheduleConfig>(r#"{"type":"cosine_path","s":0.1}"#).is_err());
}
