//! Sampling a flow: integrate dx/dt = u_t(x) from t = 0 (noise) to t = 1 (data).

use scoreflow_ode_sde_solvers::ode::{
    Dopri5, Euler, Midpoint, Rk4, SolveOptions, Stats, integrate,
};
use scoreflow_ode_sde_solvers::samplers::{ExpMultistep, Extrapolation, PolyVariable};
use scoreflow_ode_sde_solvers::{SolveError, State};

/// The solver of a flow sampler, named as the CLI knows it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FlowSolver {
    /// `fm-euler`: x ← x + h u_t(x), order 1.
    Euler,
    /// `fm-midpoint`: explicit midpoint, order 2.
    Midpoint,
    /// `fm-rk4`: classic Runge–Kutta, order 4.
    Rk4,
    /// `fm-dopri5`: adaptive Dormand–Prince 5(4) at the given tolerances (as torchdiffeq's
    /// `dopri5`, which facebookresearch/flow_matching's ODESolver uses); the step count is unused.
    Dopri5 {
        /// Relative tolerance.
        rtol: f64,
        /// Absolute tolerance.
        atol: f64,
    },
    /// `fm-exp`, `fm-exp-2`, `fm-exp-3`: the exact-coefficient exponential multistep method of
    /// [`ExpMultistep`] on the velocity's data prediction, with its free
    /// corrector and an extrapolated end; see [`sample_flow`]. Exactly `steps` velocity calls.
    ExpMultistep {
        /// k, the predictor's number of outputs (1 to 3).
        order: u8,
        /// The polynomial's variable: v = t/(1 − t) or λ = ln v (whose steps touching t = 0,
        /// λ = −∞, are taken in v).
        variable: PolyVariable,
        /// Whether the free corrector is applied.
        corrector: bool,
        /// m, the outputs the end extrapolates to t = 1 in σ² (1: x̂₁ at t_last).
        end_points: u8,
    },
}

/// Every `fm-*` name.
pub const FLOW_SAMPLER_NAMES: &[&str] = &[
    "fm-euler",
    "fm-midpoint",
    "fm-rk4",
    "fm-dopri5",
    "fm-exp",
    "fm-exp-2",
    "fm-exp-3",
    "fm-auto",
];

impl FlowSolver {
    /// The solver for a CLI name (`fm-euler`, …), with tolerances for `fm-dopri5`.
    pub fn from_name(name: &str, rtol: f64, atol: f64) -> Option<Self> {
        match name {
            "fm-euler" => Some(Self::Euler),
            "fm-midpoint" => Some(Self::Midpoint),
            "fm-rk4" => Some(Self::Rk4),
            "fm-dopri5" => Some(Self::Dopri5 { rtol, atol }),
            // fm-auto without the data's moments; with them it is fm-gauss-2 (gauss_preconditioned).
            "fm-exp" | "fm-exp-2" | "fm-auto" => Some(Self::ExpMultistep {
                order: 2,
                variable: PolyVariable::Lambda,
                corrector: true,
                end_points: 1,
            }),
            "fm-exp-3" => Some(Self::ExpMultistep {
                order: 3,
                variable: PolyVariable::Lambda,
                corrector: true,
                end_points: 1,
            }),
            _ => None,
        }
    }

    /// The global order (`None` for the adaptive solver, whose error follows its tolerance).
    pub fn order(&self) -> Option<u32> {
        match self {
            Self::Euler => Some(1),
            Self::Midpoint => Some(2),
            Self::Rk4 => Some(4),
            Self::Dopri5 { .. } => None,
            Self::ExpMultistep {
                order, corrector, ..
            } => {
                let method = match (order, corrector) {
                    (1, false) => 1,
                    (1, true) | (2 | 3, false) => 2,
                    _ => 3,
                };
                // The uniform t grid leaves O(1) steps in λ near t = 1, where x̂₁ still varies by
                // O(N⁻²), and t_last = 1 − 1/N: order 2 at most, whatever k and the end.
                Some(method.min(2))
            }
        }
    }

    fn exp_multistep(
        order: u8,
        variable: PolyVariable,
        corrector: bool,
        end_points: u8,
    ) -> ExpMultistep {
        ExpMultistep {
            order: usize::from(order),
            variable,
            corrector,
            end: Extrapolation::sigma_squared(usize::from(end_points)),
        }
    }
}

