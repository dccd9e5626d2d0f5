//! Entropic optimal transport by stabilised Sinkhorn scaling (SB-CFM).

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::cost::{check_finite, median_cost, squared_euclidean};
use super::error::Side;
use super::kernels::{PARALLEL_MIN, c_transforms, finish, gibbs, max_entry, sweep};
use super::relaxation::Relaxation;
use super::{Coupling, CouplingError, Pairs, SinkhornPlan};

/// The entropic regularisation ε of [`Sinkhorn`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Epsilon {
    /// ε in units of cost (squared distance). torchcfm's SB-CFM passes `reg = 2σ²` for the
    /// Schrödinger bridge with noise σ (Tong et al. 2024, §3.4), on unnormalised costs.
    Absolute(f64),
    /// ε = factor × median_ij C_ij: the same amount of blur whatever the scale and dimension
    /// of the data (squared distances grow like d).
    RelativeToMedian(f64),
}

/// Entropic optimal transport: the plan
///
/// P_ε = argmin { ⟨P, C⟩ − ε H(P) : P ≥ 0, P1 = a, Pᵀ1 = b },   H(P) = −Σ_ij P_ij (ln P_ij − 1),
///
/// with C_ij = ‖x0_i − x1_j‖² and, for [`Coupling::pair`], uniform marginals a = 1/n₀, b = 1/n₁.
/// With ε = 2σ² it is the static Schrödinger bridge between the empirical measures, the coupling
/// of SB-CFM (Tong et al. 2024, "Improving and generalizing flow-based generative models with
/// minibatch optimal transport", §3.4); ε → 0 recovers exact OT. For unit total mass the bias is
/// 0 ≤ ⟨P_ε, C⟩ − OT ≤ ε·min(H(a), H(b)) with H(a) = −Σ a_i ln a_i (`ln n` for n uniform
/// points): optimality against an OT plan P* gives ⟨P_ε, C⟩ − OT ≤ ε (H(P_ε) − H(P*)), and
/// H(P_ε) ≤ H(a) + H(b), H(P*) ≥ max(H(a), H(b)). ⟨P_ε, C⟩ is non-decreasing in ε: adding the
/// optimality inequalities at ε₁ < ε₂ gives H(P_ε₁) ≤ H(P_ε₂), then
/// ⟨P_ε₁, C⟩ − ⟨P_ε₂, C⟩ ≤ ε₁ (H(P_ε₁) − H(P_ε₂)) ≤ 0.
///
/// P_ε = diag(eᶠ/ε) exp(−C/ε) diag(eᵍ/ε) is computed by Sinkhorn's alternate scaling (Cuturi 2013,
/// "Sinkhorn Distances") in the stabilised form of Schmitzer 2019 ("Stabilized sparse scaling
/// algorithms for entropy regularized transport problems", SIAM J. Sci. Comput. 41(3), §3):
///
/// - Log-domain potentials f, g carry the large part of the scalings, and the iteration runs on
///   the kernel K̃_ij = exp((f_i + g_j − C_ij)/ε) with scalings u, v — two matrix–vector
///   products per iteration, u ← a ⊘ K̃v, v ← b ⊘ K̃ᵀu, fused into one pass over K̃ (row blocks
///   stay in cache between the two). When u or v leaves [1e-100, 1e100] they
///   are absorbed (f ← f + ε ln u, g ← g + ε ln v, u = v = 1) and K̃ is rebuilt, so nothing
///   overflows or underflows whatever ε; a row or column sum that underflows anyway is replaced
///   by an exact log-domain (log-sum-exp) update.
/// - ε-scaling (Schmitzer 2019, §3.2): the potentials start as the c-transforms
///   f_i = min_j C_ij, g_j = min_i (C_ij − f_i) (so each row and column of K̃ has an entry 1), and
///   the problem is solved for a decreasing sequence ε_k = max(ε, ε₀ λᵏ), each stage warm-started
///   from the last and stopped at marginal error 1e-3, before the target ε;
///   ε₀ = (max C − min C)/512 when larger than ε (a larger ε converges fast without stages).
/// - Over-relaxation (Thibault et al. 2021, "Overrelaxed Sinkhorn–Knopp algorithm for
///   regularized optimal transport", Algorithms 14(5)): u ← u^{1−ω} (a ⊘ K̃v)^ω and likewise v,
///   with ω adapted to the observed convergence rate by Young's SOR theory, at most 1.95, and
///   back to 1 (plain Sinkhorn, globally convergent) if the error grows. It cuts the iterations
///   2–10× where Sinkhorn is slow; with ω ≠ 1 neither marginal is exact after a half-step, which
///   the stopping rule below accounts for.
///
/// Small ε is slow whatever the stabilisation: Sinkhorn's linear rate tends to 1 as ε → 0, and on
/// small Gaussian minibatches at ε ≲ 10⁻² × median cost the marginal error can decay like 1/k
/// for 10⁵ iterations (measured identically with POT's log-domain `sinkhorn_log`). Ask for a
/// looser `tolerance` there (1e-6 is reached at ε = 10⁻³ × median on the tests' problems), or a
/// larger cap; the error is a value either way.
///
/// The iteration stops when the marginal error ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ of the current plan
/// (measured from the products the next half-step needs anyway) is at most `tolerance`, and fails
/// with [`CouplingError::NotConverged`] after `max_iterations`. The plan is dense, O(n₀n₁)
/// memory and O(n₀n₁) work per iteration, on rayon's threads for large batches.
///
/// [`Coupling::pair`] draws n₀ pairs with replacement from P (see [`SinkhornPlan::draw`]), as
/// torchcfm's `OTPlanSampler`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sinkhorn {
    /// The regularisation ε.
    pub epsilon: Epsilon,
    /// Stop when ‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ ≤ tolerance (absolute, in units of mass; default 1e-9).
    pub tolerance: f64,
    /// Iteration cap over all ε stages (default 100 000).
    pub max_iterations: usize,
    /// ε-scaling factor λ ∈ (0, 1) between stages (default 0.5); `None` solves at the target ε
    /// only.
    pub epsilon_scaling: Option<f64>,
    /// Whether to over-relax (default `true`).
    pub overrelaxation: bool,
}

