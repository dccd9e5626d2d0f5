//! Loss per noise-level quartile.

/// The mean loss of each quarter of the samples ordered by noise level, and the three levels
/// between the quarters (σ̃ for denoising objectives, t for flows): where in the noise range a
/// model still learns. Quarters differ in size by at most one sample; with fewer than four
/// samples some are empty and report NaN.
pub fn loss_by_quartile(levels: &[f64], losses: &[f64]) -> ([f64; 4], [f64; 3]) {
    let mut order: Vec<usize> = (0..levels.len().min(losses.len())).collect();
    order.sort_by(|&a, &b| levels[a].total_cmp(&levels[b]));
    let n = order.len();
    let bound = |q: usize| q * n / 4;
    let mut means = [f64::NAN; 4];
    for (q, m) in means.iter_mut().enumerate() {
        let part = &order[bound(q)..bound(q + 1)];
        if !part.is_empty() {
            *m = part.iter().map(|&i| losses[i]).sum::<f64>() / part.len() as f64;
        }
    }
    let mut edges = [f64::NAN; 3];
    for (q, e) in edges.iter_mut().enumerate() {
        if let Some(&i) = order.get(bound(q + 1)) {
            *e = levels[i];
        }
    }
    (means, edges)
}
