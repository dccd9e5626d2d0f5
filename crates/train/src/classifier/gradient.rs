//! The classifier-guidance hook: ∇ₓ ln p(y | x_σ) of a trained classifier by autodiff.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use scoreflow_models::Classifier;
use scoreflow_ode_sde_solvers::DenoiseError;
use scoreflow_score_matching::guidance::ClassifierGradient;

use super::c_noise;

/// A classifier set up for fixed target labels: `grad_log_prob(x, σ)` is
///
/// ∇ₓ ln p(y | x; σ) = ∇ₓ [f(x, c_noise(σ))_y − logsumexp_k f(x, c_noise(σ))_k],
///
/// one reverse-mode pass for the whole batch, the term of classifier guidance
/// D̃ = D + s·σ²·∇ₓ ln p(y | x; σ) (Song et al. 2021, §5; Dhariwal & Nichol 2021, §4). The
/// classifier treats samples independently, so ∇ of the batch's summed log-probabilities is each
/// sample's own gradient.
pub struct ClassifierGuide<'a> {
    /// The classifier (its weights are not differentiated).
    pub classifier: &'a Classifier,
    /// The target class of each sample of every batch the hook is called with.
    pub labels: Vec<u32>,
}

impl<'a> ClassifierGuide<'a> {
    /// Guidance towards `labels` (one per sample) with `classifier`.
    pub fn new(classifier: &'a Classifier, labels: Vec<u32>) -> Self {
        Self { classifier, labels }
    }

    /// The one-hot rows of the labels, `[B, K]`, on `device`.
    fn one_hot(&self, device: &Device) -> Result<Tensor<2>, DenoiseError> {
        let k = self.classifier.num_classes();
        let b = self.labels.len();
        let mut rows = vec![0f32; b * k];
        for (i, &y) in self.labels.iter().enumerate() {
            if y as usize >= k {
                return Err(DenoiseError::msg(format!(
                    "label {y} of a classifier of {k} classes"
                )));
            }
            rows[i * k + y as usize] = 1.0;
        }
        Ok(Tensor::from_data(TensorData::new(rows, [b, k]), device))
    }
}

impl<const D: usize> ClassifierGradient<Tensor<D>> for ClassifierGuide<'_> {
    fn grad_log_prob(&self, x: &Tensor<D>, sigma: f64) -> Result<Tensor<D>, DenoiseError> {
        let batch = x.dims()[0];
        if batch != self.labels.len() {
            return Err(DenoiseError::msg(format!(
                "classifier guidance has {} labels for a batch of {batch}",
                self.labels.len()
            )));
        }
        let tracked = x.clone().autodiff().require_grad();
        let device = tracked.device();
        let c = Tensor::<1>::full([batch], c_noise(sigma), &device);
        let logits = self
            .classifier
            .try_forward(tracked.clone(), c)
            .map_err(DenoiseError::new)?;
        let picked = (log_softmax(logits, 1) * self.one_hot(&device)?).sum();
        let grads = picked.backward();
        tracked
            .grad(&grads)
            .map(|g| g.cast(x.dtype()))
            .ok_or_else(|| DenoiseError::msg("the input received no gradient"))
    }
}
