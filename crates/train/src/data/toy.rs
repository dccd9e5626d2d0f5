//! The 2-D toy distributions of FFJORD (Grathwohl et al. 2019, `lib/toy_data.py` of
//! github.com/rtqichen/ffjord), the set most flow and diffusion papers since have trained on,
//! with the sklearn generators they call (`make_moons`, `make_circles`, `make_swiss_roll`)
//! written out.
//!
//! Each toy is a pure function of (n, seed): one ChaCha8 stream seeded with
//! `ChaCha8Rng::seed_from_u64(seed)`, uniforms and normals drawn by the fixed algorithms of
//! `random.rs`. Points are returned in random order, so any prefix is itself a sample.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::random::{below, normal, shuffle, uniform};
use super::{ArrayDataset, DataError, DataKind};

/// A named 2-D toy distribution. Formulas use u ~ U[0, 1), z ~ N(0, 1), all independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Toy {
    /// `moons`: sklearn `make_moons(n, noise=0.1)` mapped by x ↦ 2x + (−1, −0.2), as FFJORD.
    /// The upper arc (cos θ, sin θ) and the lower arc (1 − cos θ, 0.5 − sin θ), θ on an even
    /// grid of [0, π] (endpoints included) with ⌊n/2⌋ and ⌈n/2⌉ points, plus 0.1·z per
    /// coordinate. After the map: upper half-circle of centre (−1, −0.2), lower half-circle
    /// of centre (1, 0.8), both of radius 2, noise std 0.2.
    Moons,
    /// `circles`: sklearn `make_circles(n, factor=0.5, noise=0.08)` times 3, as FFJORD:
    /// ⌊n/2⌋ points at angles 2πi/⌊n/2⌋ on the circle of radius 3 and ⌈n/2⌉ on the circle of
    /// radius 1.5, plus 0.24·z per coordinate.
    Circles,
    /// `8gaussians`: FFJORD's (c + 0.5·z)/1.414 with c uniform among 4·(cos kπ/4, sin kπ/4),
    /// k = 0..8: eight equal clusters of standard deviation 0.5/1.414 ≈ 0.3536 centred on the
    /// circle of radius 4/1.414 ≈ 2.829. FFJORD divides by 1.414, not √2; kept for
    /// comparability. (torchcfm's `sample_8gaussians` is a different scale: radius 5,
    /// covariance √0.1·I.)
    EightGaussians,
    /// `checkerboard`: FFJORD's 2·(x₁, x₂) with x₁ = 4u₁ − 2 and
    /// x₂ = u₂ − 2b + (⌊x₁⌋ mod 2), b ∈ {0, 1} fair: uniform on the 8 "black" 2×2 squares of
    /// [−4, 4]², those whose indices ⌊x/2⌋ + ⌊y/2⌋ are even. u₁, u₂ are drawn on the grid
    /// k·2⁻²³ so every f32 point lies exactly in its square (no rounding across an edge).
    Checkerboard,
    /// `swissroll`: FFJORD's sklearn `make_swiss_roll(n, noise=1.0)` keeping coordinates
    /// (0, 2), divided by 5: (t cos t + z₁, t sin t + z₂)/5 with t = 1.5π(1 + 2u) ∈ [1.5π, 4.5π].
    /// Mean (2, 2/(3π))/5 ≈ (0.4, 0.042), E|x|² = (9.75π² + 2)/25 ≈ 3.93.
    SwissRoll,
    /// `pinwheel`: FFJORD's (from Johnson et al. 2016) five arms: arm c = i mod 5 of point i,
    /// f = (1 + 0.3z₁, 0.1z₂), a = 2πc/5 + 0.25·e^{f₁}, x = 2·R(−a)f with R the rotation
    /// matrix, i.e. x = 2(f₁cos a + f₂sin a, −f₁sin a + f₂cos a). |x| = 2|f|, so E|x|² = 4.4;
    /// the arms are 5-fold symmetric, so the mean is 0 and the covariance 2.2·I.
    Pinwheel,
    /// `2spirals`: FFJORD's two arms (point i on arm i mod 2): s = 3π√u (540°),
    /// d = (−s cos s + 0.5u₁, s sin s + 0.5u₂), x = ±d/3 + 0.1z (arm 1 is the reflection
    /// through the origin). Mean 0 (for even n), |x| ≲ π + 0.3.
    TwoSpirals,
}

impl Toy {
    /// Every toy, in the order of their names in error messages.
    pub const ALL: [Toy; 7] = [
        Toy::Moons,
        Toy::Circles,
        Toy::EightGaussians,
        Toy::Checkerboard,
        Toy::SwissRoll,
        Toy::Pinwheel,
        Toy::TwoSpirals,
    ];

