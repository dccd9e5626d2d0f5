//! Classifier-free guidance on a class-conditional network: the one batched call on [x; x] with
//! labels [y; ∅] returns what two separate calls return, the guided denoiser and velocity are
//! the algebraic combinations D∅ + w(D_c − D∅) (w = 1 the conditional model, w = 0 the
//! unconditional one), and sampling with w = 1 / w = 0 is sampling the conditional / the
//! null-class model.

use burn::prelude::*;
use scoreflow_ode_sde_solvers::Denoiser;
use scoreflow_score_matching::guidance::{ClassifierFree, PairedDenoiser};
use scoreflow_train::config::{ModelConfig, ObjectiveConfig};
use scoreflow_train::denoiser::{ModelView, NetDenoiser, velocity};
use scoreflow_train::guidance::{Guidance, PairedNetDenoiser, guided_velocity, paired_labels};
use scoreflow_train::model::Network;
use scoreflow_train::objective::Objective;
use scoreflow_train::sampling::{GridKind, SampleRequest, sample, standard_normals};

const CLASSES: usize = 3;
const D: usize = 2;

fn network(conditional: bool) -> Network {
    let config = ModelConfig::Mlp {
        hidden: 32,
        depth: 2,
        time_features: 16,
    };
    let classes = conditional.then_some(CLASSES);
    Network::build_seeded(&config, &[D], classes, &Device::flex(), 3).unwrap()
}

fn view(kind: &str) -> ModelView {
    Objective::build(&ObjectiveConfig::from_kind(kind).unwrap())
        .unwrap()
        .view()
}

fn points(n: usize) -> Tensor<2> {
    let values: Vec<f32> = (0..n * D)
        .map(|i| ((i as f32) * 0.618).sin() * 1.7)
        .collect();
    Tensor::from_data(TensorData::new(values, [n, D]), &Device::flex())
}

fn labels(values: &[i64]) -> Tensor<1, Int> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len()]),
        &Device::flex(),
    )
}

fn host(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let err = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(err <= tol, "{what}: max |Δ| = {err:e} > {tol:e}");
}

#[test]
fn one_batched_call_gives_both_predictions_and_cfg_is_their_combination() {
    let net = network(true);
    let view = view("edm");
    let y = labels(&[0, 2, 1, 2, 0]);
    let null = labels(&[CLASSES as i64; 5]);
    let x = points(5);
    let sigma = 1.3;
    let single = |l: &Tensor<1, Int>| {
        host(
            NetDenoiser {
                network: &net,
                view: &view,
                labels: Some(l.clone()),
            }
            .denoise(&x, sigma)
            .unwrap(),
        )
    };
    let (d_c, d_u) = (single(&y), single(&null));
    let pair = PairedNetDenoiser {
        network: &net,
        view: &view,
        labels: paired_labels(&net, &y).unwrap(),
    };
    let (pc, pu) = pair.denoise_pair(&x, sigma).unwrap();
    assert_close(&host(pc), &d_c, 1e-5, "conditional half");
    assert_close(&host(pu), &d_u, 1e-5, "unconditional half");
    for w in [0.0, 1.0, 2.5, -0.5] {
        let cfg = ClassifierFree {
            model: &pair,
            scale: w,
            rescale: None,
            interval: None,
        };
        let got = host(cfg.denoise(&x, sigma).unwrap());
        let want: Vec<f64> = d_u.iter().zip(&d_c).map(|(u, c)| u + w * (c - u)).collect();
        assert_close(&got, &want, 1e-5, &format!("CFG at w = {w}"));
    }
}

#[test]
fn guided_velocity_combines_and_respects_the_interval() {
    let net = network(true);
    let view = view("i-cfm");
    let y = labels(&[1, 0, 2, 1]);
    let null = labels(&[CLASSES as i64; 4]);
    let pair = paired_labels(&net, &y).unwrap();
    let x = points(4);
    let t = 0.4;
    let v_c = host(velocity(&net, &view, Some(&y), &x, t).unwrap());
    let v_u = host(velocity(&net, &view, Some(&null), &x, t).unwrap());
    let ModelView::Flow { path, .. } = &view else {
        panic!("i-cfm is a flow")
    };
    let sigma = path.schedule().edm_sigma(t);
    let w = 3.0;
    let inside = Guidance {
        scale: w,
        rescale: None,
        interval: Some((0.5 * sigma, sigma)),
    };
    let got = host(guided_velocity(&net, &view, &pair, &inside, &x, t).unwrap());
    let want: Vec<f64> = v_u.iter().zip(&v_c).map(|(u, c)| u + w * (c - u)).collect();
    assert_close(&got, &want, 1e-5, "guided at the interval's upper edge");
    // σ̃ = lo is outside (lo, hi]: the conditional velocity.
    let outside = Guidance {
        interval: Some((sigma, 2.0 * sigma)),
        ..inside
    };
    let got = host(guided_velocity(&net, &view, &pair, &outside, &x, t).unwrap());
    assert_close(&got, &v_c, 1e-5, "unguided at the interval's lower edge");
}

