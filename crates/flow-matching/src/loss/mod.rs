//! Conditional flow-matching losses on burn tensors (feature `burn`).
//!
//! Every conditional flow here is linear in the coupled pair (x₀ noise, x₁ data) and a standard
//! normal ε: x_t = a(t)x₁ + b(t)x₀ + c(t)ε, with a conditional velocity
//! u_t = p(t)x₁ + q(t)x₀ + r(t)ε whose conditional expectation given x_t is the marginal
//! velocity (Lipman et al. 2023, Theorem 2; Tong et al. 2024, Theorem 3.1). A
//! [`ConditionalFlow`] states those coefficients; [`ConditionalFlowMatching`] regresses a
//! network on u_t (or on x₁ for an x₁-prediction network):
//!
//! | flow | x_t | u_t | coupling | source |
//! |---|---|---|---|---|
//! | [`Icfm`] | t x₁ + (1 − t) x₀ + σε | x₁ − x₀ | independent | Tong et al. 2024, §3.2 (I-CFM) |
//! | [`TargetCfm`] | t x₁ + (1 − (1 − σ_min)t) x₀ | x₁ − (1 − σ_min) x₀ | independent | Lipman et al. 2023, eq. (20)–(23) |
//! | [`VpCfm`] | sin(πt/2) x₁ + cos(πt/2) x₀ + σε | (π/2)(cos(πt/2) x₁ − sin(πt/2) x₀) | independent | Albergo & Vanden-Eijnden 2023; torchcfm |
//! | [`Icfm`] + [`ExactOt`](crate::coupling::ExactOt) | as I-CFM | as I-CFM | minibatch OT | Tong et al. 2024, §3.3 (OT-CFM) |
//! | [`SbCfm`] + [`Sinkhorn`](crate::coupling::Sinkhorn) (ε = 2σ²) | t x₁ + (1 − t) x₀ + σ√(t(1 − t)) ε | (1 − 2t)/(2t(1 − t))·(x_t − μ_t) + x₁ − x₀ | entropic OT | Tong et al. 2024, §3.4 (SB-CFM) |
//! | [`PathCfm`] | α x₁ + σ x₀ | α' x₁ + σ' x₀ | any | Lipman et al. 2024, §4.8 |
//!
//! The couplings of `crate::coupling` pair host-side batches before they become tensors
//! ([`Pairs`](crate::coupling::Pairs)); SB-CFM's optional score term (Tong et al. 2024b,
//! "Simulation-free Schrödinger bridges via score and flow matching", eq. (23)) is
//! [`ConditionalFlowMatching::score_loss`].

mod cfm;
mod error;
mod flows;
mod network;

pub use cfm::{ConditionalFlowMatching, FlowPrediction, LossOutput};
pub use error::FlowLossError;
pub use flows::{ConditionalFlow, FlowRows, Icfm, PathCfm, SbCfm, ScoreRow, TargetCfm, VpCfm};
pub use network::{FallibleFlow, FlowNetwork};
