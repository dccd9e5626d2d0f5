//! Dense symmetric linear algebra for the mixture's covariances, row-major `n × n` slices.
//!
//! Written here rather than pulled from a crate because the matrices are tiny (d ≤ ~64) and
//! only two factorisations are needed, both computed once per component at construction:
//! Cholesky (the positive-definiteness test and the sampling map z ↦ μ + Lz) and a symmetric
//! eigendecomposition Σ = Q Λ Qᵀ. The eigenbasis is what keeps the per-call cost at O(d²):
//! every noise level shares it, since Σ + σ²I = Q(Λ + σ²I)Qᵀ and t²Σ + (1 − t)²I =
//! Q(t²Λ + (1 − t)²I)Qᵀ, so no factorisation is ever redone per σ or t.

/// Lower-triangular L with A = L Lᵀ (Cholesky–Banachiewicz order). `Err(j)` names the first
/// pivot that is not a finite positive number, i.e. where A stops being numerically PD.
pub(crate) fn cholesky(a: &[f64], n: usize) -> Result<Vec<f64>, usize> {
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut pivot = a[j * n + j];
        for k in 0..j {
            pivot -= l[j * n + k] * l[j * n + k];
        }
        let usable = pivot.is_finite() && pivot > 0.0;
        if !usable {
            return Err(j);
        }
        let ljj = pivot.sqrt();
        l[j * n + j] = ljj;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / ljj;
        }
    }
    Ok(l)
}

/// out += L z for lower-triangular L.
pub(crate) fn lower_mul_add(l: &[f64], n: usize, z: &[f64], out: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i + 1];
        out[i] += row.iter().zip(z).map(|(a, b)| a * b).sum::<f64>();
    }
}

/// Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations, chosen over QR-based
/// methods because it is short, unconditionally stable and accurate to working precision for
/// small symmetric matrices. Returns (λ, Qᵀ) with row i of Qᵀ the unit eigenvector for λᵢ,
/// so that A = Σᵢ λᵢ qᵢqᵢᵀ. Only the upper triangle's symmetric part matters.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut m = a.to_vec();
    // Columns of v accumulate the rotations: A = V diag(m) Vᵀ on convergence.
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let frobenius_sq: f64 = m.iter().map(|x| x * x).sum();
    for _sweep in 0..100 {
        let mut off_sq = 0.0;
        for p in 0..n {
            for q in p + 1..n {
                off_sq += m[p * n + q] * m[p * n + q];
            }
        }
        // Quadratic convergence takes the off-diagonal mass far below roundoff in a few
        // sweeps; stop once it can no longer move any eigenvalue.
        if off_sq <= 1e-36 * frobenius_sq || off_sq == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // The smaller root t = tan φ of t² + 2θt − 1 = 0 zeroes (p, q) with |φ| ≤ π/4,
                // which is what keeps the rotation stable.
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let sign = if theta >= 0.0 { 1.0 } else { -1.0 };
                let t = sign / (theta.abs() + theta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * akp - s * akq;
                    m[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * apk - s * aqk;
                    m[q * n + k] = s * apk + c * aqk;
                }
                // Exactly zero in exact arithmetic; storing the roundoff would only slow
                // convergence.
                m[p * n + q] = 0.0;
                m[q * n + p] = 0.0;
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let eigenvalues = (0..n).map(|i| m[i * n + i]).collect();
    let mut qt = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            qt[i * n + k] = v[k * n + i];
        }
    }
    (eigenvalues, qt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_matrix(n: usize) -> Vec<f64> {
        // B Bᵀ + I with a fixed, irregular B: symmetric, PD, distinct eigenvalues.
        let b: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7 + 3) % 11) as f64 / 5.0 - 1.0)
            .collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>();
            }
            a[i * n + i] += 1.0;
        }
        a
    }

    #[test]
    fn cholesky_reproduces_matrix() {
        let n = 9;
        let a = test_matrix(n);
        let l = cholesky(&a, n).unwrap();
        for i in 0..n {
            for j in 0..n {
                let llt: f64 = (0..n).map(|k| l[i * n + k] * l[j * n + k]).sum();
                assert!((llt - a[i * n + j]).abs() < 1e-12 * (1.0 + a[i * n + j].abs()));
                if j > i {
                    assert_eq!(l[i * n + j], 0.0);
                }
            }
        }
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        // Eigenvalues 3 and −1.
        assert_eq!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2), Err(1));
        assert_eq!(cholesky(&[-1.0, 0.0, 0.0, 1.0], 2), Err(0));
    }

    #[test]
    fn eigen_reconstructs_and_is_orthonormal() {
        for n in [1, 2, 5, 16, 33] {
            let a = test_matrix(n);
            let (lam, qt) = symmetric_eigen(&a, n);
            let scale = a.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
            for i in 0..n {
                for j in 0..n {
                    let rec: f64 = (0..n).map(|k| lam[k] * qt[k * n + i] * qt[k * n + j]).sum();
                    assert!(
                        (rec - a[i * n + j]).abs() < 1e-13 * scale,
                        "n={n} ({i},{j})"
                    );
                    let dot: f64 = (0..n).map(|k| qt[i * n + k] * qt[j * n + k]).sum();
                    let expect = if i == j { 1.0 } else { 0.0 };
                    assert!((dot - expect).abs() < 1e-13);
                }
            }
        }
    }

    #[test]
    fn eigen_of_two_by_two_matches_closed_form() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3.
        let (mut lam, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        lam.sort_by(f64::total_cmp);
        assert!((lam[0] - 1.0).abs() < 1e-15 && (lam[1] - 3.0).abs() < 1e-15);
    }
}
