//! A non-finite loss stops the run with the step it happened at and leaves the last good
//! checkpoint in place (`on_nonfinite = "stop"`), or is skipped and counted (`"skip"`), the
//! weights staying finite.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use scoreflow_train::TrainError;
use scoreflow_train::checkpoint::{RunDir, load_trained};
use scoreflow_train::config::RunConfig;
use scoreflow_train::trainer::{RunOptions, train};

/// A learning rate so large that the weights overflow within a few dozen steps.
fn config(policy: &str) -> RunConfig {
    RunConfig::from_toml_str(&format!(
        r#"
        [data]
        spec = "toy:moons"
        points = 512
        [model]
        kind = "mlp"
        hidden = 16
        depth = 1
        [objective]
        kind = "i-cfm"
        [train]
        steps = 60
        batch = 32
        lr = 1e30
        clip = 0.0
        log_every = 1
        checkpoint_every = 1
        keep = 100
        on_nonfinite = "{policy}"
        "#
    ))
    .unwrap()
}

fn options(dir: &std::path::Path) -> RunOptions {
    RunOptions {
        out: dir.to_path_buf(),
        resume: false,
        device: Device::flex(),
        quiet: true,
        stop_after: None,
    }
}

fn all_finite(model: &impl Module) -> bool {
    struct V(bool);
    impl ModuleVisitor for V {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
            let values = p
                .val()
                .into_data()
                .convert::<f64>()
                .try_into_vec::<f64>()
                .unwrap();
            self.0 &= values.iter().all(|v| v.is_finite());
        }
    }
    let mut v = V(true);
    model.visit(&mut v);
    v.0
}

#[test]
fn a_non_finite_loss_stops_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let err = train(&config("stop"), &options(dir.path())).unwrap_err();
    let TrainError::NonFinite { step, what } = err else {
        panic!("expected a non-finite stop, got {err}");
    };
    assert!(step > 1 && step <= 60, "step {step}");
    assert!(err_line(&TrainError::NonFinite { step, what }));
    let files = RunDir::new(dir.path()).checkpoints();
    let last = files.last().expect("checkpoints before the failure");
    assert!(last.step < step, "no checkpoint at or after step {step}");
    let model = load_trained(dir.path(), &Device::flex(), true).unwrap();
    assert!(all_finite(&model.network));
}

fn err_line(e: &TrainError) -> bool {
    let text = e.to_string();
    !text.contains('\n') && text.contains("not finite")
}

#[test]
fn skip_counts_non_finite_steps_and_keeps_the_weights_finite() {
    let dir = tempfile::tempdir().unwrap();
    let summary = train(&config("skip"), &options(dir.path())).unwrap();
    assert_eq!(summary.step, 60);
    assert!(summary.skipped > 0, "the learning rate should overflow");
    let model = load_trained(dir.path(), &Device::flex(), true).unwrap();
    assert!(all_finite(&model.network));
    let last: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.path().join("metrics.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["skipped"].as_u64(), Some(summary.skipped));
}
