//! Continuous-time schedules, one per file.

mod cond_ot;
mod cosine_path;
mod edm;
mod linear_beta;
mod mean_reverting;
mod polynomial_path;
mod sub_vp;
mod ve;
mod vp_cosine;
mod vp_linear;
mod vp_path;

pub use cond_ot::CondOt;
pub use cosine_path::CosinePath;
pub use edm::Edm;
pub use mean_reverting::MeanReverting;
pub use polynomial_path::PolynomialPath;
pub use sub_vp::SubVp;
pub use ve::Ve;
pub use vp_cosine::VpCosine;
pub use vp_linear::VpLinear;
pub use vp_path::VpPath;
