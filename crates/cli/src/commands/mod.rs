//! One module per subcommand.

pub mod bench_analytic;
pub mod nll_analytic;
pub mod sample_analytic;
