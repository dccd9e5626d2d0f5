//! The data's moments in training and sampling: `data_moments` is the closed-form mean and
//! covariance of the samples it reads, a run stores them in its checkpoints and `load_trained`
//! reads them back bit for bit, and with them `gauss` / `fm-gauss` (and `auto` / `fm-auto`, which
//! are then those) integrate the network's own ODE: they converge to what a fine solve of the
//! same ODE gives, batch size does not change a sample, and without moments they refuse.

use std::path::Path;
use std::sync::Arc;

use burn::prelude::*;
use ndarray::array;
use scoreflow_flow_matching::gauss_preconditioned::GaussianMoments;
use scoreflow_train::checkpoint::load_trained;
use scoreflow_train::config::{ModelConfig, ObjectiveConfig, RunConfig};
use scoreflow_train::data::{ArrayDataset, DataKind, MOMENTS_MAX_DIM, data_moments};
use scoreflow_train::denoiser::ModelView;
use scoreflow_train::model::Network;
use scoreflow_train::objective::Objective;
use scoreflow_train::sampling::{GridKind, SampleRequest, sample, standard_normals};
use scoreflow_train::trainer::{RunOptions, open_dataset, train};

const D: usize = 2;

fn network() -> Network {
    let config = ModelConfig::Mlp {
        hidden: 32,
        depth: 2,
        time_features: 16,
    };
    Network::build_seeded(&config, &[D], None, &Device::flex(), 5).unwrap()
}

fn view(kind: &str) -> ModelView {
    Objective::build(&ObjectiveConfig::from_kind(kind).unwrap())
        .unwrap()
        .view()
}

/// Moments unlike the network's own (random) output, so that the coordinates do real work.
fn moments() -> Arc<GaussianMoments> {
    let sigma = array![[1.5, 0.6], [0.6, 0.8]];
    Arc::new(GaussianMoments::from_covariance(array![0.4, -0.3], &sigma).unwrap())
}

fn request(sampler: &str, steps: usize, chunk: usize, moments: bool) -> SampleRequest {
    SampleRequest {
        sampler: sampler.into(),
        steps,
        grid: GridKind::Karras { rho: 7.0 },
        sigma_min: None,
        sigma_max: None,
        seed: 1,
        options: Default::default(),
        chunk,
        first_sample: 0,
        guidance: None,
        moments: moments.then(self::moments),
    }
}

fn run(net: &Network, view: &ModelView, req: &SampleRequest, z: &[f64]) -> (Vec<f64>, usize) {
    let s = sample(net, view, &[D], z, None, req, &Device::flex()).unwrap();
    (s.x, s.nfe)
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn data_moments_are_the_samples_mean_and_covariance() {
    let n = 300;
    let values: Vec<f32> = (0..n * 3)
        .map(|i| ((i as f32) * 0.37).sin() * 2.0 + (i % 3) as f32 * 5.0)
        .collect();
    let data = ArrayDataset::new(values.clone(), vec![3], None, DataKind::Points);
    let m = data_moments(&data).unwrap().unwrap();
    // Two-pass closed form in f64.
    let x: Vec<[f64; 3]> = values
        .chunks_exact(3)
        .map(|r| [r[0].into(), r[1].into(), r[2].into()])
        .collect();
    let mean: Vec<f64> = (0..3)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n as f64)
        .collect();
    let cov = m.covariance();
    for i in 0..3 {
        assert!((m.mean()[i] - mean[i]).abs() < 1e-12, "mean {i}");
        for j in 0..3 {
            let c = x
                .iter()
                .map(|r| (r[i] - mean[i]) * (r[j] - mean[j]))
                .sum::<f64>()
                / n as f64;
            assert!((cov[(i, j)] - c).abs() < 1e-10, "covariance ({i}, {j})");
        }
    }
    // Samples of more than MOMENTS_MAX_DIM values carry none.
    let wide = ArrayDataset::new(
        vec![0.5; 2 * (MOMENTS_MAX_DIM + 1)],
        vec![MOMENTS_MAX_DIM + 1],
        None,
        DataKind::Points,
    );
    assert!(data_moments(&wide).unwrap().is_none());
}

#[test]
fn checkpoints_store_the_data_moments() {
    let config = RunConfig::from_toml_str(
        r#"
        [data]
        spec = "toy:8gaussians"
        points = 256
        [model]
        kind = "mlp"
        hidden = 16
        depth = 2
        [objective]
        kind = "i-cfm"
        [train]
        steps = 2
        batch = 32
        checkpoint_every = 2
        "#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = RunOptions {
        out: dir.path().to_path_buf(),
        resume: false,
        device: Device::flex(),
        quiet: true,
        stop_after: None,
    };
    train(&config, &options).unwrap();
    let expected = data_moments(open_dataset(&config).unwrap().as_ref())
        .unwrap()
        .unwrap();
    let model = load_trained(Path::new(dir.path()), &Device::flex(), false).unwrap();
    assert_eq!(model.moments.as_deref(), Some(&expected));
}

