//! EMA of weights against its closed forms, and EDM's β schedule against hand-computed values.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::Device;
use burn::tensor::Tensor;
use scoreflow_models::ema::{Ema, EmaError, EmaSchedule};

#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    lin: Linear,
}

impl Net {
    fn new(hidden: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([2, 3], [3, 3]).init(device),
            lin: LinearConfig::new(4, hidden).init(device),
        }
    }
}

fn device() -> Device {
    Device::flex()
}

/// Every float parameter as f64 values, in traversal order.
fn params(model: &impl Module) -> Vec<Vec<f64>> {
    struct V(Vec<Vec<f64>>);
    impl ModuleVisitor for V {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let data = p.val().into_data();
            self.0.push(data.iter::<f32>().map(f64::from).collect());
        }
    }
    let mut v = V(Vec::new());
    model.visit(&mut v);
    v.0
}

/// Max |a − b| / (1 + |b|) over all parameters.
fn max_rel_err(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs() / (1.0 + q.abs()))
        })
        .fold(0.0, f64::max)
}

#[test]
fn fixed_decay_toward_a_constant_model_matches_closed_form() {
    let dev = device();
    let theta0 = Net::new(5, &dev);
    let theta = Net::new(5, &dev);
    let beta = 0.9;
    let n = 25;
    let mut ema = Ema::new(&theta0, EmaSchedule::Fixed { decay: beta }, &dev).unwrap();
    for _ in 0..n {
        assert_eq!(ema.update(&theta, 64).unwrap(), beta);
    }
    // θ_ema,n = βⁿ θ_0 + (1 − βⁿ) θ.
    let bn = beta.powi(n);
    let p0 = params(&theta0);
    let p = params(&theta);
    let expected: Vec<Vec<f64>> = p0
        .iter()
        .zip(&p)
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(x, y)| bn * x + (1.0 - bn) * y)
                .collect()
        })
        .collect();
    let err = max_rel_err(&params(ema.model()), &expected);
    assert!(err < 1e-6, "max rel err {err}");
    assert_eq!(ema.num_updates(), n as u64);
    assert_eq!(ema.nimg(), 64 * n as u64);
}

#[test]
fn fixed_decay_over_a_known_sequence_is_the_exact_weighted_sum() {
    let dev = device();
    let theta0 = Net::new(5, &dev);
    let seq: Vec<Net> = (0..8).map(|_| Net::new(5, &dev)).collect();
    let beta = 0.75;
    let mut ema = Ema::new(&theta0, EmaSchedule::Fixed { decay: beta }, &dev).unwrap();
    for m in &seq {
        ema.update(m, 1).unwrap();
    }
    // θ_ema,n = βⁿ θ_0 + Σ_{k=1..n} (1 − β) β^{n−k} θ_k.
    let n = seq.len() as i32;
    let mut expected: Vec<Vec<f64>> = params(&theta0)
        .into_iter()
        .map(|v| v.into_iter().map(|x| beta.powi(n) * x).collect())
        .collect();
    for (k, m) in seq.iter().enumerate() {
        let w = (1.0 - beta) * beta.powi(n - (k as i32 + 1));
        for (e, p) in expected.iter_mut().zip(params(m)) {
            for (x, y) in e.iter_mut().zip(p) {
                *x += w * y;
            }
        }
    }
    let err = max_rel_err(&params(ema.model()), &expected);
    assert!(err < 1e-6, "max rel err {err}");
}

#[test]
fn decay_zero_copies_and_decay_one_freezes_bit_exactly() {
    let dev = device();
    let a = Net::new(5, &dev);
    let b = Net::new(5, &dev);
    let mut ema = Ema::new(&a, EmaSchedule::Fixed { decay: 1.0 }, &dev).unwrap();
    ema.update(&b, 8).unwrap();
    assert_eq!(params(ema.model()), params(&a));
    ema.update_with_beta(&b, 0.0).unwrap();
    assert_eq!(params(ema.model()), params(&b));
}