fn request(sampler: &str, guidance: Option<Guidance>) -> SampleRequest {
    SampleRequest {
        sampler: sampler.into(),
        steps: 6,
        grid: GridKind::Karras { rho: 7.0 },
        sigma_min: None,
        sigma_max: None,
        seed: 5,
        options: Default::default(),
        chunk: 3,
        first_sample: 0,
        guidance,
        moments: None,
    }
}

#[test]
fn sampling_at_w_one_and_zero_is_the_conditional_and_the_null_class_model() {
    let net = network(true);
    let n = 5;
    let z = standard_normals(9, n, D);
    let classes = vec![2u32; n];
    let nulls = vec![CLASSES as u32; n];
    let guided = |w: f64| Guidance {
        scale: w,
        rescale: None,
        interval: None,
    };
    // gauss / fm-gauss take the data's moments: any valid ones do here.
    let moments = std::sync::Arc::new(
        scoreflow_flow_matching::gauss_preconditioned::GaussianMoments::from_covariance(
            ndarray::array![0.2, -0.1],
            &ndarray::array![[1.0, 0.3], [0.3, 0.6]],
        )
        .unwrap(),
    );
    for (kind, sampler) in [
        ("edm", "heun"),
        ("i-cfm", "fm-midpoint"),
        ("edm", "gauss"),
        ("i-cfm", "fm-gauss"),
    ] {
        let view = view(kind);
        let run = |labels: &[u32], g: Option<Guidance>| {
            let request = SampleRequest {
                moments: Some(moments.clone()),
                ..request(sampler, g)
            };
            sample(
                &net,
                &view,
                &[D],
                &z,
                Some(labels),
                &request,
                &Device::flex(),
            )
            .unwrap()
        };
        let conditional = run(&classes, None);
        let unconditional = run(&nulls, None);
        let at_one = run(&classes, Some(guided(1.0)));
        let at_zero = run(&classes, Some(guided(0.0)));
        assert_close(
            &at_one.x,
            &conditional.x,
            1e-4,
            &format!("{kind} {sampler}: w = 1"),
        );
        assert_close(
            &at_zero.x,
            &unconditional.x,
            1e-4,
            &format!("{kind} {sampler}: w = 0"),
        );
        // One (doubled) call per model evaluation: guidance does not change the NFE.
        assert_eq!(at_one.nfe, conditional.nfe, "{kind}");
        let far = run(&classes, Some(guided(4.0)));
        let moved = far
            .x
            .iter()
            .zip(&conditional.x)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(moved > 1e-3, "{kind}: w = 4 must differ from w = 1");
    }
}

#[test]
fn guidance_needs_a_conditional_model_and_a_class() {
    let z = standard_normals(0, 2, D);
    let g = Some(Guidance {
        scale: 2.0,
        rescale: None,
        interval: None,
    });
    let view = view("edm");
    let unconditional = network(false);
    let err = sample(
        &unconditional,
        &view,
        &[D],
        &z,
        Some(&[0, 0]),
        &request("heun", g),
        &Device::flex(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unconditional"), "{err}");
    let conditional = network(true);
    let err = sample(
        &conditional,
        &view,
        &[D],
        &z,
        None,
        &request("heun", g),
        &Device::flex(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("class"), "{err}");
    let bad = Guidance {
        scale: 2.0,
        rescale: Some(1.5),
        interval: None,
    };
    assert!(bad.validate().is_err());
    let bad = Guidance {
        scale: 2.0,
        rescale: None,
        interval: Some((2.0, 1.0)),
    };
    assert!(bad.validate().is_err());
}
