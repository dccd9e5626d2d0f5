//! Zero-terminal-SNR rescaling of a β table.

/// Lin et al. 2024, Common Diffusion Noise Schedules and Sample Steps are Flawed,
/// Algorithm 1 (diffusers `rescale_zero_terminal_snr`): shift √ᾱ so its last entry is 0,
/// scale it so its first entry is unchanged, square, and recover β_n = 1 − ᾱ_n/ᾱ_{n−1}.
///
/// The last β becomes exactly 1 (√ᾱ_{N−1} − √ᾱ_{N−1} = 0 in floating point), so ᾱ_{N−1} = 0
/// exactly after the cumulative product.
pub(crate) fn rescale_zero_terminal_snr(betas: &[f64]) -> Vec<f64> {
    let mut sqrt_alpha_bar = Vec::with_capacity(betas.len());
    let mut prod = 1.0;
    for &beta in betas {
        prod *= 1.0 - beta;
        sqrt_alpha_bar.push(prod.sqrt());
    }
    let (Some(&first), Some(&last)) = (sqrt_alpha_bar.first(), sqrt_alpha_bar.last()) else {
        return Vec::new();
    };
    let scale = first / (first - last);
    let alpha_bar: Vec<f64> = sqrt_alpha_bar
        .iter()
        .map(|&a| {
            let shifted = (a - last) * scale;
            shifted * shifted
        })
        .collect();
    let mut rescaled = Vec::with_capacity(betas.len());
    rescaled.push(1.0 - alpha_bar[0]);
    for w in alpha_bar.windows(2) {
        rescaled.push(1.0 - w[1] / w[0]);
    }
    rescaled
}
