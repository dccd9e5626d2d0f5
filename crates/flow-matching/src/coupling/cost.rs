//! The squared-Euclidean cost matrix of a minibatch, input checks, and the median cost.

use ndarray::{Array1, Array2, ArrayView2, Axis, linalg::general_mat_mul, s};

use super::CouplingError;
use super::distances;
use super::kernels::PARALLEL_MIN;

/// Checks that x₀ (n₀ × d) and x₁ (n₁ × d) can be paired: equal feature dimensions (d = 0 is
/// allowed: every cost is 0), no empty batch, every value finite.
///
/// # Errors
/// [`CouplingError::DimensionMismatch`], [`CouplingError::Empty`] or
/// [`CouplingError::NonFinite`] (the first non-finite value of x₀, then of x₁).
pub fn check_batches(
    x0: ArrayView2<'_, f64>,
    x1: ArrayView2<'_, f64>,
) -> Result<(), CouplingError> {
    let ((n0, d0), (n1, d1)) = (x0.dim(), x1.dim());
    if d0 != d1 {
        return Err(CouplingError::DimensionMismatch { d0, d1 });
    }
    if n0 == 0 || n1 == 0 {
        return Err(CouplingError::Empty { n0, n1 });
    }
    check_finite(x0, "x0")?;
    check_finite(x1, "x1")
}

/// The first non-finite entry of `m`, as an error naming `what`.
pub(crate) fn check_finite(
    m: ArrayView2<'_, f64>,
    what: &'static str,
) -> Result<(), CouplingError> {
    // A branch-free scan first, eight lanes at a time (0·x is 0 for a finite x and NaN for
    // ±∞ or NaN, and NaN sticks); the position only on failure.
    let clean = match m.as_slice() {
        Some(s) => {
            let (c, t) = s.as_chunks::<8>();
            let mut acc = [0.0f64; 8];
            for v in c {
                for l in 0..8 {
                    acc[l] += v[l] * 0.0;
                }
            }
            acc.iter().chain(t).all(|v| v.is_finite())
        }
        None => m.iter().all(|v| v.is_finite()),
    };
    if clean {
        return Ok(());
    }
    match m.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, col), &value)) => Err(CouplingError::NonFinite {
            what,
            row,
            col,
            value,
        }),
        None => Ok(()),
    }
}

/// The squared-Euclidean cost matrix C (n₀ × n₁) of a minibatch:
///
/// C_ij = ‖x0_i − x1_j‖² = ‖a_i‖² + ‖b_j‖² − 2 a_i·b_j,   a = x0 − m, b = x1 − m,
///
/// with the cross term a·bᵀ one matrix product and negative rounding results clamped to 0 — the
/// formula of POT's `ot.dist` and scikit-learn's `euclidean_distances`. The product is an
/// AVX-512 register-blocked kernel where the CPU has AVX-512 (twice matrixmultiply's speed
/// there), else ndarray's `general_mat_mul` (matrixmultiply); row blocks on rayon's threads for
/// large batches.
/// Distances are invariant under translation, so both batches are first centred on the mean m of
/// all n₀ + n₁ rows: the product formula cancels ‖a‖² + ‖b‖² against 2a·b, and its absolute
/// rounding error scales with ‖a‖² + ‖b‖², which centring makes as small as it can be.
///
/// # Errors
/// As [`check_batches`]; [`CouplingError::NonFinite`] for `"cost"` if finite inputs are so large
/// (|x| ~ 1e308) that their sums overflow.
pub fn squared_euclidean(
    x0: ArrayView2<'_, f64>,
    x1: ArrayView2<'_, f64>,
) -> Result<Array2<f64>, CouplingError> {
    let ((n0, d0), (n1, d1)) = (x0.dim(), x1.dim());
    if d0 != d1 {
        return Err(CouplingError::DimensionMismatch { d0, d1 });
    }
    if n0 == 0 || n1 == 0 {
        return Err(CouplingError::Empty { n0, n1 });
    }
    // The mean doubles as the finiteness check: a NaN or ±∞ anywhere makes some column sum
    // non-finite (so does an overflowing sum, which the product would overflow on too).
    let mut mean = Array1::<f64>::zeros(d0);
    let m = mean.as_slice_mut().expect("contiguous");
    add_rows(m, x0);
    add_rows(m, x1);
    if !m.iter().all(|v| v.is_finite()) {
        check_finite(x0, "x0")?;
        check_finite(x1, "x1")?;
        return Err(CouplingError::NonFinite {
            what: "cost",
            row: 0,
            col: 0,
            value: f64::INFINITY,
        });
    }
    mean /= (n0 + n1) as f64;
    if let Some(c) = distances::squared_distances(x0, x1, mean.as_slice().expect("contiguous")) {
        return Ok(c);
    }
    Ok(general_product(x0, x1, &mean))
}

