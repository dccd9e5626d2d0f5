//! The `scoreflow` command line.
//!
//! Every failure prints one line to stderr and exits with status 1; results go to files and a
//! one-line JSON summary to stdout. Failures are values (a model's error included); the only
//! panic caught is burn's when a device cannot start ([`device::start`]).

mod analytic;
mod commands;
mod device;
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
    about = "Score-based generative modelling: training, sampling, likelihoods and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a score or flow model: data in, checkpoints, metrics and sample grids out.
    Train(commands::train::Args),
    /// Sample a trained checkpoint with any sampler (.npy or a PNG grid/scatter).
    Sample(commands::sample::Args),
    /// Edit with a trained checkpoint: inpaint, colorize, sdedit, invert or decode.
    Edit(commands::edit::Args),
    /// Negative log-likelihood of points under a trained checkpoint, via the probability-flow ODE.
    Nll(commands::nll::Args),
    /// Sample an analytic Gaussian-mixture target with a named sampler.
    SampleAnalytic(commands::sample_analytic::Args),
    /// Exact negative log-likelihood of points under an analytic target, via the probability-flow ODE.
    NllAnalytic(commands::nll_analytic::Args),
    /// Exact samples of an analytic Gaussian-mixture target (.npy).
    DrawAnalytic(commands::draw_analytic::Args),
    /// Sliced W2 between samples and an analytic target, beside the exact-vs-exact floor.
    Sw2(commands::sw2::Args),
    /// Benchmark every sampler on an analytic target: NFE, error, sliced W2, time; table and PNG plot.
    BenchAnalytic(commands::bench_analytic::Args),
    /// Fit a sampler's σ grid to analytic targets on a pilot set; write it for --grid FILE.json.
    CalibrateGrid(commands::calibrate_grid::Args),
    /// Time one call of an analytic target's batched denoiser, velocity, score or divergence.
    BenchOracle(commands::bench_oracle::Args),
    /// Feynman–Kac corrector sampling of an annealed, product or guided analytic target.
    FkcAnalytic(commands::fkc_analytic::Args),
    /// Denoising MCMC (Langevin–Gibbs chains over (x, σ), then a sampler) on an analytic target.
    DmcmcAnalytic(commands::dmcmc_analytic::Args),
    /// Mean-reverting diffusion (IR-SDE) on an analytic target: MRS vs the Euler–Maruyama reverse SDE.
    MrAnalytic(commands::mr_analytic::Args),
    /// Time the networks' forward pass and training step on a device (samples/s, cold start).
    BenchModel(commands::bench_model::Args),
    /// Time the training loop's step against the bare training step of bench-model (overhead).
    BenchTrain(commands::bench_train::Args),
    /// Run a diffusers UNet2DModel checkpoint on a device and compare with diffusers' recorded output.
    CheckDiffusers(commands::check_diffusers::Args),
}

/// Whether the command line asks `--sampler help` (or `--samplers help`): answered before clap
/// parses, so that a command's other required arguments need not be given.
fn asks_sampler_help(args: &[String]) -> bool {
    args.windows(2)
        .any(|w| matches!(w[0].as_str(), "--sampler" | "--samplers") && w[1] == "help")
        || args
            .iter()
            .any(|a| a == "--sampler=help" || a == "--samplers=help")
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if asks_sampler_help(&argv) {
        print!("{}", analytic::sampler_help());
        return;
    }
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
    let result = match cli.command {
        Command::Train(args) => commands::train::run(&args),
        Command::Sample(args) => commands::sample::run(&args),
        Command::Edit(args) => commands::edit::run(&args),
        Command::Nll(args) => commands::nll::run(&args),
        Command::SampleAnalytic(args) => commands::sample_analytic::run(&args),
        Command::NllAnalytic(args) => commands::nll_analytic::run(&args),
        Command::BenchAnalytic(args) => commands::bench_analytic::run(&args),
        Command::MrAnalytic(args) => commands::mr_analytic::run(&args),
        Command::DrawAnalytic(args) => commands::draw_analytic::run(&args),
        Command::Sw2(args) => commands::sw2::run(&args),
        Command::CalibrateGrid(args) => commands::calibrate_grid::run(&args),
        Command::BenchOracle(args) => commands::bench_oracle::run(&args),
        Command::FkcAnalytic(args) => commands::fkc_analytic::run(&args),
        Command::DmcmcAnalytic(args) => commands::dmcmc_analytic::run(&args),
        Command::BenchModel(args) => commands::bench_model::run(&args),
        Command::BenchTrain(args) => commands::bench_train::run(&args),
        Command::CheckDiffusers(args) => commands::check_diffusers::run(&args),
    };
    if let Err(e) = result {
        eprintln!("scoreflow: error: {e}");
        std::process::exit(1);
    }
}
