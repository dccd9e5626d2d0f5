//! One module per subcommand.

pub mod bench_analytic;
pub mod bench_model;
pub mod bench_oracle;
pub mod bench_train;
pub mod calibrate_grid;
pub mod check_diffusers;
pub mod dmcmc_analytic;
pub mod draw_analytic;
pub mod edit;
pub mod fkc_analytic;
pub mod mr_analytic;
pub mod nll;
pub mod nll_analytic;
pub mod sample;
pub mod sample_analytic;
pub mod sw2;
pub mod train;
