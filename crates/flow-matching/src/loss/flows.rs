//! The conditional flows, each a row of coefficients at t.

use std::f64::consts::FRAC_PI_2;

use crate::path::AffinePath;

use super::FlowLossError;

/// The coefficients of a conditional flow at one t: x_t = `x_t[0]`·x₁ + `x_t[1]`·x₀ +
/// `x_t[2]`·ε and u_t = `u[0]`·x₁ + `u[1]`·x₀ + `u[2]`·ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowRows {
    /// Coefficients of (x₁, x₀, ε) in x_t.
    pub x_t: [f64; 3],
    /// Coefficients of (x₁, x₀, ε) in the conditional velocity.
    pub u: [f64; 3],
}

/// The score-matching term of a stochastic conditional flow at one t: the network s_θ
/// regresses on `target_eps`·ε with weight `weight` (SB-CFM's λ(t)²‖s_θ − (g²/2)∇ ln p_t(x|z)‖²).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRow {
    /// λ(t)².
    pub weight: f64,
    /// The target's coefficient of ε.
    pub target_eps: f64,
}

/// A conditional flow: x_t and u_t as linear combinations of (x₁, x₀, ε) at each t.
pub trait ConditionalFlow: std::fmt::Debug + Send + Sync {
    /// The flow's name.
    fn name(&self) -> &'static str;

    /// The coefficient rows at t.
    ///
    /// # Errors
    /// [`FlowLossError::Time`] outside the flow's domain.
    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError>;

    /// Whether x_t involves ε (σ > 0), so that a noise tensor is needed.
    fn uses_noise(&self) -> bool;

    /// The score-matching term, for flows that have one.
    fn score_row(&self, _index: usize, _t: f64) -> Option<Result<ScoreRow, FlowLossError>> {
        None
    }
}

impl<F: ConditionalFlow + ?Sized> ConditionalFlow for Box<F> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError> {
        (**self).rows(index, t)
    }

    fn uses_noise(&self) -> bool {
        (**self).uses_noise()
    }

    fn score_row(&self, index: usize, t: f64) -> Option<Result<ScoreRow, FlowLossError>> {
        (**self).score_row(index, t)
    }
}

fn check_unit_interval(index: usize, t: f64) -> Result<(), FlowLossError> {
    if (0.0..=1.0).contains(&t) {
        Ok(())
    } else {
        Err(FlowLossError::Time {
            index,
            t,
            domain: "[0, 1]",
        })
    }
}

fn non_negative(name: &'static str, value: f64) -> Result<f64, FlowLossError> {
    if value >= 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(FlowLossError::InvalidParameter {
            name,
            value,
            reason: "must be finite and ≥ 0",
        })
    }
}

/// Independent conditional flow matching, I-CFM (Tong et al. 2024, "Improving and generalizing
/// flow-based generative models with minibatch optimal transport", §3.2, eq. (14)–(15)):
/// x_t = t x₁ + (1 − t) x₀ + σε, u_t = x₁ − x₀. σ = 0 is rectified flow / the CondOT path
/// (Liu et al. 2023; Lipman et al. 2023 with σ_min = 0). With an exact-OT coupling it is OT-CFM.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Icfm {
    sigma: f64,
}

impl Icfm {
    /// I-CFM with path noise σ ≥ 0.
    ///
    /// # Errors
    /// [`FlowLossError::InvalidParameter`] for σ < 0 or non-finite.
    pub fn new(sigma: f64) -> Result<Self, FlowLossError> {
        Ok(Self {
            sigma: non_negative("sigma", sigma)?,
        })
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
}

impl ConditionalFlow for Icfm {
    fn name(&self) -> &'static str {
        "I-CFM"
    }

    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError> {
        check_unit_interval(index, t)?;
        Ok(FlowRows {
            x_t: [t, 1.0 - t, self.sigma],
            u: [1.0, -1.0, 0.0],
        })
    }

    fn uses_noise(&self) -> bool {
        self.sigma > 0.0
    }
}

/// Lipman et al. 2023's conditional OT flow with σ_min ("Flow Matching for Generative
/// Modeling", eq. (20)–(23); torchcfm's `TargetConditionalFlowMatcher`):
/// x_t = t x₁ + (1 − (1 − σ_min)t) x₀, u_t = x₁ − (1 − σ_min) x₀.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetCfm {
    sigma_min: f64,
}

impl TargetCfm {
    /// The flow with σ_min ∈ [0, 1).
    ///
    /// # Errors
    /// [`FlowLossError::InvalidParameter`] outside [0, 1).
    pub fn new(sigma_min: f64) -> Result<Self, FlowLossError> {
        if (0.0..1.0).contains(&sigma_min) {
            Ok(Self { sigma_min })
        } else {
            Err(FlowLossError::InvalidParameter {
                name: "sigma_min",
                value: sigma_min,
                reason: "must be in [0, 1)",
            })
        }
    }
}

impl ConditionalFlow for TargetCfm {
    fn name(&self) -> &'static str {
        "target CFM"
    }

    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError> {
        check_unit_interval(index, t)?;
        let k = 1.0 - self.sigma_min;
        Ok(FlowRows {
            x_t: [t, 1.0 - k * t, 0.0],
            u: [1.0, -k, 0.0],
        })
    }

    fn uses_noise(&self) -> bool {
        false
    }
}