/// acc += Σ_i x_i (the column sums), one vectorised row at a time.
fn add_rows(acc: &mut [f64], x: ArrayView2<'_, f64>) {
    let add = |acc: &mut [f64], row: &[f64]| {
        for (a, r) in acc.iter_mut().zip(row) {
            *a += r;
        }
    };
    match x.as_slice() {
        Some(s) if !acc.is_empty() => s.chunks_exact(acc.len()).for_each(|row| add(acc, row)),
        _ => x.rows().into_iter().for_each(|row| add(acc, &row.to_vec())),
    }
}

/// [`squared_euclidean`]'s matrix on validated batches with matrixmultiply (the path of CPUs
/// without AVX-512).
fn general_product(
    x0: ArrayView2<'_, f64>,
    x1: ArrayView2<'_, f64>,
    mean: &Array1<f64>,
) -> Array2<f64> {
    let (n0, n1) = (x0.nrows(), x1.nrows());
    let a = &x0 - mean;
    let b = &x1 - mean;
    let na: Vec<f64> = a.rows().into_iter().map(|r| r.dot(&r)).collect();
    let nb: Vec<f64> = b.rows().into_iter().map(|r| r.dot(&r)).collect();
    let mut cost = Array2::<f64>::zeros((n0, n1));
    let block = |range: std::ops::Range<usize>, mut out: ndarray::ArrayViewMut2<'_, f64>| {
        general_mat_mul(-2.0, &a.slice(s![range.clone(), ..]), &b.t(), 0.0, &mut out);
        for (mut row, &ni) in out.rows_mut().into_iter().zip(&na[range]) {
            for (c, &nj) in row.iter_mut().zip(&nb) {
                *c = (*c + ni + nj).max(0.0);
            }
        }
    };
    let threads = rayon::current_num_threads();
    if threads == 1 || n0 < 2 || n0 * n1 * x0.ncols() < PARALLEL_MIN * 16 {
        block(0..n0, cost.view_mut());
    } else {
        use rayon::prelude::*;
        let rows = n0.div_ceil(threads);
        let chunks: Vec<_> = cost
            .axis_chunks_iter_mut(Axis(0), rows)
            .enumerate()
            .collect();
        chunks.into_par_iter().for_each(|(k, out)| {
            let start = k * rows;
            block(start..start + out.nrows(), out);
        });
    }
    cost
}

/// The median of `values` (the mean of the two middle values for an even count, as NumPy's
/// `median`); `None` if `values` is empty or holds a NaN. O(len) by selection on a copy.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut v = values.to_vec();
    let mid = v.len() / 2;
    let (lower, &mut upper, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if values.len() % 2 == 1 {
        return Some(upper);
    }
    let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(0.5 * (below + upper))
}

/// The median entry of a cost matrix (see [`median`]).
pub fn median_cost(cost: ArrayView2<'_, f64>) -> Option<f64> {
    match cost.as_slice() {
        Some(s) => median(s),
        None => median(&cost.iter().copied().collect::<Vec<_>>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// Both products (AVX-512 where present, matrixmultiply) agree with the definition.
    #[test]
    fn both_products_match_the_definition() {
        for &(n0, n1, d) in &[(1, 1, 1), (5, 9, 2), (30, 17, 5), (50, 70, 784), (25, 8, 0)] {
            let x0 = Array2::from_shape_fn((n0, d), |(i, k)| {
                ((i * 31 + k * 7) % 13) as f64 * 0.37 - 2.0
            });
            let x1 = Array2::from_shape_fn((n1, d), |(j, k)| {
                ((j * 17 + k * 5) % 11) as f64 * 0.41 - 1.0
            });
            let exact = Array2::from_shape_fn((n0, n1), |(i, j)| {
                x0.row(i)
                    .iter()
                    .zip(x1.row(j))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
            });
            let mean = (x0.sum_axis(Axis(0)) + x1.sum_axis(Axis(0))) / (n0 + n1) as f64;
            let mut paths = vec![general_product(x0.view(), x1.view(), &mean)];
            paths.extend(distances::squared_distances(
                x0.view(),
                x1.view(),
                mean.as_slice().unwrap(),
            ));
            for c in paths {
                for (got, want) in c.iter().zip(&exact) {
                    assert!(
                        (got - want).abs() <= 1e-12 * want.max(1.0),
                        "{n0}×{n1}×{d}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
