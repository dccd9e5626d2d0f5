//! Measured strong orders of the SDE solvers against exact solutions, on one Brownian path per
//! sample shared by every resolution (a virtual Brownian tree queried at dyadic times).

mod common;

use common::loglog_slope;
use ndarray::Array1;
use scoreflow_ode_sde_solvers::brownian::{
    BrownianSource, SequentialBrownian, VirtualBrownianTree, sample_seeds,
};
use scoreflow_ode_sde_solvers::ode::{PidController, SaveAt, SolveOptions, StepControl};
use scoreflow_ode_sde_solvers::sde::{
    EulerMaruyama, SdeSolver, Sra1, StochasticHeun, integrate_sde,
};
use scoreflow_ode_sde_solvers::{FnSde, SolveError};

const PATHS: usize = 256;
const T: f64 = 1.0;
const STEPS: [usize; 5] = [8, 16, 32, 64, 128];

fn tree(seed: u64) -> VirtualBrownianTree<Array1<f64>> {
    let template = Array1::<f64>::zeros(PATHS);
    VirtualBrownianTree::new(&template, 0.0, T, T / 4096.0, &sample_seeds(seed, PATHS)).unwrap()
}

/// Mean absolute error over paths at T, for each step count, and the fitted slope.
fn strong_order<M, F>(
    solver: &M,
    sde: &F,
    y0: f64,
    exact: &Array1<f64>,
    seed: u64,
) -> (f64, Vec<f64>)
where
    M: SdeSolver<Array1<f64>>,
    F: scoreflow_ode_sde_solvers::SdeTerm<Array1<f64>>,
{
    let errs: Vec<f64> = STEPS
        .iter()
        .map(|&n| {
            let mut bm = tree(seed);
            let y = Array1::from_elem(PATHS, y0);
            let sol =
                integrate_sde(sde, solver, 0.0, T, y, &mut bm, &SolveOptions::steps(n)).unwrap();
            (sol.last().unwrap() - exact).mapv(f64::abs).mean().unwrap()
        })
        .collect();
    let hs: Vec<f64> = STEPS.iter().map(|&n| T / n as f64).collect();
    (loglog_slope(&hs, &errs), errs)
}

const MU: f64 = 0.6;
const SIG: f64 = 0.8;

fn gbm() -> impl scoreflow_ode_sde_solvers::SdeTerm<Array1<f64>> {
    FnSde::diagonal(
        |_: f64, y: &Array1<f64>| y * MU,
        |_: f64, y: &Array1<f64>, dw: Array1<f64>| dw * SIG * y,
    )
}

fn w_at_t(seed: u64) -> Array1<f64> {
    tree(seed).increment(0.0, T, false).unwrap().dw
}

/// dX = μX dt + σX dW (Itô): X_T = exp((μ − σ²/2)T + σW_T). Euler–Maruyama has strong order ½.
#[test]
fn euler_maruyama_strong_order_half_on_gbm() {
    let exact = w_at_t(1).mapv(|w| ((MU - 0.5 * SIG * SIG) * T + SIG * w).exp());
    let (p, errs) = strong_order(&EulerMaruyama, &gbm(), 1.0, &exact, 1);
    assert!(
        (p - 0.5).abs() <= 0.15,
        "EM on GBM: order {p:.3}, errors {errs:?}"
    );
}

/// dX = μX dt + σX ∘ dW (Stratonovich): X_T = exp(μT + σW_T). Scalar noise is commutative, so
/// stochastic Heun has strong order 1.
#[test]
fn stochastic_heun_strong_order_one_on_gbm() {
    let exact = w_at_t(2).mapv(|w| (MU * T + SIG * w).exp());
    let (p, errs) = strong_order(&StochasticHeun, &gbm(), 1.0, &exact, 2);
    assert!(
        (p - 1.0).abs() <= 0.15,
        "Heun on GBM: order {p:.3}, errors {errs:?}"
    );
}

const THETA: f64 = 1.5;

/// σ(t) = 0.8(1 + t): time-dependent so that SRA1's diffusion nodes matter.
fn ou_sigma(t: f64) -> f64 {
    0.8 * (1.0 + t)
}

fn ou() -> impl scoreflow_ode_sde_solvers::SdeTerm<Array1<f64>> {
    FnSde::additive(
        |_: f64, y: &Array1<f64>| y * -THETA,
        |t: f64, _: &Array1<f64>, dw: Array1<f64>| dw * ou_sigma(t),
    )
}

/// dX = −θX dt + σ(t) dW: X_T = e^{−θT}X₀ + f(T)W_T − ∫₀ᵀ f′(s)W_s ds with f(s) = e^{−θ(T−s)}σ(s)
/// (integration by parts, W₀ = 0). The path integral is summed over 2¹² sub-intervals, each
/// ∫W ds taken exactly from the tree's (ΔW, H): ∫ₐᵇ W ds = h(W(a) + ΔW/2 + H). The quadrature
/// error (≈ 1e-7) is far below the coarsest solver's error.
fn ou_exact(seed: u64, x0: f64) -> Array1<f64> {
    let mut bm = tree(seed);
    let fine = 4096;
    let h = T / fine as f64;
    let f_prime = |s: f64| (-THETA * (T - s)).exp() * (THETA * ou_sigma(s) + 0.8);
    let mut w = Array1::<f64>::zeros(PATHS);
    let mut integral = Array1::<f64>::zeros(PATHS);
    for i in 0..fine {
        let (a, b) = (
            i as f64 * h,
            if i + 1 == fine { T } else { (i + 1) as f64 * h },
        );
        let inc = bm.increment(a, b, true).unwrap();
        let int_w = (&w + &(&inc.dw * 0.5) + inc.levy_h.as_ref().unwrap()) * h;
        integral = integral + int_w * f_prime(0.5 * (a + b));
        w = w + inc.dw;
    }
    w.mapv(|wt| (-THETA * T).exp() * x0 + ou_sigma(T) * wt) - integral
}

