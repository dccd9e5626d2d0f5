//! The independent coupling π = q₀ ⊗ q₁ (I-CFM).

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;

use super::cost::check_batches;
use super::{Coupling, CouplingError, Pairs};

/// The independent coupling π(x₀, x₁) = q₀(x₀) q₁(x₁) of I-CFM (Lipman et al. 2023, "Flow
/// Matching for Generative Modeling"; Tong et al. 2024, "Improving and generalizing flow-based
/// generative models with minibatch optimal transport", §3.2 and Algorithm 1).
///
/// Two independently drawn i.i.d. batches are already a sample of q₀ ⊗ q₁ in any fixed
/// pairing, so [`Independent::Identity`] pairs row k with row k. [`Independent::Shuffle`] pairs
/// through a uniformly random one-to-one map instead, which stays independent when the order of
/// a batch carries information (sorted or class-grouped data loaders, or x₀ computed from x₁).
///
/// Both pair min(n₀, n₁) rows: with n₀ ≤ n₁, every source row k (in order) with target σ(k),
/// σ a uniformly random injection into 0…n₁ (ChaCha8 seeded by `seed`, so the pairs are a
/// function of the seed); with n₀ > n₁ symmetrically, pairs sorted by source row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Independent {
    /// Row k of x₀ with row k of x₁, k < min(n₀, n₁); ignores the seed.
    Identity,
    /// Rows matched by a seeded uniformly random injection of the smaller batch into the larger.
    #[default]
    Shuffle,
}

impl Coupling for Independent {
    fn pair(
        &self,
        x0: ArrayView2<'_, f64>,
        x1: ArrayView2<'_, f64>,
        seed: u64,
    ) -> Result<Pairs, CouplingError> {
        check_batches(x0, x1)?;
        let (n0, n1) = (x0.nrows(), x1.nrows());
        let n = n0.min(n1);
        let pairs = match self {
            Independent::Identity => Pairs {
                source: (0..n).collect(),
                target: (0..n).collect(),
            },
            Independent::Shuffle => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                // `index::sample` of n out of max(n₀, n₁) is uniformly random in set and order.
                let drawn = index::sample(&mut rng, n0.max(n1), n).into_vec();
                if n0 <= n1 {
                    Pairs {
                        source: (0..n).collect(),
                        target: drawn,
                    }
                } else {
                    let mut by_source: Vec<(usize, usize)> = drawn.into_iter().zip(0..n).collect();
                    by_source.sort_unstable();
                    Pairs {
                        source: by_source.iter().map(|p| p.0).collect(),
                        target: by_source.iter().map(|p| p.1).collect(),
                    }
                }
            }
        };
        Ok(pairs)
    }
}
