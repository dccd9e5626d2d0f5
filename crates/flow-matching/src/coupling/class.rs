//! Couplings within classes, for class-conditional flow matching.

use std::collections::BTreeMap;

use ndarray::{ArrayView2, Axis};

use super::cost::check_batches;
use super::error::Side;
use super::{Coupling, CouplingError, Pairs};

/// A coupling restricted to pairs with equal labels: the inner coupling is solved separately on
/// each class c, between the rows {i : y0_i = c} of x₀ and {j : y1_j = c} of x₁, and the pairs
/// are concatenated in increasing label order (mapped back to rows of the whole batches). This is
/// minibatch OT conditioned on the label, π(x₀, x₁ | y), which class-conditional OT-CFM needs so
/// that a conditional flow never transports mass across classes (Tong et al. 2024, "Improving and
/// generalizing flow-based generative models with minibatch optimal transport", §5, conditional
/// experiments; Pooladian et al. 2023, §4).
///
/// **Label-free noise.** When x₀ is Gaussian noise it has no class of its own: pass y0 = y1
/// (with n₀ = n₁). Noise rows are i.i.d., hence exchangeable, so giving the noise row k the
/// label of data row k is a uniformly random allocation of noise to classes with exactly the
/// data's class counts; the inner coupling then chooses, within each class, which noise goes
/// with which data point.
///
/// Class c is solved with seed [`ClassRespecting::class_seed`]`(seed, c)`, so that the pairs of
/// a class do not depend on which other classes the batch holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClassRespecting<C: Coupling> {
    /// The coupling solved within each class.
    pub inner: C,
}

impl<C: Coupling> ClassRespecting<C> {
    /// Couples within classes with `inner`.
    pub fn new(inner: C) -> Self {
        Self { inner }
    }

    /// The seed of class `label` for a call with `seed`: SplitMix64 (Steele et al. 2014) of the
    /// seed and the label, so that classes draw unrelated streams.
    pub fn class_seed(seed: u64, label: usize) -> u64 {
        let mut z = seed
            ^ (label as u64)
                .wrapping_add(1)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Pairs the rows of `x0` (labels `y0`) with the rows of `x1` (labels `y1`) within classes.
    ///
    /// # Errors
    /// [`CouplingError::LabelLength`] if a label slice's length differs from its batch's rows,
    /// [`CouplingError::UnpairableClass`] if a label occurs in only one of the batches, the
    /// errors of [`check_batches`](super::cost::check_batches), and any error of the inner
    /// coupling on a class (e.g. [`CouplingError::UnequalSizes`] from
    /// [`ExactOt`](super::ExactOt) when a class has different counts in the two batches).
    pub fn pair_labelled(
        &self,
        x0: ArrayView2<'_, f64>,
        y0: &[usize],
        x1: ArrayView2<'_, f64>,
        y1: &[usize],
        seed: u64,
    ) -> Result<Pairs, CouplingError> {
        for (side, rows, labels) in [
            (Side::Source, x0.nrows(), y0.len()),
            (Side::Target, x1.nrows(), y1.len()),
        ] {
            if rows != labels {
                return Err(CouplingError::LabelLength { side, rows, labels });
            }
        }
        check_batches(x0, x1)?;
        let mut classes: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        for (i, &y) in y0.iter().enumerate() {
            classes.entry(y).or_default().0.push(i);
        }
        for (j, &y) in y1.iter().enumerate() {
            classes.entry(y).or_default().1.push(j);
        }
        if let Some((&label, (r0, r1))) = classes
            .iter()
            .find(|(_, (r0, r1))| r0.is_empty() || r1.is_empty())
        {
            return Err(CouplingError::UnpairableClass {
                label,
                n0: r0.len(),
                n1: r1.len(),
            });
        }
        let mut pairs = Pairs {
            source: Vec::with_capacity(x0.nrows().min(x1.nrows())),
            target: Vec::with_capacity(x0.nrows().min(x1.nrows())),
        };
        for (label, (r0, r1)) in &classes {
            let sub0 = x0.select(Axis(0), r0);
            let sub1 = x1.select(Axis(0), r1);
            let within =
                self.inner
                    .pair(sub0.view(), sub1.view(), Self::class_seed(seed, *label))?;
            pairs.source.extend(within.source.iter().map(|&k| r0[k]));
            pairs.target.extend(within.target.iter().map(|&k| r1[k]));
        }
        Ok(pairs)
    }
}
