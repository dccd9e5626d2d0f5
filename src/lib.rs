//! # scoreflow
//!
//! Facade over the scoreflow crates: score-based diffusion, flow matching and the ODE/SDE
//! solvers that sample from them. Each crate can also be used alone.
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`schedules`] | `scoreflow-noise-schedules` | α(t), σ(t), λ(t), SDE coefficients, time and σ grids |
//! | [`solvers`] | `scoreflow-ode-sde-solvers` | state/term/solver core, ODE and SDE integrators, Brownian sources |
//! | [`score`] | `scoreflow-score-matching` | SDEs, parameterisation adapters, DSM losses |
//! | [`flow`] | `scoreflow-flow-matching` | probability paths and flow-matching losses |
//! | [`models`] | `scoreflow-models` | burn networks |
//! | [`train`] | `scoreflow-train` | data, objectives wired to networks, the loop, checkpoints, trained networks as denoisers |

pub use scoreflow_flow_matching as flow;
pub use scoreflow_models as models;
pub use scoreflow_noise_schedules as schedules;
pub use scoreflow_ode_sde_solvers as solvers;
pub use scoreflow_score_matching as score;
pub use scoreflow_train as train;