/// Scalings are absorbed into the potentials outside [1/SCALING_BOUND, SCALING_BOUND]. Kernel
/// entries that underflow (below 1e-308) then carry plan weight below 1e-108: invisible at any
/// useful tolerance, while absorptions (each an O(n₀n₁) rebuild of K̃ with exponentials) stay
/// rare.
const SCALING_BOUND: f64 = 1e100;
/// Intermediate ε stages stop at this marginal error: they only need to bring the potentials
/// near the next stage's.
const STAGE_TOLERANCE: f64 = 1e-3;
/// The first stage's ε is the cost range over this. From the c-transform start, Sinkhorn converges
/// in tens of iterations while range/ε stays below a few hundred (measured on Gaussian
/// minibatches), so ε-scaling starts only for smaller ε, where it saves most iterations.
const FIRST_STAGE_SPREAD: f64 = 512.0;
impl Default for Sinkhorn {
    fn default() -> Self {
        Self::relative(0.05)
    }
}

impl Sinkhorn {
    /// Sinkhorn with absolute ε (units of cost) and the default options.
    pub fn absolute(epsilon: f64) -> Self {
        Self::new(Epsilon::Absolute(epsilon))
    }

    /// Sinkhorn with ε = `factor` × the median cost and the default options.
    pub fn relative(factor: f64) -> Self {
        Self::new(Epsilon::RelativeToMedian(factor))
    }

    /// Sinkhorn with the given ε and the default options.
    pub fn new(epsilon: Epsilon) -> Self {
        Self {
            epsilon,
            tolerance: 1e-9,
            max_iterations: 100_000,
            epsilon_scaling: Some(0.5),
            overrelaxation: true,
        }
    }

    /// The same solver with another tolerance.
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// The same solver with another iteration cap.
    pub fn with_max_iterations(mut self, max_iterations: usize) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    /// The same solver with another ε-scaling factor (`None`: no ε-scaling).
    pub fn with_epsilon_scaling(mut self, factor: Option<f64>) -> Self {
        self.epsilon_scaling = factor;
        self
    }

    /// The same solver with over-relaxation on or off.
    pub fn with_overrelaxation(mut self, on: bool) -> Self {
        self.overrelaxation = on;
        self
    }

