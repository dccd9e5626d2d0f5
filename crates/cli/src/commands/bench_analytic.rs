//! `scoreflow bench-analytic` (pending).

/// Arguments of `bench-analytic`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the command.
pub fn run(_: &Args) -> Result<(), crate::error::CliError> {
    Ok(())
}
