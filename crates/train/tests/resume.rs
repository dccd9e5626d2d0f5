//! A resumed run is the uninterrupted run: stopping after N steps and resuming gives the same
//! per-step losses and bit-identical weights, EMA and optimiser state as training 2N steps in
//! one go (on the CPU), for a denoising and a flow objective, with gradient accumulation.

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use scoreflow_train::checkpoint::{RunDir, Snapshot};
use scoreflow_train::config::RunConfig;
use scoreflow_train::model::Network;
use scoreflow_train::trainer::{RunOptions, train, train_interleaved};

fn config(objective: &str, accumulation: usize) -> RunConfig {
    RunConfig::from_toml_str(&format!(
        r#"
        [data]
        spec = "toy:8gaussians"
        points = 512
        [model]
        kind = "mlp"
        hidden = 32
        depth = 2
        [objective]
        kind = "{objective}"
        [train]
        steps = 12
        batch = 64
        accumulation = {accumulation}
        lr = 2e-3
        warmup = 3
        lr_schedule = "cosine"
        seed = 7
        log_every = 1
        checkpoint_every = 4
        keep = 10
        ema = {{ kind = "fixed", decay = 0.9 }}
        "#
    ))
    .unwrap()
}

fn options(out: &Path, resume: bool, stop_after: Option<u64>) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        resume,
        device: Device::flex(),
        quiet: true,
        stop_after,
    }
}

/// Every float parameter's bytes, in traversal order.
fn params(model: &impl Module) -> Vec<Vec<u8>> {
    struct V(Vec<Vec<u8>>);
    impl ModuleVisitor for V {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            self.0.push(p.val().to_data().as_bytes().to_vec());
        }
    }
    let mut v = V(Vec::new());
    model.visit(&mut v);
    v.0
}

/// The optimiser state, observed through what it does: one more AdamW step of the same model on
/// the same gradient. Moments, step counts and per-parameter bookkeeping all enter the update,
/// so equal results mean equal state (the record's internal order is a hash map's and is not
/// comparable byte for byte).
fn optimizer_probe(optimizer: burn::optim::ModuleOptimizer, model: &Network) -> Vec<Vec<u8>> {
    let mut optimizer = optimizer;
    let device = Device::flex().autodiff();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.3f32, -1.2, 2.0, 0.5], [2, 2]),
        &device,
    );
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.2f32, 0.7], [2]), &device);
    let out = model.forward_points(x, t, None).unwrap();
    let loss = out.square().sum();
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), model);
    let stepped = optimizer.step(1e-3, model.clone(), grads);
    params(&stepped)
}

/// Parameter bytes, in traversal order.
type Bytes = Vec<Vec<u8>>;

/// Weights, EMA and the optimiser probe of a run's last checkpoint.
fn final_state(dir: &Path, config: &RunConfig) -> (Bytes, Bytes, Bytes) {
    let run = RunDir::new(dir);
    let last = run.checkpoints().pop().expect("a checkpoint");
    let device = Device::flex().autodiff();
    let template = Network::build_seeded(&config.model, &[2], None, &device, 0).unwrap();
    let loaded = RunDir::load(
        &last.path,
        Snapshot {
            model: template.clone(),
            ema: Some(template.valid()),
        },
        burn::optim::AdamWConfig::new().init(),
        &device,
    )
    .unwrap();
    let probe = optimizer_probe(loaded.optimizer, &loaded.snapshot.model);
    (
        params(&loaded.snapshot.model),
        params(loaded.snapshot.ema.as_ref().unwrap()),
        probe,
    )
}

fn check(objective: &str, accumulation: usize) {
    let config = config(objective, accumulation);
    let whole = tempfile::tempdir().unwrap();
    let a = train(&config, &options(whole.path(), false, None)).unwrap();
    assert_eq!(a.step, 12);

    let halves = tempfile::tempdir().unwrap();
    let b1 = train(&config, &options(halves.path(), false, Some(6))).unwrap();
    assert_eq!(b1.step, 6);
    let b2 = train(&config, &options(halves.path(), true, None)).unwrap();
    assert_eq!(b2.step, 12);

    let losses: Vec<f64> = b1.losses.iter().chain(&b2.losses).copied().collect();
    assert_eq!(losses.len(), a.losses.len());
    for (k, (x, y)) in a.losses.iter().zip(&losses).enumerate() {
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{objective}: loss of step {} differs",
            k + 1
        );
    }
    let metrics = |d: &Path| std::fs::read_to_string(d.join("metrics.jsonl")).unwrap();
    let strip = |text: String| -> Vec<String> {
        // Throughput is the only wall-clock field.
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("samples_per_sec");
                v.to_string()
            })
            .collect()
    };
    assert_eq!(strip(metrics(whole.path())), strip(metrics(halves.path())));

    let (model_a, ema_a, opt_a) = final_state(whole.path(), &config);
    let (model_b, ema_b, opt_b) = final_state(halves.path(), &config);
    assert_eq!(model_a, model_b, "{objective}: weights differ");
    assert_eq!(ema_a, ema_b, "{objective}: EMA differs");
    assert_eq!(opt_a, opt_b, "{objective}: optimiser state differs");
    assert_ne!(model_a, ema_a, "the EMA should lag the weights");
}

#[test]
fn resumed_edm_run_is_the_uninterrupted_run() {
    check("edm", 1);
}

#[test]
fn resumed_ot_cfm_run_with_accumulation_is_the_uninterrupted_run() {
    check("ot-cfm", 2);
}

/// `train_interleaved` calls its hook once after every step, in order, and work done there —
/// here draws from the backend's global RNG, which the loop re-seeds every step — leaves the
/// run bit for bit the run `train` makes (what `scoreflow bench-train` relies on when it pairs
/// each loop step with a bare step).
#[test]
fn work_between_steps_leaves_the_run_unchanged() {
    let config = config("edm", 1);
    let plain = tempfile::tempdir().unwrap();
    let a = train(&config, &options(plain.path(), false, None)).unwrap();

    let paired = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    let b = train_interleaved(&config, &options(paired.path(), false, None), &mut |step| {
        seen.push(step);
        let noise = Tensor::<1>::random(
            [64],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &Device::flex(),
        );
        assert!(
            noise
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|v| v.is_finite())
        );
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, (1..=12).collect::<Vec<u64>>());
    assert_eq!(b.step_seconds.len(), 12);
    let bits = |l: &[f64]| l.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.losses), bits(&b.losses));
    assert_eq!(
        final_state(plain.path(), &config),
        final_state(paired.path(), &config)
    );
}