    /// The absolute ε for a cost matrix.
    ///
    /// # Errors
    /// [`CouplingError::InvalidEpsilon`] if it is not finite and positive (a relative ε on a
    /// matrix whose median cost is 0, for instance).
    pub fn absolute_epsilon(&self, cost: ArrayView2<'_, f64>) -> Result<f64, CouplingError> {
        let eps = match self.epsilon {
            Epsilon::Absolute(e) => e,
            Epsilon::RelativeToMedian(factor) => {
                if !(factor.is_finite() && factor > 0.0) {
                    return Err(CouplingError::InvalidEpsilon(factor));
                }
                factor * median_cost(cost).unwrap_or(f64::NAN)
            }
        };
        if eps.is_finite() && eps > 0.0 {
            Ok(eps)
        } else {
            Err(CouplingError::InvalidEpsilon(eps))
        }
    }

    /// Solves the entropic OT problem for `cost` (n₀ × n₁) with uniform marginals 1/n₀ and 1/n₁.
    ///
    /// # Errors
    /// As [`Sinkhorn::solve`].
    pub fn solve_uniform(&self, cost: ArrayView2<'_, f64>) -> Result<SinkhornPlan, CouplingError> {
        let (n0, n1) = cost.dim();
        if n0 == 0 || n1 == 0 {
            return Err(CouplingError::Empty { n0, n1 });
        }
        let a = Array1::from_elem(n0, 1.0 / n0 as f64);
        let b = Array1::from_elem(n1, 1.0 / n1 as f64);
        self.solve(cost, a.view(), b.view())
    }

    /// Solves the entropic OT problem for `cost` (n₀ × n₁) and marginals `a` (n₀) and `b` (n₁),
    /// whose entries must be positive and whose sums must agree to 1e-12 relative.
    ///
    /// # Errors
    /// [`CouplingError::Empty`], [`CouplingError::NonFinite`] (cost, a or b),
    /// [`CouplingError::InvalidMarginal`], [`CouplingError::InvalidEpsilon`],
    /// [`CouplingError::InvalidOption`] (tolerance not positive, ε-scaling factor outside
    /// (0, 1)), or [`CouplingError::NotConverged`] (carrying the marginal error reached).
    pub fn solve(
        &self,
        cost: ArrayView2<'_, f64>,
        a: ArrayView1<'_, f64>,
        b: ArrayView1<'_, f64>,
    ) -> Result<SinkhornPlan, CouplingError> {
        let (n0, n1) = cost.dim();
        if n0 == 0 || n1 == 0 {
            return Err(CouplingError::Empty { n0, n1 });
        }
        self.check_options()?;
        check_finite(cost, "cost")?;
        check_marginal(a, n0, Side::Source)?;
        check_marginal(b, n1, Side::Target)?;
        let (mass_a, mass_b) = (a.sum(), b.sum());
        if (mass_a - mass_b).abs() > 1e-12 * mass_a.max(mass_b) {
            return Err(CouplingError::InvalidMarginal {
                side: Side::Target,
                reason: format!("total mass {mass_b} differs from the source's {mass_a}"),
            });
        }
        let eps = self.absolute_epsilon(cost)?;
        if n0 * n1 < PARALLEL_MIN {
            // One thread does every pass; a trip through the pool would cost more.
            return self.solve_checked(cost, a, b, eps);
        }
        // Inside the pool, the per-iteration parallel passes fork from a worker thread instead
        // of injecting a job and blocking the caller on a lock each time.
        rayon::scope(|_| self.solve_checked(cost, a, b, eps))
    }

    /// [`Sinkhorn::solve`] on validated inputs.
    fn solve_checked(
        &self,
        cost: ArrayView2<'_, f64>,
        a: ArrayView1<'_, f64>,
        b: ArrayView1<'_, f64>,
        eps: f64,
    ) -> Result<SinkhornPlan, CouplingError> {
        let cost = cost.as_standard_layout();
        let c = cost.as_slice().expect("standard layout");
        let mut state = State::new(c, a.to_vec(), b.to_vec(), self);
        // min C is the smallest row minimum f_i of the c-transform start.
        let lo = state.f.iter().copied().fold(f64::INFINITY, f64::min);
        let stages = self.stages(max_entry(c) - lo, eps);
        for (k, &stage_eps) in stages.iter().enumerate() {
            let tol = if k + 1 == stages.len() {
                self.tolerance
            } else {
                self.tolerance.max(STAGE_TOLERANCE)
            };
            state.run_stage(stage_eps, tol)?;
        }
        Ok(state.finish())
    }