/// `gauss` and `fm-gauss` solve the network's own ODE: against a fine solve of it (`fm-rk4`;
/// in σ, the moment-free `auto`, which also ends at σ = 0; both from σ_max = 5, where f32
/// roundoff stays far below the errors measured), their RMS error falls at first order in the
/// calls (log-log slope over 50–400 calls). First, not second: their first derivative is the
/// data's (the analytic first step), and this untrained network's velocity at the start misses it
/// by O(1), an O(ε/N) error. `auto` and `fm-auto` with moments are `gauss` and `fm-gauss`.
#[test]
fn gauss_samplers_solve_the_networks_ode() {
    let net = network();
    let n = 12;
    let z = standard_normals(4, n, D);
    let calls = [50usize, 100, 200, 400];
    for (kind, sampler, fine, auto) in [
        ("i-cfm", "fm-gauss", "fm-rk4", "fm-auto"),
        ("edm", "gauss", "auto", "auto"),
    ] {
        let v = view(kind);
        let at = |name: &str, steps: usize, moments: bool| SampleRequest {
            sigma_max: Some(5.0),
            ..request(name, steps, n, moments)
        };
        let (reference, _) = run(&net, &v, &at(fine, 1600, false), &z);
        let log_errors: Vec<(f64, f64)> = calls
            .iter()
            .map(|&c| {
                let (x, nfe) = run(&net, &v, &at(sampler, c, true), &z);
                assert_eq!(nfe, c);
                ((c as f64).ln(), rms(&x, &reference).ln())
            })
            .collect();
        let slope = -least_squares_slope(&log_errors);
        assert!(
            (0.8..=1.2).contains(&slope),
            "{sampler}: order {slope} (log calls, log RMS error: {log_errors:?})"
        );
        let (coarse, _) = run(&net, &v, &at(sampler, 5, true), &z);
        let (same, _) = run(&net, &v, &at(auto, 5, true), &z);
        assert_eq!(coarse, same, "{auto} with moments is {sampler}");
    }
    // Without moments auto is the moment-free configuration of the sampler table.
    let edm = view("edm");
    let (with, _) = run(&net, &edm, &request("auto", 6, n, true), &z);
    let (without, _) = run(&net, &edm, &request("auto", 6, n, false), &z);
    assert_ne!(with, without);
}

fn rms(a: &[f64], b: &[f64]) -> f64 {
    let sum: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
    (sum / a.len() as f64).sqrt()
}

fn least_squares_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

#[test]
fn gauss_samples_do_not_depend_on_the_batch_size() {
    let net = network();
    let z = standard_normals(8, 10, D);
    for (kind, sampler) in [("i-cfm", "fm-gauss"), ("edm", "gauss")] {
        let v = view(kind);
        let (whole, _) = run(&net, &v, &request(sampler, 7, 10, true), &z);
        let (chunked, _) = run(&net, &v, &request(sampler, 7, 3, true), &z);
        let err = max_diff(&whole, &chunked);
        assert!(err < 1e-5, "{sampler}: {err:e}");
    }
}

#[test]
fn gauss_without_moments_or_with_a_grid_file_is_an_error() {
    let net = network();
    let z = standard_normals(0, 4, D);
    for (kind, sampler) in [("i-cfm", "fm-gauss"), ("edm", "gauss-3")] {
        let e = sample(
            &net,
            &view(kind),
            &[D],
            &z,
            None,
            &request(sampler, 5, 4, false),
            &Device::flex(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("mean and covariance"), "{e}");
    }
    let mut req = request("gauss", 2, 4, true);
    req.grid =
        GridKind::Explicit(scoreflow_noise_schedules::SigmaGrid::new(vec![5.0, 1.0, 0.0]).unwrap());
    let e = sample(&net, &view("edm"), &[D], &z, None, &req, &Device::flex());
    assert!(e.err().unwrap().to_string().contains("own uniform grid"));
    // A velocity sampler on a denoiser.
    let e = sample(
        &net,
        &view("edm"),
        &[D],
        &z,
        None,
        &request("fm-gauss", 3, 4, true),
        &Device::flex(),
    );
    assert!(
        e.err()
            .unwrap()
            .to_string()
            .contains("trained as a denoiser")
    );
}
