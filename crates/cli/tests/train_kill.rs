//! SIGKILL robustness of `scoreflow train`: a run killed at pseudo-random moments (at least five
//! after its first checkpoint, at least one of them while a checkpoint was being written) always
//! leaves a loadable checkpoint behind once the first exists, and `--resume` then finishes it with
//! the uninterrupted run's final weights, EMA and metrics, bit for bit.
//!
//! A checkpoint is written to `checkpoints/.step-NNNNNNNNN.ckpt.tmp-PID-N`, fsynced and renamed
//! (`scoreflow_models::checkpoint`); a kill between the creation of that file and the rename
//! leaves it behind, which is how a kill during a checkpoint write is recognised.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use scoreflow_train::checkpoint::{RunDir, load_trained};

/// Optimiser steps of the run: long enough that the kills (each a fresh process start) do not
/// reach its end before the attempts needed, short enough for a few seconds in all.
const STEPS: u64 = 600;
/// SIGKILL.
const SIGKILL: i32 = 9;

fn config() -> String {
    format!(
        r#"
[data]
spec = "toy:8gaussians"
points = 256
[model]
kind = "mlp"
hidden = 32
depth = 2
time_features = 16
[objective]
kind = "edm"
[train]
steps = {STEPS}
batch = 32
lr = 2e-3
seed = 11
checkpoint_every = 1
keep = 3
log_every = 10
grid_samples = 16
grid_steps = 2
ema = {{ kind = "fixed", decay = 0.95 }}
"#
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary paths")
}

/// `scoreflow train`, fresh with the configuration or resumed from the directory's own
/// config.toml, stdout discarded, stderr kept for failures.
fn spawn(cfg: &Path, out: &Path, resume: bool) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scoreflow"));
    cmd.args(["train", "--quiet", "--out", s(out)]);
    if resume {
        cmd.arg("--resume");
    } else {
        cmd.args(["--config", s(cfg)]);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

/// SplitMix64 (Steele et al. 2014): the test's own deterministic generator.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Leftover temporary files of checkpoint writes.
fn temp_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir.join("checkpoints"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.starts_with(".step-") && name.contains(".ckpt.tmp-"))
                .collect()
        })
        .unwrap_or_default()
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

/// The trained weights, EMA weights and step of a checkpoint (a file, or a directory's newest).
fn weights(path: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, u64) {
    let device = Device::flex();
    let raw = load_trained(path, &device, true)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
    let ema = load_trained(path, &device, false).unwrap();
    assert_eq!(raw.path, ema.path);
    (params(&raw.network), params(&ema.network), raw.step)
}