    fn check_options(&self) -> Result<(), CouplingError> {
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(CouplingError::InvalidOption {
                name: "tolerance",
                value: self.tolerance,
                reason: "must be finite and > 0",
            });
        }
        if let Some(l) = self.epsilon_scaling
            && !(l > 0.0 && l < 1.0)
        {
            return Err(CouplingError::InvalidOption {
                name: "epsilon_scaling",
                value: l,
                reason: "must lie in (0, 1)",
            });
        }
        Ok(())
    }

    /// ε₀ > ε₁ > … > ε: geometric from the first-stage ε down to the target, for costs
    /// spanning `range`.
    fn stages(&self, range: f64, eps: f64) -> Vec<f64> {
        let Some(lambda) = self.epsilon_scaling else {
            return vec![eps];
        };
        let mut stages = Vec::new();
        let mut e = range / FIRST_STAGE_SPREAD;
        while e > eps {
            stages.push(e);
            e *= lambda;
        }
        stages.push(eps);
        stages
    }
}

/// Positive finite entries and the right length.
fn check_marginal(m: ArrayView1<'_, f64>, n: usize, side: Side) -> Result<(), CouplingError> {
    if m.len() != n {
        return Err(CouplingError::InvalidMarginal {
            side,
            reason: format!("length {} for {n} rows", m.len()),
        });
    }
    for (i, &x) in m.iter().enumerate() {
        if !x.is_finite() {
            return Err(CouplingError::NonFinite {
                what: if side == Side::Source { "a" } else { "b" },
                row: i,
                col: 0,
                value: x,
            });
        }
        if x <= 0.0 {
            return Err(CouplingError::InvalidMarginal {
                side,
                reason: format!("entry {i} is {x}, not > 0"),
            });
        }
    }
    Ok(())
}

/// The iterates of one solve: potentials, the stabilised kernel, scalings and work vectors.
struct State<'a> {
    cost: &'a [f64],
    a: Vec<f64>,
    b: Vec<f64>,
    f: Vec<f64>,
    g: Vec<f64>,
    kernel: Vec<f64>,
    u: Vec<f64>,
    v: Vec<f64>,
    /// K̃ᵀu of the latest sweep.
    col: Vec<f64>,
    eps: f64,
    iterations: usize,
    max_iterations: usize,
    overrelaxation: bool,
    tolerance: f64,
}

impl<'a> State<'a> {
    fn new(cost: &'a [f64], a: Vec<f64>, b: Vec<f64>, options: &Sinkhorn) -> Self {
        let (n0, n1) = (a.len(), b.len());
        // c-transforms of 0: the zero-temperature limit of one Sinkhorn sweep. Every row and
        // column of the first kernel then has a largest entry exactly 1, so no sum underflows.
        let (mut f, mut g) = (vec![0.0; n0], vec![0.0; n1]);
        c_transforms(cost, &mut f, &mut g);
        Self {
            cost,
            a,
            b,
            f,
            g,
            kernel: vec![0.0; n0 * n1],
            u: vec![1.0; n0],
            v: vec![1.0; n1],
            col: vec![0.0; n1],
            eps: f64::NAN,
            iterations: 0,
            max_iterations: options.max_iterations,
            overrelaxation: options.overrelaxation,
            tolerance: options.tolerance,
        }
    }

    /// f ← f + ε ln u, g ← g + ε ln v, u = v = 1, K̃ rebuilt: the same plan, fresh scalings.
    fn absorb(&mut self) {
        for (fi, ui) in self.f.iter_mut().zip(&mut self.u) {
            *fi += self.eps * ui.ln();
            *ui = 1.0;
        }
        for (gj, vj) in self.g.iter_mut().zip(&mut self.v) {
            *gj += self.eps * vj.ln();
            *vj = 1.0;
        }
        gibbs(self.cost, &self.f, &self.g, self.eps, &mut self.kernel);
    }