    /// The name used in `toy:NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Toy::Moons => "moons",
            Toy::Circles => "circles",
            Toy::EightGaussians => "8gaussians",
            Toy::Checkerboard => "checkerboard",
            Toy::SwissRoll => "swissroll",
            Toy::Pinwheel => "pinwheel",
            Toy::TwoSpirals => "2spirals",
        }
    }

    /// The names of [`Toy::ALL`].
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.name()).collect()
    }

    /// `n` points, row-major `[n, 2]`, a pure function of `(n, seed)` (see the variants for
    /// the definitions).
    pub fn sample(self, n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut points = match self {
            Toy::Moons => moons(n, &mut rng),
            Toy::Circles => circles(n, &mut rng),
            Toy::EightGaussians => eight_gaussians(n, &mut rng),
            Toy::Checkerboard => checkerboard(n, &mut rng),
            Toy::SwissRoll => swiss_roll(n, &mut rng),
            Toy::Pinwheel => pinwheel(n, &mut rng),
            Toy::TwoSpirals => two_spirals(n, &mut rng),
        };
        // Toys built class by class (arms, arcs) come out grouped; the shuffle makes any prefix
        // a sample. sklearn shuffles before adding noise; the distribution is the same.
        shuffle(&mut rng, &mut points);
        points
            .into_iter()
            .flat_map(|[x, y]| [x as f32, y as f32])
            .collect()
    }

    /// `n` points as a dataset of shape `[2]`, kind [`DataKind::Points`], no labels.
    pub fn dataset(self, n: usize, seed: u64) -> ArrayDataset {
        ArrayDataset::new(self.sample(n, seed), vec![2], None, DataKind::Points)
    }
}

impl fmt::Display for Toy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Toy {
    type Err = DataError;

    /// The toy of that name; anything else is [`DataError::UnknownToy`] listing the names.
    fn from_str(s: &str) -> Result<Self, DataError> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| DataError::UnknownToy {
                name: s.to_owned(),
                known: Self::names(),
            })
    }
}

/// numpy's `linspace(start, stop, count, endpoint)`.
fn linspace(start: f64, stop: f64, count: usize, endpoint: bool) -> impl Iterator<Item = f64> {
    let intervals = if endpoint {
        count.saturating_sub(1)
    } else {
        count
    };
    let step = if intervals == 0 {
        0.0
    } else {
        (stop - start) / intervals as f64
    };
    (0..count).map(move |i| start + step * i as f64)
}

fn moons(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut base: Vec<[f64; 2]> = linspace(0.0, PI, n_out, true)
        .map(|t| [t.cos(), t.sin()])
        .chain(linspace(0.0, PI, n_in, true).map(|t| [1.0 - t.cos(), 0.5 - t.sin()]))
        .collect();
    for p in &mut base {
        let x = p[0] + 0.1 * normal(rng);
        let y = p[1] + 0.1 * normal(rng);
        *p = [2.0 * x - 1.0, 2.0 * y - 0.2];
    }
    base
}

fn circles(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    let n_out = n / 2;
    let n_in = n - n_out;
    let mut base: Vec<[f64; 2]> = linspace(0.0, 2.0 * PI, n_out, false)
        .map(|t| [t.cos(), t.sin()])
        .chain(linspace(0.0, 2.0 * PI, n_in, false).map(|t| [0.5 * t.cos(), 0.5 * t.sin()]))
        .collect();
    for p in &mut base {
        let x = p[0] + 0.08 * normal(rng);
        let y = p[1] + 0.08 * normal(rng);
        *p = [3.0 * x, 3.0 * y];
    }
    base
}

fn eight_gaussians(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let angle = below(rng, 8) as f64 * PI / 4.0;
            let x = 4.0 * angle.cos() + 0.5 * normal(rng);
            let y = 4.0 * angle.sin() + 0.5 * normal(rng);
            [x / 1.414, y / 1.414]
        })
        .collect()
}

fn checkerboard(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    // 23 bits: 2·x₂ then needs at most 24 significant bits, which f32 holds exactly.
    fn grid(rng: &mut impl RngCore) -> f64 {
        f64::from(rng.next_u32() >> 9) / f64::from(1u32 << 23)
    }
    (0..n)
        .map(|_| {
            let x1 = 4.0 * grid(rng) - 2.0;
            let x2 = grid(rng) - 2.0 * below(rng, 2) as f64 + x1.floor().rem_euclid(2.0);
            [2.0 * x1, 2.0 * x2]
        })
        .collect()
}

fn swiss_roll(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    (0..n)
        .map(|_| {
            let t = 1.5 * PI * (1.0 + 2.0 * uniform(rng));
            let x = t * t.cos() + normal(rng);
            let y = t * t.sin() + normal(rng);
            [x / 5.0, y / 5.0]
        })
        .collect()
}

fn pinwheel(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    (0..n)
        .map(|i| {
            let arm = (i % 5) as f64;
            let f0 = 1.0 + 0.3 * normal(rng);
            let f1 = 0.1 * normal(rng);
            let a = 2.0 * PI * arm / 5.0 + 0.25 * f0.exp();
            let (s, c) = a.sin_cos();
            [2.0 * (f0 * c + f1 * s), 2.0 * (-f0 * s + f1 * c)]
        })
        .collect()
}

fn two_spirals(n: usize, rng: &mut impl RngCore) -> Vec<[f64; 2]> {
    (0..n)
        .map(|i| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            let s = uniform(rng).sqrt() * 540.0 * (2.0 * PI) / 360.0;
            let dx = -s.cos() * s + 0.5 * uniform(rng);
            let dy = s.sin() * s + 0.5 * uniform(rng);
            [
                sign * dx / 3.0 + 0.1 * normal(rng),
                sign * dy / 3.0 + 0.1 * normal(rng),
            ]
        })
        .collect()
}