/// Hand-computed EDM β = 0.5^(B / max(min(h, nimg·r), 1e-8)) with h = 500 kimg, r = 0.05.
#[test]
fn edm_beta_matches_hand_computed_values() {
    let s = EmaSchedule::edm_default();
    let b = 512;
    // nimg = 0: ramp-up half-life 0 → floor 1e-8 → 0.5^(5.12e10) underflows to exactly 0.
    assert_eq!(s.beta(0, b).unwrap(), 0.0);
    // nimg = 10 240: h = min(5e5, 512) = 512 → β = 0.5^1.
    assert_eq!(s.beta(10_240, b).unwrap(), 0.5);
    // nimg = 5 120: h = 256 → β = 0.5^2.
    assert_eq!(s.beta(5_120, b).unwrap(), 0.25);
    // nimg = 102 400: h = 5120 → β = 0.5^0.1 = 0.93303299153680741598…
    assert!((s.beta(102_400, b).unwrap() - 0.933_032_991_536_807_4).abs() < 1e-15);
    // Ramp-up ends where nimg·0.05 = 5e5, i.e. nimg = 1e7: β = 0.5^(512/5e5) = 0.5^0.001024
    // = exp(−0.001024 ln 2) = 0.99929046912327…; beyond it β stays there.
    let beta_full = 0.999_290_469_123_269_9;
    assert!((s.beta(10_000_000, b).unwrap() - beta_full).abs() < 1e-15);
    assert!((s.beta(200_000_000, b).unwrap() - beta_full).abs() < 1e-15);
    // Just before the end of ramp-up: h = 0.05 · 9 999 488 = 499 974.4 → 0.5^(512/499974.4).
    let h = 499_974.4f64;
    assert!((s.beta(9_999_488, b).unwrap() - 0.5f64.powf(512.0 / h)).abs() < 1e-15);
    // Batch 128 at full half-life: 0.5^(128/5e5) = 0.5^0.000256 = 0.99982257006…
    assert!((s.beta(10_000_000, 128).unwrap() - 0.999_822_570_064_329_8).abs() < 1e-15);
    // No ramp-up: the half-life applies from the first image.
    let s = EmaSchedule::EdmHalfLife {
        halflife_nimg: 1024.0,
        rampup_ratio: None,
    };
    assert!((s.beta(0, 512).unwrap() - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
    assert_eq!(s.beta(0, 2048).unwrap(), 0.25);
}

#[test]
fn edm_ema_uses_images_seen_before_the_step() {
    let dev = device();
    let theta0 = Net::new(5, &dev);
    let theta1 = Net::new(5, &dev);
    let mut ema = Ema::new(&theta0, EmaSchedule::edm_default(), &dev).unwrap();
    // First step: cur_nimg = 0 → β = 0 → the average becomes θ_1 exactly (EDM's lerp at 0).
    assert_eq!(ema.update(&theta1, 512).unwrap(), 0.0);
    assert_eq!(params(ema.model()), params(&theta1));
    assert_eq!(ema.nimg(), 512);
    // Second step: h = 512 · 0.05 = 25.6 → β = 0.5^(512/25.6) = 0.5^20.
    assert_eq!(ema.update(&theta0, 512).unwrap(), 0.5f64.powi(20));
    // Resume: the counter can be restored.
    ema.set_nimg(10_240);
    assert_eq!(ema.update(&theta0, 512).unwrap(), 0.5);
    assert_eq!(ema.nimg(), 10_752);
}

#[test]
fn invalid_schedules_are_typed_errors() {
    for d in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            EmaSchedule::Fixed { decay: d }.validate(),
            Err(EmaError::InvalidDecay(_))
        ));
    }
    for h in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        let s = EmaSchedule::EdmHalfLife {
            halflife_nimg: h,
            rampup_ratio: Some(0.05),
        };
        assert!(matches!(s.validate(), Err(EmaError::InvalidHalfLife(_))));
        assert!(matches!(s.beta(100, 10), Err(EmaError::InvalidHalfLife(_))));
    }
    for r in [0.0, -0.05, f64::NAN] {
        let s = EmaSchedule::EdmHalfLife {
            halflife_nimg: 1e5,
            rampup_ratio: Some(r),
        };
        assert!(matches!(s.validate(), Err(EmaError::InvalidRampup(_))));
    }
    assert_eq!(
        EmaSchedule::edm_default().beta(0, 0),
        Err(EmaError::ZeroBatchSize)
    );

    let dev = device();
    let net = Net::new(5, &dev);
    assert!(matches!(
        Ema::new(&net, EmaSchedule::Fixed { decay: 2.0 }, &dev),
        Err(EmaError::InvalidDecay(_))
    ));
    let mut ema = Ema::new(&net, EmaSchedule::Fixed { decay: 0.5 }, &dev).unwrap();
    assert!(matches!(
        ema.update_with_beta(&net, -1.0),
        Err(EmaError::InvalidDecay(_))
    ));
}

#[test]
fn mismatched_models_are_rejected_without_modification() {
    let dev = device();
    let a = Net::new(5, &dev);
    let b = Net::new(6, &dev);
    let mut ema = Ema::new(&a, EmaSchedule::Fixed { decay: 0.5 }, &dev).unwrap();
    let err = ema.update(&b, 1).unwrap_err();
    assert!(matches!(err, EmaError::StructureMismatch(_)), "{err}");
    assert_eq!(params(ema.model()), params(&a));
    assert_eq!(ema.nimg(), 0);
}

#[test]
fn a_model_on_an_autodiff_device_is_averaged_without_a_graph() {
    let dev = device();
    let ad = dev.clone().autodiff();
    let theta0 = Net::new(5, &ad);
    let theta = Net::new(5, &ad);
    let mut ema = Ema::new(&theta0, EmaSchedule::Fixed { decay: 0.5 }, &ad).unwrap();
    ema.update(&theta, 1).unwrap();
    assert!(!ema.model().lin.weight.val().is_autodiff());
    let expected: Vec<Vec<f64>> = params(&theta0)
        .iter()
        .zip(params(&theta))
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| 0.5 * x + 0.5 * y).collect())
        .collect();
    assert!(max_rel_err(&params(ema.model()), &expected) < 1e-6);
}