/// The variance-preserving (trigonometric) interpolant of Albergo & Vanden-Eijnden 2023
/// ("Building Normalizing Flows with Stochastic Interpolants"; torchcfm's
/// `VariancePreservingConditionalFlowMatcher`): x_t = sin(πt/2) x₁ + cos(πt/2) x₀ + σε,
/// u_t = (π/2)(cos(πt/2) x₁ − sin(πt/2) x₀).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VpCfm {
    sigma: f64,
}

impl VpCfm {
    /// VP-CFM with path noise σ ≥ 0.
    ///
    /// # Errors
    /// [`FlowLossError::InvalidParameter`] for σ < 0 or non-finite.
    pub fn new(sigma: f64) -> Result<Self, FlowLossError> {
        Ok(Self {
            sigma: non_negative("sigma", sigma)?,
        })
    }
}

impl ConditionalFlow for VpCfm {
    fn name(&self) -> &'static str {
        "VP-CFM"
    }

    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError> {
        check_unit_interval(index, t)?;
        let (s, c) = (FRAC_PI_2 * t).sin_cos();
        Ok(FlowRows {
            x_t: [s, c, self.sigma],
            u: [FRAC_PI_2 * c, -FRAC_PI_2 * s, 0.0],
        })
    }

    fn uses_noise(&self) -> bool {
        self.sigma > 0.0
    }
}

/// Schrödinger-bridge conditional flow matching, SB-CFM (Tong et al. 2024, §3.4, eq. (20)–(21);
/// torchcfm's `SchrodingerBridgeConditionalFlowMatcher`): the Brownian bridge of diffusion σ
/// between a pair drawn from the entropic OT plan with ε = 2σ²,
/// x_t = μ_t + σ_t ε with μ_t = t x₁ + (1 − t) x₀, σ_t = σ√(t(1 − t)), and
/// u_t = σ_t'/σ_t·(x_t − μ_t) + x₁ − x₀ = σ(1 − 2t)/(2√(t(1 − t)))·ε + x₁ − x₀.
///
/// Its score term (Tong et al. 2024b, "Simulation-free Schrödinger bridges via score and flow
/// matching", §3, eq. (23), SF²M) trains s_θ ≈ (σ²/2)∇ ln p_t with
/// λ(t)²‖s_θ − (σ²/2)∇ ln p_t(x_t | x₀, x₁)‖² = ‖λ(t)s_θ + ε‖², λ(t) = 2σ_t/σ²; the SDE
/// dx = (u_θ + s_θ)dt + σ dW then samples the bridge. Times must lie in the open (0, 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SbCfm {
    sigma: f64,
}

impl SbCfm {
    /// SB-CFM with diffusion σ > 0.
    ///
    /// # Errors
    /// [`FlowLossError::InvalidParameter`] unless σ > 0 and finite.
    pub fn new(sigma: f64) -> Result<Self, FlowLossError> {
        if sigma > 0.0 && sigma.is_finite() {
            Ok(Self { sigma })
        } else {
            Err(FlowLossError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "must be positive and finite",
            })
        }
    }

    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// The entropic regularisation of its coupling, ε = 2σ².
    pub fn entropic_regularization(&self) -> f64 {
        2.0 * self.sigma * self.sigma
    }

    fn open_interval(index: usize, t: f64) -> Result<f64, FlowLossError> {
        if t > 0.0 && t < 1.0 {
            Ok((t * (1.0 - t)).sqrt())
        } else {
            Err(FlowLossError::Time {
                index,
                t,
                domain: "(0, 1)",
            })
        }
    }
}

impl ConditionalFlow for SbCfm {
    fn name(&self) -> &'static str {
        "SB-CFM"
    }

    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError> {
        let root = Self::open_interval(index, t)?;
        Ok(FlowRows {
            x_t: [t, 1.0 - t, self.sigma * root],
            u: [1.0, -1.0, self.sigma * (1.0 - 2.0 * t) / (2.0 * root)],
        })
    }

    fn uses_noise(&self) -> bool {
        true
    }

    fn score_row(&self, index: usize, t: f64) -> Option<Result<ScoreRow, FlowLossError>> {
        Some(Self::open_interval(index, t).map(|root| {
            let lambda = 2.0 * self.sigma * root / (self.sigma * self.sigma);
            ScoreRow {
                weight: lambda * lambda,
                target_eps: -1.0 / lambda,
            }
        }))
    }
}

/// Conditional flow matching on any affine path (Lipman et al. 2024, "Flow Matching Guide and
/// Code", §4.8; flow_matching's `AffineProbPath`): x_t = α x₁ + σ x₀, u_t = α' x₁ + σ' x₀.
#[derive(Clone, Debug)]
pub struct PathCfm {
    path: AffinePath,
}

impl PathCfm {
    /// The flow of `path`.
    pub fn new(path: AffinePath) -> Self {
        Self { path }
    }

    /// The path.
    pub fn path(&self) -> &AffinePath {
        &self.path
    }
}

impl ConditionalFlow for PathCfm {
    fn name(&self) -> &'static str {
        "path CFM"
    }

    fn rows(&self, index: usize, t: f64) -> Result<FlowRows, FlowLossError> {
        check_unit_interval(index, t)?;
        let c = self.path.coefficients(t)?;
        Ok(FlowRows {
            x_t: [c.alpha, c.sigma, 0.0],
            u: [c.d_alpha, c.d_sigma, 0.0],
        })
    }

    fn uses_noise(&self) -> bool {
        false
    }
}