    /// The exact log-domain row update f_i = ε ln a_i − ε ln Σ_j exp((g_j − C_ij)/ε) (with v
    /// absorbed first), for when a row sum of K̃v underflows; then K̃ is rebuilt.
    fn log_row_update(&mut self) {
        let n1 = self.g.len();
        for (gj, vj) in self.g.iter_mut().zip(&mut self.v) {
            *gj += self.eps * vj.ln();
            *vj = 1.0;
        }
        for ((fi, ui), (row, &ai)) in self
            .f
            .iter_mut()
            .zip(&mut self.u)
            .zip(self.cost.chunks_exact(n1).zip(&self.a))
        {
            *fi = self.eps * (ai.ln() - log_sum_exp(row, &self.g, self.eps));
            *ui = 1.0;
        }
        gibbs(self.cost, &self.f, &self.g, self.eps, &mut self.kernel);
    }

    /// The column counterpart of [`State::log_row_update`].
    fn log_col_update(&mut self) {
        let n1 = self.g.len();
        for (fi, ui) in self.f.iter_mut().zip(&mut self.u) {
            *fi += self.eps * ui.ln();
            *ui = 1.0;
        }
        let mut column = vec![0.0; self.f.len()];
        for j in 0..n1 {
            for (c, row) in column.iter_mut().zip(self.cost.chunks_exact(n1)) {
                *c = row[j];
            }
            self.g[j] = self.eps * (self.b[j].ln() - log_sum_exp(&column, &self.f, self.eps));
            self.v[j] = 1.0;
        }
        gibbs(self.cost, &self.f, &self.g, self.eps, &mut self.kernel);
    }

    /// Iterates at one ε until the marginal error is at most `tol`.
    fn run_stage(&mut self, eps: f64, tol: f64) -> Result<(), CouplingError> {
        if self.eps.is_finite() {
            // Carry the previous stage's scalings into the potentials before ε changes.
            for (fi, ui) in self.f.iter_mut().zip(&mut self.u) {
                *fi += self.eps * ui.ln();
                *ui = 1.0;
            }
            for (gj, vj) in self.g.iter_mut().zip(&mut self.v) {
                *gj += self.eps * vj.ln();
                *vj = 1.0;
            }
        }
        self.eps = eps;
        gibbs(self.cost, &self.f, &self.g, eps, &mut self.kernel);
        let mut relaxation = Relaxation::new(self.overrelaxation);
        // ‖v ⊙ K̃ᵀu − b‖₁ of the current scalings; unknown until the first column update.
        let mut col_err = f64::INFINITY;
        let mut last_err = f64::INFINITY;
        loop {
            if self.iterations >= self.max_iterations {
                return Err(CouplingError::NotConverged {
                    iterations: self.iterations,
                    marginal_error: last_err,
                    tolerance: self.tolerance,
                });
            }
            let u_before = self.u.clone();
            let omega = relaxation.omega();
            let row_err = sweep(
                &self.kernel,
                &self.v,
                &self.a,
                &mut self.u,
                &mut self.col,
                omega,
            );
            if row_err.is_nan() {
                // Counted as an iteration, so that the cap bounds these repairs too.
                self.iterations += 1;
                self.u = u_before;
                self.log_row_update();
                col_err = f64::INFINITY;
                continue;
            }
            let err = row_err + col_err;
            if err <= tol {
                // The plan of the scalings before this sweep meets the tolerance.
                self.u = u_before;
                return Ok(());
            }
            if err.is_finite() {
                last_err = err;
            }
            self.iterations += 1;
            if col_err.is_finite() {
                relaxation.observe(err);
            }
            if out_of_bounds(&self.u) {
                self.absorb();
                col_err = f64::INFINITY;
                continue;
            }
            if !self.col.iter().all(|&c| c.is_finite() && c > 0.0) {
                self.log_col_update();
                col_err = f64::INFINITY;
                continue;
            }
            update(&mut self.v, &self.b, &self.col, omega);
            col_err = self
                .v
                .iter()
                .zip(&self.col)
                .zip(&self.b)
                .map(|((v, c), b)| (v * c - b).abs())
                .sum();
            if out_of_bounds(&self.v) {
                self.absorb();
                col_err = f64::INFINITY;
            }
        }
    }

