//! The `scoreflow` command line.
//!
//! Every failure prints one line to stderr and exits with status 1; results go to files and a
//! one-line JSON summary to stdout.

mod analytic;
mod commands;
mod error;
mod npy;
mod plot;

use clap::{Parser, Subcommand};

/// Reuses freed tensor buffers instead of returning them to the kernel (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "scoreflow",
    version,
    about = "Score-based generative modelling: samplers, likelihoods and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sample an analytic Gaussian-mixture target with a named sampler.
    SampleAnalytic(commands::sample_analytic::Args),
    /// Exact negative log-likelihood of points under an analytic target, via the probability-flow ODE.
    NllAnalytic(commands::nll_analytic::Args),
    /// Benchmark every sampler on an analytic target: NFE, error, sliced W2, time; table and PNG plot.
    BenchAnalytic(commands::bench_analytic::Args),
    /// Time the networks' forward pass and training step on a device (samples/s, cold start).
    BenchModel(commands::bench_model::Args),
    /// Run a diffusers UNet2DModel checkpoint on a device and compare with diffusers' recorded output.
    CheckDiffusers(commands::check_diffusers::Args),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's message is several lines (usage, hints): keep the first, the one that says why.
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("scoreflow: error: {first} (see --help)");
            std::process::exit(2);
        }
    };
    let result = catch_panics(|| match cli.command {
        Command::SampleAnalytic(args) => commands::sample_analytic::run(&args),
        Command::NllAnalytic(args) => commands::nll_analytic::run(&args),
        Command::BenchAnalytic(args) => commands::bench_analytic::run(&args),
        Command::BenchModel(args) => commands::bench_model::run(&args),
        Command::CheckDiffusers(args) => commands::check_diffusers::run(&args),
    });
    if let Err(e) = result {
        eprintln!("scoreflow: error: {e}");
        std::process::exit(1);
    }
}

/// Runs `command`, turning a panic into a one-line error.
///
/// burn reports a device that cannot start (no CUDA driver, no Vulkan adapter) by panicking,
/// often on its runtime's own thread, after which the main thread panics on a closed channel.
/// The first panic is the one that says why, so it is the one reported. With `RUST_BACKTRACE`
/// set, Rust's full report is printed as well.
fn catch_panics<E: std::fmt::Display>(
    command: impl FnOnce() -> Result<(), E>,
) -> Result<(), String> {
    use std::sync::OnceLock;
    static FIRST: OnceLock<String> = OnceLock::new();
    let default_hook = std::panic::take_hook();
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let _ = FIRST.set(one_line(&message));
        if verbose {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(command)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "{} (RUST_BACKTRACE=1 for details)",
            FIRST.get().map_or("unknown failure", String::as_str)
        )),
    }
}

/// The first line of `message`, at most 200 characters (a library's message can list every file
/// it searched).
fn one_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}
