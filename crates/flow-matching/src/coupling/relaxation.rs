//! The over-relaxation factor ω of the Sinkhorn iteration, adapted to its observed rate.

/// Iterations at ω = 1 before the first estimate.
const WARMUP: usize = 8;
/// Iterations between later estimates.
const PERIOD: usize = 16;
/// Largest ω: beyond it, a misestimated rate makes the iteration oscillate.
const OMEGA_MAX: f64 = 1.95;
/// Divergence guards (ω back to 1) before over-relaxation is abandoned for the stage.
const MAX_RESETS: usize = 3;

/// ω for u ← u^{1−ω} (a ⊘ K̃v)^ω (Thibault et al. 2021, "Overrelaxed Sinkhorn–Knopp algorithm
/// for regularized optimal transport", Algorithms 14(5)), chosen by Young's theory of successive
/// over-relaxation applied to the linearised iteration: near the fixed point, Sinkhorn is a
/// Gauss–Seidel sweep with rate θ = μ², and over-relaxation by ω has rate ρ(ω) with
///
/// √ρ = (ωμ + √(ω²μ² − 4(ω − 1)))/2,   i.e.   μ = (ρ + ω − 1)/(ω√ρ),
///
/// minimised by ω* = 2/(1 + √(1 − μ²)) (Young 1954; Varga, "Matrix Iterative Analysis", §4.3).
/// μ is re-estimated from the observed error ratio over every window, so ω follows the slow
/// asymptotic rate rather than the fast first iterations. If the error grows to 4× its best, ω
/// returns to 1 (plain Sinkhorn, which converges from any positive scaling).
pub(crate) struct Relaxation {
    enabled: bool,
    omega: f64,
    /// Errors since the last change of ω.
    window: Vec<f64>,
    best: f64,
    resets: usize,
}

impl Relaxation {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            omega: 1.0,
            window: Vec::with_capacity(PERIOD + 1),
            best: f64::INFINITY,
            resets: 0,
        }
    }

    /// The factor for the next iteration.
    pub(crate) fn omega(&self) -> f64 {
        self.omega
    }

    /// Records the marginal error of the latest iterate.
    pub(crate) fn observe(&mut self, err: f64) {
        if !self.enabled {
            return;
        }
        // Grown unless err ≤ 4·best; a NaN error counts as grown.
        let grew = !matches!(
            err.partial_cmp(&(4.0 * self.best)),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        );
        if self.omega > 1.0 && grew {
            self.resets += 1;
            self.enabled = self.resets < MAX_RESETS;
            self.omega = 1.0;
            self.window.clear();
            self.best = err;
            return;
        }
        self.best = self.best.min(err);
        self.window.push(err);
        let span = if self.omega == 1.0 && self.resets == 0 {
            WARMUP
        } else {
            PERIOD
        };
        if self.window.len() <= span {
            return;
        }
        let rho = (self.window[span] / self.window[0]).powf(1.0 / span as f64);
        self.window.clear();
        self.window.push(err);
        if !(rho > 0.0 && rho < 1.0) {
            return;
        }
        let mu = (rho + self.omega - 1.0) / (self.omega * rho.sqrt());
        self.omega = if mu < 1.0 {
            (2.0 / (1.0 + (1.0 - mu * mu).sqrt())).min(OMEGA_MAX)
        } else {
            OMEGA_MAX
        };
    }
}
