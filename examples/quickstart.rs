//! The first five minutes: train an EDM score model and an I-CFM flow model (the residual MLP)
//! on the 8-Gaussian ring on the CPU, sample each with several samplers, and compare the samples
//! with exact ones by the sliced Wasserstein-2 distance, beside the floor of two exact samples.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```
//!
//! Writes `quickstart-out/` (the two runs' checkpoints and metrics, `edm.png`, `i-cfm.png`:
//! samples over exact ones) and prints a table. Training takes about a minute per model on two
//! cores; the acceptance bar is `heun` at 20 steps and `fm-midpoint` at 10 steps within twice the
//! exact-vs-exact floor.

use std::path::Path;
use std::time::Instant;

/// burn's CPU backends allocate a fresh buffer per tensor operation; mimalloc reuses them
/// (docs/architecture.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use burn::prelude::Device;
use scoreflow::score::analytic::GaussianMixture;
use scoreflow::train::checkpoint::load_trained;
use scoreflow::train::config::RunConfig;
use scoreflow::train::metrics::{SlicedW2, write_scatter};
use scoreflow::train::sampling::{GridKind, SampleRequest, sample, standard_normals};
use scoreflow::train::trainer::{RunOptions, train};

/// Points compared per sampler (and in each exact sample).
const N: usize = 4000;
/// Random directions of the sliced W₂ estimate.
const DIRECTIONS: usize = 256;

fn config(objective: &str) -> RunConfig {
    // ring8: 8 components of std 0.5 on a circle of radius 4 (data std ≈ 2.87).
    let objective = match objective {
        "edm" => "kind = \"edm\"\nsigma_data = 2.87".to_owned(),
        other => format!("kind = \"{other}\""),
    };
    RunConfig::from_toml_str(&format!(
        r#"
        [data]
        spec = "mixture:ring8"
        points = 100000
        [model]
        kind = "mlp"
        hidden = 128
        depth = 3
        [objective]
        {objective}
        [train]
        steps = 5000
        batch = 512
        lr = 2e-3
        warmup = 100
        lr_schedule = "cosine"
        ema = {{ kind = "fixed", decay = 0.999 }}
        log_every = 500
        checkpoint_every = 5000
        seed = 0
        "#
    ))
    .expect("the quickstart configuration is valid")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new("quickstart-out");
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    let device = Device::flex();
    let target = GaussianMixture::builtin("ring8")?;
    let exact = target.sample(N, 1);
    let sw2 = SlicedW2::new(&exact, 2, DIRECTIONS, 7);
    let floor = sw2
        .distance(&target.sample(N, 2))
        .expect("two samples of equal size");
    println!(
        "sliced W₂ to {N} exact samples ({DIRECTIONS} directions); exact-vs-exact floor {floor:.4}\n"
    );
    println!(
        "{:<8} {:<14} {:>5} {:>5} {:>9} {:>9}",
        "model", "sampler", "steps", "NFE", "SW₂", "×floor"
    );
    // The bar of the quickstart: the first sampler of each model within twice the floor.
    let mut misses = Vec::new();
    for (objective, samplers) in [
        (
            "edm",
            vec![
                ("heun", 20),
                ("euler", 40),
                ("dpmpp-2m", 20),
                ("dpmpp-2m-sde", 40),
                ("auto", 10),
            ],
        ),
        (
            "i-cfm",
            vec![
                ("fm-midpoint", 10),
                ("fm-euler", 40),
                ("fm-rk4", 5),
                ("heun", 20),
                ("fm-auto", 10),
            ],
        ),
    ] {
        let dir = out.join(objective);
        let started = Instant::now();
        train(
            &config(objective),
            &RunOptions {
                out: dir.clone(),
                resume: false,
                device: device.clone(),
                quiet: false,
                stop_after: None,
            },
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let model = load_trained(&dir, &device, false)?;
        for (i, (sampler, steps)) in samplers.iter().enumerate() {
            let request = SampleRequest {
                sampler: (*sampler).into(),
                steps: *steps,
                grid: GridKind::Karras { rho: 7.0 },
                sigma_min: None,
                sigma_max: None,
                seed: 11,
                options: Default::default(),
                chunk: N,
                first_sample: 0,
                guidance: None,
                moments: model.moments.clone(),
            };
            let z = standard_normals(3, N, 2);
            let s = sample(
                &model.network,
                &model.view,
                &[2],
                &z,
                None,
                &request,
                &device,
            )?;
            let d = sw2.distance(&s.x).expect("equal sizes");
            println!(
                "{objective:<8} {sampler:<14} {steps:>5} {:>5} {d:>9.4} {:>9.2}",
                s.nfe,
                d / floor
            );
            if i == 0 {
                write_scatter(
                    &out.join(format!("{objective}.png")),
                    &s.x,
                    Some(&exact),
                    2,
                    600,
                )?;
                if d > 2.0 * floor {
                    misses.push(format!("{objective} with {sampler} at {steps} steps"));
                }
            }
        }
        println!("         (trained in {seconds:.1} s)");
    }
    println!(
        "\nwrote {}/edm.png and {}/i-cfm.png",
        out.display(),
        out.display()
    );
    if misses.is_empty() {
        println!("heun at 20 steps and fm-midpoint at 10 steps are within 2× the floor");
        Ok(())
    } else {
        Err(format!("beyond 2× the floor: {}", misses.join(", ")).into())
    }
}
