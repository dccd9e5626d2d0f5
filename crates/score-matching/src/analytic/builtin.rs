//! Named reference mixtures, defined here exactly so results are comparable across runs.

use std::f64::consts::PI;

use super::error::MixtureError;
use super::mixture::GaussianMixture;

const BUILTIN_NAMES: &[&str] = &["ring8", "grid25", "gauss16d"];

/// Seed of the SplitMix64 stream that generates "gauss16d" (component k uses seed + k).
const GAUSS16D_SEED: u64 = 0x5C0F_1016;

impl GaussianMixture {
    /// A named reference mixture:
    ///
    /// - `"ring8"`: 8 components of weight 1/8 in 2-D, means 4·(cos 2πk/8, sin 2πk/8) for
    ///   k = 0..8, covariance 0.25·I (standard deviation 0.5) — in the spirit of the
    ///   "8 gaussians" toy target used by torchcfm and earlier flow papers, with our own
    ///   radius and width. Exact mean 0, covariance 8.25·I.
    /// - `"grid25"`: 25 components of weight 1/25 in 2-D, means on the grid {−4, −2, 0, 2, 4}²
    ///   (row-major, x outer), covariance 0.09·I (standard deviation 0.3). Exact mean 0,
    ///   covariance 8.09·I.
    /// - `"gauss16d"`: 3 components in 16-D with weights (0.5, 0.3, 0.2) and full, mutually
    ///   non-aligned covariances, for likelihood tests in a dimension where nothing is
    ///   diagonal. Component k draws from a SplitMix64 stream (Steele et al. 2014) seeded with
    ///   0x5C0F_1016 + k, mapped to [0, 1) as (next >> 11)·2⁻⁵³: first the 16 mean entries,
    ///   uniform on [−3, 3), then the 16 × 16 entries of Bₖ row-major, uniform on [−√3, √3)
    ///   (unit variance); Σₖ = BₖBₖᵀ/16 + 0.5·I, so every eigenvalue is ≥ 0.5.
    ///
    /// Any other name is a [`MixtureError::UnknownBuiltin`] listing these.
    pub fn builtin(name: &str) -> Result<Self, MixtureError> {
        match name {
            "ring8" => Ok(ring8()),
            "grid25" => Ok(grid25()),
            "gauss16d" => Ok(gauss16d()),
            _ => Err(MixtureError::UnknownBuiltin {
                name: name.to_owned(),
                known: BUILTIN_NAMES,
            }),
        }
    }

    /// The names [`Self::builtin`] accepts.
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }
}

fn isotropic(d: usize, variance: f64) -> Vec<Vec<f64>> {
    (0..d)
        .map(|i| {
            (0..d)
                .map(|j| if i == j { variance } else { 0.0 })
                .collect()
        })
        .collect()
}

fn ring8() -> GaussianMixture {
    let means = (0..8)
        .map(|k| {
            let angle = 2.0 * PI * k as f64 / 8.0;
            vec![4.0 * angle.cos(), 4.0 * angle.sin()]
        })
        .collect();
    GaussianMixture::new(vec![1.0 / 8.0; 8], means, vec![isotropic(2, 0.25); 8])
        .expect("ring8 is a valid mixture")
}

fn grid25() -> GaussianMixture {
    let coords = [-4.0, -2.0, 0.0, 2.0, 4.0];
    let means = coords
        .iter()
        .flat_map(|&a| coords.iter().map(move |&b| vec![a, b]))
        .collect();
    GaussianMixture::new(vec![1.0 / 25.0; 25], means, vec![isotropic(2, 0.09); 25])
        .expect("grid25 is a valid mixture")
}

fn gauss16d() -> GaussianMixture {
    const D: usize = 16;
    let mut means = Vec::with_capacity(3);
    let mut covs = Vec::with_capacity(3);
    for k in 0..3 {
        let mut rng = SplitMix64(GAUSS16D_SEED + k as u64);
        let mean: Vec<f64> = (0..D).map(|_| 6.0 * rng.unit() - 3.0).collect();
        let b: Vec<f64> = (0..D * D)
            .map(|_| 3f64.sqrt() * (2.0 * rng.unit() - 1.0))
            .collect();
        let mut cov = isotropic(D, 0.5);
        for i in 0..D {
            for j in 0..D {
                let bbt: f64 = (0..D).map(|l| b[i * D + l] * b[j * D + l]).sum();
                cov[i][j] += bbt / D as f64;
            }
        }
        means.push(mean);
        covs.push(cov);
    }
    GaussianMixture::new(vec![0.5, 0.3, 0.2], means, covs).expect("gauss16d is a valid mixture")
}

/// SplitMix64 (Steele, Lea & Flood 2014), inlined so the builtin's parameters depend on no
/// crate's versioned algorithms.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform on [0, 1) with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}