/// Integrates dx/dt = velocity(x, t) from t = 0 to t = 1 in `steps` uniform steps (the CondOT
/// time grid); returns x(1) and the work done (`stats.nfe` velocity evaluations).
///
/// **`FlowSolver::ExpMultistep`.** On the CondOT path x_t = t·x₁ + (1 − t)·x₀ (data at t = 1;
/// Lipman et al. 2023) the data prediction of a velocity u is x̂₁ = x_t + (1 − t)·u_t(x_t), and
/// with v = t/(1 − t) (= 1/σ of the equivalent α = 1 process, σ = (1 − t)/t) and
/// y = x_t/(1 − t) the flow ODE is exactly dy/dv = x̂₁: the σ-space method of [`ExpMultistep`]
/// with the state scaled by a = 1 − t ([`ExpMultistep::solve_in_v`]). The noise x₀ is y at
/// v = 0, so the method starts exactly at t = 0 (no σ_max truncation). Model calls at
/// tⱼ = j/`steps`, j = 0, …, `steps` − 1 (exactly `steps` calls); the last grid point t = 1
/// (v = ∞, σ = 0) is reached by extrapolating x̂₁ in σ² through the last `end_points` outputs
/// ([`Extrapolation`]), so t_last = 1 − 1/`steps`. With order 1, no corrector and one end point
/// this is `fm-euler` (the Euler step in t is the order-1 step in v, and its last step returns
/// x̂₁).
///
/// Names (chosen by the few-step study of `examples/few_step_study.rs`): `fm-exp` = `fm-exp-2`
/// = order 2 in λ with corrector and one end point (x̂₁ at t_last, which measured as good as or
/// better than 2–3 extrapolated points on the uniform t grid); `fm-exp-3` = the same at order 3.
/// In λ = ln v the steps that touch t = 0 (λ = −∞) are taken in v.
pub fn sample_flow<S: State>(
    velocity: &dyn Fn(&S, f64) -> S,
    x0: S,
    solver: FlowSolver,
    steps: usize,
) -> Result<(S, Stats), SolveError> {
    let field = |t: f64, x: &S| velocity(x, t);
    let sol = match solver {
        FlowSolver::ExpMultistep {
            order,
            variable,
            corrector,
            end_points,
        } => {
            let method = FlowSolver::exp_multistep(order, variable, corrector, end_points);
            return sample_exp_multistep(velocity, x0, &method, steps);
        }
        FlowSolver::Euler => integrate(&field, &Euler, 0.0, 1.0, x0, &SolveOptions::steps(steps)),
        FlowSolver::Midpoint => {
            integrate(&field, &Midpoint, 0.0, 1.0, x0, &SolveOptions::steps(steps))
        }
        FlowSolver::Rk4 => integrate(&field, &Rk4, 0.0, 1.0, x0, &SolveOptions::steps(steps)),
        FlowSolver::Dopri5 { rtol, atol } => integrate(
            &field,
            &Dopri5,
            0.0,
            1.0,
            x0,
            &SolveOptions::adaptive(rtol, atol),
        ),
    }?;
    let stats = sol.stats;
    let x = sol
        .ys
        .into_iter()
        .last()
        .ok_or(SolveError::InvalidInterval("empty solution".into()))?;
    Ok((x, stats))
}

/// `FlowSolver::ExpMultistep` (see [`sample_flow`]).
fn sample_exp_multistep<S: State>(
    velocity: &dyn Fn(&S, f64) -> S,
    x0: S,
    method: &ExpMultistep,
    steps: usize,
) -> Result<(S, Stats), SolveError> {
    if steps == 0 {
        return Err(SolveError::InvalidOption {
            name: "steps",
            value: 0.0,
            reason: "the exponential multistep flow sampler needs at least one step",
        });
    }
    // t = j/N; v = t/(1 − t) is +∞ at t = 1, where the extrapolated end takes over.
    let t: Vec<f64> = (0..=steps).map(|j| j as f64 / steps as f64).collect();
    let v: Vec<f64> = t.iter().map(|&t| t / (1.0 - t)).collect();
    let scale: Vec<f64> = t.iter().map(|&t| 1.0 - t).collect();
    let mut nfe = 0;
    let mut data_prediction = |i: usize, x: &S| {
        nfe += 1;
        let u = velocity(x, t[i]);
        Ok(x.clone().add_scaled(1.0 - t[i], &u))
    };
    let x1 = method.solve_in_v(&mut data_prediction, x0, &v, &scale)?;
    let stats = Stats {
        nfe,
        accepted: steps,
        rejected: 0,
    };
    Ok((x1, stats))
}