/// On OU the drift is linear, so SRA1's order-1.5 error terms — b²a″·I₍₁,₁,₀₎ in the Itô–Taylor
/// expansion (Kloeden & Platen 1992, §10.4) — vanish; what remains is its drift part, Ralston's
/// order-2 Runge–Kutta, and the O(h^2.5)-local triple integrals: the strong order on OU is 2.
/// Euler–Maruyama and stochastic Heun have order 1 for any additive noise.
#[test]
fn additive_noise_orders_on_ornstein_uhlenbeck() {
    let x0 = 0.7;
    let exact = ou_exact(3, x0);
    for (name, p, theory, errs) in [
        (
            "euler-maruyama",
            strong_order(&EulerMaruyama, &ou(), x0, &exact, 3),
            1.0,
        ),
        (
            "stochastic-heun",
            strong_order(&StochasticHeun, &ou(), x0, &exact, 3),
            1.0,
        ),
        ("sra1", strong_order(&Sra1, &ou(), x0, &exact, 3), 2.0),
    ]
    .map(|(n, (p, e), th)| (n, p, th, e))
    {
        assert!(
            (p - theory).abs() <= 0.15,
            "{name} on OU: order {p:.3} (theory {theory}), errors {errs:?}"
        );
    }
}

/// With a nonlinear drift (a = −2 sin x, b = 2) SRA1's general strong order 1.5 shows. No closed
/// form exists, so the reference is SRA1 itself with 4096 steps on the same Brownian paths (its
/// error there is ≈ 32^-1.5 ≈ 0.6% of the finest test resolution's).
#[test]
fn sra1_strong_order_one_and_a_half_with_nonlinear_drift() {
    let sde = FnSde::additive(
        |_: f64, y: &Array1<f64>| y.mapv(|v| -2.0 * v.sin()),
        |_: f64, _: &Array1<f64>, dw: Array1<f64>| dw * 2.0,
    );
    let x0 = 0.5;
    let mut bm = tree(6);
    let reference = integrate_sde(
        &sde,
        &Sra1,
        0.0,
        T,
        Array1::from_elem(PATHS, x0),
        &mut bm,
        &SolveOptions::steps(4096),
    )
    .unwrap()
    .ys
    .pop()
    .unwrap();
    let (p, errs) = strong_order(&Sra1, &sde, x0, &reference, 6);
    assert!(
        (p - 1.5).abs() <= 0.15,
        "SRA1 nonlinear drift: order {p:.3}, errors {errs:?}"
    );
}

/// Adaptive stochastic Heun on the tree: tighter tolerances give smaller strong errors, and
/// rejected steps re-query sub-intervals of the same path.
#[test]
fn adaptive_heun_converges_with_tolerance() {
    let exact = w_at_t(4).mapv(|w| (MU * T + SIG * w).exp());
    let mut errs = Vec::new();
    for tol in [1e-2, 1e-3, 1e-4] {
        let mut bm = tree(4);
        let mut pid = PidController::new(tol, tol);
        pid.dt0 = Some(0.01);
        let opts = SolveOptions {
            control: StepControl::Adaptive(pid),
            save_at: SaveAt::End,
            max_steps: 1_000_000,
        };
        let sol = integrate_sde(
            &gbm(),
            &StochasticHeun,
            0.0,
            T,
            Array1::from_elem(PATHS, 1.0),
            &mut bm,
            &opts,
        )
        .unwrap();
        errs.push(
            (sol.last().unwrap() - &exact)
                .mapv(f64::abs)
                .mean()
                .unwrap(),
        );
    }
    assert!(
        errs[1] < errs[0] / 3.0 && errs[2] < errs[1] / 3.0,
        "errors {errs:?}"
    );
}

#[test]
fn sde_failures_are_values() {
    let y = Array1::from_elem(PATHS, 1.0);
    let mut bm = tree(5);
    assert!(matches!(
        integrate_sde(
            &gbm(),
            &Sra1,
            0.0,
            T,
            y.clone(),
            &mut bm,
            &SolveOptions::steps(8)
        ),
        Err(SolveError::Unsupported { solver: "sra1", .. })
    ));
    assert!(matches!(
        integrate_sde(
            &gbm(),
            &EulerMaruyama,
            0.0,
            T,
            y.clone(),
            &mut bm,
            &SolveOptions::adaptive(1e-3, 1e-3)
        ),
        Err(SolveError::Unsupported { .. })
    ));
    assert!(matches!(
        integrate_sde(
            &gbm(),
            &EulerMaruyama,
            0.0,
            2.0 * T,
            y.clone(),
            &mut bm,
            &SolveOptions::steps(8)
        ),
        Err(SolveError::BrownianQuery { .. })
    ));
    let mut seq = SequentialBrownian::new(&y, &sample_seeds(0, PATHS)).unwrap();
    assert!(matches!(
        integrate_sde(
            &gbm(),
            &EulerMaruyama,
            0.0,
            T,
            y.clone(),
            &mut seq,
            &SolveOptions::steps(0)
        ),
        Err(SolveError::InvalidOption { .. })
    ));
    let opts = SolveOptions::steps(4).save_at(SaveAt::Times(vec![0.5]));
    assert!(matches!(
        integrate_sde(&gbm(), &EulerMaruyama, 0.0, T, y, &mut seq, &opts),
        Err(SolveError::Unsupported { .. })
    ));
}
