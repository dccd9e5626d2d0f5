//! A derivative-free minimiser for the few (≤ 10) smooth parameters of a calibrated grid.

/// The Nelder–Mead simplex method (Nelder & Mead 1965, "A simplex method for function
/// minimization"), in the formulation of Lagarias et al. 1998 ("Convergence properties of the
/// Nelder–Mead simplex method in low dimensions", Algorithm 1) with the dimension-adaptive
/// coefficients of Gao & Han 2012 ("Implementing the Nelder–Mead simplex algorithm with adaptive
/// parameters"): in n dimensions, reflection ρ = 1, expansion χ = 1 + 2/n, contraction
/// γ = 3/4 − 1/(2n), shrink σ = 1 − 1/n, with γ and σ kept at least ½ (at n = 2 these are the
/// classical 1, 2, ½, ½; at n = 1 the formulas would give γ = ¼ and σ = 0).
///
/// Why this and not a gradient method: the objective (a sampler's endpoint error) is cheap to
/// evaluate but has no derivative with respect to the grid in the sampler's interface, and a
/// grid family has at most ten parameters, where Nelder–Mead is reliable. Everything is in f64
/// on the host and deterministic: ties in the ordering keep the earlier vertex.
///
/// A non-finite value counts as +∞ (an infeasible point: the simplex moves away from it).
/// When the simplex has converged (spread of values ≤ `f_tolerance` relative to the best value
/// and of vertices ≤ `x_tolerance`) the method restarts from the best vertex with a fresh
/// simplex of the initial size, up to `restarts` times, which repairs the collapsed simplices
/// Nelder–Mead is known for (Lagarias et al. 1998, §1). It never evaluates more than
/// `max_evaluations` points, and the point it returns is the best one evaluated, so its value is
/// never above the starting point's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NelderMead {
    /// Largest number of objective evaluations (the start included).
    pub max_evaluations: usize,
    /// Edge length of the initial simplex along each coordinate axis.
    pub initial_step: f64,
    /// Convergence: (f_worst − f_best) ≤ `f_tolerance`·|f_best|.
    pub f_tolerance: f64,
    /// Convergence: every vertex within `x_tolerance` (max norm) of the best.
    pub x_tolerance: f64,
    /// Fresh simplices around the best point after convergence.
    pub restarts: usize,
}

impl Default for NelderMead {
    fn default() -> Self {
        Self {
            max_evaluations: 400,
            initial_step: 0.5,
            f_tolerance: 1e-6,
            x_tolerance: 1e-5,
            restarts: 2,
        }
    }
}

/// The best point [`NelderMead::minimize`] evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Minimum {
    /// Its coordinates.
    pub x: Vec<f64>,
    /// Its value (+∞ if no evaluated point was finite).
    pub f: f64,
    /// Objective evaluations spent.
    pub evaluations: usize,
}

/// The budgeted objective: counts evaluations, keeps the best point, maps NaN to +∞.
struct Budget<'a, E> {
    f: &'a mut dyn FnMut(&[f64]) -> Result<f64, E>,
    left: usize,
    used: usize,
    best: Minimum,
}

impl<E> Budget<'_, E> {
    /// f(x), or `None` once the budget is spent.
    fn eval(&mut self, x: &[f64]) -> Result<Option<f64>, E> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.used += 1;
        let v = (self.f)(x)?;
        let v = if v.is_nan() { f64::INFINITY } else { v };
        if v < self.best.f {
            self.best = Minimum {
                x: x.to_vec(),
                f: v,
                evaluations: 0,
            };
        }
        Ok(Some(v))
    }
}

impl NelderMead {
    /// Minimises `f` from `x0`. Returns the best point evaluated (x0 itself if nothing was
    /// better), or `f`'s first error.
    ///
    /// # Errors
    /// Whatever `f` returns as an error (the search stops there).
    pub fn minimize<E>(
        &self,
        mut f: impl FnMut(&[f64]) -> Result<f64, E>,
        x0: &[f64],
    ) -> Result<Minimum, E> {
        let mut budget = Budget {
            f: &mut f,
            left: self.max_evaluations.max(1),
            used: 0,
            best: Minimum {
                x: x0.to_vec(),
                f: f64::INFINITY,
                evaluations: 0,
            },
        };
        budget.eval(x0)?;
        let n = x0.len();
        if n > 0 {
            for _ in 0..=self.restarts {
                let start = budget.best.clone();
                let improved = self.search(&mut budget, &start.x, start.f)?;
                if !improved || budget.left == 0 {
                    break;
                }
            }
        }
        let mut best = budget.best;
        best.evaluations = budget.used;
        Ok(best)
    }

    /// One simplex search from `x0` (value `f0`); whether it ended below `f0` by more than the
    /// tolerance.
    fn search<E>(&self, budget: &mut Budget<'_, E>, x0: &[f64], f0: f64) -> Result<bool, E> {
        let n = x0.len();
        let nf = n as f64;
        let (rho, chi) = (1.0, 1.0 + 2.0 / nf);
        let gamma = (0.75 - 0.5 / nf).max(0.5);
        let delta = (1.0 - 1.0 / nf).max(0.5);
        let mut simplex: Vec<(Vec<f64>, f64)> = vec![(x0.to_vec(), f0)];
        for k in 0..n {
            let mut x = x0.to_vec();
            x[k] += self.initial_step;
            let Some(v) = budget.eval(&x)? else {
                return Ok(false);
            };
            simplex.push((x, v));
        }
        loop {
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (best, worst) = (simplex[0].1, simplex[n].1);
            let spread = simplex[1..]
                .iter()
                .flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()))
                .fold(0.0, f64::max);
            if worst - best <= self.f_tolerance * best.abs() && spread <= self.x_tolerance {
                break;
            }
            let centroid: Vec<f64> = (0..n)
                .map(|k| simplex[..n].iter().map(|(x, _)| x[k]).sum::<f64>() / nf)
                .collect();
            let toward = |t: f64, from: &[f64]| -> Vec<f64> {
                centroid
                    .iter()
                    .zip(from)
                    .map(|(c, x)| c + t * (x - c))
                    .collect()
            };
            let xr = toward(-rho, &simplex[n].0);
            let Some(fr) = budget.eval(&xr)? else { break };
            if fr < best {
                let xe = toward(-rho * chi, &simplex[n].0);
                let Some(fe) = budget.eval(&xe)? else { break };
                simplex[n] = if fe < fr { (xe, fe) } else { (xr, fr) };
                continue;
            }
            if fr < simplex[n - 1].1 {
                simplex[n] = (xr, fr);
                continue;
            }
            // Outside contraction towards the reflected point, inside towards the worst.
            let (xc, limit) = if fr < worst {
                (toward(-rho * gamma, &simplex[n].0), fr)
            } else {
                (toward(gamma, &simplex[n].0), worst)
            };
            let Some(fc) = budget.eval(&xc)? else { break };
            if fc < limit || (fr < worst && fc <= fr) {
                simplex[n] = (xc, fc);
                continue;
            }
            let anchor = simplex[0].0.clone();
            for vertex in simplex.iter_mut().skip(1) {
                let x: Vec<f64> = anchor
                    .iter()
                    .zip(&vertex.0)
                    .map(|(a, x)| a + delta * (x - a))
                    .collect();
                let Some(v) = budget.eval(&x)? else {
                    return Ok(budget.best.f < f0);
                };
                *vertex = (x, v);
            }
        }
        Ok(budget.best.f < f0 - self.f_tolerance * f0.abs())
    }
}
