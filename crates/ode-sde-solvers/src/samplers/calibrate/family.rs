//! The smooth family of σ grids a calibration searches.

use scoreflow_noise_schedules::{ScheduleError, SigmaGrid};

use super::CalibrationError;

/// N-step σ grids with the starting grid's end points, parameterised so that every parameter
/// vector is a valid (strictly decreasing) grid.
///
/// In CondOT time t = 1/(1 + σ) (Lipman et al. 2023: x_t = t·x₁ + (1 − t)·x₀ is the α = 1
/// process at σ = (1 − t)/t after scaling by 1/t) the grid runs from t₀ = 1/(1 + σ₀) up to
/// t_N = 1/(1 + σ_N), which is exactly 1 for a grid ending in σ = 0: a bounded interval, so the
/// final 0 needs no special case (in log σ it would sit at −∞). The N increments are a softmax,
///
/// Δt_j = (t_N − t₀)·softmax(ℓ⁰ + Σ_{k=1}^{K} c_k·P_k(s_j))_j,  s_j = 2j/(N − 1) − 1,
///
/// where ℓ⁰_j = ln Δt⁰_j are the log-increments of the starting grid (c = 0 is the starting
/// grid exactly), P_k is the Legendre polynomial of degree k (a well-conditioned basis on
/// [−1, 1]) and K = min(degree, N − 1). Positive increments make the grid strictly monotone by
/// construction; the constant P₀ is left out because the softmax ignores a shift. With
/// K = N − 1 the family is every monotone grid with these end points (P₀, …, P_{N−1} at N
/// distinct nodes are a basis of ℝᴺ); a small K keeps the correction to the starting grid a
/// smooth, low-dimensional warp, which over-fits a pilot set less.
#[derive(Clone, Debug, PartialEq)]
pub struct GridFamily {
    start: SigmaGrid,
    t_first: f64,
    t_last: f64,
    base_logits: Vec<f64>,
    /// basis[k][j] = P_{k+1}(s_j).
    basis: Vec<Vec<f64>>,
}

impl GridFamily {
    /// The family around `start` with polynomial corrections of degree ≤ `degree`.
    ///
    /// # Errors
    /// [`CalibrationError::StartGrid`] when two neighbouring values of `start` map to the same
    /// t in f64 (no log-increment exists).
    pub fn new(start: &SigmaGrid, degree: usize) -> Result<Self, CalibrationError> {
        let t: Vec<f64> = start.as_slice().iter().map(|&s| condot_time(s)).collect();
        let steps = t.len() - 1;
        let base_logits: Vec<f64> = t.windows(2).map(|w| (w[1] - w[0]).ln()).collect();
        if base_logits.iter().any(|l| !l.is_finite()) {
            return Err(CalibrationError::StartGrid(
                "two neighbouring σ values have the same CondOT time t = 1/(1 + σ) in f64".into(),
            ));
        }
        let k_max = degree.min(steps.saturating_sub(1));
        let nodes: Vec<f64> = (0..steps)
            .map(|j| {
                if steps > 1 {
                    2.0 * j as f64 / (steps - 1) as f64 - 1.0
                } else {
                    0.0
                }
            })
            .collect();
        let basis = (1..=k_max)
            .map(|k| nodes.iter().map(|&s| legendre(k, s)).collect())
            .collect();
        Ok(Self {
            start: start.clone(),
            t_first: t[0],
            t_last: t[steps],
            base_logits,
            basis,
        })
    }

    /// K, the number of parameters.
    pub fn dimension(&self) -> usize {
        self.basis.len()
    }

    /// The starting grid (c = 0).
    pub fn start(&self) -> &SigmaGrid {
        &self.start
    }

    /// The grid of parameters `c` (length [`GridFamily::dimension`]); c = 0 returns the starting
    /// grid bit for bit.
    ///
    /// # Errors
    /// A grid error when increments so unequal that neighbours round to the same σ in f64.
    ///
    /// # Panics
    /// Never for `c` of the right length; a wrong length is a caller's bug and panics.
    pub fn grid(&self, c: &[f64]) -> Result<SigmaGrid, ScheduleError> {
        assert_eq!(
            c.len(),
            self.dimension(),
            "one coefficient per basis polynomial"
        );
        if c.iter().all(|&v| v == 0.0) {
            return Ok(self.start.clone());
        }
        let logits: Vec<f64> = self
            .base_logits
            .iter()
            .enumerate()
            .map(|(j, l)| {
                l + c
                    .iter()
                    .zip(&self.basis)
                    .map(|(ck, p)| ck * p[j])
                    .sum::<f64>()
            })
            .collect();
        let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
        let total: f64 = weights.iter().sum();
        let s = self.start.as_slice();
        let mut sigmas = Vec::with_capacity(s.len());
        sigmas.push(s[0]);
        let mut cumulative = 0.0;
        for w in &weights[..weights.len() - 1] {
            cumulative += w;
            let t = self.t_first + (self.t_last - self.t_first) * cumulative / total;
            sigmas.push((1.0 - t) / t);
        }
        // The end points are the starting grid's exactly (σ_N = 0 stays 0).
        sigmas.push(s[s.len() - 1]);
        SigmaGrid::new(sigmas)
    }
}

