//! Checks of a network's inputs that burn's infallible `forward` cannot report as values.

/// Why inputs do not fit a network; returned by `try_forward` of [`crate::UNet2D`] and
/// [`crate::Mlp`] instead of the panic (or broadcast garbage) of `forward`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Labels for a network without a class embedding.
    #[error("class labels were given to an unconditional {network}")]
    UnexpectedLabels {
        /// `UNet2D` or `Mlp`.
        network: &'static str,
    },
    /// No labels for a class-conditional network without a null class.
    #[error("this {network} has no null class: class labels are required")]
    MissingLabels {
        /// `UNet2D` or `Mlp`.
        network: &'static str,
    },
    /// Times or labels not one per sample.
    #[error("{what}: expected one per sample ({expected}), got {got}")]
    BatchMismatch {
        /// `timesteps` or `class labels`.
        what: &'static str,
        /// The batch size of the data.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// Data whose feature axis (channels, or dimension of points) is not the network's.
    #[error("the network expects {expected} input channels/features, got {got}")]
    Features {
        /// The network's input width.
        expected: usize,
        /// The data's.
        got: usize,
    },
    /// An image the UNet cannot halve `levels − 1` times.
    #[error(
        "a {height}×{width} image cannot be downsampled by {factor}: sides must be multiples of it"
    )]
    Resolution {
        /// Image height.
        height: usize,
        /// Image width.
        width: usize,
        /// `2^(levels − 1)`.
        factor: usize,
    },
}

/// The checks both networks share: one time (and label) per sample; labels where they belong.
pub(crate) fn check_conditioning(
    network: &'static str,
    batch: usize,
    times: usize,
    labels: Option<usize>,
    conditional: bool,
    has_null_class: bool,
) -> Result<(), InputError> {
    if times != batch {
        return Err(InputError::BatchMismatch {
            what: "timesteps",
            expected: batch,
            got: times,
        });
    }
    match (conditional, labels) {
        (false, Some(_)) => Err(InputError::UnexpectedLabels { network }),
        (true, None) if !has_null_class => Err(InputError::MissingLabels { network }),
        (true, Some(n)) if n != batch => Err(InputError::BatchMismatch {
            what: "class labels",
            expected: batch,
            got: n,
        }),
        _ => Ok(()),
    }
}
