//! Placeholder.

pub mod analytic;
