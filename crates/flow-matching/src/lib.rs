//! # scoreflow-flow-matching
//!
//! Flow matching (Lipman et al. 2023, "Flow Matching for Generative Modeling"; Liu et al. 2023;
//! Albergo & Vanden-Eijnden 2023): a velocity field u_t(x) transports noise x(0) ~ N(0, I) to data
//! x(1) along dx/dt = u_t(x).
//!
//! - [`sampling`]: the `fm-*` samplers, ODE solvers on the uniform time grid of [0, 1].

pub mod sampling;