/// metrics.jsonl without its one wall-clock field.
fn metrics(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("samples_per_sec");
            v.to_string()
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_never_loses_the_run_and_resume_is_exact() {
    let root = tempfile::Builder::new()
        .prefix("train-kill-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let root = root.path();
    let cfg = root.join("run.toml");
    fs::write(&cfg, config()).unwrap();

    // The uninterrupted run, timed to scale the kill delays to this machine.
    let whole = root.join("whole");
    let started = Instant::now();
    let mut child = spawn(&cfg, &whole, false);
    let status = child.wait().unwrap();
    let wall = started.elapsed();
    assert!(status.success(), "{}", stderr_of(&mut child));
    let (whole_model, whole_ema, whole_step) = weights(&whole);
    assert_eq!(whole_step, STEPS);

    // Delays from 1 % to 12 % of the uninterrupted run's wall time (process start included):
    // some kills land during start-up, config or metrics writes, most in the step loop, where
    // a checkpoint is written after every step.
    let (lo, hi) = (wall.as_secs_f64() * 0.01, wall.as_secs_f64() * 0.12);
    let mut rng = SplitMix(0x5C0E_F10E);
    let killed = root.join("killed");
    let (mut kills, mut kills_after_first, mut during_write) = (0, 0, 0);
    let mut first_checkpoint_seen = false;
    let mut finished = false;
    // The delays follow the machine's speed at the time: halved when an attempt got twice as
    // far as it can at the measured speed (the uninterrupted run was timed under more load than
    // there is now), lengthened after two attempts in a row that got nowhere (more load now).
    let (mut scale, mut reached, mut stalled) = (1.0f64, 0u64, 0);
    let mut log = Vec::new();
    for attempt in 0..40 {
        if kills_after_first >= 5 && during_write >= 1 {
            break;
        }
        // Killed before its first checkpoint: nothing to resume, and a fresh run starts over in
        // the directory the killed attempt left (it holds nothing a run could lose).
        let before = temp_files(&killed);
        let delay = Duration::from_secs_f64(scale * (lo + (hi - lo) * rng.next_f64()));
        let mut child = spawn(&cfg, &killed, first_checkpoint_seen);
        std::thread::sleep(delay);
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            // It reached the end before the kill.
            finished = true;
            break;
        }
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "attempt {attempt}: the run failed on its own ({status}): {}",
            stderr_of(&mut child)
        );
        kills += 1;
        let new_temps: Vec<String> = temp_files(&killed).difference(&before).cloned().collect();
        let files = RunDir::new(&killed).checkpoints();
        if first_checkpoint_seen {
            assert!(
                !files.is_empty(),
                "attempt {attempt}: no checkpoint left after a kill"
            );
        }
        let step = files.last().map_or(0, |f| f.step);
        let progress = step.saturating_sub(reached);
        reached = step;
        stalled = if progress == 0 { stalled + 1 } else { 0 };
        if progress > STEPS / 6 {
            scale = (scale * 0.5).max(1.0 / 16.0);
        } else if stalled >= 2 {
            scale = (scale * 1.5).min(4.0);
        }
        if files.is_empty() {
            log.push(format!("{delay:?}: before the first checkpoint"));
            continue;
        }
        first_checkpoint_seen = true;
        kills_after_first += 1;
        if !new_temps.is_empty() {
            during_write += 1;
        }
        // Every checkpoint present is whole (the rename is atomic), the newest among them is
        // what a directory loads as, and the loaded state is that step's.
        for f in &files {
            let (_, _, step) = weights(&f.path);
            assert_eq!(step, f.step, "{}", f.path.display());
        }
        let (_, _, loaded) = weights(&killed);
        assert_eq!(loaded, step);
        log.push(format!(
            "{delay:?}: step {step}, {} checkpoints{}",
            files.len(),
            if new_temps.is_empty() {
                String::new()
            } else {
                format!(", killed while writing {new_temps:?}")
            }
        ));
    }
    let log = log.join("\n");
    eprintln!("uninterrupted: {wall:?}; kills (delay: where the run was):\n{log}");
    assert!(
        !finished || (kills_after_first >= 5 && during_write >= 1),
        "the run ended before enough kills:\n{log}"
    );
    assert!(
        kills_after_first >= 5,
        "{kills} kills, {kills_after_first} after the first checkpoint:\n{log}"
    );
    assert!(
        during_write >= 1,
        "no kill landed during a checkpoint write in {kills} kills:\n{log}"
    );

    // Resume to the end.
    let out = Command::new(env!("CARGO_BIN_EXE_scoreflow"))
        .args(["train", "--quiet", "--resume", "--out", s(&killed)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(json["step"], STEPS);
    let (model, ema, step) = weights(&killed);
    assert_eq!(step, STEPS);
    assert!(
        model == whole_model,
        "weights differ from the uninterrupted run's:\n{log}"
    );
    assert!(
        ema == whole_ema,
        "EMA differs from the uninterrupted run's:\n{log}"
    );
    assert_eq!(
        metrics(&killed),
        metrics(&whole),
        "metrics differ from the uninterrupted run's"
    );
    // The stray temporary files of the interrupted writes were never taken for checkpoints.
    assert!(!temp_files(&killed).is_empty());
    let final_file: PathBuf = RunDir::new(&killed).checkpoints().pop().unwrap().path;
    assert!(final_file.ends_with(format!("step-{STEPS:09}.ckpt")));
}