/// t = 1/(1 + σ), CondOT time of the α = 1 noise level σ (1 at σ = 0).
fn condot_time(sigma: f64) -> f64 {
    1.0 / (1.0 + sigma)
}

/// P_k(s) by Bonnet's recurrence (k + 1)·P_{k+1} = (2k + 1)·s·P_k − k·P_{k−1}.
fn legendre(k: usize, s: f64) -> f64 {
    let (mut previous, mut current) = (1.0, s);
    if k == 0 {
        return previous;
    }
    for j in 1..k {
        let jf = j as f64;
        let next = ((2.0 * jf + 1.0) * s * current - jf * previous) / (jf + 1.0);
        previous = current;
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legendre_matches_closed_forms() {
        for s in [-1.0, -0.3, 0.0, 0.7, 1.0] {
            assert!((legendre(2, s) - (3.0 * s * s - 1.0) / 2.0).abs() < 1e-15);
            assert!((legendre(3, s) - (5.0 * s * s * s - 3.0 * s) / 2.0).abs() < 1e-15);
        }
    }

    /// Every coefficient vector, however large, gives a strictly decreasing grid with the
    /// starting grid's end points; c = 0 gives the starting grid itself.
    #[test]
    fn every_parameter_is_a_valid_grid_with_fixed_ends() {
        let start = SigmaGrid::karras(8, 0.002, 80.0, 7.0).unwrap();
        let family = GridFamily::new(&start, 3).unwrap();
        assert_eq!(family.dimension(), 3);
        assert_eq!(family.grid(&[0.0; 3]).unwrap(), start);
        for c in [[1.0, -2.0, 0.5], [-3.0, 3.0, -3.0], [4.0, 0.0, 4.0]] {
            let g = family.grid(&c).unwrap();
            assert_eq!(g.len(), start.len());
            assert_eq!(g.as_slice()[0], 80.0);
            assert_eq!(*g.as_slice().last().unwrap(), 0.0);
        }
    }

    /// With K = N − 1 the family reaches any grid: the uniform-t grid from a Karras start is a
    /// log-increment difference that the Legendre basis plus a constant spans.
    #[test]
    fn full_degree_spans_every_monotone_grid() {
        let start = SigmaGrid::karras(4, 0.002, 80.0, 7.0).unwrap();
        let family = GridFamily::new(&start, 10).unwrap();
        assert_eq!(family.dimension(), 3);
        let target = SigmaGrid::condot_to_zero(4, 80.0).unwrap();
        let t =
            |g: &SigmaGrid| -> Vec<f64> { g.as_slice().iter().map(|&s| condot_time(s)).collect() };
        let (tt, ts) = (t(&target), t(&start));
        // Solve Σ c_k P_k(s_j) = ln Δt_j − ln Δt⁰_j + const for c by least squares with the
        // constant column: 4 equations, 4 unknowns.
        let rhs: Vec<f64> = (0..4)
            .map(|j| ((tt[j + 1] - tt[j]) / (ts[j + 1] - ts[j])).ln())
            .collect();
        let nodes = [-1.0, -1.0 / 3.0, 1.0 / 3.0, 1.0];
        let mut a: Vec<Vec<f64>> = nodes
            .iter()
            .zip(&rhs)
            .map(|(&s, &r)| vec![1.0, legendre(1, s), legendre(2, s), legendre(3, s), r])
            .collect();
        for col in 0..4 {
            let pivot = (col..4)
                .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                .unwrap();
            a.swap(col, pivot);
            for row in 0..4 {
                if row != col {
                    let m = a[row][col] / a[col][col];
                    let pivot_row = a[col].clone();
                    a[row]
                        .iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(x, p)| *x -= m * p);
                }
            }
        }
        let c: Vec<f64> = (1..4).map(|k| a[k][4] / a[k][k]).collect();
        let g = family.grid(&c).unwrap();
        for (x, y) in g.as_slice().iter().zip(target.as_slice()) {
            assert!((x - y).abs() <= 1e-9 * y.max(1.0), "{x} vs {y}");
        }
    }
}