    /// The plan diag(u) K̃ diag(v), its potentials, marginal error and cost.
    fn finish(mut self) -> SinkhornPlan {
        let (n0, n1) = (self.u.len(), self.v.len());
        let (mut rows, mut cols) = (vec![0.0; n0], vec![0.0; n1]);
        let transport_cost = finish(
            &mut self.kernel,
            self.cost,
            &self.u,
            &self.v,
            &mut rows,
            &mut cols,
        );
        let marginal_error = rows
            .iter()
            .zip(&self.a)
            .chain(cols.iter().zip(&self.b))
            .map(|(s, m)| (s - m).abs())
            .sum();
        let eps = self.eps;
        let f = self
            .f
            .iter()
            .zip(&self.u)
            .map(|(f, u)| f + eps * u.ln())
            .collect();
        let g = self
            .g
            .iter()
            .zip(&self.v)
            .map(|(g, v)| g + eps * v.ln())
            .collect();
        SinkhornPlan {
            plan: Array2::from_shape_vec((n0, n1), self.kernel).expect("n0 × n1 entries"),
            f,
            g,
            epsilon: eps,
            iterations: self.iterations,
            marginal_error,
            transport_cost,
        }
    }
}

/// ln Σ_j exp((h_j − c_j)/ε), shifted by its largest term so that it neither overflows nor
/// underflows.
fn log_sum_exp(c: &[f64], h: &[f64], eps: f64) -> f64 {
    let m = c
        .iter()
        .zip(h)
        .map(|(c, h)| (h - c) / eps)
        .fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = c
        .iter()
        .zip(h)
        .map(|(c, h)| ((h - c) / eps - m).exp())
        .sum();
    m + s.ln()
}

/// s ← s^{1−ω} (m ⊘ p)^ω, i.e. s ← m ⊘ p for ω = 1.
fn update(s: &mut [f64], m: &[f64], p: &[f64], omega: f64) {
    if omega == 1.0 {
        for ((s, m), p) in s.iter_mut().zip(m).zip(p) {
            *s = m / p;
        }
    } else {
        for ((s, m), p) in s.iter_mut().zip(m).zip(p) {
            *s *= (m / (*s * p)).powf(omega);
        }
    }
}

fn out_of_bounds(s: &[f64]) -> bool {
    !s.iter()
        .all(|&x| (1.0 / SCALING_BOUND..=SCALING_BOUND).contains(&x))
}

impl Coupling for Sinkhorn {
    fn pair(
        &self,
        x0: ArrayView2<'_, f64>,
        x1: ArrayView2<'_, f64>,
        seed: u64,
    ) -> Result<Pairs, CouplingError> {
        let cost = squared_euclidean(x0, x1)?;
        let plan = self.solve_uniform(cost.view())?;
        Ok(plan.draw(x0.nrows(), seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row (then a column) whose kernel underflows entirely must be repaired by the
    /// log-domain update, and the solve must still reach the marginals.
    #[test]
    fn underflowing_rows_and_columns_are_repaired() {
        let (n0, n1) = (9, 7);
        let cost: Vec<f64> = (0..n0 * n1)
            .map(|k| (((k * 37) % 23) as f64 * 0.31 - 1.0).powi(2))
            .collect();
        let options = Sinkhorn::absolute(0.05).with_epsilon_scaling(None);
        for broken_row in [true, false] {
            let (a, b) = (vec![1.0 / n0 as f64; n0], vec![1.0 / n1 as f64; n1]);
            let mut state = State::new(&cost, a.clone(), b.clone(), &options);
            // Potentials 10⁴ε too low: every kernel entry of row 3 (or column 2) is 0.
            if broken_row {
                state.f[3] -= 500.0;
            } else {
                state.g[2] -= 500.0;
            }
            state.run_stage(0.05, 1e-12).unwrap();
            let plan = state.finish();
            assert!(plan.marginal_error <= 1e-12, "{:e}", plan.marginal_error);
            for ((i, j), &p) in plan.plan.indexed_iter() {
                let gibbs = ((plan.f[i] + plan.g[j] - cost[i * n1 + j]) / 0.05).exp();
                assert!((p - gibbs).abs() <= 1e-10 * gibbs.max(1e-300));
            }
        }
    }
}
