//! Every configuration in examples/configs/ parses, validates and trains: each is run for two
//! steps (smaller batch and network) and its checkpoint sampled, so a config that drifts from
//! the code fails here rather than in a user's hands.

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use scoreflow_train::checkpoint::load_trained;
use scoreflow_train::config::{ModelConfig, RunConfig};
use scoreflow_train::sampling::{GridKind, SampleRequest, sample, standard_normals};
use scoreflow_train::trainer::{RunOptions, train};

fn configs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/configs exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_config_trains_and_samples() {
    let files = configs();
    assert!(files.len() >= 6, "one config per objective family");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut config =
            RunConfig::from_toml_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        config
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Paths in the configs are relative to the repository root.
        if let Some((kind, path)) = config.data.spec.split_once(':')
            && path.starts_with("..")
        {
            let resolved = root.join(path);
            if !resolved.exists() {
                eprintln!(
                    "skipping {}: {} is absent",
                    file.display(),
                    resolved.display()
                );
                continue;
            }
            config.data.spec = format!("{kind}:{}", resolved.display());
        }
        config.train.steps = 2;
        config.train.batch = 8;
        config.train.accumulation = 1;
        config.train.checkpoint_every = 2;
        config.train.grid_every = 0;
        config.train.grid_samples = Some(4);
        config.train.grid_steps = 2;
        config.data.points = config.data.points.min(1000);
        if let ModelConfig::Mlp { hidden, depth, .. } = &mut config.model {
            *hidden = 16;
            *depth = 1;
        }
        let out = tempfile::tempdir().unwrap();
        let options = RunOptions {
            out: out.path().to_path_buf(),
            resume: false,
            device: Device::flex(),
            quiet: true,
            stop_after: None,
        };
        let summary =
            train(&config, &options).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(summary.step, 2);
        assert!(summary.losses.iter().all(|l| l.is_finite()));
        let model = load_trained(out.path(), &Device::flex(), false).unwrap();
        let numel: usize = model.info.sample_shape.iter().product();
        let request = SampleRequest {
            sampler: if config.objective.is_flow() {
                "fm-euler"
            } else {
                "euler"
            }
            .into(),
            steps: 2,
            grid: GridKind::Karras { rho: 7.0 },
            sigma_min: None,
            sigma_max: None,
            seed: 0,
            options: Default::default(),
            chunk: 4,
            first_sample: 0,
            guidance: None,
            moments: model.moments.clone(),
        };
        let z = standard_normals(0, 4, numel);
        let s = sample(
            &model.network,
            &model.view,
            &model.info.sample_shape,
            &z,
            None,
            &request,
            &Device::flex(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(s.x.len(), 4 * numel);
    }
}
